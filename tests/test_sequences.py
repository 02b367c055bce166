"""Sequences in, predictions out: every accepted form of ``X``, the scikit-learn
bookkeeping (``n_features_in_``, ``feature_names_in_``), invariances of the
predictions to batching, order and padding, and the refusal of bad input with a clear
message and no change to the fitted model (DESIGN.md, "Sequences in, predictions
out")."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skrnn import RNNClassifier, RNNRegressor
from skrnn._sequences import check_ragged, is_ragged

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

TIGHT = dict(rtol=1e-10, atol=1e-12)
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


def small_regressor(**kwargs):
    params = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    params.update(kwargs)
    return RNNRegressor(**params)


def ragged(rng, lengths, n_features=2):
    """A list of ``(length, n_features)`` sequences (1-D when n_features is None)."""
    if n_features is None:
        return [rng.normal(size=L) for L in lengths]
    return [rng.normal(size=(L, n_features)) for L in lengths]


# --------------------------------------------------------------------------------------
# Fitted models shared by the property tests (fitted once per module)

MODEL_PARAMS = {
    "gru": dict(cell="gru", hidden_layer_sizes=(4,)),
    "lstm-stacked": dict(cell="lstm", hidden_layer_sizes=(4, 3)),
    "elman": dict(cell="rnn", hidden_layer_sizes=(4,)),
}


@pytest.fixture(scope="module", params=list(MODEL_PARAMS), ids=list(MODEL_PARAMS))
def ragged_model(request):
    """A small regressor fitted on ragged sequences with 2 features per timestep."""
    rng = np.random.RandomState(42)
    X = ragged(rng, rng.randint(1, 9, size=20))
    y = np.array([x[-1, 0] - x[0, 1] for x in X])
    return small_regressor(**MODEL_PARAMS[request.param]).fit(X, y)


@pytest.fixture(scope="module")
def tabular_model():
    """A small regressor fitted on 2-D (n_samples, 4) univariate sequences."""
    rng = np.random.RandomState(7)
    X = rng.normal(size=(20, 4))
    return small_regressor().fit(X, X[:, -1])


# --------------------------------------------------------------------------------------
# Accepted forms and scikit-learn's bookkeeping


def test_3d_n_features_in_is_features_per_timestep(rng):
    X = rng.normal(size=(12, 5, 3))
    model = small_regressor().fit(X, rng.normal(size=12))
    assert model.n_features_in_ == 3
    assert not hasattr(model, "feature_names_in_")
    # the number of timesteps may differ between fit and predict
    for T in (1, 5, 9):
        pred = model.predict(rng.normal(size=(4, T, 3)))
        assert pred.shape == (4,)
        assert np.all(np.isfinite(pred))


def test_2d_is_univariate_and_n_features_in_is_columns(rng):
    X = rng.normal(size=(12, 4))
    model = small_regressor().fit(X, rng.normal(size=12))
    assert model.n_features_in_ == 4
    assert not hasattr(model, "feature_names_in_")
    # 2-D rows are univariate sequences: the same as the (n, T, 1) array
    X_new = rng.normal(size=(5, 4))
    assert_allclose(model.predict(X_new), model.predict(X_new[:, :, None]), **TIGHT)
    with pytest.raises(
        ValueError,
        match=r"X has 3 features, but RNNRegressor is expecting 4 features as input\.",
    ):
        model.predict(rng.normal(size=(5, 3)))


def test_list_n_features_in_is_features_per_timestep(rng):
    model = small_regressor().fit(ragged(rng, [3, 6, 2, 5], 3), rng.normal(size=4))
    assert model.n_features_in_ == 3
    model = small_regressor().fit(ragged(rng, [3, 6, 2, 5], None), rng.normal(size=4))
    assert model.n_features_in_ == 1


def test_list_of_1d_equals_list_of_single_feature_2d(rng):
    model = small_regressor().fit(ragged(rng, [3, 6, 2, 5], None), rng.normal(size=4))
    X = ragged(rng, [4, 1, 7], None)
    expected = model.predict([x[:, None] for x in X])
    assert_allclose(model.predict(X), expected, **TIGHT)
    # mixing 1-D and (T, 1) sequences in one list is the same thing
    assert_allclose(model.predict([X[0], X[1][:, None], X[2]]), expected, **TIGHT)


def test_list_of_lists_is_accepted(rng):
    model = small_regressor().fit(ragged(rng, [3, 6, 2, 5], 2), rng.normal(size=4))
    X = ragged(rng, [4, 2, 6], 2)
    assert_allclose(model.predict([x.tolist() for x in X]), model.predict(X), **TIGHT)
    assert_allclose(model.predict(tuple(X)), model.predict(X), **TIGHT)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_dataframe_keeps_feature_names(rng):
    X = rng.normal(size=(12, 4))
    df = pd.DataFrame(X, columns=["t0", "t1", "t2", "t3"])
    model = small_regressor().fit(df, rng.normal(size=12))
    assert model.n_features_in_ == 4
    assert_array_equal(model.feature_names_in_, ["t0", "t1", "t2", "t3"])
    assert model.feature_names_in_.dtype == object
    # a DataFrame and its values give the same predictions
    assert_allclose(
        model.predict(df), model.predict(df.to_numpy()[:, :, None]), **TIGHT
    )

    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(df.rename(columns={"t2": "x2"}))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(df[["t1", "t0", "t2", "t3"]])


def test_refit_on_arrays_forgets_feature_names(rng):
    df = pd.DataFrame(rng.normal(size=(12, 4)), columns=list("abcd"))
    model = small_regressor().fit(df, rng.normal(size=12))
    model.fit(rng.normal(size=(12, 5, 2)), rng.normal(size=12))
    assert model.n_features_in_ == 2
    assert not hasattr(model, "feature_names_in_")
    model = small_regressor().fit(df, rng.normal(size=12))
    model.fit(ragged(rng, [3, 6, 2], 3), rng.normal(size=3))
    assert model.n_features_in_ == 3
    assert not hasattr(model, "feature_names_in_")


def test_model_fitted_on_2d_predicts_ragged_1d_sequences(tabular_model, rng):
    X = ragged(rng, [2, 7, 4, 11], None)
    pred = tabular_model.predict(X)
    assert pred.shape == (4,)
    for x, p in zip(X, pred, strict=True):
        assert_allclose(tabular_model.predict(x.reshape(1, -1, 1)), [p], **TIGHT)
    # lengths equal to the fitted number of columns agree with the 2-D form
    X4 = rng.normal(size=(3, 4))
    assert_allclose(
        tabular_model.predict([X4[0], X4[1, :2], X4[2]])[[0, 2]],
        tabular_model.predict(X4[[0, 2]]),
        **TIGHT,
    )


def test_model_fitted_on_2d_predicts_equal_length_list_of_1d_sequences(
    tabular_model, rng
):
    a, b = rng.normal(size=6), rng.normal(size=6)
    in_batch = tabular_model.predict([a, b, rng.normal(size=3)])[:2]
    # one sequence alone, and a list whose sequences all have the same length
    assert_allclose(tabular_model.predict([a]), in_batch[:1], **TIGHT)
    assert_allclose(tabular_model.predict([a, b]), in_batch, **TIGHT)


def test_model_fitted_on_multivariate_3d_refuses_2d(rng):
    model = small_regressor().fit(rng.normal(size=(12, 5, 3)), rng.normal(size=12))
    with pytest.raises(
        ValueError,
        match=r"X is 2-D, which skrnn reads as univariate sequences .* fitted on "
        r"sequences with 3 features per timestep\. Pass a 3-D array \(n_samples, "
        r"n_timesteps, 3\)",
    ):
        model.predict(rng.normal(size=(4, 5)))


def test_model_fitted_on_2d_refuses_multivariate_3d(tabular_model, rng):
    with pytest.raises(
        ValueError,
        match=r"X has 2 features per timestep, but RNNRegressor was fitted on "
        r"univariate sequences \(2-D X\) and expects 1 feature per timestep",
    ):
        tabular_model.predict(rng.normal(size=(3, 4, 2)))
    # univariate 3-D input of any length is fine
    assert tabular_model.predict(rng.normal(size=(3, 9, 1))).shape == (3,)


def test_float32_stays_float32(rng):
    X = rng.normal(size=(12, 5, 2)).astype(np.float32)
    model = small_regressor().fit(X, rng.normal(size=12))
    assert all(w.dtype == np.float32 for w in model.weights_.values())
    assert model.predict(X).dtype == np.float32
    X_list = [x.astype(np.float32) for x in ragged(rng, [3, 7, 1], 2)]
    assert model.predict(X_list).dtype == np.float32
    # a float64 model keeps the caller's float32 too
    model64 = small_regressor().fit(X.astype(np.float64), rng.normal(size=12))
    pred32 = model64.predict(X)
    assert pred32.dtype == np.float32
    assert_allclose(pred32, model64.predict(X.astype(np.float64)), rtol=1e-5, atol=1e-6)
    clf = RNNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    clf.fit(X, np.arange(12) % 3)
    assert clf.predict_proba(X).dtype == np.float32


def test_float32_list_mixed_with_float64_is_float64(rng):
    model = small_regressor().fit(ragged(rng, [3, 6, 2], 2), rng.normal(size=3))
    X = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(5, 2))]
    assert model.predict(X).dtype == np.float64


@pytest.mark.parametrize("form", ["3d", "2d", "list"])
def test_integer_input(rng, form):
    if form == "3d":
        X = rng.randint(-3, 4, size=(12, 5, 2))
    elif form == "2d":
        X = rng.randint(-3, 4, size=(12, 5))
    else:
        X = [rng.randint(-3, 4, size=(L, 2)) for L in rng.randint(1, 8, size=12)]
    y = rng.normal(size=12)
    model = small_regressor().fit(X, y)
    X_float = [x.astype(np.float64) for x in X] if form == "list" else X.astype(float)
    reference = small_regressor().fit(X_float, y)
    pred = model.predict(X)
    assert pred.dtype == np.float64
    assert_allclose(pred, reference.predict(X_float), **TIGHT)


def test_input_is_not_modified(rng):
    X3 = rng.normal(size=(8, 5, 2))
    X_list = ragged(rng, [3, 6, 2, 5], 2)
    X3_copy, X_list_copy = X3.copy(), copy.deepcopy(X_list)
    y = rng.normal(size=8)
    y_copy = y.copy()
    model = small_regressor(solver="lbfgs").fit(X3, y)
    model.predict(X3)
    model.fit(X_list, y[:4])
    model.predict(X_list)
    assert_array_equal(X3, X3_copy)
    assert_array_equal(y, y_copy)
    for x, x_copy in zip(X_list, X_list_copy, strict=True):
        assert_array_equal(x, x_copy)


def test_check_ragged_layout():
    X = [np.arange(6.0).reshape(3, 2), np.arange(2.0).reshape(1, 2) + 10]
    seq = check_ragged(X)
    assert seq.form == "list"
    assert_array_equal(seq.lengths, [3, 1])
    assert seq.X.shape == (3, 2, 2)  # time-major (T, N, F)
    assert seq.X.flags.c_contiguous
    assert_array_equal(seq.X[:, 0], X[0])
    assert_array_equal(seq.X[0, 1], X[1][0])
    assert_array_equal(seq.X[1:, 1], 0.0)  # zero-padded past the end


# --------------------------------------------------------------------------------------
# Other libraries' containers of sequences: object arrays, Series, nested DataFrames


def object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def nested_frame(seqs, columns=("a", "b")):
    """sktime's "nested_univ" format: a row a sample, a cell a pd.Series over time."""
    return pd.DataFrame({c: [pd.Series(s[:, j]) for s in seqs]
                         for j, c in enumerate(columns)})


