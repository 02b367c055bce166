"""Behaviour of RNNRegressor and RNNClassifier: learning tasks that need memory with
every solver, sample weights, partial_fit, warm_start, early stopping, divergence,
reproducibility, pickling, fitted attributes and the scikit-learn tools.

Expectations are derived from first principles (closed forms, MLP's rules) or from an
equivalent computation (a weighted fit against a fit on repeated rows, a warm start
against one longer fit, the PyTorch modules loaded from ``weights_`` by name), never
read off skrnn's own output. Every problem is small, so that the module runs in seconds.
"""

import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax, xlogy
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_poisson_deviance,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skrnn._base as skrnn_base
from skrnn import RNNClassifier, RNNRegressor
from skrnn._network import loss_and_grad, pack

SOLVERS = ["lbfgs", "sgd", "adam"]
STOCHASTIC = ["sgd", "adam"]
ESTIMATORS = [RNNRegressor, RNNClassifier]

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


# --------------------------------------------------------------------------------------
# Data and helpers


def memory_X(rng, n=200, T=8, F=1):
    """Independent uniform noise at every step: only the first step carries the
    target, so a model must carry it through T - 1 steps of distractors."""
    return rng.uniform(-1, 1, size=(n, T, F))


def memory_target(Est, X):
    if Est is RNNClassifier:
        return (X[:, 0, 0] > 0).astype(int)
    return X[:, 0, 0].copy()


def fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def assert_same_weights(a, b, **tol):
    assert list(a.weights_) == list(b.weights_)
    for name in a.weights_:
        if tol:
            assert_allclose(a.weights_[name], b.weights_[name], err_msg=name, **tol)
        else:
            assert_array_equal(a.weights_[name], b.weights_[name], err_msg=name)


def flat_weights(est):
    return np.concatenate([w.ravel() for w in est.weights_.values()])


def trained_theta(est):
    """The flat parameters the solvers train: those of the model of standardised data
    (``weights_`` hold the same model for the raw data)."""
    return pack(est._scaled(est.weights_, inverse=True), est._spec)


def standardised(est, X, y=None):
    """``X`` (and regression targets ``y``) as the solvers see them."""
    X = (np.asarray(X) - est._x_shift) / est._x_scale
    if y is None:
        return X
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    if est._y_scale is not None:
        y = (y - est._y_shift) / est._y_scale
    return X, y


def time_major(X):
    X = np.asarray(X)
    return np.ascontiguousarray(X.transpose(1, 0, 2)), np.full(len(X), X.shape[1])


def outputs(est, X):
    if isinstance(est, RNNClassifier):
        return est.predict_proba(X)
    return est.predict(X)


def fitted_state(est):
    """Everything an estimator holds except its constructor parameters, as bytes."""
    params = est.get_params(deep=False)
    return pickle.dumps({k: v for k, v in vars(est).items() if k not in params})


# --------------------------------------------------------------------------------------
# Learning tasks that need memory

SOLVER_SETTINGS = {
    "lbfgs": dict(solver="lbfgs", max_iter=150),
    "adam": dict(solver="adam", learning_rate_init=0.03, max_iter=80),
    "sgd": dict(solver="sgd", learning_rate_init=0.1, batch_size=20, max_iter=60),
}


@ignore_convergence
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_each_solver_learns_a_task_that_needs_memory(Est, solver, rng):
    X, X_test = memory_X(rng), memory_X(rng)
    y, y_test = memory_target(Est, X), memory_target(Est, X_test)
    est = Est(hidden_layer_sizes=(8,), random_state=0, **SOLVER_SETTINGS[solver])
    est.fit(X, y)
    # chance is 0.5 accuracy / R^2 = 0: the first step is 7 steps back
    assert est.score(X_test, y_test) > 0.9


@ignore_convergence
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_other_cells_learn_a_task_that_needs_memory(cell, rng):
    X, X_test = memory_X(rng), memory_X(rng)
    y, y_test = memory_target(RNNClassifier, X), memory_target(RNNClassifier, X_test)
    clf = RNNClassifier(hidden_layer_sizes=(8,), cell=cell, random_state=0,
                        **SOLVER_SETTINGS["adam"]).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9


@ignore_convergence
def test_stacked_layers_learn_a_task_that_needs_memory(rng):
    X, X_test = memory_X(rng), memory_X(rng)
    y, y_test = memory_target(RNNRegressor, X), memory_target(RNNRegressor, X_test)
    reg = RNNRegressor(hidden_layer_sizes=(8, 6), random_state=0,
                       **SOLVER_SETTINGS["adam"]).fit(X, y)
    assert reg.n_layers_ == 4
    assert reg.score(X_test, y_test) > 0.9


@ignore_convergence
def test_variable_length_sequences_predict_as_one_at_a_time(rng):
    lengths = rng.randint(3, 9, size=60)
    X = [rng.uniform(-1, 1, size=(L, 2)) for L in lengths]
    y = np.array([x[0, 0] for x in X])
    reg = RNNRegressor(hidden_layer_sizes=(6,), solver="adam", max_iter=20,
                       random_state=0).fit(X, y)
    together = reg.predict(X)
    alone = np.array([reg.predict(x[None])[0] for x in X])
    assert_allclose(together, alone, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Sample weights: a zero weight removes a sample, an integer weight repeats it


def _small_task(Est, rng, n=30, T=4, F=2):
    X = rng.normal(size=(n, T, F))
    y = memory_target(Est, X)
    return X, y


@ignore_convergence
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_integer_sample_weight_equals_repeated_rows(Est, solver, rng):
    X, y = _small_task(Est, rng)
    sw = rng.randint(0, 4, size=len(X))  # zeros included
    assert (sw == 0).any() and (sw > 1).any()
    idx = np.repeat(np.arange(len(X)), sw)
    rng.shuffle(idx)  # the repeated rows in another order
    # "auto" batch size gives one full batch for both fits (<= 200 samples)
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=10, random_state=0)
    weighted = Est(**params).fit(X, y, sample_weight=sw)
    repeated = Est(**params).fit(X[idx], y[idx])
    assert_same_weights(weighted, repeated, rtol=1e-7, atol=1e-10)
    assert_allclose(outputs(weighted, X), outputs(repeated, X), rtol=1e-7, atol=1e-10)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-7)


@ignore_convergence
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_zero_sample_weight_equals_removing_rows(Est, solver, rng):
    X, y = _small_task(Est, rng)
    sw = rng.uniform(0.5, 2.0, size=len(X))
    sw[rng.permutation(len(X))[:10]] = 0.0
    keep = sw > 0
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=10, random_state=0)
    with_zeros = Est(**params).fit(X, y, sample_weight=sw)
    removed = Est(**params).fit(X[keep], y[keep], sample_weight=sw[keep])
    assert_same_weights(with_zeros, removed, rtol=1e-7, atol=1e-10)
    assert_allclose(outputs(with_zeros, X), outputs(removed, X), rtol=1e-7, atol=1e-10)


@ignore_convergence
def test_sample_weight_changes_the_fit(rng):
    X, y = _small_task(RNNRegressor, rng)
    sw = np.ones(len(X))
    sw[:5] = 20.0
    # (no linear skip: its ridge start fits this linear target exactly either way)
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0,
                  linear_skip=False)
    plain = RNNRegressor(**params).fit(X, y)
    weighted = RNNRegressor(**params).fit(X, y, sample_weight=sw)
    # the heavy samples are fitted better than without weights
    err_plain = mean_squared_error(y[:5], plain.predict(X[:5]))
    err_weighted = mean_squared_error(y[:5], weighted.predict(X[:5]))
    assert err_weighted < err_plain


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(30), "Negative values in data passed to sample_weight"),
        (np.zeros(30), "at least one non-zero"),
        (np.ones(29), r"sample_weight.shape == \(29,\), expected \(30,\)"),
        (np.ones((30, 2)), "1D array or scalar"),
    ],
)
def test_bad_sample_weight_raises(sample_weight, match, rng):
    X, y = _small_task(RNNRegressor, rng)
    with pytest.raises(ValueError, match=match):
        RNNRegressor(hidden_layer_sizes=(2,), max_iter=2).fit(X, y, sample_weight)


