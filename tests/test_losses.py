"""Output activations and losses against naive formulas, stability, sample weights."""

import numpy as np
import pytest

from skrnn._losses import (
    LOSS_FOR_ACTIVATION,
    LOSSES,
    OUT_ACTIVATIONS,
    loss_and_delta,
)

OUT = ["identity", "exp", "logistic", "softmax"]


def _targets(out_activation, N, K, rng):
    if out_activation == "identity":
        return rng.standard_normal((N, K))
    if out_activation == "exp":
        y = rng.poisson(2.0, size=(N, K)).astype(np.float64)
        y[0, 0] = 0.0  # a zero count exercises the 0 * log 0 = 0 convention
        return y
    if out_activation == "logistic":
        return (rng.uniform(size=(N, K)) < 0.5).astype(np.float64)
    return np.eye(K)[rng.randint(K, size=N)]


def _naive_loss(z, y, out_activation):
    """Per-sample loss from the textbook formulas, through the predictions."""
    if out_activation == "identity":
        return 0.5 * np.mean((z - y) ** 2, axis=1)
    if out_activation == "exp":  # half Poisson deviance
        mu = np.exp(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(y / mu), 0.0)
        return np.sum(ylogy - y + mu, axis=1)
    if out_activation == "logistic":
        p = 1 / (1 + np.exp(-z))
        return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    return -np.sum(y * np.log(p), axis=1)


def _naive_activation(z, out_activation):
    if out_activation == "identity":
        return z
    if out_activation == "exp":
        return np.exp(z)
    if out_activation == "logistic":
        return 1 / (1 + np.exp(-z))
    return np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)


@pytest.fixture
def moderate():
    """Builder of moderate raw outputs ``z`` and matching targets ``y``."""

    def build(out_activation, N=6, K=3, seed=0):
        rng = np.random.RandomState(seed)
        z = 1.5 * rng.standard_normal((N, K))
        return z, _targets(out_activation, N, K, rng)

    return build


def test_loss_table_is_complete():
    assert set(LOSS_FOR_ACTIVATION) == set(OUT_ACTIVATIONS) == set(OUT)
    assert set(LOSS_FOR_ACTIVATION.values()) == set(LOSSES)


@pytest.mark.parametrize("out_activation", OUT)
def test_output_activation_matches_naive(moderate, out_activation):
    z, _ = moderate(out_activation)
    z_before = z.copy()
    p = OUT_ACTIVATIONS[out_activation](z)
    np.testing.assert_allclose(p, _naive_activation(z, out_activation), rtol=1e-13)
    np.testing.assert_array_equal(z, z_before)  # the input is not modified
    assert not np.shares_memory(p, z)


@pytest.mark.parametrize("out_activation", OUT)
def test_loss_matches_naive_formula(moderate, out_activation):
    z, y = moderate(out_activation)
    per, delta = LOSSES[LOSS_FOR_ACTIVATION[out_activation]](z, y)
    np.testing.assert_allclose(per, _naive_loss(z, y, out_activation), rtol=1e-12)
    loss_sum, delta2 = loss_and_delta(z, y, out_activation)
    assert isinstance(loss_sum, float)
    np.testing.assert_allclose(loss_sum, _naive_loss(z, y, out_activation).sum(),
                               rtol=1e-12)
    np.testing.assert_allclose(delta2, delta, rtol=1e-15)


