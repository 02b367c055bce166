"""The cost of ``segment_jitter``: seconds an epoch of the default ``RNNClassifier``
with and without it, on the same data, in one run; and the seconds ``predict_proba``
takes on the test split, averaging over the offsets or reading offset 0 alone.

With ``segment_jitter=True`` every minibatch is segmented again at its own offset
(the scaling, or each sequence's shape, level and scale, is computed once a fit), and
a sequence started ``o`` steps early may need one segment more. The sets are the
classification sets of ``shared/data`` and, with sktime installed, ``--sets`` takes
the independent ones of ``bench_accuracy.py``. Each fit runs ``--epochs`` epochs (no
early stop); fits alternate between the two settings, ``--repeats`` of each, and the
table gives the median seconds an epoch and their ratio (above 1: the jitter costs).
A model fitted with the jitter then predicts the test split ``--repeats`` times with
each setting, alternating: the mean over its ``min(k, 8)`` offsets against offset 0
alone, median seconds and their ratio.

Usage::

    python benchmarks/bench_segment_jitter.py
    python benchmarks/bench_segment_jitter.py --sets ArrowHead,PLAID --repeats 5
"""

import argparse
import statistics
import sys
import time
import warnings

from bench_accuracy import load
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier


def epoch_seconds(X, y, jitter, epochs):
    model = RNNClassifier(random_state=0, segment_jitter=jitter, max_iter=epochs,
                          n_iter_no_change=10 * epochs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return (time.perf_counter() - start) / model.n_iter_, model


def predict_seconds(model, X, offsets):
    model._predict_offsets = offsets  # (what the fit chose, or offset 0 alone)
    start = time.perf_counter()
    model.predict_proba(X)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="ArrowHead,Coffee,OSULeaf,PLAID")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("set               k  jitter (s/epoch)  plain (s/epoch)  ratio  "
          "offsets  predict mean (s)  predict offset 0 (s)  ratio")
    for name in args.sets.split(","):
        X, y, X_test = load(name)[:3]
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for jitter in (True, False):
                seconds, model = epoch_seconds(X, y, jitter, args.epochs)
                times[jitter].append(seconds)
                if jitter:
                    fitted = model
        on, off = statistics.median(times[True]), statistics.median(times[False])
        offsets = fitted._predict_offsets
        predict = {offsets: [], (0,): []}
        for _ in range(args.repeats):
            for chosen in predict:
                predict[chosen].append(predict_seconds(fitted, X_test, chosen))
        mean, first = (statistics.median(predict[o]) for o in (offsets, (0,)))
        print(f"{name:16s} {model._segment_length:3d}  {on:16.4f}  {off:15.4f}  "
              f"{on / off:5.3f}  {len(offsets):7d}  {mean:16.4f}  {first:20.4f}  "
              f"{mean / first:5.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