# --------------------------------------------------------------------------------------
# partial_fit


def _full_loss(est, X, y):
    if isinstance(est, RNNClassifier):
        return log_loss(y, est.predict_proba(X), labels=est.classes_)
    return mean_squared_error(y, est.predict(X))


PARTIAL_FIT_LR = {"sgd": 0.1, "adam": 0.03}


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_partial_fit_reduces_the_loss_over_chunks(Est, solver, rng):
    X = memory_X(rng, n=200, T=6)
    y = memory_target(Est, X)
    chunks = np.array_split(rng.permutation(len(X)), 5)
    est = Est(hidden_layer_sizes=(8,), solver=solver, batch_size=10, random_state=0,
              learning_rate_init=PARTIAL_FIT_LR[solver])
    first = {"classes": [0, 1]} if Est is RNNClassifier else {}
    est.partial_fit(X[chunks[0]], y[chunks[0]], **first)
    loss_after_one_chunk = _full_loss(est, X, y)
    n_epochs = 8
    for _ in range(n_epochs):
        for chunk in chunks:
            est.partial_fit(X[chunk], y[chunk])
    assert _full_loss(est, X, y) < 0.5 * loss_after_one_chunk
    # one epoch over the given chunk per call
    n_calls = 1 + n_epochs * len(chunks)
    assert est.n_iter_ == n_calls
    assert len(est.loss_curve_) == n_calls
    assert est.t_ == len(chunks[0]) + n_epochs * len(X)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_first_partial_fit_equals_one_epoch_of_fit(Est, solver, rng):
    X, y = _small_task(Est, rng, n=50)
    params = dict(hidden_layer_sizes=(4,), solver=solver, batch_size=16, random_state=0)
    extra = {"classes": np.unique(y)} if Est is RNNClassifier else {}
    partial = Est(**params).partial_fit(X, y, **extra)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(1\)"):
        full = Est(max_iter=1, **params).fit(X, y)
    assert_same_weights(partial, full)
    assert partial.n_iter_ == full.n_iter_ == 1
    assert partial.t_ == full.t_ == len(X)
    assert partial.loss_curve_ == full.loss_curve_


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_partial_fit_is_only_for_stochastic_solvers(Est, rng):
    X, y = _small_task(Est, rng)
    est = Est(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        est.partial_fit(X, y)
    for solver in STOCHASTIC:
        assert hasattr(Est(solver=solver), "partial_fit")
    assert hasattr(est.set_params(solver="sgd"), "partial_fit")


def test_classifier_partial_fit_needs_classes_on_the_first_call(rng):
    X, y = _small_task(RNNClassifier, rng)
    clf = RNNClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "weights_")
    # a chunk may hold only some of the classes
    labels = np.array(["a", "b", "c"])
    clf.partial_fit(X[:10], np.full(10, "b"), classes=labels)
    assert_array_equal(clf.classes_, labels)
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X[10:], labels[y[10:]])  # classes may be omitted later
    assert set(clf.predict(X)) <= set(labels)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, np.full(len(X), "z"))
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, labels[y], classes=["a", "b"])


def test_partial_fit_refuses_early_stopping(rng):
    """partial_fit runs one epoch on the data it is given, with no validation set to
    stop on: early_stopping=True is a clear ValueError (MLP raises one too), on an
    unfitted model and on one fitted with early stopping, which stays as it was."""
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(4,), early_stopping=True, random_state=0)
    refusal = "partial_fit does not support early_stopping=True"
    with pytest.raises(ValueError, match=refusal):
        reg.partial_fit(X, y)
    assert not hasattr(reg, "weights_")
    fit_quietly(reg.set_params(max_iter=3, validation_fraction=0.2), X, y)
    state = fitted_state(reg)
    with pytest.raises(ValueError, match=refusal):
        reg.partial_fit(X, y)
    assert fitted_state(reg) == state


# --------------------------------------------------------------------------------------
# warm_start


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_continues_where_the_last_fit_stopped(Est, rng):
    """With plain full-batch gradient descent (momentum 0, so no optimizer state)
    5 + 5 warm-started epochs are exactly one fit of 10 epochs."""
    X, y = _small_task(Est, rng, n=40)
    params = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                  learning_rate_init=0.1, random_state=0)
    ten = fit_quietly(Est(max_iter=10, **params), X, y)
    warm = Est(max_iter=5, warm_start=True, **params)
    fit_quietly(warm, X, y)
    fit_quietly(warm, X, y)
    assert_same_weights(warm, ten, rtol=1e-12, atol=1e-14)
    assert warm.n_iter_ == 10
    assert warm.t_ == 10 * len(X)
    assert_allclose(warm.loss_curve_, ten.loss_curve_, rtol=1e-12)
    # without warm_start the second fit starts again from scratch
    cold = Est(max_iter=5, **params)
    fit_quietly(cold, X, y)
    first = flat_weights(cold).copy()
    fit_quietly(cold, X, y)
    assert_array_equal(flat_weights(cold), first)
    assert cold.n_iter_ == 5


@ignore_convergence
def test_warm_start_lbfgs_continues_from_the_previous_solution(rng):
    X, y = _small_task(RNNRegressor, rng)
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=15, random_state=0)
    warm = RNNRegressor(warm_start=True, **params).fit(X, y)
    loss_first = warm.loss_
    warm.fit(X, y)
    # L-BFGS never increases the objective, and it starts at the previous optimum
    assert warm.loss_ < loss_first
    cold = RNNRegressor(**params).fit(X, y)
    assert cold.loss_ == pytest.approx(loss_first, rel=1e-12)
    cold.fit(X, y)
    assert cold.loss_ == pytest.approx(loss_first, rel=1e-12)


@ignore_convergence
def test_warm_start_from_lbfgs_to_adam_starts_at_the_lbfgs_solution(rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20,
                       alpha=1e-3, random_state=0).fit(X, y)
    lbfgs_loss = reg.loss_
    reg.set_params(solver="adam", warm_start=True, max_iter=3).fit(X, y)
    # full batch: the first epoch's loss is the objective at the starting point
    assert reg.loss_curve_[0] == pytest.approx(lbfgs_loss, rel=1e-9)
    assert len(reg.loss_curve_) == 3


def test_warm_start_keeps_the_network(rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                   warm_start=True, random_state=0), X, y)
    before = fitted_state(reg)
    reg.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="warm_start must keep the network"):
        reg.fit(X, y)
    reg.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="features"):
        reg.fit(X[:, :, :1], y)  # fewer features per timestep
    assert fitted_state(reg) == before


def test_warm_start_classifier_keeps_the_classes(rng):
    X, y = _small_task(RNNClassifier, rng)
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(4,), max_iter=3,
                                    warm_start=True, random_state=0), X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y + 1)


