"""The cost of ``segment_jitter``: seconds an epoch of the default ``RNNClassifier``
with and without it, on the same data, in one run.

With ``segment_jitter=True`` every minibatch is segmented again at its own offset
(the scaling, or each sequence's shape, level and scale, is computed once a fit), and
a sequence started ``o`` steps early may need one segment more. The sets are the
classification sets of ``shared/data`` and, with sktime installed, ``--sets`` takes
the independent ones of ``bench_accuracy.py``. Each fit runs ``--epochs`` epochs (no
early stop); fits alternate between the two settings, ``--repeats`` of each, and the
table gives the median seconds an epoch and their ratio (above 1: the jitter costs).

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
    return (time.perf_counter() - start) / model.n_iter_, model._segment_length


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="ArrowHead,Coffee,OSULeaf,PLAID")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("set               k  jitter (s/epoch)  plain (s/epoch)  ratio")
    for name in args.sets.split(","):
        X, y = load(name)[:2]
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for jitter in (True, False):
                seconds, k = epoch_seconds(X, y, jitter, args.epochs)
                times[jitter].append(seconds)
        on, off = statistics.median(times[True]), statistics.median(times[False])
        print(f"{name:16s} {k:3d}  {on:16.4f}  {off:15.4f}  {on / off:5.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
