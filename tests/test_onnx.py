"""ONNX export (skrnn.onnx): ONNX Runtime's outputs equal predict, predict_proba and
transform over the grid of cells, activations, depths, directions, poolings,
segment lengths, heads, dtypes and ragged batches; the graphs pass onnx.checker.
The per-timestep estimators (RNNSequenceRegressor, RNNSequenceClassifier) over cells,
activations, directions, heads, dtypes and ragged batches, compared on the real steps.

The weights are drawn at random after a one-epoch fit (non-zero, different b_ih and
b_hh, every gate active), so the outputs do not hinge on what training found.

Tolerances: float32 ``rtol=1e-5`` with ``atol=1e-6`` times the largest output;
float64 ``rtol=1e-9`` with ``atol=1e-12`` times the largest output (the worst
relative deviations seen are about 1e-6 in float32 and 1e-15 in float64).
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier, RNNRegressor, RNNSequenceClassifier, RNNSequenceRegressor

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

import skrnn  # noqa: E402
from skrnn.onnx import onnx_layer_weights, pad_sequences, to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {np.float32: (1e-5, 1e-6), np.float64: (1e-9, 1e-12)}
N_FEATURES = 2
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "logistic"), ("rnn", "identity"),
         ("gru", "tanh"), ("lstm", "tanh")]


def _fit(est, dtype, y=None, n=24, T=7, seed=0, tabular=False):
    """``est`` fitted for one epoch on random data, then given random weights."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T) if tabular else (n, T, N_FEATURES)).astype(dtype)
    if y is None:
        y = X[:, 0] if tabular else X[:, 0, :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(max_iter=1, random_state=0).fit(X, y)
    for w in est.weights_.values():  # in place: the model reads these arrays
        w[...] = rng.normal(scale=0.5, size=w.shape)
    return est


def _ragged(dtype, T=7, seed=1, n=9):
    """``n`` sequences of lengths 1 to T: every length when ``n >= T``, else 1, T and
    random ones."""
    rng = np.random.RandomState(seed)
    if n >= T:
        lengths = np.r_[np.arange(1, T + 1), rng.randint(1, T + 1, size=n - T)]
    else:
        lengths = np.r_[1, T, rng.randint(1, T + 1, size=n - 2)]
    return [rng.normal(size=(length, N_FEATURES)).astype(dtype) for length in lengths]


def _batch(dtype, T=6, n=5, seed=2):
    # T differs from the fit's (7): the graph's time axis is dynamic
    return np.random.RandomState(seed).normal(size=(n, T, N_FEATURES)).astype(dtype)


def _run(onx, X, lengths=None):
    onnx.checker.check_model(onx, full_check=True)
    sess = ort.InferenceSession(onx.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    feeds = {"X": X}
    if lengths is not None:
        feeds["sequence_lens"] = lengths
    return sess.run(None, feeds)


def _assert_close(actual, desired, dtype):
    rtol, atol = TOL[dtype]
    desired = np.asarray(desired)
    assert actual.dtype == dtype
    scale = max(1.0, float(np.abs(desired).max()))
    np.testing.assert_allclose(actual.reshape(desired.shape), desired, rtol=rtol,
                               atol=atol * scale)


# --------------------------------------------------------------------------------------
# The grid: cells x activations x directions x poolings x dtypes, stacked layers of
# different widths, equal-length and ragged batches, predict and transform


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell, activation", CELLS)
def test_grid_regressor(cell, activation, bidirectional, pooling, dtype):
    est = _fit(RNNRegressor(hidden_layer_sizes=(4, 3), cell=cell, activation=activation,
                            bidirectional=bidirectional, pooling=pooling), dtype)
    X = _batch(dtype)
    (out,) = _run(to_onnx(est, X), X)
    assert out.shape == (len(X), 2)
    _assert_close(out, est.predict(X), dtype)

    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    _assert_close(out, est.predict(seqs), dtype)

    (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
    assert feats.shape == (len(seqs), est._spec.n_pooled)
    _assert_close(feats, est.transform(seqs), dtype)


def _assert_graph_predicts(est, data, dtype):
    """The graph of ``est`` on ``data`` (a 3-D array, or a list of sequences, fed
    padded with their lengths) gives ``predict_proba`` (classifier) or ``predict``."""
    clf = isinstance(est, RNNClassifier)
    onx = to_onnx(est, data, zipmap=False) if clf else to_onnx(est, data)
    outputs = (_run(onx, data) if isinstance(data, np.ndarray)
               else _run(onx, *pad_sequences(data, dtype)))
    _assert_close(outputs[-1], est.predict_proba(data) if clf else est.predict(data),
                  dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
def test_sequence_norm(Est, dtype):
    """Each sequence read relative to itself in the graph: levels and scales far
    apart, a constant sequence, equal lengths and ragged ones, segments, the skip."""
    rng = np.random.RandomState(3)

    def spread(seqs):  # scales 1e-2 to 1e2 and levels -50 to 50, one constant
        out = [(x * 10.0 ** rng.uniform(-2, 2) + rng.uniform(-50, 50)).astype(dtype)
               for x in seqs]
        out[0][:] = 3.0
        return out

    for segment_length, skip in ((None, False), (2, True)):
        y = None if Est is RNNRegressor else np.arange(24) % 3
        est = _fit(Est(hidden_layer_sizes=(3,), sequence_norm=True, linear_skip=skip,
                       segment_length=segment_length), dtype, y=y)
        assert est._spec.n_features == N_FEATURES * ((segment_length or 1) + 2)
        _assert_graph_predicts(est, np.stack(spread(list(_batch(dtype, n=6)))), dtype)
        seqs = spread(_ragged(dtype, T=9))
        _assert_graph_predicts(est, seqs, dtype)
        Xp, lengths = pad_sequences(seqs, dtype)
        (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
        _assert_close(feats, est.transform(seqs), dtype)


@pytest.mark.parametrize("dtype, recurrence", [
    (np.float32, "native"), (np.float32, "scan"), (np.float64, "scan")])
@pytest.mark.parametrize("Est, kw, y", [
    (RNNClassifier, dict(), np.arange(24) % 3),  # softmax, sequence_norm
    (RNNClassifier, dict(sequence_norm=False, pooling="mean"), np.arange(24) % 2),
    (RNNRegressor, dict(linear_skip=True), None),  # the skip reads shifted windows
    (RNNRegressor, dict(relative_to_last=0, pooling="last"), np.arange(24.0)),
])
def test_segment_jitter_mean_over_offsets(Est, kw, y, recurrence, dtype):
    """With segment_jitter the graph averages the network over the same offsets as
    predict and transform (each sequence's first step repeated in front): segments of
    3 (every offset) and of 10 (8 of them), equal lengths and ragged ones."""
    for k, T in ((3, 7), (10, 23)):
        est = _fit(Est(hidden_layer_sizes=(3,), segment_length=k, segment_jitter=True,
                       **kw), dtype, y=None if y is None else y, T=T)
        assert len(est._predict_offsets) == min(k, 8)
        clf = isinstance(est, RNNClassifier)
        for data in (_batch(dtype, T=T - 2), _ragged(dtype, T=T, n=T + 2)):
            padded = ((data,) if isinstance(data, np.ndarray)
                      else pad_sequences(data, dtype))
            onx = to_onnx(est, data, recurrence=recurrence,
                          **(dict(zipmap=False) if clf else {}))
            out = _run(onx, *padded)
            _assert_close(out[-1], est.predict_proba(data) if clf else est.predict(data),
                          dtype)
            if clf:
                np.testing.assert_array_equal(out[0], est.predict(data))
            (feats,) = _run(to_onnx(est, data, transform=True, recurrence=recurrence),
                            *padded)
            _assert_close(feats, est.transform(data), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_segment_jitter_mean_of_saturated_poisson_outputs(dtype):
    """Every offset's exp saturated at the largest float: the graph's mean is that
    float, as predict's (no overflow to inf in the sum over the offsets)."""
    est = _fit(RNNRegressor(loss="poisson", hidden_layer_sizes=(3,), segment_length=3,
                            segment_jitter=True), dtype,
               y=np.exp(np.random.RandomState(0).normal(size=24)))
    est.weights_["out_bias"][...] = 1000.0
    X = _batch(dtype)
    (out,) = _run(to_onnx(est, X), X)
    assert np.isfinite(out).all()
    _assert_close(out, est.predict(X), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("feature", [0, 1])
def test_relative_to_last(feature, dtype):
    """The regressor's relative_to_last in the graph: the feature's last real value
    taken from the inputs and added to the output, for equal lengths and ragged ones
    (a length-1 sequence among them), with segments, the skip, sequence_norm and two
    outputs; the 2-D (univariate) input too."""
    rng = np.random.RandomState(4)
    for segment_length, norm in ((None, False), (2, True)):
        y = rng.normal(size=(24, 2))
        est = _fit(RNNRegressor(hidden_layer_sizes=(3,), relative_to_last=feature,
                                segment_length=segment_length, sequence_norm=norm),
                   dtype, y=y)
        levels = [(x + rng.uniform(-50, 50)).astype(dtype)
                  for x in _ragged(dtype, T=9)]
        _assert_graph_predicts(est, np.stack([x + rng.uniform(-50, 50)
                                              for x in _batch(dtype)]), dtype)
        _assert_graph_predicts(est, levels, dtype)
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), relative_to_last=0), dtype,
               tabular=True)
    X = rng.normal(size=(5, 7)).astype(dtype) + 20
    (out,) = _run(to_onnx(est, X), X)
    _assert_close(out, est.predict(X), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Est", [RNNRegressor, RNNClassifier])
def test_linear_skip(Est, dtype):
    """The linear skip's window in the graph: sequences shorter than it (front-filled
    with their first step), longer ones (their last steps), ragged ones, segments."""
    for segment_length in (None, 2):
        y = None if Est is RNNRegressor else np.arange(24) % 3
        est = _fit(Est(hidden_layer_sizes=(3,), linear_skip=True,
                       segment_length=segment_length), dtype, y=y)
        assert est._spec.skip_steps == (7 if segment_length is None else 4)
        assert est.weights_["skip_weight"].any()
        for T in (3, 20):
            _assert_graph_predicts(est, _batch(dtype, T=T), dtype)
        _assert_graph_predicts(est, _ragged(dtype, T=20), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("segment_length", [2, 3])
@pytest.mark.parametrize("cell, activation, bidirectional, pooling",
                         [("rnn", "tanh", True, "max"), ("gru", "tanh", False, "last"),
                          ("gru", "tanh", True, "last"), ("lstm", "tanh", True, "mean")])
def test_segment_length(cell, activation, bidirectional, pooling, segment_length, dtype):
    """Segments of k steps, the last one filled with the last real step, in equal-
    length batches whose length is not a multiple of k and in ragged ones."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), cell=cell, activation=activation,
                            bidirectional=bidirectional, pooling=pooling,
                            segment_length=segment_length), dtype)
    assert est._segment_length == segment_length
    for T in (5, 6):
        X = _batch(dtype, T=T)
        (out,) = _run(to_onnx(est, X), X)
        _assert_close(out, est.predict(X), dtype)
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    _assert_close(out, est.predict(seqs), dtype)
    (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
    _assert_close(feats, est.transform(seqs), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_segment_length_auto(dtype):
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), segment_length="auto"), dtype, T=70)
    assert est._segment_length == 3
    seqs = _ragged(dtype, T=70, n=12)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    _assert_close(out, est.predict(seqs), dtype)


# --------------------------------------------------------------------------------------
# Output heads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_poisson_regressor(cell, dtype):
    rng = np.random.RandomState(3)
    est = _fit(RNNRegressor(loss="poisson", hidden_layer_sizes=(3,), cell=cell), dtype,
               y=rng.poisson(2.0, size=24))
    assert est.out_activation_ == "exp"
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    assert out.shape == (len(seqs), 1)
    _assert_close(out, est.predict(seqs), dtype)


def _targets(kind, n=24, seed=4):
    rng = np.random.RandomState(seed)
    if kind == "binary":
        return rng.randint(0, 2, size=n) * 5 - 1  # labels -1 and 4
    if kind == "multiclass":
        return rng.randint(0, 4, size=n)
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[rng.randint(0, 3, size=n)]
    if kind == "binary-strings":
        return np.array(["no", "yes"])[rng.randint(0, 2, size=n)]
    if kind == "bool":
        return rng.randint(0, 2, size=n).astype(bool)
    if kind == "float-integers":
        return rng.randint(0, 3, size=n).astype(float)
    return rng.randint(0, 2, size=(n, 3))  # multilabel


def _assert_labels(label, est, X, proba):
    """Equal labels wherever the decision is not within rounding of a tie."""
    ref = est.predict(X)
    if proba.shape[1] == 2 or est._label_binarizer.y_type_.startswith("multilabel"):
        margin = np.abs(proba - 0.5).min(axis=1)
    else:
        top2 = np.sort(proba, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
    sure = margin > 1e-5
    assert sure.sum() >= len(sure) - 1
    np.testing.assert_array_equal(label[sure], ref[sure].astype(label.dtype))


KINDS = ["binary", "multiclass", "multilabel", "strings", "binary-strings", "bool",
         "float-integers"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_classifier(kind, dtype):
    est = _fit(RNNClassifier(hidden_layer_sizes=(4,), cell="gru", bidirectional=True),
               dtype, y=_targets(kind))
    X = _batch(dtype)
    label, proba = _run(to_onnx(est, X, zipmap=False), X)
    n_classes = len(est.classes_)
    assert proba.shape == (len(X), n_classes)
    _assert_close(proba, est.predict_proba(X), dtype)
    if kind == "multilabel":
        assert label.shape == (len(X), n_classes) and label.dtype == np.int64
    else:
        assert label.shape == (len(X),)
        assert label.dtype == (object if "strings" in kind else np.int64)
    _assert_labels(label, est, X, est.predict_proba(X))

    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    label, proba = _run(to_onnx(est, seqs, zipmap=False), Xp, lengths)
    _assert_close(proba, est.predict_proba(seqs), dtype)
    _assert_labels(label, est, seqs, est.predict_proba(seqs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell, pooling", [("rnn", "mean"), ("lstm", "max"),
                                           ("gru", "last")])
def test_classifier_cells(cell, pooling, dtype):
    est = _fit(RNNClassifier(hidden_layer_sizes=(3, 4), cell=cell, pooling=pooling,
                             activation="relu"), dtype, y=_targets("multiclass"))
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    label, proba = _run(to_onnx(est, seqs, zipmap=False), Xp, lengths)
    _assert_close(proba, est.predict_proba(seqs), dtype)
    _assert_labels(label, est, seqs, est.predict_proba(seqs))
    (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
    _assert_close(feats, est.transform(seqs), dtype)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings", "multilabel"])
def test_zipmap(kind):
    """skl2onnx's default for classifiers: the probabilities as dictionaries."""
    est = _fit(RNNClassifier(hidden_layer_sizes=(3,)), np.float32, y=_targets(kind))
    X = _batch(np.float32)
    onx = to_onnx(est, X)
    assert [o.name for o in onx.graph.output] == ["output_label", "output_probability"]
    label, proba = _run(onx, X)
    ref = est.predict_proba(X)
    keys = list(est.classes_) if kind == "strings" else [int(c) for c in est.classes_]
    got = np.array([[row[k] for k in keys] for row in proba], dtype=np.float32)
    _assert_close(got, ref, np.float32)
    _assert_labels(label, est, X, ref)

    outputs = _run(to_onnx(est, X, zipmap="columns"), X)
    assert len(outputs) == 1 + len(est.classes_)
    _assert_close(np.stack(outputs[1:], axis=1), ref, np.float32)


def test_zipmap_float64_refused():
    est = _fit(RNNClassifier(hidden_layer_sizes=(3,)), np.float64,
               y=_targets("multiclass"))
    X = _batch(np.float64)
    with pytest.raises(ValueError, match="zipmap"):
        skl2onnx.to_onnx(est, X)
    with pytest.raises(ValueError, match="zipmap"):
        to_onnx(est, X, zipmap=True)
    label, proba = _run(to_onnx(est, X), X)  # zipmap=False by default in float64
    _assert_close(proba, est.predict_proba(X), np.float64)


# --------------------------------------------------------------------------------------
# Inputs, options and the skl2onnx API


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_univariate_2d_input(dtype):
    """A model fitted on 2-D (n_samples, n_timesteps) univariate sequences exports a
    2-D input; a 3-D (N, T, 1) one works too."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), pooling="mean"), dtype,
               tabular=True)
    X = np.random.RandomState(5).normal(size=(4, 7)).astype(dtype)
    onx = to_onnx(est, X)
    assert len(onx.graph.input[0].type.tensor_type.shape.dim) == 2
    (out,) = _run(onx, X)
    _assert_close(out, est.predict(X), dtype)
    (out,) = _run(to_onnx(est, X[:, :, None]), X[:, :, None])
    _assert_close(out, est.predict(X), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skl2onnx_to_onnx(dtype):
    """After ``import skrnn.onnx``, skl2onnx's own entry point converts the estimators
    (in a Pipeline too), with dynamic batch and time whatever the sample's shape."""
    from sklearn.pipeline import make_pipeline

    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), cell="lstm"), dtype)
    X = _batch(dtype)
    onx = skl2onnx.to_onnx(est, X[:1])
    dims = onx.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [0, 0, N_FEATURES]  # dynamic N, T
    for T in (1, 3, 11):
        Xt = _batch(dtype, T=T, n=3)
        (out,) = _run(onx, Xt)
        _assert_close(out, est.predict(Xt), dtype)

    clf = _fit(RNNClassifier(hidden_layer_sizes=(3,)), dtype, y=_targets("multiclass"))
    onx = skl2onnx.to_onnx(make_pipeline(clf), X[:1], options={"zipmap": False})
    label, proba = _run(onx, X)
    _assert_close(proba, clf.predict_proba(X), dtype)


def test_skl2onnx_sequence_lens_input():
    """The lengths as a second input declared by the caller, int32 or int64."""
    from skl2onnx.common.data_types import FloatTensorType, Int32TensorType

    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), bidirectional=True,
                            pooling="max"), np.float32)
    onx = skl2onnx.convert_sklearn(est, initial_types=[
        ("X", FloatTensorType([None, None, N_FEATURES])),
        ("sequence_lens", Int32TensorType([None]))])
    seqs = _ragged(np.float32)
    Xp, lengths = pad_sequences(seqs)
    (out,) = _run(onx, Xp, lengths.astype(np.int32))
    _assert_close(out, est.predict(seqs), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Est", [RNNClassifier, RNNRegressor])
def test_seed_ensemble_through_skl2onnx(Est, dtype):
    """The seed ensemble of the accuracy page (scikit-learn's soft VotingClassifier,
    or VotingRegressor) converts with skl2onnx's own converter around skrnn's: the
    mean of the members' probabilities or predictions, on a ragged batch fed with its
    lengths and on an equal-length one of another length than the fit's. The
    classifier needs ``flatten_transform=False`` (skl2onnx does not convert the
    flattened transform); the members average over segment offsets."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int32TensorType
    from sklearn.ensemble import VotingClassifier, VotingRegressor

    members = [(f"rnn{i}", Est(hidden_layer_sizes=(3,), segment_length=3,
                               segment_jitter=True, max_iter=1, random_state=i))
               for i in range(3)]
    clf = Est is RNNClassifier
    ensemble = (VotingClassifier(members, voting="soft", flatten_transform=False) if clf
                else VotingRegressor(members))
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 7, N_FEATURES)).astype(dtype)
    y = rng.randint(3, size=30) if clf else X[:, 0, 0]
    ensemble.fit(X, y)
    for member in ensemble.estimators_:  # random weights, different in each member
        for w in member.weights_.values():
            w[...] = rng.normal(scale=0.5, size=w.shape)
        assert len(member._predict_offsets) == 3
    tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    onx = skl2onnx.convert_sklearn(
        ensemble, initial_types=[("X", tensor([None, None, N_FEATURES])),
                                 ("sequence_lens", Int32TensorType([None]))],
        options={"zipmap": False} if clf else None)
    expected = ensemble.predict_proba if clf else ensemble.predict
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    X_equal = _batch(dtype)
    full = np.full(len(X_equal), X_equal.shape[1])
    for data, padded, lens in ((seqs, Xp, lengths), (X_equal, X_equal, full)):
        outputs = _run(onx, padded, lens.astype(np.int32))
        _assert_close(outputs[-1], expected(data), dtype)
        if clf:
            np.testing.assert_array_equal(outputs[0], ensemble.predict(data))


@pytest.mark.parametrize("recurrence", ["native", "scan"])
@pytest.mark.parametrize("cell, activation", CELLS)
def test_recurrence_option_float32(cell, activation, recurrence):
    """Both ways of writing the recurrence agree with skrnn in float32."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(3, 2), cell=cell, activation=activation,
                            bidirectional=True, pooling="last"), np.float32)
    seqs = _ragged(np.float32)
    Xp, lengths = pad_sequences(seqs)
    onx = to_onnx(est, seqs, recurrence=recurrence)
    ops = {n.op_type for n in onx.graph.node}
    assert ("Scan" in ops) == (recurrence == "scan")
    (out,) = _run(onx, Xp, lengths)
    _assert_close(out, est.predict(seqs), np.float32)
    X = _batch(np.float32)
    (out,) = _run(to_onnx(est, X, recurrence=recurrence), X)
    _assert_close(out, est.predict(X), np.float32)


