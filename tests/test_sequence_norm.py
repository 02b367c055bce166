"""``sequence_norm``: each sequence read relative to itself (its shape, level and log
scale over its own real timesteps, :func:`skrnn._sequences.normalize_each`).

Checked against its definition (a per-sequence loop), on what it is for (classes that
differ in shape while their levels and scales differ by orders of magnitude; and
classes that differ in scale alone, which the shape leaves out), and on the estimator's
contract (the network reads the normalised features, the fitted model stays fitted
through refused changes, old pickles load without it).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skrnn import RNNClassifier, RNNRegressor
from skrnn._network import predict
from skrnn._sequences import SCALE_FLOOR, check_ragged, normalize_each, segment

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _ragged(seed=0, n=7, F=2):
    rng = np.random.RandomState(seed)
    return [rng.standard_normal((length, F)) * 10.0 ** rng.uniform(-2, 2, F)
            + rng.uniform(-50, 50, F) for length in rng.randint(1, 12, size=n)]


def test_the_definition_per_sequence():
    seqs = _ragged()
    seqs[1][:] = 4.0  # a constant sequence has no shape
    shift, scale = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    out = normalize_each(check_ragged(seqs), shift, scale)
    assert out.X.shape == (max(map(len, seqs)), len(seqs), 6)
    for i, x in enumerate(seqs):
        u = (x - shift) / scale
        std = np.sqrt(u.var(axis=0) + SCALE_FLOOR ** 2)
        expected = np.hstack([(u - u.mean(axis=0)) / std,
                              np.tile(u.mean(axis=0), (len(x), 1)),
                              np.tile(np.log(std), (len(x), 1))])
        assert_allclose(out.X[:len(x), i], expected, rtol=1e-12, atol=1e-12)
        assert not out.X[len(x):, i].any()  # zero past the end
    assert not out.X[:len(seqs[1]), 1, :2].any()
    assert_allclose(out.X[:len(seqs[1]), 1, 4:], np.log(SCALE_FLOOR))


def test_padding_never_enters():
    seqs = _ragged()
    seq = check_ragged(seqs)
    X = seq.X.copy()
    X[np.arange(len(X))[:, None] >= seq.lengths] = 1e6  # what was zero padding
    a = normalize_each(seq, np.zeros(2), np.ones(2))
    b = normalize_each(seq._replace(X=X), np.zeros(2), np.ones(2))
    assert_allclose(a.X, b.X, rtol=0, atol=0)


def test_the_shape_forgets_level_and_scale_and_the_rest_keeps_them():
    x = np.sin(np.linspace(0, 6, 30))[:, None]
    seqs = [x, 1e3 * x + 500.0]
    out = normalize_each(check_ragged(seqs), np.zeros(1), np.ones(1)).X
    assert_allclose(out[:, 0, 0], out[:, 1, 0], rtol=1e-6)  # the same shape
    assert_allclose(out[0, 1, 1] - out[0, 0, 1], 999.0 * x.mean() + 500.0,
                    rtol=1e-9)  # levels
    assert_allclose(out[0, 1, 2] - out[0, 0, 2], np.log(1e3), rtol=1e-6)  # log scales


def _waves(n, seed):
    """Sines (class 0) and square waves (class 1) at levels and scales spread over
    six orders of magnitude."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 4 * np.pi, 40)
    y = rng.randint(0, 2, n)
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    shape = np.where(y[:, None] == 0, np.sin(t + phase), np.sign(np.sin(t + phase)))
    X = shape * 10.0 ** rng.uniform(-3, 3, (n, 1)) + rng.uniform(-1e3, 1e3, (n, 1))
    return X, y


def test_shapes_at_scales_far_apart():
    X, y = _waves(120, 0)
    X_test, y_test = _waves(200, 1)
    normed = RNNClassifier(random_state=0, max_iter=60).fit(X, y)
    assert normed._sequence_norm
    plain = RNNClassifier(sequence_norm=False, random_state=0, max_iter=60).fit(X, y)
    assert normed.score(X_test, y_test) > 0.95
    assert plain.score(X_test, y_test) < normed.score(X_test, y_test) - 0.1


def test_the_scale_alone_is_still_seen():
    """The same shape, classes told apart by the scale only: the log-scale feature."""
    rng = np.random.RandomState(0)
    t = np.linspace(0, 2 * np.pi, 20)
    y = rng.randint(0, 2, 200)
    X = np.sin(t + rng.uniform(0, 6, (200, 1))) * np.where(y == 1, 5.0, 1.0)[:, None]
    X *= rng.uniform(0.8, 1.25, (200, 1))
    clf = RNNClassifier(random_state=0, max_iter=40).fit(X[:100], y[:100])
    assert clf.score(X[100:], y[100:]) > 0.95


def test_the_network_reads_the_normalised_features():
    """``weights_`` are the network on :func:`normalize_each`'s features: no input
    scaling is folded into them."""
    seqs = _ragged(n=20)
    y = np.arange(20) % 3
    clf = RNNClassifier(hidden_layer_sizes=(4,), segment_length=2, max_iter=3,
                        segment_jitter=False,  # one offset: the features as they are
                        random_state=0).fit(seqs, y)
    assert clf._spec.n_features == (2 + 2) * 2 and clf.n_features_in_ == 2
    features = normalize_each(check_ragged(seqs), clf._x_shift, clf._x_scale, k=2)
    expected = predict(clf.weights_, features.X, features.lengths, clf._spec)
    assert_allclose(clf.predict_proba(seqs), expected, rtol=1e-12)


