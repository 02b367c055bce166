"""Training throughput: skrnn against PyTorch CPU and MLPRegressor, on the same data.

One configuration is a cell, ``(N, T, F, H, batch)`` and a float dtype. Each timed run is
one whole shuffled epoch of Adam on many-to-one regression (``partial_fit`` for skrnn
and MLP, a plain training loop for PyTorch). Runs are interleaved (skrnn, torch, MLP,
skrnn, torch, MLP, ...) with a short sleep before each, because OpenBLAS worker threads
keep spinning after a GEMM and slow whatever runs next. Each configuration prints one
JSON line with the medians and the median of the per-pair ratios; the last lines give
the geometric mean of ``torch_time / skrnn_time`` (above 1: skrnn is faster).

It also measures the machine's GEMM peak (the best of 15 runs of a 1024 x 1024 GEMM)
and reports skrnn's achieved fraction of it, counting ``2 * G * H * (F + H) * T`` FLOPs
per sample forward and 3x that for training.

A variant sets the options of both networks: ``last`` (one direction, the last state;
the default), ``mean`` (mean pooling over time), ``bi-last`` and ``bi-mean``
(bidirectional layers: PyTorch's ``bidirectional=True``, its reverse direction's final
state or the mean of both directions' states), and ``steps`` (one target a timestep:
``RNNSequenceRegressor`` against a ``Linear`` on every output of the PyTorch module).
``skip`` is ``last`` with the linear skip (``linear_skip=True``; PyTorch: a ``Linear``
on the flattened window added to the head's output); the other variants run without
it. ``norm`` is ``last`` with each sequence read relative to itself
(``sequence_norm=True``, which normalises every minibatch inside ``partial_fit``;
PyTorch: the same network on the three inputs a feature, the shape, level and log
scale, computed once before the timing). ``rel`` is ``last`` with
``relative_to_last=0`` (feature 0 relative to its last value, in every ``partial_fit``;
PyTorch: the same network on those inputs, computed once). skrnn reads one timestep
at a time here
(``segment_length=None``), as PyTorch does.
The speed of an option is its ratio against PyTorch doing the same, compared with the
``last`` variant's ratio.

Usage::

    python benchmarks/bench_training.py            # the full grid (24 configurations)
    python benchmarks/bench_training.py --quick    # a small smoke grid
    python benchmarks/bench_training.py --variants last,mean,bi-last,bi-mean
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np

GRID = [
    # (N, T, F, H, batch)
    (2048, 20, 4, 16, 64),
    (2048, 50, 8, 64, 64),
    (1024, 100, 8, 128, 128),
    (512, 200, 16, 256, 128),
]
QUICK_GRID = [(512, 20, 4, 16, 64), (256, 50, 8, 64, 64)]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def blas_threads():
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        return max(counts) if counts else 1
    except ImportError:
        return 1


def gemm_peak(dtype, n=1024, repeats=15):
    """Measured GFLOP/s of one large square GEMM in ``dtype``: the best of ``repeats``
    runs, since a peak is what the machine can do (on a shared machine the median of 7
    ranged from 103 to 141 GFLOP/s in float32 from one run of the script to the next)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    a @ b
    times = []
    for _ in range(repeats):
        time.sleep(0.2)
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def make_data(N, T, F, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, T, F)).astype(dtype)
    y = (X[:, 0, 0] - X[:, -1, -1] + 0.1 * rng.standard_normal(N)).astype(dtype)
    return X, y


VARIANTS = {  # name: (bidirectional, pooling)
    "last": (False, "last"),
    "mean": (False, "mean"),
    "bi-last": (True, "last"),
    "bi-mean": (True, "mean"),
    "steps": (False, "steps"),  # one target a timestep: RNNSequenceRegressor
    "skip": (False, "last"),  # + the linear skip (PyTorch: a Linear on the window)
    "norm": (False, "last"),  # + sequence_norm (PyTorch: its inputs, computed once)
    "rel": (False, "last"),  # + relative_to_last=0 (PyTorch: its inputs, computed once)
}


def normalized_inputs(X):
    """``sequence_norm``'s inputs ``(N, T, 3F)`` for PyTorch: each sequence's shape,
    then its level and log scale at every step (skrnn._sequences.normalize_each)."""
    from skrnn._sequences import check_ragged, feature_stats, normalize_each

    seq = check_ragged(list(X))
    shift, scale = feature_stats(seq)
    return np.ascontiguousarray(
        normalize_each(seq, shift, scale).X.transpose(1, 0, 2)).astype(X.dtype)


def step_targets(X):
    """A target at every timestep (for the 'steps' variant): the running mean of the
    first feature, in ``X``'s dtype."""
    return (np.cumsum(X[..., 0], axis=1) / np.arange(1, X.shape[1] + 1)).astype(X.dtype)


def skrnn_runner(cell, H, batch, X, y, variant="last"):
    from skrnn import RNNRegressor, RNNSequenceRegressor

    bidirectional, pooling = VARIANTS[variant]
    common = dict(cell=cell, hidden_layer_sizes=(H,), batch_size=batch, solver="adam",
                  learning_rate_init=1e-3, random_state=0, bidirectional=bidirectional,
                  segment_length=None)
    if pooling == "steps":
        del common["segment_length"]
        est = RNNSequenceRegressor(**common)
        y = step_targets(X)
    else:
        est = RNNRegressor(pooling=pooling, linear_skip=variant == "skip",
                           sequence_norm=variant == "norm",
                           relative_to_last=0 if variant == "rel" else None, **common)
    est.partial_fit(X, y)  # initialise (and warm up) outside the timing

    def run():
        est.partial_fit(X, y)

    return run


