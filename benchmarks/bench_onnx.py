"""ONNX export: predict throughput of ONNX Runtime against skrnn's ``predict``, and the
worst deviation between the two over the grid of options.

Throughput: for each cell, size and dtype, a fitted ``RNNRegressor`` (one epoch, as
in ``bench_predict.py``) is exported with ``skrnn.to_onnx`` and both run on the same
batch, interleaved, a short sleep before each run; one JSON line per configuration
with the medians and the median per-pair ratio ``skrnn_s / onnx_s`` (above 1: ONNX
Runtime is faster). ONNX Runtime gets as many intra-op threads as BLAS has (set
``OMP_NUM_THREADS=1`` for one thread each). float32 graphs use ONNX's RNN/GRU/LSTM
operators, float64 graphs a ``Scan`` loop (ONNX Runtime has no float64 kernels for
those operators).

Accuracy (``--accuracy``): every cell x Elman activation x direction x pooling x
segment length x dtype, random weights, equal-length and ragged batches; prints the
largest ``|onnx - skrnn| / max|skrnn|`` per dtype.

Usage::

    python bench_onnx.py [--quick] [--accuracy] [--rst] [--recurrence scan]
"""

import argparse
import itertools
import json
import statistics
import sys
import warnings

import numpy as np
from bench_training import blas_threads, make_data, timed

GRID = [
    # (N, T, F, H)
    (1, 50, 8, 64),  # one sequence: the latency of serving one request
    (64, 50, 8, 64),
    (512, 100, 8, 128),
    (256, 200, 16, 256),
]
QUICK_GRID = [(1, 20, 4, 16), (64, 50, 8, 64)]


def session(onx, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onx.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def throughput(args):
    import skrnn
    from skrnn import RNNRegressor

    threads = blas_threads()
    rows = []
    for cell in args.cells.split(","):
        for N, T, F, H in (QUICK_GRID if args.quick else GRID):
            for name in args.dtypes.split(","):
                X, y = make_data(max(N, 64), T, F, np.dtype(name))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = RNNRegressor(cell=cell, hidden_layer_sizes=(H,), max_iter=1,
                                       random_state=0).partial_fit(X[:64], y[:64])
                X = X[:N]
                sess = session(skrnn.to_onnx(est, X, recurrence=args.recurrence),
                               threads)

                def run_onnx(sess=sess, X=X):
                    return sess.run(None, {"X": X})[0]

                def run_skrnn(est=est, X=X):
                    return est.predict(X)

                err = float(np.max(np.abs(run_onnx().ravel() - run_skrnn()))
                            / max(np.abs(run_skrnn()).max(), 1e-300))
                os_, ss = [], []
                for _ in range(args.repeats):
                    ss.append(timed(run_skrnn))
                    os_.append(timed(run_onnx))
                ratio = statistics.median([s / o for s, o in zip(ss, os_)])
                row = {"cell": cell, "N": N, "T": T, "F": F, "H": H, "dtype": name,
                       "recurrence": args.recurrence, "threads": threads,
                       "skrnn_ms": round(1e3 * statistics.median(ss), 3),
                       "onnx_ms": round(1e3 * statistics.median(os_), 3),
                       "speedup_onnx": round(ratio, 2), "max_rel_err": float(f"{err:.2g}")}
                rows.append(row)
                print(json.dumps(row), flush=True)
    ratios = [r["speedup_onnx"] for r in rows]
    print(json.dumps({"summary": "predict, ONNX Runtime vs skrnn (skrnn_s / onnx_s)",
                      "geometric_mean": round(float(np.exp(np.mean(np.log(ratios)))), 2),
                      "min": min(ratios), "max": max(ratios)}), flush=True)
    if args.rst:
        print()
        print(to_rst(rows))


def to_rst(rows):
    header = ("cell", "dtype", "N", "T", "F", "H", "skrnn predict (ms)",
              "ONNX Runtime (ms)", "speed-up")
    lines = [[r["cell"], r["dtype"], r["N"], r["T"], r["F"], r["H"],
              f"{r['skrnn_ms']:.3g}", f"{r['onnx_ms']:.3g}", f"{r['speedup_onnx']:.2f}x"]
             for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    rule = "  ".join("=" * w for w in widths)
    out = [rule, "  ".join(str(h).ljust(w) for h, w in zip(header, widths)), rule]
    out += ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in lines]
    out.append(rule)
    return "\n".join(out)


def accuracy(args):
    import onnxruntime as ort

    from skrnn import RNNClassifier, RNNRegressor
    from skrnn.onnx import pad_sequences, to_onnx

    cells = [("rnn", a) for a in ("tanh", "relu", "logistic", "identity")]
    cells += [("gru", "tanh"), ("lstm", "tanh")]
    worst = {"float32": (0.0, None), "float64": (0.0, None)}
    rng = np.random.RandomState(0)
    for (cell, act), bi, pooling, k, name, clf in itertools.product(
            cells, (False, True), ("last", "mean", "max"), (None, 3),
            ("float32", "float64"), (False, True)):
        dtype = np.dtype(name).type
        X = rng.normal(size=(24, 7, 2)).astype(dtype)
        Est = RNNClassifier if clf else RNNRegressor
        y = rng.randint(0, 3, 24) if clf else X[:, 0]
        est = Est(hidden_layer_sizes=(4, 3), cell=cell, activation=act, bidirectional=bi,
                  pooling=pooling, segment_length=k, max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        for w in est.weights_.values():
            w[...] = rng.normal(scale=0.5, size=w.shape)
        seqs = [rng.normal(size=(n, 2)).astype(dtype) for n in range(1, 10)]
        Xp, lengths = pad_sequences(seqs, dtype)
        for feeds, data, onx in (
                ({"X": X}, X, to_onnx(est, X, zipmap=False)),
                ({"X": Xp, "sequence_lens": lengths}, seqs,
                 to_onnx(est, seqs, zipmap=False))):
            sess = ort.InferenceSession(onx.SerializeToString(),
                                        providers=["CPUExecutionProvider"])
            out = sess.run(None, feeds)[-1]
            ref = est.predict_proba(data) if clf else est.predict(data)
            err = float(np.max(np.abs(out.reshape(ref.shape) - ref)) / np.abs(ref).max())
            if err > worst[name][0]:
                worst[name] = (err, f"{Est.__name__} {cell}/{act} bi={bi} {pooling} "
                                    f"segment_length={k}")
    for name, (err, where) in worst.items():
        print(json.dumps({"dtype": name, "worst_rel_err": float(f"{err:.3g}"),
                          "where": where}), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accuracy", action="store_true",
                        help="the worst deviation over the grid of options instead")
    parser.add_argument("--rst", action="store_true", help="also print an RST table")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--recurrence", default="auto", choices=["auto", "native", "scan"],
                        help="skrnn.to_onnx's option (auto: native in float32, Scan in "
                             "float64)")
    args = parser.parse_args(argv)
    if args.accuracy:
        accuracy(args)
    else:
        throughput(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