def test_warm_start_fit_that_reaches_max_iter_warns(rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(4,), max_iter=3, warm_start=True,
                       random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        reg.fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        reg.fit(X, y)
    assert reg.n_iter_ == 6


# --------------------------------------------------------------------------------------
# Stopping: n_iter_no_change, early stopping, adaptive learning rate


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_training_stops_after_n_iter_no_change(Est, solver, early_stopping, rng):
    """With a tolerance no epoch can meet, only the first epoch improves (on the
    initial best of +inf loss / -inf score); each later one counts as no improvement,
    and training stops once n_iter_no_change is exceeded (MLP's rule): after
    1 + (n_iter_no_change + 1) epochs."""
    X, y = _small_task(Est, rng, n=60)
    n = 3
    est = Est(hidden_layer_sizes=(4,), solver=solver, tol=1e9, n_iter_no_change=n,
              max_iter=100, early_stopping=early_stopping, validation_fraction=0.2,
              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopping is not failing
        est.fit(X, y)
    n_epochs = 1 + (n + 1)
    assert est.n_iter_ == n_epochs
    assert len(est.loss_curve_) == n_epochs
    if early_stopping:
        assert len(est.validation_scores_) == n_epochs
        assert est.best_validation_score_ == max(est.validation_scores_)
        assert est.best_loss_ is None
        # trained on the training part only: 48 of 60 samples per epoch
        assert est.t_ == n_epochs * 48
    else:
        assert est.validation_scores_ is None
        assert est.best_validation_score_ is None
        assert est.best_loss_ == min(est.loss_curve_)
        assert est.t_ == n_epochs * 60


def test_early_stopping_keeps_the_weights_of_the_best_epoch(rng):
    X = rng.uniform(-1, 1, size=(100, 5, 1))
    y = X[:, 0, 0] + 0.3 * rng.standard_normal(100)  # noisy: the score turns down
    params = dict(hidden_layer_sizes=(8,), solver="adam", learning_rate_init=0.05,
                  batch_size=20, early_stopping=True, tol=0.0, n_iter_no_change=3,
                  random_state=0)
    reg = RNNRegressor(max_iter=300, **params).fit(X, y)
    scores = reg.validation_scores_
    best = int(np.argmax(scores))
    assert reg.n_iter_ < 300 and len(scores) == reg.n_iter_
    # tol=0: it stops once n_iter_no_change + 1 epochs in a row fall below the best
    assert best == reg.n_iter_ - 3 - 2
    assert reg.best_validation_score_ == scores[best]
    # the same run cut after the best epoch ends with the same weights
    short = fit_quietly(RNNRegressor(max_iter=best + 1, **params), X, y)
    assert_allclose(short.validation_scores_, scores[:best + 1], rtol=1e-12)
    assert_same_weights(reg, short)


def test_early_stopping_needs_a_validation_set(rng):
    X, y = _small_task(RNNRegressor, rng, n=40)
    reg = RNNRegressor(early_stopping=True, validation_fraction=0.01)
    with pytest.raises(ValueError, match="validation set is too small"):
        reg.fit(X, y)


def test_adaptive_learning_rate_divides_by_five_before_stopping(rng, capsys):
    """The first epoch improves on +inf; after it, each stall (n_iter_no_change + 1
    epochs without improvement) divides the rate by 5 until it is at most 1e-6: from
    0.1 that is 8 divisions, and the 9th stall stops."""
    X, y = _small_task(RNNRegressor, rng)
    n = 2
    reg = RNNRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate="adaptive",
                       learning_rate_init=0.1, tol=1e9, n_iter_no_change=n,
                       max_iter=500, verbose=True, random_state=0).fit(X, y)
    assert reg.n_iter_ == 1 + 9 * (n + 1)
    out = capsys.readouterr().out
    assert out.count("Setting learning rate to") == 8
    assert out.count("Learning rate too small. Stopping.") == 1


# --------------------------------------------------------------------------------------
# Divergence: never NaN weights in a fitted model


def _assert_finite_model(est, X):
    for name, w in est.weights_.items():
        assert np.all(np.isfinite(w)), name
    assert np.all(np.isfinite(outputs(est, X)))
    assert np.isfinite(est.loss_)
    assert np.all(np.isfinite(est.loss_curve_))
    assert len(est.loss_curve_) == est.n_iter_


DIVERGING = {
    # an identity Elman cell over 40 steps with a huge step size
    "sgd": dict(cell="rnn", activation="identity", solver="sgd", learning_rate_init=10.0),
    # Poisson's exp overflows once adam's steps of size ~lr have grown the output
    "adam": dict(loss="poisson", cell="rnn", solver="adam", learning_rate_init=1000.0),
}


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_divergence_keeps_the_last_finite_weights_and_says_what_to_change(solver, rng):
    X = rng.uniform(-1, 1, size=(60, 40 if solver == "sgd" else 6, 1))
    y = np.exp(2 * X[:, 0, 0])
    reg = RNNRegressor(hidden_layer_sizes=(4,), max_iter=30, random_state=0,
                       **DIVERGING[solver])
    with np.errstate(all="ignore"):
        with pytest.warns(ConvergenceWarning, match="diverged") as record:
            reg.fit(X, y)
    message = " ".join(str(w.message) for w in record
                       if "diverged" in str(w.message))
    assert "learning_rate_init" in message and "clip_norm" in message
    assert reg.n_iter_ < 30
    _assert_finite_model(reg, X)


def test_partial_fit_after_a_divergence_rolls_the_optimizer_back(rng):
    """A huge step leaves finite weights whose next loss overflows: the next call rolls
    that step back with the optimizer's state (momentum) and un-counts its epoch, so
    the model is exactly the one before the huge step; then a smaller
    ``learning_rate_init``, as the warning advises, trains on."""
    X = rng.uniform(-1, 1, size=(60, 40, 1))
    y = np.exp(2 * X[:, 0, 0])
    reg = RNNRegressor(hidden_layer_sizes=(4,), random_state=0, **DIVERGING["sgd"])

    def state():
        return (trained_theta(reg), reg._optimizer.snapshot(), reg.n_iter_, reg.t_,
                list(reg.loss_curve_), reg.loss_)

    reg.partial_fit(X, y)
    history = [state()]
    for _ in range(20):
        with warnings.catch_warnings(record=True) as record, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            reg.partial_fit(X, y)
        if any("diverged" in str(w.message) for w in record):
            break
        history.append(state())
    else:
        pytest.fail("the fit never diverged")
    theta, opt, n_iter, t, curve, loss = state()
    theta_b, opt_b, n_iter_b, t_b, curve_b, loss_b = history[-2]  # before the huge step
    assert_array_equal(theta, theta_b)
    for name in opt:
        assert_array_equal(opt[name], opt_b[name])
    assert (n_iter, t, curve, loss) == (n_iter_b, t_b, curve_b, loss_b)
    reg.set_params(learning_rate_init=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg.partial_fit(X, y)
    assert reg.n_iter_ == n_iter + 1 and np.isfinite(reg.loss_)


def test_interrupted_fit_keeps_the_loss_and_optimizer_of_the_kept_epoch(rng, monkeypatch):
    """The weights of the best epoch come with that epoch's loss_ and optimizer."""
    X, y = _small_task(RNNRegressor, rng, n=40)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="adam", max_iter=50, tol=0,
                       random_state=0)
    real = skrnn_base.loss_and_grad
    snapshots = []
    calls = [0]

    def spy(theta, *args, **kwargs):
        calls[0] += 1
        snapshots.append((theta.copy(), reg._optimizer.snapshot()))
        if calls[0] == 9:
            raise KeyboardInterrupt
        return real(theta, *args, **kwargs)

    monkeypatch.setattr(skrnn_base, "loss_and_grad", spy)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        reg.fit(X, y)
    best = int(np.argmin(reg.loss_curve_))  # 0-based epoch whose weights are kept
    assert reg.loss_ == reg.loss_curve_[best]
    theta, opt = snapshots[best + 1]  # the state the epoch after it started from
    assert_allclose(trained_theta(reg), theta, rtol=1e-11, atol=1e-13)
    assert reg._optimizer.t == opt["t"]
    assert_array_equal(reg._optimizer.ms, opt["ms"])


def test_divergence_in_the_first_epoch_still_gives_a_usable_model(rng):
    X = rng.uniform(-1, 1, size=(60, 40, 1))
    y = X[:, 0, 0]
    reg = RNNRegressor(hidden_layer_sizes=(4,), batch_size=10, max_iter=5,
                       random_state=0, **DIVERGING["sgd"])
    with np.errstate(all="ignore"):
        with pytest.warns(ConvergenceWarning, match="diverged"):
            reg.fit(X, y)
    assert reg.n_iter_ == 0
    _assert_finite_model(reg, X)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("huge", ["X", "y"])
def test_huge_data_is_standardised_and_fits(solver, huge, rng):
    """Data of scale 1e200 (whose squared error overflowed before the estimators
    standardised their inputs and targets) fit as the same data of scale 1."""
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(3,), cell="rnn", activation="identity",
                       solver=solver, max_iter=5, random_state=0)
    small = fit_quietly(clone(reg), X, y)
    if huge == "X":
        big = fit_quietly(reg, X * 1e200, y)
        assert_allclose(big.predict(X * 1e200), small.predict(X), rtol=1e-6)
    else:
        big = fit_quietly(reg, X, y * 1e200)
        assert_allclose(big.predict(X), 1e200 * small.predict(X), rtol=1e-6)
    assert np.isfinite(big.loss_)