def mlp_runner(H, batch, X, y):
    import warnings

    from sklearn.neural_network import MLPRegressor

    X2 = X.reshape(len(X), -1)
    est = MLPRegressor(hidden_layer_sizes=(H,), batch_size=batch, solver="adam",
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.partial_fit(X2, y)

    def run():
        est.partial_fit(X2, y)

    return run


def torch_runner(cell, H, batch, X, y, threads, variant="last"):
    import torch

    bidirectional, pooling = VARIANTS[variant]

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    if variant == "norm":
        X = normalized_inputs(X)
    if variant == "rel":  # feature 0 relative to its last value
        X = X.copy()
        X[:, :, 0] -= X[:, -1:, 0]
    F = X.shape[2]
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = module(F, H, batch_first=True, bidirectional=bidirectional).to(dtype)
    head = torch.nn.Linear(2 * H if bidirectional else H, 1).to(dtype)
    # the linear skip: a Linear on the flattened window (every step of equal lengths)
    skip = torch.nn.Linear(X.shape[1] * F, 1, bias=False).to(dtype)

    def pool(out):  # (batch, T, D*H) -> (batch, D*H), or every step for 'steps'
        if pooling == "steps":
            return out
        if pooling == "mean":
            return out.mean(dim=1)
        if bidirectional:
            return torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=1)
        return out[:, -1]

    params = list(rnn.parameters()) + list(head.parameters())
    if variant == "skip":
        params += list(skip.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y).reshape(-1, 1)
    if pooling == "steps":
        yt = torch.from_numpy(step_targets(X))[..., None]  # (N, T, 1)
    gen = torch.Generator().manual_seed(0)

    def run():
        perm = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            out, _ = rnn(Xt[idx])
            z = head(pool(out))
            if variant == "skip":
                z = z + skip(Xt[idx].reshape(len(idx), -1))
            loss = 0.5 * ((z - yt[idx]) ** 2).mean()
            loss.backward()
            opt.step()

    run()  # warm up
    return run


def timed(run):
    time.sleep(0.2)
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def bench_config(cell, N, T, F, H, batch, dtype, repeats, threads, peak, has_torch,
                 variant="last"):
    X, y = make_data(N, T, F, dtype)
    runners = {"skrnn": skrnn_runner(cell, H, batch, X, y, variant),
               "mlp": mlp_runner(H, batch, X, y)}
    if has_torch:
        runners["torch"] = torch_runner(cell, H, batch, X, y, threads, variant)
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(timed(run))
    flops = 3 * 2 * GATES[cell] * H * (F + H) * T * N * (2 if VARIANTS[variant][0] else 1)
    sk = statistics.median(times["skrnn"])
    row = {
        "variant": variant, "cell": cell, "N": N, "T": T, "F": F, "H": H, "batch": batch,
        "dtype": np.dtype(dtype).name,
        "skrnn_s": round(sk, 4),
        "mlp_s": round(statistics.median(times["mlp"]), 4),
        "skrnn_gflops": round(flops / sk / 1e9, 2),
        "fraction_of_gemm_peak": round(flops / sk / 1e9 / peak, 3),
    }
    if has_torch:
        row["torch_s"] = round(statistics.median(times["torch"]), 4)
        row["speedup_vs_torch"] = round(statistics.median(
            [t / s for t, s in zip(times["torch"], times["skrnn"])]), 3)
    row["time_vs_mlp"] = round(statistics.median(
        [s / m for s, m in zip(times["skrnn"], times["mlp"])]), 3)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke grid")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--variants", default="last",
                        help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--rows", default=None,
                        help="comma-separated indices into the grid (default: all)")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    threads = blas_threads()
    grid = QUICK_GRID if args.quick else GRID
    if args.rows:
        grid = [grid[int(i)] for i in args.rows.split(",")]
    peaks = {name: gemm_peak(np.dtype(name)) for name in args.dtypes.split(",")}
    print(json.dumps({"machine": {"blas_threads": threads,
                                  "gemm_gflops": {k: round(v, 1) for k, v in peaks.items()},
                                  "torch": has_torch}}), flush=True)
    rows = []
    variants = args.variants.split(",")
    for cell in args.cells.split(","):
        for N, T, F, H, batch in grid:
            for name in args.dtypes.split(","):
                for variant in variants:
                    row = bench_config(cell, N, T, F, H, batch, np.dtype(name).type,
                                       args.repeats, threads, peaks[name], has_torch,
                                       variant)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if has_torch:
        for variant in variants:
            speedups = [r["speedup_vs_torch"] for r in rows if r["variant"] == variant]
            print(json.dumps({
                "summary": "training throughput, skrnn vs PyTorch CPU (torch_s / skrnn_s)",
                "variant": variant,
                "geometric_mean": round(float(np.exp(np.mean(np.log(speedups)))), 3),
                "min": min(speedups), "max": max(speedups), "configurations": len(speedups),
            }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
