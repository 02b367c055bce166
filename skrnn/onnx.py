"""ONNX export of fitted skrnn estimators: a converter for skl2onnx.

Importing this module registers :class:`~skrnn.RNNRegressor`,
:class:`~skrnn.RNNClassifier` and the per-timestep :class:`~skrnn.RNNSequenceRegressor`
and :class:`~skrnn.RNNSequenceClassifier` with skl2onnx, so that ``skl2onnx.to_onnx(model, X)``
converts them, alone or at the end of a ``Pipeline``; :func:`to_onnx` is the one-line
entry point (``skrnn.to_onnx`` calls it). onnx and skl2onnx are imported here only:
``import skrnn`` never needs them, and without them this module still imports, but
:func:`to_onnx` raises an ``ImportError`` that says what to install
(``pip install "skrnn[onnx]"``).

The graph
---------
Input ``X``: a float tensor ``(N, T, F)`` (batch-first, as ``predict``), or ``(N, T)``
for univariate sequences, with dynamic ``N`` and ``T``; optionally a second input, a
1-D int64 (or int32) tensor ``(N,)`` of per-sequence lengths, for ragged batches
padded to a common ``T`` (the padding is never read). With ``sequence_norm`` each
sequence's shape, level and log scale are computed first, in float64. The recurrent
layers are the ONNX operators ``RNN``, ``GRU`` (``linear_before_reset=1``, PyTorch's GRU) and
``LSTM``, with ``sequence_lens`` and ``direction='bidirectional'``, their weights
reordered from PyTorch's gate order (LSTM i, f, g, o -> i, o, f, c; GRU r, z, n ->
z, r, h). ONNX Runtime implements these operators in float32 only, so float64 models
get the same recurrences written with ``Scan`` (option ``recurrence``). Then the
pooling (last / mean / max over each sequence's real steps), the output layer (plus
the linear skip's map of each sequence's last input rows) and its activation, and the
outputs of scikit-learn's converters:

- regressor: ``variable`` ``(N, n_outputs)``;
- classifier: ``label`` ``(N,)`` (``(N, n_classes)`` for multilabel targets) and
  ``probabilities`` ``(N, n_classes)``, as ``predict`` and ``predict_proba``;
  skl2onnx's option ``zipmap`` (default True) turns the probabilities into a list of
  dictionaries; ONNX's ``ZipMap`` takes float32 only, so float64 classifiers need
  ``zipmap=False``;
- option ``transform=True``: ``variable`` ``(N, n_features_out)``, the pooled
  features of :meth:`~skrnn.RNNRegressor.transform` instead.

The per-timestep estimators (``pooling='steps'``) apply the output layer to the last
layer's output at every step: ``variable`` ``(N, T)`` (``(N, T, n_outputs)`` for
several outputs a step), or ``label`` ``(N, T)`` and ``probabilities``
``(N, T, n_classes)``; with ``transform=True`` ``variable`` ``(N, T, n_features_out)``.
Past a sequence's end (with ``sequence_lens``) the values, probabilities and features
are 0 and the label is ``classes_[0]``: padding, to be dropped. ``zipmap`` is refused
(ONNX's ``ZipMap`` reads 2-D tensors) and off by default; ``nocl`` and
``output_class_labels`` work.

``segment_length`` is part of the graph (each sequence's last segment is filled
by repeating its last real timestep, as in ``predict``; with ``segment_jitter``, the
graph averages over the same offsets as ``predict``, stacked into one batch), and the
standardisation of inputs and targets is folded into ``weights_``, so the graph reads
raw data. Dropout acts only in training.

Converter options (skl2onnx's ``options={id(model): {...}}`` or this module's
:func:`to_onnx` keywords): for classifiers skl2onnx's ``zipmap`` (True, False,
'columns'), ``nocl`` (labels as class indices) and ``output_class_labels`` (one more
output, ``classes_``); for both, ``transform`` (False, True) and ``recurrence``:
'auto' (the native operators in float32, ``Scan`` in float64), 'native' (the
operators in any dtype: a valid graph that ONNX Runtime cannot run in float64),
'scan' (``Scan`` in any dtype).
"""

import numbers

import numpy as np

from ._estimators import RNNClassifier, RNNRegressor
from ._sequence_estimators import RNNSequenceClassifier, RNNSequenceRegressor
from ._sequences import SCALE_FLOOR

try:
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import convert_sklearn, update_registered_converter
    from skl2onnx._parse import _parse_sklearn_classifier
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int32TensorType,
        Int64TensorType,
        StringTensorType,
    )
except ImportError as exc:  # onnx / skl2onnx are an optional extra
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None

__all__ = ["pad_sequences", "to_onnx"]

#: Name under which skl2onnx knows each estimator.
ALIASES = {RNNRegressor: "SkrnnRNNRegressor", RNNClassifier: "SkrnnRNNClassifier",
           RNNSequenceRegressor: "SkrnnRNNSequenceRegressor",
           RNNSequenceClassifier: "SkrnnRNNSequenceClassifier"}

#: The per-timestep estimators (``pooling='steps'``): outputs ``(N, T, ...)``.
SEQUENCE_ESTIMATORS = (RNNSequenceRegressor, RNNSequenceClassifier)
CLASSIFIERS = (RNNClassifier, RNNSequenceClassifier)

#: Smallest ONNX opset the converter writes (axes of Squeeze/Unsqueeze/ReduceSum as
#: inputs, Softmax over one axis).
MIN_OPSET = 13

#: Rows of PyTorch's gate blocks, in ONNX's gate order: LSTM i, f, g, o -> i, o, f, c;
#: GRU r, z, n -> z, r, h.
ONNX_GATE_ORDER = {"rnn": (0,), "lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}

#: The Elman activation -> (ONNX activation, alpha, beta).
ONNX_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None),
    "logistic": ("Sigmoid", None, None),
    "identity": ("Affine", 1.0, 0.0),
}

_OPTIONS = {"transform": [False, True], "recurrence": ["auto", "native", "scan"]}
_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True],
                       "output_class_labels": [False, True], **_OPTIONS}


def _is_sequence(model):
    return isinstance(model, SEQUENCE_ESTIMATORS)


def _require():
    if _IMPORT_ERROR is not None:
        raise ImportError(
            "ONNX export needs the packages onnx and skl2onnx (and onnxruntime to run "
            "the graph): pip install \"skrnn[onnx]\" (or pip install onnx skl2onnx "
            f"onnxruntime). The import failed with: {_IMPORT_ERROR}"
        ) from _IMPORT_ERROR


# --------------------------------------------------------------------------------------
# Weights in ONNX's layout (NumPy only)


