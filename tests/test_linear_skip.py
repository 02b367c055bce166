"""The linear skip: a linear map of each sequence's last input rows added to the output.

The network core is checked against finite differences and against its definition
(the window, the front fill, padding that never enters, the scaling folded exactly);
its starting fit against scikit-learn's ``RidgeCV`` and ``Ridge``; the estimators on
what the skip is for (a linear trend beyond the training range).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import Ridge, RidgeCV
from test_gradients import RTOL_FD, _numerical_grad, _rel_error
from test_network_options import _problem as network_problem

from skrnn import RNNClassifier, RNNRegressor
from skrnn._network import (
    SKIP_ALPHAS,
    NetworkSpec,
    _skip_window,
    fold_scaling,
    init_params,
    init_skip,
    loss_and_grad,
    predict_raw,
    unpack,
)

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]

# short fits on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _problem(cell, activation, bidirectional, pooling, lengths, skip_steps, **kwargs):
    """test_network_options' problem, two stacked layers (3, 2), with the skip."""
    return network_problem(cell, activation, (3, 2), bidirectional, pooling, lengths,
                           skip_steps=skip_steps, **kwargs)


def test_the_skip_weights_follow_the_head():
    spec = NetworkSpec("gru", "tanh", 3, (4,), 2, "identity", True, "max", 5)
    W = unpack(init_params(spec, np.random.RandomState(0)), spec)
    assert list(W)[-3:] == ["out_weight", "out_bias", "skip_weight"]
    assert W["skip_weight"].shape == (2, 5 * 3)
    assert not W["skip_weight"].any()  # starts at zero: the network alone


@pytest.mark.parametrize("cell, activation", CELLS)
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("skip_steps", [2, 6])  # shorter, longer than every sequence
@pytest.mark.parametrize("lengths", [[4, 4, 4], [3, 5, 1]], ids=["equal", "ragged"])
def test_gradient_matches_finite_differences(cell, activation, pooling, bidirectional,
                                             skip_steps, lengths):
    spec, X, L, Y, theta = _problem(cell, activation, bidirectional, pooling, lengths,
                                    skip_steps)
    sw = np.array([0.5, 2.0, 1.0])

    def lg(th):
        return loss_and_grad(th, X, L, Y, spec, sample_weight=sw, alpha=1e-3,
                             skip_alpha=0.7)

    num = _numerical_grad(lambda th: lg(th)[0], theta)
    assert _rel_error(num, lg(theta)[1]) < (1e-4 if activation == "relu" else RTOL_FD)


@pytest.mark.parametrize("out_activation, n_outputs", [("softmax", 3), ("logistic", 2),
                                                       ("exp", 1)])
def test_gradient_with_every_head(out_activation, n_outputs):
    spec, X, L, Y, theta = _problem("lstm", "tanh", True, "mean", [3, 5, 2], 4,
                                    n_outputs=n_outputs, out_activation=out_activation)
    if out_activation == "softmax":
        Y = np.eye(3)[[0, 2, 1]]
    elif out_activation == "logistic":
        Y = (Y > 0).astype(float)
    else:
        Y = np.abs(Y)

    def f(th):
        return loss_and_grad(th, X, L, Y, spec, alpha=1e-2)[0]

    num = _numerical_grad(f, theta)
    assert _rel_error(num, loss_and_grad(theta, X, L, Y, spec, alpha=1e-2)[1]) < RTOL_FD


def test_the_window_is_the_last_real_rows_front_filled():
    T, N, F = 5, 3, 2
    X = np.arange(T * N * F, dtype=float).reshape(T, N, F)
    lengths = np.array([5, 2, 4])
    window = _skip_window(X.transpose(0, 2, 1), lengths, 3).reshape(N, 3, F)
    assert_allclose(window[0], X[2:5, 0])
    assert_allclose(window[1], X[[0, 0, 1], 1])  # front-filled with the first row
    assert_allclose(window[2], X[1:4, 2])