def test_native_float64_is_valid_onnx():
    """float64 with the native operators: a valid graph (ONNX Runtime has no float64
    kernels for RNN, GRU and LSTM, hence Scan by default)."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), cell="gru"), np.float64)
    onx = to_onnx(est, _batch(np.float64), recurrence="native")
    onnx.checker.check_model(onx, full_check=True)
    assert "GRU" in {n.op_type for n in onx.graph.node}


def test_onnx_layer_weights_gate_order():
    """PyTorch's gate blocks land in ONNX's order, biases as [Wb, Rb]."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(2,), cell="lstm", bidirectional=True),
               np.float64)
    W, R, B = onnx_layer_weights(est.weights_, est._spec, 0, np.float64)
    H = 2
    assert W.shape == (2, 4 * H, N_FEATURES) and R.shape == (2, 4 * H, H)
    assert B.shape == (2, 8 * H)
    w = est.weights_["weight_ih_l0_reverse"]
    # ONNX i, o, f, c <- PyTorch i, f, g, o
    for onnx_gate, torch_gate in enumerate((0, 3, 1, 2)):
        np.testing.assert_array_equal(W[1, onnx_gate * H:(onnx_gate + 1) * H],
                                      w[torch_gate * H:(torch_gate + 1) * H])
    np.testing.assert_array_equal(B[0, 4 * H + H:4 * H + 2 * H],
                                  est.weights_["bias_hh_l0"][3 * H:4 * H])
    est = _fit(RNNRegressor(hidden_layer_sizes=(2,), cell="gru"), np.float64)
    W, _, _ = onnx_layer_weights(est.weights_, est._spec, 0, np.float64)
    w = est.weights_["weight_ih_l0"]
    np.testing.assert_array_equal(W[0], np.concatenate([w[H:2 * H], w[:H], w[2 * H:]]))


