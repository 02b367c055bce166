"""The flat parameter vector, its PyTorch-named views, initialisation, and the
objective's sample-weight semantics."""

import numpy as np
import pytest

from skrnn._network import (
    NetworkSpec,
    _batch_sizes,
    init_params,
    is_penalized,
    loss_and_grad,
    n_params,
    pack,
    param_shapes,
    unpack,
)

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@pytest.fixture(params=["rnn", "lstm", "gru"])
def spec(request):
    """Two stacked layers of different widths: F=3, H=(5, 4), 2 outputs."""
    return NetworkSpec(request.param, "tanh", 3, (5, 4), 2, "identity")


def test_param_shapes_follow_pytorch(spec):
    G = GATES[spec.cell]
    expected = [
        ("weight_ih_l0", (G * 5, 3)),
        ("weight_hh_l0", (G * 5, 5)),
        ("bias_ih_l0", (G * 5,)),
        ("bias_hh_l0", (G * 5,)),
        ("weight_ih_l1", (G * 4, 5)),
        ("weight_hh_l1", (G * 4, 4)),
        ("bias_ih_l1", (G * 4,)),
        ("bias_hh_l1", (G * 4,)),
        ("out_weight", (2, 4)),
        ("out_bias", (2,)),
    ]
    assert param_shapes(spec) == expected
    assert n_params(spec) == sum(int(np.prod(s)) for _, s in expected)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_param_shapes_match_torch_modules(cell):
    torch = pytest.importorskip("torch")
    spec = NetworkSpec(cell, "tanh", 3, (5, 5), 2, "identity")
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        3, 5, num_layers=2
    )
    torch_shapes = [(n, tuple(p.shape)) for n, p in module.named_parameters()]
    assert param_shapes(spec)[:-2] == torch_shapes


def test_unpack_gives_writable_views(spec):
    theta = np.arange(n_params(spec), dtype=np.float64)
    views = unpack(theta, spec)
    assert list(views) == [name for name, _ in param_shapes(spec)]
    # the views tile theta in order, without gaps or overlap
    np.testing.assert_array_equal(np.concatenate([v.ravel() for v in views.values()]),
                                  theta)
    views["bias_hh_l1"][...] = -1.0
    start = sum(int(np.prod(s)) for n, s in param_shapes(spec)[:7])
    size = GATES[spec.cell] * 4
    assert np.all(theta[start:start + size] == -1.0)
    assert np.sum(theta == -1.0) == size


def test_layout_is_cached_per_spec_and_safe_to_mutate(spec):
    shapes = param_shapes(spec)
    shapes.append(("extra", (1,)))  # a caller's list: the cached layout is unaffected
    assert param_shapes(spec) == shapes[:-1]
    assert n_params(spec) == sum(int(np.prod(s)) for _, s in shapes[:-1])
    # a spec with a list of hidden sizes is unhashable: same layout, uncached
    listed = spec._replace(hidden_sizes=list(spec.hidden_sizes))
    assert param_shapes(listed) == param_shapes(spec)
    theta = np.arange(n_params(spec), dtype=np.float64)
    for (n1, v1), (n2, v2) in zip(unpack(theta, listed).items(), unpack(theta, spec).items(),
                                  strict=True):
        assert n1 == n2 and v1.shape == v2.shape and np.shares_memory(v1, v2)


@pytest.mark.parametrize("lengths, T", [([3, 3, 3], 3), ([5, 3, 3, 1], 5), ([4, 4, 2], 4),
                                        ([], 2), ([2, 2], 2)])
def test_batch_sizes_count_running_sequences(lengths, T):
    lengths = np.array(lengths, dtype=np.intp)
    expected = [int(np.sum(lengths > t)) for t in range(T)]
    got = _batch_sizes(lengths, T)
    assert got == expected
    assert all(type(n) is int for n in got)


