"""Stacked recurrent layers, a dense output head and the training objective.

Pure NumPy: nothing here imports scikit-learn. The objective
:func:`loss_and_grad` is a module-level function that the L-BFGS and SGD/Adam solvers
and the tests all call; the estimators only wire data and options into it.

Parameters live in one flat vector ``theta``; :func:`unpack` gives named views of it
whose names, shapes and gate order are PyTorch's (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ..., then ``out_weight`` ``(n_outputs, H_last)`` and
``out_bias``), so weights move to and from ``torch.nn.RNN/LSTM/GRU`` by name. The
linear skip's ``skip_weight`` ``(n_outputs, skip_steps * F)``, last, has no PyTorch
counterpart: it maps each sequence's last ``skip_steps`` input rows to the output.
"""

import functools
import math
from typing import NamedTuple

import numpy as np

from . import _parallel
from ._cells import CELLS, KERNELS
from ._losses import OUT_ACTIVATIONS, loss_and_delta


class NetworkSpec(NamedTuple):
    """Everything that fixes the network's shapes and math (hashable, picklable)."""

    cell: str  # 'rnn', 'lstm' or 'gru'
    activation: str  # Elman nonlinearity; ignored by LSTM and GRU
    n_features: int  # F, features per timestep
    hidden_sizes: tuple  # (H_0, H_1, ...), one entry per stacked layer
    n_outputs: int
    out_activation: str  # 'identity', 'exp', 'logistic' or 'softmax'
    bidirectional: bool = False  # each layer also reads its sequence backwards
    # 'last', 'mean' or 'max': the last layer's states -> the head; 'steps': the head
    # reads every real step (one prediction a timestep)
    pooling: str = "last"
    # the linear skip: a linear map of the last ``skip_steps`` input rows added to the
    # head's output (0: none); not with 'steps'
    skip_steps: int = 0

    @property
    def n_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def n_pooled(self):
        """Width of the pooled features the head reads."""
        return self.n_directions * self.hidden_sizes[-1]


#: Suffixes of a layer's parameter names, one a direction (PyTorch's names).
_DIRECTIONS = ("", "_reverse")


def param_shapes(spec):
    """List of ``(name, shape)`` in the order of the flat vector."""
    return [(name, shape) for name, shape, _, _ in _layout(spec)]


def _layout(spec):
    """``(name, shape, start, stop)`` of each parameter in the flat vector, made once
    a spec (a minibatch step unpacks the parameters and the gradient)."""
    try:
        return _cached_layout(spec)
    except TypeError:  # an unhashable field, such as a list of hidden sizes
        return _cached_layout.__wrapped__(spec)


@functools.lru_cache(maxsize=64)
def _cached_layout(spec):
    G = CELLS[spec.cell][2]
    shapes = []
    fan_in = spec.n_features
    for k, H in enumerate(spec.hidden_sizes):
        for suffix in _DIRECTIONS[:spec.n_directions]:
            shapes += [
                (f"weight_ih_l{k}{suffix}", (G * H, fan_in)),
                (f"weight_hh_l{k}{suffix}", (G * H, H)),
                (f"bias_ih_l{k}{suffix}", (G * H,)),
                (f"bias_hh_l{k}{suffix}", (G * H,)),
            ]
        fan_in = spec.n_directions * H
    shapes += [("out_weight", (spec.n_outputs, fan_in)), ("out_bias", (spec.n_outputs,))]
    if spec.skip_steps:
        shapes.append(("skip_weight", (spec.n_outputs, spec.skip_steps * spec.n_features)))
    layout = []
    start = 0
    for name, shape in shapes:
        stop = start + math.prod(shape)
        layout.append((name, shape, start, stop))
        start = stop
    return tuple(layout)


def n_params(spec):
    """Length of the flat parameter vector."""
    layout = _layout(spec)
    return layout[-1][3]


def is_penalized(name):
    """Whether the L2 penalty ``alpha`` applies (weights yes, biases no, as in MLP)."""
    return "weight" in name


def unpack(theta, spec):
    """Named views into the flat vector ``theta``: writing to a view writes ``theta``."""
    return {name: theta[start:stop].reshape(shape)
            for name, shape, start, stop in _layout(spec)}


def pack(weights, spec, dtype=None):
    """A new flat vector from a dict of named arrays (checked against ``spec``)."""
    shapes = param_shapes(spec)
    if dtype is None:
        dtype = np.result_type(*[weights[name] for name, _ in shapes])
    theta = np.empty(n_params(spec), dtype=dtype)
    views = unpack(theta, spec)
    for name, shape in shapes:
        w = np.asarray(weights[name])
        if w.shape != shape:
            raise ValueError(
                f"weights_['{name}'] has shape {w.shape}, expected {shape}."
            )
        views[name][...] = w
    return theta


