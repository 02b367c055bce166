r"""Recurrent cells: forward over all timesteps and backpropagation through time.

Pure NumPy: nothing here imports scikit-learn.

Conventions shared by every cell
--------------------------------
Symbols: ``T`` timesteps, ``N`` sequences, ``F`` input features, ``H`` hidden units,
``G`` gates (1 for Elman, 4 for LSTM, 3 for GRU).

* ``X`` is **time-major**, shape ``(T, N, F)``, zero-padded past each sequence's end.
* The ``N`` sequences are sorted by length, longest first, and ``batch_sizes[t]`` is the
  number of sequences still running at step ``t`` (as in PyTorch's packed sequences).
  Step ``t`` therefore only touches the contiguous rows ``[:batch_sizes[t]]``: padding
  costs nothing, never enters an output and never receives a gradient.
* Weights use PyTorch's names, shapes and gate order: ``w_ih`` ``(G*H, F)``, ``w_hh``
  ``(G*H, H)``, ``b_ih`` and ``b_hh`` ``(G*H,)``; they are applied as ``x @ w.T``.
* The initial state is zero.
* ``forward`` returns the outputs ``(T, N, H)`` (row ``t`` of a sequence that has already
  ended is zero) and a cache, a ``NamedTuple`` of arrays that ``backward`` consumes.
  Nothing is stored anywhere else, so concurrent calls are safe.
* ``backward(dout, cache, w_ih, w_hh, need_dx)`` takes ``d loss / d outputs`` ``(T, N, H)``
  and returns ``dX`` (or ``None``) and the four parameter gradients in PyTorch layout.

Speed: the input projection of all timesteps is one GEMM before the loop, each step does
one recurrent GEMM and the gate arithmetic in place, and the weight gradients are one
GEMM over all timesteps after the backward loop. The logistic is computed as
``0.5 * tanh(0.5 a) + 0.5``, with the ``0.5`` folded into a scaled copy of the weights so
that one ``np.tanh`` call activates all gates of a step.
"""

from typing import NamedTuple

import numpy as np

# --------------------------------------------------------------------------------------
# Elementwise helpers for the Elman cell. Derivatives take the activation's *output*.


def _tanh(a, out):
    return np.tanh(a, out=out)


def _relu(a, out):
    return np.maximum(a, 0, out=out)


def _logistic(a, out):
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _identity(a, out):
    np.copyto(out, a)
    return out


def _d_tanh(h, delta):
    delta *= 1 - h * h


def _d_relu(h, delta):
    delta *= h > 0


def _d_logistic(h, delta):
    delta *= h * (1 - h)


def _d_identity(h, delta):
    pass


ACTIVATIONS = {
    "tanh": _tanh,
    "relu": _relu,
    "logistic": _logistic,
    "identity": _identity,
}
DERIVATIVES = {
    "tanh": _d_tanh,
    "relu": _d_relu,
    "logistic": _d_logistic,
    "identity": _d_identity,
}


def _project(X, w, b):
    """``X @ w.T + b`` for all timesteps at once: ``(T, N, F) -> (T, N, rows(w))``."""
    T, N, F = X.shape
    P = X.reshape(T * N, F) @ w.T
    P += b
    return P.reshape(T, N, w.shape[0])


def _input_weight_grad(D, X):
    """``dw_ih`` from the pre-activation gradients ``D`` ``(T, N, G*H)`` of all steps
    and the layer input ``X`` ``(T, N, F)``: one GEMM over all timesteps."""
    T, N, GH = D.shape
    return D.reshape(T * N, GH).T @ X.reshape(T * N, X.shape[2])


def _recurrent_weight_grad(D, Hs):
    """``dw_hh`` from ``D`` ``(T, N, G*H)`` and the states ``Hs`` ``(T+1, N, H)`` (zero
    initial state first): one GEMM. ``h_{-1} = 0``, so step 0 adds nothing."""
    T, N, GH = D.shape
    H = Hs.shape[2]
    return D[1:].reshape((T - 1) * N, GH).T @ Hs[1:T].reshape((T - 1) * N, H)


# --------------------------------------------------------------------------------------
# Elman


class RNNCache(NamedTuple):
    X: np.ndarray  # (T, N, F) layer input
    Hs: np.ndarray  # (T+1, N, H) states, Hs[0] = 0
    batch_sizes: list  # (T,) running sequences per step
    activation: str


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
    T, N, _ = X.shape
    H = w_hh.shape[1]
    Hs = np.zeros((T + 1, N, H), dtype=X.dtype)
    A = _project(X, w_ih, b_ih + b_hh)  # pre-activations, input part
    act = ACTIVATIONS[activation]
    w_hh_t = w_hh.T
    for t, n in enumerate(batch_sizes):
        a = A[t, :n]
        if t:
            a += Hs[t, :n] @ w_hh_t
        act(a, out=Hs[t + 1, :n])
    return Hs[1:], RNNCache(X, Hs, batch_sizes, activation)