def test_the_skip_adds_a_linear_map_of_the_window():
    spec, X, L, Y, theta = _problem("gru", "tanh", True, "max", [4, 2, 3], 3)
    W = unpack(theta.copy(), spec)
    with_skip = predict_raw(W, X, L, spec)
    skip = W["skip_weight"].copy()
    W["skip_weight"][...] = 0.0
    without = predict_raw(W, X, L, spec)
    window = _skip_window(X.transpose(0, 2, 1), L, 3)
    assert_allclose(with_skip - without, window @ skip.T, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_enters(bidirectional):
    spec, X, L, Y, theta = _problem("lstm", "tanh", bidirectional, "mean", [5, 2, 3], 4)
    W = unpack(theta, spec)
    z = predict_raw(W, X, L, spec)
    for i in range(3):
        alone = predict_raw(W, X[:L[i], i:i + 1], L[i:i + 1], spec)
        assert_allclose(alone, z[i:i + 1], rtol=1e-12, atol=1e-14)
    X_noisy = X.copy()
    for i, length in enumerate(L):
        X_noisy[length:, i] = 1e3
    g = loss_and_grad(theta, X, L, Y, spec)[1]
    assert_allclose(loss_and_grad(theta, X_noisy, L, Y, spec)[1], g, rtol=1e-12,
                    atol=1e-15)


@pytest.mark.parametrize("out_activation", ["identity", "exp"])
def test_folding_the_scaling_is_exact(out_activation):
    """The raw-data model folded from a standardised one predicts, on raw data, what the
    standardised one predicts on standardised data: also for sequences shorter than the
    window, whose front fill is a real row (so the fill commutes with the scaling)."""
    F, reps = 2, 2  # segments of two steps of two features
    spec, X, L, Y, theta = _problem("gru", "tanh", True, "max", [4, 1, 3], 3, F=F * reps,
                                    n_outputs=1, out_activation=out_activation)
    W = unpack(theta, spec)
    shift, scale = np.array([50.0, -3.0]), np.array([10.0, 0.2])
    y_shift, y_scale = np.array([1000.0]), np.array([670.0])
    raw = X * np.tile(scale, reps) + np.tile(shift, reps)
    for i, length in enumerate(L):
        raw[length:, i] = 0.0
    W_raw = fold_scaling(W, spec, shift, scale, y_shift, y_scale)
    z = predict_raw(W, X, L, spec)
    expected = z + np.log(y_scale) if out_activation == "exp" else z * y_scale + y_shift
    assert_allclose(predict_raw(W_raw, raw, L, spec), expected, rtol=1e-10)
    back = fold_scaling(W_raw, spec, shift, scale, y_shift, y_scale, inverse=True)
    for name, w in W.items():
        assert_allclose(back[name], w, rtol=1e-10, atol=1e-12)


def _windows(seed=0, N=40, S=3, F=2):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((S, N, F))
    A = X.transpose(1, 0, 2).reshape(N, -1)
    Y = A @ rng.standard_normal((S * F, 2)) + 0.5 * rng.standard_normal((N, 2)) + 3.0
    spec = NetworkSpec("gru", "tanh", F, (3,), 2, "identity", False, "last", S)
    return spec, X, np.full(N, S), Y, A


def test_the_start_is_ridgecvs_choice():
    spec, X, L, Y, A = _windows()
    theta = init_params(spec, np.random.RandomState(0))
    alpha = init_skip(theta, X, L, Y, spec)
    ridge = RidgeCV(alphas=SKIP_ALPHAS, alpha_per_target=False).fit(A, Y)
    assert alpha == pytest.approx(ridge.alpha_ / 2)  # the objective's units: 2 outputs
    W = unpack(theta, spec)
    assert_allclose(W["skip_weight"], ridge.coef_, rtol=1e-8)
    assert_allclose(W["out_bias"], ridge.intercept_, rtol=1e-8)


def test_the_weighted_start_is_the_weighted_ridge():
    spec, X, L, Y, A = _windows(seed=1)
    sw = np.random.RandomState(2).uniform(0.0, 3.0, size=len(A))
    sw[:5] = 0.0  # zero weights are left out
    theta = init_params(spec, np.random.RandomState(0))
    alpha = init_skip(theta, X, L, Y, spec, sample_weight=sw)
    assert 2 * alpha in SKIP_ALPHAS
    ridge = Ridge(alpha=2 * alpha).fit(A, Y, sample_weight=sw)
    W = unpack(theta, spec)
    assert_allclose(W["skip_weight"], ridge.coef_, rtol=1e-8)
    assert_allclose(W["out_bias"], ridge.intercept_, rtol=1e-8)
    untouched = init_params(spec, np.random.RandomState(0))
    assert init_skip(untouched, X, L, Y, spec, sw, set_weights=False) == alpha
    assert not unpack(untouched, spec)["skip_weight"].any()


def test_the_ridge_start_is_the_objectives_minimum_without_the_network():
    """With the recurrent part silenced (a zero head), the objective with the chosen
    ``skip_alpha`` is minimal at the starting ridge regression: its gradient in the
    skip and the output bias is zero there (the penalty's units match)."""
    spec, X, L, Y, A = _windows(seed=3)
    theta = init_params(spec, np.random.RandomState(0))
    alpha = init_skip(theta, X, L, Y, spec)
    unpack(theta, spec)["out_weight"][...] = 0.0
    grad = unpack(loss_and_grad(theta, X, L, Y, spec, alpha=1.0, skip_alpha=alpha)[1],
                  spec)
    assert np.abs(grad["skip_weight"]).max() < 1e-10
    assert np.abs(grad["out_bias"]).max() < 1e-10


def _trend(n=120, k=8, offset=0.0):
    """Windows of ``k`` values of noisy lines and their next value."""
    rng = np.random.RandomState(0)
    start = rng.uniform(0, 10, size=n) + offset
    slope = rng.uniform(0.5, 1.5, size=n)
    t = np.arange(k + 1)
    series = start[:, None] + slope[:, None] * t + 0.05 * rng.standard_normal((n, k + 1))
    return series[:, :k], series[:, k]


def test_the_regressor_extrapolates_a_trend_with_the_skip():
    """Inputs and targets far above the training range: the linear skip carries the
    trend there; the bounded recurrent units alone cannot."""
    X, y = _trend()
    X_far, y_far = _trend(offset=40.0)
    with_skip = RNNRegressor(random_state=0, max_iter=50).fit(X, y)
    without = RNNRegressor(random_state=0, max_iter=50, linear_skip=False).fit(X, y)
    assert with_skip._spec.skip_steps > 0 and without._spec.skip_steps == 0
    assert with_skip.score(X_far, y_far) > 0.5
    assert without.score(X_far, y_far) < 0.0


def test_the_skip_reads_the_last_steps_of_longer_sequences():
    X, y = _trend(k=8)
    X = X[:, :, None]  # 3-D: sequences of any length (2-D columns are fixed)
    reg = RNNRegressor(random_state=0, max_iter=20, segment_length=None).fit(X, y)
    assert reg._spec.skip_steps == 8
    longer = np.concatenate([np.zeros((len(X), 5, 1)), X], axis=1)
    # the skip sees the same window; only the recurrent part reads the extra steps
    W = dict(reg.weights_)
    W["out_weight"] = np.zeros_like(W["out_weight"])
    reg.weights_ = W
    assert_allclose(reg.predict(longer), reg.predict(X), rtol=1e-12)


def test_partial_fit_and_warm_start_keep_the_skip():
    X, y = _trend()
    X = X[:, :, None]
    reg = RNNRegressor(random_state=0, max_iter=5).fit(X, y)
    alpha, steps = reg._skip_alpha, reg._spec.skip_steps
    reg.partial_fit(X[:30, :6], y[:30])  # shorter sequences: the same network
    assert reg._spec.skip_steps == steps and reg._skip_alpha == alpha
    reg.set_params(warm_start=True).fit(X, y)
    assert reg._skip_alpha == alpha


def test_the_classifier_takes_the_skip_when_asked():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 10))
    y = (X[:, -3:].sum(axis=1) > 0).astype(int)
    assert RNNClassifier().linear_skip is False
    # (on the raw window: the sum is not linear in sequence_norm's inputs)
    clf = RNNClassifier(linear_skip=True, sequence_norm=False, random_state=0,
                        max_iter=30).fit(X, y)
    assert clf._skip_alpha in SKIP_ALPHAS  # one output
    assert clf.weights_["skip_weight"].shape == (1, 10)
    assert clf.score(X, y) > 0.9


