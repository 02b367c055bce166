"""
========================================================
Training on data streamed from disk with partial_fit
========================================================

When the sequences do not fit in memory, train with ``partial_fit`` on one chunk of
samples at a time: each call runs one epoch of the stochastic solver (``'adam'`` or
``'sgd'``) over the chunk it is given, and only that chunk needs to be in memory. A
loop over the chunks is an epoch over the whole data set, and the result is the same,
bit for bit, wherever the chunks come from: a NumPy memory map of a ``.npy`` file, a
dask array, or an in-memory array.

This example writes a data set to a ``.npy`` file chunk by chunk (never holding it
whole), trains on it through :func:`numpy.load` with ``mmap_mode="r"``, and then does
the same through a :mod:`dask.array` over the file. The dask part needs
``pip install dask``.
"""

# %%
# A data set on disk
# ------------------
# Noisy sine waves of random frequency, 40 timesteps and one feature each; the target
# is the frequency. :func:`numpy.lib.format.open_memmap` creates the file with its
# final shape and lets us fill it one chunk at a time, as a data pipeline would.
import shutil
import tempfile
from pathlib import Path

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np

from skrnn import RNNRegressor

n_samples, n_timesteps, chunk = 6000, 40, 1000
folder = Path(tempfile.mkdtemp())
X_file = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=np.float32,
                                   shape=(n_samples, n_timesteps, 1))
y_file = np.lib.format.open_memmap(folder / "y.npy", mode="w+", dtype=np.float32,
                                   shape=(n_samples,))
rng = np.random.RandomState(0)
t = np.arange(n_timesteps)
for start in range(0, n_samples, chunk):
    frequency = rng.uniform(0.1, 0.5, size=chunk)
    phase = rng.uniform(0, 2 * np.pi, size=chunk)
    waves = np.sin(frequency[:, None] * t + phase[:, None])
    X_file[start:start + chunk, :, 0] = waves + 0.1 * rng.normal(size=waves.shape)
    y_file[start:start + chunk] = frequency
X_file.flush()
y_file.flush()
del X_file, y_file
print(f"{n_samples} sequences, {(folder / 'X.npy').stat().st_size / 2**20:.1f} MiB "
      f"on disk in {folder}")

# %%
# Streaming the chunks
# --------------------
# Opened with ``mmap_mode="r"``, the file is a read-only :class:`numpy.memmap`: slicing
# it reads only the rows of the slice. The last chunk is held out for validation. In
# float32 on disk, the model trains in float32 too (``solver='adam'`` keeps the dtype
# of the data).
X = np.load(folder / "X.npy", mmap_mode="r")
y = np.load(folder / "y.npy", mmap_mode="r")
train_chunks = [slice(s, s + chunk) for s in range(0, n_samples - chunk, chunk)]
X_val, y_val = np.asarray(X[-chunk:]), np.asarray(y[-chunk:])

model = RNNRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
n_epochs = 8
chunk_losses, val_scores = [], []
for epoch in range(n_epochs):
    for rows in train_chunks:
        model.partial_fit(X[rows], y[rows])  # one epoch of Adam over this chunk
        chunk_losses.append(model.loss_)
    val_scores.append(model.score(X_val, y_val))
    print(f"epoch {epoch + 1}: mean chunk loss {np.mean(chunk_losses[-5:]):.5f}, "
          f"validation R^2 {val_scores[-1]:.3f}")

# %%
# Plotting the training loss of each chunk and the validation score after each pass:
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
ax1.plot(np.arange(1, len(chunk_losses) + 1) / len(train_chunks), chunk_losses)
ax1.set(xlabel="epochs over the file", ylabel="training loss of the chunk",
        yscale="log", title="partial_fit, chunk by chunk")
ax2.plot(np.arange(1, n_epochs + 1), val_scores, marker="o")
ax2.set(xlabel="epochs over the file", ylabel="validation $R^2$",
        title="Held-out chunk")
fig.tight_layout()
plt.show()

# %%
# The same stream from a dask array
# ---------------------------------
# A :mod:`dask.array` over the memory map splits the samples into blocks of ``chunk``
# sequences and reads a block when it is computed. The loop is the same, over
# ``X.blocks``; ``map_blocks`` predicts block by block, lazily. Starting from the
# same ``random_state``, the weights are exactly those of the loop above. On a
# cluster, the same loop reads the blocks wherever dask keeps them (from Parquet,
# Zarr or HDF5 files, ...), while the model, a few kilobytes, stays in the client.
X_dask = da.from_array(X[:-chunk], chunks=(chunk, -1, -1))
y_dask = da.from_array(y[:-chunk], chunks=chunk)
print(X_dask)

dask_model = RNNRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                          random_state=0)
for _ in range(n_epochs):
    for X_block, y_block in zip(X_dask.blocks, y_dask.blocks):
        dask_model.partial_fit(X_block.compute(), y_block.compute())

same = all(np.array_equal(dask_model.weights_[name], w)
           for name, w in model.weights_.items())
print("same weights as the memmap loop:", same)
predictions = X_dask.map_blocks(dask_model.predict, drop_axis=[1, 2], dtype=np.float32)
print("first predictions:", predictions[:3].compute(), "targets:", y[:3])

# %%
# Notes
# -----
# - ``partial_fit`` shuffles the samples within each chunk (``shuffle=True``) and keeps
#   the optimizer's state (Adam's moments, the learning-rate schedule) from call to
#   call. Chunks should be large compared with ``batch_size`` and, when the file is
#   sorted (by time, by class), visited in a random order: draw a permutation of the
#   chunks each epoch.
# - Memory is that of one chunk (plus its time-major copy and one minibatch of work),
#   whatever the size of the file.
# - ``dask_ml.wrappers.Incremental`` automates this loop for 2-D dask arrays (univariate
#   sequences, one column per timestep); it does not handle 3-D arrays
#   (dask-ml 2025.1), hence the explicit loop over ``X.blocks`` here.

# %%
# Removing the temporary files (the memory maps are closed first):
del X, y, X_dask, y_dask, predictions
shutil.rmtree(folder, ignore_errors=True)