def rnn_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`rnn_forward`.

    Returns ``dX`` (``None`` unless ``need_dx``) and ``(dw_ih, dw_hh, db_ih, db_hh)``.
    """
    X, Hs, batch_sizes, activation = cache
    T, N, F = X.shape
    H = w_hh.shape[1]
    deriv = DERIVATIVES[activation]
    DA = np.zeros((T, N, H), dtype=X.dtype)  # d loss / d pre-activation
    dh = np.zeros((N, H), dtype=X.dtype)  # d loss / d h_{t} from step t+1
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        da = DA[t, :n]
        np.add(dout[t, :n], dh[:n], out=da)  # total gradient on h_t
        deriv(Hs[t + 1, :n], da)  # backprop through f
        if t:
            np.matmul(da, w_hh, out=dh[:n])  # backprop into h_{t-1}
    dw_ih = _input_weight_grad(DA, X)
    dw_hh = _recurrent_weight_grad(DA, Hs)
    D2 = DA.reshape(T * N, H)
    db = D2.sum(axis=0)
    dX = (D2 @ w_ih).reshape(T, N, F) if need_dx else None
    return dX, (dw_ih, dw_hh, db, db.copy())


# --------------------------------------------------------------------------------------
# LSTM


class LSTMCache(NamedTuple):
    X: np.ndarray  # (T, N, F) layer input
    Hs: np.ndarray  # (T+1, N, H) hidden states, Hs[0] = 0
    Cs: np.ndarray  # (T+1, N, H) cell states, Cs[0] = 0
    TC: np.ndarray  # (T, N, H) tanh(c_t)
    gates: np.ndarray  # (T, N, 4H) activated gates, internal order (i, f, o, g)
    batch_sizes: list


def _lstm_order(H):
    """Permutation from PyTorch's gate order (i, f, g, o) to the internal (i, f, o, g),
    which puts the three logistic gates side by side."""
    return np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H),
                           np.arange(2 * H, 3 * H)])


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
    T, N, _ = X.shape
    H = w_hh.shape[1]
    H3 = 3 * H
    order = _lstm_order(H)
    scale = np.ones(4 * H, dtype=X.dtype)
    scale[:H3] = 0.5  # sigma(a) = 0.5 * tanh(0.5 a) + 0.5
    w_ih_s = w_ih[order] * scale[:, None]
    w_hh_s_t = (w_hh[order] * scale[:, None]).T
    b_s = (b_ih + b_hh)[order] * scale
    gates = _project(X, w_ih_s, b_s)  # becomes the activated gates in place
    Hs = np.zeros((T + 1, N, H), dtype=X.dtype)
    Cs = np.zeros((T + 1, N, H), dtype=X.dtype)
    TC = np.zeros((T, N, H), dtype=X.dtype)
    for t, n in enumerate(batch_sizes):
        g = gates[t, :n]
        if t:
            g += Hs[t, :n] @ w_hh_s_t
        np.tanh(g, out=g)  # all four gates in one call
        s = g[:, :H3]
        s *= 0.5
        s += 0.5
        i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:H3], g[:, H3:]
        c = Cs[t + 1, :n]
        np.multiply(f, Cs[t, :n], out=c)
        c += i * gg
        tc = np.tanh(c, out=TC[t, :n])
        np.multiply(o, tc, out=Hs[t + 1, :n])
    return Hs[1:], LSTMCache(X, Hs, Cs, TC, gates, batch_sizes)


def lstm_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`lstm_forward`. See :func:`rnn_backward`."""
    X, Hs, Cs, TC, gates, batch_sizes = cache
    T, N, F = X.shape
    H = w_hh.shape[1]
    H3 = 3 * H
    order = _lstm_order(H)
    w_hh_p = w_hh[order]
    DA = np.zeros((T, N, 4 * H), dtype=X.dtype)  # internal order (i, f, o, g)
    dh = np.zeros((N, H), dtype=X.dtype)
    dc = np.zeros((N, H), dtype=X.dtype)
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        g = gates[t, :n]
        i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:H3], g[:, H3:]
        tc = TC[t, :n]
        da = DA[t, :n]
        dht = dout[t, :n] + dh[:n]  # total gradient on h_t
        dct = dc[:n]
        dct += dht * o * (1 - tc * tc)  # through h = o * tanh(c)
        np.multiply(dht * tc, o * (1 - o), out=da[:, 2 * H:H3])  # output gate
        np.multiply(dct * gg, i * (1 - i), out=da[:, :H])  # input gate
        np.multiply(dct * Cs[t, :n], f * (1 - f), out=da[:, H:2 * H])  # forget gate
        np.multiply(dct * i, 1 - gg * gg, out=da[:, H3:])  # candidate
        dct *= f  # into c_{t-1}
        if t:
            np.matmul(da, w_hh_p, out=dh[:n])  # into h_{t-1}
    dw_ih_p = _input_weight_grad(DA, X)
    dw_hh_p = _recurrent_weight_grad(DA, Hs)
    D2 = DA.reshape(T * N, 4 * H)
    db_p = D2.sum(axis=0)
    dw_ih = np.empty_like(dw_ih_p)
    dw_hh = np.empty_like(dw_hh_p)
    db = np.empty_like(db_p)
    dw_ih[order] = dw_ih_p
    dw_hh[order] = dw_hh_p
    db[order] = db_p
    dX = (D2 @ w_ih[order]).reshape(T, N, F) if need_dx else None
    return dX, (dw_ih, dw_hh, db, db.copy())


