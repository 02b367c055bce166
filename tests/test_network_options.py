"""Pooling, bidirectional layers and dropout in the network core.

Central finite differences check every option and combination (cells, depth, ragged
lengths, sample weights); invariances pin ragged exactness (padding never reaches a
state, a pool, a loss or a gradient); PyTorch's bidirectional ``nn.RNN/LSTM/GRU`` loaded
by name checks the outputs, packed for ragged batches.
"""

import itertools

import numpy as np
import pytest
from test_gradients import RTOL_FD, _numerical_grad, _rel_error

from skrnn._network import (
    NetworkSpec,
    init_params,
    loss_and_grad,
    n_params,
    param_shapes,
    pooled_features,
    predict_raw,
    unpack,
)

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
POOLINGS = ["last", "mean", "max"]


def _problem(cell, activation, hidden, bidirectional, pooling, lengths, seed=0,
             n_outputs=2, out_activation="identity", F=2, skip_steps=0):
    rng = np.random.RandomState(seed)
    spec = NetworkSpec(cell, activation, F, tuple(hidden), n_outputs, out_activation,
                       bidirectional, pooling, skip_steps)
    T = max(lengths)
    N = len(lengths)
    X = rng.standard_normal((T, N, F))
    lengths = np.asarray(lengths, dtype=np.intp)
    for i, L in enumerate(lengths):
        X[L:, i] = 0.0
    Y = rng.standard_normal((N, n_outputs))
    theta = init_params(spec, rng) + 0.1 * rng.standard_normal(n_params(spec))
    return spec, X, lengths, Y, theta


@pytest.mark.parametrize("cell, activation", CELLS)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden", [(3,), (3, 2), (2, 3, 2)])
@pytest.mark.parametrize("lengths", [[3, 3, 3], [2, 4, 1]], ids=["equal", "ragged"])
def test_gradient_matches_finite_differences(cell, activation, pooling, bidirectional,
                                             hidden, lengths):
    spec, X, L, Y, theta = _problem(cell, activation, hidden, bidirectional, pooling,
                                    lengths)
    sw = np.array([0.5, 2.0, 1.0])

    def f(th):
        return loss_and_grad(th, X, L, Y, spec, sample_weight=sw, alpha=1e-3)[0]

    _, grad = loss_and_grad(theta, X, L, Y, spec, sample_weight=sw, alpha=1e-3)
    num = _numerical_grad(f, theta)
    assert _rel_error(num, grad) < (1e-4 if activation == "relu" else RTOL_FD)


