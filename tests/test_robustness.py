"""Robust under stress: numerics at extreme scales, exploding gradients, interrupted
fits, concurrent predictions, persistence and property-based fuzzing of fit/predict.

The fuzz tests run a bounded number of examples by default (``FUZZ_EXAMPLES`` below,
30). Run them longer with::

    SKRNN_FUZZ_EXAMPLES=2000 python -m pytest tests/test_robustness.py -k fuzz

Each bug the fuzzing found has a regression test here, with its minimal reproducer.
``KNOWN_BUGS`` lists any that are still open: the fuzz tests tolerate exactly those so
that they keep looking for new ones (it is empty now); ``SKRNN_FUZZ_STRICT=1`` makes
them fail on the known ones too.
"""

import os
import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import threadpoolctl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import xlogy
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss, HalfPoissonLoss
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from threadpoolctl import threadpool_info

import skrnn
import skrnn._base as skrnn_base
from skrnn import RNNClassifier, RNNRegressor
from skrnn._losses import OUT_ACTIVATIONS, loss_and_delta
from skrnn._network import loss_and_grad as network_loss_and_grad
from skrnn._network import pack
from skrnn._parallel import PARALLEL_MIN_FLOPS, SingleThreadedBLAS, blas_cores, plan_threads
from skrnn._sequences import standardize, to_time_major

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CELLS = [("gru", "tanh"), ("lstm", "tanh"), ("rnn", "tanh"), ("rnn", "logistic"),
         ("rnn", "relu"), ("rnn", "identity")]
CELL_IDS = [c if c != "rnn" else f"rnn-{a}" for c, a in CELLS]
UNBOUNDED = {("rnn", "relu"), ("rnn", "identity")}  # Elman cells whose state can grow
SOLVERS = ["adam", "sgd", "lbfgs"]


def tiny(Est, **kwargs):
    params = dict(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    params.update(kwargs)
    return Est(**params)


def data(n=30, T=5, F=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, F))
    return X, X[:, 0, 0] - X[:, -1, -1]


def all_finite(weights):
    return all(np.all(np.isfinite(w)) for w in weights.values())


def blas_threads():
    return sorted((d["filepath"], d["num_threads"]) for d in threadpool_info()
                  if d["user_api"] == "blas")