def onnx_layer_weights(weights, spec, layer, dtype=np.float32):
    """Layer ``layer``'s parameters as the ``W``, ``R`` and ``B`` inputs of ONNX's
    ``RNN``/``GRU``/``LSTM`` operators.

    Parameters
    ----------
    weights : dict of str to ndarray
        ``weights_`` of a fitted estimator (PyTorch's names, shapes and gate order).
    spec : NetworkSpec
        The estimator's network (``est._spec``).
    layer : int
    dtype : dtype, default=np.float32

    Returns
    -------
    W : ndarray of shape (D, G*H, F_layer)
    R : ndarray of shape (D, G*H, H)
    B : ndarray of shape (D, 2*G*H)
        ``[Wb, Rb]`` of each direction, forward first; ``D`` is 2 when
        ``spec.bidirectional``. The gate blocks are in ONNX's order.
    """
    H = spec.hidden_sizes[layer]
    order = ONNX_GATE_ORDER[spec.cell]
    rows = np.concatenate([np.arange(g * H, (g + 1) * H) for g in order])
    Ws, Rs, Bs = [], [], []
    for suffix in ("", "_reverse")[:spec.n_directions]:
        w_ih, w_hh, b_ih, b_hh = (np.asarray(weights[f"{name}_l{layer}{suffix}"])
                                  for name in ("weight_ih", "weight_hh", "bias_ih",
                                               "bias_hh"))
        Ws.append(w_ih[rows])
        Rs.append(w_hh[rows])
        Bs.append(np.concatenate([b_ih[rows], b_hh[rows]]))
    return tuple(np.ascontiguousarray(np.stack(a), dtype=dtype) for a in (Ws, Rs, Bs))


def pad_sequences(sequences, dtype=np.float32):
    """Sequences of different lengths -> the inputs of an exported graph.

    Parameters
    ----------
    sequences : list of array-like of shape (n_timesteps_i, n_features) or \
(n_timesteps_i,)
        The sequences, as :meth:`~skrnn.RNNRegressor.predict` takes them.
    dtype : dtype, default=np.float32
        The graph's float type.

    Returns
    -------
    X : ndarray of shape (n_sequences, max_i n_timesteps_i, n_features)
        Batch-first, zero-padded past each sequence's end.
    lengths : ndarray of int64 of shape (n_sequences,)
        Feed it as the graph's second input (``sequence_lens``).

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.onnx import pad_sequences
    >>> X, lengths = pad_sequences([np.ones((3, 2)), np.ones((1, 2))])
    >>> X.shape, lengths
    ((2, 3, 2), array([3, 1]))
    """
    seqs = [np.asarray(s, dtype=dtype) for s in sequences]
    seqs = [s.reshape(-1, 1) if s.ndim == 1 else s for s in seqs]
    if not seqs or any(s.ndim != 2 or len(s) == 0 for s in seqs):
        raise ValueError("pad_sequences takes a non-empty list of non-empty 1-D or 2-D "
                         "sequences (n_timesteps_i, n_features).")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    X = np.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=dtype)
    for i, s in enumerate(seqs):
        X[i, :len(s)] = s
    return X, lengths


# --------------------------------------------------------------------------------------
# Graph building


