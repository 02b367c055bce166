"""
==========================================================
Deploying a fitted RNN with ONNX and ONNX Runtime
==========================================================

A fitted :class:`~skrnn.RNNClassifier` or :class:`~skrnn.RNNRegressor` becomes an ONNX
graph with one call, :func:`skrnn.to_onnx`, and ONNX Runtime then runs it without
Python: from C++, C#, Java or JavaScript. The graph holds the recurrent layers (ONNX's
own ``GRU``, ``LSTM`` and ``RNN`` operators), the pooling, the output layer and its
activation; the standardisation skrnn applies inside is folded into the weights, so the
graph reads the raw data.

We export a GRU classifier of handwritten digits, check that ONNX Runtime gives the
same probabilities and labels as ``predict_proba`` and ``predict``, feed it a ragged
batch of sequences of different lengths, and time both on a few batch sizes.

This example needs ``pip install "skrnn[onnx]"`` (onnx, onnxruntime and skl2onnx).
"""

# %%
# Fit, export, run
# ----------------
# The digits of :func:`sklearn.datasets.load_digits` are read row by row: 8 timesteps
# of 8 pixels. The data is float32, so the model and its graph are float32.
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import skrnn
from skrnn.onnx import pad_sequences

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)  # (1797, 8, 8)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
clf = skrnn.RNNClassifier(hidden_layer_sizes=(32,), cell="gru", bidirectional=True,
                          pooling="mean", max_iter=30, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

onx = skrnn.to_onnx(clf, X_train, zipmap=False)
print("inputs: ", [(i.name, [d.dim_value or None for d in  # None: any size
                             i.type.tensor_type.shape.dim]) for i in onx.graph.input])
print("outputs:", [o.name for o in onx.graph.output])
print("operators:", sorted({node.op_type for node in onx.graph.node}))

sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
label, proba = sess.run(None, {"X": X_test})

# %%
# The same predictions
# --------------------
# The probabilities agree to float32's rounding, and so the labels agree.
P = clf.predict_proba(X_test)
print(f"largest |ONNX - predict_proba|: {np.abs(proba - P).max():.2e}")
print("labels equal:", np.array_equal(label, clf.predict(X_test)))

# %%
# A ragged batch
# --------------
# skrnn reads lists of sequences of different lengths. The graph reads them padded to
# a common length, with each sequence's length as a second input, ``sequence_lens``
# (:func:`skrnn.onnx.pad_sequences` makes both); the padding is never read. Here we
# keep the first 3 to 8 rows of each test digit.
rng = np.random.RandomState(0)
seqs = [x[:rng.randint(3, 9)] for x in X_test[:200]]
onx_ragged = skrnn.to_onnx(clf, seqs, zipmap=False)  # a list: sequence_lens on
X_pad, lengths = pad_sequences(seqs)
print("padded:", X_pad.shape, "lengths:", lengths[:8], "...")
sess_ragged = ort.InferenceSession(onx_ragged.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
label_r, proba_r = sess_ragged.run(None, {"X": X_pad, "sequence_lens": lengths})
print(f"largest |ONNX - predict_proba| (ragged): "
      f"{np.abs(proba_r - clf.predict_proba(seqs)).max():.2e}")

# %%
# Throughput
# ----------
# The median of 7 timed calls of each, on one thread (skrnn's ``predict`` includes its
# input validation; ONNX Runtime's ``run`` its input conversion). ONNX Runtime's
# advantage is largest on small batches, where skrnn's Python overhead dominates;
# ``benchmarks/bench_onnx.py`` measures more sizes and cells.
options = ort.SessionOptions()
options.intra_op_num_threads = 1
sess1 = ort.InferenceSession(onx.SerializeToString(), options,
                             providers=["CPUExecutionProvider"])


def median_seconds(run, repeats=7):
    run()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


sizes = [1, 16, 128, len(X_test)]
rates = {"skrnn predict": [], "ONNX Runtime": []}
print(f"{'batch':>6} {'skrnn (ms)':>11} {'ONNX (ms)':>10} {'speed-up':>9}")
for n in sizes:
    batch = X_test[:n]
    t_skrnn = median_seconds(lambda batch=batch: clf.predict_proba(batch))
    t_onnx = median_seconds(lambda batch=batch: sess1.run(None, {"X": batch}))
    rates["skrnn predict"].append(n / t_skrnn)
    rates["ONNX Runtime"].append(n / t_onnx)
    print(f"{n:>6} {1e3 * t_skrnn:>11.3f} {1e3 * t_onnx:>10.3f} "
          f"{t_skrnn / t_onnx:>8.2f}x")

fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.38
positions = np.arange(len(sizes))
for i, (name, values) in enumerate(rates.items()):
    ax.bar(positions + (i - 0.5) * width, values, width, label=name)
ax.set_xticks(positions, [str(n) for n in sizes])
ax.set_yscale("log")
ax.set_xlabel("batch size (sequences)")
ax.set_ylabel("sequences per second")
ax.set_title("Predict throughput, bidirectional GRU (H=32), one thread")
ax.legend()
fig.tight_layout()
plt.show()
