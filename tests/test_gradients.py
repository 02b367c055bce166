"""Central finite-difference checks of the BPTT gradients, in float64 on tiny problems.

``loss_and_grad`` is checked over every cell, Elman activation, depth, length pattern,
output activation and weighting; the cells' own ``backward`` (including ``dX``) is
checked separately. Invariances that must hold exactly (chunking, padding) close the
module.
"""

import numpy as np
import pytest
from scipy.special import expit, xlogy

from skrnn import _parallel
from skrnn._cells import CELLS
from skrnn._network import (
    NetworkSpec,
    init_params,
    loss_and_grad,
    predict_raw,
    unpack,
)

RTOL_FD = 1e-6  # ||num - ana|| / ||num + ana||
EPS = 1e-6  # central-difference step

CELL_CONFIGS = [
    ("rnn", "tanh"),
    ("rnn", "relu"),
    ("rnn", "logistic"),
    ("rnn", "identity"),
    ("lstm", "tanh"),
    ("gru", "tanh"),
]
OUT_ACTIVATIONS = ["identity", "exp", "logistic", "softmax"]
LENGTHS = {
    "equal": [3, 3, 3],
    "unequal": [2, 3, 1],  # unsorted on purpose, and one sequence of length 1
}


def _numerical_grad(f, theta, eps=EPS):
    grad = np.empty_like(theta)
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = eps
        grad[j] = (f(theta + step) - f(theta - step)) / (2 * eps)
    return grad


def _rel_error(num, ana):
    return np.linalg.norm(num - ana) / np.linalg.norm(num + ana)


def _make_targets(out_activation, N, K, rng):
    if out_activation == "identity":
        return rng.standard_normal((N, K))
    if out_activation == "exp":
        return rng.poisson(1.5, size=(N, K)).astype(np.float64)
    if out_activation == "logistic":
        return (rng.uniform(size=(N, K)) < 0.5).astype(np.float64)
    return np.eye(K)[rng.randint(K, size=N)]  # softmax: one-hot


def _pad(X, lengths, fill=0.0):
    X = X.copy()
    for i, L in enumerate(lengths):
        X[L:, i] = fill
    return X


def _elman_preactivations(inp, out, batch_sizes, w_ih, w_hh, b_ih, b_hh):
    """Pre-activations of every real step of one Elman layer, rebuilt from its input
    and outputs: ``a_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T``."""
    pre = []
    for t, n in enumerate(batch_sizes):
        a = inp[t, :n] @ w_ih.T + b_ih + b_hh
        if t:
            a += out[t - 1, :n] @ w_hh.T
        pre.append(a.ravel())
    return np.concatenate(pre)


