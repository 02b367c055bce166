"""``RNNRegressor(relative_to_last=i)``: each sequence read, and its target predicted,
relative to feature ``i``'s value at the sequence's last real timestep
(:func:`skrnn._sequences.relative_to_last`).

Checked against its definition (a per-sequence loop; a plain fit on the changes), on
what it is for (forecasts that follow a series to levels never seen in training,
exactly), and on the estimator's contract (clear refusals that leave a fitted model as
it was, refused changes on refits, old pickles load without it).
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.utils._param_validation import InvalidParameterError

from skrnn import RNNRegressor
from skrnn._sequences import check_ragged, relative_to_last, to_time_major

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _ragged(seed=0, n=9, F=2):
    rng = np.random.RandomState(seed)
    return [rng.standard_normal((length, F)) + rng.uniform(-50, 50, F)
            for length in np.r_[1, rng.randint(1, 12, size=n - 1)]]


def _windows(n=160, k=8, seed=0):
    """Windows of a noisy sine at random levels, the target its next value."""
    rng = np.random.RandomState(seed)
    start = rng.uniform(0, 2 * np.pi, n)
    t = start[:, None] + 0.5 * np.arange(k + 1)
    series = np.sin(t) + 0.05 * rng.standard_normal(t.shape) + rng.uniform(-1, 1, (n, 1))
    return series[:, :k], series[:, k]


def test_the_definition_per_sequence():
    seqs = _ragged()
    out, last = relative_to_last(check_ragged(seqs), 1)
    for i, x in enumerate(seqs):
        assert last[i] == x[-1, 1]
        assert_allclose(out.X[:len(x), i, 1], x[:, 1] - x[-1, 1], rtol=0, atol=1e-12)
        assert_allclose(out.X[:len(x), i, 0], x[:, 0], rtol=0, atol=0)  # unchanged
        assert not out.X[len(x):, i].any()  # zero past the end


def test_the_callers_array_is_left_alone():
    X = np.random.RandomState(0).standard_normal((4, 5, 2))
    before = X.copy()
    out, last = relative_to_last(to_time_major(X), 0)
    assert_allclose(X, before, rtol=0, atol=0)
    assert_allclose(last, X[:, -1, 0])
    assert not out.X[-1, :, 0].any()


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_the_fit_is_a_plain_fit_on_the_changes(solver):
    """Fitting with the option is fitting the same network on the sequences and
    targets minus the feature's last value, and predict adds it back: ragged
    sequences, a 2-D target (both columns relative to the same value)."""
    seqs = _ragged()
    rng = np.random.RandomState(1)
    y = np.column_stack([[x[-1, 1] for x in seqs]] * 2) + rng.standard_normal((9, 2))
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=15, random_state=0)
    est = RNNRegressor(relative_to_last=1, **params).fit(seqs, y)
    last = np.array([x[-1, 1] for x in seqs])
    changes = [x - [0.0, x[-1, 1]] for x in seqs]
    plain = RNNRegressor(**params).fit(changes, y - last[:, None])
    assert_allclose(est.predict(seqs), plain.predict(changes) + last[:, None],
                    rtol=1e-10, atol=1e-10)
    for name, w in plain.weights_.items():
        assert_allclose(est.weights_[name], w, rtol=1e-10, atol=1e-12)


def test_forecasts_follow_the_series_to_levels_never_seen():
    """Windows at levels within [-1, 1] in training: at a level of 1000 the forecast
    is the same change from the last value, exactly; without the option the network
    (whose bounded units saturate) is far off."""
    X, y = _windows()
    Xt, yt = _windows(seed=1)
    params = dict(hidden_layer_sizes=(8,), linear_skip=False, random_state=0,
                  max_iter=100)
    est = RNNRegressor(relative_to_last=0, **params).fit(X, y)
    assert_allclose(est.predict(Xt + 1000.0), est.predict(Xt) + 1000.0, rtol=1e-12)
    near = np.sqrt(np.mean((est.predict(Xt) - yt) ** 2))
    assert near < 0.2  # the sine's amplitude is 1
    plain = RNNRegressor(**params).fit(X, y)
    assert np.sqrt(np.mean((plain.predict(Xt + 1000.0) - yt - 1000.0) ** 2)) > 100


def test_bad_values_are_refused_and_a_fitted_model_kept():
    seqs = _ragged()
    y = np.arange(9.0)
    est = RNNRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(seqs, y)
    before = est.predict(seqs)
    with pytest.raises(ValueError, match=r"relative_to_last=2 names input feature 2, "
                                         r"but X has 2 feature\(s\)"):
        est.set_params(relative_to_last=2).fit(seqs, y)
    with pytest.raises(ValueError, match="relative_to_last needs loss='squared_error'"):
        est.set_params(relative_to_last=0, loss="poisson").fit(seqs, y)
    for bad in (-1, True, np.bool_(False)):  # a bool is not a feature's index
        with pytest.raises(InvalidParameterError, match="relative_to_last"):
            est.set_params(relative_to_last=bad, loss="squared_error").fit(seqs, y)
    assert_allclose(est.predict(seqs), before, rtol=0, atol=0)
    assert est._relative_to_last is None


@pytest.mark.parametrize("fitted, now", [(None, 0), (0, None), (0, 1)])
def test_changing_it_on_a_fitted_model_is_refused(fitted, now):
    seqs = _ragged()
    y = np.arange(9.0)
    est = RNNRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0,
                       relative_to_last=fitted).fit(seqs, y)
    before = est.predict(seqs)
    est.set_params(relative_to_last=now)
    with pytest.raises(ValueError, match=f"partial_fit must keep .* fitted with "
                                         f"relative_to_last={fitted}, now "
                                         f"relative_to_last={now}"):
        est.partial_fit(seqs, y)
    with pytest.raises(ValueError, match=f"warm_start must keep .* fitted with "
                                         f"relative_to_last={fitted}, now "
                                         f"relative_to_last={now}"):
        est.set_params(warm_start=True).fit(seqs, y)
    if fitted is not None:  # True == 1 in Python: still refused, by its type
        with pytest.raises(InvalidParameterError, match="relative_to_last"):
            est.set_params(relative_to_last=bool(fitted)).partial_fit(seqs, y)
    est.set_params(relative_to_last=fitted)
    assert_allclose(est.predict(seqs), before, rtol=0, atol=0)
    est.partial_fit(seqs, y)  # the fitted value goes on training


def test_models_pickled_before_the_option_load_without_it():
    X, y = _windows(40)
    est = RNNRegressor(random_state=0, max_iter=2).fit(X, y)
    state = est.__getstate__()
    del state["relative_to_last"]  # as a model of an earlier version
    state.pop("_relative_to_last", None)
    old = RNNRegressor.__new__(RNNRegressor)
    old.__setstate__(state)
    assert old.get_params()["relative_to_last"] is None
    assert_allclose(pickle.loads(pickle.dumps(old)).predict(X), est.predict(X))