@pytest.mark.parametrize("cell, activation", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_dropout_gradient_matches_finite_differences(cell, activation, bidirectional,
                                                     pooling):
    """With the masks fixed (the same seed at every evaluation), the objective is a
    smooth function of the parameters, and its gradient is exact."""
    spec, X, L, Y, theta = _problem(cell, activation, (3, 3), bidirectional, pooling,
                                    [3, 4, 2])

    def lg(th):
        return loss_and_grad(th, X, L, Y, spec, dropout=0.4,
                             rng=np.random.RandomState(7))

    num = _numerical_grad(lambda th: lg(th)[0], theta)
    assert _rel_error(num, lg(theta)[1]) < (1e-4 if activation == "relu" else RTOL_FD)


def test_dropout_changes_the_objective_and_is_reproducible():
    spec, X, L, Y, theta = _problem("gru", "tanh", (4, 3), True, "mean", [5, 3, 4])
    plain = loss_and_grad(theta, X, L, Y, spec)
    a = loss_and_grad(theta, X, L, Y, spec, dropout=0.5, rng=np.random.RandomState(1))
    b = loss_and_grad(theta, X, L, Y, spec, dropout=0.5, rng=np.random.RandomState(1))
    c = loss_and_grad(theta, X, L, Y, spec, dropout=0.5, rng=np.random.RandomState(2))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    assert a[0] != plain[0] and a[0] != c[0]


def test_dropout_does_not_depend_on_the_chunking():
    spec, X, L, Y, theta = _problem("lstm", "tanh", (4, 3), True, "max", [5, 3, 4, 5, 2])
    Y = np.random.RandomState(0).standard_normal((5, 2))
    whole = loss_and_grad(theta, X, L, Y, spec, dropout=0.3, rng=np.random.RandomState(3))
    for chunk in (1, 2, 3):
        part = loss_and_grad(theta, X, L, Y, spec, dropout=0.3, chunk=chunk,
                             rng=np.random.RandomState(3))
        np.testing.assert_allclose(part[0], whole[0], rtol=1e-13)
        np.testing.assert_allclose(part[1], whole[1], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("cell, activation", CELLS)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_enters(cell, activation, pooling, bidirectional):
    """A sequence's output, pooled features and gradient do not depend on what fills
    the padding, nor on the other sequences of its batch."""
    spec, X, L, Y, theta = _problem(cell, activation, (3, 2), bidirectional, pooling,
                                    [5, 2, 3])
    W = unpack(theta, spec)
    z = predict_raw(W, X, L, spec)
    feats = pooled_features(W, X, L, spec)
    for i in range(3):
        alone = X[:L[i], i:i + 1]
        np.testing.assert_allclose(predict_raw(W, alone, L[i:i + 1], spec), z[i:i + 1],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(pooled_features(W, alone, L[i:i + 1], spec),
                                   feats[i:i + 1], rtol=1e-12, atol=1e-14)
    # the gradient of a padded batch equals that of the same batch padded further
    Xlong = np.concatenate([X, np.zeros((3,) + X.shape[1:])])
    g = loss_and_grad(theta, X, L, Y, spec)[1]
    g_long = loss_and_grad(theta, Xlong, L, Y, spec)[1]
    np.testing.assert_allclose(g_long, g, rtol=1e-12, atol=1e-15)


def test_pooling_definitions():
    """Mean and max pool the last layer's states over each sequence's real steps;
    'last' takes the final state (the reverse direction's at step 0)."""
    import skrnn._network as net

    spec, X, L, _, theta = _problem("gru", "tanh", (3,), True, "last", [4, 2])
    W = unpack(theta, spec)
    Xf = X.transpose(0, 2, 1)
    out, _ = net._layer_forward(W, 0, Xf, net._batch_sizes(L, 4), net._reversal(L, 4),
                                spec, True)
    states = [out[:L[i], :, i] for i in range(2)]  # (T_i, 2H)
    for pooling, expected in [
        ("mean", [s.mean(axis=0) for s in states]),
        ("max", [s.max(axis=0) for s in states]),
        ("last", [np.r_[s[-1, :3], s[0, 3:]] for s in states]),
    ]:
        got = pooled_features(W, X, L, spec._replace(pooling=pooling))
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-13)


def test_bidirectional_layout_is_pytorchs():
    spec = NetworkSpec("lstm", "tanh", 3, (4, 5), 2, "identity", True, "last")
    names = [name for name, _ in param_shapes(spec)]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                         "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    shapes = dict(param_shapes(spec))
    assert shapes["weight_ih_l1"] == (20, 8)
    assert shapes["weight_ih_l1_reverse"] == (20, 8)
    assert shapes["out_weight"] == (2, 10)


# --------------------------------------------------------------------------------------
# PyTorch parity


def _torch_bidirectional(torch, spec, W, dtype):
    """One torch module a layer (torch stacks equal widths only), loaded by name."""
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[spec.cell]
    layers = []
    fan_in = spec.n_features
    for k, H in enumerate(spec.hidden_sizes):
        kwargs = {"nonlinearity": spec.activation} if spec.cell == "rnn" else {}
        m = cls(fan_in, H, bidirectional=spec.bidirectional, dtype=dtype, **kwargs)
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(torch.from_numpy(W[name.replace("_l0", f"_l{k}")]))
        layers.append(m)
        fan_in = spec.n_directions * H
    return layers


def _torch_outputs(torch, layers, X, lengths):
    inp = torch.from_numpy(X)
    for m in layers:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            inp, torch.as_tensor(lengths), enforce_sorted=False)
        out, _ = m(packed)
        inp, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=X.shape[0])
    return inp.detach().numpy()  # (T, N, 2H), zero past each end


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("hidden", [(4,), (4, 3), (3, 5, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layers_equal_pytorch(cell, hidden, dtype, pooling, bidirectional):
    """Depth 1 to 3, unequal widths, float32 and float64, ragged batches packed with
    ``pack_padded_sequence``, one or two directions, every pooling."""
    torch = pytest.importorskip("torch")
    lengths = [6, 3, 1, 5]
    spec, X, L, _, theta = _problem(cell, "tanh", hidden, bidirectional, pooling,
                                    lengths, F=3)
    X = X.astype(dtype)
    W = {k: v.astype(dtype) for k, v in unpack(theta, spec).items()}
    layers = _torch_bidirectional(torch, spec, W, getattr(torch, np.dtype(dtype).name))
    out = _torch_outputs(torch, layers, X, L)
    H = hidden[-1]
    if pooling == "last":  # the reverse direction's last state is at step 0
        pooled = np.stack([np.r_[out[L[i] - 1, i, :H], out[0, i, H:]]
                           for i in range(len(L))])
    elif pooling == "mean":
        pooled = np.stack([out[:L[i], i].mean(axis=0) for i in range(len(L))])
    else:
        pooled = np.stack([out[:L[i], i].max(axis=0) for i in range(len(L))])
    z_torch = pooled @ W["out_weight"].T + W["out_bias"]
    rtol, atol = (1e-11, 1e-13) if dtype == np.float64 else (2e-5, 2e-6)
    np.testing.assert_allclose(pooled_features(W, X, L, spec), pooled, rtol=rtol,
                               atol=atol)
    np.testing.assert_allclose(predict_raw(W, X, L, spec), z_torch, rtol=rtol, atol=atol)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradient_equals_pytorch(cell, pooling, bidirectional):
    """The parameter gradients of the squared error equal PyTorch's autograd (ragged,
    packed batches; unequal widths)."""
    torch = pytest.importorskip("torch")
    lengths = [5, 2, 4]
    spec, X, L, Y, theta = _problem(cell, "tanh", (3, 4), bidirectional, pooling,
                                    lengths, F=2)
    W = unpack(theta, spec)
    layers = _torch_bidirectional(torch, spec, W, torch.float64)
    out = torch.from_numpy(X)
    for m in layers:
        packed = torch.nn.utils.rnn.pack_padded_sequence(out, torch.as_tensor(L),
                                                         enforce_sorted=False)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(m(packed)[0],
                                                        total_length=X.shape[0])
    H = 4
    rows = []
    for i, Li in enumerate(L):
        s = out[:Li, i]
        if pooling == "last":
            rows.append(torch.cat([s[-1, :H], s[0, H:]]))
        elif pooling == "mean":
            rows.append(s.mean(dim=0))
        else:
            rows.append(s.max(dim=0).values)
    w_out = torch.from_numpy(W["out_weight"].copy()).requires_grad_()
    b_out = torch.from_numpy(W["out_bias"].copy()).requires_grad_()
    z = torch.stack(rows) @ w_out.T + b_out
    # skrnn's squared error: the mean over the outputs, the mean over the samples
    loss = 0.5 * ((z - torch.from_numpy(Y)) ** 2).mean(dim=1).sum() / len(L)
    loss.backward()
    _, grad = loss_and_grad(theta, X, L, Y, spec)
    dW = unpack(grad, spec)
    np.testing.assert_allclose(dW["out_weight"], w_out.grad.numpy(), rtol=1e-10)
    for k, m in enumerate(layers):
        for name, p in m.named_parameters():
            np.testing.assert_allclose(dW[name.replace("_l0", f"_l{k}")], p.grad.numpy(),
                                       rtol=1e-9, atol=1e-13)


def test_every_combination_builds_and_predicts():
    for cell, bidirectional, pooling in itertools.product(["rnn", "lstm", "gru"],
                                                          [False, True], POOLINGS):
        spec, X, L, _, theta = _problem(cell, "tanh", (2, 3), bidirectional, pooling,
                                        [3, 1, 2])
        z = predict_raw(unpack(theta, spec), X, L, spec)
        assert z.shape == (3, 2) and np.isfinite(z).all()


# --------------------------------------------------------------------------------------
# One prediction a timestep (pooling='steps', the sequence estimators' network)


def _steps_targets(spec, lengths, T, rng, out_activation):
    """``(N, T * K)`` targets of every step, padding filled with garbage (never read)."""
    N, K = len(lengths), spec.n_outputs
    if out_activation == "softmax":
        Y = np.eye(K)[rng.randint(K, size=(N, T))]
    elif out_activation == "logistic":
        Y = (rng.uniform(size=(N, T, K)) < 0.5).astype(float)
    else:
        Y = rng.standard_normal((N, T, K))
    for i, L in enumerate(lengths):
        Y[i, L:] = 1e3
    return Y.reshape(N, T * K)


@pytest.mark.parametrize("cell, activation", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden", [(3,), (3, 2)])
@pytest.mark.parametrize("out_activation", ["identity", "softmax", "logistic"])
@pytest.mark.parametrize("lengths", [[3, 3, 3], [2, 4, 1]], ids=["equal", "ragged"])
def test_steps_gradient_matches_finite_differences(cell, activation, bidirectional,
                                                   hidden, out_activation, lengths):
    spec, X, L, _, theta = _problem(cell, activation, hidden, bidirectional, "steps",
                                    lengths, n_outputs=3, out_activation=out_activation)
    Y = _steps_targets(spec, L, X.shape[0], np.random.RandomState(1), out_activation)
    sw = np.array([0.5, 2.0, 1.0])

    def lg(th, dropout=0.0):
        return loss_and_grad(th, X, L, Y, spec, sample_weight=sw, alpha=1e-3,
                             dropout=dropout, rng=np.random.RandomState(3))

    num = _numerical_grad(lambda th: lg(th)[0], theta)
    assert _rel_error(num, lg(theta)[1]) < (1e-4 if activation == "relu" else RTOL_FD)
    if len(hidden) > 1:  # dropout between the layers and on every step's features
        num = _numerical_grad(lambda th: lg(th, 0.3)[0], theta)
        assert _rel_error(num, lg(theta, 0.3)[1]) < (1e-4 if activation == "relu"
                                                     else RTOL_FD)


def test_steps_loss_is_the_weighted_mean_over_real_steps():
    spec, X, L, _, theta = _problem("gru", "tanh", (3,), False, "steps", [2, 4, 1],
                                    n_outputs=1)
    T = X.shape[0]
    Y = _steps_targets(spec, L, T, np.random.RandomState(0), "identity")
    sw = np.array([0.5, 2.0, 1.0])
    z = predict_raw(unpack(theta, spec), X, L, spec)  # (N, T, 1)
    assert z.shape == (3, T, 1)
    Y3 = Y.reshape(3, T, 1)
    num = sum(sw[i] * 0.5 * np.sum((z[i, :L[i]] - Y3[i, :L[i]]) ** 2) for i in range(3))
    loss = loss_and_grad(theta, X, L, Y, spec, sample_weight=sw)[0]
    assert loss == pytest.approx(num / (sw @ L), rel=1e-12)
    for i in range(3):  # zero past each end, and each sequence's own
        assert np.all(z[i, L[i]:] == 0)
        alone = predict_raw(unpack(theta, spec), X[:L[i], i:i + 1], L[i:i + 1], spec)
        np.testing.assert_allclose(alone[0], z[i, :L[i]], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_steps_equal_pytorch(cell, bidirectional, dtype):
    """A per-step ``Linear`` on the outputs of packed ``nn.RNN/LSTM/GRU`` modules."""
    torch = pytest.importorskip("torch")
    lengths = [6, 3, 1, 5]
    spec, X, L, _, theta = _problem(cell, "tanh", (4, 3), bidirectional, "steps",
                                    lengths, F=3)
    X = X.astype(dtype)
    W = {k: v.astype(dtype) for k, v in unpack(theta, spec).items()}
    layers = _torch_bidirectional(torch, spec, W, getattr(torch, np.dtype(dtype).name))
    out = _torch_outputs(torch, layers, X, L)  # (T, N, D*H)
    expected = out @ W["out_weight"].T + W["out_bias"]
    z = predict_raw(W, X, L, spec)
    rtol, atol = (1e-11, 1e-13) if dtype == np.float64 else (2e-5, 2e-6)
    for i, Li in enumerate(L):
        np.testing.assert_allclose(z[i, :Li], expected[:Li, i], rtol=rtol, atol=atol)
