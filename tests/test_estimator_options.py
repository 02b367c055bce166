"""The estimators' accuracy options: pooling, bidirectional, dropout, segment_length,
segment_jitter, class_weight, transform, and the standardisation inside (folded into
``weights_``)."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skrnn import RNNClassifier, RNNRegressor
from skrnn._network import NetworkSpec, fold_scaling, init_params, unpack
from skrnn._sequences import Sequences, segment

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=60, T=9, F=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, F))
    y = X[:, 0, 0] + 0.5 * X[:, -1, -1]
    return X, y


# --------------------------------------------------------------------------------------
# Standardisation inside, folded into weights_


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_predictions_do_not_depend_on_the_inputs_scale(Estimator, solver):
    """Features offset by 50 and scaled by 10 give the model of the standardised data
    (the statistics are the only difference, so the two fits agree to rounding)."""
    X, y = _data()
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=15, random_state=0)
    a = Estimator(**kw).fit(X, y)
    b = Estimator(**kw).fit(50 + 10 * X, y)
    pa = a.predict_proba(X) if Estimator is RNNClassifier else a.predict(X)
    pb = b.predict_proba(50 + 10 * X) if Estimator is RNNClassifier else b.predict(50 + 10 * X)
    assert_allclose(pb, pa, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_predictions_follow_the_targets_scale(solver):
    X, y = _data()
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=15, random_state=0)
    a = RNNRegressor(**kw).fit(X, y)
    b = RNNRegressor(**kw).fit(X, 1000 + 670 * y)
    assert_allclose(b.predict(X), 1000 + 670 * a.predict(X), rtol=1e-7)


def test_raw_targets_around_1000_are_learned():
    """The report of issue #17: targets 1000 +- 670 scored R2 -1.95 before."""
    X, y = _data(n=150)
    reg = RNNRegressor(random_state=0).fit(X, 1000 + 670 * y)
    assert reg.score(X, 1000 + 670 * y) > 0.9


def test_poisson_targets_are_divided_by_their_mean():
    X, _ = _data()
    rng = np.random.RandomState(1)
    y = rng.poisson(200 * np.exp(0.3 * X[:, 0, 0]))
    kw = dict(loss="poisson", hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30,
              random_state=0)
    a = RNNRegressor(**kw).fit(X, y)
    b = RNNRegressor(**kw).fit(X, 10 * y)
    assert_allclose(b.predict(X), 10 * a.predict(X), rtol=1e-6)
    assert a.predict(X).min() > 0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_fold_scaling_round_trip(cell, bidirectional):
    spec = NetworkSpec(cell, "tanh", 6, (4, 3), 2, "identity", bidirectional, "mean")
    W = unpack(init_params(spec, np.random.RandomState(0)), spec)
    args = (np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([5.0, 7.0]),
            np.array([2.0, 0.1]))
    back = fold_scaling(fold_scaling(W, spec, *args), spec, *args, inverse=True)
    for name, w in W.items():
        assert_allclose(back[name], w, rtol=1e-12, atol=1e-14)


def test_warm_start_goes_on_from_the_live_weights():
    """A warm start unfolds ``weights_`` into the standardised model: one more L-BFGS
    run starts where the last ended, so its loss does not go up."""
    X, y = _data()
    reg = RNNRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=20,
                       warm_start=True, random_state=0).fit(50 + 10 * X, 3 * y)
    first = reg.loss_
    reg.set_params(max_iter=1)
    reg.fit(50 + 10 * X, 3 * y)
    assert reg.loss_ <= first + 1e-12


