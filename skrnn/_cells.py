r"""Recurrent cells: forward over all timesteps and backpropagation through time.

Pure NumPy: nothing here imports scikit-learn.

Conventions shared by every cell
--------------------------------
Symbols: ``T`` timesteps, ``N`` sequences, ``F`` input features, ``H`` hidden units,
``G`` gates (1 for Elman, 4 for LSTM, 3 for GRU).

* The ``N`` sequences are sorted by length, longest first, and ``batch_sizes[t]`` is the
  number of sequences still running at step ``t`` (as in PyTorch's packed sequences).
  Step ``t`` therefore only touches the first ``batch_sizes[t]`` sequences: padding
  costs nothing, never enters an output and never receives a gradient.
* Weights use PyTorch's names, shapes and gate order: ``w_ih`` ``(G*H, F)``, ``w_hh``
  ``(G*H, H)``, ``b_ih`` and ``b_hh`` ``(G*H,)``. The initial state is zero.
* Two layouts of the same functions:

  - the **kernels** (``*_forward_fm``, ``*_backward_fm``), which the network uses, work
    *feature-major*: inputs ``(T, F, N)``, outputs and their gradients ``(T, H, N)``.
    Each step's operands are then whole ``(rows, N)`` blocks, and every gate of a step
    is one contiguous block, so each elementwise stage is one ufunc call on contiguous
    memory;
  - :func:`rnn_forward`, :func:`lstm_forward`, :func:`gru_forward` and their
    ``*_backward`` take the natural time-major ``(T, N, F)`` and ``(T, N, H)`` arrays
    and call the kernels (the tests and the documentation use these).

* ``forward`` returns the outputs (a sequence that has already ended outputs zero,
  except from the LSTM kernel without a cache, which leaves those outputs undefined)
  and a cache, a ``NamedTuple`` of arrays that ``backward`` consumes. Nothing is stored
  anywhere else, so concurrent calls are safe.
* ``backward(dout, cache, w_ih, w_hh, need_dx)`` takes ``d loss / d outputs`` and returns
  ``dX`` (or ``None``) and the four parameter gradients in PyTorch layout.

Speed
-----
* Elman and LSTM keep a stacked buffer ``Z[t] = [x_t; 1; h_{t-1}]`` ``(F+1+H, N)``, so a
  forward step is one GEMM against ``[W_ih | b | W_hh]``, whose output *is* the next
  step's state block. Backward, one GEMM ``[W_ih | b | W_hh]^T delta_t`` gives ``dx_t``
  and ``dh_{t-1}`` together, and the weight gradient accumulates ``delta_t Z[t]^T``
  into one ``(G*H, F+1+H)`` matrix, bias included, on data still in cache.
* The GRU projects the input of all timesteps with one batched GEMM before the loop,
  and does the recurrent GEMM per step.
* The logistic is ``1 / (1 + exp(-a))`` with the ``-1`` folded into a scaled copy of
  the weights, and ``tanh(a) = 2 / (1 + exp(-2a)) - 1`` with the ``-2`` folded in, so
  one ``np.exp`` activates all the gates of an Elman or LSTM step, and the GRU's
  ``r, z`` (``np.tanh`` is slower, except in float32 at small H: see
  :func:`_np_tanh`).
* The LSTM's and the GRU's gate rows are permuted inside the kernels (:func:`_lstm_rows`,
  :func:`_gru_rows`) so that each elementwise stage is one call on a contiguous slice;
  the gradients come back in PyTorch's order.
* When every sequence runs every step, the caches and per-step buffers are allocated
  without zeroing (:func:`_all_running`).
* The backward pass first computes, for a cache-sized chunk of timesteps at once, the
  derivative factors of each step, on a gate-major copy of the chunk's gates (ufuncs
  on contiguous blocks); the step loop is then a few multiplications and one GEMM a
  step, and the weight gradients are one GEMM a chunk (:func:`_acc_over_steps`).
* The numbers in the per-step ufunc calls are 0-d arrays of the work's dtype, which
  NumPy takes faster than Python numbers.

Reading the kernels
-------------------
Each kernel's docstring states its pass in the code's own names (the equations of
``docs/user_guide/bptt.rst``, arranged as the code computes them) and tables the
buffers it allocates or reads; each speed trick is named in a comment where it
happens. In those equations ``*`` is the elementwise product, ``@`` and ``W^T v`` are
matrix products, ``[u; v]`` stacks row blocks and ``[A | B]`` column blocks, and every
step works on its running columns ``:batch_sizes[t]`` only. ``a_k`` is the
pre-activation of gate ``k``; ``dv`` is the total derivative of the loss with respect
to ``v`` (so ``da_k`` is bptt.rst's ``delta^k``), and ``dout[t]`` the part of ``dh_t``
that comes from outside the recurrence (the layer above, or the output layer).
"""

import functools
from typing import NamedTuple

import numpy as np

#: Bytes of derivative factors computed at once in the backward passes.
FACTOR_CHUNK_BYTES = 1 << 20


def _acc_over_steps(C, D, Z):
    """``C += sum_j D[j] @ Z[j].T`` for ``D`` ``(t, R, N)`` and ``Z`` ``(t, K, N)``: the
    weight gradient of a chunk of steps as one GEMM (both regrouped to ``(rows, t*N)``),
    instead of one small GEMM and one addition a step."""
    t, R, N = D.shape
    D2 = D.transpose(1, 0, 2).reshape(R, t * N)
    Z2 = Z.transpose(1, 0, 2).reshape(Z.shape[1], t * N)
    C += D2 @ Z2.T


# --------------------------------------------------------------------------------------
# Elementwise helpers, all in place on (views of) feature-major blocks.


def _read_only(a):
    """``a``, made read-only (for arrays shared between calls)."""
    a.flags.writeable = False
    return a


class _Constant(dict):
    """One number as a read-only 0-d array of each dtype, made on first use.

    A ufunc takes a 0-d array of its operand's dtype about 0.9 us faster than a Python
    number, which it must convert and promote first: a third of the cost of one of the
    small elementwise calls of a step at H=16.
    """

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        const = _read_only(np.full((), self.value, dtype=dtype))
        self[dtype] = const
        return const


_ZERO, _ONE, _TWO, _MINUS_TWO = _Constant(0), _Constant(1), _Constant(2), _Constant(-2)


def _sigmoid_of_neg(a, times=_ONE):
    """``a`` holds ``-x``; leaves ``times * sigmoid(x) = times / (1 + exp(-x))`` in
    ``a`` (``times`` a :class:`_Constant`).

    ``np.divide(1, a)`` rather than ``np.reciprocal(a)``: the same correctly rounded
    quotient, but NumPy vectorizes the division and not the reciprocal (16384
    elements: 3.4 against 5.5 us in float32, 6.3 against 12 us in float64)."""
    np.exp(a, out=a)
    a += _ONE[a.dtype]
    np.divide(times[a.dtype], a, out=a)


def _tanh_of_neg2(a):
    """``a`` holds ``-2x``; leaves ``tanh(x) = 2 / (1 + exp(-2x)) - 1`` in ``a``.

    The 2 is the dividend: one pass fewer than ``2 sigmoid(2x) - 1``, and the same
    result bitwise (doubling is exact, so ``2 / y`` rounds to twice ``1 / y``, except
    where ``1 / y`` is subnormal, which the ``- 1`` then rounds away). The absolute
    error is about ``eps``, so near 0 the relative error is larger than
    ``np.tanh``'s."""
    _sigmoid_of_neg(a, _TWO)
    a -= _ONE[a.dtype]


#: Hidden sizes from which float32 ``tanh`` goes by the ``exp`` route too.
EXP_TANH_MIN_H_FLOAT32 = 32