# --------------------------------------------------------------------------------------
# GRU


class GRUCache(NamedTuple):
    X: np.ndarray  # (T, N, F) layer input
    Hs: np.ndarray  # (T+1, N, H) states, Hs[0] = 0
    gates: np.ndarray  # (T, N, 3H) activated gates r, z, n
    HN: np.ndarray  # (T, N, H) W_hn h_{t-1} + b_hn
    batch_sizes: list


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
    T, N, _ = X.shape
    H = w_hh.shape[1]
    H2 = 2 * H
    scale = np.ones(3 * H, dtype=X.dtype)
    scale[:H2] = 0.5  # sigma(a) = 0.5 * tanh(0.5 a) + 0.5
    gates = _project(X, w_ih * scale[:, None], b_ih * scale)
    w_hh_s_t = (w_hh * scale[:, None]).T
    b_hh_s = b_hh * scale
    Hs = np.zeros((T + 1, N, H), dtype=X.dtype)
    HN = np.zeros((T, N, H), dtype=X.dtype)
    for t, n in enumerate(batch_sizes):
        g = gates[t, :n]
        hp = Hs[t, :n] @ w_hh_s_t if t else np.zeros((n, 3 * H), dtype=X.dtype)
        hp += b_hh_s
        rz = g[:, :H2]
        rz += hp[:, :H2]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        r, z, nn = g[:, :H], g[:, H:H2], g[:, H2:]
        hn = hp[:, H2:]
        HN[t, :n] = hn
        nn += r * hn
        np.tanh(nn, out=nn)
        h = Hs[t + 1, :n]
        np.subtract(Hs[t, :n], nn, out=h)  # h = n + z * (h_prev - n)
        h *= z
        h += nn
    return Hs[1:], GRUCache(X, Hs, gates, HN, batch_sizes)


def gru_backward(dout, cache, w_ih, w_hh, need_dx=True):
    """BPTT through :func:`gru_forward`. See :func:`rnn_backward`."""
    X, Hs, gates, HN, batch_sizes = cache
    T, N, F = X.shape
    H = w_hh.shape[1]
    H2 = 2 * H
    DI = np.zeros((T, N, 3 * H), dtype=X.dtype)  # d loss / d input-side pre-activations
    DR = np.zeros((T, N, 3 * H), dtype=X.dtype)  # d loss / d (W_hh h + b_hh)
    dh = np.zeros((N, H), dtype=X.dtype)
    for t in range(T - 1, -1, -1):
        n = batch_sizes[t]
        g = gates[t, :n]
        r, z, nn = g[:, :H], g[:, H:H2], g[:, H2:]
        hprev = Hs[t, :n]
        dht = dout[t, :n] + dh[:n]  # total gradient on h_t
        di = DI[t, :n]
        dr = DR[t, :n]
        dan = di[:, H2:]
        np.multiply(dht, 1 - z, out=dan)  # into n
        dan *= 1 - nn * nn  # through tanh
        np.multiply(dan, r, out=dr[:, H2:])  # into W_hn h + b_hn
        dar = di[:, :H]
        np.multiply(dan, HN[t, :n], out=dar)  # into r
        dar *= r * (1 - r)  # through sigma
        daz = di[:, H:H2]
        np.subtract(hprev, nn, out=daz)  # into z
        daz *= dht
        daz *= z * (1 - z)  # through sigma
        dr[:, :H2] = di[:, :H2]
        if t:
            dhn = dh[:n]
            np.matmul(dr, w_hh, out=dhn)  # into h_{t-1} through the gates
            dhn += dht * z  # and directly
    dw_ih = _input_weight_grad(DI, X)
    dw_hh = _recurrent_weight_grad(DR, Hs)
    db_ih = DI.reshape(T * N, 3 * H).sum(axis=0)
    db_hh = DR.reshape(T * N, 3 * H).sum(axis=0)
    dX = (DI.reshape(T * N, 3 * H) @ w_ih).reshape(T, N, F) if need_dx else None
    return dX, (dw_ih, dw_hh, db_ih, db_hh)


#: Cells keyed by the ``cell`` parameter: (forward, backward, number of gates).
CELLS = {
    "rnn": (rnn_forward, rnn_backward, 1),
    "lstm": (lstm_forward, lstm_backward, 4),
    "gru": (gru_forward, gru_backward, 3),
}