class _Graph:
    """Writes nodes into skl2onnx's container, or into a ``Scan`` body (``nodes``);
    constants always go to the container's initializers (a body reads them from the
    outer scope)."""

    def __init__(self, scope, container, dtype, nodes=None):
        self.scope = scope
        self.container = container
        self.dtype = np.dtype(dtype)
        self.proto = TensorProto.FLOAT if self.dtype == np.float32 else TensorProto.DOUBLE
        self.opset = container.target_opset_any_domain("")
        self.nodes = nodes
        self._consts = {}

    def body(self):
        """A builder for a subgraph, sharing the constants."""
        sub = _Graph(self.scope, self.container, self.dtype, nodes=[])
        sub._consts = self._consts
        return sub

    def name(self, seed):
        return self.scope.get_unique_variable_name(seed)

    def const(self, value, seed="c", dtype=None):
        """An initializer holding ``value`` (in the graph's float type unless
        ``dtype``); equal small constants are made once."""
        value = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        key = None
        if value.size <= 16 and value.dtype.kind != "U":
            key = (value.dtype.str, value.shape, value.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.name(seed)
        if value.dtype.kind in "US":
            strings = [str(s).encode("utf-8") for s in value.ravel()]
            self.container.add_initializer(name, TensorProto.STRING, list(value.shape),
                                           strings)
        elif value.ndim == 0:  # skl2onnx makes a scalar of a NumPy scalar only
            proto = helper.np_dtype_to_tensor_dtype(value.dtype)
            self.container.add_initializer(name, proto, None, value[()])
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(value), name)
            self.container.add_initializer(name, tensor.data_type, list(value.shape),
                                           tensor)
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64), "ints", np.int64)

    def op(self, op_type, inputs, n_outputs=1, outputs=None, domain="", **attrs):
        """One node; returns its output name (or the list of them)."""
        if outputs is None:
            outputs = [self.name(op_type.lower()) for _ in range(n_outputs)]
        elif isinstance(outputs, str):
            outputs = [outputs]
        if self.nodes is None:
            self.container.add_node(op_type, list(inputs), outputs, op_domain=domain,
                                    name=self.scope.get_unique_operator_name(op_type),
                                    **attrs)
        else:
            self.nodes.append(helper.make_node(
                op_type, list(inputs), outputs,
                name=self.scope.get_unique_operator_name(op_type), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    # a few ops whose signature changed across opsets

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", [x, self.ints(axes)])

    def squeeze(self, x, axes):
        return self.op("Squeeze", [x, self.ints(axes)])

    def reduce(self, op_type, x, axes, keepdims=0):
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=keepdims)
        return self.op(op_type, [x], axes=list(axes), keepdims=keepdims)

    def dim(self, x, axis):
        """``x.shape[axis]`` as an int64 scalar."""
        return self.op("Gather", [self.op("Shape", [x]),
                                  self.const(np.int64(axis), "axis", np.int64)])

    def cast(self, x, to):
        return self.op("Cast", [x], to=to)


def _input_dtype(variable):
    if isinstance(variable.type, FloatTensorType):
        return np.float32
    if isinstance(variable.type, DoubleTensorType):
        return np.float64
    raise TypeError(
        f"skrnn's ONNX converter takes a float32 or float64 input tensor, got "
        f"{type(variable.type).__name__} for input '{variable.onnx_name}'."
    )


def _step_features(model):
    """Features per timestep of the model's input."""
    return model._step_features(model._spec)


def _normalize_each(g, x, lens, shift, scale):
    """``sequence_norm``: ``x`` ``(N, T, F)`` -> the shape ``(N, T, F)``, zero past each
    sequence's end, and the level and log scale ``(N, 1, 2F)``, over each sequence's
    own real steps (``skrnn._sequences.normalize_each``). Computed in float64, as
    skrnn does: in float32, a sequence far from zero and of small scale would lose
    its shape's digits to the subtraction."""
    f8 = np.float64

    def c(value, seed):
        return g.const(np.asarray(value, f8), seed, f8)

    def real(v):  # zero past the end
        return v if mask is None else g.op("Where", [mask, v, c(0.0, "zero_d")])

    u = g.op("Div", [g.op("Sub", [g.cast(x, TensorProto.DOUBLE), c(shift, "x_shift")]),
                     c(scale, "x_scale")])
    if lens is None:  # every sequence T steps long
        mask = None
        n = g.cast(g.dim(x, 1), TensorProto.DOUBLE)
    else:
        t = g.op("Range", [g.const(np.int64(0), "zero", np.int64), g.dim(x, 1),
                           g.const(np.int64(1), "one", np.int64)])
        mask = g.unsqueeze(g.op("Less", [g.unsqueeze(t, [0]), g.unsqueeze(lens, [1])]),
                           [2])  # (N, T, 1)
        u = real(u)
        n = g.cast(g.unsqueeze(lens, [1, 2]), TensorProto.DOUBLE)  # (N, 1, 1)
    mean = g.op("Div", [g.reduce("ReduceSum", u, [1], keepdims=1), n])  # (N, 1, F)
    dev = real(g.op("Sub", [u, mean]))
    var = g.op("Div", [g.reduce("ReduceSum", g.op("Mul", [dev, dev]), [1], keepdims=1),
                       n])
    std = g.op("Sqrt", [g.op("Add", [var, c(SCALE_FLOOR ** 2, "floor2")])])
    stats = g.op("Concat", [mean, g.op("Log", [std])], axis=2)
    return g.cast(g.op("Div", [dev, std]), g.proto), g.cast(stats, g.proto)


def _relative_to_last(g, x, lens, feature, F):
    """``relative_to_last``: ``x`` ``(N, T, F)`` -> ``x`` with feature ``feature``
    minus its value at each sequence's last real step, and those values ``(N, 1)``
    (``skrnn._sequences.relative_to_last``; the steps past a sequence's end are never
    read)."""
    one = g.const(np.int64(1), "one", np.int64)
    if lens is None:  # every sequence T steps long
        idx = g.unsqueeze(g.op("Sub", [g.dim(x, 1), one]), [0])  # (1,)
        at_last = g.op("Gather", [x, idx], axis=1)  # (N, 1, F)
    else:
        idx = g.unsqueeze(g.op("Sub", [g.cast(lens, TensorProto.INT64), one]), [1])
        at_last = _gather_steps(g, x, idx, F)  # (N, 1, F)
    only = np.zeros(F)
    only[feature] = 1.0
    x = g.op("Sub", [x, g.op("Mul", [at_last, g.const(only, "relative_feature")])])
    last = g.op("Gather", [g.squeeze(at_last, [1]), g.ints([feature])], axis=1)
    return x, last


def _segment(g, x, lens, k, F):
    """``segment_length = k``: ``x`` ``(N, T, F)`` -> ``(N, S, k*F)`` with
    ``S = ceil(T / k)``, each sequence's last segment filled with its last real step
    (``skrnn._sequences.segment``); the lengths become ``ceil(lens / k)``."""
    one = g.const(np.int64(1), "one", np.int64)
    kk = g.const(np.int64(k), "k", np.int64)
    T = g.dim(x, 1)
    S = g.op("Div", [g.op("Add", [T, g.const(np.int64(k - 1), "km1", np.int64)]), kk])
    steps = g.op("Range", [g.const(np.int64(0), "zero", np.int64), g.op("Mul", [S, kk]),
                           one])  # (S*k,)
    if lens is None:  # every sequence T steps long: repeat step T - 1
        idx = g.op("Min", [steps, g.op("Sub", [T, one])])
        xs = g.op("Gather", [x, idx], axis=1)
        seg_lens = None
    else:
        last = g.unsqueeze(g.op("Sub", [lens, one]), [1])  # (N, 1)
        idx = g.op("Min", [g.unsqueeze(steps, [0]), last])  # (N, S*k)
        xs = _gather_steps(g, x, idx, F)
        seg_lens = g.op("Div", [g.op("Add", [lens, g.const(np.int64(k - 1), "km1",
                                                             np.int64)]), kk])
    return g.op("Reshape", [xs, g.ints([0, -1, k * F])]), seg_lens


def _segment_offsets(g, x, lens, k, F, offsets):
    """``segment_jitter``'s prediction: ``x`` ``(N, T, F)`` in segments started each
    of ``offsets`` steps early (each sequence's first step repeated in front,
    ``skrnn._sequences.segment`` with ``offset``), stacked offset by offset:
    ``(len(offsets) * N, S, k*F)`` with ``S = ceil((T + max(offsets)) / k)``, and the
    lengths ``ceil((lens + offset) / k)``."""
    zero = g.const(np.int64(0), "zero", np.int64)
    one = g.const(np.int64(1), "one", np.int64)
    kk = g.const(np.int64(k), "k", np.int64)
    T = g.dim(x, 1)
    if lens is None:  # every sequence T steps long
        lens = g.op("Expand", [T, g.op("Slice", [g.op("Shape", [x]), g.ints([0]),
                                                 g.ints([1])])])
    S = g.op("Div", [g.op("Add", [T, g.const(np.int64(max(offsets) + k - 1), "span",
                                             np.int64)]), kk])
    steps = g.unsqueeze(g.op("Range", [zero, g.op("Mul", [S, kk]), one]), [0])
    last = g.unsqueeze(g.op("Sub", [lens, one]), [1])  # (N, 1)
    parts, part_lens = [], []
    for offset in offsets:
        o = g.const(np.int64(offset), "offset", np.int64)
        idx = g.op("Max", [g.op("Min", [g.op("Sub", [steps, o]), last]), zero])
        parts.append(_gather_steps(g, x, idx, F))  # (N, S*k, F)
        part_lens.append(g.op("Div", [g.op("Add", [lens, g.const(
            np.int64(offset + k - 1), "span", np.int64)]), kk]))
    xs = g.op("Concat", parts, axis=0)
    return (g.op("Reshape", [xs, g.ints([0, -1, k * F])]),
            g.op("Concat", part_lens, axis=0))


def _mean_over_offsets(g, v, n):
    """The rows of ``v`` ``(n * N, C)``, stacked offset by offset, averaged over the
    ``n`` offsets: ``(N, C)``."""
    if n == 1:
        return v
    shape = g.op("Concat", [g.ints([n, -1]), g.unsqueeze(g.dim(v, 1), [0])], axis=0)
    # each divided first, as predict does: a sum of the largest floats would overflow
    # (and a mean of finite values rounded past the largest is clipped back)
    v = g.op("Div", [v, g.const(float(n), "n_offsets")])
    big = float(np.finfo(g.dtype).max)
    return g.op("Clip", [g.reduce("ReduceSum", g.op("Reshape", [v, shape]), [0]),
                         g.const(-big, "minus_big"), g.const(big, "big")])


def _skip_window(g, x, lens, S, F):
    """The linear skip's input ``(N, S*F)``: the last ``S`` real rows of ``x``
    ``(N, T, F)``, a sequence shorter than ``S`` front-filled with its first row
    (``skrnn._network._skip_window``)."""
    zero = g.const(np.int64(0), "zero", np.int64)
    back = g.op("Range", [g.const(np.int64(-S), "minus_S", np.int64), zero,
                          g.const(np.int64(1), "one", np.int64)])  # (S,): -S ... -1
    if lens is None:  # every sequence T steps long
        idx = g.op("Max", [g.op("Add", [g.dim(x, 1), back]), zero])  # (S,)
        window = g.op("Gather", [x, idx], axis=1)
    else:
        idx = g.op("Max", [g.op("Add", [g.unsqueeze(lens, [1]), g.unsqueeze(back, [0])]),
                           zero])  # (N, S)
        window = _gather_steps(g, x, idx, F)
    return g.op("Reshape", [window, g.ints([0, S * F])])


def _gather_steps(g, x, idx, F):
    """``x`` ``(N, T, F)`` at each sequence's own steps ``idx`` ``(N, K)``: ``(N, K,
    F)``."""
    shape = g.op("Concat", [g.op("Shape", [idx]), g.ints([F])], axis=0)
    return g.op("GatherElements", [x, g.op("Expand", [g.unsqueeze(idx, [2]), shape])],
                axis=1)


def _native_layer(g, model, layer, x, lens32):
    """Layer ``layer`` by ONNX's ``RNN``/``GRU``/``LSTM``: ``x`` ``(T, N, F_k)`` ->
    outputs ``(T, N, D*H)`` and the last states ``(N, D*H)`` (PyTorch's ``h_n``)."""
    spec = model._spec
    D = spec.n_directions
    H = spec.hidden_sizes[layer]
    W, R, B = onnx_layer_weights(model.weights_, spec, layer, g.dtype)
    attrs = dict(hidden_size=H, direction="bidirectional" if D == 2 else "forward")
    op_type = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[spec.cell]
    if spec.cell == "gru":
        attrs["linear_before_reset"] = 1
    elif spec.cell == "rnn":
        name, alpha, beta = ONNX_ACTIVATIONS[spec.activation]
        attrs["activations"] = [name] * D
        if alpha is not None:
            attrs["activation_alpha"] = [alpha] * D
            attrs["activation_beta"] = [beta] * D
    inputs = [x, g.const(W, f"W_l{layer}"), g.const(R, f"R_l{layer}"),
              g.const(B, f"B_l{layer}")]
    if lens32 is not None:
        inputs.append(lens32)
    Y, Y_h = g.op(op_type, inputs, n_outputs=2, **attrs)  # (T, D, N, H), (D, N, H)
    if D == 1:
        return g.squeeze(Y, [1]), g.squeeze(Y_h, [0])
    Y = g.op("Reshape", [g.op("Transpose", [Y], perm=[0, 2, 1, 3]), g.ints([0, 0, -1])])
    Y_h = g.op("Reshape", [g.op("Transpose", [Y_h], perm=[1, 0, 2]), g.ints([0, -1])])
    return Y, Y_h


def _reverse_within(g, x, rev):
    """``x`` ``(T, N, C)`` with each sequence reversed within its own length, by the
    index ``rev`` ``(T, N)`` (its own inverse)."""
    shape = g.op("Shape", [x])
    return g.op("GatherElements", [x, g.op("Expand", [g.unsqueeze(rev, [2]), shape])],
                axis=0)


#: Gate blocks of a ``Scan`` step, from PyTorch's order: the logistic gates first,
#: then the tanh ones (LSTM i, f, o | g; GRU r, z | n).
SCAN_GATE_ORDER = {"rnn": (0,), "lstm": (0, 1, 3, 2), "gru": (0, 1, 2)}

#: How many of those blocks go through the logistic function (the Elman cell's one
#: does with ``activation='logistic'``).
_N_LOGISTIC = {"rnn": 0, "lstm": 3, "gru": 2}


def _scan_direction(g, model, layer, suffix, x, mask, reverse):
    """One direction of layer ``layer`` as a ``Scan`` over the steps of ``x``
    ``(T, N, F_k)`` (already reversed within the lengths when ``mask`` is given and
    ``reverse``): the outputs ``(T, N, H)`` and the last state ``(N, H)``. Past a
    sequence's end (``mask`` false) the states stay as they are.

    Before the loop, the input projection of every step (one MatMul, both biases
    but the GRU's ``b_hn``, which the reset gate multiplies); in it, one MatMul with
    the fused recurrent weights and the gate arithmetic. In float64 the logistic
    gates read ``1 / (1 + exp(-a))`` with the sign folded into their rows (ONNX
    Runtime's float64 ``Sigmoid`` costs five times its ``Exp``)."""
    spec = model._spec
    H = spec.hidden_sizes[layer]
    cell = spec.cell
    W = {name: np.asarray(model.weights_[f"{name}_l{layer}{suffix}"], dtype=g.dtype)
         for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    rows = np.concatenate([np.arange(i * H, (i + 1) * H) for i in SCAN_GATE_ORDER[cell]])
    w_ih, w_hh = W["weight_ih"][rows], W["weight_hh"][rows]
    b_ih, b_hh = W["bias_ih"][rows], W["bias_hh"][rows]
    n_logistic = H * (_N_LOGISTIC[cell] if cell != "rnn"
                      else int(spec.activation == "logistic"))
    by_exp = g.dtype == np.float64 and n_logistic > 0
    sign = np.ones(len(rows), dtype=g.dtype)
    if by_exp:
        sign[:n_logistic] = -1
    bias = b_ih + b_hh
    b_rec = None
    if cell == "gru":  # b_hn stays inside r * (W_hn h + b_hn)
        bias[2 * H:] = b_ih[2 * H:]
        b_rec = np.zeros_like(b_hh)
        b_rec[2 * H:] = b_hh[2 * H:]
    xw = g.op("Add", [g.op("MatMul", [x, g.const((sign[:, None] * w_ih).T,
                                                 f"Wt_l{layer}")]),
                      g.const(sign * bias, f"b_l{layer}")])  # (T, N, G*H)
    R = g.const((sign[:, None] * w_hh).T, f"Rt_l{layer}")  # (H, G*H)

    b = g.body()
    h, x_t = b.name("h"), b.name("x")
    c = b.name("c") if cell == "lstm" else None
    m = b.name("m") if mask is not None else None

    def logistic(a):
        if not by_exp:
            return b.op("Sigmoid", [a])
        one = g.const(1.0, "one_f")
        return b.op("Reciprocal", [b.op("Add", [b.op("Exp", [a]), one])])

    def split(a, sizes):
        return b.op("Split", [a, g.ints(sizes)], n_outputs=len(sizes), axis=1)

    hw = b.op("MatMul", [h, R])
    if cell == "rnn":
        a = b.op("Add", [x_t, hw])
        act = {"tanh": "Tanh", "relu": "Relu", "logistic": "Sigmoid",
               "identity": "Identity"}[spec.activation]
        h_new = logistic(a) if act == "Sigmoid" else b.op(act, [a])
        c_new = None
    elif cell == "lstm":
        ifo, g_pre = split(b.op("Add", [x_t, hw]), [3 * H, H])
        i_t, f_t, o_t = split(logistic(ifo), [H, H, H])
        c_new = b.op("Add", [b.op("Mul", [f_t, c]),
                             b.op("Mul", [i_t, b.op("Tanh", [g_pre])])])
        h_new = b.op("Mul", [o_t, b.op("Tanh", [c_new])])
    else:  # gru
        x_rz, x_n = split(x_t, [2 * H, H])
        h_rz, h_n = split(b.op("Add", [hw, g.const(b_rec, f"bhn_l{layer}")]), [2 * H, H])
        r_t, z_t = split(logistic(b.op("Add", [x_rz, h_rz])), [H, H])
        n_t = b.op("Tanh", [b.op("Add", [x_n, b.op("Mul", [r_t, h_n])])])
        h_new = b.op("Add", [n_t, b.op("Mul", [z_t, b.op("Sub", [h, n_t])])])
        c_new = None
    if m is not None:
        h_new = b.op("Where", [m, h_new, h])
        if c_new is not None:
            c_new = b.op("Where", [m, c_new, c])
    states_in = [h] + ([c] if c else [])
    states_out = [b.op("Identity", [h_new])] + ([b.op("Identity", [c_new])] if c else [])
    y_out = b.op("Identity", [h_new])

    def info(name):
        return helper.make_tensor_value_info(name, TensorProto.BOOL if name == m
                                             else g.proto, None)

    body = helper.make_graph(
        b.nodes, g.name("scan_body"),
        [info(n) for n in states_in + [x_t] + ([m] if m else [])],
        [info(n) for n in states_out + [y_out]])

    N = g.dim(x, 1)
    zeros = g.op("ConstantOfShape", [g.op("Concat", [g.unsqueeze(N, [0]), g.ints([H])],
                                          axis=0)],
                 value=helper.make_tensor("zero", g.proto, [1], [0.0]))
    n_scan = 2 if m else 1
    attrs = dict(body=body, num_scan_inputs=n_scan)
    if reverse and mask is None:  # every sequence full length: Scan reverses
        attrs["scan_input_directions"] = [1] * n_scan
        attrs["scan_output_directions"] = [1]
    outs = g.op("Scan", [zeros] * len(states_in) + [xw] + ([mask] if m else []),
                n_outputs=len(states_in) + 1, **attrs)
    return outs[-1], outs[0]


def _scan_layer(g, model, layer, x, mask3, rev):
    """Layer ``layer`` by ``Scan``: as :func:`_native_layer`."""
    Y, Y_h = _scan_direction(g, model, layer, "", x, mask3, reverse=False)
    if not model._spec.bidirectional:
        return Y, Y_h
    x_r = x if rev is None else _reverse_within(g, x, rev)
    Y_r, Y_h_r = _scan_direction(g, model, layer, "_reverse", x_r, mask3, reverse=True)
    if rev is not None:
        Y_r = _reverse_within(g, Y_r, rev)
    return (g.op("Concat", [Y, Y_r], axis=2), g.op("Concat", [Y_h, Y_h_r], axis=1))


def _recurrence(model, dtype, option):
    if option == "auto":
        return "native" if np.dtype(dtype) == np.float32 else "scan"
    return option


def _network(g, model, x, lens, recurrence):
    """The input ``x`` -> the pooled features ``(N, D*H_last)``, the mask of the
    real steps ``(T, N)`` (``None`` without lengths) and the linear skip's input
    (``None`` without the skip); with ``pooling='steps'`` (the per-timestep
    estimators) the last layer's outputs at every step ``(N, T, D*H_last)``, zero past
    each sequence's end."""
    spec = model._spec
    F = _step_features(model)
    if lens is not None:
        lens = g.cast(lens, TensorProto.INT64)
    stats = None
    if model._sequence_norm:
        x, stats = _normalize_each(g, x, lens, model._x_shift, model._x_scale)
    offsets = _offsets(model)
    if len(offsets) > 1:  # segment_jitter: every offset's rows, one batch
        x, lens = _segment_offsets(g, x, lens, model._segment_length, F, offsets)
        if stats is not None:
            stats = g.op("Concat", [stats] * len(offsets), axis=0)
    elif model._segment_length > 1:
        x, lens = _segment(g, x, lens, model._segment_length, F)
    if stats is not None:  # each row: its steps' shapes, then the level and log scale
        rows = g.op("Slice", [g.op("Shape", [x]), g.ints([0]), g.ints([2])])  # (N, S)
        size = g.op("Concat", [rows, g.ints([2 * F])], axis=0)
        x = g.op("Concat", [x, g.op("Expand", [stats, size])], axis=2)
    window = (_skip_window(g, x, lens, spec.skip_steps, spec.n_features)
              if spec.skip_steps else None)
    x = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, N, F_0), time-major
    mask = rev = lens32 = None
    if lens is not None:
        T = g.dim(x, 0)
        t = g.op("Range", [g.const(np.int64(0), "zero", np.int64), T,
                           g.const(np.int64(1), "one", np.int64)])
        t = g.unsqueeze(t, [1])  # (T, 1)
        mask = g.op("Less", [t, g.unsqueeze(lens, [0])])  # (T, N)
        lens32 = g.cast(lens, TensorProto.INT32)
        if spec.bidirectional and recurrence == "scan":
            last = g.op("Sub", [g.unsqueeze(lens, [0]), t])
            last = g.op("Sub", [last, g.const(np.int64(1), "one", np.int64)])
            rev = g.op("Where", [mask, last, t])  # step t reads step len - 1 - t
    mask3 = None if mask is None else g.unsqueeze(mask, [2])  # (T, N, 1)
    for layer in range(len(spec.hidden_sizes)):
        if recurrence == "native":
            x, last = _native_layer(g, model, layer, x, lens32)
        else:
            x, last = _scan_layer(g, model, layer, x, mask3, rev)
    if spec.pooling == "steps":
        if mask3 is not None:  # past the end: zero, as skrnn's
            x = g.op("Where", [mask3, x, g.const(0.0, "zero_f")])
        return g.op("Transpose", [x], perm=[1, 0, 2]), mask, window
    if spec.pooling == "last":
        return last, mask, window
    if spec.pooling == "mean":
        if mask3 is not None:
            x = g.op("Where", [mask3, x, g.const(0.0, "zero_f")])
        total = g.reduce("ReduceSum", x, [0])
        count = g.dim(x, 0) if lens is None else g.unsqueeze(lens, [1])
        return g.op("Div", [total, g.cast(count, g.proto)]), mask, window
    if mask3 is not None:
        x = g.op("Where", [mask3, x, g.const(-np.inf, "minus_inf")])
    return g.reduce("ReduceMax", x, [0]), mask, window


def _offsets(model):
    """The offsets the model's predictions average over (``segment_jitter``)."""
    return tuple(getattr(model, "_predict_offsets", (0,)))


def _label_classes(model, nocl=False):
    """``classes_`` as the constant the label is read from, and its ONNX type (with
    skl2onnx's option ``nocl``, the class indices)."""
    classes = np.asarray(model.classes_)
    if nocl:
        return np.arange(len(classes), dtype=np.int64), Int64TensorType
    if classes.dtype.kind in "iubf":  # float labels are integers (or not classes)
        return classes.astype(np.int64), Int64TensorType
    return classes.astype(str), StringTensorType


def _is_multilabel(model):
    return model._label_binarizer.y_type_.startswith("multilabel")


def _check_model(model):
    if type(model) not in ALIASES:
        raise TypeError(
            f"skrnn's ONNX converter takes a fitted RNNRegressor, RNNClassifier, "
            f"RNNSequenceRegressor or RNNSequenceClassifier, got "
            f"{type(model).__name__}."
        )
    if not hasattr(model, "weights_"):
        raise ValueError(f"This {type(model).__name__} instance is not fitted yet: call "
                         "'fit' before exporting it to ONNX.")
    if _is_sequence(model) and (model._spec.pooling != "steps"
                                or model._segment_length != 1):
        raise ValueError(  # cannot happen through the public API
            f"{type(model).__name__}'s ONNX converter exports one output a timestep "
            f"(pooling='steps', segment_length 1), got pooling="
            f"{model._spec.pooling!r}, segment_length {model._segment_length}.")


def _options(scope, model):
    defaults = dict(transform=False, recurrence="auto")
    if isinstance(model, RNNClassifier):
        defaults.update(zipmap=True, nocl=False)
    elif isinstance(model, RNNSequenceClassifier):  # ZipMap reads 2-D tensors only
        defaults.update(zipmap=False, nocl=False, output_class_labels=False)
    return scope.get_options(model, defaults)


def _convert(scope, operator, container):
    """skl2onnx converter: the graph of ``operator.raw_operator``."""
    model = operator.raw_operator
    options = _options(scope, model)
    if container.target_opset_any_domain("") < MIN_OPSET:
        raise ValueError(
            f"skrnn's ONNX converter needs target_opset >= {MIN_OPSET}, got "
            f"{container.target_opset_any_domain('')}."
        )
    dtype = _input_dtype(operator.inputs[0])
    g = _Graph(scope, container, dtype)
    x = operator.inputs[0].full_name
    if len(operator.inputs[0].type.shape) == 2:
        x = g.unsqueeze(x, [2])  # univariate (N, T) -> (N, T, 1)
    lens = operator.inputs[1].full_name if len(operator.inputs) > 1 else None
    last = None
    if model._relative_to_last is not None:  # (RNNRegressor's option)
        x, last = _relative_to_last(g, x, lens, model._relative_to_last,
                                    _step_features(model))
    pooled, mask, window = _network(g, model, x, lens, _recurrence(model, dtype,
                                                           options["recurrence"]))
    outputs = [v.full_name for v in operator.outputs]
    if _is_sequence(model):
        _convert_steps(g, model, options, pooled, mask, outputs)
        return
    n_offsets = len(_offsets(model))
    if options["transform"]:
        g.op("Identity", [_mean_over_offsets(g, pooled, n_offsets)],
             outputs=outputs[0])
        return
    z = g.op("Gemm", [pooled, g.const(model.weights_["out_weight"], "out_weight"),
                      g.const(model.weights_["out_bias"], "out_bias")], transB=1)
    if window is not None:  # the linear skip
        z = g.op("Add", [z, g.op("MatMul", [window, g.const(
            np.asarray(model.weights_["skip_weight"]).T, "skip_weight_t")])])
    act = model._spec.out_activation
    if isinstance(model, RNNRegressor):
        if act == "exp":  # saturates at the largest float, as predict's
            z = g.op("Min", [g.op("Exp", [z]), g.const(np.finfo(dtype).max, "big")])
        z = _mean_over_offsets(g, z, n_offsets)
        if last is not None:  # the network's output is the change since the last value
            z = g.op("Add", [z, last])
        g.op("Identity", [z], outputs=outputs[0])
        return
    label, proba = outputs[:2]
    if act == "softmax":
        p = _mean_over_offsets(g, g.op("Softmax", [z], axis=1), n_offsets)
        g.op("Max", [p, g.const(np.finfo(dtype).tiny, "tiny")], outputs=proba)
        idx = g.op("ArgMax", [p], axis=1, keepdims=0)
    else:
        p = _mean_over_offsets(g, g.op("Sigmoid", [z]), n_offsets)
        eps = np.finfo(dtype).eps
        p_clip = g.op("Clip", [p, g.const(eps, "eps"), g.const(1 - eps, "one_m_eps")])
        above = g.op("Greater", [p, g.const(0.5, "half")])
        if _is_multilabel(model):
            g.op("Identity", [p_clip], outputs=proba)
            g.op("Cast", [above], outputs=label, to=TensorProto.INT64)
            return
        g.op("Concat", [g.op("Sub", [g.const(1.0, "one_f"), p_clip]), p_clip], axis=1,
             outputs=proba)
        idx = g.op("Reshape", [g.cast(above, TensorProto.INT64), g.ints([-1])])
    classes, _ = _label_classes(model, options["nocl"])
    g.op("Gather", [g.const(classes, "classes", classes.dtype), idx], axis=0,
         outputs=label)


def _convert_steps(g, model, options, feats, mask, outputs):
    """The per-timestep estimators' outputs: the output layer on every step of
    ``feats`` ``(N, T, C)``; past a sequence's end (``mask`` ``(T, N)`` false) the
    values and probabilities are zero and the label is the first class."""
    dtype = g.dtype
    keep = None if mask is None else g.op("Transpose", [mask], perm=[1, 0])  # (N, T)
    keep3 = None if keep is None else g.unsqueeze(keep, [2])  # (N, T, 1)

    def masked(v, out=None):
        if keep3 is None:
            return g.op("Identity", [v], outputs=out)
        return g.op("Where", [keep3, v, g.const(0.0, "zero_f")], outputs=out)

    if options["transform"]:
        masked(feats, outputs[0])
        return
    z = g.op("Add", [g.op("MatMul", [feats, g.const(
        np.asarray(model.weights_["out_weight"]).T, "out_weight_t")]),
        g.const(model.weights_["out_bias"], "out_bias")])  # (N, T, K)
    act = model._spec.out_activation
    K = model._spec.n_outputs
    if isinstance(model, RNNSequenceRegressor):
        if act == "exp":  # the mean saturates at the largest float, as predict's
            z = g.op("Min", [g.op("Exp", [z]), g.const(np.finfo(dtype).max, "big")])
        if K == 1:  # predict's (N, T)
            z = g.squeeze(masked(z), [2])
            g.op("Identity", [z], outputs=outputs[0])
        else:
            masked(z, outputs[0])
        return
    label, proba = outputs[:2]
    if act == "softmax":
        p = g.op("Softmax", [z], axis=2)
        masked(g.op("Max", [p, g.const(np.finfo(dtype).tiny, "tiny")]), proba)
        idx = g.op("ArgMax", [p], axis=2, keepdims=0)  # (N, T)
    else:
        p = g.op("Sigmoid", [z])  # (N, T, 1)
        eps = np.finfo(dtype).eps
        p_clip = g.op("Clip", [p, g.const(eps, "eps"), g.const(1 - eps, "one_m_eps")])
        masked(g.op("Concat", [g.op("Sub", [g.const(1.0, "one_f"), p_clip]), p_clip],
                    axis=2), proba)
        idx = g.squeeze(g.cast(g.op("Greater", [p, g.const(0.5, "half")]),
                               TensorProto.INT64), [2])
    if keep is not None:
        idx = g.op("Where", [keep, idx, g.const(np.int64(0), "zero", np.int64)])
    classes, _ = _label_classes(model, options["nocl"])
    g.op("Gather", [g.const(classes, "classes", classes.dtype), idx], axis=0,
         outputs=label)
    if len(outputs) > 2:  # option output_class_labels
        all_classes, _ = _class_labels_output(model)
        g.op("Identity", [g.const(all_classes, "class_labels", all_classes.dtype)],
             outputs=outputs[2])


def _class_labels_output(model):
    """``classes_`` as skl2onnx's option ``output_class_labels`` gives them."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64), Int64TensorType
    return classes.astype(str), StringTensorType


def _parse_steps(scope, model, inputs):
    """The per-timestep estimators' operator and outputs (no ZipMap: its input is a
    2-D tensor, the probabilities here are 3-D)."""
    options = _options(scope, model)
    name = type(model).__name__
    operator = scope.declare_local_operator(ALIASES[type(model)], model)
    operator.inputs = inputs
    tensor = type(inputs[0].type)
    if isinstance(model, RNNSequenceRegressor) or options["transform"]:
        operator.outputs.append(scope.declare_local_variable("variable", tensor()))
        return operator.outputs
    if options["zipmap"]:
        raise ValueError(
            f"The option zipmap is not available for {name}: ONNX's ZipMap reads a "
            "2-D tensor and its probabilities are 3-D (N, T, n_classes). Export with "
            "zipmap=False, the default of skrnn.to_onnx and of this converter: outputs "
            "label (N, T) and probabilities (N, T, n_classes)."
        )
    _, label_type = _label_classes(model, options["nocl"])
    operator.outputs.append(scope.declare_local_variable("label", label_type()))
    operator.outputs.append(scope.declare_local_variable("probabilities", tensor()))
    if options["output_class_labels"]:
        _, ctype = _class_labels_output(model)
        operator.outputs.append(scope.declare_local_variable("class_labels", ctype()))
    return operator.outputs


def _relaxed_input_type(model, variable, position):
    """The input's type with dynamic batch and time (``to_onnx(model, X)`` fixes
    ``T`` to the sample's), checked against the model."""
    name = type(model).__name__
    if position == 1:
        if not isinstance(variable.type, (Int64TensorType, Int32TensorType)):
            raise TypeError(
                f"The second input of {name}'s graph holds the sequence lengths: an "
                f"int64 or int32 tensor of shape (N,), got {type(variable.type).__name__}."
            )
        return type(variable.type)([None])
    dtype = _input_dtype(variable)
    shape = variable.type.shape
    F = _step_features(model)
    if len(shape) == 2:
        if F != 1:
            raise ValueError(
                f"A 2-D input (N, T) holds univariate sequences, but {name} was fitted "
                f"on {F} features per timestep: declare a 3-D input (N, T, {F})."
            )
        new = [None, None]
    elif len(shape) == 3:
        if shape[2] is not None and shape[2] != F:
            raise ValueError(
                f"The input has {shape[2]} features per timestep, but {name} was "
                f"fitted on {F}."
            )
        new = [None, None, F]
    else:
        raise ValueError(
            f"{name}'s graph reads a 3-D input (N, T, F) or a 2-D one (N, T) of "
            f"univariate sequences, got shape {shape}."
        )
    return (FloatTensorType if dtype == np.float32 else DoubleTensorType)(new)