# ======================================================================================
# Numerics: stable losses and output activations


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3, 1e6, 1e30, 1e300])
def test_log_losses_and_poisson_are_finite_and_exact_for_extreme_logits(scale):
    """The losses equal scikit-learn's reference implementations (which are stable)
    and their gradients are finite, however large the logits."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(12, 3)) * scale
    onehot = np.eye(3)[rng.randint(3, size=12)]
    binary = (rng.uniform(size=(12, 1)) < 0.5).astype(float)

    loss, delta = loss_and_delta(z, onehot, "softmax")
    ref = HalfMultinomialLoss(n_classes=3).loss(onehot.argmax(1).astype(float),
                                                np.ascontiguousarray(z))
    assert np.isfinite(loss) and np.all(np.isfinite(delta))
    assert_allclose(loss, ref.sum(), rtol=1e-12)

    loss, delta = loss_and_delta(z[:, :1], binary, "logistic")
    ref = HalfBinomialLoss().loss(binary.ravel(), np.ascontiguousarray(z[:, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(delta))
    assert_allclose(loss, ref.sum(), rtol=1e-12)

    for name in ("logistic", "softmax"):
        p = OUT_ACTIVATIONS[name](z.copy())
        assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert_allclose(OUT_ACTIVATIONS["softmax"](z.copy()).sum(axis=1), 1.0)

    # Poisson: exp(z) overflows for z > 709 whatever the form, so only z <= 0 here
    counts = rng.poisson(3.0, size=(12, 1)).astype(float)
    zneg = -np.abs(z[:, :1])
    loss, delta = loss_and_delta(zneg, counts, "exp")
    # HalfPoissonLoss is exp(z) - y z; the deviance adds the constant y log y - y
    ref = HalfPoissonLoss().loss(counts.ravel(), np.ascontiguousarray(zneg[:, 0]))
    const = np.sum(xlogy(counts, counts) - counts)
    assert np.isfinite(loss) and np.all(np.isfinite(delta))
    assert_allclose(loss, ref.sum() + const, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_gradients_stay_finite_in_float32_and_float64(dtype):
    z = np.array([[1e30, -1e30, 0.0], [-1e30, 1e30, 5.0]], dtype=dtype)
    y = np.array([[0, 1, 0], [1, 0, 0]], dtype=dtype)
    for out, zz, yy in [("softmax", z, y), ("logistic", z[:, :1], y[:, :1])]:
        loss, delta = loss_and_delta(zz, yy, out)
        assert np.isfinite(loss)
        assert delta.dtype == dtype and np.all(np.isfinite(delta))


# ======================================================================================
# Numerics: large inputs


# overflow inside the work is the fit's to detect and report: no stray NumPy warning
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("cell", "activation"), CELLS, ids=CELL_IDS)
def test_features_scaled_by_1e6_fit_and_predict_finite(cell, activation, solver):
    X, y = data()
    Xb = X * 1e6
    kw = dict(cell=cell, activation=activation, solver=solver)

    reg = tiny(RNNRegressor, **kw).fit(Xb, y)
    assert all_finite(reg.weights_) and np.isfinite(reg.loss_)
    assert np.all(np.isfinite(reg.predict(Xb)))

    for labels in (y > 0, np.digitize(y, [-0.5, 0.5])):  # binary, then 3 classes
        clf = tiny(RNNClassifier, **kw).fit(Xb, labels)
        assert all_finite(clf.weights_) and np.isfinite(clf.loss_)
        proba = clf.predict_proba(Xb)
        assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
        assert_allclose(proba.sum(axis=1), 1.0)
        assert np.all(np.isfinite(clf.predict_log_proba(Xb)))

    # the inputs are standardised inside: even the exp of an unbounded state fits
    poisson = tiny(RNNRegressor, loss="poisson", **kw).fit(Xb, np.abs(y))
    assert all_finite(poisson.weights_)
    assert np.all(np.isfinite(poisson.predict(Xb)))


@pytest.mark.parametrize(("cell", "activation"), CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("scale", [1e6, 1e30])
def test_predictions_on_inputs_scaled_by_1e6_and_1e30_are_finite(cell, activation,
                                                                  scale):
    X, y = data()
    kw = dict(cell=cell, activation=activation)
    reg = tiny(RNNRegressor, **kw).fit(X, y)
    clf = tiny(RNNClassifier, **kw).fit(X, np.digitize(y, [-0.5, 0.5]))
    for dtype in (np.float64, np.float32):
        Xh = (X * scale).astype(dtype)
        pred = reg.predict(Xh)
        assert pred.dtype == dtype and np.all(np.isfinite(pred))
        assert np.all(np.isfinite(clf.predict_proba(Xh)))
        assert np.all(np.isfinite(clf.predict_log_proba(Xh)))


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_float32_predict_with_weights_beyond_float32_range(cell):
    X, y = data()
    reg = tiny(RNNRegressor, cell=cell).fit(X, y)
    # saturating recurrent weights, as sgd on targets of 1e30 produces; weights_ is
    # documented as editable in place
    reg.weights_["weight_hh_l0"][...] *= 1e39
    assert np.all(np.isfinite(reg.predict(X)))
    # the weights (float64) do not fit in float32, yet a float32 predict works
    with np.errstate(all="ignore"):
        pred = reg.predict(X.astype(np.float32))
    assert pred.dtype == np.float32
    assert np.all(np.isfinite(pred)), pred


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_poisson_predictions_on_1e6_scaled_inputs_are_finite(activation):
    X, y = data()
    reg = tiny(RNNRegressor, loss="poisson", cell="rnn", activation=activation)
    reg.fit(X, np.abs(y))
    assert np.all(np.isfinite(reg.predict(X * 1e6)))


# ======================================================================================
# Numerics: exploding gradients


def unscaled_data(n=40, T=6, F=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, F)) * 100 + 50
    return X, 3 * X[:, 0, 0] + X[:, -1, 1]


def _fit_recording(est, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [w for w in record if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("clip_norm", [None, 1.0])
@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
@pytest.mark.parametrize(("cell", "activation"), CELLS, ids=CELL_IDS)
def test_sgd_with_a_huge_learning_rate_never_leaves_nan_weights(cell, activation, Est,
                                                                 clip_norm):
    X, y = unscaled_data()
    if Est is RNNClassifier:
        y = y > np.median(y)
    est = Est(hidden_layer_sizes=(5,), cell=cell, activation=activation, solver="sgd",
              learning_rate_init=10.0, max_iter=20, random_state=0, clip_norm=clip_norm)
    convergence_warnings = _fit_recording(est, X, y)
    assert all_finite(est.weights_)
    pred = est.predict(X) if Est is RNNRegressor else est.predict_proba(X)
    assert np.all(np.isfinite(pred))
    assert est.n_iter_ == len(est.loss_curve_) and np.all(np.isfinite(est.loss_curve_))
    assert np.isfinite(est.loss_)
    # it warns that it ran out of iterations exactly when it ran them all (it may also
    # stop earlier: silently for want of improvement, or saying it diverged)
    ran_out = [w for w in convergence_warnings
               if "Maximum iterations (20) reached" in str(w.message)]
    assert len(ran_out) == (est.n_iter_ == est.max_iter), est.n_iter_
    diverged = [w for w in convergence_warnings if "Training diverged" in str(w.message)]
    if clip_norm is not None:
        assert not diverged, "clip_norm is set, yet training diverged"
    for w in diverged:
        assert "clip_norm" in str(w.message)


def test_an_exploding_elman_net_is_reported_and_keeps_finite_weights():
    """Identity activation and lr=10 on data of scale 100: the state and the gradient
    grow geometrically, so the loss overflows within a few epochs."""
    X, y = unscaled_data()
    reg = RNNRegressor(hidden_layer_sizes=(5,), cell="rnn", activation="identity",
                       solver="sgd", learning_rate_init=10.0, max_iter=20, random_state=0)
    record = _fit_recording(reg, X, y)
    messages = [str(w.message) for w in record]
    assert any("Training diverged" in m and "clip_norm" in m for m in messages), messages
    assert all_finite(reg.weights_)
    assert reg.n_iter_ == len(reg.loss_curve_) < reg.max_iter
    assert np.all(np.isfinite(reg.loss_curve_)) and np.isfinite(reg.loss_)
    # the weights kept give a finite loss on the training data, in the standardised
    # problem the solver trains and rolls back in (the raw-data model of such weights,
    # about 1e23, can square its finite predictions past the largest float)
    seq = standardize(to_time_major(X), reg._x_shift, reg._x_scale)
    theta = pack(reg._scaled(reg.weights_, inverse=True), reg._spec)
    Y = ((y - reg._y_shift) / reg._y_scale).reshape(-1, 1)
    loss, grad = network_loss_and_grad(theta, seq.X, seq.lengths, Y, reg._spec, None,
                                       reg.alpha, skip_alpha=reg._skip_alpha)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.all(np.isfinite(reg.predict(X)))

    # with clip_norm the same configuration trains without diverging
    clipped = reg.set_params(clip_norm=1.0)
    record = _fit_recording(clipped, X, y)
    assert not any("diverged" in str(w.message) for w in record)
    assert all_finite(clipped.weights_)


def test_sgd_explosion_in_the_last_epoch_is_caught():
    """The last update of the last epoch leaves finite but huge weights, whose
    predictions overflow (a learning rate of 1e50): the end-of-fit check restores the
    weights before that update and says that training diverged in that epoch."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 3, 1))
    y = rng.normal(size=10)
    reg = RNNRegressor(hidden_layer_sizes=(3,), cell="rnn", activation="identity",
                       solver="sgd", learning_rate_init=1e50, max_iter=1, random_state=0)
    record = _fit_recording(reg, X, y)
    diverged = [str(w.message) for w in record if "Training diverged" in str(w.message)]
    assert len(diverged) == 1 and "Training diverged in epoch 1:" in diverged[0], diverged
    assert "clip_norm" in diverged[0]
    assert all_finite(reg.weights_)
    with np.errstate(over="ignore", invalid="ignore"):
        pred = reg.predict(X)
    assert np.all(np.isfinite(pred)), pred