@pytest.mark.parametrize("container", ["object-array", "series", "nested-frame",
                                       "object-array-equal-lengths"])
def test_containers_of_sequences_read_as_lists(ragged_model, rng, container):
    lengths = [4, 4, 4] if container.endswith("equal-lengths") else [3, 7, 1, 5]
    seqs = ragged(rng, lengths)
    if container.startswith("object-array"):
        X = object_array(seqs)
    elif container == "series":
        X = pd.Series(seqs, index=np.arange(len(seqs)) * 10)  # the index is not read
    else:
        X = nested_frame(seqs)
    assert is_ragged(X)
    seq = check_ragged(X)
    assert_array_equal(seq.lengths, lengths)
    assert_array_equal(seq.X, check_ragged(seqs).X)
    assert_array_equal(ragged_model.predict(X), ragged_model.predict(seqs))


def test_fit_on_a_series_of_arrays_equals_fit_on_the_list(rng):
    seqs = ragged(rng, [3, 7, 2, 5, 4, 6])
    y = rng.normal(size=6)
    a = small_regressor().fit(pd.Series(seqs), y)
    b = small_regressor().fit(seqs, y)
    assert a.n_features_in_ == 2
    assert_array_equal(a.predict(object_array(seqs)), b.predict(seqs))
    c = RNNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    c.fit(nested_frame(seqs), [0, 1] * 3)
    assert c.n_features_in_ == 2