def _orthogonal(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def init_params(spec, rng, dtype=np.float64):
    """A flat parameter vector initialised for training.

    Glorot-uniform input weights (per gate block), orthogonal recurrent weights (per
    gate block), zero biases except the LSTM forget-gate bias, set to 1 (in
    ``bias_ih``), and a Glorot-uniform output layer. The draws depend only on the shapes,
    never on the data, so equal seeds give equal networks.

    Parameters
    ----------
    spec : NetworkSpec
    rng : numpy.random.RandomState
    dtype : dtype, default=np.float64
    """
    G = CELLS[spec.cell][2]
    theta = np.zeros(n_params(spec), dtype=dtype)
    views = unpack(theta, spec)
    fan_in = spec.n_features
    for k, H in enumerate(spec.hidden_sizes):
        limit = np.sqrt(6.0 / (fan_in + H))
        for suffix in _DIRECTIONS[:spec.n_directions]:
            w_ih = views[f"weight_ih_l{k}{suffix}"]
            w_hh = views[f"weight_hh_l{k}{suffix}"]
            for gate in range(G):
                rows = slice(gate * H, (gate + 1) * H)
                w_ih[rows] = rng.uniform(-limit, limit, size=(H, fan_in))
                w_hh[rows] = _orthogonal(H, rng)
            if spec.cell == "lstm":
                views[f"bias_ih_l{k}{suffix}"][H:2 * H] = 1.0  # forget gate
        fan_in = spec.n_directions * H
    limit = np.sqrt(6.0 / (fan_in + spec.n_outputs))
    views["out_weight"][...] = rng.uniform(-limit, limit, size=(spec.n_outputs, fan_in))
    return theta


def init_params_widened(spec, narrow_features, columns, rng, dtype=np.float64):
    """:func:`init_params` of ``spec`` whose first layer reads only the input
    ``columns`` at the start: the network :func:`init_params` draws for
    ``narrow_features`` inputs (the same draws), its first-layer input weights placed
    in ``columns`` of the wider ``weight_ih_l0`` and zero in the others (the linear
    skip starts at zero, as always). So extra inputs start silent, and the network
    starts as it would without them.
    """
    narrow = spec._replace(n_features=narrow_features)
    small = unpack(init_params(narrow, rng, dtype), narrow)
    theta = np.zeros(n_params(spec), dtype=dtype)
    views = unpack(theta, spec)
    for name, w in small.items():
        if name.startswith("weight_ih_l0"):
            views[name][:, columns] = w
        elif name != "skip_weight":  # (which starts at zero)
            views[name][...] = w
    return theta


def _batch_sizes(lengths, T):
    """Number of sequences with ``length > t`` for each step; ``lengths`` sorted
    longest first. A list of Python ints, for a fast time loop."""
    if len(lengths) == 0 or lengths[-1] >= T:  # every sequence runs every step
        return [len(lengths)] * T
    counts = np.bincount(lengths, minlength=T + 1)
    return (len(lengths) - np.cumsum(counts)[:T]).tolist()


def _sort_by_length(lengths):
    """Permutation that sorts longest first, or ``None`` when already sorted."""
    if (lengths[:-1] >= lengths[1:]).all():
        return None
    return np.argsort(-lengths, kind="stable")


def _cast_weights(weights, spec, dtype):
    return {name: np.asarray(weights[name]).astype(dtype, copy=False)
            for name, _, _, _ in _layout(spec)}


def _reversal(lengths, T):
    """Index ``(T, N)`` that reverses each sequence within its own length: step ``t``
    of sequence ``n`` reads step ``lengths[n] - 1 - t``; the padding maps to itself.
    ``None`` when every sequence runs every step (then ``A[::-1]`` does it)."""
    if len(lengths) == 0 or lengths[-1] >= T:
        return None
    t = np.arange(T)[:, None]
    return np.where(t < lengths, lengths - 1 - t, t)


def _reverse(A, rev):
    """``A`` ``(T, C, N)`` with each sequence reversed within its length (its own
    inverse, so it also carries gradients back)."""
    if rev is None:
        return A[::-1]
    return A.transpose(0, 2, 1)[rev, np.arange(A.shape[2])].transpose(0, 2, 1)


def _layer_names(k, suffix):
    return (f"weight_ih_l{k}{suffix}", f"weight_hh_l{k}{suffix}",
            f"bias_ih_l{k}{suffix}", f"bias_hh_l{k}{suffix}")


def _layer_forward(W, k, inp, batch_sizes, rev, spec, keep_cache):
    """Layer ``k`` over ``inp`` ``(T, F_k, N)``: outputs ``(T, D*H_k, N)`` (forward
    direction first, as PyTorch concatenates them) and one cache a direction."""
    forward = KERNELS[spec.cell][0]
    w_ih, w_hh, b_ih, b_hh = (W[name] for name in _layer_names(k, ""))
    out, cache = forward(inp, batch_sizes, w_ih, w_hh, b_ih, b_hh, spec.activation,
                         keep_cache)
    if not spec.bidirectional:
        return out, (cache,)
    w_ih, w_hh, b_ih, b_hh = (W[name] for name in _layer_names(k, "_reverse"))
    out_r, cache_r = forward(_reverse(inp, rev), batch_sizes, w_ih, w_hh, b_ih, b_hh,
                             spec.activation, keep_cache)
    T, H, N = out.shape
    both = np.empty((T, 2 * H, N), dtype=out.dtype)
    both[:, :H] = out
    both[:, H:] = _reverse(out_r, rev)
    return both, (cache, cache_r)


def _layer_backward(W, k, dout, caches, rev, spec, dW, need_dx):
    """Backpropagation through layer ``k``: adds its parameter gradients into ``dW``
    and returns ``d loss / d inp`` (or ``None``)."""
    backward = KERNELS[spec.cell][1]
    H = spec.hidden_sizes[k]
    douts = (dout[:, :H], _reverse(dout[:, H:], rev)) if spec.bidirectional else (dout,)
    dx = None
    for suffix, d, cache in zip(_DIRECTIONS, douts, caches, strict=False):
        names = _layer_names(k, suffix)
        dx_dir, grads = backward(d, cache, W[names[0]], W[names[1]], need_dx=need_dx)
        for name, g in zip(names, grads, strict=True):
            dW[name] += g
        if need_dx:
            dx_dir = dx_dir if suffix == "" else _reverse(dx_dir, rev)
            dx = dx_dir if dx is None else dx + dx_dir
    return dx


def _real_steps(lengths, T):
    """Boolean mask ``(T, 1, N)`` of the real (not padding) steps."""
    return (np.arange(T)[:, None] < lengths)[:, None, :]


def _pool(out, lengths, spec):
    """The last layer's outputs ``(T, D*H, N)`` -> pooled features ``(N, D*H)`` and
    what :func:`_pool_backward` needs. Only each sequence's real steps count.

    - 'last': the state after each sequence's last real step; bidirectional, the
      forward direction's last state and the reverse direction's state after reading
      the whole sequence backwards (at step 0), as PyTorch's ``h_n``;
    - 'mean': the mean over the real steps;
    - 'max': the maximum over the real steps, feature by feature.
    """
    T, C, N = out.shape
    cols = np.arange(N)
    if spec.pooling == "steps":  # every real step, step-major: (n_real_steps, C)
        real = _real_steps(lengths, T)[:, 0]  # (T, N)
        return out.transpose(0, 2, 1)[real], real
    if spec.pooling == "last":
        pooled = out[lengths - 1, :, cols]  # (N, C)
        if spec.bidirectional:
            pooled[:, C // 2:] = out[0, C // 2:].T
        return pooled, None
    full = len(lengths) == 0 or lengths[-1] >= T
    if spec.pooling == "mean":
        real = out if full else np.where(_real_steps(lengths, T), out, 0)
        pooled = real.sum(axis=0).T
        pooled /= lengths[:, None]
        return pooled, None
    real = out if full else np.where(_real_steps(lengths, T), out, -np.inf)
    argmax = real.argmax(axis=0)  # (C, N)
    return np.take_along_axis(real, argmax[None], axis=0)[0].T.copy(), argmax


def _pool_backward(dpooled, pool_cache, lengths, T, spec):
    """``d loss / d pooled`` ``(N, C)`` (or one row a real step for 'steps') ->
    ``d loss / d outputs`` ``(T, C, N)``, zero on the padding."""
    N, C = len(lengths), dpooled.shape[1]
    dout = np.zeros((T, C, N), dtype=dpooled.dtype)
    cols = np.arange(N)
    if spec.pooling == "steps":
        dout.transpose(0, 2, 1)[pool_cache] = dpooled
    elif spec.pooling == "last":
        if spec.bidirectional:
            H = C // 2
            dout[lengths - 1, :H, cols] = dpooled[:, :H]
            dout[0, H:] += dpooled[:, H:].T
        else:
            dout[lengths - 1, :, cols] = dpooled
    elif spec.pooling == "mean":
        dout[...] = (dpooled / lengths[:, None]).T
        if len(lengths) and lengths[-1] < T:
            dout *= _real_steps(lengths, T)
    else:
        np.put_along_axis(dout, pool_cache[None], dpooled.T[None], axis=0)
    return dout


def _forward_sorted(W, X, lengths, spec, keep_cache=True, masks=None):
    """Forward of one chunk already sorted longest first and trimmed to its longest
    sequence. ``X`` is feature-major ``(T, F, N)``; ``masks`` are the chunk's dropout
    masks (see :func:`_dropout_masks`), or ``None``. Returns the raw output, the pooled
    features ``(N, D*H)`` (after their dropout) and what :func:`_backward_sorted` needs
    (the caches are ``None`` unless ``keep_cache``)."""
    T = X.shape[0]
    batch_sizes = _batch_sizes(lengths, T)
    rev = _reversal(lengths, T) if spec.bidirectional else None
    caches = []
    inp = X
    for k in range(len(spec.hidden_sizes)):
        if masks is not None and k:
            inp = inp * masks[k - 1]  # inverted dropout between layers
        inp, cache = _layer_forward(W, k, inp, batch_sizes, rev, spec, keep_cache)
        caches.append(cache)
    pooled, pool_cache = _pool(inp, lengths, spec)
    if masks is not None:
        pooled *= masks[-1]
    z = pooled @ W["out_weight"].T
    z += W["out_bias"]
    window = None
    if spec.skip_steps:
        window = _skip_window(X, lengths, spec.skip_steps)
        z += window @ W["skip_weight"].T
    return z, pooled, (caches, pool_cache, rev, window)


def _skip_window(X, lengths, S, cols=None):
    """The linear skip's input ``(n, S * F)``: each sequence's last ``S`` real rows of
    the feature-major ``X`` ``(T, F, N)``, oldest first; a sequence shorter than ``S``
    is front-filled with its first row (so that the window is an affine function of
    the sequence, and folding the input scaling into the weights stays exact).
    ``cols``: the sequences to read (``lengths`` are theirs), all by default."""
    cols = np.arange(len(lengths)) if cols is None else cols
    t = np.maximum(lengths[:, None] - S + np.arange(S), 0)  # (n, S)
    return X[t, :, cols[:, None]].reshape(len(cols), -1)  # (n, S, F) -> (n, S * F)


def _backward_sorted(W, delta, pooled, state, lengths, T, spec, dW, masks=None):
    """Backpropagation of ``delta = d loss / d z`` through the head, the pooling and
    every layer of one chunk; adds the parameter gradients into ``dW``."""
    caches, pool_cache, rev, window = state
    dW["out_weight"] += delta.T @ pooled
    dW["out_bias"] += delta.sum(axis=0)
    if window is not None:
        dW["skip_weight"] += delta.T @ window
    dpooled = delta @ W["out_weight"]
    if masks is not None:
        dpooled *= masks[-1]
    dout = _pool_backward(dpooled, pool_cache, lengths, T, spec)
    for k in range(len(spec.hidden_sizes) - 1, -1, -1):
        dout = _layer_backward(W, k, dout, caches[k], rev, spec, dW, need_dx=k > 0)
        if masks is not None and k:
            dout *= masks[k - 1]


def _dropout_masks(spec, T, N, dropout, rng, dtype):
    """Inverted-dropout masks for ``N`` samples of ``T`` steps, in sample order: one
    ``(N, T, D*H_k)`` array a layer input past the first, then ``(N, D*H_last)`` for the
    pooled features. Each entry is 0 with probability ``dropout``, else
    ``1 / (1 - dropout)``; the draws depend only on ``rng`` and the shapes, never on the
    chunking, so a fit stays bit-reproducible."""
    keep = 1.0 - dropout
    shapes = [(N, T, spec.n_directions * H) for H in spec.hidden_sizes[:-1]]
    shapes.append((N, T, spec.n_pooled) if spec.pooling == "steps" else (N, spec.n_pooled))
    masks = []
    for shape in shapes:
        m = (rng.uniform(size=shape) < keep).astype(dtype)
        m /= dtype.type(keep)
        masks.append(m)
    return masks


def _chunk_masks(masks, idx, T_c, lengths):
    """The dropout masks of the samples ``idx`` (of ``lengths``), feature-major
    ``(T_c, C, n)`` for the layers and ``(n, C)`` for the pooled features (one row a
    real step, step-major, for 'steps')."""
    if masks is None:
        return None
    last = masks[-1][idx]
    if last.ndim == 3:
        last = last[:, :T_c].transpose(1, 0, 2)[_real_steps(lengths, T_c)[:, 0]]
    return [m[idx, :T_c].transpose(1, 2, 0) for m in masks[:-1]] + [last]


def _chunk_feature_major(X, T_c, idx):
    """Rows ``idx`` of the first ``T_c`` steps of ``X`` ``(T, N, F)``, as a feature-major
    ``(T_c, F, n)`` view (the cells copy it into their own buffers)."""
    return X[:T_c, idx].transpose(0, 2, 1)


def predict_raw(weights, X, lengths, spec, chunk=None, n_threads=1):
    """Raw network output (before the output activation) for every sequence.

    Parameters
    ----------
    weights : dict of str to ndarray
        Named parameters (see :func:`param_shapes`); cast to ``X.dtype`` for the work.
    X : ndarray of shape (T, N, F)
        Time-major, zero-padded input, float32 or float64.
    lengths : ndarray of int of shape (N,)
        True length of each sequence, ``1 <= lengths <= T``.
    spec : NetworkSpec
    chunk : int, default=None
        Samples per chunk; ``None`` chooses from :data:`skrnn._parallel.DEFAULT_CHUNK_BYTES`.
    n_threads : int, default=1
        Threads the work may use (see :func:`loss_and_grad`).

    Returns
    -------
    z : ndarray of shape (N, n_outputs), dtype ``X.dtype``
        With ``spec.pooling='steps'``, ``(N, T, n_outputs)``: every step's output, zero
        past each sequence's end.
    """
    return _forward_all(weights, X, lengths, spec, chunk, n_threads, features=False)


def pooled_features(weights, X, lengths, spec, chunk=None, n_threads=1):
    """The pooled features of the last recurrent layer, the head's input:
    ``(N, spec.n_pooled)``. Parameters as :func:`predict_raw`."""
    return _forward_all(weights, X, lengths, spec, chunk, n_threads, features=True)


def _forward_all(weights, X, lengths, spec, chunk, n_threads, features):
    T, N, _ = X.shape
    W = _cast_weights(weights, spec, X.dtype)
    order = _sort_by_length(lengths)
    lengths_s = lengths if order is None else lengths[order]
    width = spec.n_pooled if features else spec.n_outputs
    steps = spec.pooling == "steps"
    # one row a sequence, or (steps) one a sequence and step, zero past its end
    result = (np.zeros((N, T, width), dtype=X.dtype) if steps
              else np.empty((N, width), dtype=X.dtype))
    n_threads, size = _parallel.plan_chunks(spec, N, T, X.dtype.itemsize, chunk, n_threads)

    def work(rows, T_c):
        idx = rows if order is None else order[rows]
        Xc = _chunk_feature_major(X, T_c, idx)
        with np.errstate(over="ignore", invalid="ignore"):
            z, pooled, state = _forward_sorted(W, Xc, lengths_s[rows], spec,
                                               keep_cache=False)
            part = pooled if features else z
            if steps:
                padded = np.zeros(state[1].shape + (width,), dtype=part.dtype)
                padded[state[1]] = part
                part = padded.transpose(1, 0, 2)
            return idx, T_c, part

    for idx, T_c, part in _parallel.map_chunks(work, _parallel.chunks(lengths_s, size),
                                               n_threads):
        if steps:
            result[idx, :T_c] = part
        else:
            result[idx] = part
    if X.dtype == np.float32 and not np.all(np.isfinite(result)):
        # float32 overflowed (weights or values beyond its range): redo in float64,
        # and saturate what float32 cannot hold
        r64 = _forward_all(weights, X.astype(np.float64), lengths, spec, chunk, n_threads,
                           features)
        big = np.finfo(np.float32).max
        result = np.clip(r64, -big, big).astype(np.float32)
    return result


def predict(weights, X, lengths, spec, chunk=None, n_threads=1):
    """Network output after ``spec.out_activation`` (means, or probabilities)."""
    return OUT_ACTIVATIONS[spec.out_activation](predict_raw(weights, X, lengths, spec,
                                                            chunk, n_threads))


def loss_and_grad(theta, X, lengths, Y, spec, sample_weight=None, alpha=0.0, chunk=None,
                  n_threads=1, dropout=0.0, rng=None, skip_alpha=None):
    r"""Training objective and its exact gradient (backpropagation through time).

    .. math::

        L(\theta) = \frac{\sum_i w_i \ell(y_i, z_i(\theta))
                    + \tfrac{\alpha}{2} \sum_{W} \lVert W \rVert^2}{\sum_i w_i}

    where ``W`` runs over the weight matrices (not the biases) and ``l`` is the loss
    that goes with ``spec.out_activation`` (see :mod:`skrnn._losses`). With this
    normalisation a zero weight equals removing a sample and an integer weight equals
    repeating it, and ``alpha`` means what it means in ``MLPRegressor``.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters (see :func:`unpack`); any float dtype.
    X : ndarray of shape (T, N, F)
        Time-major, zero-padded input; its dtype is the dtype of the work.
    lengths : ndarray of int of shape (N,)
    Y : ndarray of shape (N, n_outputs)
        Targets (one-hot or indicator for the log losses). With
        ``spec.pooling='steps'``, ``(N, T_y * n_outputs)``: the targets of each
        sequence's steps, step after step (``T_y >= T``; padding is never read), and
        the loss is the mean over every real step, each weighing its sequence's weight.
    spec : NetworkSpec
    sample_weight : ndarray of shape (N,), default=None
    alpha : float, default=0.0
    chunk : int, default=None
        Samples per chunk of work: peak memory is bounded by the chunk, not by ``N``.
    n_threads : int, default=1
        Threads the work may use; run BLAS on one thread meanwhile. When a thread's
        share of a step is large enough
        (:data:`skrnn._parallel.PARALLEL_MIN_FLOPS`), the samples are cut into chunks
        computed at once, each with its own gradient, summed in chunk
        order, so that the result does not depend on the threads' timing.
    dropout : float, default=0.0
        Probability of zeroing each input of the layers past the first and each pooled
        feature (inverted dropout: the kept ones are scaled by ``1 / (1 - dropout)``),
        drawn anew at each call from ``rng``. The objective is then random.
    rng : numpy.random.RandomState, default=None
        Source of the dropout masks; required when ``dropout > 0``.
    skip_alpha : float, default=None
        The penalty of ``skip_weight`` in place of ``alpha`` (see :func:`init_skip`);
        ``None`` for ``alpha``.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,), dtype ``theta.dtype``
    """
    T, N, _ = X.shape
    dtype = X.dtype
    W = _cast_weights(unpack(theta, spec), spec, dtype)
    masks = _dropout_masks(spec, T, N, dropout, rng, dtype) if dropout else None
    Y = np.asarray(Y, dtype=dtype)
    steps = spec.pooling == "steps"
    if steps:  # (N, T_y * K) -> (N, T_y, K): the targets of every step
        Y = Y.reshape(N, -1, spec.n_outputs)
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=dtype)
    order = _sort_by_length(lengths)
    if order is not None:
        lengths, Y = lengths[order], Y[order]
        sw = None if sw is None else sw[order]
    if steps:  # every real step of a sequence weighs its sequence's weight
        sw_sum = float(lengths.sum() if sw is None else sw @ lengths)
    else:
        sw_sum = float(N if sw is None else sw.sum())
    n_threads, size = _parallel.plan_chunks(spec, N, T, dtype.itemsize, chunk, n_threads)
    shared = np.zeros(theta.shape, dtype=dtype)

    def work(rows, T_c, grad=None):
        """Loss of one chunk; its gradient is added into ``grad`` (a new vector, when
        the chunks run in parallel). Floating-point overflow is left to the caller,
        which checks the loss and the gradient for non-finite values."""
        with np.errstate(over="ignore", invalid="ignore"):
            grad = np.zeros(theta.shape, dtype=dtype) if grad is None else grad
            dW = unpack(grad, spec)
            idx = rows if order is None else order[rows]
            Xc = _chunk_feature_major(X, T_c, idx)
            Lc = lengths[rows]
            mc = _chunk_masks(masks, idx, T_c, lengths[rows])
            z, pooled, state = _forward_sorted(W, Xc, Lc, spec, masks=mc)
            Yc, swc = Y[rows], None if sw is None else sw[rows]
            if steps:  # the rows of z are the real steps, step-major
                real = state[1]
                Yc = Yc[:, :T_c].transpose(1, 0, 2)[real]
                swc = None if swc is None else np.broadcast_to(swc, real.shape)[real]
            part, delta = loss_and_delta(z, Yc, spec.out_activation, swc)
            _backward_sorted(W, delta, pooled, state, Lc, T_c, spec, dW, masks=mc)
            return part, grad

    loss_sum = 0.0
    chunks = list(_parallel.chunks(lengths, size))
    if len(chunks) > 1:
        # each chunk its own gradient, summed in chunk order, on one thread or many
        grad = shared
        for part, g in _parallel.map_chunks(work, chunks, n_threads):
            loss_sum += part
            grad += g
    else:
        for rows, T_c in chunks:
            part, grad = work(rows, T_c, shared)
            loss_sum += part
        grad = shared
    dW = unpack(grad, spec)
    penalty = 0.0
    for name, w in W.items():
        a = skip_alpha if name == "skip_weight" and skip_alpha is not None else alpha
        if a and is_penalized(name):
            penalty += a * float(np.vdot(w, w))
            dW[name] += a * w
    grad /= sw_sum
    loss = (loss_sum + 0.5 * penalty) / sw_sum
    return loss, grad.astype(theta.dtype, copy=False)


def fold_scaling(weights, spec, x_shift, x_scale, y_shift=None, y_scale=None,
                 inverse=False):
    """The weights of the same model for raw data, from those of a model of
    standardised data (or back, ``inverse=True``).

    With ``x' = (x - x_shift) / x_scale`` per input feature (the scale tiled over the
    ``n_features / len(x_scale)`` steps of a segment) and ``y = y_scale * y' + y_shift``
    per output (identity head; for the exponential head only ``y = y_scale * y'``, so
    ``log y_scale`` joins the output bias), the first layer's input weights of both
    directions and the head absorb the affine maps:

        W_raw = W / s,   b_raw = b - W (m / s),   W_out,raw = y_s W_out,
        b_out,raw = y_s b_out + y_m.

    The linear skip's weights fold as the first layer's (``s`` and ``m`` tiled over
    its window, the bias term going into ``out_bias``) and then scale with the head;
    the front fill of short sequences repeats a real row, so the fold stays exact.

    Returns a new dict; ``weights`` is not modified.
    """
    W = {name: np.array(w, copy=True) for name, w in weights.items()}
    reps = spec.n_features // len(x_scale)
    s = np.tile(np.asarray(x_scale, np.float64), reps)
    m = np.tile(np.asarray(x_shift, np.float64), reps)
    for suffix in _DIRECTIONS[:spec.n_directions]:
        w_ih, b_ih = W[f"weight_ih_l0{suffix}"], W[f"bias_ih_l0{suffix}"]
        if inverse:  # b = b_raw + W_raw m, W = W_raw s
            b_ih += (w_ih @ m).astype(b_ih.dtype)
            w_ih *= s.astype(w_ih.dtype)
        else:
            w_ih /= s.astype(w_ih.dtype)
            b_ih -= (w_ih @ m).astype(b_ih.dtype)
    # the head: the input scaling of the skip, then the target scaling (undone in the
    # reverse order), as both move the output bias
    if inverse:
        _fold_target(W, spec, y_shift, y_scale, inverse)
    if spec.skip_steps:
        w_skip, b_out = W["skip_weight"], W["out_bias"]
        s_w, m_w = np.tile(s, spec.skip_steps), np.tile(m, spec.skip_steps)
        if inverse:
            b_out += (w_skip @ m_w).astype(b_out.dtype)
            w_skip *= s_w.astype(w_skip.dtype)
        else:
            w_skip /= s_w.astype(w_skip.dtype)
            b_out -= (w_skip @ m_w).astype(b_out.dtype)
    if not inverse:
        _fold_target(W, spec, y_shift, y_scale, inverse)
    return W


def _fold_target(W, spec, y_shift, y_scale, inverse):
    """:func:`fold_scaling`'s target part, in place on the head (and the skip)."""
    if y_scale is None:
        return
    heads = [W["out_weight"]] + ([W["skip_weight"]] if spec.skip_steps else [])
    b_out = W["out_bias"]
    ys = np.asarray(y_scale, np.float64)
    if spec.out_activation == "exp":
        shift = np.log(ys).astype(b_out.dtype)
        b_out += -shift if inverse else shift
    elif inverse:
        b_out -= np.asarray(y_shift, b_out.dtype)
        b_out /= ys.astype(b_out.dtype)
        for w in heads:
            w /= ys[:, None].astype(w.dtype)
    else:
        for w in heads:
            w *= ys[:, None].astype(w.dtype)
        b_out *= ys.astype(b_out.dtype)
        b_out += np.asarray(y_shift, b_out.dtype)


#: Penalties the linear skip's starting fit chooses from (see :func:`init_skip`).
SKIP_ALPHAS = np.logspace(-3, 3, 13)

#: The most input values the linear skip reads: its window is cut to the last rows
#: that fit (none: no skip, when one row holds more), so that its weights and its
#: starting fit stay small (a Gram matrix of at most this size squared).
SKIP_MAX_INPUTS = 1024

#: Samples a chunk of the starting fit's passes over the windows.
_SKIP_CHUNK = 2048


def skip_steps_for(n_rows, n_features):
    """Rows of the linear skip's window: ``n_rows`` (the longest training sequence's),
    cut to :data:`SKIP_MAX_INPUTS` values of ``n_features`` each; 0 (no skip) when one
    row holds more than that."""
    return min(int(n_rows), SKIP_MAX_INPUTS // int(n_features))


def _windows(X, lengths, rows, S):
    """:func:`_skip_window` of the samples ``rows`` of the time-major ``X`` ``(T, N,
    F)``, in float64."""
    return _skip_window(X.transpose(0, 2, 1), lengths[rows], S,
                        cols=rows).astype(np.float64)


def init_skip(theta, X, lengths, Y, spec, sample_weight=None, set_weights=True):
    """The linear skip's penalty, and its start: the ridge regression of ``Y`` on the
    skip's windows.

    The penalty is chosen from :data:`SKIP_ALPHAS` by exact leave-one-out error (as
    ``RidgeCV`` does, the intercept unpenalised), weighted by ``sample_weight``
    (zero weights leave their samples out). With ``set_weights``, ``skip_weight`` and
    ``out_bias`` of ``theta`` are set to that ridge regression (in place): the
    network starts as that linear model plus its recurrent part. With the same penalty
    on ``skip_weight`` in :func:`loss_and_grad` (``skip_alpha``), a network whose
    recurrent part outputs nothing has that ridge regression as its minimum.

    The windows are read in chunks of samples: the memory is that of a chunk and of the
    Gram matrix of the window's ``D = skip_steps * F`` inputs, the time ``O(N D^2)``.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (T, N, F)
        Time-major input (standardised).
    lengths : ndarray of int of shape (N,)
    Y : ndarray of shape (N, n_outputs)
    spec : NetworkSpec
        With ``skip_steps > 0``.
    sample_weight : ndarray of shape (N,), default=None
    set_weights : bool, default=True

    Returns
    -------
    skip_alpha : float
        The chosen penalty in :func:`loss_and_grad`'s units: the ridge's, divided by
        the number of outputs (the squared error is a mean over the outputs).
    """
    S = spec.skip_steps
    Y = np.asarray(Y, np.float64)
    w = (np.ones(len(lengths)) if sample_weight is None
         else np.asarray(sample_weight, np.float64))
    rows = np.flatnonzero(w > 0)
    chunks = [rows[i:i + _SKIP_CHUNK] for i in range(0, len(rows), _SKIP_CHUNK)]
    # pass 1: weighted means, the centred Gram matrix and the centred cross products
    w_sum = w[rows].sum()
    a_mean = sum(w[c] @ _windows(X, lengths, c, S) for c in chunks) / w_sum
    y_mean = w[rows] @ Y[rows] / w_sum
    D = a_mean.size
    G, B = np.zeros((D, D)), np.zeros((D, Y.shape[1]))
    for c in chunks:
        Ac = (_windows(X, lengths, c, S) - a_mean) * np.sqrt(w[c])[:, None]
        G += Ac.T @ Ac
        B += Ac.T @ ((Y[c] - y_mean) * np.sqrt(w[c])[:, None])
    lam, V = np.linalg.eigh(G)
    lam = np.maximum(lam, 0.0)
    VtB = V.T @ B
    # pass 2: the leave-one-out residuals of every penalty at once, each scaled by
    # sqrt(w): e_i / (1 - h_i), with h_i the hat matrix's diagonal (the intercept's
    # w_i / sum(w) included)
    errors = np.zeros(len(SKIP_ALPHAS))
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in chunks:
            r = np.sqrt(w[c])[:, None]
            P = ((_windows(X, lengths, c, S) - a_mean) * r) @ V  # (n, D)
            P2 = P ** 2
            Yc = (Y[c] - y_mean) * r
            for j, alpha in enumerate(SKIP_ALPHAS):
                inv = 1.0 / (lam + alpha)
                hat = w[c] / w_sum + P2 @ inv
                loo = (Yc - P @ (inv[:, None] * VtB)) / (1.0 - hat)[:, None]
                errors[j] += float(np.sum(loo ** 2))
    errors[~np.isfinite(errors)] = np.inf
    alpha = float(SKIP_ALPHAS[int(np.argmin(errors))])
    skip_alpha = alpha / Y.shape[1]
    if not set_weights:
        return skip_alpha
    coef = (V @ (VtB / (lam + alpha)[:, None])).T  # (n_outputs, D)
    views = unpack(theta, spec)
    views["skip_weight"][...] = coef
    views["out_bias"][...] = y_mean - coef @ a_mean
    return skip_alpha
