"""skrnn.preprocessing: SequenceScaler against StandardScaler on the stacked timesteps,
in every input form; LagsToSequences on the layouts of skforecast and sktime (by hand:
tests/test_forecasting_libraries.py runs the libraries); ChannelsFirstToSequences; and
scikit-learn's estimator checks on all three."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skrnn import RNNClassifier, RNNRegressor
from skrnn.preprocessing import ChannelsFirstToSequences, LagsToSequences, SequenceScaler

TIGHT = dict(rtol=1e-12, atol=1e-12)


def ragged(rng, lengths, n_features=2, loc=50.0, scale=10.0):
    if n_features is None:
        return [loc + scale * rng.normal(size=L) for L in lengths]
    return [loc + scale * rng.normal(size=(L, n_features)) for L in lengths]


def assert_same_statistics(scaler, reference, n_samples_seen=None):
    """``scaler``'s statistics equal ``StandardScaler``'s (``reference``)."""
    for attr in ("mean_", "var_", "scale_"):
        ours, theirs = getattr(scaler, attr), getattr(reference, attr)
        if theirs is None:
            assert ours is None, attr
        else:
            assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=attr)
    if n_samples_seen is None:
        n_samples_seen = reference.n_samples_seen_
    assert scaler.n_samples_seen_ == pytest.approx(n_samples_seen)


# --------------------------------------------------------------------------------------
# scikit-learn's estimator checks


@parametrize_with_checks([
    SequenceScaler(),
    SequenceScaler(with_mean=False),
    SequenceScaler(with_std=False),
    LagsToSequences(),
    LagsToSequences(order="oldest_first", exog="lagged"),
    ChannelsFirstToSequences(),
])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------------------
# SequenceScaler: StandardScaler on the stacked timesteps


@pytest.mark.parametrize("params", [{}, {"with_mean": False}, {"with_std": False},
                                    {"with_mean": False, "with_std": False}])
@pytest.mark.parametrize("weighted", [False, True])
def test_3d_equals_standard_scaler_on_stacked_timesteps(rng, params, weighted):
    N, T, F = 30, 7, 3
    X = rng.normal(size=(N, T, F)) * [1.0, 10.0, 1000.0] + [0.0, -5.0, 1e4]
    sw = rng.uniform(0, 3, size=N) if weighted else None
    scaler = SequenceScaler(**params).fit(X, sample_weight=sw)
    reference = StandardScaler(**params).fit(
        X.reshape(-1, F), sample_weight=None if sw is None else np.repeat(sw, T))
    # StandardScaler(with_mean=False, with_std=False) counts the samples, not their
    # weights (it adds the weights in every other case); SequenceScaler adds weights
    total = N * T if sw is None else T * sw.sum()
    assert_same_statistics(scaler, reference, n_samples_seen=total)
    assert scaler.n_features_in_ == F
    Xt = scaler.transform(X)
    assert Xt.shape == X.shape
    assert_allclose(Xt, reference.transform(X.reshape(-1, F)).reshape(N, T, F), **TIGHT)
    # the number of timesteps may differ between fit and transform
    X_long = rng.normal(size=(4, 11, F))
    assert_allclose(scaler.transform(X_long).reshape(-1, F),
                    reference.transform(X_long.reshape(-1, F)), **TIGHT)


def test_2d_is_one_feature_not_one_per_column(rng):
    X = rng.normal(size=(20, 6)) * np.arange(1, 7) + 100.0  # columns differ in scale
    scaler = SequenceScaler().fit(X)
    reference = StandardScaler().fit(X.reshape(-1, 1))
    assert scaler.mean_.shape == scaler.scale_.shape == (1,)
    assert_same_statistics(scaler, reference)
    assert scaler.n_features_in_ == 6  # columns, as any scikit-learn transformer
    Xt = scaler.transform(X)
    assert Xt.shape == X.shape
    assert_allclose(Xt, (X - X.mean()) / X.std(), rtol=1e-10)
    # the columns keep their relative scales: one affine map for all timesteps
    assert_allclose(Xt.std(axis=0) / X.std(axis=0), 1 / X.std(), rtol=1e-10)
    with pytest.raises(ValueError, match="X has 5 features, but SequenceScaler is "
                                         "expecting 6 features as input"):
        scaler.transform(X[:, :5])


@pytest.mark.parametrize("weighted", [False, True])
def test_ragged_equals_standard_scaler_on_concatenated_timesteps(rng, weighted):
    X = ragged(rng, [3, 9, 1, 6, 4], n_features=2)
    sw = rng.uniform(0.5, 2, size=len(X)) if weighted else None
    scaler = SequenceScaler().fit(X, sample_weight=sw)
    lengths = [len(x) for x in X]
    reference = StandardScaler().fit(
        np.concatenate(X), sample_weight=None if sw is None else np.repeat(sw, lengths))
    assert_same_statistics(scaler, reference)
    Xt = scaler.transform(X)
    assert isinstance(Xt, list)
    assert [x.shape for x in Xt] == [x.shape for x in X]
    assert_allclose(np.concatenate(Xt), reference.transform(np.concatenate(X)), **TIGHT)


def test_ragged_1d_sequences_stay_1d_and_float32_stays_float32(rng):
    X = [x.astype(np.float32) for x in ragged(rng, [4, 2, 7], n_features=None)]
    Xt = SequenceScaler().fit_transform(X)
    assert [x.shape for x in Xt] == [(4,), (2,), (7,)]
    assert all(x.dtype == np.float32 for x in Xt)
    assert all(x.flags.c_contiguous for x in Xt)
    both = np.concatenate(X).astype(np.float64)
    assert_allclose(np.concatenate(Xt), (both - both.mean()) / both.std(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_arrays_keep_their_float_dtype(rng, dtype):
    X = rng.normal(size=(10, 5, 2)).astype(dtype)
    scaler = SequenceScaler().fit(X)
    assert scaler.transform(X).dtype == dtype
    assert scaler.inverse_transform(X).dtype == dtype
    assert scaler.mean_.dtype == np.float64  # statistics in float64, as StandardScaler
    assert SequenceScaler().fit_transform(X[..., 0].astype(np.int64)).dtype == np.float64


def test_containers_come_back_as_they_came(rng):
    seqs = ragged(rng, [5, 3, 8], n_features=2)
    obj = np.empty(3, dtype=object)
    for i, s in enumerate(seqs):
        obj[i] = s
    series = pd.Series(list(seqs), index=[10, 20, 30], name="signal")
    scaler = SequenceScaler().fit(seqs)
    expected = scaler.transform(seqs)
    out_obj = scaler.transform(obj)
    assert isinstance(out_obj, np.ndarray) and out_obj.dtype == object
    out_series = scaler.transform(series)
    assert isinstance(out_series, pd.Series)
    assert list(out_series.index) == [10, 20, 30] and out_series.name == "signal"
    for a, b, c in zip(expected, out_obj, out_series):
        assert_array_equal(a, b)
        assert_array_equal(a, c)
    # a tuple comes back as a list
    assert isinstance(scaler.transform(tuple(seqs)), list)
    # equal-length sequences in an object array stay sequences (no 3-D broadcast)
    same = np.empty(2, dtype=object)
    same[0], same[1] = seqs[0], seqs[0] + 1
    assert [x.shape for x in scaler.transform(same)] == [(5, 2), (5, 2)]


@pytest.mark.parametrize("form", ["3d", "2d", "list", "list-1d", "series"])
def test_inverse_transform_round_trip(rng, form):
    if form == "3d":
        X = 5 + 3 * rng.normal(size=(8, 6, 3))
    elif form == "2d":
        X = 5 + 3 * rng.normal(size=(8, 6))
    elif form == "list":
        X = ragged(rng, [2, 7, 4])
    elif form == "list-1d":
        X = ragged(rng, [2, 7, 4], n_features=None)
    else:
        X = pd.Series(ragged(rng, [2, 7, 4]))
    scaler = SequenceScaler().fit(X)
    back = scaler.inverse_transform(scaler.transform(X))
    assert type(back) is type(X)
    for a, b in zip(np.asarray(X, dtype=object) if form not in ("3d", "2d") else [X],
                    back if form not in ("3d", "2d") else [back]):
        assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_inverse_transform_of_a_dataframe_fit_takes_plain_arrays(rng):
    df = pd.DataFrame(rng.normal(size=(6, 4)), columns=list("abcd"))
    scaler = SequenceScaler().fit(df)
    assert list(scaler.get_feature_names_out()) == list("abcd")
    Xt = scaler.transform(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        assert_allclose(scaler.inverse_transform(Xt), df.to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="X has 3 features"):
        scaler.inverse_transform(Xt[:, :3])


def test_get_feature_names_out_and_set_output(rng):
    X3 = rng.normal(size=(5, 4, 3))
    scaler = SequenceScaler().fit(X3)
    assert list(scaler.get_feature_names_out()) == ["x0", "x1", "x2"]
    scaler.set_output(transform="pandas")
    with pytest.raises(ValueError, match=r"set_output\(transform='pandas'\) holds 2-D"):
        scaler.transform(X3)
    df = pd.DataFrame(rng.normal(size=(5, 3)), columns=["t0", "t1", "t2"])
    out = SequenceScaler().set_output(transform="pandas").fit_transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["t0", "t1", "t2"]


@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_equals_fit(rng, weighted):
    X = 3 + 2 * rng.normal(size=(40, 6, 2))
    sw = rng.uniform(0, 2, size=40) if weighted else None
    full = SequenceScaler().fit(X, sample_weight=sw)
    inc = SequenceScaler()
    for batch in np.array_split(np.arange(40), 4):
        inc.partial_fit(X[batch], sample_weight=None if sw is None else sw[batch])
    for attr in ("mean_", "var_", "scale_"):
        assert_allclose(getattr(inc, attr), getattr(full, attr), rtol=1e-12)
    assert inc.n_samples_seen_ == pytest.approx(full.n_samples_seen_)
    # batches in different forms and lengths: a list, then a 3-D array
    seqs = ragged(rng, [3, 5, 2], n_features=2)
    inc = SequenceScaler().partial_fit(seqs).partial_fit(X[:4])
    full = SequenceScaler().fit(seqs + list(X[:4]))
    assert_allclose(inc.mean_, full.mean_, rtol=1e-12)
    assert_allclose(inc.var_, full.var_, rtol=1e-12)
    assert inc.n_samples_seen_ == full.n_samples_seen_ == 10 + 24
    # fit forgets what partial_fit saw
    assert SequenceScaler().partial_fit(X).fit(X[:3]).n_samples_seen_ == 18


def test_sample_weight_is_repetition_and_zero_is_removal(rng):
    X = ragged(rng, [4, 2, 6, 3])
    weighted = SequenceScaler().fit(X, sample_weight=[2, 0, 1, 3])
    repeated = SequenceScaler().fit([X[0], X[0], X[2], X[3], X[3], X[3]])
    assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)
    assert_allclose(weighted.var_, repeated.var_, rtol=1e-12)
    assert weighted.n_samples_seen_ == repeated.n_samples_seen_ == 8 + 6 + 9
    assert isinstance(weighted.n_samples_seen_, np.float64)
    assert isinstance(repeated.n_samples_seen_, np.int64)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        SequenceScaler().fit(X, sample_weight=[1, 2])
    with pytest.raises(ValueError, match="Negative values"):
        SequenceScaler().fit(X, sample_weight=[1, -1, 1, 1])


def test_constant_feature_is_only_centred(rng):
    X = rng.normal(size=(10, 5, 2))
    X[..., 1] = 7.25
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[1] == 1.0
    assert_array_equal(scaler.transform(X)[..., 1], 0.0)


def test_unscaled_values_are_exact(rng):
    # values far from 1 (mean 1e6, std 1e-2; and magnitudes of 1e150)
    X = 1e6 + 1e-2 * rng.normal(size=(50, 8, 1))
    scaler = SequenceScaler().fit(X)
    assert_allclose(scaler.scale_, X.std(), rtol=1e-6)
    big = 1e150 * rng.normal(size=(20, 4, 1))
    assert np.isfinite(SequenceScaler().fit(big).scale_).all()


def test_copy_false_scales_arrays_in_place(rng):
    X = rng.normal(size=(6, 4, 2)) + 3
    scaler = SequenceScaler(copy=False).fit(X)
    out = scaler.transform(X)
    assert out is X or np.shares_memory(out, X)
    assert_allclose(X.mean(axis=(0, 1)), 0, atol=1e-12)
    X2 = X.copy()
    SequenceScaler().fit(X2).transform(X2)
    assert_array_equal(X2, X)  # copy=True leaves the input alone


def test_forms_must_match_the_fitted_features(rng):
    scaler = SequenceScaler().fit(rng.normal(size=(5, 4, 3)))
    with pytest.raises(ValueError, match="fitted on sequences with 3 feature"):
        scaler.transform(rng.normal(size=(5, 4, 2)))
    with pytest.raises(ValueError, match="fitted on sequences with 3 feature"):
        scaler.transform(rng.normal(size=(5, 4)))  # 2-D: univariate
    with pytest.raises(ValueError, match="fitted on sequences with 3 feature"):
        scaler.transform([rng.normal(size=(4, 2))])
    # a univariate fit reads every univariate form
    uni = SequenceScaler().fit(rng.normal(size=(5, 4)))
    assert uni.transform(rng.normal(size=(3, 9, 1))).shape == (3, 9, 1)
    assert [x.shape for x in uni.transform([np.ones(3), np.ones(8)])] == [(3,), (8,)]
    with pytest.raises(ValueError, match="Expected 2D or 3D array, got 1D"):
        uni.transform(np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        SequenceScaler().fit([np.ones(3), np.array([1.0, np.nan])])


@pytest.mark.parametrize("form", ["3d", "2d", "list"])
def test_scaler_first_in_a_pipeline(rng, form):
    N = 60
    X3 = 50 + 10 * rng.normal(size=(N, 6, 2))
    if form == "3d":
        X = X3
    elif form == "2d":
        X = X3[..., 0]
    else:
        X = [x[: 3 + i % 4] for i, x in enumerate(X3)]
    y = np.array([x[-1, 0] if np.ndim(x) == 2 else x[-1] for x in X])
    params = dict(hidden_layer_sizes=(8,), max_iter=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(SequenceScaler(), RNNRegressor(**params)).fit(X, y)
        alone = RNNRegressor(**params).fit(X, y)
    # the estimator standardises inside: on standardised input that is (nearly) the
    # identity, so the pipeline is (nearly) the estimator alone
    assert_allclose(pipe.predict(X), alone.predict(X), rtol=1e-4)
    assert pipe.score(X, y) > 0.5


def test_pipeline_routes_sample_weight(rng):
    X = rng.normal(size=(40, 5, 2))
    y = (X[:, -1, 0] > 0).astype(int)
    sw = rng.uniform(0.5, 2, size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(SequenceScaler(), RNNClassifier(max_iter=5, random_state=0))
        pipe.fit(X, y, sequencescaler__sample_weight=sw, rnnclassifier__sample_weight=sw)
    assert_allclose(pipe[0].mean_, SequenceScaler().fit(X, sample_weight=sw).mean_)


# --------------------------------------------------------------------------------------
# LagsToSequences


def lag_rows(series, k, t, newest_first, exog=None, exog_lagged=False):
    """The lag-table row for the target ``series[t]`` (by hand)."""
    lags = series[t - k:t]
    row = list(lags[::-1] if newest_first else lags)
    for x in exog or []:
        if exog_lagged:
            block = x[t - k:t]
            row += list(block[::-1] if newest_first else block)
        else:
            row.append(x[t])
    return row


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("exog", ["none", "current", "lagged"])
def test_lags_to_sequences_reads_rows_in_time_order(rng, newest_first, exog):
    n, k = 40, 5
    series = rng.normal(size=n).cumsum()
    xs = [rng.normal(size=n), rng.normal(size=n)] if exog != "none" else None
    lagged = exog == "lagged"
    ts = range(k, n)
    X = np.array([lag_rows(series, k, t, newest_first, xs, lagged) for t in ts])
    bridge = LagsToSequences(n_lags=k, order="newest_first" if newest_first
                             else "oldest_first", exog="lagged" if lagged else "current")
    S = bridge.fit_transform(X)
    n_exog = 0 if xs is None else 2
    assert S.shape == (len(ts), k, 1 + n_exog)
    assert bridge.n_lags_ == k and bridge.n_exog_ == n_exog
    for i, t in enumerate(ts):
        assert_array_equal(S[i, :, 0], series[t - k:t])  # oldest first
        for j, x in enumerate(xs or []):
            expected = x[t - k:t] if lagged else np.full(k, x[t])
            assert_array_equal(S[i, :, 1 + j], expected)


def test_lags_to_sequences_defaults_and_dtypes(rng):
    X = rng.normal(size=(7, 4)).astype(np.float32)
    S = LagsToSequences().fit_transform(X)  # every column a lag, newest first
    assert S.dtype == np.float32 and S.shape == (7, 4, 1)
    assert_array_equal(S[..., 0], X[:, ::-1])
    df = pd.DataFrame(X, columns=["lag_1", "lag_2", "lag_3", "lag_4"])
    bridge = LagsToSequences().fit(df)
    assert list(bridge.feature_names_in_) == ["lag_1", "lag_2", "lag_3", "lag_4"]
    assert_array_equal(bridge.transform(df), S)


def test_lags_to_sequences_refuses_what_it_cannot_read(rng):
    X = rng.normal(size=(6, 7))
    with pytest.raises(ValueError, match="n_lags=9, but X has only 7 columns"):
        LagsToSequences(n_lags=9).fit(X)
    with pytest.raises(ValueError, match="not a multiple of 3"):
        LagsToSequences(n_lags=3, exog="lagged").fit(X)
    with pytest.raises(ValueError, match="ChannelsFirstToSequences"):
        LagsToSequences().fit(rng.normal(size=(6, 2, 3)))
    bridge = LagsToSequences(n_lags=3).fit(X)
    with pytest.raises(ValueError, match="X has 6 features"):
        bridge.transform(X[:, :6])


def test_lags_to_sequences_in_a_pipeline_reads_time_forwards(rng):
    # the target is the newest lag (the naive forecast); a table newest first read
    # as it is would put that lag at the first step, far from the network's output
    n, k = 300, 8
    series = np.sin(np.arange(n) / 3.0) * 100 + 500
    X = np.array([lag_rows(series, k, t, True) for t in range(k, n)])
    y = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(LagsToSequences(n_lags=k),
                             RNNRegressor(max_iter=50, random_state=0)).fit(X, y)
    assert pipe.score(X, y) > 0.99
    assert pipe[-1].n_features_in_ == 1


# --------------------------------------------------------------------------------------
# ChannelsFirstToSequences


def test_channels_first_3d_and_back(rng):
    X = rng.normal(size=(6, 3, 20))  # aeon: (n_cases, n_channels, n_timepoints)
    t = ChannelsFirstToSequences().fit(X)
    assert t.n_features_in_ == 3
    S = t.transform(X)
    assert S.shape == (6, 20, 3) and S.flags.c_contiguous
    assert_array_equal(S[2, :, 1], X[2, 1, :])
    assert_array_equal(t.inverse_transform(S), X)
    with pytest.raises(ValueError, match="fitted on 3 channel"):
        t.transform(rng.normal(size=(6, 2, 20)))
    with pytest.raises(ValueError, match="fitted on 3 channel"):
        t.transform(rng.normal(size=(6, 20)))


def test_channels_first_unequal_lengths(rng):
    X = [rng.normal(size=(2, L)) for L in (5, 9, 3)]
    t = ChannelsFirstToSequences().fit(X)
    S = t.transform(X)
    assert [s.shape for s in S] == [(5, 2), (9, 2), (3, 2)]
    assert_array_equal(S[1], X[1].T)
    back = t.inverse_transform(S)
    for a, b in zip(back, X):
        assert_array_equal(a, b)
    series = pd.Series(X, index=list("abc"))
    out = t.transform(series)
    assert isinstance(out, pd.Series) and list(out.index) == list("abc")
    with pytest.raises(ValueError, match="different numbers of features"):
        t.transform([rng.normal(size=(2, 4)), rng.normal(size=(3, 4))])


def test_channels_first_univariate_is_unchanged(rng):
    X = rng.normal(size=(5, 12))
    assert_array_equal(ChannelsFirstToSequences().fit_transform(X), X)
    seqs = [rng.normal(size=L) for L in (4, 6)]
    out = ChannelsFirstToSequences().fit_transform(seqs)
    for a, b in zip(out, seqs):
        assert_array_equal(a, b)


def test_channels_first_pipeline(rng):
    X = rng.normal(size=(80, 2, 10))  # channels first
    y = (X[:, 1, -1] > 0).astype(int)  # the last timepoint of channel 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(ChannelsFirstToSequences(),
                             RNNClassifier(max_iter=100, random_state=0)).fit(X, y)
    assert pipe[-1].n_features_in_ == 2
    assert pipe.score(X, y) > 0.95