@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
def test_lbfgs_on_exploding_data_keeps_finite_weights(Est):
    X, y = unscaled_data()
    if Est is RNNClassifier:
        y = y > np.median(y)
    est = Est(hidden_layer_sizes=(5,), cell="rnn", activation="identity",
              solver="lbfgs", max_iter=30, random_state=0)
    # the loss at the start is finite (data of scale 100, not 1e200): no refusal
    est.fit(X, y)
    assert all_finite(est.weights_) and np.isfinite(est.loss_)
    pred = est.predict(X) if Est is RNNRegressor else est.predict_proba(X)
    assert np.all(np.isfinite(pred))


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("solver", SOLVERS)
def test_loss_not_finite_at_the_start_raises_and_keeps_the_fitted_model(solver):
    X, y = data()
    reg = tiny(RNNRegressor, solver=solver, cell="rnn", activation="identity").fit(X, y)
    # weights whose outputs overflow, to go on training from
    reg.weights_["out_weight"][...] *= 1e300
    reg.set_params(warm_start=True)
    with np.errstate(over="ignore", invalid="ignore"):
        before = reg.predict(X)
    weights = {k: v.copy() for k, v in reg.weights_.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="training loss is (inf|nan) at the start"):
            reg.fit(X, y)
    assert_array_equal(reg.predict(X), before)
    for name, w in weights.items():
        assert_array_equal(reg.weights_[name], w)


# ======================================================================================
# KeyboardInterrupt


def assert_trained_theta(est, theta):
    """``weights_`` (the model of the raw data) are the model of standardised data that
    the solvers saw as ``theta`` (up to the rounding of folding the scaling in and out)."""
    trained = pack(est._scaled(est.weights_, inverse=True), est._spec)
    assert_allclose(trained, theta, rtol=1e-11, atol=1e-13)


class InterruptOnCall:
    """Replaces ``skrnn._base.loss_and_grad``: records each call's parameters and loss
    and raises KeyboardInterrupt on the ``k``-th call (1-based)."""

    def __init__(self, k):
        self.k = k
        self.thetas = []
        self.losses = []
        self._real = skrnn_base.loss_and_grad

    def __call__(self, theta, *args, **kwargs):
        self.thetas.append(np.array(theta, copy=True))
        if len(self.thetas) == self.k:
            raise KeyboardInterrupt
        loss, grad = self._real(theta, *args, **kwargs)
        self.losses.append(loss)
        return loss, grad


def _fit_interrupted(est, X, y, monkeypatch, k, method="fit", **fit_kwargs):
    spy = InterruptOnCall(k)
    monkeypatch.setattr(skrnn_base, "loss_and_grad", spy)
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            getattr(est, method)(X, y, **fit_kwargs)
    except KeyboardInterrupt:  # never let it reach pytest, which would stop the run
        raise AssertionError(f"KeyboardInterrupt escaped {method}") from None
    finally:
        monkeypatch.undo()
    interrupted = [w for w in record if issubclass(w.category, ConvergenceWarning)
                   and "Training was interrupted (KeyboardInterrupt)" in str(w.message)]
    assert len(interrupted) == 1, [str(w.message) for w in record]
    return spy, str(interrupted[0].message)


@pytest.mark.parametrize("k", [1, 2, 7, 14])
@pytest.mark.parametrize("batch_size", ["auto", 8])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
def test_interrupted_stochastic_fit_keeps_the_best_epoch(Est, solver, batch_size, k,
                                                         monkeypatch):
    X, y = data()
    if Est is RNNClassifier:
        y = y > 0
    n_batches = 1 if batch_size == "auto" else int(np.ceil(len(X) / batch_size))
    est = tiny(Est, solver=solver, batch_size=batch_size, max_iter=100, tol=0)
    threads = blas_threads()
    spy, message = _fit_interrupted(est, X, y, monkeypatch, k)

    completed = (k - 1) // n_batches
    assert est.n_iter_ == len(est.loss_curve_) == completed
    assert f"after {completed} iteration(s)" in message
    assert "KeyboardInterrupt" in message
    if completed:
        curve = np.asarray(est.loss_curve_)
        best_epoch = len(curve) - np.argmin(curve[::-1])  # 1-based, the last minimum
        assert f"after epoch {best_epoch}" in message
        # the weights after that epoch are the parameters of the next epoch's 1st call
        expected = spy.thetas[best_epoch * n_batches]
        assert est.best_loss_ == curve.min()
    else:
        expected = spy.thetas[0]  # the weights this call started with
    assert_trained_theta(est, expected)
    out = est.predict(X) if Est is RNNRegressor else est.predict_proba(X)
    assert np.all(np.isfinite(out))
    assert blas_threads() == threads
    # the model is usable: training goes on
    est.partial_fit(X, y)
    assert est.n_iter_ == completed + 1 == len(est.loss_curve_)


def test_interrupted_fit_with_early_stopping_keeps_the_best_validation_epoch(monkeypatch):
    X, y = data(n=60)
    est = tiny(RNNClassifier, early_stopping=True, validation_fraction=0.25,
               max_iter=100, n_iter_no_change=100)
    spy, message = _fit_interrupted(est, X, y > 0, monkeypatch, 9)
    assert est.n_iter_ == len(est.loss_curve_) == len(est.validation_scores_) == 8
    assert "best weights seen so far" in message
    best_epoch = int(np.argmax(est.validation_scores_)) + 1  # the first maximum
    assert_trained_theta(est, spy.thetas[best_epoch])