def test_the_regressor_takes_it_when_asked():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 6, 2)) * rng.uniform(0.1, 10, (40, 1, 1))
    y = X.std(axis=1)[:, 0]
    reg = RNNRegressor(sequence_norm=True, max_iter=3, random_state=0).fit(X, y)
    assert reg._sequence_norm and reg._spec.n_features == 6  # segment_length 'auto': 1
    assert RNNRegressor().sequence_norm is False and RNNClassifier().sequence_norm
    with pytest.raises(ValueError, match="X has 3 features, but RNNRegressor is "
                                         "expecting 2"):
        reg.predict(np.zeros((2, 6, 3)))
    # with segments: still the raw features, in the errors and in their descriptions
    seg = RNNRegressor(sequence_norm=True, segment_length=4, max_iter=2,
                       random_state=0).fit(X, y)
    assert seg._spec.n_features == (4 + 2) * 2
    with pytest.raises(ValueError, match="X has 3 features, but RNNRegressor is "
                                         "expecting 2"):
        seg.predict(np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match=r"it was .*2 feature\(s\) per timestep"):
        seg.set_params(warm_start=True, hidden_layer_sizes=(5,)).fit(X, y)


def test_changing_it_on_a_fitted_model_is_refused():
    X, y = _waves(30, 0)
    clf = RNNClassifier(random_state=0, max_iter=2).fit(X, y)
    before = {name: w.copy() for name, w in clf.weights_.items()}
    with pytest.raises(ValueError, match="sequence_norm=True, now sequence_norm=False"):
        clf.set_params(sequence_norm=False, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="sequence_norm"):
        clf.partial_fit(X, y)
    for name, w in before.items():  # nothing changed
        assert_allclose(clf.weights_[name], w, rtol=0, atol=0)
    clf.set_params(sequence_norm=True).partial_fit(X, y)  # the same network: goes on
    clf.fit(X, y)  # and so does a warm start that keeps it
    assert clf._sequence_norm and clf.n_iter_ == 2 + 1 + 2


@pytest.mark.parametrize("Est", [RNNClassifier, RNNRegressor])
def test_models_pickled_before_the_option_load_without_it(Est):
    import pickle

    X, y = _waves(30, 0)
    est = Est(random_state=0, max_iter=2, sequence_norm=False).fit(X, y)
    state = est.__getstate__()
    del state["sequence_norm"]  # as a model of an earlier version
    state.pop("_sequence_norm", None)
    old = Est.__new__(Est)
    old.__setstate__(state)
    assert old.get_params()["sequence_norm"] is False and not old._sequence_norm
    method = "predict_proba" if Est is RNNClassifier else "predict"
    assert_allclose(getattr(pickle.loads(pickle.dumps(old)), method)(X),
                    getattr(est, method)(X))


@pytest.mark.parametrize("segment_length", [None, 3])
def test_nearly_a_no_op_on_sequences_standardised_one_by_one(segment_length):
    """On series already standardised one at a time (as most of the UCR archive),
    the shapes are the data, the levels and scales constant, and their inputs start
    silent: the fit is the one without the option."""
    X, y = _waves(40, 0)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    fits = [RNNClassifier(sequence_norm=norm, segment_length=segment_length,
                          max_iter=10, random_state=0).fit(X, y) for norm in (True, False)]
    k = segment_length or 1
    assert fits[0]._spec.n_features == (k + 2) / k * fits[1]._spec.n_features
    assert_allclose(fits[0].predict_proba(X), fits[1].predict_proba(X), rtol=1e-5,
                    atol=1e-7)


def test_the_widened_start_is_the_narrow_one_in_its_columns():
    from skrnn._network import NetworkSpec, init_params, init_params_widened, unpack

    wide = NetworkSpec("lstm", "tanh", 6, (4, 3), 2, "identity", True, "max", 2)
    narrow = wide._replace(n_features=2)
    columns = [0, 3]
    W = unpack(init_params_widened(wide, 2, columns, np.random.RandomState(0)), wide)
    V = unpack(init_params(narrow, np.random.RandomState(0)), narrow)
    for name, w in W.items():
        if name.startswith("weight_ih_l0"):
            assert_allclose(w[:, columns], V[name], rtol=0, atol=0)
            assert not np.delete(w, columns, axis=1).any()
        elif name == "skip_weight":
            assert not w.any()
        else:
            assert_allclose(w, V[name], rtol=0, atol=0)


def test_segments_read_the_shapes_k_steps_a_row_and_the_statistics_once():
    seqs = _ragged(seed=2)
    seq = check_ragged(seqs)
    shift, scale = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    steps = normalize_each(seq, shift, scale)  # k = 1: (T, N, 3F)
    rows = normalize_each(seq, shift, scale, k=3)
    expected = segment(steps._replace(X=np.ascontiguousarray(steps.X[..., :2])), 3)
    assert_allclose(rows.lengths, expected.lengths)
    assert_allclose(rows.X[..., :6], expected.X, rtol=0, atol=0)
    for i, n_rows in enumerate(rows.lengths):
        assert_allclose(rows.X[:n_rows, i, 6:], np.tile(steps.X[0, i, 2:], (n_rows, 1)),
                        rtol=0, atol=0)
        assert not rows.X[n_rows:, i].any()  # zero past the last segment