def _warm_start_from_huge_output_weights(Est, X, y, solver, alpha, factor=1e200,
                                         **params):
    """A fitted model (identity Elman cell) whose output weights were then multiplied
    by ``factor`` in place, set to go on training from them."""
    est = Est(hidden_layer_sizes=(3,), cell="rnn", activation="identity",
              solver=solver, max_iter=5, alpha=alpha, random_state=0, **params)
    fit_quietly(est, X, y)
    est.weights_["out_weight"][...] *= factor
    return est.set_params(warm_start=True)


@pytest.mark.parametrize("solver", SOLVERS)
def test_loss_not_finite_before_any_update_raises(solver, rng):
    """Going on from weights whose penalty overflows: the fit refuses, says why, and
    leaves the model as it was."""
    X, y = _small_task(RNNRegressor, rng)
    reg = _warm_start_from_huge_output_weights(RNNRegressor, X, y, solver, alpha=1e-4)
    weights = {name: w.copy() for name, w in reg.weights_.items()}
    n_iter = reg.n_iter_
    with np.errstate(all="ignore"):
        with pytest.raises(ValueError, match="at the start of training.*warm_start"):
            reg.fit(X, y)
    assert reg.n_iter_ == n_iter
    for name, w in weights.items():
        assert_array_equal(reg.weights_[name], w)


# What each solver meets when the gradient of the log-loss of huge logits overflows
GRADIENT_OVERFLOW = {
    # L-BFGS ends where the loss is not finite: the weights go back to the start
    "lbfgs": "Training diverged: ",
    # the first step (epoch 6, the first of this call) makes the weights huge; the next
    # gradient is not finite: that step is rolled back and epoch 6 un-counted
    "sgd": r"Training diverged in epoch 6: ",
    # adam's steps are at most about learning_rate_init whatever the gradient (and 0
    # where its square overflows): it trains on, with finite weights, to max_iter
    "adam": r"Maximum iterations \(5\) reached",
}


@pytest.mark.parametrize("solver", SOLVERS)
def test_gradient_overflow_never_leaves_nan_weights(solver, rng):
    """Logits of about 1e200 (output weights made huge, no penalty): the log-loss stays
    finite (so the fit starts: no refusal), but its gradient overflows. The fit keeps
    finite weights, never NaN ones, and says so."""
    X, y = _small_task(RNNClassifier, rng)
    clf = _warm_start_from_huge_output_weights(RNNClassifier, X, y, solver, alpha=0.0)
    assert clf.n_iter_ == 5
    with np.errstate(all="ignore"):
        with pytest.warns(ConvergenceWarning, match=GRADIENT_OVERFLOW[solver]) as record:
            clf.fit(X, y)
    diverged = [w for w in record if "diverged" in str(w.message)]
    assert len(diverged) == (solver != "adam")
    for name, w in clf.weights_.items():
        assert np.all(np.isfinite(w)), name
    assert np.all(np.isfinite(clf.predict_proba(X)))
    assert np.isfinite(clf.loss_)
    if solver == "sgd":  # back to the model this call started from, and its count
        assert clf.n_iter_ == len(clf.loss_curve_) == 5


def test_lbfgs_divergence_warning_names_what_lbfgs_uses(rng):
    X, y = _small_task(RNNClassifier, rng)
    clf = _warm_start_from_huge_output_weights(RNNClassifier, X, y, "lbfgs", alpha=0.0)
    with np.errstate(all="ignore"):
        with pytest.warns(ConvergenceWarning, match="diverged") as record:
            clf.fit(X, y)
    message = " ".join(str(w.message) for w in record)
    assert "learning_rate_init" not in message
    assert "Raise alpha" in message


def test_lbfgs_stopped_by_a_non_finite_loss_is_not_silent(rng, monkeypatch):
    """An objective that overflows (returns inf) farther than 0.05 from the starting
    weights: the loss at the start is finite, but L-BFGS's line search steps beyond.
    The fit stops at the last finite point and says why."""
    X, y = _small_task(RNNRegressor, rng)
    real = skrnn_base.loss_and_grad
    start = []

    def overflowing(theta, *args, **kwargs):
        loss, grad = real(theta, *args, **kwargs)
        if not start:
            start.append(theta.copy())
        if np.linalg.norm(theta - start[0]) > 0.05:
            return np.inf, grad
        return loss, grad

    monkeypatch.setattr(skrnn_base, "loss_and_grad", overflowing)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=100,
                       random_state=0)
    with pytest.warns(ConvergenceWarning,
                      match="lbfgs met a non-finite loss or gradient during its "
                            "line search") as record:
        reg.fit(X, y)
    message = " ".join(str(w.message) for w in record)
    assert "Raise alpha" in message
    assert np.isfinite(reg.loss_)
    assert np.linalg.norm(trained_theta(reg) - start[0]) <= 0.05 + 1e-12


# --------------------------------------------------------------------------------------
# A failed call leaves a fitted estimator as it was


def _bad_calls():
    def nan_in_X(est, X, y):
        X = X.copy()
        X[0, 1, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            est.fit(X, y)

    def four_d_X(est, X, y):
        with pytest.raises(ValueError, match="dim 4"):
            est.fit(X[..., None], y)

    def wrong_length_y(est, X, y):
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            est.fit(X, y[:-1])

    def negative_weights(est, X, y):
        with pytest.raises(ValueError, match="Negative values"):
            est.fit(X[:, :, :1], y, sample_weight=-np.ones(len(X)))

    def invalid_parameter(est, X, y):
        est.set_params(alpha=-1.0)
        with pytest.raises(ValueError, match="alpha"):
            est.fit(X, y)

    def new_network_on_warm_start(est, X, y):
        est.set_params(warm_start=True, hidden_layer_sizes=(7,))
        with pytest.raises(ValueError, match="warm_start must keep"):
            est.fit(X, y)

    def validation_set_too_small(est, X, y):
        # fails after the new network was initialised
        est.set_params(early_stopping=True, validation_fraction=0.01)
        with pytest.raises(ValueError, match="validation set is too small|test_size"):
            est.fit(X[:, :3, :1], y)

    def partial_fit_wrong_features(est, X, y):
        with pytest.raises(ValueError, match="features"):
            est.partial_fit(np.concatenate([X, X], axis=2), y)

    return [nan_in_X, four_d_X, wrong_length_y, negative_weights, invalid_parameter,
            new_network_on_warm_start, validation_set_too_small,
            partial_fit_wrong_features]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("bad_call", _bad_calls(), ids=lambda f: f.__name__)
def test_failed_call_leaves_a_fitted_estimator_as_it_was(Est, bad_call, rng):
    X, y = _small_task(Est, rng, n=40)
    est = fit_quietly(Est(hidden_layer_sizes=(4,), cell="rnn", max_iter=3,
                          batch_size=10, random_state=0), X, y)
    params = est.get_params()
    twin = pickle.loads(pickle.dumps(est))
    before_state, before_out = fitted_state(est), outputs(est, X)
    bad_call(est, X, y)
    est.set_params(**params)
    assert fitted_state(est) == before_state
    assert_array_equal(outputs(est, X), before_out)
    # and it goes on exactly as a copy that never saw the failed call
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert_same_weights(est, twin)


def _bad_first_inputs(X, y):
    """``(X, y, sample_weight)`` a first call must refuse, with its message."""
    X_nan = X.copy()
    X_nan[0, 1, 0] = np.nan
    return {
        "nan_in_X": (X_nan, y, None, "NaN"),
        "four_d_X": (X[..., None], y, None, "dim 4"),
        "wrong_length_y": (X, y[:-1], None, "inconsistent numbers of samples"),
        "negative_weights": (X, y, -np.ones(len(X)), "Negative values"),
        "ragged_feature_counts": ([X[0], X[1, :, :1]], y[:2], None, "features"),
    }


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("bad", list(_bad_first_inputs(np.zeros((3, 4, 2)), np.zeros(3))))
def test_failed_first_call_leaves_an_unfitted_estimator(Est, method, bad, rng):
    """A first fit or partial_fit that fails leaves no trace: not the classifier's
    classes_ (set before the data were checked), nor anything else."""
    X, y = _small_task(Est, rng, n=20)
    Xb, yb, sw, message = _bad_first_inputs(X, y)[bad]
    est = Est(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    fresh = dict(est.__dict__)
    kwargs = {"classes": np.unique(y)} if (Est is RNNClassifier
                                          and method == "partial_fit") else {}
    with pytest.raises(ValueError, match=message):
        getattr(est, method)(Xb, yb, sample_weight=sw, **kwargs)
    assert est.__dict__.keys() == fresh.keys()
    with pytest.raises(NotFittedError):
        est.predict(X)
    if kwargs:  # the classes were not kept: a next first call still needs them
        with pytest.raises(ValueError, match="classes must be passed"):
            est.partial_fit(X, y)


def test_failed_partial_fit_leaves_the_shuffling_as_it_was(rng):
    X, y = _small_task(RNNRegressor, rng, n=40)
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(4,), max_iter=3, batch_size=10,
                                   random_state=0), X, y)
    twin = pickle.loads(pickle.dumps(reg))
    saved = {name: w.copy() for name, w in reg.weights_.items()}
    reg.weights_["out_weight"][...] *= 1e200  # the penalty overflows at once
    before = fitted_state(reg)
    with np.errstate(all="ignore"):
        with pytest.raises(ValueError, match="at the start of training"):
            reg.partial_fit(X, y)  # fails in its first minibatch, after shuffling
    assert fitted_state(reg) == before
    for name, w in saved.items():
        reg.weights_[name][...] = w
    reg.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert_same_weights(reg, twin)