@pytest.mark.parametrize("out_activation", OUT)
def test_delta_is_gradient_of_loss_sum(moderate, out_activation):
    """``delta`` against central differences of the naive loss."""
    z, y = moderate(out_activation)
    _, delta = loss_and_delta(z, y, out_activation)
    eps = 1e-6
    num = np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        num[idx] = (_naive_loss(zp, y, out_activation).sum()
                    - _naive_loss(zm, y, out_activation).sum()) / (2 * eps)
    np.testing.assert_allclose(delta, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("out_activation", OUT)
def test_loss_matches_scikit_learn(moderate, out_activation):
    """The mean loss equals what ``sklearn.neural_network`` reports (moderate values,
    so its probability clipping does not bite)."""
    base = pytest.importorskip("sklearn.neural_network._base")  # private module

    z, y = moderate(out_activation, seed=1)
    w = np.random.RandomState(2).uniform(0.5, 2.0, size=len(z))
    loss_sum, _ = loss_and_delta(z, y, out_activation, w)
    p = _naive_activation(z, out_activation)
    expected = base.LOSS_FUNCTIONS[LOSS_FOR_ACTIVATION[out_activation]](y, p, w)
    np.testing.assert_allclose(loss_sum / w.sum(), expected, rtol=1e-12)


@pytest.mark.parametrize("out_activation", ["identity", "logistic", "softmax"])
def test_huge_logits_give_finite_loss_and_delta(out_activation):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4]])
    y = _targets(out_activation, 3, 3, np.random.RandomState(0))
    if out_activation == "logistic":
        y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss_sum, delta = loss_and_delta(z, y, out_activation)
        p = OUT_ACTIVATIONS[out_activation](z)
    assert np.isfinite(loss_sum)
    assert np.all(np.isfinite(delta))
    assert np.all(np.isfinite(p))
    if out_activation == "logistic":
        # log(1 + exp(z)) - y z = max(z, 0) - y z + log1p(exp(-|z|)): 1e4 for each
        # confidently wrong entry, 0 for each confidently right one, log 2 at z = 0
        per, _ = LOSSES["binary_log_loss"](z, y)
        np.testing.assert_allclose(per, [2e4 + np.log(2), 2e4, 1e4], rtol=1e-12)
        np.testing.assert_array_equal(np.abs(delta), np.abs(p - y))
    if out_activation == "softmax":
        # logsumexp of [1e4, -1e4, 0] is 1e4; the target's logit is subtracted
        per, _ = LOSSES["log_loss"](z, y)
        lse = np.array([1e4, 1e4, 1e4 + np.log(3)])
        np.testing.assert_allclose(per, lse - np.sum(y * z, axis=1), rtol=1e-12)


def test_poisson_is_finite_for_very_negative_logits():
    """``exp(z)`` underflows to 0 for ``z = -1e4``: the loss stays finite (large where
    the count is positive) and is exactly 0 where the count is 0. (Large positive
    ``z`` overflows ``exp`` itself: that loss is genuinely astronomical.)"""
    z = np.array([[-1e4, -1e4]])
    y = np.array([[0.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        per, delta = LOSSES["poisson"](z, y)
    assert np.all(np.isfinite(per)) and np.all(np.isfinite(delta))
    # y log(y / mu) - y + mu with mu -> 0: 3 * (log 3 + 1e4) - 3 for the second entry
    np.testing.assert_allclose(per, [3 * np.log(3) + 3e4 - 3], rtol=1e-12)
    np.testing.assert_array_equal(delta, [[0.0, -3.0]])


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_rows_sum_to_one(scale):
    z = scale * np.random.RandomState(3).standard_normal((5, 4))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = OUT_ACTIVATIONS["softmax"](z)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(p.argmax(axis=1), z.argmax(axis=1))


@pytest.mark.parametrize("out_activation", OUT)
def test_integer_sample_weights_equal_repetition(moderate, out_activation):
    z, y = moderate(out_activation, N=5)
    w = np.array([2, 0, 1, 3, 1])
    loss_w, delta_w = loss_and_delta(z, y, out_activation, w.astype(np.float64))
    loss_r, delta_r = loss_and_delta(np.repeat(z, w, axis=0), np.repeat(y, w, axis=0),
                                     out_activation)
    np.testing.assert_allclose(loss_w, loss_r, rtol=1e-12)
    # each weighted row is the sum of its repeated rows' deltas; weight 0 gives 0
    summed = np.zeros_like(delta_w)
    np.add.at(summed, np.repeat(np.arange(len(w)), w), delta_r)
    np.testing.assert_allclose(delta_w, summed, rtol=1e-12, atol=0)
    assert np.all(delta_w[1] == 0)


@pytest.mark.parametrize("out_activation", OUT)
def test_float32_in_float32_out(moderate, out_activation):
    z, y = moderate(out_activation)
    loss64, delta64 = loss_and_delta(z, y, out_activation)
    loss32, delta32 = loss_and_delta(z.astype(np.float32), y.astype(np.float32),
                                     out_activation)
    assert delta32.dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    np.testing.assert_allclose(delta32, delta64, rtol=1e-4, atol=1e-6)