def _parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser: declares the operator and its outputs (label and
    probabilities, with the zipmap option, for classifiers)."""
    _check_model(model)
    if len(inputs) not in (1, 2):
        raise ValueError(
            f"{type(model).__name__}'s graph has one input X (N, T, F) and optionally a "
            f"second one, the sequence lengths (N,); got {len(inputs)} inputs."
        )
    for position, variable in enumerate(inputs):
        variable.type = _relaxed_input_type(model, variable, position)
    if _is_sequence(model):
        return _parse_steps(scope, model, inputs)
    options = _options(scope, model)
    if isinstance(model, RNNClassifier) and not options["transform"]:
        if options["zipmap"] and isinstance(inputs[0].type, DoubleTensorType):
            raise ValueError(
                "The option zipmap needs float32 probabilities (ONNX's ZipMap takes "
                "tensor(float) only): export float64 classifiers with "
                "options={id(model): {'zipmap': False}} (skrnn.to_onnx does)."
            )
        return _parse_sklearn_classifier(scope, model, inputs,
                                         custom_parsers=custom_parsers)
    operator = scope.declare_local_operator(ALIASES[type(model)], model)
    operator.inputs = inputs
    variable = scope.declare_local_variable("variable", type(inputs[0].type)())
    operator.outputs.append(variable)
    return operator.outputs


def _shape_calculator(operator):
    model = operator.raw_operator
    options = _options(operator.scope_inst, model)
    tensor = type(operator.inputs[0].type)
    N = operator.inputs[0].type.shape[0]
    if _is_sequence(model):
        T = operator.inputs[0].type.shape[1]
        K = model._spec.n_outputs
        if options["transform"]:
            operator.outputs[0].type = tensor([N, T, model._spec.n_pooled])
        elif isinstance(model, RNNSequenceRegressor):
            operator.outputs[0].type = tensor([N, T] if K == 1 else [N, T, K])
        else:
            _, label_type = _label_classes(model, options["nocl"])
            operator.outputs[0].type = label_type([N, T])
            operator.outputs[1].type = tensor([N, T, len(model.classes_)])
            if len(operator.outputs) > 2:
                _, ctype = _class_labels_output(model)
                operator.outputs[2].type = ctype([len(model.classes_)])
        return
    if options["transform"]:
        operator.outputs[0].type = tensor([N, model._spec.n_pooled])
    elif isinstance(model, RNNRegressor):
        operator.outputs[0].type = tensor([N, model.n_outputs_])
    else:
        _, label_type = _label_classes(model, options["nocl"])
        n_classes = len(model.classes_)
        if _is_multilabel(model):
            operator.outputs[0].type = Int64TensorType([N, n_classes])
        else:
            operator.outputs[0].type = label_type([N])
        operator.outputs[1].type = tensor([N, n_classes])


def register():
    """Register the converters with skl2onnx (done when this module is imported, if
    skl2onnx is installed)."""
    _require()
    for cls, alias in ALIASES.items():
        update_registered_converter(
            cls, alias, _shape_calculator, _convert, parser=_parse,
            options=_CLASSIFIER_OPTIONS if cls in CLASSIFIERS else _OPTIONS)


if _IMPORT_ERROR is None:
    register()


# --------------------------------------------------------------------------------------
# The entry point


def to_onnx(model, X=None, *, sequence_lens=None, zipmap=None, transform=False,
            recurrence="auto", target_opset=None, options=None):
    """Convert a fitted :class:`~skrnn.RNNRegressor`, :class:`~skrnn.RNNClassifier`,
    :class:`~skrnn.RNNSequenceRegressor` or :class:`~skrnn.RNNSequenceClassifier` to
    ONNX.

    Parameters
    ----------
    model : RNNRegressor, RNNClassifier, RNNSequenceRegressor or RNNSequenceClassifier
        A fitted estimator.
    X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays, default=None
        A sample of the input, for its dtype (float32 or float64; other dtypes are
        read as float64, as ``predict`` does) and form: 3-D gives the input
        ``(N, T, F)``; 2-D the input ``(N, T)`` of univariate sequences; a list of
        sequences of different lengths a 3-D input and ``sequence_lens``. ``None``: a
        float32 3-D input. The graph takes any ``N`` and ``T``.
    sequence_lens : bool, default=None
        Whether the graph has a second input ``sequence_lens``, int64 ``(N,)``: each
        sequence's length, the rest of its row of ``X`` being padding that is never
        read (see :func:`pad_sequences`). ``None``: when ``X`` is a list.
    zipmap : bool or 'columns', default=None
        Classifiers: skl2onnx's option (True: the probabilities as a list of
        ``{label: probability}`` dictionaries). ``None``: True for float32, False for
        float64 (ONNX's ``ZipMap`` takes float32 only). RNNSequenceClassifier: False
        (its probabilities are 3-D, which ``ZipMap`` cannot read; True is refused).
    transform : bool, default=False
        Export :meth:`~skrnn.RNNRegressor.transform` (the pooled features) instead of
        ``predict``/``predict_proba``.
    recurrence : {'auto', 'native', 'scan'}, default='auto'
        How the recurrent layers are written: 'native', ONNX's ``RNN``, ``GRU`` and
        ``LSTM`` operators; 'scan', the cells' equations in a ``Scan`` loop; 'auto',
        native in float32, scan in float64 (ONNX Runtime implements the native
        operators in float32 only).
    target_opset : int, default=None
        ONNX opset (at least 13); skl2onnx's latest tested one by default.
    options : dict, default=None
        More of skl2onnx's options for the model, such as ``{'nocl': True}`` or
        ``{'output_class_labels': True}`` (with ``zipmap=False``) for classifiers.

    Returns
    -------
    onx : onnx.ModelProto
        Inputs ``X`` (and ``sequence_lens``); outputs ``variable`` (regressor, or
        ``transform=True``), or ``label`` and ``probabilities`` (classifier;
        ``output_label`` and ``output_probability`` with zipmap). The per-timestep
        estimators' outputs have a time axis after the batch axis, ``(N, T, ...)``,
        zero (label ``classes_[0]``) past each sequence's end.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> import skrnn
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 5, 2)).astype(np.float32)
    >>> reg = skrnn.RNNRegressor(hidden_layer_sizes=(4,), tol=1e-2,
    ...                          random_state=0).fit(X, X[:, 0, 0])
    >>> onx = skrnn.to_onnx(reg, X)
    >>> sess = ort.InferenceSession(onx.SerializeToString(),
    ...                             providers=["CPUExecutionProvider"])
    >>> y = sess.run(None, {"X": X})[0]
    >>> y.shape, bool(np.allclose(y.ravel(), reg.predict(X), rtol=1e-5, atol=1e-6))
    ((40, 1), True)
    """
    _require()
    _check_model(model)
    ragged = isinstance(X, (list, tuple))
    if X is None:
        dtype, ndim = np.float32, 3
    elif ragged:
        dtype = (np.float32 if all(np.asarray(s).dtype == np.float32 for s in X)
                 else np.float64)
        ndim = 3
    else:
        X = np.asarray(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        ndim = X.ndim
    if ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (N, T), 3-D (N, T, F) or a list of sequences, "
                         f"got an array of {ndim} dimensions.")
    tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    F = _step_features(model)
    if ndim == 3 and not ragged and X is not None:
        F = X.shape[2]  # checked against the model by the parser
    elif ragged:
        F = np.atleast_2d(np.asarray(X[0]).T).shape[0]
    initial_types = [("X", tensor([None, None, F] if ndim == 3 else [None, None]))]
    if sequence_lens is None:
        sequence_lens = ragged
    if sequence_lens:
        initial_types.append(("sequence_lens", Int64TensorType([None])))
    if recurrence not in _OPTIONS["recurrence"]:
        raise ValueError(f"recurrence must be one of {_OPTIONS['recurrence']}, got "
                         f"{recurrence!r}.")
    options = {**(options or {}), "transform": bool(transform),
               "recurrence": recurrence}
    if isinstance(model, RNNClassifier):
        if zipmap is None:
            zipmap = dtype == np.float32
        options["zipmap"] = zipmap
    elif isinstance(model, RNNSequenceClassifier):
        options["zipmap"] = False if zipmap is None else zipmap  # True: refused
    kwargs = {}
    if target_opset is not None:
        if not isinstance(target_opset, numbers.Integral):
            raise TypeError(f"target_opset must be an int, got {target_opset!r}.")
        kwargs["target_opset"] = int(target_opset)
    return convert_sklearn(model, initial_types=initial_types,
                           options={id(model): options}, **kwargs)