def test_pack_unpack_round_trip(spec):
    theta = np.random.RandomState(0).standard_normal(n_params(spec))
    views = unpack(theta, spec)
    packed = pack(views, spec)
    np.testing.assert_array_equal(packed, theta)
    assert not np.shares_memory(packed, theta)
    # plain dicts of copies (e.g. from torch's state_dict) work too
    packed2 = pack({k: np.array(v) for k, v in views.items()}, spec)
    np.testing.assert_array_equal(packed2, theta)
    assert pack(views, spec, dtype=np.float32).dtype == np.float32


def test_pack_rejects_wrong_shape(spec):
    views = unpack(np.zeros(n_params(spec)), spec)
    bad = dict(views)
    bad["weight_hh_l1"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match="weight_hh_l1"):
        pack(bad, spec)
    bad = dict(views)
    bad["out_weight"] = views["out_weight"].T  # transposed is wrong too
    with pytest.raises(ValueError, match="out_weight"):
        pack(bad, spec)


def test_penalty_applies_to_weights_only(spec):
    penalized = [name for name, _ in param_shapes(spec) if is_penalized(name)]
    assert penalized == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1",
                         "weight_hh_l1", "out_weight"]


def test_init_params_reproducible_and_seed_dependent(spec):
    a = init_params(spec, np.random.RandomState(42))
    b = init_params(spec, np.random.RandomState(42))
    c = init_params(spec, np.random.RandomState(43))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (n_params(spec),) and a.dtype == np.float64
    Wa, Wc = unpack(a, spec), unpack(c, spec)
    for name in Wa:
        if is_penalized(name):  # every weight matrix differs between seeds
            assert not np.allclose(Wa[name], Wc[name]), name
    assert init_params(spec, np.random.RandomState(0), np.float32).dtype == np.float32


def test_init_params_structure(spec):
    W = unpack(init_params(spec, np.random.RandomState(0)), spec)
    G = GATES[spec.cell]
    fan_in = spec.n_features
    for k, H in enumerate(spec.hidden_sizes):
        w_ih, w_hh = W[f"weight_ih_l{k}"], W[f"weight_hh_l{k}"]
        # Glorot-uniform input weights, orthogonal recurrent blocks (one per gate)
        limit = np.sqrt(6.0 / (fan_in + H))
        assert np.all(np.abs(w_ih) <= limit)
        for g in range(G):
            block = w_hh[g * H:(g + 1) * H]
            np.testing.assert_allclose(block @ block.T, np.eye(H), atol=1e-12)
        if G > 1:  # the gate blocks are independent draws
            assert not np.allclose(w_hh[:H], w_hh[H:2 * H])
        # biases: zero, except the LSTM's effective forget-gate bias of 1
        bias = W[f"bias_ih_l{k}"] + W[f"bias_hh_l{k}"]
        expected = np.zeros(G * H)
        if spec.cell == "lstm":
            expected[H:2 * H] = 1.0  # gate order i, f, g, o
        np.testing.assert_array_equal(bias, expected)
        assert np.all(W[f"bias_hh_l{k}"] == 0)  # documented: the 1 sits in bias_ih
        fan_in = H
    limit = np.sqrt(6.0 / (fan_in + spec.n_outputs))
    assert np.all(np.abs(W["out_weight"]) <= limit)
    assert np.all(W["out_bias"] == 0)


def test_init_params_accepts_generator(spec):
    a = init_params(spec, np.random.default_rng(0))
    b = init_params(spec, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)


@pytest.fixture
def weighted_problem():
    """Builder of a small problem with unsorted unequal lengths."""

    def build(cell, out_activation):
        rng = np.random.RandomState(11)
        T, N, F, K = 5, 6, 2, 3
        lengths = np.array([3, 5, 1, 4, 2, 5])
        spec = NetworkSpec(cell, "tanh", F, (4, 3), K, out_activation)
        theta = init_params(spec, rng)
        theta += 0.3 * rng.standard_normal(theta.shape)
        X = rng.standard_normal((T, N, F))
        for i, L in enumerate(lengths):
            X[L:, i] = 0.0
        if out_activation == "softmax":
            Y = np.eye(K)[rng.randint(K, size=N)]
        else:
            Y = rng.standard_normal((N, K))
        return spec, theta, X, lengths, Y

    return build


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    assert np.linalg.norm(a - b) <= rtol * np.linalg.norm(b)


