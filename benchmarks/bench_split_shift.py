"""How far a set's test split differs from its training split (adversarial validation).

A random forest on the flattened series (zero-padded to the longest training series,
as ``bench_accuracy.py`` gives the flat baselines) learns to tell the training
split's series from the test split's. Its cross-validated ROC AUC (5 shuffled
stratified folds; the splits' sizes balanced by ``class_weight="balanced"``) is near
0.5 where the two splits are drawn alike, above where they are not (and below where
test series have near copies in the training split, which the forest then takes for
training series). Small sets give noisy AUCs either way, so the same
cross-validation is run again with the train/test labels shuffled (``--permutations``
times, scikit-learn's ``permutation_test_score``): the p-value is the share of
shuffles that score at least the real AUC. Where the splits differ, cross-validation
on the training split (how ``bench_accuracy.py --mode cv`` chooses the defaults)
cannot foresee the test scores.
The sets are the classification sets of ``bench_accuracy.py``, read as it reads them.

Usage::

    python benchmarks/bench_split_shift.py
    python benchmarks/bench_split_shift.py --sets ArrowHead,GunPoint --permutations 200
"""

import argparse
import sys
import warnings

import numpy as np
from bench_accuracy import INDEPENDENT, PYTS, TASKS, flatten, load
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score, permutation_test_score

#: The sets this script reads by default: the classification sets of ``shared/data``
#: and the independent ones (sktime's copies); PigCVP (pyts) on request.
DEFAULT_SETS = [name for name, task in {**TASKS, **INDEPENDENT}.items()
                if task == "classification"]
CLASSIFICATION = DEFAULT_SETS + [name for name, task in PYTS.items()
                                 if task == "classification"]


def split_shift(name, permutations, seed=0):
    """The cross-validated ROC AUC of telling ``name``'s test series from its training
    series, its standard deviation over the folds, the p-value of the permutation
    test, and the two splits' sizes."""
    X_train, _, X_test, _ = load(name)
    length = max(len(x) for x in X_train)
    A = np.vstack([flatten(X_train, length), flatten(X_test, length)])
    is_test = np.r_[np.zeros(len(X_train)), np.ones(len(X_test))]
    forest = RandomForestClassifier(100, class_weight="balanced", random_state=seed)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    fold_aucs = cross_val_score(forest, A, is_test, cv=folds, scoring="roc_auc")
    _, _, p_value = permutation_test_score(forest, A, is_test, cv=folds, scoring="roc_auc",
                                           n_permutations=permutations,
                                           random_state=seed)
    return (float(fold_aucs.mean()), float(fold_aucs.std()), float(p_value),
            len(X_train), len(X_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS),
                        help=f"comma-separated, of {', '.join(CLASSIFICATION)}")
    parser.add_argument("--permutations", type=int, default=100)
    config = parser.parse_args(argv)
    sets = config.sets.split(",")
    unknown = [name for name in sets if name not in CLASSIFICATION]
    if unknown:
        parser.error(f"unknown or not classification sets: {unknown}")
    print(f"{'set':18s} {'train':>6s} {'test':>6s}  AUC (train vs test)  fold std  p-value")
    for name in sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc, std, p_value, n_train, n_test = split_shift(name, config.permutations)
        print(f"{name:18s} {n_train:6d} {n_test:6d}  {auc:19.3f}  {std:8.3f}  {p_value:7.3f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
