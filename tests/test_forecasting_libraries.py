"""skrnn inside the forecasting libraries: skforecast's ForecasterRecursive and
ForecasterDirect, sktime's make_reduction (recursive, direct, multioutput; tabular and
"time-series-regressor"), with and without exogenous variables.

A spy regressor that forecasts "the target's value at the last timestep plus the
exogenous values there" checks, exactly, that LagsToSequences and
ChannelsFirstToSequences hand the regressor each window in time order with the
exogenous variables as features: a window read backwards, or an exogenous column read
as one more timestep, gives other forecasts. Then the real RNNRegressor runs end to end
in each library.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from skrnn import RNNRegressor
from skrnn.preprocessing import ChannelsFirstToSequences, LagsToSequences

skforecast = pytest.importorskip("skforecast")
sktime = pytest.importorskip("sktime")

from skforecast.direct import ForecasterDirect  # noqa: E402
from skforecast.recursive import ForecasterRecursive  # noqa: E402
from sktime.forecasting.compose import make_reduction  # noqa: E402

pytestmark = [
    # sktime 1.2 announces a change of its remember_data default on every fit
    pytest.mark.filterwarnings("ignore:The default of config:FutureWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

N, K, H = 40, 4, 3  # series length, lags, horizon


class LastStep(RegressorMixin, BaseEstimator):
    """Forecasts the target at the window's last timestep plus the exogenous values
    there (one column per output for multi-output targets); remembers what ``fit``
    was given."""

    def fit(self, X, y):
        self.X_fit_, self.y_fit_ = np.asarray(X), np.asarray(y)
        return self

    def predict(self, X):
        X = np.asarray(X)
        p = X[:, -1, 0] + X[:, -1, 1:].sum(axis=1)
        if self.y_fit_.ndim == 2:
            return np.repeat(p[:, None], self.y_fit_.shape[1], axis=1)
        return p


@pytest.fixture
def series():
    rng = np.random.RandomState(0)
    y = pd.Series(np.arange(N, dtype=float) ** 1.5 + rng.normal(size=N), name="y")
    x = pd.DataFrame({"x1": rng.normal(size=N + H), "x2": rng.normal(size=N + H)})
    return y, x


def check_windows_in_time_order(X_fit, y, exog=None, exog_lagged=False):
    """The regressor was fitted on the series' windows, oldest value first."""
    n_windows, k = X_fit.shape[:2]
    values = y.to_numpy()
    for i in range(n_windows):
        assert_array_equal(X_fit[i, :, 0], values[i:i + k])
        if exog is not None:
            for j, col in enumerate(exog.columns):
                x = exog[col].to_numpy()
                expected = x[i:i + k] if exog_lagged else np.full(k, x[i + k])
                assert_array_equal(X_fit[i, :, 1 + j], expected)


# --------------------------------------------------------------------------------------
# skforecast


@pytest.mark.parametrize("with_exog", [False, True])
def test_skforecast_recursive(series, with_exog):
    y, x = series
    exog, future = (x.iloc[:N], x.iloc[N:]) if with_exog else (None, None)
    forecaster = ForecasterRecursive(make_pipeline(LagsToSequences(n_lags=K), LastStep()),
                                     lags=K)
    forecaster.fit(y=y, exog=exog)
    spy = forecaster.estimator[-1]
    assert spy.X_fit_.shape == (N - K, K, 3 if with_exog else 1)
    check_windows_in_time_order(spy.X_fit_, y, exog)
    pred = forecaster.predict(steps=H, exog=future).to_numpy()
    # y[t] = y[t-1] + the exogenous values at t (skforecast's exog are current)
    steps = future.sum(axis=1).to_numpy() if with_exog else np.zeros(H)
    assert_allclose(pred, y.iloc[-1] + np.cumsum(steps), rtol=1e-12)


