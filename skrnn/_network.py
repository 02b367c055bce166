"""Stacked recurrent layers, a dense output head and the training objective.

Pure NumPy: nothing here imports scikit-learn. The objective
:func:`loss_and_grad` is a module-level function that the L-BFGS and SGD/Adam solvers
and the tests all call; the estimators only wire data and options into it.

Parameters live in one flat vector ``theta``; :func:`unpack` gives named views of it
whose names, shapes and gate order are PyTorch's (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ..., then ``out_weight`` ``(n_outputs, H_last)`` and
``out_bias``), so weights move to and from ``torch.nn.RNN/LSTM/GRU`` by name.
"""

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from ._cells import CELLS, KERNELS
from ._losses import OUT_ACTIVATIONS, loss_and_delta

#: Memory budget of one chunk of samples in :func:`loss_and_grad` and :func:`predict_raw`.
DEFAULT_CHUNK_BYTES = 256 * 2**20


class NetworkSpec(NamedTuple):
    """Everything that fixes the network's shapes and math (hashable, picklable)."""

    cell: str  # 'rnn', 'lstm' or 'gru'
    activation: str  # Elman nonlinearity; ignored by LSTM and GRU
    n_features: int  # F, features per timestep
    hidden_sizes: tuple  # (H_0, H_1, ...), one entry per stacked layer
    n_outputs: int
    out_activation: str  # 'identity', 'exp', 'logistic' or 'softmax'


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
        shapes += [
            (f"weight_ih_l{k}", (G * H, fan_in)),
            (f"weight_hh_l{k}", (G * H, H)),
            (f"bias_ih_l{k}", (G * H,)),
            (f"bias_hh_l{k}", (G * H,)),
        ]
        fan_in = H
    shapes += [("out_weight", (spec.n_outputs, fan_in)), ("out_bias", (spec.n_outputs,))]
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
        w_ih = views[f"weight_ih_l{k}"]
        w_hh = views[f"weight_hh_l{k}"]
        for gate in range(G):
            rows = slice(gate * H, (gate + 1) * H)
            w_ih[rows] = rng.uniform(-limit, limit, size=(H, fan_in))
            w_hh[rows] = _orthogonal(H, rng)
        if spec.cell == "lstm":
            views[f"bias_ih_l{k}"][H:2 * H] = 1.0  # forget gate
        fan_in = H
    limit = np.sqrt(6.0 / (fan_in + spec.n_outputs))
    views["out_weight"][...] = rng.uniform(-limit, limit, size=(spec.n_outputs, fan_in))
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


def work_bytes_per_sample(spec, n_timesteps, itemsize):
    """Estimated forward + backward work memory of one sample: per step of each layer's
    cache, the stacked ``[x; 1; h]`` block, the gates, and the cell states and
    ``tanh(c)`` for the LSTM (the GRU keeps fewer)."""
    G = CELLS[spec.cell][2]
    per_step = sum((G + 3) * H + 2 for H in spec.hidden_sizes) + 2 * spec.n_features
    return max(1, per_step * n_timesteps * itemsize)


