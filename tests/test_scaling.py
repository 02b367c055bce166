"""Beyond one machine: dask clusters, data streamed from disk, bounded L-BFGS memory.

- a grid search run on a dask.distributed cluster (joblib's dask backend) gives the
  results of the same search run locally;
- ``partial_fit`` over chunks read from a NumPy memmap on disk (or from a dask array)
  equals ``partial_fit`` over the same chunks of an in-memory array;
- ``dask_ml.wrappers.Incremental`` drives ``partial_fit`` over the blocks of a dask
  array;
- the L-BFGS objective evaluated over chunks of samples equals the unchunked one, and
  the peak memory of an L-BFGS fit grows with the data only, not with the work.

Every cluster listens on the loopback interface only, runs in this process
(``processes=False``, one worker, two threads) and is closed by its test.
"""

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skrnn import RNNClassifier, RNNRegressor, _network, _parallel
from skrnn._network import NetworkSpec, init_params, loss_and_grad, predict_raw

distributed = pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")
joblib = pytest.importorskip("joblib")


@pytest.fixture
def client():
    """A dask.distributed client on a cluster in this process, on 127.0.0.1 only."""
    cluster = distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, protocol="tcp",
        host="127.0.0.1", dashboard_address="127.0.0.1:0")
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _sequences(n, n_timesteps=6, n_features=2, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_timesteps, n_features)).astype(dtype)
    y = (X[:, 0, 0] + 0.5 * X[:, -1, 1]).astype(dtype)
    return X, y


# --------------------------------------------------------------------------------------
# GridSearchCV on a dask.distributed cluster