def _np_tanh(dtype, H):
    """Whether to call ``np.tanh`` rather than go by ``exp`` (:func:`_tanh_of_neg2`).

    float64 ``np.tanh`` is scalar code on x86 (16 against 6 ns an element for
    ``np.exp``). float32 ``np.tanh`` is vectorized, but on the AVX2 machine of the
    benchmarks it took 2.6 to 4 ns an element, and the four calls of the ``exp`` route
    1.7 to 2.2 ns from 4096 elements a call on (0.63 to 0.88 of the time). On a step's
    block of 64 sequences the ``exp`` route (with the ``-2`` multiply of the LSTM and
    the GRU) took 1.37x the time of ``np.tanh`` at H=16, 1.24x at H=24, 0.97x at H=32
    and 0.86x at H=64. The choice depends on the model only, never on the batch, so
    that a sequence's output does not depend on the sequences it is computed with.
    The ``exp`` route's error is absolute, about ``eps`` (see :func:`_tanh_of_neg2`)."""
    return dtype == np.float32 and H < EXP_TANH_MIN_H_FLOAT32


def _tanh_into(a, out, use_np_tanh):
    """``out = tanh(a)`` (``out`` may be ``a``), by ``np.tanh`` or by ``exp``."""
    if use_np_tanh:
        np.tanh(a, out=out)
    else:
        np.multiply(a, _MINUS_TWO[out.dtype], out=out)
        _tanh_of_neg2(out)


def _relu(a):
    np.maximum(a, _ZERO[a.dtype], out=a)


def _elman_activation(activation, dtype, H):
    """``(scale, finish)``: the pre-activation times ``scale`` is what the GEMM
    computes, and ``finish`` turns it into the activation in place."""
    if activation == "tanh":
        return (1.0, lambda a: np.tanh(a, out=a)) if _np_tanh(dtype, H) else (
            -2.0, _tanh_of_neg2)
    if activation == "logistic":
        return -1.0, _sigmoid_of_neg
    if activation == "relu":
        return 1.0, _relu
    return 1.0, None  # identity


def _elman_derivative(activation, h, out):
    """``f'(a)`` from the output ``h = f(a)``, for a chunk of steps, into ``out``."""
    if activation == "tanh":
        np.multiply(h, h, out=out)
        np.subtract(_ONE[out.dtype], out, out=out)
    elif activation == "logistic":
        np.subtract(_ONE[out.dtype], h, out=out)
        out *= h
    elif activation == "relu":
        np.greater(h, _ZERO[h.dtype], out=out)
    else:  # identity
        out[...] = 1


def _all_running(batch_sizes, N):
    """Whether all ``N`` sequences run every step.

    Then each step writes its whole block of the forward caches and of the backward's
    per-step buffers before anything reads it, and the kernels allocate them with
    ``np.empty``: zeroing them first is wasted work (a memset of the gate cache alone
    took about 75 us a minibatch, LSTM, H=64, T=50, float32). With ragged lengths they
    use ``np.zeros``: the padding columns must read as zero, since the weight-gradient
    GEMMs run over them. (The LSTM kernel without a cache, which has no backward,
    always skips the zeroing.)"""
    return len(batch_sizes) == 0 or batch_sizes[-1] == N


def _allocator(full):
    """``np.empty`` if ``full`` (see :func:`_all_running`), else ``np.zeros``."""
    return np.empty if full else np.zeros


def _stacked_input(X, H, full):
    """``Z`` ``(T+1, F+1+H, N)`` with ``Z[t] = [x_t; 1; h_{t-1}]``: the states start at
    zero, and each forward step writes its output into the next block (all of it when
    ``full``, every sequence running every step; else the rest stays zero)."""
    T, F, N = X.shape
    Z = np.empty((T + 1, F + 1 + H, N), dtype=X.dtype)
    Z[:T, :F] = X
    Z[T, :F] = 0
    Z[:, F] = 1
    Z[0 if full else slice(None), F + 1:] = 0
    return Z


def _stacked_weights(w_ih, b, w_hh, dtype, rows=None):
    """``[W_ih | b | W_hh]`` ``(G*H, F+1+H)``, rows permuted by ``rows``."""
    if rows is not None:
        w_ih, b, w_hh = w_ih[rows], b[rows], w_hh[rows]
    return np.concatenate([w_ih, b[:, None], w_hh], axis=1).astype(dtype, copy=False)


