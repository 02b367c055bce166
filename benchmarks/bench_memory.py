"""Peak memory (max RSS) of skrnn fits, each in a fresh process.

- one L-BFGS fit on (N=50000, T=100, F=8, H=64, lstm), a few iterations (the peak is
  reached by the first loss/gradient evaluation; L-BFGS works over chunks of samples,
  so the peak is bounded by the chunk, not by N);
- one Adam epoch at N and at 10x N (minibatches: memory must not grow with N beyond
  the data itself);
- one Adam epoch at N with ``segment_jitter=True`` (segments of 4 steps, drawn again
  at an offset for each minibatch from one scaled copy of the training data, kept
  beside the segmented one while the fit trains).

``peak_rss_mb`` is the process's peak RSS during the fit, data included; on Linux it is
read from ``VmHWM`` after resetting it (``/proc/self/clear_refs``) once the data is
made, so that a higher transient peak before the fit cannot hide it (``ru_maxrss`` can
also report the parent's peak). ``fit_overhead_mb`` is that peak minus the RSS just
before ``fit``: what the fit itself adds.

Usage::

    python benchmarks/bench_memory.py [--quick]
"""

import argparse
import json
import subprocess
import sys

from bench_scaling import RSS_HELPERS

CHILD = RSS_HELPERS + r"""
import json, sys, warnings
import numpy as np
from skrnn import RNNRegressor

solver, cell = sys.argv[1], sys.argv[6]
N, T, F, H = map(int, sys.argv[2:6])
max_iter = int(sys.argv[7])
jitter = sys.argv[8] == "1"
rng = np.random.default_rng(0)
X = rng.standard_normal((N, T, F)).astype(np.float64)
y = X[:, 0, 0].copy()
hwm = reset_hwm()
before = status_mb("VmRSS") if hwm else ru_maxrss_mb()
warnings.simplefilter("ignore")
RNNRegressor(cell=cell, hidden_layer_sizes=(H,), solver=solver, max_iter=max_iter,
             segment_jitter=jitter, random_state=0).fit(X, y)
peak = status_mb("VmHWM") if hwm else ru_maxrss_mb()
print(json.dumps({"solver": solver, "N": N, "T": T, "F": F, "H": H, "cell": cell,
                  "segment_jitter": jitter, "data_mb": round(X.nbytes / 2**20, 1),
                  "rss_before_fit_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
                  "fit_overhead_mb": round(peak - before, 1)}))
"""


def run(*args):
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)],
                         capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    lbfgs = run("lbfgs", 50000 // scale, 100, 8, 64, "lstm", 2, 0)
    one = run("adam", 5000 // scale, 100, 8, 64, "lstm", 1, 0)
    ten = run("adam", 50000 // scale, 100, 8, 64, "lstm", 1, 0)
    jitter = run("adam", 5000 // scale, 100, 8, 64, "lstm", 1, 1)
    print(json.dumps({
        "summary": "peak RSS",
        "lbfgs_peak_mb": lbfgs["peak_rss_mb"],
        "adam_10x_over_1x_fit_overhead": round(
            ten["fit_overhead_mb"] / one["fit_overhead_mb"], 3),
        "adam_10x_over_1x": round(ten["peak_rss_mb"] / one["peak_rss_mb"], 3),
        "segment_jitter_over_plain_fit_overhead": round(
            jitter["fit_overhead_mb"] / one["fit_overhead_mb"], 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