@pytest.mark.parametrize("with_exog", [False, True])
def test_skforecast_direct(series, with_exog):
    y, x = series
    exog, future = (x.iloc[:N], x.iloc[N:]) if with_exog else (None, None)
    forecaster = ForecasterDirect(make_pipeline(LagsToSequences(n_lags=K), LastStep()),
                                  lags=K, steps=H, n_jobs=1)
    forecaster.fit(y=y, exog=exog)
    spies = [forecaster.estimators_[step][-1] for step in range(1, H + 1)]
    for step, spy in enumerate(spies, start=1):
        assert spy.X_fit_.shape[1:] == (K, 3 if with_exog else 1)
        # the model of step h reads the exogenous values at its target's time
        if with_exog:
            assert_array_equal(spy.X_fit_[0, :, 1], np.full(K, x["x1"].iloc[K + step - 1]))
    check_windows_in_time_order(spies[0].X_fit_, y, exog)
    pred = forecaster.predict(steps=H, exog=future).to_numpy()
    steps = future.sum(axis=1).to_numpy() if with_exog else np.zeros(H)
    assert_allclose(pred, y.iloc[-1] + steps, rtol=1e-12)


def test_skforecast_recursive_with_differentiation(series):
    y, _ = series
    forecaster = ForecasterRecursive(make_pipeline(LagsToSequences(n_lags=K), LastStep()),
                                     lags=K, differentiation=1)
    forecaster.fit(y=y)
    pred = forecaster.predict(steps=H).to_numpy()
    # the regressor sees the differences: repeating the last one extrapolates linearly
    last_change = y.iloc[-1] - y.iloc[-2]
    assert_allclose(pred, y.iloc[-1] + last_change * np.arange(1, H + 1), rtol=1e-12)


def test_skforecast_window_features_and_non_contiguous_lags(series):
    # lags=[1, 3]: the columns lag_1, lag_3, then a rolling mean, then the exogenous
    # variables; everything after the lags is one value a window, repeated
    from skforecast.preprocessing import RollingFeatures

    y, x = series
    forecaster = ForecasterRecursive(
        make_pipeline(LagsToSequences(n_lags=2), LastStep()), lags=[1, 3],
        window_features=RollingFeatures(stats="mean", window_sizes=4))
    forecaster.fit(y=y, exog=x.iloc[:N])
    X_fit = forecaster.estimator[-1].X_fit_
    values = y.to_numpy()
    assert X_fit.shape == (N - 4, 2, 1 + 1 + 2)  # the window is 4 long (the mean's)
    for i in range(len(X_fit)):
        t = i + 4
        assert_array_equal(X_fit[i, :, 0], [values[t - 3], values[t - 1]])
        assert_allclose(X_fit[i, :, 1], values[t - 4:t].mean(), rtol=1e-12)
        assert_array_equal(X_fit[i, :, 2], x["x1"].iloc[t])


# --------------------------------------------------------------------------------------
# sktime


def sktime_bridge():
    return LagsToSequences(n_lags=K, order="oldest_first", exog="lagged")


@pytest.mark.parametrize("with_exog", [False, True])
@pytest.mark.parametrize("strategy", ["recursive", "direct", "multioutput"])
def test_sktime_make_reduction(series, strategy, with_exog):
    y, x = series
    exog, future = (x.iloc[:N], x.iloc[N:]) if with_exog else (None, None)
    forecaster = make_reduction(make_pipeline(sktime_bridge(), LastStep()),
                                strategy=strategy, window_length=K)
    forecaster.fit(y, X=exog, fh=np.arange(1, H + 1))
    pred = forecaster.predict(X=future).to_numpy().ravel()
    # sktime lags the exogenous variables with the target: the last step of the
    # window that forecasts y[t] holds x[t-1]
    xs = x.sum(axis=1).to_numpy() if with_exog else np.zeros(N + H)
    if strategy == "recursive":
        expected = y.iloc[-1] + np.cumsum(xs[N - 1:N - 1 + H])
        spy = forecaster.estimator_[-1]
    else:  # every horizon reads the window that ends at the cutoff
        expected = np.full(H, y.iloc[-1] + xs[N - 1])
        spy = (forecaster.estimators_[0] if strategy == "direct"
               else forecaster.estimator_)[-1]
    assert_allclose(pred, expected, rtol=1e-12)
    assert spy.X_fit_.shape[1:] == (K, 3 if with_exog else 1)
    check_windows_in_time_order(spy.X_fit_, y, exog, exog_lagged=True)
    if strategy == "multioutput":
        assert spy.y_fit_.shape[1] == H  # one network, one output a horizon