def test_editing_weights_changes_predictions():
    X, y = _data()
    reg = RNNRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    before = reg.predict(X)
    reg.weights_["out_bias"] += 1.0
    assert_allclose(reg.predict(X), before + 1.0, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Options


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_dropout_with_lbfgs_is_refused_and_keeps_the_model(Estimator):
    X, y = _data()
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    est = Estimator(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5,
                    random_state=0).fit(X, y)
    state = pickle.dumps(est)
    est.set_params(dropout=0.2, warm_start=True)
    with pytest.raises(ValueError, match="dropout=0.2 needs a stochastic solver"):
        est.fit(X, y)
    est.set_params(dropout=0.0, warm_start=False)
    assert pickle.dumps(est) == state


def test_dropout_fits_are_reproducible_and_differ_from_no_dropout():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(6, 6), max_iter=5, random_state=0)
    a = RNNRegressor(dropout=0.3, **kw).fit(X, y)
    b = RNNRegressor(dropout=0.3, **kw).fit(X, y)
    c = RNNRegressor(**kw).fit(X, y)
    for name in a.weights_:
        assert np.array_equal(a.weights_[name], b.weights_[name])
    assert not np.allclose(a.predict(X), c.predict(X))
    # no dropout at prediction: predicting twice gives the same values
    assert np.array_equal(a.predict(X), a.predict(X))


def test_segment_length_reads_k_steps_as_one_vector():
    X, y = _data(T=9, F=2)
    reg = RNNRegressor(hidden_layer_sizes=(5,), segment_length=3, max_iter=3,
                       random_state=0).fit(X, y)
    assert reg.weights_["weight_ih_l0"].shape == (15, 6)
    # the same network on the segmented input, without segments
    Xs = X.reshape(len(X), 3, 6)
    same = RNNRegressor(hidden_layer_sizes=(5,), max_iter=1, random_state=0).fit(Xs, y)
    for name, w in reg.weights_.items():
        same.weights_[name][...] = w
    assert_allclose(same.predict(Xs), reg.predict(X), rtol=1e-12)


def test_segment_of_a_ragged_sequence_repeats_its_last_step():
    X, y = _data(T=9, F=2)
    reg = RNNRegressor(hidden_layer_sizes=(5,), segment_length=3, max_iter=3,
                       random_state=0).fit(X, y)
    short = X[0, :7]
    padded = np.concatenate([short, short[[-1, -1]]])
    assert_allclose(reg.predict([short, X[1]])[0], reg.predict(padded[None])[0],
                    rtol=1e-12)