@pytest.mark.parametrize("out_activation", ["identity", "softmax"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_zero_sample_weight_equals_removing(weighted_problem, cell, out_activation):
    spec, theta, X, lengths, Y = weighted_problem(cell, out_activation)
    sw = np.array([1.0, 0.0, 2.0, 0.0, 0.5, 1.5])
    keep = sw > 0
    loss_w, grad_w = loss_and_grad(theta, X, lengths, Y, spec, sw, alpha=0.2)
    loss_k, grad_k = loss_and_grad(theta, np.ascontiguousarray(X[:, keep]),
                                   lengths[keep], Y[keep], spec, sw[keep], alpha=0.2)
    _close(loss_w, loss_k)
    _close(grad_w, grad_k)


@pytest.mark.parametrize("out_activation", ["identity", "softmax"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_integer_sample_weight_equals_repeating(weighted_problem, cell, out_activation):
    spec, theta, X, lengths, Y = weighted_problem(cell, out_activation)
    sw = np.array([1, 3, 2, 1, 0, 2])
    loss_w, grad_w = loss_and_grad(theta, X, lengths, Y, spec, sw.astype(float),
                                   alpha=0.2)
    rep = np.repeat(np.arange(len(sw)), sw)
    loss_r, grad_r = loss_and_grad(theta, np.ascontiguousarray(X[:, rep]),
                                   lengths[rep], Y[rep], spec, alpha=0.2)
    _close(loss_w, loss_r)
    _close(grad_w, grad_r)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unit_sample_weight_equals_none(weighted_problem, cell):
    spec, theta, X, lengths, Y = weighted_problem(cell, "identity")
    loss1, grad1 = loss_and_grad(theta, X, lengths, Y, spec, np.ones(len(lengths)))
    loss0, grad0 = loss_and_grad(theta, X, lengths, Y, spec)
    _close(loss1, loss0)
    _close(grad1, grad0)
    # a constant scale of the weights changes nothing either
    loss3, grad3 = loss_and_grad(theta, X, lengths, Y, spec, 3 * np.ones(len(lengths)))
    _close(loss3, loss0)
    _close(grad3, grad0)


def test_alpha_adds_the_documented_penalty(weighted_problem):
    spec, theta, X, lengths, Y = weighted_problem("gru", "identity")
    sw = np.random.RandomState(0).uniform(0.5, 2.0, size=len(lengths))
    alpha = 0.7
    loss0, grad0 = loss_and_grad(theta, X, lengths, Y, spec, sw)
    loss1, grad1 = loss_and_grad(theta, X, lengths, Y, spec, sw, alpha=alpha)
    W = unpack(theta, spec)
    mask = unpack(np.zeros_like(theta), spec)
    for name in mask:
        mask[name][...] = "weight" in name
    mask_flat = pack(mask, spec)
    penalty = 0.5 * alpha * np.sum(mask_flat * theta**2) / sw.sum()
    np.testing.assert_allclose(loss1 - loss0, penalty, rtol=1e-10)
    np.testing.assert_allclose(grad1 - grad0, alpha * mask_flat * theta / sw.sum(),
                               rtol=1e-10, atol=1e-15)
    assert np.all((grad1 - grad0)[mask_flat == 0] == 0)  # biases are not penalized
    assert W["bias_ih_l0"].any()  # ... and are non-zero here, so that shows something


class _PoisonedNumPy:
    """NumPy whose ``empty`` and ``empty_like`` fill with NaN: any read of an
    uninitialised buffer then shows up in the outputs."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float, **kwargs):
        return np.full(shape, np.nan, dtype=dtype, **kwargs)

    @staticmethod
    def empty_like(a, dtype=None, **kwargs):
        return np.full_like(a, np.nan, dtype=dtype, **kwargs)


@pytest.mark.parametrize("chunk_steps", [None, 2], ids=["one-chunk", "chunks-of-2"])
@pytest.mark.parametrize("lengths", [(7, 7, 7, 7, 7), (3, 7, 1, 5, 7), (1, 1, 1, 1, 1)],
                         ids=["equal", "ragged", "one-step"])
@pytest.mark.parametrize("dtype, hidden", [(np.float64, (4, 3)), (np.float32, (40, 33))],
                         ids=["float64", "float32-exp-tanh"])
@pytest.mark.parametrize("cell, activation", [("rnn", "tanh"), ("rnn", "relu"),
                                              ("rnn", "logistic"), ("rnn", "identity"),
                                              ("lstm", "tanh"), ("gru", "tanh")])
def test_cells_never_read_uninitialised_buffers(monkeypatch, cell, activation, dtype,
                                                hidden, lengths, chunk_steps):
    """The cells skip zeroing the buffers that every step overwrites when all sequences
    run every step. With every uninitialised buffer of the cells full of NaN, the loss,
    the gradient and the predictions of a two-layer network are bitwise unchanged:
    equal, ragged and one-step lengths, one chunk of timesteps in the backward or
    chunks of 2 (a shorter last chunk, slots reused), both float32 routes to tanh."""
    from skrnn import _cells
    from skrnn._network import predict_raw

    rng = np.random.RandomState(5)
    lengths = np.array(lengths)
    spec = NetworkSpec(cell, activation, 3, hidden, 2, "identity")
    theta = (init_params(spec, rng) + 0.2 * rng.standard_normal(n_params(spec)))
    theta = theta.astype(dtype)
    X = rng.standard_normal((lengths.max(), len(lengths), 3)).astype(dtype)
    for i, L in enumerate(lengths):
        X[L:, i] = 0.0
    Y = rng.standard_normal((len(lengths), 2))
    if chunk_steps:
        monkeypatch.setattr(_cells, "_chunk_steps", lambda T, _: min(T, chunk_steps))

    def run():
        loss, grad = loss_and_grad(theta, X, lengths, Y, spec, alpha=0.1)
        return loss, grad, predict_raw(unpack(theta, spec), X, lengths, spec)

    expected = run()
    monkeypatch.setattr(_cells, "np", _PoisonedNumPy())
    loss, grad, z = run()
    assert np.isfinite(loss) and np.all(np.isfinite(grad)) and np.all(np.isfinite(z))
    assert loss == expected[0]
    np.testing.assert_array_equal(grad, expected[1])
    np.testing.assert_array_equal(z, expected[2])


@pytest.mark.parametrize("lengths", [(7, 7, 7, 7, 7), (3, 7, 1, 5, 7)], ids=["equal", "ragged"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_does_not_depend_on_its_chunks_of_timesteps(monkeypatch, cell, lengths):
    """The backward passes cut the timesteps into chunks (for the derivative factors
    and the weight-gradient GEMMs); how they are cut changes the order of the sums
    only."""
    from skrnn import _cells

    rng = np.random.RandomState(2)
    lengths = np.array(lengths)
    spec = NetworkSpec(cell, "tanh", 3, (5, 4), 2, "identity")
    theta = init_params(spec, rng) + 0.2 * rng.standard_normal(n_params(spec))
    X = rng.standard_normal((lengths.max(), len(lengths), 3))
    Y = rng.standard_normal((len(lengths), 2))
    expected = loss_and_grad(theta, X, lengths, Y, spec)
    for chunk in (1, 2, 3):
        monkeypatch.setattr(_cells, "_chunk_steps", lambda T, _, c=chunk: min(T, c))
        loss, grad = loss_and_grad(theta, X, lengths, Y, spec)
        np.testing.assert_allclose(loss, expected[0], rtol=1e-13)
        np.testing.assert_allclose(grad, expected[1], rtol=1e-12, atol=1e-14)