def test_numeric_containers_are_not_ragged(rng):
    assert not is_ragged(pd.Series([1.0, 2.0, 3.0]))
    assert not is_ragged(np.array([1.0, 2.0], dtype=object))
    assert not is_ragged(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object))
    assert not is_ragged(pd.DataFrame({"a": ["x", "y"]}))
    assert not is_ragged(pd.DataFrame({"a": [1.0, 2.0]}))
    # a 2-D object array of numbers is the table it looks like
    X = rng.normal(size=(10, 4))
    model = small_regressor().fit(X.astype(object), X[:, -1])
    assert model.n_features_in_ == 4


def test_bad_sequence_in_a_container_is_named(rng):
    seqs = ragged(rng, [3, 4])
    bad = object_array([seqs[0], np.array([[1.0, np.nan]]), seqs[1]])
    with pytest.raises(ValueError, match=r"X\[1\].*NaN"):
        check_ragged(bad)
    with pytest.raises(TypeError, match=r"X\[1\] is a str"):
        check_ragged(pd.Series([seqs[0], "abc"]))
    frame = nested_frame(seqs)
    frame.iloc[1, 1] = pd.Series(np.ones(2))  # a row whose cells differ in length
    with pytest.raises(ValueError, match="Row 1 of the nested DataFrame"):
        check_ragged(frame)