def test_failed_call_on_the_classifier_keeps_its_classes(rng):
    X, y = _small_task(RNNClassifier, rng, n=40)
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(4,), max_iter=3,
                                    random_state=0), X, y)
    before = fitted_state(clf)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, np.full(len(X), 7))
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert fitted_state(clf) == before


def test_poisson_rejects_negative_targets_and_keeps_the_fitted_model(rng):
    X = rng.uniform(-1, 1, size=(40, 5, 1))
    y = rng.poisson(2.0, size=40).astype(float)
    reg = fit_quietly(RNNRegressor(loss="poisson", hidden_layer_sizes=(3,),
                                   max_iter=3, random_state=0), X, y)
    before = fitted_state(reg)
    y_bad = y.copy()
    y_bad[3] = -1.0
    with pytest.raises(ValueError, match="negative"):
        reg.fit(np.concatenate([X, X], axis=2), y_bad)
    assert fitted_state(reg) == before
    assert reg.n_features_in_ == 1
    with pytest.raises(ValueError, match="negative"):
        RNNRegressor(loss="poisson").fit(X, y_bad)
    # the squared error takes negative targets
    fit_quietly(RNNRegressor(hidden_layer_sizes=(3,), max_iter=2), X, y_bad)


def test_failed_first_fit_leaves_the_estimator_unfitted(rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(early_stopping=True, validation_fraction=0.01)
    with pytest.raises(ValueError):
        reg.fit(X, y)
    assert vars(reg).keys() == reg.get_params().keys()
    with pytest.raises(NotFittedError):
        reg.predict(X)


# --------------------------------------------------------------------------------------
# Reproducibility


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_random_state_makes_fits_reproducible(Est, solver, rng):
    X, y = _small_task(Est, rng, n=50)
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=4, batch_size=10)
    if solver != "lbfgs":  # shuffling and the validation split use the seed too
        params.update(early_stopping=True, validation_fraction=0.2, n_iter_no_change=50)
    a = fit_quietly(Est(random_state=3, **params), X, y)
    b = fit_quietly(Est(random_state=3, **params), X, y)
    c = fit_quietly(Est(random_state=np.random.RandomState(3), **params), X, y)
    assert_same_weights(a, b)
    assert_same_weights(a, c)
    assert_array_equal(a.predict(X), b.predict(X))
    fit_quietly(a, X, y)  # refitting is idempotent
    assert_same_weights(a, b)
    other = fit_quietly(Est(random_state=4, **params), X, y)
    assert not np.allclose(flat_weights(other), flat_weights(a))


@ignore_convergence
def test_random_state_none_gives_different_initialisations(rng):
    X, y = _small_task(RNNRegressor, rng)
    a = RNNRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(X, y)
    b = RNNRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(X, y)
    assert not np.allclose(flat_weights(a), flat_weights(b))


# --------------------------------------------------------------------------------------
# Pickle round trips and weights_


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_pickle_round_trip(Est, solver, rng):
    X, y = _small_task(Est, rng)
    est = fit_quietly(Est(hidden_layer_sizes=(4, 3), solver=solver, max_iter=3,
                          random_state=0), X, y)
    copy = pickle.loads(pickle.dumps(est))
    assert_array_equal(copy.predict(X), est.predict(X))
    assert_array_equal(outputs(copy, X), outputs(est, X))
    assert_same_weights(copy, est)
    for attr in ["loss_", "n_iter_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_"]:
        assert getattr(copy, attr) == getattr(est, attr), attr
    if Est is RNNClassifier:
        assert_array_equal(copy.classes_, est.classes_)
        assert_array_equal(copy.predict_log_proba(X), est.predict_log_proba(X))


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_partial_fit_after_a_pickle_round_trip_goes_on_identically(Est, solver, rng):
    X, y = _small_task(Est, rng, n=60)
    extra = {"classes": [0, 1]} if Est is RNNClassifier else {}
    # minibatches and shuffling: the optimizer state and the random state must travel
    est = Est(hidden_layer_sizes=(4,), solver=solver, batch_size=16, random_state=0)
    est.partial_fit(X, y, **extra)
    est.partial_fit(X, y)
    copy = pickle.loads(pickle.dumps(est))
    for _ in range(3):
        est.partial_fit(X, y)
        copy.partial_fit(X, y)
    assert_same_weights(copy, est)
    assert copy.loss_curve_ == est.loss_curve_


@pytest.mark.parametrize("solver", STOCHASTIC)
def test_model_loaded_read_only_by_joblib_predicts_and_partial_fits(solver, rng,
                                                                    tmp_path):
    X, y = _small_task(RNNRegressor, rng, n=60)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver=solver, batch_size=16,
                       random_state=0)
    reg.partial_fit(X, y)
    reg.partial_fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(reg, path)
    loaded = joblib.load(path, mmap_mode="r")  # read-only memmapped arrays
    assert_array_equal(loaded.predict(X), reg.predict(X))
    loaded.partial_fit(X, y)
    reg.partial_fit(X, y)
    assert_same_weights(loaded, reg)


@pytest.mark.parametrize("round_trip", [False, True])
def test_editing_weights_in_place_changes_regressor_predictions(round_trip, rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(4,), solver="lbfgs",
                                   max_iter=5, random_state=0), X, y)
    if round_trip:
        reg = pickle.loads(pickle.dumps(reg))
    before = reg.predict(X)
    reg.weights_["out_bias"] += 1.0  # identity output: every prediction moves by 1
    assert_allclose(reg.predict(X), before + 1.0, rtol=0, atol=1e-12)
    reg.weights_["out_bias"] -= 1.0
    reg.weights_["weight_hh_l0"] *= 0.5  # the recurrent weights are read too
    assert not np.allclose(reg.predict(X), before)
    reg.weights_["out_weight"][...] = 0.0
    reg.weights_["out_bias"][...] = 2.5
    assert not np.allclose(reg.predict(X), 2.5)  # the linear skip is read too
    reg.weights_["skip_weight"][...] = 0.0
    assert_allclose(reg.predict(X), 2.5)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("round_trip", [False, True])