def chunk_size(spec, n_timesteps, itemsize, budget_bytes=None):
    """How many samples fit one chunk of forward + backward work in ``budget_bytes``
    (default: :data:`DEFAULT_CHUNK_BYTES`, read at call time)."""
    if budget_bytes is None:
        budget_bytes = DEFAULT_CHUNK_BYTES
    return max(1, int(budget_bytes // work_bytes_per_sample(spec, n_timesteps, itemsize)))


def _chunks(lengths_sorted, size):
    N = len(lengths_sorted)
    for start in range(0, N, size):
        stop = min(N, start + size)
        yield slice(start, stop), int(lengths_sorted[start])


def _cast_weights(weights, spec, dtype):
    return {name: np.asarray(weights[name]).astype(dtype, copy=False)
            for name, _, _, _ in _layout(spec)}


def _forward_sorted(W, X, lengths, spec, keep_cache=True):
    """Forward of one chunk already sorted longest first and trimmed to its longest
    sequence. ``X`` is feature-major ``(T, F, N)``. Returns the raw output, the last
    states ``(N, H)`` and the caches (``None`` unless ``keep_cache``)."""
    T, _, N = X.shape
    forward = KERNELS[spec.cell][0]
    batch_sizes = _batch_sizes(lengths, T)
    caches = []
    inp = X
    for k in range(len(spec.hidden_sizes)):
        inp, cache = forward(inp, batch_sizes, W[f"weight_ih_l{k}"], W[f"weight_hh_l{k}"],
                             W[f"bias_ih_l{k}"], W[f"bias_hh_l{k}"], spec.activation,
                             keep_cache)
        caches.append(cache)
    h_last = inp[lengths - 1, :, np.arange(N)]  # each sequence's own last real step
    z = h_last @ W["out_weight"].T
    z += W["out_bias"]
    return z, h_last, caches


#: A thread's share of a step's recurrent GEMM must reach this many float64 FLOPs (a
#: float32 FLOP counts half: it takes about half the time) for the chunks of samples
#: to run in parallel threads; below it, handing the GIL back and forth costs more
#: than the second core saves. Measured on two cores with minibatches of 64 (H <= 64)
#: or 128: 1.8x faster at H=256; 1.2x for the float64 Elman cell at H=128 (2.1 M
#: float64 FLOPs a thread); no gain at about 1 M (the float32 Elman cell at H=128,
#: the LSTM and the GRU at H=64 in both dtypes); slower below (the Elman cell at
#: H=64).
PARALLEL_MIN_FLOPS = 2e6

_POOL = {"pid": None, "workers": 0, "pool": None}
_POOL_LOCK = threading.Lock()


def _thread_pool(n_threads):
    """A process-wide pool of at least ``n_threads`` workers, made again after a fork
    (a forked child inherits the pool object but not its threads)."""
    with _POOL_LOCK:
        if _POOL["pid"] != os.getpid() or _POOL["workers"] < n_threads:
            if _POOL["pid"] == os.getpid():
                _POOL["pool"].shutdown(wait=False)  # queued work runs, then threads end
            _POOL.update(pid=os.getpid(), workers=n_threads,
                         pool=ThreadPoolExecutor(n_threads, thread_name_prefix="skrnn"))
        return _POOL["pool"]


def plan_threads(spec, n_rows, n_threads, itemsize=8):
    """How many of ``n_threads`` threads to use on ``n_rows`` samples of ``itemsize``
    bytes a value: one per chunk of samples computed at once, as long as each keeps
    :data:`PARALLEL_MIN_FLOPS` of a step's recurrent GEMM."""
    if n_threads <= 1:
        return 1
    G = CELLS[spec.cell][2]
    H = max(spec.hidden_sizes)
    flops = 2.0 * n_rows * G * H * H * itemsize / 8
    return max(1, min(n_threads, int(flops // PARALLEL_MIN_FLOPS)))


def _plan_chunks(spec, N, T, itemsize, chunk, n_threads):
    """``(threads, samples per chunk)`` for ``N`` samples of ``T`` steps: the threads
    from :func:`plan_threads`; the chunks at most ``chunk`` samples, or what the memory
    budget allows (shared by the chunks in flight), cut to even sizes whose number is
    a multiple of the threads, so that no thread is left working alone on a last chunk
    (an LSTM minibatch of 128 cut 44 + 44 + 40 for two threads took 1.21x as long as
    32 + 32 + 32 + 32)."""
    n_threads = plan_threads(spec, N, n_threads, itemsize)
    size = chunk or max(1, chunk_size(spec, T, itemsize) // n_threads)
    count = math.ceil(N / max(1, size))
    count = n_threads * math.ceil(count / n_threads)
    return n_threads, max(1, math.ceil(N / count))


def _map_chunks(work, chunks, n_threads):
    """``work(rows, T_c)`` over the chunks, in order; in a thread pool if
    ``n_threads > 1`` (NumPy releases the GIL inside GEMMs and ufunc loops)."""
    chunks = list(chunks)
    if n_threads > 1 and len(chunks) > 1:
        return _thread_pool(n_threads).map(work, *zip(*chunks, strict=True))
    return (work(rows, T_c) for rows, T_c in chunks)


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
        Samples per chunk; ``None`` chooses from :data:`DEFAULT_CHUNK_BYTES`.
    n_threads : int, default=1
        Threads the work may use (see :func:`loss_and_grad`).

    Returns
    -------
    z : ndarray of shape (N, n_outputs), dtype ``X.dtype``
    """
    T, N, _ = X.shape
    W = _cast_weights(weights, spec, X.dtype)
    order = _sort_by_length(lengths)
    lengths_s = lengths if order is None else lengths[order]
    z = np.empty((N, spec.n_outputs), dtype=X.dtype)
    n_threads, size = _plan_chunks(spec, N, T, X.dtype.itemsize, chunk, n_threads)

    def work(rows, T_c):
        idx = rows if order is None else order[rows]
        Xc = _chunk_feature_major(X, T_c, idx)
        with np.errstate(over="ignore", invalid="ignore"):
            return idx, _forward_sorted(W, Xc, lengths_s[rows], spec, keep_cache=False)[0]

    for idx, zc in _map_chunks(work, _chunks(lengths_s, size), n_threads):
        z[idx] = zc
    if X.dtype == np.float32 and not np.all(np.isfinite(z)):
        # float32 overflowed (weights or values beyond its range): redo in float64,
        # and saturate what float32 cannot hold
        z64 = predict_raw(weights, X.astype(np.float64), lengths, spec, chunk, n_threads)
        big = np.finfo(np.float32).max
        z = np.clip(z64, -big, big).astype(np.float32)
    return z


def predict(weights, X, lengths, spec, chunk=None, n_threads=1):
    """Network output after ``spec.out_activation`` (means, or probabilities)."""
    return OUT_ACTIVATIONS[spec.out_activation](predict_raw(weights, X, lengths, spec,
                                                            chunk, n_threads))


def loss_and_grad(theta, X, lengths, Y, spec, sample_weight=None, alpha=0.0, chunk=None,
                  n_threads=1):
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
        Targets (one-hot or indicator for the log losses).
    spec : NetworkSpec
    sample_weight : ndarray of shape (N,), default=None
    alpha : float, default=0.0
    chunk : int, default=None
        Samples per chunk of work: peak memory is bounded by the chunk, not by ``N``.
    n_threads : int, default=1
        Threads the work may use; run BLAS on one thread meanwhile. When a thread's
        share of a step is large enough (:data:`PARALLEL_MIN_FLOPS`), the samples are
        cut into chunks computed at once, each with its own gradient, summed in chunk
        order, so that the result does not depend on the threads' timing.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,), dtype ``theta.dtype``
    """
    T, N, _ = X.shape
    dtype = X.dtype
    backward = KERNELS[spec.cell][1]
    W = _cast_weights(unpack(theta, spec), spec, dtype)
    Y = np.asarray(Y, dtype=dtype)
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=dtype)
    order = _sort_by_length(lengths)
    if order is not None:
        lengths, Y = lengths[order], Y[order]
        sw = None if sw is None else sw[order]
    sw_sum = float(N if sw is None else sw.sum())
    n_layers = len(spec.hidden_sizes)
    n_threads, size = _plan_chunks(spec, N, T, dtype.itemsize, chunk, n_threads)
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
            z, h_last, caches = _forward_sorted(W, Xc, Lc, spec)
            part, delta = loss_and_delta(z, Y[rows], spec.out_activation,
                                         None if sw is None else sw[rows])
            dW["out_weight"] += delta.T @ h_last
            dW["out_bias"] += delta.sum(axis=0)
            n = len(Lc)
            dout = np.zeros((T_c, h_last.shape[1], n), dtype=dtype)  # feature-major
            dout[Lc - 1, :, np.arange(n)] = delta @ W["out_weight"]
            for k in range(n_layers - 1, -1, -1):
                dout, (dwi, dwh, dbi, dbh) = backward(
                    dout, caches[k], W[f"weight_ih_l{k}"], W[f"weight_hh_l{k}"], need_dx=k > 0
                )
                dW[f"weight_ih_l{k}"] += dwi
                dW[f"weight_hh_l{k}"] += dwh
                dW[f"bias_ih_l{k}"] += dbi
                dW[f"bias_hh_l{k}"] += dbh
            return part, grad

    loss_sum = 0.0
    chunks = _chunks(lengths, size)
    if n_threads > 1:
        grad = shared
        for part, g in _map_chunks(work, chunks, n_threads):
            loss_sum += part
            grad += g
    else:
        for rows, T_c in chunks:
            part, grad = work(rows, T_c, shared)
            loss_sum += part
        grad = shared
    dW = unpack(grad, spec)
    penalty = 0.0
    if alpha:
        for name, w in W.items():
            if is_penalized(name):
                penalty += float(np.vdot(w, w))
                dW[name] += alpha * w
    grad /= sw_sum
    loss = (loss_sum + 0.5 * alpha * penalty) / sw_sum
    return loss, grad.astype(theta.dtype, copy=False)
