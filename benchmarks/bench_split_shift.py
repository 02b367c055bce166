"""How far a set's test split differs from its training split (adversarial validation).

A random forest on the flattened series (zero-padded to the longest training series,
as ``bench_accuracy.py`` gives the flat baselines) learns to tell the training
split's series from the test split's; its cross-validated ROC AUC (5 shuffled
stratified folds, the mean over ``--repeats`` seeds, the splits' sizes balanced by
``class_weight="balanced"``) is near 0.5 where the two splits are drawn alike, and
above where they are not. Where they are not, cross-validation on the training split
(how ``bench_accuracy.py --mode cv`` chooses the defaults) cannot foresee the test
scores. The sets are read as ``bench_accuracy.py`` reads them.

Usage::

    python benchmarks/bench_split_shift.py
    python benchmarks/bench_split_shift.py --sets ArrowHead,GunPoint,ItalyPowerDemand
"""

import argparse
import sys
import warnings

import numpy as np
from bench_accuracy import ALL_TASKS, flatten, load
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

CLASSIFICATION = [name for name, task in ALL_TASKS.items() if task == "classification"]


def split_auc(name, repeats):
    """The mean cross-validated ROC AUC of telling ``name``'s test series from its
    training series, and the two splits' sizes."""
    X_train, _, X_test, _ = load(name)
    length = max(len(x) for x in X_train)
    A = np.vstack([flatten(X_train, length), flatten(X_test, length)])
    is_test = np.r_[np.zeros(len(X_train)), np.ones(len(X_test))]
    aucs = []
    for seed in range(repeats):
        forest = RandomForestClassifier(300, class_weight="balanced", random_state=seed)
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        aucs.append(cross_val_score(forest, A, is_test, cv=folds, scoring="roc_auc").mean())
    return float(np.mean(aucs)), len(X_train), len(X_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="ArrowHead,Coffee,OSULeaf,BasicMotions,GunPoint,"
                        "ItalyPowerDemand,ACSF1",
                        help=f"comma-separated, of {', '.join(CLASSIFICATION)}")
    parser.add_argument("--repeats", type=int, default=3)
    config = parser.parse_args(argv)
    print(f"{'set':18s} {'train':>6s} {'test':>6s}  AUC (train vs test)")
    for name in config.sets.split(","):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc, n_train, n_test = split_auc(name, config.repeats)
        print(f"{name:18s} {n_train:6d} {n_test:6d}  {auc:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
