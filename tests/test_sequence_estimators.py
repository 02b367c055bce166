"""RNNSequenceRegressor and RNNSequenceClassifier: one prediction a timestep (#16).

The network's per-step head is checked against finite differences and PyTorch in
test_network_options.py; here: the forms in and out, the errors, the scores, causality,
weights, and scikit-learn's tools and the estimator checks that apply."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import (
    check_estimators_unfitted,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
)

from skrnn import RNNSequenceClassifier, RNNSequenceRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _series(n=60, T=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, 1))
    running = np.cumsum(X[..., 0], axis=1)
    return X, running


def _ragged(X, y, seed=0):
    lengths = np.random.RandomState(seed).randint(3, X.shape[1] + 1, size=len(X))
    return ([x[:L] for x, L in zip(X, lengths)], [t[:L] for t, L in zip(y, lengths)])


def test_regressor_array_in_array_out_and_learns():
    X, y = _series()
    reg = RNNSequenceRegressor(solver="lbfgs", max_iter=150, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float64
    assert reg.score(X, y) > 0.9
    assert reg.predict(X.astype(np.float32)).dtype == np.float32


def test_regressor_multi_output_steps():
    X, y = _series()
    Y = np.stack([y, -2 * y + 100], axis=2)  # (n, T, 2), unscaled second output
    reg = RNNSequenceRegressor(solver="lbfgs", max_iter=150, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.n_outputs_ == 2 and reg.score(X, Y) > 0.9


def test_regressor_list_in_list_out():
    X, y = _series()
    Xl, yl = _ragged(X, y)
    reg = RNNSequenceRegressor(solver="lbfgs", max_iter=100, random_state=0).fit(Xl, yl)
    pred = reg.predict(Xl)
    assert isinstance(pred, list)
    assert [p.shape for p in pred] == [t.shape for t in yl]
    # a sequence's predictions are its own, whatever it is batched with
    assert_allclose(reg.predict([Xl[3]])[0], pred[3], rtol=1e-12)
    assert reg.score(Xl, yl) > 0.8


def test_score_is_over_every_real_step():
    X, y = _series()
    Xl, yl = _ragged(X, y)
    reg = RNNSequenceRegressor(max_iter=20, random_state=0).fit(Xl, yl)
    from sklearn.metrics import r2_score

    pred = reg.predict(Xl)
    w = np.linspace(0.5, 2, len(Xl))
    expected = r2_score(np.concatenate(yl), np.concatenate(pred),
                        sample_weight=np.repeat(w, [len(t) for t in yl]))
    assert reg.score(Xl, yl, sample_weight=w) == pytest.approx(expected)


def test_default_is_causal_and_bidirectional_is_not():
    X, y = _series()
    causal = RNNSequenceRegressor(max_iter=10, random_state=0).fit(X, y)
    both = RNNSequenceRegressor(bidirectional=True, max_iter=10, random_state=0).fit(X, y)
    X2 = X.copy()
    X2[:, 8:] += 5.0  # change the future of step 7
    assert_allclose(causal.predict(X2)[:, :8], causal.predict(X)[:, :8], rtol=1e-12)
    assert not np.allclose(both.predict(X2)[:, :8], both.predict(X)[:, :8])


def test_classifier_string_labels_forms_and_probabilities():
    X, y = _series()
    labels = np.where(y > 0, "up", "down")
    clf = RNNSequenceClassifier(random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["down", "up"]
    pred = clf.predict(X)
    assert pred.shape == labels.shape and set(np.unique(pred)) <= {"down", "up"}
    proba = clf.predict_proba(X)
    assert proba.shape == labels.shape + (2,)
    assert_allclose(proba.sum(axis=2), 1.0)
    assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.score(X, labels) > 0.9
    Xl, yl = _ragged(X, labels)
    proba_l = clf.predict_proba(Xl)
    assert [p.shape for p in proba_l] == [(len(t), 2) for t in yl]
    assert [p.shape for p in clf.predict(Xl)] == [t.shape for t in yl]


def test_multiclass_tagging_of_events():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 15, 2))
    y = np.digitize(np.cumsum(X[..., 0], axis=1), [-1.0, 1.0])  # 3 classes a step
    clf = RNNSequenceClassifier(random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (80, 15, 3)
    assert clf.out_activation_ == "softmax"
    assert clf.score(X, y) > 0.85


@pytest.mark.parametrize("Est", [RNNSequenceRegressor, RNNSequenceClassifier])
def test_bad_targets_get_clear_errors_and_leave_the_model(Est):
    X, y = _series(n=20)
    if Est is RNNSequenceClassifier:
        y = (y > 0).astype(int)
    est = Est(max_iter=2, random_state=0).fit(X, y)
    before = pickle.dumps(est)
    Xl, yl = _ragged(X, y)
    cases = [
        (X, y[:, 0], "target at every timestep"),
        (X, y[:, :-1], "timesteps but X"),
        (X, y[:-1], "inconsistent numbers of samples"),
        (Xl, [t[:-1] if i == 2 else t for i, t in enumerate(yl)], r"y\[2\] has"),
    ]
    for Xb, yb, message in cases:
        with pytest.raises(ValueError, match=message):
            est.fit(Xb, yb)
        assert pickle.dumps(est) == before
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.where(X > 2, np.nan, X), y)
    assert pickle.dumps(est) == before


def test_unseen_labels_in_partial_fit_are_refused():
    X, y = _series(n=20)
    labels = (y > 0).astype(int)
    clf = RNNSequenceClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, labels)
    clf.partial_fit(X, labels, classes=[0, 1])
    state = pickle.dumps(clf)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, np.where(labels == 1, 7, 0))
    assert pickle.dumps(clf) == state


def test_sample_weight_equals_repeating_a_sequence():
    X, y = _series(n=20)
    kw = dict(solver="lbfgs", max_iter=20, random_state=0)
    w = np.ones(20)
    w[:5] = 2
    a = RNNSequenceRegressor(**kw).fit(X, y, sample_weight=w)
    b = RNNSequenceRegressor(**kw).fit(np.concatenate([X, X[:5]]),
                                       np.concatenate([y, y[:5]]))
    assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)


def test_weights_give_pytorchs_per_step_outputs(torch):
    X, y = _series(n=10)
    X = 3.0 + 2.0 * X  # unscaled: the scaling inside is folded into weights_
    reg = RNNSequenceRegressor(cell="lstm", max_iter=3, random_state=0).fit(X, 10 * y)
    module = torch.nn.LSTM(1, 32, batch_first=True).double()
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            reg.weights_.items() if not k.startswith("out_")})
    with torch.no_grad():
        out = module(torch.from_numpy(X))[0].numpy()
    expected = out @ reg.weights_["out_weight"].T + reg.weights_["out_bias"]
    assert_allclose(reg.predict(X), expected[..., 0], rtol=1e-9, atol=1e-9)


def test_scikit_learn_tools():
    X, y = _series(n=40)
    reg = RNNSequenceRegressor(max_iter=5, random_state=0)
    scores = cross_val_score(reg, X, y, cv=KFold(3))
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    search = GridSearchCV(reg, {"hidden_layer_sizes": [(4,), (8,)]}, cv=2).fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(4,), (8,)]
    fitted = clone(reg).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(again.predict(X), fitted.predict(X))
    for name in ("pooling", "segment_length", "linear_skip", "sequence_norm"):
        assert name not in reg.get_params()  # options of one prediction a sequence


def test_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    X, y = _series(n=20)
    clf = RNNSequenceClassifier(max_iter=3, random_state=0).fit(X, y > 0)
    data = sio.dumps(clf)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert_array_equal(loaded.predict(X), clf.predict(X))


@pytest.mark.parametrize("Est", [RNNSequenceRegressor, RNNSequenceClassifier])
@pytest.mark.parametrize("check", [
    check_get_params_invariance, check_set_params, check_no_attributes_set_in_init,
    check_estimators_unfitted,
], ids=lambda c: getattr(c, "__name__", str(c)))
def test_estimator_checks_that_apply(Est, check):
    """The checks of check_estimator that need no per-sample ``y`` (the others pass
    one label a sequence, which these estimators refuse by design: see the docs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(Est.__name__, Est())


@pytest.mark.parametrize("Est", [RNNSequenceRegressor, RNNSequenceClassifier])
def test_default_constructible_and_param_validation(Est):
    check_parameters_default_constructible(Est.__name__, Est())
    check_param_validation(Est.__name__, Est())


def test_unfitted_predict_raises():
    with pytest.raises(NotFittedError):
        RNNSequenceRegressor().predict(np.zeros((2, 3, 1)))