def test_segment_function_layout():
    X = np.arange(14, dtype=float).reshape(7, 2, 1)  # (T, N, F)
    seq = segment(Sequences(X, np.array([7, 4]), "list"), 3)
    assert seq.X.shape == (3, 2, 3)
    assert seq.lengths.tolist() == [3, 2]
    assert seq.X[:, 0].tolist() == [[0, 2, 4], [6, 8, 10], [12, 12, 12]]
    assert seq.X[:, 1].tolist() == [[1, 3, 5], [7, 7, 7], [0, 0, 0]]


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_segment_function_offset_starts_each_sequence_early(offset):
    X = np.arange(14, dtype=float).reshape(7, 2, 1)  # (T, N, F)
    seq = segment(Sequences(X, np.array([7, 4]), "list"), 3, offset=offset)
    for i, length in enumerate([7, 4]):
        x = X[:length, i, 0]
        # the first step repeated `offset` times in front, the last to fill a segment
        front = np.concatenate([np.repeat(x[0], offset), x])
        n_segments = -(-(length + offset) // 3)
        full = np.concatenate([front, np.repeat(x[-1], 3 * n_segments - len(front))])
        assert seq.lengths[i] == n_segments
        assert seq.X[:n_segments, i].tolist() == full.reshape(n_segments, 3).tolist()
        assert not seq.X[n_segments:, i].any()
    assert seq.X.shape == (-(-(7 + offset) // 3), 2, 3)
    if offset == 2:  # written out once
        assert seq.X[:, 0].tolist() == [[0, 0, 0], [2, 4, 6], [8, 10, 12]]
        assert seq.X[:, 1].tolist() == [[1, 1, 1], [3, 5, 7], [0, 0, 0]]


def _inputs_seen_in_training(monkeypatch, estimator, X, y, **fit_params):
    """Fit ``estimator``; the ``(X, lengths, Y)`` of every loss_and_grad call."""
    import skrnn._base as base

    seen, original = [], base.loss_and_grad

    def recording(theta, X, lengths, Y, *args, **kwargs):
        seen.append((X.copy(), lengths.copy(), Y.copy()))
        return original(theta, X, lengths, Y, *args, **kwargs)

    monkeypatch.setattr(base, "loss_and_grad", recording)
    estimator.fit(X, y, **fit_params)
    return seen


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
@pytest.mark.parametrize("batch_size", [16, "auto"])
def test_segment_jitter_trains_on_each_sequence_started_early(monkeypatch, Estimator,
                                                               batch_size):
    """Every training batch holds sequences of the data, each read with its segments
    started 0 to k-1 steps early (the same for the whole batch), every offset drawn,
    each with its own target; prediction reads no offset."""
    X, y = _data(n=40, T=9, F=2)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    k = 3
    est = Estimator(hidden_layer_sizes=(3,), segment_length=k, segment_jitter=True,
                    batch_size=batch_size, max_iter=12, random_state=0)
    seen = _inputs_seen_in_training(monkeypatch, est, X, y)
    # the network's input of each training sequence at each offset
    seq = est._validate_input(X, reset=False)[0]
    by_offset = [est._network_input(seq, standardized=True, offset=o) for o in range(k)]
    if Estimator is RNNRegressor:  # the targets as the network learns them
        targets = (y - est._y_shift) / est._y_scale
    used = set()
    for Xb, lengths, Yb in seen:
        batch_offsets = set(range(k))
        for j, length in enumerate(lengths):
            matches = [(o, i) for o in range(k) for i in range(len(X))
                       if by_offset[o].lengths[i] == length
                       and np.array_equal(by_offset[o].X[:length, i], Xb[:length, j])]
            assert matches, "a training sequence is no sequence of the data"
            used.update(o for o, _ in matches)
            batch_offsets &= {o for o, _ in matches}
            if Estimator is RNNRegressor:  # (every y differs)
                assert any(np.isclose(Yb[j, 0], targets[i]) for _, i in matches)
        assert batch_offsets, "the sequences of a batch have different offsets"
    assert used == {0, 1, 2}


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_segment_jitter_predicts_the_mean_over_the_offsets(Estimator):
    """Predictions and features are the mean of the network's over offsets 0 to k-1
    (k <= 8), each offset read as training reads it; one offset differs."""
    from skrnn._network import pooled_features, predict

    X, y = _data(n=40, T=9, F=2)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    k = 3
    est = Estimator(hidden_layer_sizes=(3,), segment_length=k, segment_jitter=True,
                    max_iter=12, random_state=0).fit(X, y)
    seq = est._validate_input(X, reset=False)[0]
    inputs = [est._network_input(seq, offset=o) for o in range(k)]
    each = [predict(est.weights_, s.X, s.lengths, est._spec) for s in inputs]
    got = (est.predict(X)[:, None] if Estimator is RNNRegressor
           else est.predict_proba(X)[:, 1:])
    assert_allclose(got, np.mean(each, axis=0), rtol=1e-12)
    assert not np.allclose(got, each[0], rtol=1e-3)
    features = [pooled_features(est.weights_, s.X, s.lengths, est._spec)
                for s in inputs]
    assert_allclose(est.transform(X), np.mean(features, axis=0), rtol=1e-12)
    # the same weights trained without the jitter predict from offset 0 alone
    plain = Estimator(hidden_layer_sizes=(3,), segment_length=k, max_iter=1,
                      segment_jitter=False, random_state=0).fit(X, y)
    for name, w in est.weights_.items():
        plain.weights_[name][...] = w
    plain_got = (plain.predict(X)[:, None] if Estimator is RNNRegressor
                 else plain.predict_proba(X)[:, 1:])
    assert_allclose(plain_got, each[0], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_segment_jitter_mean_of_saturated_exp_outputs_stays_finite(dtype):
    """A Poisson head saturated at the largest float at every offset: the mean over
    the offsets is that float, not an overflow to inf (nor a RuntimeWarning)."""
    X, y = _data(n=20, T=9, F=2)
    X = X.astype(dtype)
    reg = RNNRegressor(loss="poisson", hidden_layer_sizes=(3,), segment_length=3,
                       segment_jitter=True, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, np.exp(y))
    reg.weights_["out_bias"][...] = 1000.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pred = reg.predict(X[:4])
    assert np.isfinite(pred).all()
    assert_allclose(pred, np.finfo(dtype).max, rtol=1e-6)


def test_partial_fit_takes_a_sparse_multilabel_y_and_refuses_its_nan():
    import scipy.sparse as sp

    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 6, 2))
    Y = (rng.rand(12, 3) > 0.5).astype(float)
    clf = RNNClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    clf.partial_fit(X, sp.csr_matrix(Y), classes=[0, 1, 2])
    assert clf.predict(X).shape == (12, 3)
    bad = sp.csr_matrix(Y)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RNNClassifier(max_iter=1).partial_fit(X, bad, classes=[0, 1, 2])


@pytest.mark.parametrize("params, offsets", [
    (dict(segment_length=3), (0, 1, 2)),
    (dict(segment_length=8), tuple(range(8))),
    (dict(segment_length=20), (0, 2, 5, 7, 10, 12, 15, 17)),  # at most 8, spread
    (dict(segment_length=3, solver="lbfgs"), (0,)),  # trained without offsets
    (dict(segment_length=1), (0,)),
    (dict(segment_length=3, segment_jitter=False), (0,)),
])
def test_segment_jitter_offsets_averaged_at_prediction(params, offsets):
    X, y = _data(n=10, T=40, F=1)
    kw = dict(hidden_layer_sizes=(2,), max_iter=2, segment_jitter=True,
              random_state=0)
    kw.update(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = RNNRegressor(**kw).fit(X, y)
    assert est._predict_offsets == offsets


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_segment_jitter_is_reproducible_and_changes_the_fit(Estimator):
    X, y = _data(n=40, T=9, F=2)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    kw = dict(hidden_layer_sizes=(4,), segment_length=3, max_iter=5, random_state=0)
    a = Estimator(segment_jitter=True, **kw).fit(X, y)
    b = Estimator(segment_jitter=True, **kw).fit(X, y)
    c = Estimator(segment_jitter=False, **kw).fit(X, y)
    for name in a.weights_:
        assert np.array_equal(a.weights_[name], b.weights_[name])
    assert not np.allclose(a.weights_["weight_ih_l0"], c.weights_["weight_ih_l0"])


@pytest.mark.parametrize("params", [
    dict(segment_length=1),  # one step a segment: no offset to draw
    dict(segment_length=None),
    dict(segment_length=3, solver="lbfgs"),  # a deterministic objective
])
def test_segment_jitter_is_a_no_op_where_it_does_not_apply(params):
    X, y = _data(n=40, T=9, F=2)
    kw = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0, **params)
    a = RNNRegressor(segment_jitter=True, **kw).fit(X, y)
    b = RNNRegressor(**kw).fit(X, y)
    for name in a.weights_:
        assert np.array_equal(a.weights_[name], b.weights_[name])


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_segment_jitter_full_batch_weight_equals_repeat(Estimator):
    """In one full batch, repeating a sample and weighting it by 2 still give the same
    fit, bit for bit: the offsets are drawn for the canonical (merged) samples."""
    X, y = _data(n=30, T=9, F=2)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    kw = dict(hidden_layer_sizes=(4,), segment_length=3, segment_jitter=True,
              max_iter=5, random_state=0)
    w = np.ones(len(X))
    w[:5] = 2
    weighted = Estimator(**kw).fit(X, y, sample_weight=w)
    order = np.random.RandomState(1).permutation(len(X) + 5)
    Xr, yr = np.concatenate([X, X[:5]])[order], np.concatenate([y, y[:5]])[order]
    repeated = Estimator(**kw).fit(Xr, yr)
    for name in weighted.weights_:
        assert np.array_equal(weighted.weights_[name], repeated.weights_[name])


def test_segment_jitter_with_early_stopping_and_partial_fit():
    X, y = _data(n=60, T=9, F=2)
    kw = dict(hidden_layer_sizes=(4,), segment_length=3, segment_jitter=True,
              random_state=0)
    reg = RNNRegressor(early_stopping=True, max_iter=20, **kw).fit(X, y)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert np.isfinite(reg.predict(X)).all()
    inc = RNNRegressor(**kw)
    for _ in range(3):
        inc.partial_fit(X, y)
    assert inc.n_iter_ == 3 and np.isfinite(inc.predict(X)).all()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("offset", [1, 2])
def test_gradient_on_a_jittered_batch_matches_finite_differences(cell, offset):
    """The exact gradient on what a jittered batch feeds the network (ragged sequences
    started early, each relative to itself, both directions, max pooling, the skip):
    central differences of the loss, on a random subset of the parameters."""
    from skrnn._network import init_params, loss_and_grad

    rng = np.random.RandomState(0)
    X = [rng.normal(size=(length, 2)) for length in (7, 9, 8, 5)]
    y = rng.normal(size=4)
    reg = RNNRegressor(cell=cell, hidden_layer_sizes=(3, 2), segment_length=3,
                       sequence_norm=True, pooling="max", max_iter=1,
                       random_state=0).fit(X, y)
    seq = reg._validate_input(X, reset=False)[0]
    batch = reg._network_input(seq, standardized=True, offset=offset)
    assert batch.lengths.tolist() == [-(-(n + offset) // 3) for n in (7, 9, 8, 5)]
    spec = reg._spec
    theta = init_params(spec, rng)
    Y = y[:, None]

    def loss(th):
        return loss_and_grad(th, batch.X, batch.lengths, Y, spec, None, 0.1)[0]

    grad = loss_and_grad(theta, batch.X, batch.lengths, Y, spec, None, 0.1)[1]
    coords = rng.choice(theta.size, 40, replace=False)
    numeric = []
    for i in coords:
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric.append((loss(theta + step) - loss(theta - step)) / 2e-6)
    numeric = np.array(numeric)
    assert np.linalg.norm(numeric - grad[coords]) <= 1e-6 * np.linalg.norm(
        numeric + grad[coords])


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_models_pickled_before_segment_jitter_load_without_it(Estimator):
    X, y = _data(n=30, T=9, F=2)
    if Estimator is RNNClassifier:
        y = (y > 0).astype(int)
    est = Estimator(hidden_layer_sizes=(3,), segment_length=3, segment_jitter=False,
                    max_iter=2, random_state=0).fit(X, y)
    state = est.__getstate__()
    del state["segment_jitter"]  # as a model of an earlier version
    old = Estimator.__new__(Estimator)
    old.__setstate__(state)
    # it was trained without the jitter, and a refit of its parameters is too
    assert old.get_params()["segment_jitter"] is False
    refit = clone(old).fit(X, y)
    for name in est.weights_:
        assert np.array_equal(refit.weights_[name], est.weights_[name])


def test_models_pickled_before_the_mean_over_offsets_predict_as_they_did():
    """A model trained with segment_jitter by a version that predicted from offset 0
    alone keeps its predictions when loaded; a refit averages."""
    X, y = _data(n=30, T=9, F=2)
    y = (y > 0).astype(int)
    est = RNNClassifier(hidden_layer_sizes=(3,), segment_length=3, max_iter=2,
                        random_state=0).fit(X, y)
    state = est.__getstate__()
    del state["_predict_offsets"]  # as a model of the earlier version
    old = RNNClassifier.__new__(RNNClassifier)
    old.__setstate__(state)
    seq = est._validate_input(X, reset=False)[0]
    first = est._network_input(seq)  # offset 0
    from skrnn._network import predict
    assert_allclose(old.predict_proba(X)[:, 1],
                    predict(est.weights_, first.X, first.lengths, est._spec)[:, 0],
                    rtol=1e-12)
    assert_allclose(clone(old).fit(X, y).predict_proba(X), est.predict_proba(X))


def test_segment_length_auto_reads_at_most_32_segments():
    X, y = _data(n=20, T=100, F=1)
    reg = RNNRegressor(hidden_layer_sizes=(3,), segment_length="auto", max_iter=1,
                       random_state=0).fit(X, y)
    assert reg.weights_["weight_ih_l0"].shape[1] == 4  # ceil(100 / 32) = 4 steps


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_transform_returns_the_pooled_features(pooling, bidirectional):
    X, y = _data()
    reg = RNNRegressor(hidden_layer_sizes=(4, 3), pooling=pooling,
                       bidirectional=bidirectional, max_iter=3, random_state=0).fit(X, y)
    Z = reg.transform(X)
    width = 3 * (2 if bidirectional else 1)
    assert Z.shape == (len(X), width)
    # the head reads the features, plus the linear skip's map of the input's window
    window = X[:, -reg._spec.skip_steps * reg._segment_length:].reshape(len(X), -1)
    assert_allclose(Z @ reg.weights_["out_weight"].T + reg.weights_["out_bias"]
                    + window @ reg.weights_["skip_weight"].T,
                    reg.predict(X)[:, None], rtol=1e-10, atol=1e-12)
    names = reg.get_feature_names_out()
    assert names.tolist() == [f"rnnregressor{i}" for i in range(width)]


def test_rnn_features_feed_a_logistic_regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 10, 1))
    y = (X[:, :3, 0].sum(axis=1) > 0).astype(int)
    rnn = RNNClassifier(hidden_layer_sizes=(8,), pooling="mean", solver="lbfgs",
                        max_iter=100, random_state=0).fit(X, y)
    lr = LogisticRegression().fit(rnn.transform(X), y)
    assert lr.score(rnn.transform(X), y) > 0.8
    # and in a pipeline, where the RNN is fitted first on the same labels
    pipe = make_pipeline(clone(rnn), LogisticRegression()).fit(X, y)
    assert pipe.score(X, y) > 0.8


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RNNRegressor().transform(np.zeros((2, 3, 1)))
    with pytest.raises(NotFittedError):
        RNNRegressor().get_feature_names_out()


# --------------------------------------------------------------------------------------
# class_weight


def test_class_weight_multiplies_sample_weight():
    X, y = _data()
    y = (y > 0.3).astype(int)
    kw = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0)
    sw = np.linspace(0.5, 2, len(y))
    a = RNNClassifier(class_weight={0: 3.0, 1: 0.5}, **kw).fit(X, y, sample_weight=sw)
    b = RNNClassifier(**kw).fit(X, y, sample_weight=sw * np.where(y == 0, 3.0, 0.5))
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)