# --------------------------------------------------------------------------------------
# A prediction does not depend on the company it keeps


def test_ragged_batch_equals_alone_and_any_order(ragged_model, rng):
    X = ragged(rng, [5, 1, 8, 3, 8, 2], 2)
    batch = ragged_model.predict(X)
    alone = np.concatenate([ragged_model.predict(x[None]) for x in X])
    assert_allclose(batch, alone, **TIGHT)
    alone_list = np.concatenate([ragged_model.predict([x]) for x in X])
    assert_allclose(batch, alone_list, **TIGHT)
    perm = rng.permutation(len(X))
    assert_allclose(ragged_model.predict([X[i] for i in perm]), batch[perm], **TIGHT)


lengths_strategy = st.lists(st.integers(1, 10), min_size=1, max_size=7)
seed_strategy = st.integers(0, 2**32 - 1)


@PROPERTY
@given(lengths=lengths_strategy, seed=seed_strategy)
def test_property_ragged_batch_equals_one_at_a_time(ragged_model, lengths, seed):
    X = ragged(np.random.RandomState(seed), lengths, 2)
    batch = ragged_model.predict(X)
    assert batch.shape == (len(X),)
    alone = np.concatenate([ragged_model.predict(x[None]) for x in X])
    assert_allclose(batch, alone, **TIGHT)


@PROPERTY
@given(lengths=lengths_strategy, seed=seed_strategy)
def test_property_permuting_samples_permutes_predictions(ragged_model, lengths, seed):
    rng = np.random.RandomState(seed)
    X = ragged(rng, lengths, 2)
    perm = rng.permutation(len(X))
    assert_allclose(
        ragged_model.predict([X[i] for i in perm]),
        ragged_model.predict(X)[perm],
        **TIGHT,
    )