def test_pad_sequences():
    X, lengths = pad_sequences([np.arange(3.0), np.ones((1, 1))], dtype=np.float64)
    assert X.shape == (2, 3, 1) and X.dtype == np.float64
    np.testing.assert_array_equal(lengths, [3, 1])
    np.testing.assert_array_equal(X[1, 1:], 0)
    with pytest.raises(ValueError, match="non-empty"):
        pad_sequences([np.ones((0, 2))])


# --------------------------------------------------------------------------------------
# Errors


def test_errors():
    est = RNNRegressor()
    with pytest.raises(ValueError, match="not fitted"):
        to_onnx(est)
    with pytest.raises(TypeError, match="RNNSequenceRegressor or RNNSequenceClassifier"):
        to_onnx(object())
    est = _fit(RNNRegressor(hidden_layer_sizes=(2,)), np.float32)
    with pytest.raises(ValueError, match="target_opset"):
        to_onnx(est, target_opset=12)
    with pytest.raises(ValueError, match="recurrence"):
        to_onnx(est, recurrence="unrolled")
    with pytest.raises(ValueError, match="features per timestep"):
        to_onnx(est, np.ones((2, 3), np.float32))  # 2-D, but 2 features a step
    with pytest.raises(ValueError, match="fitted on 2"):
        to_onnx(est, np.ones((2, 3, 5), np.float32))
    with pytest.raises(TypeError, match="sequence lengths"):
        skl2onnx.convert_sklearn(est, initial_types=[
            ("X", skl2onnx.common.data_types.FloatTensorType([None, None, 2])),
            ("sequence_lens", skl2onnx.common.data_types.FloatTensorType([None]))])