def test_editing_weights_in_place_changes_classifier_probabilities(n_classes,
                                                                   round_trip, rng):
    X = rng.normal(size=(30, 4, 2))
    y = np.arange(30) % n_classes
    clf = fit_quietly(RNNClassifier(hidden_layer_sizes=(4,), solver="lbfgs",
                                    max_iter=3, random_state=0), X, y)
    if round_trip:
        clf = pickle.loads(pickle.dumps(clf))
    clf.weights_["out_weight"][...] = 0.0
    if n_classes == 2:
        clf.weights_["out_bias"][...] = 1.5
        p1 = expit(1.5)
        expected = np.tile([1 - p1, p1], (30, 1))
    else:
        bias = np.array([0.5, -1.0, 2.0])
        clf.weights_["out_bias"][...] = bias
        expected = np.tile(softmax(bias), (30, 1))
    assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    assert_allclose(clf.predict_log_proba(X), np.log(expected), rtol=1e-12)
    assert_array_equal(clf.predict(X), np.full(30, clf.classes_[np.argmax(expected[0])]))


def test_editing_a_pickled_copy_leaves_the_original_alone(rng):
    X, y = _small_task(RNNRegressor, rng)
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(4,), max_iter=2,
                                   random_state=0), X, y)
    before = reg.predict(X)
    copy = pickle.loads(pickle.dumps(reg))
    copy.weights_["out_bias"] += 3.0
    assert_array_equal(reg.predict(X), before)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_weights_load_into_torch_by_name_and_give_the_same_predictions(cell, rng, torch):
    """The default network (bidirectional, max pooling) fitted on unscaled data: its
    weights_ load into a bidirectional torch module by name, and max-pooling its
    outputs through the head gives predict's values on the raw data."""
    X = 5.0 + 10.0 * rng.normal(size=(20, 6, 3))
    Y = 100.0 + 30.0 * rng.normal(size=(20, 2))
    reg = fit_quietly(RNNRegressor(hidden_layer_sizes=(5, 5), cell=cell, max_iter=2,
                                   random_state=0), X, Y)
    assert reg.bidirectional and reg.pooling == "max"
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        3, 5, num_layers=2, batch_first=True, bidirectional=True).double()
    state = {name: torch.from_numpy(np.array(w)) for name, w in reg.weights_.items()
             if not name.startswith(("out_", "skip_"))}
    module.load_state_dict(state)  # strict: every name and shape must match
    with torch.no_grad():
        out, _ = module(torch.from_numpy(X))
    pooled = out.numpy().max(axis=1)
    # the head, and the linear skip on the last steps (here all six, oldest first)
    assert reg.weights_["skip_weight"].shape == (2, 6 * 3)
    expected = (pooled @ reg.weights_["out_weight"].T + reg.weights_["out_bias"]
                + X.reshape(20, -1) @ reg.weights_["skip_weight"].T)
    assert reg.n_outputs_ == 2
    assert_allclose(reg.predict(X), expected, rtol=1e-10, atol=1e-9)


# --------------------------------------------------------------------------------------
# Fitted attributes


def _weight_names(n_layers, bidirectional=True, skip=False):
    names = []
    for k in range(n_layers):
        for suffix in ("", "_reverse") if bidirectional else ("",):
            names += [f"weight_ih_l{k}{suffix}", f"weight_hh_l{k}{suffix}",
                      f"bias_ih_l{k}{suffix}", f"bias_hh_l{k}{suffix}"]
    return names + ["out_weight", "out_bias"] + (["skip_weight"] if skip else [])


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", STOCHASTIC)
def test_stochastic_fitted_attributes(Est, solver, rng):
    X, y = _small_task(Est, rng, n=50, T=4, F=3)
    est = fit_quietly(Est(hidden_layer_sizes=(5, 3), cell="lstm", solver=solver,
                          max_iter=7, batch_size=16, random_state=0), X, y)
    assert est.n_iter_ == 7
    assert len(est.loss_curve_) == 7
    assert est.loss_ == est.loss_curve_[-1]
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.t_ == 7 * 50
    assert est.validation_scores_ is None
    assert est.best_validation_score_ is None
    assert est.n_layers_ == 4
    assert est.n_outputs_ == 1
    assert est.n_features_in_ == 3
    assert est.out_activation_ == ("logistic" if Est is RNNClassifier else "identity")
    # the linear skip: the regressor's default, not the classifier's
    assert list(est.weights_) == _weight_names(2, skip=Est is RNNRegressor)
    shapes = {name: w.shape for name, w in est.weights_.items()}
    if Est is RNNRegressor:
        assert shapes["skip_weight"] == (1, 4 * 3)  # every step of every feature
    # the classifier reads each feature's shape, level and scale (sequence_norm)
    assert shapes["weight_ih_l0"] == (4 * 5, 9 if Est is RNNClassifier else 3)
    assert shapes["weight_hh_l0"] == (4 * 5, 5)
    assert shapes["bias_ih_l0"] == shapes["bias_hh_l0"] == (4 * 5,)
    # bidirectional (the default): the next layer and the head read both directions
    assert shapes["weight_ih_l0_reverse"] == shapes["weight_ih_l0"]
    assert shapes["weight_ih_l1"] == shapes["weight_ih_l1_reverse"] == (4 * 3, 2 * 5)
    assert shapes["weight_hh_l1"] == (4 * 3, 3)
    assert shapes["out_weight"] == (1, 2 * 3)
    assert shapes["out_bias"] == (1,)