@PROPERTY
@given(
    n=st.integers(1, 5),
    T=st.integers(1, 8),
    extra_lengths=st.lists(st.integers(1, 16), min_size=1, max_size=4),
    seed=seed_strategy,
)
def test_property_adding_sequences_of_other_lengths_changes_nothing(
    ragged_model, n, T, extra_lengths, seed
):
    rng = np.random.RandomState(seed)
    X3 = rng.normal(size=(n, T, 2))
    expected = ragged_model.predict(X3)
    extras = ragged(rng, extra_lengths, 2)
    # the extras go before, between and after the original sequences
    mixed = list(X3) + extras
    order = rng.permutation(len(mixed))
    pred = ragged_model.predict([mixed[i] for i in order])
    position = np.argsort(order)[:n]
    assert_allclose(pred[position], expected, **TIGHT)


# --------------------------------------------------------------------------------------
# Learning from the last real timestep of variable-length sequences


def _last_value_task(n, rng):
    """Sequences of lengths 3..12; the label is the sign of the last real value, every
    other value is noise."""
    X, y = [], []
    for L in rng.randint(3, 13, size=n):
        x = rng.normal(size=L)
        x[-1] = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 2.0)
        X.append(x)
        y.append(int(x[-1] > 0))
    return X, np.array(y)


def test_label_on_last_real_timestep_is_learned_and_padding_never_leaks(rng):
    X_train, y_train = _last_value_task(300, rng)
    X_test, y_test = _last_value_task(200, rng)
    clf = RNNClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=100,
                        random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9

    proba = clf.predict_proba(X_test)
    # the same sequences in a batch with longer ones (more padding for each of them)
    longer = [rng.normal(size=L) for L in (20, 35, 50)]
    mixed = clf.predict_proba(longer[:1] + X_test + longer[1:])
    assert_allclose(mixed[1:-2], proba, **TIGHT)
    # and each one alone, with no padding at all
    some = range(0, 200, 20)
    alone = np.vstack([clf.predict_proba(X_test[i].reshape(1, -1, 1)) for i in some])
    assert_allclose(alone, proba[list(some)], **TIGHT)

    # A 3-D array has no lengths: appended zeros are real timesteps there, so the
    # check above is sensitive to what padding would do if it leaked.
    padded = np.zeros((len(X_test), 50, 1))
    for i, x in enumerate(X_test):
        padded[i, : len(x), 0] = x
    assert np.max(np.abs(clf.predict_proba(padded) - proba)) > 1e-6


def test_fit_on_ragged_list_is_invariant_to_sample_order(rng):
    X = ragged(rng, [3, 7, 1, 5, 5, 2], 2)
    y = rng.normal(size=6)
    perm = rng.permutation(6)
    for solver in ("lbfgs", "adam"):
        a = small_regressor(solver=solver).fit(X, y)
        b = small_regressor(solver=solver).fit([X[i] for i in perm], y[perm])
        for name, w in a.weights_.items():
            assert_allclose(b.weights_[name], w, **TIGHT, err_msg=f"{solver}: {name}")


# --------------------------------------------------------------------------------------
# Bad input: a clear ValueError/TypeError


def _with_nan(x, index, value=np.nan):
    x = np.array(x, dtype=float)
    x[index] = value
    return x