def test_the_start_does_not_depend_on_the_chunks(monkeypatch):
    """The starting fit reads the windows a chunk of samples at a time: chunks of 7
    give what one chunk gives (ragged lengths, weights, more inputs than samples)."""
    import skrnn._network as network

    rng = np.random.RandomState(4)
    lengths = rng.randint(1, 9, size=30)
    X = rng.standard_normal((8, 30, 5))
    Y = rng.standard_normal((30, 2))
    sw = rng.uniform(0.0, 2.0, size=30)
    spec = NetworkSpec("gru", "tanh", 5, (3,), 2, "identity", False, "mean", 8)
    whole = init_params(spec, np.random.RandomState(0))
    alpha = init_skip(whole, X, lengths, Y, spec, sw)
    monkeypatch.setattr(network, "_SKIP_CHUNK", 7)
    chunked = init_params(spec, np.random.RandomState(0))
    assert init_skip(chunked, X, lengths, Y, spec, sw) == alpha
    assert_allclose(chunked, whole, rtol=1e-9, atol=1e-12)


def test_the_window_is_cut_to_its_largest_size():
    from skrnn._network import SKIP_MAX_INPUTS, skip_steps_for

    assert skip_steps_for(100, 1) == 100
    assert skip_steps_for(5000, 1) == SKIP_MAX_INPUTS
    assert skip_steps_for(32, 42) == SKIP_MAX_INPUTS // 42  # segments of 42 values
    assert skip_steps_for(10, 5000) == 0  # a row wider than the cap: no skip
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 300, 5))
    y = X[:, -1, 0]
    reg = RNNRegressor(max_iter=2, segment_length=None, random_state=0).fit(X, y)
    assert reg._spec.skip_steps == SKIP_MAX_INPUTS // 5
    assert reg.weights_["skip_weight"].shape == (1, (SKIP_MAX_INPUTS // 5) * 5)


def test_the_regressors_skip_starts_at_the_ridge_regression():
    """With the squared error the skip starts at RidgeCV's fit on the standardised
    windows (one tiny step later it is still there); the classifier's starts at zero."""
    X, y = _trend()
    X = X[:, :, None]
    reg = RNNRegressor(random_state=0, max_iter=1, solver="sgd", momentum=0.0,
                       learning_rate_init=1e-12).fit(X, y)
    W = reg._scaled(reg.weights_, inverse=True)  # the standardised model
    A = ((X - reg._x_shift) / reg._x_scale).reshape(len(X), -1)
    b = (y - reg._y_shift) / reg._y_scale
    ridge = RidgeCV(alphas=SKIP_ALPHAS).fit(A, b)
    assert reg._skip_alpha == pytest.approx(ridge.alpha_)
    assert_allclose(W["skip_weight"][0], ridge.coef_, rtol=1e-6, atol=1e-9)
    # then it trains with the network
    trained = RNNRegressor(random_state=0, max_iter=5).fit(X, y)
    W = trained._scaled(trained.weights_, inverse=True)
    assert not np.allclose(W["skip_weight"][0], ridge.coef_, rtol=1e-6, atol=1e-9)
    clf = RNNClassifier(linear_skip=True, max_iter=1, solver="sgd", momentum=0.0,
                        learning_rate_init=1e-12, random_state=0).fit(X, y > 10)
    assert np.abs(clf.weights_["skip_weight"]).max() < 1e-9


def test_changing_the_skip_on_a_fitted_model_is_refused():
    X, y = _trend()
    reg = RNNRegressor(random_state=0, max_iter=2).fit(X, y)
    before = {name: w.copy() for name, w in reg.weights_.items()}
    with pytest.raises(ValueError, match="linear_skip=True, now linear_skip=False"):
        reg.set_params(linear_skip=False, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="linear_skip"):
        reg.partial_fit(X, y)
    for name, w in before.items():  # nothing changed
        assert_allclose(reg.weights_[name], w, rtol=0, atol=0)
    plain = RNNRegressor(random_state=0, max_iter=2, linear_skip=False).fit(X, y)
    with pytest.raises(ValueError, match="linear_skip=False, now linear_skip=True"):
        plain.set_params(linear_skip=True).partial_fit(X, y)


def test_a_row_wider_than_the_cap_turns_the_skip_off_with_a_warning():
    from skrnn._network import SKIP_MAX_INPUTS

    rng = np.random.RandomState(0)
    X = rng.standard_normal((12, 3, SKIP_MAX_INPUTS + 1))
    y = X[:, -1, 0]
    with pytest.warns(UserWarning, match="linear_skip is off"):
        reg = RNNRegressor(hidden_layer_sizes=(2,), max_iter=1, random_state=0).fit(X, y)
    assert reg._spec.skip_steps == 0 and "skip_weight" not in reg.weights_


def test_the_start_reads_only_the_training_part_with_early_stopping(monkeypatch):
    import skrnn._base as base

    seen = []
    real = base.init_skip

    def spy(theta, X, lengths, Y, spec, sample_weight=None, set_weights=True):
        seen.append(len(lengths))
        return real(theta, X, lengths, Y, spec, sample_weight, set_weights)

    monkeypatch.setattr(base, "init_skip", spy)
    X, y = _trend(n=100)
    RNNRegressor(early_stopping=True, validation_fraction=0.2, max_iter=2,
                 random_state=0).fit(X, y)
    RNNRegressor(max_iter=2, random_state=0).fit(X, y)
    RNNRegressor(solver="lbfgs", max_iter=2, random_state=0).fit(X, y)
    assert seen == [80, 100, 100]


def test_minibatches_share_the_skips_penalty(monkeypatch):
    """An epoch of minibatches applies the skip's penalty once in all, as the
    full-batch objective whose leave-one-out choice it is."""
    import skrnn._base as base

    penalties = []
    real = base.loss_and_grad

    def spy(*args, skip_alpha=None, **kwargs):
        penalties.append(skip_alpha)
        return real(*args, skip_alpha=skip_alpha, **kwargs)

    monkeypatch.setattr(base, "loss_and_grad", spy)
    X, y = _trend(n=100)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, size=100)
    reg = RNNRegressor(batch_size=30, max_iter=1, shuffle=False, random_state=0)
    reg.fit(X, y, sample_weight=sw)
    batches = penalties[:4]  # 30, 30, 30 and 10 samples
    assert sum(batches) == pytest.approx(reg._skip_alpha)
    assert batches[0] == pytest.approx(reg._skip_alpha * sw[:30].sum() / sw.sum())


def test_models_pickled_before_the_skip_load_without_it():
    import pickle

    X, y = _trend()
    reg = RNNRegressor(random_state=0, max_iter=2, linear_skip=False).fit(X, y)
    state = reg.__getstate__()
    del state["linear_skip"]  # as a model of an earlier version
    old = RNNRegressor.__new__(RNNRegressor)
    old.__setstate__(state)
    assert old.get_params()["linear_skip"] is False
    assert_allclose(pickle.loads(pickle.dumps(old)).predict(X), reg.predict(X))