@pytest.mark.parametrize(
    "Est, y_kind, out_activation, n_outputs",
    [
        (RNNRegressor, "continuous", "identity", 1),
        (RNNRegressor, "multi-output", "identity", 2),
        (RNNRegressor, "poisson", "exp", 1),
        (RNNClassifier, "binary", "logistic", 1),
        (RNNClassifier, "multiclass", "softmax", 3),
        (RNNClassifier, "multilabel", "logistic", 3),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
@ignore_convergence
def test_lbfgs_loss_is_the_regularised_mean_loss(Est, y_kind, out_activation,
                                                 n_outputs, weighted, rng):
    """loss_ is MLP's: the mean per-sample loss plus alpha / 2 * ||W||^2 over the
    weight matrices (not the biases), both divided by the (weighted) sample count."""
    n = 40
    X = rng.normal(size=(n, 4, 2))
    z = X[:, 0, 0]
    y = {
        "continuous": z,
        "multi-output": np.c_[z, X[:, -1, 1]],
        "poisson": rng.poisson(np.exp(z)).astype(float),
        "binary": (z > 0).astype(int),
        "multiclass": np.digitize(z, [-0.4, 0.4]),
        "multilabel": np.c_[z > 0, X[:, -1, 1] > 0, X[:, 1, 0] > 0].astype(int),
    }[y_kind]
    sw = rng.uniform(0.5, 2.0, size=n) if weighted else np.ones(n)
    alpha = 0.05
    extra = {"loss": "poisson"} if y_kind == "poisson" else {}
    est = Est(hidden_layer_sizes=(3,), solver="lbfgs", alpha=alpha, max_iter=15,
              random_state=0, **extra)
    est.fit(X, y, sample_weight=sw if weighted else None)
    assert est.out_activation_ == out_activation
    assert est.n_outputs_ == n_outputs
    # the solvers train the model of standardised inputs and targets: loss_ is its
    # loss (for regression, on the standardised targets) plus its penalty
    if y_kind in ("continuous", "multi-output"):
        errors = (est.predict(X).reshape(n, -1) - y.reshape(n, -1)) / est._y_scale
        per_sample = 0.5 * np.mean(errors ** 2, axis=1)
    elif y_kind == "poisson":
        # half the Poisson deviance, as MLP, of the targets divided by their mean
        mu, yc = est.predict(X) / est._y_scale[0], y / est._y_scale[0]
        per_sample = xlogy(yc, yc / mu) - yc + mu
    elif y_kind == "multilabel":
        P = est.predict_proba(X)
        per_sample = -(y * np.log(P) + (1 - y) * np.log(1 - P)).sum(axis=1)
    else:
        P = est.predict_proba(X)
        per_sample = -np.log(P[np.arange(n), np.searchsorted(est.classes_, y)])
    # the linear skip (the regressor's default) has its own penalty
    # the linear skip (the regressor's default) has its own penalty
    penalty = sum((est._skip_alpha if name == "skip_weight" else alpha)
                  * float(np.sum(w**2)) for name, w in
                  est._scaled(est.weights_, inverse=True).items() if "weight" in name)
    assert (est._skip_alpha is not None) == (Est is RNNRegressor)
    expected = (np.sum(sw * per_sample) + 0.5 * penalty) / np.sum(sw)
    assert est.loss_ == pytest.approx(expected, rel=1e-9)
    assert 1 <= est.n_iter_ <= 15


@ignore_convergence
def test_n_features_in_counts_columns_for_2d_and_features_for_3d(rng):
    X3 = rng.normal(size=(30, 6, 2))
    y = X3[:, 0, 0]
    reg = RNNRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X3, y)
    assert reg.n_features_in_ == 2
    assert reg.predict(X3[:, :4]).shape == (30,)  # the length may change
    with pytest.raises(ValueError, match="X has 3 features, but RNNRegressor is "
                                         "expecting 2 features as input"):
        reg.predict(rng.normal(size=(5, 6, 3)))
    X2 = X3[:, :, 0]  # univariate sequences, one column per timestep
    reg.fit(X2, y)
    assert reg.n_features_in_ == 6
    with pytest.raises(ValueError, match="expecting 6 features"):
        reg.predict(X2[:, :4])


# --------------------------------------------------------------------------------------
# Classifier and regressor outputs


@ignore_convergence
def test_binary_classifier_with_string_labels(rng):
    X, X_test = memory_X(rng, n=200, T=6), memory_X(rng, n=100, T=6)
    names = np.array(["no", "yes"])
    y, y_test = names[memory_target(RNNClassifier, X)], names[
        memory_target(RNNClassifier, X_test)]
    clf = RNNClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=100,
                        random_state=0).fit(X, y)
    assert_array_equal(clf.classes_, names)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (100, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba > 0) & (proba < 1))
    assert_array_equal(clf.predict(X_test), names[proba.argmax(axis=1)])
    # log-softmax of the raw output, so equal to log(proba) up to rounding
    assert_allclose(clf.predict_log_proba(X_test), np.log(proba), rtol=1e-12, atol=1e-12)
    assert accuracy_score(y_test, clf.predict(X_test)) > 0.9


@ignore_convergence
def test_multiclass_classifier(rng):
    X, X_test = memory_X(rng, n=300, T=6), memory_X(rng, n=150, T=6)

    def label(X):
        return np.digitize(X[:, 0, 0], [-1 / 3, 1 / 3]) * 10  # 0, 10, 20

    clf = RNNClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=150,
                        random_state=0).fit(X, label(X))
    assert_array_equal(clf.classes_, [0, 10, 20])
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    proba = clf.predict_proba(X_test)
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    # log-softmax of the raw output, so equal to log(proba) up to rounding
    assert_allclose(clf.predict_log_proba(X_test), np.log(proba), rtol=1e-12, atol=1e-12)
    assert clf.score(X_test, label(X_test)) > 0.85


@ignore_convergence
def test_multilabel_classifier(rng):
    X, X_test = memory_X(rng, n=300, T=6, F=2), memory_X(rng, n=150, T=6, F=2)

    def labels(X):  # an early and a late step, two features
        return np.c_[X[:, 0, 0] > 0, X[:, -1, 1] > 0, X[:, 1, 1] > 0].astype(int)

    clf = RNNClassifier(hidden_layer_sizes=(8,), solver="adam", learning_rate_init=0.03,
                        max_iter=80, random_state=0).fit(X, labels(X))
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    proba = clf.predict_proba(X_test)
    assert proba.shape == (150, 3)
    pred = clf.predict(X_test)
    assert pred.shape == (150, 3)
    assert_array_equal(pred, (proba > 0.5).astype(int))
    per_label = (pred == labels(X_test)).mean(axis=0)
    assert np.all(per_label > 0.85), per_label


@ignore_convergence
def test_multi_output_regression(rng):
    X, X_test = memory_X(rng, n=200, T=6, F=2), memory_X(rng, n=100, T=6, F=2)

    def target(X):
        return np.c_[X[:, 0, 0], X[:, -1, 1] - X[:, 1, 0]]

    reg = RNNRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=150,
                       random_state=0).fit(X, target(X))
    assert reg.n_outputs_ == 2
    pred = reg.predict(X_test)
    assert pred.shape == (100, 2)
    assert np.all(r2_score(target(X_test), pred, multioutput="raw_values") > 0.9)


@ignore_convergence
def test_poisson_regression_learns_counts(rng):
    X, X_test = memory_X(rng, n=300, T=6), memory_X(rng, n=200, T=6)
    y = rng.poisson(np.exp(1 + X[:, 0, 0]))
    y_test = rng.poisson(np.exp(1 + X_test[:, 0, 0]))
    reg = RNNRegressor(loss="poisson", hidden_layer_sizes=(6,), solver="lbfgs",
                       max_iter=100, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    mu = reg.predict(X_test)
    assert np.all(mu > 0)
    constant = np.full(len(y_test), y.mean())
    # the true means explain about half of the deviance of the constant model
    assert (mean_poisson_deviance(y_test, mu)
            < 0.75 * mean_poisson_deviance(y_test, constant))


# --------------------------------------------------------------------------------------
# Warnings and progress messages


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning_when_max_iter_is_reached(Est, solver, rng):
    X, y = _small_task(Est, rng)
    match = (r"lbfgs failed to converge after 3 iteration" if solver == "lbfgs"
             else r"Maximum iterations \(3\) reached")
    est = Est(hidden_layer_sizes=(4,), solver=solver, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match=match):
        est.fit(X, y)
    assert est.n_iter_ == 3


def test_lbfgs_max_fun_stops_early(rng, monkeypatch):
    import skrnn._base

    calls = []
    original = skrnn._base.loss_and_grad

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(skrnn._base, "loss_and_grad", counting)
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=1000,
                       max_fun=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="(?is)failed to converge.*evaluations"):
        reg.fit(X, y)
    assert reg.n_iter_ <= 5
    # scipy checks maxfun between iterations; the objective is not run much beyond
    assert len(calls) <= 5 + 25


@pytest.mark.parametrize("solver", SOLVERS)
def test_verbose_prints_the_loss_of_each_iteration(solver, rng, capsys):
    X, y = _small_task(RNNRegressor, rng)
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=4,
                       verbose=True, random_state=0)
    fit_quietly(reg, X, y)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("Iteration")]
    assert len(lines) == reg.n_iter_ == 4
    parsed = [re.fullmatch(r"Iteration (\d+), loss = (\d+\.\d{8})", line)
              for line in lines]
    assert all(parsed), lines
    assert [int(m.group(1)) for m in parsed] == [1, 2, 3, 4]
    losses = [float(m.group(2)) for m in parsed]
    if solver == "lbfgs":
        assert losses[-1] == pytest.approx(reg.loss_, abs=1e-8)
        assert all(b <= a for a, b in zip(losses, losses[1:]))  # monotone
    else:
        assert_allclose(losses, reg.loss_curve_, atol=1e-8)
    fit_quietly(reg.set_params(verbose=False), X, y)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------------------
# One SGD step, clip_norm


