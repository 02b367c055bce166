"""Predict throughput: skrnn ``predict`` against PyTorch inference (``torch.no_grad``).

Same grid and method as ``bench_training.py``: interleaved runs, a short sleep before
each, one JSON line per configuration with medians and the median per-pair ratio
``torch_s / skrnn_s`` (above 1: skrnn is faster).

Usage::

    python benchmarks/bench_predict.py [--quick]
"""

import argparse
import json
import statistics
import sys

import numpy as np
from bench_training import GRID, QUICK_GRID, blas_threads, make_data, timed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float32,float64")
    args = parser.parse_args(argv)
    import torch

    from skrnn import RNNRegressor

    threads = blas_threads()
    torch.set_num_threads(threads)
    speedups = []
    for cell in args.cells.split(","):
        for N, T, F, H, _ in (QUICK_GRID if args.quick else GRID):
            for name in args.dtypes.split(","):
                X, y = make_data(N, T, F, np.dtype(name))
                est = RNNRegressor(cell=cell, hidden_layer_sizes=(H,), max_iter=1,
                                   linear_skip=False,  # PyTorch's modules have none
                                   random_state=0).partial_fit(X[:64], y[:64])
                module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM,
                          "gru": torch.nn.GRU}[cell]
                tdtype = torch.float32 if name == "float32" else torch.float64
                rnn = module(F, H, batch_first=True).to(tdtype)
                head = torch.nn.Linear(H, 1).to(tdtype)
                Xt = torch.from_numpy(X)

                def run_torch(rnn=rnn, head=head, Xt=Xt):
                    with torch.no_grad():
                        head(rnn(Xt)[0][:, -1])

                def run_skrnn(est=est, X=X):
                    est.predict(X)

                run_torch()
                run_skrnn()
                ts, ss = [], []
                for _ in range(args.repeats):
                    ss.append(timed(run_skrnn))
                    ts.append(timed(run_torch))
                ratio = statistics.median([t / s for t, s in zip(ts, ss)])
                speedups.append(ratio)
                print(json.dumps({"cell": cell, "N": N, "T": T, "F": F, "H": H,
                                  "dtype": name,
                                  "skrnn_s": round(statistics.median(ss), 4),
                                  "torch_s": round(statistics.median(ts), 4),
                                  "speedup_vs_torch": round(ratio, 3)}), flush=True)
    print(json.dumps({"summary": "predict throughput, skrnn vs PyTorch CPU no_grad",
                      "geometric_mean": round(float(np.exp(np.mean(np.log(speedups)))), 3),
                      "min": round(min(speedups), 3), "max": round(max(speedups), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