@pytest.mark.parametrize("Estimator, backend", [
    (RNNRegressor, lambda: joblib.parallel_backend("dask")),
    (RNNClassifier, lambda: joblib.parallel_config(backend="dask")),  # newer spelling
])
def test_grid_search_on_dask_cluster_equals_local(client, Estimator, backend):
    X, y = _sequences(48)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    grid = {"hidden_layer_sizes": [(3,), (5,)], "learning_rate_init": [0.01, 0.05]}
    est = Estimator(max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
        with distributed.get_task_stream(client) as tasks, backend():
            remote = GridSearchCV(est, grid, cv=2, n_jobs=-1).fit(X, y)

    # the 2 x 2 x 2 fits ran as tasks on the cluster's worker
    workers = set(client.scheduler_info()["workers"])
    ran = [t for t in tasks.data if "_fit_and_score" in t["key"]]
    assert ran and {t["worker"] for t in ran} <= workers
    assert all(t["worker"].startswith("tcp://127.0.0.1:") for t in ran)

    for key in ("mean_test_score", "std_test_score", "split0_test_score",
                "split1_test_score"):
        assert_allclose(remote.cv_results_[key], local.cv_results_[key],
                        rtol=1e-12, atol=0)
    assert remote.best_params_ == local.best_params_
    assert_array_equal(remote.cv_results_["rank_test_score"],
                       local.cv_results_["rank_test_score"])
    assert_allclose(remote.predict(X[:5]), local.predict(X[:5]), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------------------
# partial_fit over chunks streamed from disk


def _write_npy(tmp_path, X, y):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    X_disk = np.load(tmp_path / "X.npy", mmap_mode="r")
    y_disk = np.load(tmp_path / "y.npy", mmap_mode="r")
    assert isinstance(X_disk, np.memmap) and not X_disk.flags.writeable
    return X_disk, y_disk


def _stream(model, X, y, chunk, n_epochs, **kwargs):
    """``n_epochs`` passes of partial_fit over the chunks of (X, y), in order; the
    mean chunk loss of each epoch."""
    epoch_losses = []
    for _ in range(n_epochs):
        losses = []
        for start in range(0, len(X), chunk):
            model.partial_fit(X[start:start + chunk], y[start:start + chunk], **kwargs)
            losses.append(model.loss_)
        epoch_losses.append(float(np.mean(losses)))
    return model, epoch_losses


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_from_memmap_equals_in_memory(tmp_path, solver):
    X, y = _sequences(120, n_timesteps=8, dtype=np.float32)
    X_disk, y_disk = _write_npy(tmp_path, X, y)
    params = dict(hidden_layer_sizes=(6,), solver=solver, learning_rate_init=0.02,
                  batch_size=16, random_state=0)

    disk, disk_losses = _stream(RNNRegressor(**params), X_disk, y_disk, 40, n_epochs=6)
    memory, memory_losses = _stream(RNNRegressor(**params), X, y, 40, n_epochs=6)

    assert disk_losses[-1] < disk_losses[0]  # it learns
    assert_array_equal(disk_losses, memory_losses)
    assert disk.n_iter_ == memory.n_iter_ == 18
    assert disk.t_ == memory.t_ == 6 * 120
    for name, w in memory.weights_.items():
        assert w.dtype == np.float32  # float32 end to end, as written to disk
        assert_array_equal(disk.weights_[name], w)
    assert_array_equal(disk.predict(X_disk), memory.predict(X))


def test_partial_fit_classifier_from_memmap(tmp_path):
    X, y = _sequences(90, n_timesteps=5, dtype=np.float32)
    labels = np.digitize(y, [-0.5, 0.5])  # three classes
    X_disk, y_disk = _write_npy(tmp_path, X, labels)
    params = dict(hidden_layer_sizes=(5,), batch_size=15, random_state=0)
    kw = dict(classes=np.arange(3))
    disk, disk_losses = _stream(RNNClassifier(**params), X_disk, y_disk, 30, 5, **kw)
    memory, memory_losses = _stream(RNNClassifier(**params), X, labels, 30, 5, **kw)
    assert disk_losses[-1] < disk_losses[0]
    assert_array_equal(disk_losses, memory_losses)
    assert_array_equal(disk.predict_proba(X_disk), memory.predict_proba(X))


def test_partial_fit_over_dask_array_blocks(tmp_path):
    # a 3-D dask array on top of the memmap: each block is read when computed
    X, y = _sequences(100, n_timesteps=7, dtype=np.float32)
    X_disk, y_disk = _write_npy(tmp_path, X, y)
    Xd = da.from_array(X_disk, chunks=(25, -1, -1))
    yd = da.from_array(y_disk, chunks=25)
    assert Xd.numblocks == (4, 1, 1)
    params = dict(hidden_layer_sizes=(4,), batch_size=10, random_state=0)

    streamed = RNNRegressor(**params)
    for _ in range(3):
        for Xb, yb in zip(Xd.blocks, yd.blocks):
            streamed.partial_fit(Xb.compute(), yb.compute())
    reference, _ = _stream(RNNRegressor(**params), X, y, 25, n_epochs=3)
    assert_array_equal(streamed.loss_curve_, reference.loss_curve_)

    # predictions block by block, as a lazy dask array: the same arithmetic per
    # sample, up to BLAS's blocking of a float32 GEMM of 25 rows against one of 100
    # (measured: a few float32 ulps of the outputs' scale, 1.5e-8 on values of 0.5)
    pred = Xd.map_blocks(streamed.predict, drop_axis=[1, 2], dtype=np.float32)
    assert_allclose(pred.compute(), reference.predict(X), rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------
# dask-ml's Incremental wrapper


def test_dask_ml_incremental_univariate(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    # 2-D X is univariate sequences (n_samples, n_timesteps), one column per timestep
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 8))
    y = X[:, 0] - 0.5 * X[:, -1]
    Xd = da.from_array(X, chunks=(30, -1))
    yd = da.from_array(y, chunks=30)
    params = dict(hidden_layer_sizes=(4,), batch_size=10, random_state=0)

    inc = wrappers.Incremental(RNNRegressor(**params), shuffle_blocks=False)
    for _ in range(2):  # Incremental.partial_fit: one more pass over the blocks
        inc.partial_fit(Xd, yd)
    reference, _ = _stream(RNNRegressor(**params), X, y, 30, n_epochs=2)

    assert_array_equal(inc.estimator_.loss_curve_, reference.loss_curve_)
    pred = inc.predict(Xd)
    assert isinstance(pred, da.Array)
    # blocks of 30 rows against one GEMM of 90: BLAS's blocking, the last bit
    assert_allclose(pred.compute(), reference.predict(X), rtol=1e-14, atol=1e-15)

    # with shuffle_blocks (the default), the blocks come in the order of the seed
    inc = wrappers.Incremental(RNNRegressor(**params), random_state=3).fit(Xd, yd)
    order = np.arange(3)
    np.random.RandomState(3).shuffle(order)
    shuffled = RNNRegressor(**params)
    for b in order:
        shuffled.partial_fit(X[30 * b:30 * (b + 1)], y[30 * b:30 * (b + 1)])
    assert_array_equal(inc.estimator_.loss_curve_, shuffled.loss_curve_)


def test_dask_ml_incremental_fails_on_3d_arrays_as_the_docs_say():
    """docs/scaling.rst and examples/plot_streaming_partial_fit.py say that dask-ml's
    Incremental handles 1-D and 2-D dask arrays only, and stream 3-D blocks with a loop
    over ``X.blocks`` instead (tested above). dask-ml 2025.1.0,
    dask_ml/_partial.py::fit: ``x_extra = (0,)`` if ``x.ndim > 1``, so the task for
    block i of X reads the key ``(name, i, 0)``; a 3-D array's blocks are
    ``(name, i, 0, 0)``, so partial_fit receives the key tuple itself instead of the
    block. When dask-ml fixes this, this test fails: then test that Incremental over 3-D
    blocks equals the loop, and update the docs and the example."""
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _sequences(60, n_timesteps=5)
    Xd = da.from_array(X, chunks=(20, -1, -1))
    yd = da.from_array(y, chunks=20)
    inc = wrappers.Incremental(RNNRegressor(hidden_layer_sizes=(4,), random_state=0),
                               shuffle_blocks=False)
    with pytest.raises(ValueError, match="could not convert string to float: 'array-"):
        inc.fit(Xd, yd)


# --------------------------------------------------------------------------------------
# L-BFGS: chunks of samples bound the work memory


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_loss_and_grad_chunked_equals_unchunked(cell, dtype, rtol):
    rng = np.random.RandomState(0)
    N, T, F = 23, 7, 3
    spec = NetworkSpec(cell, "tanh", F, (5, 4), 2, "identity")
    theta = init_params(spec, rng, np.float64)
    X = rng.normal(size=(T, N, F)).astype(dtype)
    lengths = rng.randint(1, T + 1, size=N)  # unsorted, of different lengths
    for i, length in enumerate(lengths):
        X[length:, i] = 0.0
    Y = rng.normal(size=(N, 2))
    sw = rng.uniform(0.5, 2.0, size=N)

    whole_loss, whole_grad = loss_and_grad(theta, X, lengths, Y, spec, sw, 1e-3,
                                           chunk=N)
    scale = np.abs(whole_grad).max()
    for chunk in (1, 2, 5, 8, 22, N + 10, None):
        loss, grad = loss_and_grad(theta, X, lengths, Y, spec, sw, 1e-3, chunk=chunk)
        # equal up to the order of the sums over chunks
        assert_allclose(loss, whole_loss, rtol=rtol)
        assert_allclose(grad, whole_grad, rtol=rtol, atol=rtol * scale)
        z = predict_raw(_network.unpack(theta, spec), X, lengths, spec, chunk=chunk)
        assert_allclose(z, predict_raw(_network.unpack(theta, spec), X, lengths, spec,
                                       chunk=N), rtol=rtol, atol=rtol)


def test_chunk_size_follows_budget():
    spec = NetworkSpec("gru", "tanh", 4, (32,), 1, "identity")
    big = _parallel.chunk_size(spec, 50, 8, budget_bytes=2**28)
    small = _parallel.chunk_size(spec, 50, 8, budget_bytes=2**20)
    assert big > 100 * small > 0
    assert _parallel.chunk_size(spec, 50, 8, budget_bytes=1) == 1


def test_default_chunk_bytes_is_read_at_call_time(monkeypatch):
    spec = NetworkSpec("gru", "tanh", 4, (32,), 1, "identity")
    monkeypatch.setattr(_parallel, "DEFAULT_CHUNK_BYTES", 1)
    assert _parallel.chunk_size(spec, 50, 8) == 1


# Peak RSS of one L-BFGS fit in a fresh interpreter, with a tiny chunk budget. The work
# per sample (states, gates, gradients over T steps: ~17 KiB) is ~27 times the data per
# sample (640 B), so work memory that grew with N would be seen at once.
#
# ru_maxrss alone cannot measure it here: a child started by subprocess (vfork + exec)
# inherits its parent's high-water mark (Linux keeps the larger of the two at exec),
# and the pytest process that imported torch and ran the other tests is far larger
# than this fit. So the child resets its high-water mark (/proc/self/clear_refs, "5")
# after the imports and the data, and reads it back (VmHWM, the figure ru_maxrss
# reports for the process's own memory) after the fit.
MEMORY_CHILD = textwrap.dedent(r"""
    import json, resource, sys, warnings
    import numpy as np
    import skrnn._parallel as net
    budget = int(sys.argv[2])
    net.DEFAULT_CHUNK_BYTES = budget
    from skrnn import RNNRegressor

    def status_mb(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024

    N, T, F, H = int(sys.argv[1]), 10, 8, 16
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, T, F))
    y = X[:, 0, 0] + 0.5 * X[:, -1, 1]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # high-water mark := current RSS
    before = status_mb("VmHWM")
    warnings.simplefilter("ignore")
    RNNRegressor(hidden_layer_sizes=(H,), solver="lbfgs", max_iter=1,
                 random_state=0).fit(X, y)
    peak = status_mb("VmHWM")
    from skrnn._network import NetworkSpec
    spec = NetworkSpec("gru", "tanh", F, (H,), 1, "identity")
    print(json.dumps({"data_mb": X.nbytes / 2**20, "growth_mb": peak - before,
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                      / 1024, "chunk": net.chunk_size(spec, T, 8)}))
""")

# Copies of X that an L-BFGS fit holds at its peak besides the caller's X: the
# time-major copy (1), plus, while merge_duplicates deduplicates the samples, its key
# matrix (1) and the deduplicated copy (1).
LBFGS_DATA_COPIES = 3


def _lbfgs_peak(n, budget):
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(n), str(budget)],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _can_reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _can_reset_peak_rss(),
                    reason="needs Linux's /proc/self/clear_refs to reset the peak RSS")
def test_lbfgs_peak_memory_grows_with_the_data_only():
    n = 3000
    small = _lbfgs_peak(n, budget=2**20)
    large = _lbfgs_peak(4 * n, budget=2**20)
    assert small["chunk"] == large["chunk"] < n  # several chunks at both sizes
    data_growth = large["data_mb"] - small["data_mb"]  # 5.5 MiB
    growth = large["growth_mb"] - small["growth_mb"]
    # unchunked, the work alone would grow by ~150 MiB from N to 4N
    # the measurement sees the fit: at least the time-major copy of the data
    assert large["growth_mb"] > large["data_mb"], large
    # unchunked, the work alone would grow by ~150 MiB from N to 4N
    assert growth < LBFGS_DATA_COPIES * data_growth + 30, (small, large)