BAD_X = {
    # name: (X, exception, message)
    "nan-3d": (_with_nan(np.ones((4, 5, 2)), (1, 2, 0)), ValueError,
               "Input X contains NaN"),
    "inf-3d": (_with_nan(np.ones((4, 5, 2)), (3, 4, 1), np.inf), ValueError,
               "Input X contains infinity"),
    "-inf-2d": (_with_nan(np.ones((4, 5)), (0, 0), -np.inf), ValueError,
                "Input X contains infinity"),
    "nan-in-one-ragged-sequence": (
        [np.ones((3, 2)), _with_nan(np.ones((5, 2)), (4, 1)), np.ones((2, 2))],
        ValueError, r"Input X\[1\] contains NaN"),
    "inf-in-one-ragged-sequence": (
        [np.ones((3, 2)), np.ones((5, 2)), _with_nan(np.ones((2, 2)), (0, 0), np.inf)],
        ValueError, r"Input X\[2\] contains infinity"),
    "no-samples-3d": (np.ones((0, 5, 2)), ValueError, r"0 sample\(s\)"),
    "no-samples-2d": (np.ones((0, 5)), ValueError, r"0 sample\(s\)"),
    "empty-list": ([], ValueError, r"0 sample\(s\)"),
    "zero-timesteps-3d": (
        np.ones((4, 0, 2)), ValueError,
        r"0 timestep\(s\).*every sequence needs at least one timestep"),
    "zero-timesteps-2d": (np.ones((4, 0)), ValueError, r"0 feature\(s\)"),
    "zero-features-3d": (np.ones((4, 5, 0)), ValueError, r"0 feature\(s\)"),
    "zero-length-sequence-in-list": (
        [np.ones((3, 2)), np.ones((0, 2)), np.ones((2, 2))], ValueError,
        r"X\[1\] is an empty sequence \(0 timesteps\).*Drop it from the list"),
    "zero-length-1d-sequence-in-list": (
        [np.ones(3), np.ones(5), np.ones(0)], ValueError,
        r"X\[2\] is an empty sequence"),
    "1d": (np.ones(5), ValueError,
           r"Expected 2D or 3D array, got 1D array.*reshape\(1, -1\).*list of 1-D "
           r"or 2-D arrays"),
    "4d": (np.ones((4, 5, 2, 1)), ValueError,
           r"Found array with dim 4.*expects 2-D \(n_samples, n_timesteps\).*3-D "
           r"\(n_samples, n_timesteps, n_features\)"),
    "3d-sequence-in-list": ([np.ones((3, 2)), np.ones((5, 2, 1))], ValueError,
                            "dim 3"),
    "ragged-feature-counts": (
        [np.ones((3, 2)), np.ones((5, 2)), np.ones((4, 3))], ValueError,
        r"Sequences in X have different numbers of features: X\[0\] has 2 and "
        r"X\[2\] has 3\. Every sequence must have the same features per timestep"),
    "strings-3d": (np.full((4, 5, 2), "a"), ValueError, "could not convert string"),
    "strings-2d-dataframe": (pd.DataFrame({"a": ["x", "y"], "b": ["z", "w"]}),
                             ValueError, "could not convert string"),
    "strings-in-one-sequence": ([np.ones((3, 2)), np.full((4, 2), "a")], ValueError,
                                "could not convert string"),
    "complex-3d": (np.ones((4, 5, 2)) * 1j, ValueError, "Complex data not supported"),
    "complex-in-one-sequence": ([np.ones((3, 2)), np.ones((4, 2)) + 1j], ValueError,
                                "Complex data not supported"),
    "sparse-csr-matrix": (sp.csr_matrix(np.ones((4, 5))), TypeError,
                          r"Sparse data was passed for X.*toarray\(\)"),
    "sparse-csr-array": (sp.csr_array(np.ones((4, 5))), TypeError,
                         r"Sparse data was passed for X.*toarray\(\)"),
}


@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")
@pytest.mark.parametrize("name", list(BAD_X))
@pytest.mark.parametrize("method", ["fit", "predict"])
def test_bad_x_is_refused_with_a_clear_message(name, method, rng):
    X, exception, message = BAD_X[name]
    model = small_regressor()
    if method == "fit":
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        with pytest.raises(exception, match=message):
            model.fit(X, np.arange(n, dtype=float))
        assert not hasattr(model, "weights_")
        assert not hasattr(model, "n_features_in_")
    else:
        model.fit(rng.normal(size=(6, 5, 2)), rng.normal(size=6))
        with pytest.raises(exception, match=message):
            model.predict(X)


@pytest.mark.parametrize("where", ["first", "second", "only"])
def test_sparse_sequence_in_a_list_is_refused_clearly(rng, where):
    model = small_regressor().fit(ragged(rng, [3, 6, 2], 2), rng.normal(size=3))
    sparse = sp.csr_matrix(np.ones((5, 2)))
    X = {"first": [sparse, np.ones((3, 2))], "second": [np.ones((3, 2)), sparse],
         "only": [sparse]}[where]
    with pytest.raises(TypeError, match=r"Sparse data was passed for X.*toarray"):
        model.predict(X)