def _gradient_at(est, X, y, spec):
    Xs, ys = standardised(est, X, y)
    Xt, lengths = time_major(Xs.astype(np.asarray(X).dtype))
    return loss_and_grad(trained_theta(est), Xt, lengths, ys.astype(Xt.dtype), spec,
                         alpha=est.alpha, skip_alpha=est._skip_alpha)[1]


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling"])
def test_one_sgd_step_is_minus_learning_rate_times_the_gradient(learning_rate, rng):
    X = rng.normal(size=(30, 5, 2))
    y = X[:, 0, 0]
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                       learning_rate=learning_rate, learning_rate_init=0.1,
                       power_t=0.5, alpha=1e-3, random_state=0)
    reg.partial_fit(X, y)  # one full-batch step; 30 samples seen
    before = trained_theta(reg)
    grad = _gradient_at(reg, X, y, reg._spec)
    reg.partial_fit(X, y)
    lr = 0.1 if learning_rate == "constant" else 0.1 / (30 + 1) ** 0.5
    assert_allclose(trained_theta(reg), before - lr * grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("float_dtype", [np.float64, np.float32])
def test_clip_norm_limits_the_update(float_dtype, rng):
    X = rng.normal(size=(30, 5, 2)).astype(float_dtype)
    y = X[:, 0, 0] * 10
    lr, clip = 0.1, 0.01
    reg = RNNRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                       learning_rate_init=lr, clip_norm=clip, random_state=0)
    reg.partial_fit(X, y)
    before = trained_theta(reg).astype(np.float64)
    grad = _gradient_at(reg, X, y, reg._spec).astype(np.float64)
    norm = np.linalg.norm(grad)
    assert norm > 10 * clip  # so the clip is active
    reg.partial_fit(X, y)
    step = trained_theta(reg).astype(np.float64) - before
    # float32 weights of size ~1 round to ~1e-7
    rtol, atol = (1e-3, 5e-7) if float_dtype is np.float32 else (1e-8, 1e-14)
    assert np.linalg.norm(step) <= lr * clip * (1 + rtol)
    assert_allclose(step, -lr * clip * grad / norm, rtol=rtol, atol=atol)
    # a clip above the gradient norm changes nothing
    big = RNNRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                       learning_rate_init=lr, clip_norm=10 * norm, random_state=0)
    free = RNNRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0,
                        learning_rate_init=lr, random_state=0)
    for est in (big, free):
        est.partial_fit(X, y)
        est.partial_fit(X, y)
    assert_same_weights(big, free)


# --------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_input_stays_float32(Est, solver, rng):
    X, y = _small_task(Est, rng)
    X32 = X.astype(np.float32)
    y_fit = y.astype(np.float32) if Est is RNNRegressor else y
    est = fit_quietly(Est(hidden_layer_sizes=(4,), solver=solver, max_iter=5,
                          random_state=0), X32, y_fit)
    if solver != "lbfgs":  # scipy's L-BFGS works in float64
        assert {w.dtype for w in est.weights_.values()} == {np.dtype(np.float32)}
    assert np.isfinite(est.loss_)
    assert outputs(est, X32).dtype == np.float32
    assert outputs(est, X).dtype == np.float64
    if Est is RNNClassifier:
        assert est.predict_log_proba(X32).dtype == np.float32
    # float32 work agrees with float64 work on the same weights
    assert_allclose(outputs(est, X32), outputs(est, X), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------
# scikit-learn tools


@ignore_convergence
def test_pipeline_with_a_scaler_on_univariate_sequences(rng):
    X = 5 + 3 * rng.uniform(-1, 1, size=(200, 6))  # 2-D: one column per timestep
    y = X[:, 0] - 5
    pipe = make_pipeline(StandardScaler(), RNNRegressor(hidden_layer_sizes=(8,),
                                                        solver="lbfgs", max_iter=100,
                                                        random_state=0))
    pipe.fit(X, y)
    assert pipe[-1].n_features_in_ == 6
    X_test = 5 + 3 * rng.uniform(-1, 1, size=(100, 6))
    assert pipe.score(X_test, X_test[:, 0] - 5) > 0.9


@ignore_convergence
def test_grid_search_cv(rng):
    X = rng.uniform(-1, 1, size=(120, 5))
    y = (X[:, 0] > 0).astype(int)
    search = GridSearchCV(
        RNNClassifier(solver="lbfgs", max_iter=40, random_state=0),
        {"hidden_layer_sizes": [(2,), (6,)], "cell": ["rnn", "gru"]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert isinstance(best, RNNClassifier)
    assert best.get_params()["cell"] == search.best_params_["cell"]
    assert search.best_score_ > 0.8
    assert search.predict(X).shape == (120,)


@ignore_convergence
def test_cross_val_score(rng):
    X = rng.uniform(-1, 1, size=(150, 6, 1))
    y = X[:, 0, 0]
    scores = cross_val_score(RNNRegressor(hidden_layer_sizes=(6,), solver="lbfgs",
                                          max_iter=80, random_state=0), X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores > 0.8), scores


@ignore_convergence
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_seed_ensemble_with_sklearns_voting_estimators(Est, rng):
    """The seed ensemble the accuracy page recommends: scikit-learn's soft
    VotingClassifier / VotingRegressor over RNNs of different random_state, on ragged
    sequences given as a list; its output is the mean of its members' outputs, each
    member as fitted alone."""
    lengths = rng.randint(3, 9, size=60)
    X = [rng.normal(size=(length, 2)) for length in lengths]
    signal = np.array([x[:, 0].sum() for x in X])
    y = (signal > 0).astype(int) if Est is RNNClassifier else signal
    params = dict(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    members = [(f"rnn{i}", Est(**{**params, "random_state": i})) for i in range(3)]
    if Est is RNNClassifier:
        ensemble, method = VotingClassifier(members, voting="soft"), "predict_proba"
    else:
        ensemble, method = VotingRegressor(members), "predict"
    ensemble.fit(X, y)
    outputs = [getattr(Est(**{**params, "random_state": i}).fit(X, y), method)(X)
               for i in range(3)]
    assert_allclose(getattr(ensemble, method)(X), np.mean(outputs, axis=0), rtol=1e-12)
    assert not np.allclose(outputs[0], outputs[1])  # the seeds give different members
    assert ensemble.score(X, y) > 0.8


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_clone_gives_an_unfitted_copy_with_the_same_parameters(Est, rng):
    X, y = _small_task(Est, rng)
    est = fit_quietly(Est(hidden_layer_sizes=(3, 2), cell="lstm", alpha=0.1,
                          max_iter=2, clip_norm=1.0, random_state=0), X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "weights_")
    with pytest.raises(NotFittedError):
        copy.predict(X)
    fit_quietly(copy, X, y)
    assert_same_weights(copy, est)


@ignore_convergence
def test_the_regressors_default_penalty_still_learns_what_is_not_linear():
    """``alpha=1.0`` (the regressor's default) tames small data without silencing the
    network: the sum of two marked numbers (the adding problem) is no linear function
    of the window, and the defaults learn it far past the ridge regression on it."""
    from sklearn.linear_model import RidgeCV

    def adding(n, T, rng):
        values = rng.uniform(size=(n, T))
        marks = np.zeros((n, T))
        first = rng.randint(0, T // 2, size=n)
        second = rng.randint(T // 2, T, size=n)
        marks[np.arange(n), first] = marks[np.arange(n), second] = 1.0
        return np.stack([values, marks], axis=2), (values * marks).sum(axis=1)

    rng = np.random.RandomState(0)
    X, y = adding(300, 10, rng)
    X_test, y_test = adding(300, 10, rng)
    reg = RNNRegressor(random_state=0).fit(X, y)
    assert reg.alpha == 1.0
    ridge = RidgeCV().fit(X.reshape(len(X), -1), y).score(X_test.reshape(300, -1), y_test)
    assert reg.score(X_test, y_test) > max(0.8, ridge + 0.2)