def test_interrupted_partial_fit_keeps_the_model_it_had(monkeypatch):
    X, y = data()
    reg = tiny(RNNRegressor).fit(X, y)
    before = reg.predict(X)
    n_iter, curve = reg.n_iter_, list(reg.loss_curve_)
    _, message = _fit_interrupted(reg, X, y, monkeypatch, 1, method="partial_fit")
    assert reg.n_iter_ == n_iter and reg.loss_curve_ == curve
    assert_array_equal(reg.predict(X), before)
    assert "KeyboardInterrupt" in message


class CountingMinimize:
    """Wraps ``skrnn._base.minimize`` and counts the completed L-BFGS iterations."""

    def __init__(self):
        self.iterations = 0
        self._real = skrnn_base.minimize

    def __call__(self, fun, x0, *args, callback=None, **kwargs):
        def counting(intermediate_result):
            self.iterations += 1
            return callback(intermediate_result)

        return self._real(fun, x0, *args, callback=counting, **kwargs)


@pytest.mark.parametrize("k", [3, 6, 15])
@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
def test_interrupted_lbfgs_keeps_the_best_point_seen(Est, k, monkeypatch):
    """Call 1 is the check of the starting loss; L-BFGS's own calls follow."""
    X, y = data()
    if Est is RNNClassifier:
        y = y > 0
    est = tiny(Est, solver="lbfgs", max_iter=500, tol=0)
    counter = CountingMinimize()
    monkeypatch.setattr(skrnn_base, "minimize", counter)
    threads = blas_threads()
    spy, message = _fit_interrupted(est, X, y, monkeypatch, k)

    assert est.n_iter_ == counter.iterations < k
    assert f"after {est.n_iter_} iteration(s)" in message
    assert "best weights seen so far" in message
    losses = np.asarray(spy.losses)
    best = int(np.argmin(losses))  # strict improvements only: the first minimum
    assert est.loss_ == losses[best]
    assert_trained_theta(est, spy.thetas[best])
    out = est.predict(X) if Est is RNNRegressor else est.predict_proba(X)
    assert np.all(np.isfinite(out))
    assert blas_threads() == threads


def test_lbfgs_interrupted_on_its_first_evaluation_reports_a_finite_loss(monkeypatch):
    X, y = data()
    est = tiny(RNNRegressor, solver="lbfgs", max_iter=100)
    spy, _ = _fit_interrupted(est, X, y, monkeypatch, 2)
    assert_trained_theta(est, spy.thetas[0])
    assert est.loss_ == spy.losses[0]  # the loss of the weights it keeps


def test_lbfgs_interrupted_before_its_first_iteration_keeps_a_usable_model(monkeypatch):
    """A KeyboardInterrupt in the check of the starting loss, before training started,
    reaches the caller (there is nothing to keep), and the fitted model is left
    exactly as it was."""
    X, y = data()
    reg = tiny(RNNRegressor, solver="lbfgs", max_iter=20).fit(X, y)
    before, loss_before, n_iter_before = reg.predict(X), reg.loss_, reg.n_iter_
    weights = pack(reg.weights_, reg._spec)
    monkeypatch.setattr(skrnn_base, "loss_and_grad", InterruptOnCall(1))
    try:
        with pytest.raises(KeyboardInterrupt):
            reg.fit(X * 2, y)
    finally:
        monkeypatch.undo()
    assert_array_equal(pack(reg.weights_, reg._spec), weights)
    assert_array_equal(reg.predict(X), before)
    assert reg.loss_ == loss_before and reg.n_iter_ == n_iter_before


# ======================================================================================
# Concurrent predictions


def _fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def thread_models():
    X, y = data(n=20, T=4, F=2)
    small_reg = _fit_quiet(tiny(RNNRegressor), X, y)
    small_clf = _fit_quiet(tiny(RNNClassifier), X, np.digitize(y, [-0.5, 0.5]))
    # a per-step GEMM of 2 * n * G * H * H >= 2 * PARALLEL_MIN_FLOPS float64 FLOPs,
    # in float32 too: in the main thread, with two cores or more, the samples are
    # split across threads
    H, G = 64, 3
    n_large = int(np.ceil(2 * 2 * PARALLEL_MIN_FLOPS / (2 * G * H * H))) + 5
    XL, yL = data(n=n_large, T=2, F=1, seed=1)
    large_reg = _fit_quiet(RNNRegressor(hidden_layer_sizes=(H,), cell="gru", max_iter=1,
                                        random_state=0), XL, yL)
    return {"small-regressor": (small_reg, X), "small-classifier": (small_clf, X),
            "large-regressor": (large_reg, XL)}


# 8 threads x 50 calls; fewer for the large model: each of its predicts wakes the BLAS
# threads, which costs milliseconds on a busy machine
N_CALLS = {"small-regressor": 8 * 50, "small-classifier": 8 * 50, "large-regressor": 8 * 15}


def _calls(est, X, n_calls):
    methods = ["predict"] + (["predict_proba", "predict_log_proba"]
                             if hasattr(est, "classes_") else [])
    # float32 copies and other subsets too, so that the calls do different work; all
    # inputs keep the model on one side of PARALLEL_MIN_FLOPS (split or not)
    inputs = [X, X[::-1].copy(), X.astype(np.float32)]
    if not _split(est, X):
        inputs.append(X[: len(X) // 2])
    return [(getattr(est, methods[i % len(methods)]), inputs[i % len(inputs)])
            for i in range(n_calls)]


def _split(est, X):
    """Whether a main-thread predict on ``X`` splits the samples across threads."""
    return plan_threads(est._spec, len(X), blas_cores(), X.dtype.itemsize) > 1


def _assert_same_predictions(got, want):
    assert got.dtype == want.dtype
    if got.dtype.kind == "f":
        # the main thread may split the samples across threads and the workers do
        # not: the same arithmetic per sample, up to BLAS's blocking
        assert_allclose(got, want, rtol=1e-12 if got.dtype == np.float64 else 1e-6)
    else:
        assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["small-regressor", "small-classifier",
                                  "large-regressor"])
def test_concurrent_predictions_equal_serial_ones(thread_models, name):
    est, X = thread_models[name]
    if blas_cores() > 1:  # the configurations test both paths
        assert _split(est, X) == name.startswith("large")
    calls = _calls(est, X, N_CALLS[name])
    expected = [f(x) for f, x in calls]
    threads = blas_threads()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: c[0](c[1]), calls))
    for got, want in zip(results, expected):
        _assert_same_predictions(got, want)
    assert blas_threads() == threads
    assert SingleThreadedBLAS._users == 0