def test_class_weight_balanced():
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = _data()
    y = (y > 0.8).astype(int)
    kw = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0)
    a = RNNClassifier(class_weight="balanced", **kw).fit(X, y)
    b = RNNClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)


def test_class_weight_balanced_is_refused_by_partial_fit():
    X, y = _data()
    y = (y > 0).astype(int)
    clf = RNNClassifier(class_weight="balanced")
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "weights_")
    clf.set_params(class_weight={0: 1.0, 1: 2.0})
    clf.partial_fit(X, y, classes=[0, 1])
    assert clf.n_iter_ == 1


def test_class_weight_dict_with_unknown_label_raises():
    X, y = _data()
    y = (y > 0).astype(int)
    with pytest.raises(ValueError, match="not present|not found|not in"):
        RNNClassifier(class_weight={0: 1.0, 5: 2.0}, max_iter=2).fit(X, y)


def test_options_survive_clone_and_pickle():
    X, y = _data()
    reg = RNNRegressor(hidden_layer_sizes=(4,), pooling="max", bidirectional=True,
                       dropout=0.1, segment_length=3, segment_jitter=True, max_iter=3,
                       random_state=0)
    params = clone(reg).get_params()
    for name in ("pooling", "bidirectional", "dropout", "segment_length",
                 "segment_jitter"):
        assert params[name] == reg.get_params()[name]
    reg.fit(X, y)
    again = pickle.loads(pickle.dumps(reg))
    assert np.array_equal(again.predict(X), reg.predict(X))


def test_no_warning_on_a_well_posed_default_fit():
    X, y = _data(n=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNRegressor(random_state=0, max_iter=5).fit(X, y).predict(X)