@pytest.mark.parametrize("with_exog", [False, True])
def test_sktime_time_series_regressor_scitype(series, with_exog):
    # scitype="time-series-regressor" passes (n_windows, n_variables, window_length)
    y, x = series
    exog, future = (x.iloc[:N], x.iloc[N:]) if with_exog else (None, None)
    forecaster = make_reduction(make_pipeline(ChannelsFirstToSequences(), LastStep()),
                                strategy="recursive", window_length=K,
                                scitype="time-series-regressor")
    forecaster.fit(y, X=exog, fh=np.arange(1, H + 1))
    spy = forecaster.estimator_[-1]
    check_windows_in_time_order(spy.X_fit_, y, exog, exog_lagged=True)
    pred = forecaster.predict(X=future).to_numpy().ravel()
    xs = x.sum(axis=1).to_numpy() if with_exog else np.zeros(N + H)
    assert_allclose(pred, y.iloc[-1] + np.cumsum(xs[N - 1:N - 1 + H]), rtol=1e-12)


# --------------------------------------------------------------------------------------
# The real network, end to end


@pytest.fixture(scope="module")
def seasonal():
    """Ten years of a monthly seasonal series around 500 (unscaled), and an
    exogenous variable that shifts it."""
    rng = np.random.RandomState(1)
    n = 132
    t = np.arange(n)
    x = rng.normal(size=n)
    y = 500 + 80 * np.sin(2 * np.pi * t / 12) + 20 * x + 2 * rng.normal(size=n)
    return (pd.Series(y, name="y"), pd.DataFrame({"x": x}))


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def test_rnn_in_skforecast_learns_the_season(seasonal):
    y, x = seasonal
    train, test = slice(0, 120), slice(120, 132)
    forecaster = ForecasterRecursive(
        make_pipeline(LagsToSequences(n_lags=12), RNNRegressor(random_state=0)), lags=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        forecaster.fit(y=y.iloc[train], exog=x.iloc[train])
    pred = forecaster.predict(steps=12, exog=x.iloc[test])
    naive = np.full(12, y.iloc[119])
    assert rmse(pred, y.iloc[test]) < 0.5 * rmse(naive, y.iloc[test])


def test_relative_forecasts_in_skforecast_follow_the_level(seasonal):
    """relative_to_last=0 through skforecast, with an exogenous variable: the series
    at a level 1000 higher than in training gets the same forecasts 1000 higher, at
    every step of a recursive forecast (the network reads the target, feature 0,
    relative to its last value, and the exogenous variable as it is)."""
    y, x = seasonal
    forecaster = ForecasterRecursive(
        make_pipeline(LagsToSequences(n_lags=12),
                      RNNRegressor(relative_to_last=0, random_state=0)), lags=12)
    forecaster.fit(y=y.iloc[:120], exog=x.iloc[:120])
    pred = forecaster.predict(steps=12, exog=x.iloc[120:])
    assert rmse(pred, y.iloc[120:]) < 0.5 * rmse(np.full(12, y.iloc[119]), y.iloc[120:])
    window = y.iloc[108:120] + 1000.0
    shifted = forecaster.predict(steps=12, last_window=window, exog=x.iloc[120:])
    assert_allclose(shifted.to_numpy(), pred.to_numpy() + 1000.0, rtol=1e-10)


@pytest.mark.parametrize("relative_to_last", [None, 0])
def test_rnn_in_sktime_learns_the_season(seasonal, relative_to_last):
    y, x = seasonal
    forecaster = make_reduction(
        make_pipeline(LagsToSequences(n_lags=12, order="oldest_first", exog="lagged"),
                      RNNRegressor(relative_to_last=relative_to_last, random_state=0)),
        strategy="multioutput", window_length=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        forecaster.fit(y.iloc[:120], fh=np.arange(1, 13))
    pred = forecaster.predict()
    naive = np.full(12, y.iloc[119])
    assert rmse(pred, y.iloc[120:]) < 0.5 * rmse(naive, y.iloc[120:])