def test_import_skrnn_without_onnx():
    """``import skrnn`` needs no onnx; skrnn.to_onnx then says what to install."""
    code = """
import sys
for name in ("onnx", "onnxruntime", "skl2onnx"):
    sys.modules[name] = None  # any import of them fails
import numpy as np
import skrnn
import skrnn.onnx
assert "onnx" not in {m.split(".")[0] for m in sys.modules if sys.modules[m]}
reg = skrnn.RNNRegressor(hidden_layer_sizes=(2,), max_iter=1)
reg.fit(np.ones((4, 3, 1)), np.arange(4.0))
try:
    skrnn.to_onnx(reg)
except ImportError as exc:
    assert "pip install" in str(exc) and "skrnn[onnx]" in str(exc), exc
else:
    raise AssertionError("no ImportError")
print("ok")
"""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_skrnn_imports_no_onnx():
    code = ("import sys, skrnn; "
            "assert not {'onnx', 'onnxruntime', 'skl2onnx'} & set(sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("target_opset", [13, 17])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_older_opsets(target_opset, dtype):
    """Opsets before 18 take ReduceMax's axes as an attribute."""
    est = _fit(RNNRegressor(hidden_layer_sizes=(3,), cell="lstm", pooling="max",
                            bidirectional=True, segment_length=2), dtype)
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    onx = to_onnx(est, seqs, target_opset=target_opset)
    assert max(o.version for o in onx.opset_import if o.domain in ("", "ai.onnx")) <= \
        target_opset
    (out,) = _run(onx, Xp, lengths)
    _assert_close(out, est.predict(seqs), dtype)


def test_skrnn_to_onnx_is_the_entry_point():
    est = _fit(RNNRegressor(hidden_layer_sizes=(2,)), np.float32)
    X = _batch(np.float32)
    (out,) = _run(skrnn.to_onnx(est, X), X)
    _assert_close(out, est.predict(X), np.float32)


def test_nocl_and_output_class_labels():
    """skl2onnx's classifier options: labels as class indices, classes as an output."""
    est = _fit(RNNClassifier(hidden_layer_sizes=(3,)), np.float32, y=_targets("strings"))
    X = _batch(np.float32)
    label, proba = _run(to_onnx(est, X, zipmap=False, options={"nocl": True}), X)
    assert label.dtype == np.int64
    ref = est.predict_proba(X)
    _assert_labels(est.classes_[label], est, X, ref)
    label, proba, classes = _run(
        to_onnx(est, X, zipmap=False, options={"output_class_labels": True}), X)
    np.testing.assert_array_equal(classes, est.classes_)
    _assert_close(proba, ref, np.float32)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_float64_weights_float32_graph(solver):
    """A model whose weights are float64 (L-BFGS) exports a float32 graph from a
    float32 sample, as ``predict`` works in the input's dtype; and the other way."""
    rng = np.random.RandomState(6)
    X = rng.normal(size=(24, 5, N_FEATURES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = RNNRegressor(hidden_layer_sizes=(3,), cell="gru", solver=solver,
                           max_iter=3, random_state=0).fit(X.astype(np.float32),
                                                           X[:, 0, 0])
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)
        (out,) = _run(to_onnx(est, Xd), Xd)
        _assert_close(out, est.predict(Xd), dtype)


# --------------------------------------------------------------------------------------
# The per-timestep estimators: one output a step, (N, T, ...); past a sequence's end
# the graph gives zeros (and the first class), and only the real steps are compared


def _fit_steps(est, dtype, y=None, n=24, T=7, seed=0):
    """As :func:`_fit`, with per-step targets (default: both features of every step,
    3-D)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, N_FEATURES)).astype(dtype)
    if y is None:
        y = X
    elif callable(y):
        y = y(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(max_iter=1, random_state=0).fit(X, y)
    for w in est.weights_.values():
        w[...] = rng.normal(scale=0.5, size=w.shape)
    return est


def _step_targets(kind, n=24, T=7, seed=4):
    rng = np.random.RandomState(seed)
    if kind == "binary":
        return rng.randint(0, 2, size=(n, T)) * 5 - 1  # labels -1 and 4
    if kind == "multiclass":
        return rng.randint(0, 4, size=(n, T))
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[rng.randint(0, 3, size=(n, T))]
    if kind == "binary-strings":
        return np.array(["no", "yes"])[rng.randint(0, 2, size=(n, T))]
    if kind == "bool":
        return rng.randint(0, 2, size=(n, T)).astype(bool)
    return rng.randint(0, 3, size=(n, T)).astype(float)  # float-integers


def _real(out, lengths):
    """The real steps of a padded ``(N, T, ...)`` output, stacked: ``(sum L, ...)``."""
    return np.concatenate([out[i, :L] for i, L in enumerate(lengths)])


def _assert_steps_close(out, ref, lengths, dtype):
    """ONNX's padded ``out`` against skrnn's list ``ref``, on the real steps; the
    padding holds zeros (documented)."""
    _assert_close(_real(out, lengths), np.concatenate(ref), dtype)
    pad = np.arange(out.shape[1])[None, :] >= np.asarray(lengths)[:, None]
    assert np.all(out[pad] == 0)


def _assert_step_labels(label, ref_label, proba, lengths=None):
    """Equal labels at every real step whose decision is not within rounding of a
    tie (``proba`` skrnn's)."""
    if lengths is not None:
        label, ref_label, proba = (_real(label, lengths), np.concatenate(ref_label),
                                   np.concatenate(proba))
    label, ref_label = label.reshape(-1), np.asarray(ref_label).reshape(-1)
    proba = proba.reshape(len(label), -1)
    top2 = np.sort(proba, axis=1)[:, -2:]
    sure = top2[:, 1] - top2[:, 0] > 1e-5
    assert sure.sum() >= len(sure) - 1
    np.testing.assert_array_equal(label[sure], ref_label[sure].astype(label.dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell, activation", CELLS)
def test_grid_sequence_regressor(cell, activation, bidirectional, dtype):
    est = _fit_steps(RNNSequenceRegressor(hidden_layer_sizes=(4, 3), cell=cell,
                                          activation=activation,
                                          bidirectional=bidirectional), dtype)
    X = _batch(dtype)
    onx = to_onnx(est, X)
    assert [o.name for o in onx.graph.output] == ["variable"]
    (out,) = _run(onx, X)
    assert out.shape == (len(X), X.shape[1], N_FEATURES)
    _assert_close(out, est.predict(X), dtype)

    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    assert out.shape == Xp.shape[:2] + (N_FEATURES,)
    _assert_steps_close(out, est.predict(seqs), lengths, dtype)

    (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
    assert feats.shape == Xp.shape[:2] + (est._spec.n_pooled,)
    _assert_close(feats, est.transform(seqs), dtype)  # zero past each end, both


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_sequence_regressor_one_output(loss, cell, bidirectional, dtype):
    """One output a step: ``variable`` is ``(N, T)``, as ``predict``; Poisson's exp
    is in the graph."""
    rng = np.random.RandomState(3)
    est = _fit_steps(RNNSequenceRegressor(loss=loss, hidden_layer_sizes=(3,), cell=cell,
                                          bidirectional=bidirectional), dtype,
                     y=rng.poisson(2.0, size=(24, 7)).astype(float))
    assert est.out_activation_ == ("exp" if loss == "poisson" else "identity")
    X = _batch(dtype)
    (out,) = _run(to_onnx(est, X), X)
    assert out.shape == X.shape[:2]
    _assert_close(out, est.predict(X), dtype)
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(to_onnx(est, seqs), Xp, lengths)
    assert out.shape == Xp.shape[:2]
    _assert_steps_close(out, est.predict(seqs), lengths, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell, activation", CELLS)
def test_grid_sequence_classifier(cell, activation, bidirectional, dtype):
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(4, 3), cell=cell,
                                           activation=activation,
                                           bidirectional=bidirectional), dtype,
                     y=_step_targets("multiclass"))
    X = _batch(dtype)
    onx = to_onnx(est, X)  # zipmap off by default
    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    label, proba = _run(onx, X)
    ref = est.predict_proba(X)
    assert proba.shape == X.shape[:2] + (4,) and label.shape == X.shape[:2]
    _assert_close(proba, ref, dtype)
    _assert_step_labels(label, est.predict(X), ref)

    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    label, proba = _run(to_onnx(est, seqs), Xp, lengths)
    ref = est.predict_proba(seqs)
    _assert_steps_close(proba, ref, lengths, dtype)
    _assert_step_labels(label, est.predict(seqs), ref, lengths)
    pad = np.arange(Xp.shape[1])[None, :] >= lengths[:, None]
    assert np.all(label[pad] == est.classes_[0])

    (feats,) = _run(to_onnx(est, seqs, transform=True), Xp, lengths)
    _assert_close(feats, est.transform(seqs), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings", "binary-strings",
                                  "bool", "float-integers"])
def test_sequence_classifier_heads(kind, bidirectional, dtype):
    """Binary (one logistic column -> two probabilities) and multiclass (softmax),
    labels of every type."""
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(4,), cell="lstm",
                                           bidirectional=bidirectional), dtype,
                     y=_step_targets(kind))
    assert est.out_activation_ == ("logistic" if len(est.classes_) == 2 else "softmax")
    X = _batch(dtype)
    label, proba = _run(to_onnx(est, X), X)
    ref = est.predict_proba(X)
    assert proba.shape == X.shape[:2] + (len(est.classes_),)
    assert label.dtype == (object if "strings" in kind else np.int64)
    _assert_close(proba, ref, dtype)
    _assert_step_labels(label, est.predict(X), ref)
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    label, proba = _run(to_onnx(est, seqs), Xp, lengths)
    ref = est.predict_proba(seqs)
    _assert_steps_close(proba, ref, lengths, dtype)
    _assert_step_labels(label, est.predict(seqs), ref, lengths)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_classifier_zipmap_refused(dtype):
    """ZipMap reads 2-D tensors: refused with an error naming the option and the
    estimator; off by default in both entry points."""
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(3,)), dtype,
                     y=_step_targets("strings"))
    X = _batch(dtype)
    for zipmap in (True, "columns"):
        with pytest.raises(ValueError, match="zipmap.*RNNSequenceClassifier"):
            to_onnx(est, X, zipmap=zipmap)
    with pytest.raises(ValueError, match="zipmap.*RNNSequenceClassifier"):
        skl2onnx.to_onnx(est, X, options={"zipmap": True})
    onx = skl2onnx.to_onnx(est, X[:1])
    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    label, proba = _run(onx, X)
    _assert_close(proba, est.predict_proba(X), dtype)
    _assert_step_labels(label, est.predict(X), est.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_skl2onnx_api(dtype):
    """skl2onnx's entry points (and a Pipeline) for the per-timestep estimators, with
    dynamic batch and time, and the lengths as an int32 input declared by hand."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int32TensorType
    from sklearn.pipeline import make_pipeline

    est = _fit_steps(RNNSequenceRegressor(hidden_layer_sizes=(3,), cell="gru",
                                          bidirectional=True), dtype)
    onx = skl2onnx.to_onnx(make_pipeline(est), _batch(dtype)[:1])
    for T in (1, 3, 11):
        Xt = _batch(dtype, T=T, n=3)
        (out,) = _run(onx, Xt)
        _assert_close(out, est.predict(Xt), dtype)
    tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    onx = skl2onnx.convert_sklearn(est, initial_types=[
        ("X", tensor([None, None, N_FEATURES])), ("sequence_lens", Int32TensorType([None]))])
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    (out,) = _run(onx, Xp, lengths.astype(np.int32))
    _assert_steps_close(out, est.predict(seqs), lengths, dtype)


@pytest.mark.parametrize("recurrence", ["native", "scan"])
@pytest.mark.parametrize("cell, activation", CELLS)
def test_sequence_recurrence_option_float32(cell, activation, recurrence):
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(3, 2), cell=cell,
                                           activation=activation, bidirectional=True),
                     np.float32, y=_step_targets("multiclass"))
    seqs = _ragged(np.float32)
    Xp, lengths = pad_sequences(seqs)
    onx = to_onnx(est, seqs, recurrence=recurrence)
    assert ("Scan" in {n.op_type for n in onx.graph.node}) == (recurrence == "scan")
    label, proba = _run(onx, Xp, lengths)
    _assert_steps_close(proba, est.predict_proba(seqs), lengths, np.float32)


@pytest.mark.parametrize("target_opset", [13, 17])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_older_opsets(target_opset, dtype):
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(3,), cell="lstm",
                                           bidirectional=True), dtype,
                     y=_step_targets("multiclass"))
    seqs = _ragged(dtype)
    Xp, lengths = pad_sequences(seqs, dtype)
    label, proba = _run(to_onnx(est, seqs, target_opset=target_opset), Xp, lengths)
    _assert_steps_close(proba, est.predict_proba(seqs), lengths, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_univariate_2d_input(dtype):
    rng = np.random.RandomState(5)
    X = rng.normal(size=(24, 7)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = RNNSequenceRegressor(hidden_layer_sizes=(3,), max_iter=1,
                                   random_state=0).fit(X, np.cumsum(X, axis=1))
    onx = to_onnx(est, X[:4])
    assert len(onx.graph.input[0].type.tensor_type.shape.dim) == 2
    (out,) = _run(onx, X[:4])
    _assert_close(out, est.predict(X[:4]), dtype)


def test_sequence_nocl_and_output_class_labels():
    est = _fit_steps(RNNSequenceClassifier(hidden_layer_sizes=(3,)), np.float32,
                     y=_step_targets("strings"))
    X = _batch(np.float32)
    ref = est.predict_proba(X)
    label, proba = _run(to_onnx(est, X, options={"nocl": True}), X)
    assert label.dtype == np.int64
    _assert_step_labels(est.classes_[label], est.predict(X), ref)
    label, proba, classes = _run(to_onnx(est, X, options={"output_class_labels": True}),
                                 X)
    np.testing.assert_array_equal(classes, est.classes_)
    _assert_close(proba, ref, np.float32)


def test_sequence_errors():
    with pytest.raises(ValueError, match="RNNSequenceRegressor instance is not fitted"):
        to_onnx(RNNSequenceRegressor())
    est = _fit_steps(RNNSequenceRegressor(hidden_layer_sizes=(2,)), np.float32)
    with pytest.raises(ValueError, match="fitted on 2"):
        to_onnx(est, np.ones((2, 3, 5), np.float32))