def test_feature_count_different_from_fit(rng):
    model = small_regressor().fit(rng.normal(size=(6, 5, 2)), rng.normal(size=6))
    msg = r"X has 3 features, but RNNRegressor is expecting 2 features as input\."
    with pytest.raises(ValueError, match=msg):
        model.predict(rng.normal(size=(4, 5, 3)))
    with pytest.raises(ValueError, match=msg):
        model.predict(ragged(rng, [3, 6], 3))
    with pytest.raises(ValueError, match=msg):
        model.partial_fit(rng.normal(size=(4, 5, 3)), rng.normal(size=4))


@pytest.mark.parametrize("form", ["3d", "list"])
@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_targets_with_nan(rng, form, Estimator):
    X = rng.normal(size=(6, 5, 2)) if form == "3d" else ragged(rng, [3, 6, 2, 4, 1, 5])
    y = np.array([0.0, 1.0, np.nan, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        Estimator(max_iter=2).fit(X, y)


@pytest.mark.parametrize("form", ["3d", "2d", "list"])
def test_x_y_length_mismatch(rng, form):
    X = {"3d": rng.normal(size=(6, 5, 2)), "2d": rng.normal(size=(6, 5)),
         "list": ragged(rng, [3, 6, 2, 4, 1, 5])}[form]
    with pytest.raises(ValueError,
                       match=r"inconsistent numbers of samples: \[6, 5\]"):
        small_regressor().fit(X, rng.normal(size=5))


# --------------------------------------------------------------------------------------
# A refused call changes nothing


def _snapshot(model, X_probe):
    return dict(
        weights={k: v.copy() for k, v in model.weights_.items()},
        n_features_in_=model.n_features_in_,
        feature_names_in_=copy.copy(getattr(model, "feature_names_in_", None)),
        predictions=model.predict(X_probe),
        n_iter_=model.n_iter_,
        t_=model.t_,
        loss_curve_=list(model.loss_curve_),
    )


def _assert_unchanged(model, before, X_probe):
    after = _snapshot(model, X_probe)
    assert after["weights"].keys() == before["weights"].keys()
    for name, w in before["weights"].items():
        assert_array_equal(after["weights"][name], w, err_msg=name)
    assert after["n_features_in_"] == before["n_features_in_"]
    if before["feature_names_in_"] is None:
        assert after["feature_names_in_"] is None
    else:
        assert_array_equal(after["feature_names_in_"], before["feature_names_in_"])
    assert_array_equal(after["predictions"], before["predictions"])
    assert after["n_iter_"] == before["n_iter_"]
    assert after["t_"] == before["t_"]
    assert after["loss_curve_"] == before["loss_curve_"]


REFUSED_ON_DATAFRAME_MODEL = {
    # name: (method, X, y) on a model fitted on a 4-column DataFrame
    "fit-nan": ("fit", _with_nan(np.ones((6, 4)), (2, 3)), np.ones(6)),
    "fit-ragged-nan": ("fit", [np.ones(3), _with_nan(np.ones(4), 1)], np.ones(2)),
    "fit-nan-y": ("fit", np.ones((6, 4)), _with_nan(np.ones(6), 0)),
    "fit-ragged-nan-y": ("fit", [np.ones(3), np.ones(4)], [1.0, np.nan]),
    "fit-length-mismatch": ("fit", np.ones((6, 5, 2)), np.ones(5)),
    "fit-ragged-features": ("fit", [np.ones((3, 2)), np.ones((4, 3))], np.ones(2)),
    "fit-zero-length": ("fit", [np.ones(3), np.ones(0)], np.ones(2)),
    "fit-4d": ("fit", np.ones((6, 4, 1, 1)), np.ones(6)),
    "fit-strings": ("fit", np.full((6, 4), "a"), np.ones(6)),
    "fit-sparse": ("fit", sp.csr_matrix(np.ones((6, 4))), np.ones(6)),
    "partial_fit-nan": ("partial_fit", _with_nan(np.ones((6, 4)), (0, 0)), np.ones(6)),
    "partial_fit-columns": ("partial_fit", np.ones((6, 3)), np.ones(6)),
    "partial_fit-features": ("partial_fit", np.ones((6, 4, 2)), np.ones(6)),
    "partial_fit-ragged-inf": (
        "partial_fit", [np.ones(3), _with_nan(np.ones(4), 1, np.inf)], np.ones(2)),
    "partial_fit-complex": ("partial_fit", np.ones((6, 4)) * 1j, np.ones(6)),
    "predict-columns": ("predict", np.ones((6, 3)), None),
    "predict-renamed": ("predict", "renamed", None),
    "predict-features": ("predict", np.ones((6, 4, 2)), None),
    "predict-ragged-nan": ("predict", [np.ones(3), _with_nan(np.ones(4), 1)], None),
    "predict-1d": ("predict", np.ones(4), None),
    "predict-empty": ("predict", np.ones((0, 4)), None),
}


@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.parametrize("name", list(REFUSED_ON_DATAFRAME_MODEL))
def test_refused_call_changes_nothing_dataframe_model(name, rng):
    method, X, y = REFUSED_ON_DATAFRAME_MODEL[name]
    df = pd.DataFrame(rng.normal(size=(10, 4)), columns=["a", "b", "c", "d"])
    model = small_regressor().fit(df, rng.normal(size=10))
    if isinstance(X, str):
        X = df.rename(columns={"a": "z"})
    before = _snapshot(model, df)
    with pytest.raises((ValueError, TypeError)):
        if method == "predict":
            model.predict(X)
        else:
            getattr(model, method)(X, y)
    _assert_unchanged(model, before, df)


REFUSED_ON_RAGGED_MODEL = {
    # name: (method, X, y) on a classifier fitted on ragged sequences with 2 features
    "fit-nan": ("fit", [np.ones((3, 2)), _with_nan(np.ones((5, 2)), (0, 1))], [0, 1]),
    "fit-no-samples": ("fit", np.ones((0, 5, 2)), []),
    "fit-zero-timesteps": ("fit", np.ones((2, 0, 2)), [0, 1]),
    "fit-1d": ("fit", np.ones(5), [0, 1, 0, 1, 0]),
    "fit-complex": ("fit", [np.ones((3, 2)) * 1j, np.ones((5, 2))], [0, 1]),
    "partial_fit-features": ("partial_fit", [np.ones((3, 3)), np.ones((5, 3))], [0, 1]),
    "partial_fit-2d": ("partial_fit", np.ones((2, 5)), [0, 1]),
    "partial_fit-nan-y": ("partial_fit", [np.ones((3, 2)), np.ones((5, 2))],
                          [0, np.nan]),
    "partial_fit-unseen-class": ("partial_fit", [np.ones((3, 2)), np.ones((5, 2))],
                                 [0, 7]),
    "partial_fit-length": ("partial_fit", [np.ones((3, 2)), np.ones((5, 2))], [0]),
    "predict-ragged-inf": ("predict", [np.ones((3, 2)),
                                       _with_nan(np.ones((5, 2)), (4, 0), -np.inf)],
                           None),
    "predict-2d": ("predict", np.ones((2, 5)), None),
    "predict-zero-length": ("predict", [np.ones((3, 2)), np.ones((0, 2))], None),
}


@pytest.mark.parametrize("name", list(REFUSED_ON_RAGGED_MODEL))
def test_refused_call_changes_nothing_ragged_classifier(name, rng):
    method, X, y = REFUSED_ON_RAGGED_MODEL[name]
    X_fit = ragged(rng, rng.randint(1, 8, size=12), 2)
    model = RNNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    model.fit(X_fit, np.arange(12) % 2)
    classes = model.classes_.copy()
    before = _snapshot(model, X_fit)
    proba = model.predict_proba(X_fit)
    # refused by a clear error, with no stray NumPy warning on the way
    with pytest.raises((ValueError, TypeError)), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if method == "predict":
            model.predict_proba(X)
        else:
            getattr(model, method)(X, y)
    _assert_unchanged(model, before, X_fit)
    assert_array_equal(model.classes_, classes)
    assert_array_equal(model.predict_proba(X_fit), proba)
