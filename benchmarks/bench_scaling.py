"""How peak memory and time grow with the number of samples, each fit in a fresh process.

A small base problem (N=500 sequences, T=50 timesteps, F=4 features, float64, a GRU
with H=32 units) is fitted at 1x, 10x and 100x the samples, with:

- ``lbfgs``: L-BFGS with ``max_iter=1`` (three full passes over the data: the start
  loss, then the first iteration and its line search). The loss and gradient are
  evaluated over chunks of samples (``skrnn._parallel.chunk_size``, 256 MiB of work by
  default), so the work memory stops growing once N exceeds one chunk;
- ``adam``: one Adam epoch (minibatches of 200), whose work never depends on N.

Each JSON line reports:

- ``data_mb``: the size of ``X`` as passed to ``fit`` (``X.nbytes``), separately;
- ``rss_before_fit_mb`` and ``peak_rss_mb``: ``ru_maxrss`` of the child after the
  imports and the data, and after ``fit``;
- ``fit_overhead_mb``: what ``fit`` adds to the resident set at its peak, on top of
  the imports and the caller's ``X``. On Linux the child resets its high-water mark
  after making the data (``/proc/self/clear_refs``) and reads it back after ``fit``
  (``VmHWM``), so that a higher transient peak of the imports cannot hide the fit; on
  other systems it is ``peak_rss_mb - rss_before_fit_mb``;
- ``overhead_per_data``: ``fit_overhead_mb / data_mb``;
- ``chunk`` and ``chunk_work_mb``: samples per chunk of L-BFGS work and the work
  memory that ``chunk_size`` budgets for ``min(N, chunk)`` samples (for Adam, for one
  minibatch);
- ``fit_s``: wall time of ``fit`` (noisy on a shared machine).

The summary line compares the growth of the peak with the growth of the data from 10x
to 100x, where L-BFGS already works in full chunks.

A last line times two small independent fits (GRU, H=16, 180 sequences of 30 steps,
20 Adam epochs, as in a grid search) run one after the other, in two threads of one
process, and in two processes (median of 3): what a dask worker with two threads, or
two worker processes, would give. A fit holds the GIL for its many small NumPy calls,
so threads do not run fits in parallel.

Usage::

    python benchmarks/bench_scaling.py [--quick]     # --quick: 1x and 10x only

Run it from a small parent process (as above): on Linux a child started by
``subprocess`` inherits its parent's ``ru_maxrss`` (the kernel keeps the larger one at
``exec``), which is why ``fit_overhead_mb`` uses ``VmHWM`` where it can.
"""

import argparse
import json
import subprocess
import sys

#: Peak-RSS helpers for the child processes (also used by ``bench_memory.py``).
RSS_HELPERS = r"""
import resource

def ru_maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def reset_hwm():
    # Linux: restart the peak (VmHWM) from the current RSS, so that a transient
    # peak of the imports or of making the data cannot hide the fit's own
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
"""

CHILD = RSS_HELPERS + r"""
import json, os, sys, time, warnings
import numpy as np
from skrnn import RNNRegressor
from skrnn._network import NetworkSpec
from skrnn._parallel import chunk_size, work_bytes_per_sample

solver = sys.argv[1]
N, T, F, H, max_iter = map(int, sys.argv[2:7])
rng = np.random.default_rng(0)
X = rng.standard_normal((N, T, F))
y = X[:, 0, 0] + 0.5 * X[:, -1, 1]
before = ru_maxrss_mb()
hwm = reset_hwm()
current = status_mb("VmHWM") if hwm else None
warnings.simplefilter("ignore")
t0 = time.perf_counter()
RNNRegressor(cell="gru", hidden_layer_sizes=(H,), solver=solver, max_iter=max_iter,
             random_state=0).fit(X, y)
fit_s = time.perf_counter() - t0
peak = ru_maxrss_mb()
overhead = status_mb("VmHWM") - current if hwm else peak - before
spec = NetworkSpec("gru", "tanh", F, (H,), 1, "identity")
chunk = chunk_size(spec, T, 8)
per_sample = work_bytes_per_sample(spec, T, 8)  # chunk_size's estimate
rows = min(N, chunk) if solver == "lbfgs" else min(N, 200)
data_mb = X.nbytes / 2**20
print(json.dumps({"solver": solver, "N": N, "T": T, "F": F, "H": H,
                  "max_iter": max_iter, "data_mb": round(data_mb, 1),
                  "rss_before_fit_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
                  "fit_overhead_mb": round(overhead, 1),
                  "overhead_per_data": round(overhead / data_mb, 2),
                  "chunk": chunk, "chunk_work_mb": round(rows * per_sample / 2**20, 1),
                  "fit_s": round(fit_s, 2)}))
"""

CONCURRENCY_CHILD = r"""
import json, multiprocessing, statistics, sys, time, warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
import numpy as np
from skrnn import RNNRegressor

def fit(seed):
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(180, 30, 1))
    RNNRegressor(hidden_layer_sizes=(16,), max_iter=20, batch_size=32,
                 random_state=0).fit(X, X[:, 0, 0])

def timed(run):
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 2)

if __name__ == "__main__":
    fit(0)
    row = {"concurrency": "2 independent fits, median of 3 (s)",
           "one_after_the_other": timed(lambda: [fit(0), fit(1)])}
    with ThreadPoolExecutor(2) as ex:
        row["two_threads"] = timed(lambda: list(ex.map(fit, [0, 1])))
    # fork: the children reuse this interpreter's code, defined with python -c
    if "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
            list(ex.map(fit, [0, 1]))  # start and warm up the processes
            row["two_processes"] = timed(lambda: list(ex.map(fit, [0, 1])))
    print(json.dumps(row))
"""

BASE = dict(N=500, T=50, F=4, H=32)


def run(solver, n, max_iter):
    args = [solver, n, BASE["T"], BASE["F"], BASE["H"], max_iter]
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)],
                         capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x and 10x only")
    args = parser.parse_args(argv)
    factors = (1, 10) if args.quick else (1, 10, 100)
    rows = {}
    for solver in ("adam", "lbfgs"):
        for k in factors:
            rows[solver, k] = run(solver, BASE["N"] * k, max_iter=1)
    lo, hi = factors[-2], factors[-1]
    summary = {"summary": f"fit overhead growth from {lo}x to {hi}x the samples"}
    for solver in ("adam", "lbfgs"):
        a, b = rows[solver, lo], rows[solver, hi]
        data = b["data_mb"] - a["data_mb"]
        growth = b["fit_overhead_mb"] - a["fit_overhead_mb"]
        summary[f"{solver}_data_growth_mb"] = round(data, 1)
        summary[f"{solver}_overhead_growth_mb"] = round(growth, 1)
        summary[f"{solver}_overhead_growth_per_data_growth"] = round(growth / data, 2)
        summary[f"{solver}_fit_s"] = [rows[solver, k]["fit_s"] for k in factors]
    print(json.dumps(summary), flush=True)
    out = subprocess.run([sys.executable, "-c", CONCURRENCY_CHILD],
                         capture_output=True, text=True, check=True)
    print(out.stdout.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