def test_concurrent_small_and_large_predictions_mixed(thread_models):
    """Small and large predicts run in worker threads at once, against serial ones
    from the main thread (which split the large ones across threads): results agree
    and the thread count comes back."""
    calls = []
    for name, (est, X) in thread_models.items():
        calls += _calls(est, X, N_CALLS[name] // 2)
    order = np.random.RandomState(0).permutation(len(calls))
    calls = [calls[i] for i in order]
    expected = [f(x) for f, x in calls]
    threads = blas_threads()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: c[0](c[1]), calls))
    for got, want in zip(results, expected):
        _assert_same_predictions(got, want)
    assert blas_threads() == threads
    assert SingleThreadedBLAS._users == 0


def test_blas_thread_count_is_restored_after_a_failed_predict(thread_models):
    est, X = thread_models["small-regressor"]
    threads = blas_threads()
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.predict(bad)
    assert blas_threads() == threads
    assert SingleThreadedBLAS._users == 0


@pytest.fixture
def multithreaded_blas():
    """The process's BLAS thread settings, with more than one thread: where BLAS runs
    on one (OMP_NUM_THREADS=1, one core), raised to 2 for the test, so that skrnn's
    limits always have something to limit and these tests always run."""
    threads = blas_threads()
    assert threads, "threadpoolctl finds no BLAS library"
    if all(n > 1 for _, n in threads):
        yield threads
        return
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        threads = blas_threads()
        assert all(n == 2 for _, n in threads), threads
        yield threads


def test_a_predict_in_a_worker_thread_leaves_the_blas_limits_alone(thread_models,
                                                                   multithreaded_blas,
                                                                   monkeypatch):
    # threadpoolctl lets only one thread control OpenBLAS and silently ignores the
    # others, so skrnn limits BLAS threads from the main thread only: a worker-thread
    # predict must see (and leave) the process's own settings
    threads = multithreaded_blas
    est, X = thread_models["small-regressor"]
    est.predict(X)  # the main thread sets (and so controls) the BLAS limits first
    seen = []
    real = skrnn_base.predict

    def spying(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(skrnn_base, "predict", spying)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(est.predict, X).result()
    assert seen == [threads]
    assert blas_threads() == threads


def test_blas_threads_restored_when_a_worker_thread_finishes_last(thread_models,
                                                                   multithreaded_blas,
                                                                   monkeypatch):
    threads = multithreaded_blas
    est, X = thread_models["small-regressor"]
    est.predict(X)  # the main thread sets (and so controls) the BLAS limits first
    real = skrnn_base.predict
    inside, go = threading.Event(), threading.Event()
    workers = []

    def orchestrated(*args, **kwargs):
        # main enters first; a worker enters while main is inside; main leaves first
        if threading.current_thread() is threading.main_thread():
            worker = threading.Thread(target=est.predict, args=(X,))
            worker.start()
            workers.append(worker)
            assert inside.wait(10)
        else:
            inside.set()
            assert go.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(skrnn_base, "predict", orchestrated)
    try:
        est.predict(X)
    finally:
        go.set()
        for worker in workers:
            worker.join()
        monkeypatch.undo()
    restored = blas_threads()
    if restored != threads:  # do not leave the rest of the session single-threaded
        threadpoolctl.threadpool_limits(limits=max(n for _, n in threads),
                                        user_api="blas")
    assert SingleThreadedBLAS._users == 0
    assert restored == threads


# ======================================================================================
# Persistence


@pytest.fixture(scope="module")
def fitted_models():
    X, y = data()
    models = {}
    for solver in SOLVERS:
        models[f"regressor-{solver}"] = _fit_quiet(tiny(RNNRegressor, solver=solver), X, y)
        labels = np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])]
        models[f"classifier-{solver}"] = _fit_quiet(tiny(RNNClassifier, solver=solver),
                                                    X, labels)
    return models, X, y


MODEL_NAMES = [f"{kind}-{solver}" for solver in SOLVERS
               for kind in ("regressor", "classifier")]


def _outputs(est, X):
    out = {"predict": est.predict(X)}
    if hasattr(est, "classes_"):
        out["predict_proba"] = est.predict_proba(X)
    return out


def _assert_same_model(loaded, est, X):
    assert type(loaded) is type(est)
    for method, values in _outputs(est, X).items():
        assert_array_equal(getattr(loaded, method)(X), values)
    assert loaded.get_params() == est.get_params()
    assert loaded.n_iter_ == est.n_iter_ and loaded.loss_ == est.loss_
    assert set(loaded.weights_) == set(est.weights_)
    for name, w in est.weights_.items():
        assert_array_equal(loaded.weights_[name], w)


def _labels_like(est, y):
    if hasattr(est, "classes_"):
        return np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])]
    return y