def _chunk_steps(T, bytes_per_step):
    """Timesteps per chunk of the backward passes."""
    return max(1, min(T, FACTOR_CHUNK_BYTES // max(1, bytes_per_step)))


def _time_chunks(T, size):
    """Chunks ``[t0, t1)`` of ``size`` timesteps, last chunk first.

    The backward passes keep one buffer of per-step gradients for a chunk. Its columns
    past a step's running sequences are never written: chunks run backwards in time,
    so a slot only ever held steps with as many sequences or fewer, and stays zero
    where padding is."""
    for t1 in range(T, 0, -size):
        yield max(0, t1 - size), t1


def _run_backward(T, size, factors, steps, gradients):
    """Drive a backward pass over chunks of timesteps, last chunk first:
    ``factors(t0, t1)`` computes a chunk's derivative factors, ``steps(t0, t1)`` runs
    its step loop (the recurrence) and ``gradients(t0, t1)`` its weight-gradient GEMMs.

    (Handing the factors and the gradient GEMMs to a helper thread, to overlap them
    with the step loop, was measured 10-15% *slower* for the LSTM and the GRU at
    H=64: the two threads spend the gain handing the GIL back and forth.)
    """
    for t0, t1 in _time_chunks(T, size):
        factors(t0, t1)
        steps(t0, t1)
        gradients(t0, t1)


def _backprop_input(W_T, Whh_T, da, dZ, dX, t, F, n):
    """``dZ = [W_ih | b | W_hh]^T da``: ``dx_t`` into ``dX[t]`` and ``dh_{t-1}`` into
    ``dZ[F+1:]``. Without ``dX`` (the bottom layer) only the recurrent part is
    computed, and nothing at ``t = 0``, whose ``dh_{-1}`` nobody reads."""
    if dX is not None:
        np.matmul(W_T, da, out=dZ[:, :n])
        dX[t, :, :n] = dZ[:F, :n]
    elif t:
        np.matmul(Whh_T, da, out=dZ[F + 1:, :n])


def _gate_major(gates, out):
    """The gates of a chunk of steps, ``(t, G, H, N)``, copied gate by gate into ``out``
    ``(G, t, H, N)``, so that the derivative factors are computed on contiguous blocks:
    NumPy's ufuncs are 3 to 5x slower on views whose outer axis is strided (16 against
    3 us for a multiply of ``(20, 16, 64)`` float32 blocks). Returns ``out``."""
    np.copyto(out, gates.transpose(1, 0, 2, 3))
    return out


def _split_stacked_grad(dW, F):
    """``dW`` of ``[W_ih | b | W_hh]`` to ``(dw_ih, dw_hh, db)``."""
    return (np.ascontiguousarray(dW[:, :F]), np.ascontiguousarray(dW[:, F + 1:]),
            dW[:, F].copy())


# --------------------------------------------------------------------------------------
# Elman


class RNNCache(NamedTuple):
    """What :func:`rnn_backward_fm` reads from :func:`rnn_forward_fm`.

    Attributes
    ----------
    Z : ndarray of shape (T+1, F+1+H, N)
        ``Z[t] = [x_t; 1; h_{t-1}]``, the operand of step ``t``'s GEMM, so
        ``Z[t+1, F+1:] = h_t`` (zero past a sequence's end); ``f'(a_t)`` is computed
        from it.
    batch_sizes : sequence of int of length T
        Sequences running at each step.
    activation : str
        The activation ``f``.
    """

    Z: np.ndarray
    batch_sizes: list
    activation: str


def rnn_forward_fm(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation="tanh",
                   keep_cache=True):
    """Feature-major kernel of :func:`rnn_forward`: the Elman cell over all timesteps.

    For ``t = 0 .. T-1``, on the running columns ``:batch_sizes[t]``, with
    ``h_{-1} = 0``::

        a_t = W_ih x_t + b_ih + b_hh + W_hh h_{t-1} = [W_ih | b_ih + b_hh | W_hh] @ Z[t]
        h_t = f(a_t)                                                      (Z[t+1, F+1:])

    The GEMM uses ``W = s [W_ih | b_ih + b_hh | W_hh]`` and so yields ``s a_t``
    (multiplying by -1 or -2 is exact); ``finish`` turns that into ``h_t`` in place:

    ==========  ===  ==============================================================
    f           s    finish(s a)
    ==========  ===  ==============================================================
    tanh        -2   ``2 / (1 + exp(-2a)) - 1``; in float32 below ``H = 32``,
                     ``s = 1`` and ``np.tanh`` (:func:`_np_tanh`)
    logistic    -1   ``1 / (1 + exp(-a))``
    relu        1    ``max(a, 0)``
    identity    1    nothing
    ==========  ===  ==============================================================

    Parameters
    ----------
    X : ndarray of shape (T, F, N)
        Input; the ``N`` sequences sorted by length, longest first.
    batch_sizes : sequence of int of length T
        Non-increasing count of sequences running at each step.
    w_ih, w_hh, b_ih, b_hh : ndarray
        PyTorch's weights, shapes ``(H, F)``, ``(H, H)``, ``(H,)``, ``(H,)``.
    activation : {'tanh', 'relu', 'logistic', 'identity'}, default='tanh'
    keep_cache : bool, default=True
        Accepted for symmetry with the other kernels: the Elman cache is its own output.

    Returns
    -------
    out : ndarray of shape (T, H, N)
        ``out[t] = h_t``, a view of ``Z[1:, F+1:]``; zero past a sequence's end.
    cache : RNNCache

    Notes
    -----
    Buffers:

    =====  ===============  ================================================================
    name   shape            holds
    =====  ===============  ================================================================
    ``W``  (H, F+1+H)       ``s [W_ih | b_ih + b_hh | W_hh]``
    ``Z``  (T+1, F+1+H, N)  ``Z[t] = [x_t; 1; h_{t-1}]``, ``Z[T, :F] = 0``; the cache
    =====  ===============  ================================================================
    """
    T, F, N = X.shape
    H = w_hh.shape[1]
    scale, finish = _elman_activation(activation, X.dtype, H)
    # [W_ih | b | W_hh]: a step's pre-activation, bias included, is one GEMM
    W = _stacked_weights(w_ih, b_ih + b_hh, w_hh, X.dtype)
    if scale != 1.0:
        W = W * scale  # f's -1 or -2 folded into W once: no scaling pass a step
    # each GEMM writes h_t straight into Z[t+1], the next step's operand: no copy a step
    Z = _stacked_input(X, H, _all_running(batch_sizes, N))
    with np.errstate(over="ignore"):  # exp overflows to inf: 1 / (1 + inf) = 0, the limit
        for t, n in enumerate(batch_sizes):
            h = Z[t + 1, F + 1:, :n]  # running sequences only: padding costs nothing
            np.matmul(W, Z[t, :, :n], out=h)
            if finish is not None:
                finish(h)
    return Z[1:, F + 1:], RNNCache(Z, batch_sizes, activation)


def rnn_backward_fm(dout, cache, w_ih, w_hh, need_dx=True):
    """Feature-major kernel of :func:`rnn_backward`: BPTT through :func:`rnn_forward_fm`.

    For ``t = T-1 .. 0``, on the running columns ``:batch_sizes[t]``, with
    ``da_T = 0``::

        dh_t = dout[t] + W_hh^T da_{t+1}
        da_t = dh_t * f'(a_t)                  (f'(a_t) from h_t = Z[t+1, F+1:])
        dx_t = W_ih^T da_t                     (W^T da_t: dx_t and W_hh^T da_t, one GEMM)

    with ``f'`` = ``1 - h^2`` (tanh), ``h (1 - h)`` (logistic), ``[h > 0]`` (relu),
    ``1`` (identity); and over the steps (row ``F`` of ``Z[t]`` is ones, and
    ``h_{-1} = 0`` adds nothing to ``dW_hh``)::

        [dW_ih | db | dW_hh] = sum_t da_t @ Z[t]^T,        db_ih = db_hh = db

    The steps run in chunks of ``c`` steps, last chunk first (:func:`_run_backward`):
    ``factors`` (``f'`` of the chunk), ``steps`` (the recurrence), ``gradients``.

    Parameters
    ----------
    dout : ndarray of shape (T, H, N)
        ``d loss / d h_t`` from outside the recurrence (layer above or output layer).
    cache : RNNCache
    w_ih, w_hh : ndarray of shape (H, F) and (H, H)
    need_dx : bool, default=True
        Whether to compute ``dX`` (the bottom layer does not need it).

    Returns
    -------
    dX : ndarray of shape (T, F, N) or None
        ``dX[t] = dx_t``; zero past a sequence's end.
    grads : tuple of ndarray
        ``(dw_ih, dw_hh, db_ih, db_hh)``, PyTorch's shapes.

    Notes
    -----
    Buffers (``c`` steps a chunk, so that ``D`` and ``DA`` take about
    ``FACTOR_CHUNK_BYTES``):

    ======  ===============  ===============================================================
    name    shape            holds
    ======  ===============  ===============================================================
    ``Z``   (T+1, F+1+H, N)  the cache: ``Z[t] = [x_t; 1; h_{t-1}]``
    ``W``   (H, F+1+H)       ``[W_ih | 0 | W_hh]``, unscaled
    ``D``   (c, H, N)        ``f'(a_t)`` of the chunk's steps
    ``DA``  (c, H, N)        ``da_t`` of the chunk's steps; zero past the running columns
    ``dZ``  (F+1+H, N)       ``W^T da_t``: ``dx_t`` in rows ``:F`` (row ``F`` unused),
                             ``W_hh^T da_t`` in rows ``F+1:`` (``dh``) for step ``t-1``
    ``dX``  (T, F, N)        ``dx_t``
    ``dW``  (H, F+1+H)       ``[dW_ih | db | dW_hh]``
    ======  ===============  ===============================================================
    """
    Z, batch_sizes, activation = cache
    T = Z.shape[0] - 1
    _, K, N = Z.shape
    H = w_hh.shape[1]
    F = K - 1 - H
    dtype = Z.dtype
    # W^T da_t gives dx_t and W_hh^T da_t in one GEMM a step
    W = _stacked_weights(w_ih, np.zeros(H), w_hh, dtype)
    Whh_T = W[:, F + 1:].T
    # np.empty when every sequence runs every step (each step fills its block): no memset
    new = _allocator(_all_running(batch_sizes, N))
    dW = np.zeros((H, K), dtype=dtype)
    dX = new((T, F, N), dtype=dtype) if need_dx else None
    # a chunk's D and DA stay in cache from one pass over them to the next
    size = _chunk_steps(T, 2 * H * N * dtype.itemsize)
    D = np.empty((size, H, N), dtype=dtype)  # f'(a), a chunk
    DA = new((size, H, N), dtype=dtype)  # d loss / d pre-activation
    dZ = np.zeros((K, N), dtype=dtype)  # rows F+1: W_hh^T da_t, carried to step t-1
    dh = dZ[F + 1:]
    identity = activation == "identity"  # f' = 1: no factors, no multiply

    def factors(t0, t1):
        if not identity:  # f' of the whole chunk in one or two ufunc calls, not per step
            _elman_derivative(activation, Z[t0 + 1:t1 + 1, F + 1:], D[:t1 - t0])

    def steps(t0, t1):
        for t in range(t1 - 1, t0 - 1, -1):
            n = batch_sizes[t]
            da = DA[t - t0, :, :n]
            np.add(dh[:, :n], dout[t, :, :n], out=da)  # total gradient on h_t
            if not identity:
                da *= D[t - t0, :, :n]  # through f
            _backprop_input(W.T, Whh_T, da, dZ, dX, t, F, n)

    def gradients(t0, t1):
        # dW_ih, db and dW_hh of the whole chunk in one GEMM, not one small GEMM a step
        _acc_over_steps(dW, DA[:t1 - t0], Z[t0:t1])

    _run_backward(T, size, factors, steps, gradients)
    dw_ih, dw_hh, db = _split_stacked_grad(dW, F)
    return dX, (dw_ih, dw_hh, db, db.copy())


# --------------------------------------------------------------------------------------
# LSTM


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward_fm` reads from :func:`lstm_forward_fm`.

    Attributes
    ----------
    Z : ndarray of shape (T+1, F+1+H, N)
        ``Z[t] = [x_t; 1; h_{t-1}]``, as in :class:`RNNCache`.
    gates : ndarray of shape (T, 4, H, N)
        The activated gates of each step in the internal order ``o, i, f, g``
        (:func:`_lstm_rows`).
    Cs : ndarray of shape (T+1, H, N)
        Cell states, ``Cs[t+1] = c_t`` and ``Cs[0] = c_{-1} = 0``.
    TC : ndarray of shape (T, H, N)
        ``tanh(c_t)``.
    batch_sizes : sequence of int of length T
        Sequences running at each step.
    """

    Z: np.ndarray
    gates: np.ndarray
    Cs: np.ndarray
    TC: np.ndarray
    batch_sizes: list


@functools.lru_cache(maxsize=32)
def _lstm_rows(H):
    """Row permutation from PyTorch's gate order (i, f, g, o) to the internal
    (o, i, f, g), so that each elementwise stage is one call on a contiguous slice:
    the three logistic gates side by side (their ``-1`` scale forward, ``x (1 - x)``
    backward); ``o`` first, where its factor ``F_o`` sits next to ``A``, both
    multiplied by ``dh_t``; and ``i, f, g``, whose factors all multiply ``dc_t``,
    adjacent. Read-only, made once an ``H``."""
    return _read_only(np.concatenate([np.arange(3 * H, 4 * H), np.arange(0, 3 * H)]))


def lstm_forward_fm(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation=None,
                    keep_cache=True):
    """Feature-major kernel of :func:`lstm_forward`: the LSTM cell over all timesteps.

    Gates in the internal row order ``(o, i, f, g)`` (:func:`_lstm_rows`), with
    ``a_k = W_ik x_t + b_ik + b_hk + W_hk h_{t-1}`` for gate ``k``. For
    ``t = 0 .. T-1``, on the running columns ``:batch_sizes[t]``, with
    ``h_{-1} = c_{-1} = 0``::

        gates[t] = W @ Z[t] = [-a_o; -a_i; -a_f; -2 a_g]
        gates[t] = 1 / (1 + exp(gates[t])) = [o; i; f; sigma(2 a_g)]     (one exp)
        g        = 2 sigma(2 a_g) - 1 = tanh(a_g)
        c_t      = f * c_{t-1} + i * g                                    (Cs[t+1])
        TC[t]    = tanh(c_t)                           (np.tanh or exp: _tanh_into)
        h_t      = o * tanh(c_t)                                          (Z[t+1, F+1:])

    With ``keep_cache=False`` (prediction) only the outputs are kept, in ``O(N H)``
    working memory besides them, and the outputs past a sequence's end are left
    undefined instead of zero (nothing reads them: each step reads only its running
    sequences).

    Parameters
    ----------
    X : ndarray of shape (T, F, N)
        Input; the ``N`` sequences sorted by length, longest first.
    batch_sizes : sequence of int of length T
        Non-increasing count of sequences running at each step.
    w_ih, w_hh, b_ih, b_hh : ndarray
        PyTorch's weights, shapes ``(4H, F)``, ``(4H, H)``, ``(4H,)``, ``(4H,)``, row
        blocks ``(i, f, g, o)``.
    activation : None
        Ignored.
    keep_cache : bool, default=True
        Whether to keep the cache for the backward pass.

    Returns
    -------
    out : ndarray of shape (T, H, N)
        ``out[t] = h_t``, a view of ``Z[1:, F+1:]``.
    cache : LSTMCache or None

    Notes
    -----
    Buffers (without the cache, ``gates`` and ``TC`` hold one step and ``Cs`` two,
    used in turn):

    =========  ===============  ============================================================
    name       shape            holds
    =========  ===============  ============================================================
    ``W``      (4H, F+1+H)      ``[W_ih | b_ih + b_hh | W_hh]``, rows ``(o, i, f, g)``;
                                rows ``o, i, f`` times -1, rows ``g`` times -2
    ``Z``      (T+1, F+1+H, N)  ``Z[t] = [x_t; 1; h_{t-1}]``, ``Z[T, :F] = 0``; cached
    ``gates``  (T, 4, H, N)     ``o, i, f, g`` of each step; cached
    ``Cs``     (T+1, H, N)      ``Cs[t+1] = c_t``, ``Cs[0] = 0``; cached
    ``TC``     (T, H, N)        ``tanh(c_t)``; cached
    ``ig``     (H, N)           ``i * g`` (scratch)
    =========  ===============  ============================================================
    """
    T, F, N = X.shape
    H = w_hh.shape[1]
    dtype = X.dtype
    # [W_ih | b | W_hh] in rows (o, i, f, g): the four gates' pre-activations, one GEMM
    W = _stacked_weights(w_ih, b_ih + b_hh, w_hh, dtype, _lstm_rows(H))
    W[:3 * H] *= -1  # sigmoid(a) = 1 / (1 + exp(-a))
    W[3 * H:] *= -2  # g: tanh(a) = 2 sigmoid(2a) - 1; scales folded: one exp for all gates
    full = not keep_cache or _all_running(batch_sizes, N)
    # np.empty when each step fills its block: no memset (~75 us a minibatch, H=64, T=50, f32)
    new = _allocator(full)
    # each step writes h_t straight into Z[t+1], the next step's operand: no copy a step
    Z = _stacked_input(X, H, full)
    Tg = T if keep_cache else 1  # prediction: one step of gates and TC, two of Cs
    gates = new((Tg, 4, H, N), dtype=dtype)
    Cs = new((T + 1 if keep_cache else 2, H, N), dtype=dtype)
    Cs[0] = 0
    TC = new((Tg, H, N), dtype=dtype)
    ig = np.empty((H, N), dtype=dtype)
    one, two = _ONE[dtype], _TWO[dtype]  # 0-d arrays: ~0.9 us less a ufunc call (_Constant)
    use_np_tanh = _np_tanh(dtype, H)
    with np.errstate(over="ignore"):  # exp overflows to inf: 1 / (1 + inf) = 0, the limit
        for t, n in enumerate(batch_sizes):
            j = t if keep_cache else 0
            g4 = gates[j]
            g = g4.reshape(4 * H, N)[:, :n]
            np.matmul(W, Z[t, :, :n], out=g)
            _sigmoid_of_neg(g)  # all four gates in one call
            o, i, f, gg = g4[0, :, :n], g4[1, :, :n], g4[2, :, :n], g4[3, :, :n]
            gg *= two
            gg -= one  # g = 2 sigmoid(2 a_g) - 1 = tanh(a_g)
            c_prev = Cs[t if keep_cache else t % 2, :, :n]
            c = Cs[t + 1 if keep_cache else (t + 1) % 2, :, :n]
            np.multiply(f, c_prev, out=c)
            np.multiply(i, gg, out=ig[:, :n])
            c += ig[:, :n]
            tc = TC[j, :, :n]
            _tanh_into(c, tc, use_np_tanh)
            np.multiply(o, tc, out=Z[t + 1, F + 1:, :n])
    cache = LSTMCache(Z, gates, Cs, TC, batch_sizes) if keep_cache else None
    return Z[1:, F + 1:], cache


def _lstm_factors(gates, Cs, TC, out):
    """Derivative factors of a chunk of steps, from its gates ``(4, t, H, N)`` gate by
    gate, into ``out`` ``(5, t, H, N)``: ``A = o (1 - tanh^2 c)``,
    ``F_o = tanh c . o (1-o)``, ``F_i = g . i (1-i)``, ``F_f = c_{t-1} . f (1-f)`` and
    ``F_g = i (1 - g^2)``."""
    o, i, _, g = gates
    A, Fo, Fi, Ff, Fg = out
    one = _ONE[out.dtype]
    np.multiply(TC, TC, out=A)
    np.subtract(one, A, out=A)
    A *= o
    oif, dsig = gates[0:3], out[1:4]  # the logistic gates, side by side
    np.subtract(one, oif, out=dsig)
    dsig *= oif
    Fo *= TC
    Fi *= g
    Ff *= Cs
    np.multiply(g, g, out=Fg)
    np.subtract(one, Fg, out=Fg)
    Fg *= i


def lstm_backward_fm(dout, cache, w_ih, w_hh, need_dx=True):
    """Feature-major kernel of :func:`lstm_backward`: BPTT through :func:`lstm_forward_fm`.

    Gates in the internal row order ``(o, i, f, g)``, as forward; ``da_k`` is the
    gradient on gate ``k``'s pre-activation ``a_k``. The derivative factors of step
    ``t`` (:func:`_lstm_factors`, with ``c_{t-1} = Cs[t]``)::

        A   = o * (1 - tanh(c_t)^2)        F_o = tanh(c_t) * o * (1 - o)
        F_i = g * i * (1 - i)              F_f = c_{t-1} * f * (1 - f)
        F_g = i * (1 - g^2)

    For ``t = T-1 .. 0``, on the running columns ``:batch_sizes[t]``, with
    ``da_T = dc_T = 0``::

        dh_t               = dout[t] + W_hh^T da_{t+1}
        dc_t               = dh_t * A + f_{t+1} * dc_{t+1}
        da_o               = dh_t * F_o
        [da_i; da_f; da_g] = dc_t * [F_i; F_f; F_g]
        da_t               = [da_o; da_i; da_f; da_g]
        dx_t               = W_ih^T da_t   (W^T da_t: dx_t and W_hh^T da_t, one GEMM)

    and over the steps (row ``F`` of ``Z[t]`` is ones), rows permuted back to
    PyTorch's order at the end::

        [dW_ih | db | dW_hh] = sum_t da_t @ Z[t]^T,        db_ih = db_hh = db

    The steps run in chunks of ``c`` steps, last chunk first (:func:`_run_backward`):
    ``factors`` (``FB`` from ``GB``), ``steps`` (the recurrence), ``gradients``.

    Parameters
    ----------
    dout : ndarray of shape (T, H, N)
        ``d loss / d h_t`` from outside the recurrence (layer above or output layer).
    cache : LSTMCache
    w_ih, w_hh : ndarray of shape (4H, F) and (4H, H)
        PyTorch's row order.
    need_dx : bool, default=True
        Whether to compute ``dX`` (the bottom layer does not need it).

    Returns
    -------
    dX : ndarray of shape (T, F, N) or None
        ``dX[t] = dx_t``; zero past a sequence's end.
    grads : tuple of ndarray
        ``(dw_ih, dw_hh, db_ih, db_hh)``, PyTorch's shapes and row order.

    Notes
    -----
    Buffers (``c`` steps a chunk, so that ``GB``, ``FB`` and ``SC``, 14 ``(H, N)``
    blocks a step, take about ``FACTOR_CHUNK_BYTES``):

    =========  ===============  ============================================================
    name       shape            holds
    =========  ===============  ============================================================
    ``Z``      (T+1, F+1+H, N)  the cache: ``Z[t] = [x_t; 1; h_{t-1}]``
    ``gates``  (T, 4, H, N)     the cache: ``o, i, f, g`` of each step, step-major
    ``Cs``     (T+1, H, N)      the cache: ``Cs[t] = c_{t-1}``
    ``TC``     (T, H, N)        the cache: ``tanh(c_t)``
    ``W``      (4H, F+1+H)      ``[W_ih | 0 | W_hh]``, rows ``(o, i, f, g)``, unscaled
    ``GB``     (4, c, H, N)     the chunk's gates, gate-major: ``GB[k, t-t0]``, ``k`` in
                                ``o, i, f, g``
    ``FB``     (5, c, H, N)     the chunk's factors, factor-major: ``A, F_o, F_i, F_f, F_g``
    ``SC``     (c, 5, H, N)     step-major, ``SC[t-t0] = [dh_t * A; da_o; da_i; da_f; da_g]``:
                                rows ``1:5`` are ``da_t``, one ``(4H, N)`` block in ``W``'s
                                row order; zero past the running columns
    ``dht``    (H, N)           ``dh_t``
    ``dc``     (H, N)           ``f_{t+1} * dc_{t+1}`` on entering step ``t``, then ``dc_t``,
                                then ``f_t * dc_t``
    ``dZ``     (F+1+H, N)       ``W^T da_t``: ``dx_t`` in rows ``:F`` (row ``F`` unused),
                                ``W_hh^T da_t`` in rows ``F+1:`` (``dh``) for step ``t-1``
    ``dX``     (T, F, N)        ``dx_t``
    ``dW``     (4H, F+1+H)      ``[dW_ih | db | dW_hh]``, rows ``(o, i, f, g)``
    =========  ===============  ============================================================
    """
    Z, gates, Cs, TC, batch_sizes = cache
    T = Z.shape[0] - 1
    _, K, N = Z.shape
    H = w_hh.shape[1]
    F = K - 1 - H
    dtype = Z.dtype
    rows = _lstm_rows(H)
    # W^T da_t gives dx_t and W_hh^T da_t in one GEMM a step (rows in SC[t, 1:]'s order)
    W = _stacked_weights(w_ih, np.zeros(4 * H), w_hh, dtype, rows)
    Whh_T = W[:, F + 1:].T
    # np.empty when every sequence runs every step (each step fills its block): no memset
    new = _allocator(_all_running(batch_sizes, N))
    dW = np.zeros((4 * H, K), dtype=dtype)
    dX = new((T, F, N), dtype=dtype) if need_dx else None
    # a chunk's GB, FB and SC stay in cache from one pass over them to the next
    size = _chunk_steps(T, 14 * H * N * dtype.itemsize)
    # gate-major copies: the factors on contiguous blocks (20 steps, H=16: 200 -> 74 us)
    GB = np.empty((4, size, H, N), dtype=dtype)  # a chunk's gates, gate by gate
    FB = np.empty((5, size, H, N), dtype=dtype)  # and their derivative factors
    # [dh_t * A, then the gate gradients o, i, f, g] of each step of a chunk
    SC = new((size, 5, H, N), dtype=dtype)
    dht = np.empty((H, N), dtype=dtype)
    dc = np.zeros((H, N), dtype=dtype)  # d loss / d c_t from step t+1
    dZ = np.zeros((K, N), dtype=dtype)
    dh = dZ[F + 1:]

    def factors(t0, t1):
        m = t1 - t0
        _lstm_factors(_gate_major(gates[t0:t1], GB[:, :m]), Cs[t0:t1], TC[t0:t1],
                      FB[:, :m])

    def steps(t0, t1):
        for t in range(t1 - 1, t0 - 1, -1):
            n = batch_sizes[t]
            fb = FB[:, t - t0, :, :n]
            S = SC[t - t0]
            d = dht[:, :n]
            np.add(dh[:, :n], dout[t, :, :n], out=d)  # total gradient on h_t
            np.multiply(d, fb[0:2], out=S[0:2, :, :n])  # into c_t; output gate (one call)
            dcn = dc[:, :n]
            dcn += S[0, :, :n]
            np.multiply(dcn, fb[2:5], out=S[2:5, :, :n])  # input, forget, candidate (one call)
            dcn *= GB[2, t - t0, :, :n]  # into c_{t-1}, through f
            _backprop_input(W.T, Whh_T, S[1:].reshape(4 * H, N)[:, :n], dZ, dX, t, F, n)

    def gradients(t0, t1):
        m = t1 - t0
        # dW_ih, db and dW_hh of the whole chunk in one GEMM, not one small GEMM a step
        _acc_over_steps(dW, SC[:m, 1:].reshape(m, 4 * H, N), Z[t0:t1])

    _run_backward(T, size, factors, steps, gradients)
    dW_pt = np.empty_like(dW)
    dW_pt[rows] = dW  # back to PyTorch's row order, once rather than a step
    dw_ih, dw_hh, db = _split_stacked_grad(dW_pt, F)
    return dX, (dw_ih, dw_hh, db, db.copy())


# --------------------------------------------------------------------------------------
# GRU


class GRUCache(NamedTuple):
    """What :func:`gru_backward_fm` reads from :func:`gru_forward_fm`.

    Attributes
    ----------
    Xa : ndarray of shape (T, F+1, N)
        ``Xa[t] = [x_t; 1]``: the layer's input with a row of ones (for ``b_ih``).
    Hs : ndarray of shape (T+1, H+1, N)
        ``Hs[t] = [h_{t-1}; 1]`` (for ``b_hh``), ``Hs[0, :H] = 0``; so
        ``Hs[t+1, :H] = h_t``, zero past a sequence's end.
    gates : ndarray of shape (T, 3, H, N)
        The activated gates of each step in the input side's order ``n, r, z``
        (:func:`_gru_rows`).
    HN : ndarray of shape (T, H, N)
        ``m_t = W_hn h_{t-1} + b_hn``, the term the reset gate multiplies.
    batch_sizes : sequence of int of length T
        Sequences running at each step.
    """

    Xa: np.ndarray
    Hs: np.ndarray
    gates: np.ndarray
    HN: np.ndarray
    batch_sizes: list


@functools.lru_cache(maxsize=32)
def _gru_rows(H):
    """Internal row orders: the input side is (n, r, z), the recurrent side (r, z, n),
    so that the input-side gradient [n; r; z] and the recurrent-side gradient
    [r; z; r * n] are two overlapping windows of one buffer (read-only, made once an
    ``H``). Forward, the input side's ``r, z`` rows ``1:3`` then meet the recurrent
    side's rows ``0:2`` in one addition and one ``exp``."""
    return (_read_only(np.concatenate([np.arange(2 * H, 3 * H), np.arange(0, 2 * H)])),
            _read_only(np.arange(3 * H)))


def gru_forward_fm(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation=None,
                   keep_cache=True):
    """Feature-major kernel of :func:`gru_forward`: the GRU cell over all timesteps.

    The input side's rows are in the order ``(n, r, z)``, the recurrent side's in
    PyTorch's ``(r, z, n)`` (:func:`_gru_rows`). With ``xr = W_ir x_t + b_ir``
    (likewise ``xz``, ``xn``), ``hr = W_hr h_{t-1} + b_hr`` (likewise ``hz``) and
    ``m_t = W_hn h_{t-1} + b_hn``, the input side of all steps comes first, in one
    batched GEMM::

        gates[t] = Wi @ Xa[t] = [xn; -xr; -xz]

    then for ``t = 0 .. T-1``, on the running columns ``:batch_sizes[t]``, with
    ``h_{-1} = 0``::

        hp     = Wh @ Hs[t] = [-hr; -hz; m_t]                              (HN[t] = m_t)
        [r; z] = 1 / (1 + exp(gates[t, 1:3] + hp[0:2]))                   (one exp)
        n      = tanh(xn + r * m_t)                      (np.tanh or exp: _tanh_into)
        h_t    = n + z * (h_{t-1} - n)    = (1 - z) * n + z * h_{t-1}     (Hs[t+1, :H])

    Unlike the other cells, the GRU cannot use one stacked ``[x; 1; h]`` GEMM a step:
    ``r`` multiplies ``m_t`` only, so the two sides of ``n`` stay apart.

    Parameters
    ----------
    X : ndarray of shape (T, F, N)
        Input; the ``N`` sequences sorted by length, longest first.
    batch_sizes : sequence of int of length T
        Non-increasing count of sequences running at each step.
    w_ih, w_hh, b_ih, b_hh : ndarray
        PyTorch's weights, shapes ``(3H, F)``, ``(3H, H)``, ``(3H,)``, ``(3H,)``, row
        blocks ``(r, z, n)``.
    activation : None
        Ignored.
    keep_cache : bool, default=True
        Whether to keep the cache for the backward pass.

    Returns
    -------
    out : ndarray of shape (T, H, N)
        ``out[t] = h_t``, a view of ``Hs[1:, :H]``; zero past a sequence's end.
    cache : GRUCache or None

    Notes
    -----
    Buffers:

    =========  =============  ==============================================================
    name       shape          holds
    =========  =============  ==============================================================
    ``Wi``     (3H, F+1)      ``[W_ih | b_ih]``, rows ``(n, r, z)``; rows ``r, z`` times -1
    ``Wh``     (3H, H+1)      ``[W_hh | b_hh]``, rows ``(r, z, n)``; rows ``r, z`` times -1
    ``Xa``     (T, F+1, N)    ``Xa[t] = [x_t; 1]``; cached
    ``gates``  (T, 3, H, N)   ``[xn; -xr; -xz]``, then ``n, r, z`` in place; cached
    ``Hs``     (T+1, H+1, N)  ``Hs[t] = [h_{t-1}; 1]``, ``Hs[0, :H] = 0``; cached
    ``HN``     (T, H, N)      ``m_t``; cached (``None`` without the cache)
    ``hp``     (3, H, N)      ``Wh @ Hs[t]`` of the current step
    ``rn``     (H, N)         ``r * m_t`` (scratch)
    =========  =============  ==============================================================
    """
    T, F, N = X.shape
    H = w_hh.shape[1]
    dtype = X.dtype
    rows_i, _ = _gru_rows(H)
    # input side in rows (n, r, z): its r, z rows 1:3 line up with the recurrent rows 0:2
    Wi = np.concatenate([w_ih, b_ih[:, None]], axis=1)[rows_i].astype(dtype)
    Wi[H:] *= -1  # r, z: sigmoid(a) = 1 / (1 + exp(-a))
    Wh = np.concatenate([w_hh, b_hh[:, None]], axis=1).astype(dtype)
    Wh[:2 * H] *= -1
    Xa = np.empty((T, F + 1, N), dtype=dtype)
    Xa[:, :F] = X
    Xa[:, F] = 1
    # the input side of all steps at once: one batched GEMM instead of one a step
    gates = np.matmul(Wi, Xa).reshape(T, 3, H, N)
    # np.empty when every sequence runs every step (each step fills its block): no memset
    new = _allocator(_all_running(batch_sizes, N))
    Hs = new((T + 1, H + 1, N), dtype=dtype)
    Hs[0] = 0
    Hs[:, H] = 1
    HN = new((T, H, N), dtype=dtype) if keep_cache else None
    hp = np.empty((3, H, N), dtype=dtype)
    HP = hp.reshape(3 * H, N)
    rn = np.empty((H, N), dtype=dtype)
    use_np_tanh = _np_tanh(dtype, H)
    with np.errstate(over="ignore"):  # exp overflows to inf: 1 / (1 + inf) = 0, the limit
        for t, n in enumerate(batch_sizes):
            g3 = gates[t]
            np.matmul(Wh, Hs[t, :, :n], out=HP[:, :n])  # W_hh h + b_hh (scaled r, z)
            rz = g3[1:3, :, :n]
            rz += hp[0:2, :, :n]  # r and z in one addition,
            _sigmoid_of_neg(rz)  # and one exp
            nn, r, z = g3[0, :, :n], g3[1, :, :n], g3[2, :, :n]
            if keep_cache:
                hn = HN[t, :, :n]
                hn[...] = hp[2, :, :n]
            else:
                hn = hp[2, :, :n]  # prediction reads m_t from the GEMM's output: no copy
            np.multiply(r, hn, out=rn[:, :n])
            nn += rn[:, :n]
            # n's -2 cannot be folded into Wi (r * m_t is added first): _tanh_into scales
            _tanh_into(nn, nn, use_np_tanh)
            h = Hs[t + 1, :H, :n]
            np.subtract(Hs[t, :H, :n], nn, out=h)  # h = n + z * (h_prev - n): 3 passes, not 4
            h *= z
            h += nn
    cache = GRUCache(Xa, Hs, gates, HN, batch_sizes) if keep_cache else None
    return Hs[1:, :H], cache


def _gru_factors(gates, HN, Hprev, out):
    """Derivative factors of a chunk of steps, from its gates ``(3, t, H, N)`` gate by
    gate, into ``out`` ``(4, t, H, N)``: ``F_r = hn . r (1-r)``,
    ``F_n = (1-z)(1-n^2)`` and ``F_z = (h_{t-1} - n) z (1-z)`` (the fourth block is
    scratch, ``1 - z``)."""
    nn, r, z = gates
    Fr, Fn, Fz, Z1 = out
    one = _ONE[out.dtype]
    np.subtract(one, r, out=Fr)
    Fr *= r
    Fr *= HN
    np.multiply(nn, nn, out=Fn)
    np.subtract(one, Fn, out=Fn)
    np.subtract(one, z, out=Z1)
    Fn *= Z1
    np.subtract(Hprev, nn, out=Fz)
    Fz *= z
    Fz *= Z1


def gru_backward_fm(dout, cache, w_ih, w_hh, need_dx=True):
    """Feature-major kernel of :func:`gru_backward`: BPTT through :func:`gru_forward_fm`.

    ``da_r``, ``da_z`` are the gradients on the pre-activations of ``r``, ``z``, and
    ``da_n`` the one on ``n``'s whole pre-activation ``xn + r * m_t``: the input side
    gets it as it is, the recurrent side, through ``m_t``, as ``dm_t = r * da_n``.
    The derivative factors of step ``t`` (:func:`_gru_factors`, with
    ``h_{t-1} = Hs[t, :H]``)::

        F_r = m_t * r * (1 - r)            F_n = (1 - z) * (1 - n^2)
        F_z = (h_{t-1} - n) * z * (1 - z)

    For ``t = T-1 .. 0``, on the running columns ``:batch_sizes[t]``, with every
    ``t+1`` term zero at ``t = T-1``::

        dh_t = dout[t] + W_hh^T [da_r; da_z; dm]_{t+1} + z_{t+1} * dh_{t+1}
        da_n = dh_t * F_n
        da_z = dh_t * F_z
        da_r = da_n * F_r
        dm_t = r * da_n
        dx_t = W_ih^T [da_n; da_r; da_z]       (one batched GEMM a chunk)

    and over the steps (``Xa[t] = [x_t; 1]``, ``Hs[t] = [h_{t-1}; 1]``), the input
    side's rows permuted back to PyTorch's order at the end::

        [dW_ih | db_ih] = sum_t [da_n; da_r; da_z] @ Xa[t]^T        rows (n, r, z)
        [dW_hh | db_hh] = sum_t [da_r; da_z; dm_t] @ Hs[t]^T        rows (r, z, n)

    The steps run in chunks of ``c`` steps, last chunk first (:func:`_run_backward`):
    ``factors`` (``FB`` from ``GB``), ``steps`` (the recurrence), ``gradients``.

    Parameters
    ----------
    dout : ndarray of shape (T, H, N)
        ``d loss / d h_t`` from outside the recurrence (layer above or output layer).
    cache : GRUCache
    w_ih, w_hh : ndarray of shape (3H, F) and (3H, H)
        PyTorch's row order.
    need_dx : bool, default=True
        Whether to compute ``dX`` (the bottom layer does not need it).

    Returns
    -------
    dX : ndarray of shape (T, F, N) or None
        ``dX[t] = dx_t``; zero past a sequence's end.
    grads : tuple of ndarray
        ``(dw_ih, dw_hh, db_ih, db_hh)``, PyTorch's shapes and row order.

    Notes
    -----
    Buffers (``c`` steps a chunk, so that ``GB``, ``FB`` and ``BC``, 11 ``(H, N)``
    blocks a step, take about ``FACTOR_CHUNK_BYTES``):

    ==========  =============  =============================================================
    name        shape          holds
    ==========  =============  =============================================================
    ``Xa``      (T, F+1, N)    the cache: ``Xa[t] = [x_t; 1]``
    ``Hs``      (T+1, H+1, N)  the cache: ``Hs[t] = [h_{t-1}; 1]``
    ``gates``   (T, 3, H, N)   the cache: ``n, r, z`` of each step, step-major
    ``HN``      (T, H, N)      the cache: ``m_t``
    ``w_ih_T``  (F, 3H)        ``W_ih^T``, columns ``(n, r, z)``
    ``w_hh_T``  (H, 3H)        ``W_hh^T``, columns ``(r, z, n)``
    ``GB``      (3, c, H, N)   the chunk's gates, gate-major: ``n, r, z``
    ``FB``      (4, c, H, N)   the chunk's factors, factor-major: ``F_r, F_n, F_z``, ``1 - z``
    ``BC``      (c, 4, H, N)   step-major, ``BC[t-t0] = [da_n; da_r; da_z; dm_t]``: rows
                               ``0:3`` are the input side in ``Wi``'s order ``(n, r, z)``,
                               rows ``1:4`` the recurrent side in ``Wh``'s ``(r, z, n)``,
                               two windows of one block; zero past the running columns
    ``dht``     (H, N)         ``dh_t``
    ``dh``      (H, N)         ``W_hh^T [da_r; da_z; dm_t] + z * dh_t``, step ``t``'s part
                               of ``dh_{t-1}``
    ``zd``      (H, N)         ``z * dh_t`` (scratch)
    ``dX``      (T, F, N)      ``dx_t``
    ``dWi``     (3H, F+1)      ``[dW_ih | db_ih]``, rows ``(n, r, z)``
    ``dWh``     (3H, H+1)      ``[dW_hh | db_hh]``, rows ``(r, z, n)``
    ==========  =============  =============================================================
    """
    Xa, Hs, gates, HN, batch_sizes = cache
    T, F1, N = Xa.shape
    F = F1 - 1
    H = w_hh.shape[1]
    dtype = Xa.dtype
    rows_i, _ = _gru_rows(H)
    w_ih_T = w_ih[rows_i].astype(dtype, copy=False).T  # columns (n, r, z), as BC[t, 0:3]
    w_hh_T = w_hh.astype(dtype, copy=False).T  # columns (r, z, n), as BC[t, 1:4]
    dWi = np.zeros((3 * H, F + 1), dtype=dtype)  # rows (n, r, z), last column b_ih
    dWh = np.zeros((3 * H, H + 1), dtype=dtype)  # rows (r, z, n), last column b_hh
    # np.empty when every sequence runs every step (each step fills its block): no memset
    new = _allocator(_all_running(batch_sizes, N))
    dX = np.empty((T, F, N), dtype=dtype) if need_dx else None  # one GEMM a chunk
    # a chunk's GB, FB and BC stay in cache from one pass over them to the next
    size = _chunk_steps(T, 11 * H * N * dtype.itemsize)
    # gate-major copies: the factors on contiguous blocks (20 steps, H=16: 200 -> 74 us)
    GB = np.empty((3, size, H, N), dtype=dtype)  # a chunk's gates, gate by gate
    FB = np.empty((4, size, H, N), dtype=dtype)  # and their derivative factors
    # [d n-pre, d r-pre, d z-pre, d hn] of each step of a chunk: rows 0:3 are the
    # input side (n, r, z), rows 1:4 the recurrent side (r, z, n): no copy for either
    BC = new((size, 4, H, N), dtype=dtype)
    dht = np.empty((H, N), dtype=dtype)
    dh = np.zeros((H, N), dtype=dtype)  # d loss / d h_t from step t+1
    zd = np.empty((H, N), dtype=dtype)

    def factors(t0, t1):
        m = t1 - t0
        _gru_factors(_gate_major(gates[t0:t1], GB[:, :m]), HN[t0:t1], Hs[t0:t1, :H],
                     FB[:, :m])

    def steps(t0, t1):
        for t in range(t1 - 1, t0 - 1, -1):
            n = batch_sizes[t]
            fb = FB[:, t - t0, :, :n]
            gb = GB[:, t - t0, :, :n]  # n, r, z
            B = BC[t - t0]
            d = dht[:, :n]
            np.add(dh[:, :n], dout[t, :, :n], out=d)  # total gradient on h_t
            np.multiply(d, fb[1], out=B[0, :, :n])  # n (through tanh)
            np.multiply(d, fb[2], out=B[2, :, :n])  # z (through sigma)
            np.multiply(B[0, :, :n], fb[0], out=B[1, :, :n])  # r (through sigma)
            np.multiply(B[0, :, :n], gb[1], out=B[3, :, :n])  # W_hn h + b_hn
            if t:  # step 0 has no h_{t-1} to pass a gradient to
                np.matmul(w_hh_T, B[1:4].reshape(3 * H, N)[:, :n],
                          out=dh[:, :n])  # into h_{t-1}, via the gates
                np.multiply(d, gb[2], out=zd[:, :n])  # and directly
                dh[:, :n] += zd[:, :n]

    def gradients(t0, t1):
        m = t1 - t0
        DI = BC[:m, 0:3].reshape(m, 3 * H, N)
        # each side's weights and bias for the whole chunk in one GEMM, not one a step
        _acc_over_steps(dWi, DI, Xa[t0:t1])
        _acc_over_steps(dWh, BC[:m, 1:4].reshape(m, 3 * H, N), Hs[t0:t1])
        if need_dx:
            np.matmul(w_ih_T, DI, out=dX[t0:t1])  # dx_t of the whole chunk: one batched GEMM

    _run_backward(T, size, factors, steps, gradients)
    dw_ih = np.empty((3 * H, F), dtype=dtype)
    db_ih = np.empty(3 * H, dtype=dtype)
    dw_ih[rows_i] = dWi[:, :F]  # back to PyTorch's row order, once rather than a step
    db_ih[rows_i] = dWi[:, F]
    return dX, (dw_ih, np.ascontiguousarray(dWh[:, :H]), db_ih, dWh[:, H].copy())


# --------------------------------------------------------------------------------------
# Time-major API: (T, N, F) in, (T, N, H) out.


def _time_major(kernel_forward, kernel_backward):
    def forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation="tanh"):
        out, cache = kernel_forward(np.asarray(X).transpose(0, 2, 1), batch_sizes,
                                    w_ih, w_hh, b_ih, b_hh, activation)
        return np.ascontiguousarray(out.transpose(0, 2, 1)), cache

    def backward(dout, cache, w_ih, w_hh, need_dx=True):
        dX, grads = kernel_backward(np.asarray(dout).transpose(0, 2, 1), cache, w_ih,
                                    w_hh, need_dx)
        if dX is not None:
            dX = np.ascontiguousarray(dX.transpose(0, 2, 1))
        return dX, grads

    return forward, backward


_rnn_forward, _rnn_backward = _time_major(rnn_forward_fm, rnn_backward_fm)
_lstm_forward, _lstm_backward = _time_major(lstm_forward_fm, lstm_backward_fm)
_gru_forward, _gru_backward = _time_major(gru_forward_fm, gru_backward_fm)


def rnn_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation="tanh"):
    r"""Elman cell over all timesteps.

    .. math::

        h_t = f(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    with :math:`f` in ``{'tanh', 'relu', 'logistic', 'identity'}`` and :math:`h_{-1} = 0`.

    Equivalent to the following loop (for sequences that all have length ``T``)::

        h = zeros((N, H))
        for t in range(T):
            h = f(X[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            out[t] = h

    Parameters
    ----------
    X : ndarray of shape (T, N, F)
        Time-major input, sequences sorted longest first.
    batch_sizes : sequence of int of length T
        Non-increasing count of sequences running at each step.
    w_ih, w_hh, b_ih, b_hh : ndarray
        Shapes ``(H, F)``, ``(H, H)``, ``(H,)``, ``(H,)``.
    activation : {'tanh', 'relu', 'logistic', 'identity'}, default='tanh'

    Returns
    -------
    out : ndarray of shape (T, N, H)
    cache : RNNCache
    """
    return _rnn_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation)


def rnn_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`rnn_forward`.

    Returns ``dX`` (``None`` unless ``need_dx``) and ``(dw_ih, dw_hh, db_ih, db_hh)``.
    """
    return _rnn_backward(dout, cache, w_ih, w_hh, need_dx)


def lstm_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation=None):
    r"""LSTM cell over all timesteps, with PyTorch's equations and gate order.

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    ``w_ih`` is ``(4H, F)`` with row blocks ``[W_ii; W_if; W_ig; W_io]``; ``w_hh`` is
    ``(4H, H)``. ``activation`` is ignored. See :func:`rnn_forward` for the other
    parameters and the return values.
    """
    return _lstm_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation)


def lstm_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`lstm_forward`. See :func:`rnn_backward`."""
    return _lstm_backward(dout, cache, w_ih, w_hh, need_dx)


def gru_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation=None):
    r"""GRU cell over all timesteps, with PyTorch's equations and gate order.

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    .. note::
        As in PyTorch (and cuDNN), the reset gate multiplies ``W_hn h + b_hn``; the
        original paper applies it to ``h`` before the product. So ``b_hn`` and ``b_in``
        are not redundant, while the other input/recurrent bias pairs are.

    ``w_ih`` is ``(3H, F)`` with row blocks ``[W_ir; W_iz; W_in]``. ``activation`` is
    ignored. See :func:`rnn_forward` for the other parameters and the return values.
    """
    return _gru_forward(X, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation)


def gru_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`gru_forward`. See :func:`rnn_backward`."""
    return _gru_backward(dout, cache, w_ih, w_hh, need_dx)


#: Time-major cells keyed by the ``cell`` parameter: (forward, backward, number of gates).
CELLS = {
    "rnn": (rnn_forward, rnn_backward, 1),
    "lstm": (lstm_forward, lstm_backward, 4),
    "gru": (gru_forward, gru_backward, 3),
}

#: Feature-major kernels keyed by the ``cell`` parameter: (forward, backward).
KERNELS = {
    "rnn": (rnn_forward_fm, rnn_backward_fm),
    "lstm": (lstm_forward_fm, lstm_backward_fm),
    "gru": (gru_forward_fm, gru_backward_fm),
}