def _relu_preactivations(theta, X, lengths, spec):
    """Pre-activations of every real step of every layer of an Elman net."""
    order = np.argsort(-lengths, kind="stable")
    Ls = lengths[order]
    T = int(Ls[0])
    batch_sizes = [int(np.sum(Ls > t)) for t in range(T)]
    W = unpack(theta, spec)
    inp = X[:T, order]
    pre = []
    for k in range(len(spec.hidden_sizes)):
        p = [W[f"{kind}_l{k}"] for kind in
             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        out, _ = CELLS["rnn"][0](inp, batch_sizes, *p, "relu")
        pre.append(_elman_preactivations(inp, out, batch_sizes, *p))
        inp = out
    return np.concatenate(pre)


def _make_problem(cell, activation, n_layers, lengths_kind, out_activation, seed):
    """A tiny problem with a randomly perturbed initialisation (non-zero biases)."""
    F = 2
    K = 3 if out_activation == "softmax" else 2
    hidden = (2,) if n_layers == 1 else (3, 2)
    lengths = np.array(LENGTHS[lengths_kind])
    T, N = 3, len(lengths)
    spec = NetworkSpec(cell, activation, F, hidden, K, out_activation)
    rng = np.random.RandomState(seed)
    theta = init_params(spec, rng)
    theta += 0.5 * rng.standard_normal(theta.shape)
    X = _pad(rng.standard_normal((T, N, F)), lengths)
    Y = _make_targets(out_activation, N, K, rng)
    return spec, theta, X, lengths, Y


def _robust_problem(cell, activation, n_layers, lengths_kind, out_activation):
    """For ReLU, the first seed whose pre-activations all stay clear of the kink, so
    that the central differences never straddle it."""
    for seed in range(50):
        problem = _make_problem(cell, activation, n_layers, lengths_kind,
                                out_activation, seed)
        if activation != "relu":
            return problem
        spec, theta, X, lengths, _ = problem
        pre = _relu_preactivations(theta, X, lengths, spec)
        # at least some units active and none near 0
        if np.min(np.abs(pre)) > 1e-3 and np.mean(pre > 0) > 0.3:
            return problem
    raise AssertionError("no seed gives ReLU pre-activations away from 0")


def _naive_per_sample_loss(z, y, out_activation):
    """The documented per-sample losses, written plainly (moderate ``z`` only)."""
    if out_activation == "identity":
        return 0.5 * np.mean((z - y) ** 2, axis=1)
    if out_activation == "exp":
        mu = np.exp(z)
        return np.sum(xlogy(y, y / mu) - y + mu, axis=1)
    if out_activation == "logistic":
        p = expit(z)
        return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.sum(y * np.log(p), axis=1)


def _objective(theta, X, lengths, Y, spec, sw, alpha):
    """``(sum_i w_i l_i + alpha/2 sum_W ||W||^2) / sum_i w_i`` from ``predict_raw``:
    forward only, several times cheaper than ``loss_and_grad`` on tiny problems."""
    W = unpack(theta, spec)
    z = predict_raw(W, X, lengths, spec)
    per = _naive_per_sample_loss(z, Y, spec.out_activation)
    w = np.ones(len(lengths)) if sw is None else sw
    penalty = sum(np.sum(v**2) for name, v in W.items() if "weight" in name)
    return (per @ w + 0.5 * alpha * penalty) / w.sum()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sw+alpha"])
@pytest.mark.parametrize("out_activation", OUT_ACTIVATIONS)
@pytest.mark.parametrize("lengths_kind", ["equal", "unequal"])
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("cell, activation", CELL_CONFIGS)
def test_loss_and_grad_matches_finite_differences(
    cell, activation, n_layers, lengths_kind, out_activation, weighted
):
    """The gradient of ``loss_and_grad`` against central differences of the documented
    objective, whose value at ``theta`` must equal ``loss_and_grad``'s loss."""
    spec, theta, X, lengths, Y = _robust_problem(cell, activation, n_layers,
                                                 lengths_kind, out_activation)
    if weighted:
        sw = np.random.RandomState(1).uniform(0.2, 2.0, size=len(lengths))
        alpha = 0.3
    else:
        sw, alpha = None, 0.0

    loss, grad = loss_and_grad(theta, X, lengths, Y, spec, sw, alpha)
    assert isinstance(loss, float)
    assert grad.shape == theta.shape and grad.dtype == np.float64
    objective = _objective(theta, X, lengths, Y, spec, sw, alpha)
    np.testing.assert_allclose(loss, objective, rtol=1e-12)

    num = _numerical_grad(
        lambda th: _objective(th, X, lengths, Y, spec, sw, alpha), theta
    )
    assert np.linalg.norm(num) > 1e-3  # the check is not vacuous
    assert _rel_error(num, grad) < RTOL_FD


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_finite_differences_of_own_loss(cell):
    """The same check through ``loss_and_grad``'s own loss value, with everything
    switched on (the parametrized test above uses the cheaper forward-only
    objective)."""
    spec, theta, X, lengths, Y = _make_problem(cell, "tanh", 2, "unequal", "softmax",
                                               seed=0)
    sw = np.random.RandomState(1).uniform(0.2, 2.0, size=len(lengths))
    _, grad = loss_and_grad(theta, X, lengths, Y, spec, sw, 0.3)
    num = _numerical_grad(
        lambda th: loss_and_grad(th, X, lengths, Y, spec, sw, 0.3)[0], theta
    )
    assert _rel_error(num, grad) < RTOL_FD


@pytest.mark.parametrize("cell, activation", CELL_CONFIGS)
def test_cell_backward_matches_finite_differences(cell, activation):
    """``backward`` of one cell, including ``dX``, for ``sum(R * forward(X))`` with
    sequences of unequal lengths (sorted, as the cells require)."""
    forward, backward, G = CELLS[cell]
    rng = np.random.RandomState(3)
    T, N, F, H = 4, 3, 2, 3
    lengths = np.array([4, 3, 1])
    batch_sizes = [int(np.sum(lengths > t)) for t in range(T)]
    X = _pad(rng.standard_normal((T, N, F)), lengths)
    params = [0.6 * rng.standard_normal(shape)
              for shape in [(G * H, F), (G * H, H), (G * H,), (G * H,)]]
    R = rng.standard_normal((T, N, H))

    def f(X_, w_ih, w_hh, b_ih, b_hh):
        out, _ = forward(X_, batch_sizes, w_ih, w_hh, b_ih, b_hh, activation)
        return float(np.sum(R * out))

    out, cache = forward(X, batch_sizes, *params, activation)
    if activation == "relu":  # the differences must not straddle the kink
        pre = _elman_preactivations(X, out, batch_sizes, *params)
        assert np.min(np.abs(pre)) > 1e-3 and np.mean(pre > 0) > 0.3
    dX, grads = backward(R, cache, params[0], params[1], need_dx=True)
    dX_none, grads2 = backward(R, cache, params[0], params[1], need_dx=False)
    assert dX_none is None
    for g, g2 in zip(grads, grads2, strict=True):
        np.testing.assert_array_equal(g, g2)

    args = [X] + params
    for j, ana in enumerate([dX] + list(grads)):
        def fj(flat, j=j):
            a = list(args)
            a[j] = flat.reshape(args[j].shape)
            return f(*a)

        num = _numerical_grad(fj, args[j].ravel().copy()).reshape(args[j].shape)
        assert ana.shape == args[j].shape
        assert _rel_error(num, ana) < RTOL_FD, j
    # padding never receives a gradient
    for i, L in enumerate(lengths):
        assert np.all(dX[L:, i] == 0)


@pytest.fixture
def make_unequal_problem():
    """Builder of a small problem with unsorted unequal lengths and sample weights."""

    def build(cell, out_activation="softmax", seed=7):
        rng = np.random.RandomState(seed)
        T, N, F, K = 6, 7, 3, 3
        lengths = np.array([3, 6, 1, 5, 5, 2, 4])
        spec = NetworkSpec(cell, "tanh", F, (4, 3), K, out_activation)
        theta = init_params(spec, rng)
        theta += 0.3 * rng.standard_normal(theta.shape)
        X = _pad(rng.standard_normal((T, N, F)), lengths)
        Y = _make_targets(out_activation, N, K, rng)
        sw = rng.uniform(0.5, 2.0, size=N)
        return spec, theta, X, lengths, Y, sw

    return build


@pytest.mark.parametrize("chunk", [1, 2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chunking_does_not_change_loss_or_grad(make_unequal_problem, cell, chunk):
    spec, theta, X, lengths, Y, sw = make_unequal_problem(cell)
    loss, grad = loss_and_grad(theta, X, lengths, Y, spec, sw, alpha=0.1)
    loss_c, grad_c = loss_and_grad(theta, X, lengths, Y, spec, sw, alpha=0.1,
                                   chunk=chunk)
    np.testing.assert_allclose(loss_c, loss, rtol=1e-12, atol=0)
    assert np.linalg.norm(grad_c - grad) <= 1e-12 * np.linalg.norm(grad)


@pytest.mark.parametrize("chunk", [None, 1, 3])
@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_threads_do_not_change_loss_grad_or_predictions(make_unequal_problem, cell,
                                                         n_threads, chunk, monkeypatch):
    """Chunks of samples computed in a thread pool give what one thread gives, and the
    same thing on every call (the chunks are summed in order, not as they finish)."""
    spec, theta, X, lengths, Y, sw = make_unequal_problem(cell)
    # a problem this small stays on one thread unless the threshold is lowered
    monkeypatch.setattr(_parallel, "PARALLEL_MIN_FLOPS", 1e-9)
    pooled = []
    map_chunks = _parallel.map_chunks

    def spy(work, chunks, threads):
        chunks = list(chunks)
        pooled.append(threads > 1 and len(chunks) > 1)
        return map_chunks(work, chunks, threads)

    monkeypatch.setattr(_parallel, "map_chunks", spy)
    loss, grad = loss_and_grad(theta, X, lengths, Y, spec, sw, 0.1, chunk)
    runs = [loss_and_grad(theta, X, lengths, Y, spec, sw, 0.1, chunk, n_threads)
            for _ in range(5)]
    for loss_t, grad_t in runs:
        np.testing.assert_allclose(loss_t, loss, rtol=1e-12, atol=0)
        assert np.linalg.norm(grad_t - grad) <= 1e-12 * np.linalg.norm(grad)
        assert loss_t == runs[0][0]
        np.testing.assert_array_equal(grad_t, runs[0][1])
    W = unpack(theta, spec)
    z = predict_raw(W, X, lengths, spec, chunk)
    z_t = predict_raw(W, X, lengths, spec, chunk, n_threads)
    np.testing.assert_allclose(z_t, z, rtol=1e-12, atol=1e-15)
    assert sum(pooled) == 6  # the 5 threaded gradients and the threaded predict


@pytest.mark.parametrize("chunk", [None, 2])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_values_are_ignored(make_unequal_problem, cell, chunk):
    """Garbage past each sequence's end (and in extra trailing steps) is ignored."""
    spec, theta, X, lengths, Y, sw = make_unequal_problem(cell)
    rng = np.random.RandomState(0)
    T, N, F = X.shape
    X_zero = np.concatenate([X, np.zeros((2, N, F))])  # two extra all-padding steps
    X_junk = X_zero.copy()
    for i, L in enumerate(lengths):
        X_junk[L:, i] = rng.uniform(-1e3, 1e3, size=(T + 2 - L, F))
    loss0, grad0 = loss_and_grad(theta, X_zero, lengths, Y, spec, sw, 0.1, chunk)
    loss1, grad1 = loss_and_grad(theta, X_junk, lengths, Y, spec, sw, 0.1, chunk)
    np.testing.assert_allclose(loss1, loss0, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad1, grad0, rtol=1e-13, atol=1e-15)
    # and the trailing all-padding steps change nothing either
    loss2, grad2 = loss_and_grad(theta, X, lengths, Y, spec, sw, 0.1, chunk)
    np.testing.assert_allclose(loss2, loss0, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad2, grad0, rtol=1e-13, atol=1e-15)