def _goes_on_training(loaded, X, y):
    """A loaded stochastic model partial_fits; an lbfgs one warm-starts."""
    def outputs():
        return loaded.predict_proba(X) if hasattr(loaded, "classes_") else loaded.predict(X)

    before = outputs()
    if loaded.solver == "lbfgs":
        _fit_quiet(loaded.set_params(warm_start=True, max_iter=2), X, _labels_like(loaded, y))
    else:
        loaded.partial_fit(X, _labels_like(loaded, y))
    after = outputs()
    assert np.all(np.isfinite(after))
    assert not np.array_equal(after, before)  # it did train


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pickle_round_trip(fitted_models, name):
    models, X, y = fitted_models
    est = models[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = pickle.loads(pickle.dumps(est))
    _assert_same_model(loaded, est, X)
    _goes_on_training(loaded, X, y)


@pytest.mark.parametrize("mmap_mode", [None, "r"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_joblib_round_trip(fitted_models, name, mmap_mode, tmp_path):
    models, X, y = fitted_models
    est = models[name]
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = joblib.load(path, mmap_mode=mmap_mode)
    if mmap_mode == "r":  # the weights really are read-only memory maps
        assert not any(w.flags.writeable for w in loaded.weights_.values())
    _assert_same_model(loaded, est, X)
    _goes_on_training(loaded, X, y)
    # the file on disk is untouched by the training of the loaded model
    _assert_same_model(joblib.load(path), est, X)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_skops_round_trip_trusts_only_skrnn_types(fitted_models, name):
    sio = pytest.importorskip("skops.io")
    models, X, y = fitted_models
    est = models[name]
    dumped = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=dumped)
    own = f"{type(est).__module__}.{type(est).__qualname__}"
    assert own in untrusted
    assert all(t.startswith("skrnn.") for t in untrusted), untrusted
    # exactly the estimator, its network spec and (sgd/adam) its optimizer
    assert len(untrusted) == (2 if est.solver == "lbfgs" else 3), untrusted
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = sio.loads(dumped, trusted=untrusted)
    _assert_same_model(loaded, est, X)
    _goes_on_training(loaded, X, y)


@pytest.mark.parametrize("loader", ["pickle", "joblib", "skops"])
def test_a_pickle_from_another_skrnn_version_warns(fitted_models, loader, monkeypatch,
                                                   tmp_path):
    models, X, _ = fitted_models
    est = models["classifier-adam"]
    monkeypatch.setattr(skrnn, "__version__", "0.0.1")
    if loader == "pickle":
        blob = pickle.dumps(est)
    elif loader == "joblib":
        joblib.dump(est, tmp_path / "m.joblib")
    else:
        sio = pytest.importorskip("skops.io")
        blob = sio.dumps(est)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as record:
        if loader == "pickle":
            loaded = pickle.loads(blob)
        elif loader == "joblib":
            loaded = joblib.load(tmp_path / "m.joblib")
        else:
            loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    (warning,) = [w.message for w in record
                  if isinstance(w.message, InconsistentVersionWarning)]
    assert warning.original_sklearn_version == "0.0.1"
    assert warning.current_sklearn_version == skrnn.__version__
    assert "skrnn" in warning.estimator_name
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_a_state_without_a_version_warns(fitted_models):
    models, _, _ = fitted_models
    est = models["regressor-adam"]
    state = {k: v for k, v in vars(est).items() if k != "_skrnn_version"}
    twin = RNNRegressor.__new__(RNNRegressor)
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        twin.__setstate__(state)


def test_pickling_does_not_modify_the_estimator():
    X, y = data()
    reg = _fit_quiet(tiny(RNNRegressor), X, y)
    before = set(vars(reg))
    pickle.dumps(reg)
    assert set(vars(reg)) == before


# ======================================================================================
# Property-based fuzzing of fit/predict

FUZZ_EXAMPLES = int(os.environ.get("SKRNN_FUZZ_EXAMPLES", "30"))
FUZZ_STRICT = os.environ.get("SKRNN_FUZZ_STRICT", "") not in ("", "0")
# the default (CI) run replays the same examples every time, so that CI is never
# flaky; a run with SKRNN_FUZZ_EXAMPLES set explores new random ones
settings.register_profile(
    "skrnn-fuzz", max_examples=FUZZ_EXAMPLES, deadline=None,
    derandomize="SKRNN_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile("skrnn-fuzz")

FLOAT_EXTREMES = [0.0, 1e-300, -1e-300, 1e6, -1e6, 1e30, -1e30, np.nan, np.inf, -np.inf]
INT_EXTREMES = [0, 1, -1, 10**6, -(10**6), 2**62, -(2**62)]
SCALES = [1.0, 1e-300, 1e6, 1e30]
DTYPES = ["float64", "float32", "int64"]
CORRUPTIONS = ["empty", "scalar", "3d", "jagged", "more-features", "strings"]
# messages of NumPy's own errors: a ValueError with one of these escaped from deep inside
NUMPY_INTERNALS = ("setting an array element with a sequence", "inhomogeneous",
                   "could not be broadcast", "zero-size array", "cannot reshape",
                   "index out of bounds")

# Known bugs the fuzz tolerates (each pinned by an xfail(strict=True) test above/below)
KNOWN_BUGS = {}  # all the bugs the fuzzing found are fixed; add new ones here


@st.composite
def sequences(draw, n, T, F, dtype, form, allow_corrupt):
    """``X`` in ``form`` ('2d', '3d', 'nested' lists or 'ragged' list) and what it holds."""
    rs = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from(SCALES))
    lengths = (draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
               if form == "ragged" else [T] * n)
    total = sum(lengths) * F
    pool = INT_EXTREMES if dtype == "int64" else FLOAT_EXTREMES
    inject = draw(st.lists(st.tuples(st.integers(0, total - 1), st.sampled_from(pool)),
                           max_size=3))
    flat = rs.standard_normal(total) * (min(scale, 1e6) if dtype == "int64" else scale)
    flat = np.round(flat).astype(np.int64) if dtype == "int64" else flat.astype(dtype)
    for i, v in inject:
        flat[i] = v
    info = {"nonfinite": not np.all(np.isfinite(flat.astype(np.float64))),
            "dtype": dtype, "corrupt": None}
    if form == "2d":
        return flat.reshape(n, T), info
    if form == "3d":
        return flat.reshape(n, T, F), info
    if form == "nested":
        info["dtype"] = "float64"  # Python floats
        return flat.reshape(n, T, F).tolist(), info
    seqs, start = [], 0
    one_d = F == 1 and draw(st.booleans())
    for L in lengths:
        s = flat[start:start + L * F].reshape(L, F)
        start += L * F
        seqs.append(s.ravel() if one_d else s)
    if draw(st.booleans()):  # one element as a Python list
        i = draw(st.integers(0, n - 1))
        seqs[i] = seqs[i].tolist()
        info["dtype"] = "float64"
    if allow_corrupt and n >= 2 and draw(st.integers(0, 5)) == 0:
        kind = draw(st.sampled_from(CORRUPTIONS))
        i = draw(st.integers(0, n - 1))
        seqs[i] = {"empty": np.empty((0, F)), "scalar": 3.0, "3d": np.ones((2, F, 2)),
                   "jagged": [[1.0] * F, [1.0] * (F + 1)],
                   "more-features": np.ones((2, F + 1)),
                   "strings": np.array([["a"] * F] * 2)}[kind]
        info["corrupt"] = kind
        info["any_array"] = any(isinstance(s, np.ndarray) for s in seqs)
    return seqs, info


@st.composite
def fuzz_cases(draw):
    form = draw(st.sampled_from(["2d", "3d", "nested", "ragged"]))
    n = draw(st.integers(1, 20))
    T = draw(st.integers(1, 6))
    F = 1 if form == "2d" else draw(st.integers(1, 3))
    X, xinfo = draw(sequences(n, T, F, draw(st.sampled_from(DTYPES)), form, True))
    kind = draw(st.sampled_from(["squared_error", "poisson", "classifier"]))
    rs = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    if kind == "classifier":
        y = rs.randint(0, draw(st.integers(1, 3)), size=n)
        if draw(st.booleans()):
            y = np.array(["a", "b", "c"])[y]
        y_finite, y_max = True, 1.0
    else:
        n_outputs = draw(st.sampled_from([0, 2]))  # 0: 1-D y
        y = rs.standard_normal((n, max(n_outputs, 1))) * draw(
            st.sampled_from([1.0, 1e6, 1e30]))
        for i, v in draw(st.lists(st.tuples(st.integers(0, y.size - 1),
                                            st.sampled_from(FLOAT_EXTREMES)),
                                  max_size=1)):
            y.flat[i] = v
        if kind == "poisson":
            y = np.abs(y)
        y = y[:, 0] if n_outputs == 0 else y
        y_finite, y_max = bool(np.all(np.isfinite(y))), float(np.max(np.abs(y)))
    T2 = T if form == "2d" and draw(st.booleans()) else draw(st.integers(1, 6))
    n2 = draw(st.integers(1, 20))
    X2, x2info = draw(sequences(n2, T2, F, draw(st.sampled_from(DTYPES)), form, False))
    return dict(form=form, T=T, X=X, xinfo=xinfo, kind=kind, y=y, y_finite=y_finite,
                y_max=y_max, T2=T2, n2=n2, X2=X2, x2info=x2info,
                solver=draw(st.sampled_from(SOLVERS)),
                cell=draw(st.sampled_from(["rnn", "lstm", "gru"])),
                activation=draw(st.sampled_from(["tanh", "relu", "logistic",
                                                 "identity"])))


def _known_bug(name):
    if FUZZ_STRICT:
        return False
    assert name in KNOWN_BUGS
    return True


def _check_error(exc, where, case):
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{where} raised {type(exc).__name__}: {exc}")
    message = str(exc)
    if any(p in message for p in NUMPY_INTERNALS):
        raise AssertionError(f"{where}: unhelpful error from inside NumPy: {message}")


def _run_fuzz_case(case):
    common = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0,
                  solver=case["solver"], cell=case["cell"],
                  activation=case["activation"])
    if case["kind"] == "classifier":
        est = RNNClassifier(**common)
    else:
        est = RNNRegressor(loss=case["kind"], **common)
    unbounded = case["cell"] == "rnn" and (case["cell"], case["activation"]) in UNBOUNDED
    xinfo, x2info = case["xinfo"], case["x2info"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            est.fit(case["X"], case["y"])
        except Exception as exc:  # noqa: BLE001 - every exception is checked
            _check_error(exc, "fit", case)
            # finite data with moderate targets and a bounded cell must fit
            must_fit = (xinfo["corrupt"] is None and not xinfo["nonfinite"]
                        and case["y_finite"] and case["y_max"] <= 1e6 and not unbounded)
            assert not must_fit, f"fit refused valid input: {exc!r}"
            return
        assert xinfo["corrupt"] is None, "fit accepted a malformed list of sequences"
        assert not xinfo["nonfinite"], "fit accepted NaN/inf in X"
        assert case["y_finite"], "fit accepted NaN/inf in y"
        assert all_finite(est.weights_), "fit left non-finite weights"

        is_clf = case["kind"] == "classifier"
        methods = ["predict"] + (["predict_proba", "predict_log_proba"] if is_clf else [])
        n2 = case["n2"]
        for method in methods:
            try:
                out = getattr(est, method)(case["X2"])
            except Exception as exc:  # noqa: BLE001
                _check_error(exc, method, case)
                assert x2info["nonfinite"] or (case["form"] == "2d"
                                               and case["T2"] != case["T"]), (
                    f"{method} refused valid input: {exc!r}")
                return
            assert not x2info["nonfinite"], f"{method} accepted NaN/inf in X"
            assert not (case["form"] == "2d" and case["T2"] != case["T"]), (
                f"{method} accepted 2-D X with another number of columns")
            if method == "predict" and is_clf:
                assert out.shape == (n2,) and set(np.unique(out)) <= set(est.classes_)
                continue
            if method == "predict":
                shape = (n2,) if est.n_outputs_ == 1 else (n2, est.n_outputs_)
                dtype = np.float32 if x2info["dtype"] == "float32" else np.float64
            else:
                shape, dtype = (n2, max(len(est.classes_), 2)), out.dtype
            assert out.shape == shape, f"{method}: shape {out.shape}, expected {shape}"
            assert out.dtype == dtype, f"{method}: dtype {out.dtype}, expected {dtype}"
            if not np.all(np.isfinite(out)):
                raise AssertionError(f"{method} gave non-finite values: {out}")
            if method == "predict_proba":
                assert np.all((out >= 0) & (out <= 1))
                assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


@FUZZ
@given(case=fuzz_cases())
def test_fuzz_fit_predict(case):
    """Every input gets a clear ValueError/TypeError or finite predictions of the
    right shape and dtype."""
    _run_fuzz_case(case)


@FUZZ
@given(n=st.integers(1, 20), T=st.integers(1, 6), F=st.integers(1, 3),
       dtype=st.sampled_from(["float32", "float64"]),
       value=st.sampled_from(FLOAT_EXTREMES), solver=st.sampled_from(SOLVERS),
       Est=st.sampled_from([RNNRegressor, RNNClassifier]), seed=st.integers(0, 2**16))
def test_fuzz_constant_extreme_inputs(n, T, F, dtype, value, solver, Est, seed):
    """A whole array of one extreme value, in fit and then in predict."""
    rng = np.random.RandomState(seed)
    X = np.full((n, T, F), value, dtype=dtype)
    y = rng.normal(size=n) if Est is RNNRegressor else rng.randint(0, 2, size=n)
    est = Est(hidden_layer_sizes=(3,), max_iter=2, solver=solver, random_state=0)
    finite = np.isfinite(value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if not finite:
            with pytest.raises(ValueError, match="(NaN|infinity)"):
                est.fit(X, y)
            est.fit(rng.normal(size=(n, T, F)).astype(dtype), y)
        else:
            est.fit(X, y)
    predict = est.predict if Est is RNNRegressor else est.predict_proba
    if not finite:
        with pytest.raises(ValueError, match="(NaN|infinity)"):
            predict(X)
        return
    out = predict(X)
    assert np.all(np.isfinite(out))
    if Est is RNNRegressor:
        assert out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("X", [
    [[1.0, 2.0], 3.0],                 # a scalar among list sequences
    [[[1.0], [2.0, 3.0]], [[1.0]]],    # one sequence has jagged timesteps
    [np.ones((2, 1)), [[1.0], [2.0, 3.0]]],  # the same next to an array
], ids=["scalar-element", "jagged-element", "jagged-next-to-array"])
def test_malformed_list_of_sequences_gets_a_clear_error(X):
    with pytest.raises((ValueError, TypeError)) as info:
        RNNRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, [1.0, 2.0])
    message = str(info.value)
    assert not any(p in message for p in NUMPY_INTERNALS), message


@pytest.mark.parametrize("out_activation", ["identity", "exp", "logistic", "softmax"])
@pytest.mark.parametrize(("cell", "activation"), CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_surely_finite_never_vouches_for_an_infinite_loss(cell, activation,
                                                               out_activation, dtype):
    """The end-of-fit check skips its forward pass only when the weights bound the
    loss; at every weight scale, a loss it vouches for is finite, on inputs of any
    size. It vouches for freshly initialised weights (so it saves the forward pass)
    and never for unbounded Elman states."""
    from skrnn._network import NetworkSpec, init_params

    rng = np.random.RandomState(0)
    K = 3
    spec = NetworkSpec(cell, activation, 2, (4,), K, out_activation)
    X = (rng.standard_normal((5, 6, 2)) * 1e30).astype(dtype)
    if out_activation in ("logistic", "softmax"):
        Y = np.eye(K, dtype=dtype)[rng.randint(K, size=6)]
    else:
        Y = np.abs(rng.standard_normal((6, K))).astype(dtype) * 100
    vouched = []
    for scale in [1.0, 1e1, 1e2, 1e3, 1e5, 1e10, 1e15, float(np.finfo(dtype).max) ** 0.5]:
        theta = (init_params(spec, rng) * scale).astype(dtype)
        surely = skrnn_base._loss_surely_finite(theta, spec, Y, dtype)
        vouched.append(surely)
        if surely:
            with np.errstate(all="ignore"):
                loss, _ = network_loss_and_grad(theta, X, np.full(6, 5), Y, spec)
            assert np.isfinite(loss), scale
    bounded = cell != "rnn" or activation in ("tanh", "logistic")
    assert vouched[0] == bounded
    assert not vouched[-1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_scale", [1.0, 1e20])
def test_loss_surely_finite_bounds_the_linear_skip_by_the_input(x_scale, dtype):
    """With the linear skip the bound reads the input's largest value: a loss it
    vouches for is finite, it vouches for fresh weights on data of scale 1, and it
    never vouches without the input."""
    from skrnn._network import NetworkSpec, init_params, unpack

    rng = np.random.RandomState(0)
    spec = NetworkSpec("gru", "tanh", 2, (4,), 1, "identity", skip_steps=3)
    X = (rng.standard_normal((5, 6, 2)) * x_scale).astype(dtype)
    Y = rng.standard_normal((6, 1)).astype(dtype)
    vouched = []
    for scale in [1.0, 1e3, 1e10, 1e15, float(np.finfo(dtype).max) ** 0.5]:
        theta = init_params(spec, rng).astype(dtype)
        unpack(theta, spec)["skip_weight"][...] = rng.standard_normal((1, 6))
        theta *= dtype(scale)
        assert not skrnn_base._loss_surely_finite(theta, spec, Y, dtype)
        surely = skrnn_base._loss_surely_finite(theta, spec, Y, dtype, X)
        vouched.append(surely)
        if surely:
            with np.errstate(all="ignore"):
                loss, _ = network_loss_and_grad(theta, X, np.full(6, 5), Y, spec)
            assert np.isfinite(loss), scale
    # fresh weights: vouched for unless the input's size passes the bound's margin
    assert vouched[0] == (x_scale < float(np.finfo(dtype).max) ** 0.25 / 100)
    assert not vouched[-1]
