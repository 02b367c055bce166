"""SGD and Adam steppers, learning-rate schedules, stopping rules and gradient
clipping, each checked against its closed form written out by hand in the test."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skrnn._optimizers import AdamOptimizer, SGDOptimizer, clip_grad_norm

THETA0 = np.array([0.5, -1.0, 2.0, 0.0])
GRADS = [
    np.array([0.1, -0.2, 0.3, -4.0]),
    np.array([-0.3, 0.05, 0.2, 1.0]),
    np.array([0.2, 0.2, -0.1, 0.5]),
]


def _run(optimizer, n_steps, theta0=THETA0):
    theta = theta0.copy()
    for g in GRADS[:n_steps]:
        optimizer.update(theta, g.copy())
    return theta


# --------------------------------------------------------------------------------------
# SGD


def test_sgd_zero_momentum_is_plain_gradient_descent():
    lr = 0.1
    opt = SGDOptimizer(4, np.float64, learning_rate_init=lr, momentum=0.0)
    theta = _run(opt, 3)
    assert_allclose(theta, THETA0 - lr * (GRADS[0] + GRADS[1] + GRADS[2]), rtol=1e-14)


def test_sgd_heavy_ball_momentum_closed_form():
    lr, mu = 0.1, 0.9
    opt = SGDOptimizer(4, np.float64, learning_rate_init=lr, momentum=mu,
                       nesterov=False)
    g1, g2 = GRADS[0], GRADS[1]
    # step 1: v1 = -lr g1, theta1 = theta0 + v1
    theta = THETA0.copy()
    opt.update(theta, g1.copy())
    v1 = -lr * g1
    assert_allclose(theta, THETA0 + v1, rtol=1e-14)
    assert_allclose(opt.velocity, v1, rtol=1e-14)
    # step 2: v2 = mu v1 - lr g2, theta2 = theta1 + v2
    opt.update(theta, g2.copy())
    v2 = mu * v1 - lr * g2
    assert_allclose(theta, THETA0 + v1 + v2, rtol=1e-14)
    # written out: theta0 - lr (1 + mu) g1 - lr g2
    assert_allclose(theta, THETA0 - lr * (1 + mu) * g1 - lr * g2, rtol=1e-14)


def test_sgd_nesterov_momentum_closed_form():
    lr, mu = 0.1, 0.9
    opt = SGDOptimizer(4, np.float64, learning_rate_init=lr, momentum=mu,
                       nesterov=True)
    g1, g2 = GRADS[0], GRADS[1]
    theta = THETA0.copy()
    # step 1: v1 = -lr g1; theta1 = theta0 + mu v1 - lr g1 = theta0 - lr (1 + mu) g1
    opt.update(theta, g1.copy())
    assert_allclose(theta, THETA0 - lr * (1 + mu) * g1, rtol=1e-14)
    # step 2: v2 = mu v1 - lr g2 = -lr (mu g1 + g2); theta2 = theta1 + mu v2 - lr g2
    opt.update(theta, g2.copy())
    expected = (THETA0 - lr * (1 + mu) * g1
                - lr * mu * (mu * g1 + g2) - lr * g2)
    assert_allclose(theta, expected, rtol=1e-14)


def test_sgd_nesterov_differs_from_heavy_ball():
    a = _run(SGDOptimizer(4, np.float64, 0.1, momentum=0.9, nesterov=True), 2)
    b = _run(SGDOptimizer(4, np.float64, 0.1, momentum=0.9, nesterov=False), 2)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_matches_torch(nesterov):
    torch = pytest.importorskip("torch")
    lr, mu = 0.05, 0.8
    p = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    topt = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=nesterov)
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    ours = _run(SGDOptimizer(4, np.float64, lr, momentum=mu, nesterov=nesterov), 3)
    assert_allclose(ours, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_sgd_does_not_modify_the_gradient():
    opt = SGDOptimizer(4, np.float64, 0.1, momentum=0.9)
    g = GRADS[0].copy()
    opt.update(THETA0.copy(), g)
    assert_array_equal(g, GRADS[0])


# --------------------------------------------------------------------------------------
# Adam


def _adam_by_hand(theta0, grads, lr, b1, b2, eps):
    theta = theta0.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        theta = theta - lr_t * m / (np.sqrt(v) + eps)
    return theta, m, v


def test_adam_first_step_closed_form():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = AdamOptimizer(4, np.float64, lr, b1, b2, eps)
    theta = THETA0.copy()
    g = GRADS[0]
    opt.update(theta, g.copy())
    m = (1 - b1) * g
    v = (1 - b2) * g**2
    expected = THETA0 - lr * np.sqrt(1 - b2) / (1 - b1) * m / (np.sqrt(v) + eps)
    assert_allclose(theta, expected, rtol=1e-13)
    assert_allclose(opt.ms, m, rtol=1e-14)
    assert_allclose(opt.vs, v, rtol=1e-14)
    assert opt.t == 1
    # the bias-corrected first step is lr * sign(g), whatever the gradient's scale
    assert_allclose(theta, THETA0 - lr * np.sign(g), rtol=1e-5)


def test_adam_three_steps_closed_form():
    lr, b1, b2, eps = 0.02, 0.8, 0.99, 1e-6
    opt = AdamOptimizer(4, np.float64, lr, b1, b2, eps)
    theta = _run(opt, 3)
    expected, m, v = _adam_by_hand(THETA0, GRADS, lr, b1, b2, eps)
    assert_allclose(theta, expected, rtol=1e-13)
    assert_allclose(opt.ms, m, rtol=1e-13)
    assert_allclose(opt.vs, v, rtol=1e-13)
    assert opt.t == 3
    # the learning rate it reports is the bias-corrected one of the last step
    assert opt.learning_rate == pytest.approx(lr * np.sqrt(1 - b2**3) / (1 - b1**3))


def test_adam_matches_torch_up_to_epsilon_placement():
    torch = pytest.importorskip("torch")
    lr = 0.01
    p = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    # torch adds eps to sqrt(v_hat), skrnn (as scikit-learn) to sqrt(v): with a tiny
    # eps both are the same algorithm
    topt = torch.optim.Adam([p], lr=lr, betas=(0.9, 0.999), eps=1e-14)
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    ours = _run(AdamOptimizer(4, np.float64, lr, 0.9, 0.999, 1e-14), 3)
    assert_allclose(ours, p.detach().numpy(), rtol=1e-10)


def test_adam_ignores_epoch_ends():
    opt = AdamOptimizer(4, np.float64, 0.01)
    opt.iteration_ends(1000)
    assert opt.learning_rate == 0.01
    theta = _run(opt, 1)
    assert_allclose(theta, THETA0 - 0.01 * np.sign(GRADS[0]), rtol=1e-5)


# --------------------------------------------------------------------------------------
# Learning-rate schedules (SGD)


def test_invscaling_schedule():
    lr0, power_t = 0.5, 0.25
    opt = SGDOptimizer(4, np.float64, lr0, "invscaling", momentum=0.0, power_t=power_t)
    assert opt.learning_rate == lr0  # the first epoch runs at learning_rate_init
    for t in [10, 250, 4000]:
        opt.iteration_ends(t)
        # scikit-learn's rule: learning_rate_init / (t + 1) ** power_t, t = samples seen
        assert opt.learning_rate == pytest.approx(lr0 / (t + 1) ** power_t, rel=1e-14)
    # and the next step uses the decayed rate
    theta = THETA0.copy()
    opt.update(theta, GRADS[0].copy())
    assert_allclose(theta, THETA0 - lr0 / 4001**power_t * GRADS[0], rtol=1e-14)


@pytest.mark.parametrize("schedule", ["constant", "adaptive"])
def test_constant_and_adaptive_rates_do_not_decay_per_epoch(schedule):
    opt = SGDOptimizer(4, np.float64, 0.3, schedule)
    for t in [10, 1000, 10**6]:
        opt.iteration_ends(t)
    assert opt.learning_rate == 0.3


def test_adaptive_divides_by_five_until_below_1e6(capsys):
    lr0 = 0.1
    opt = SGDOptimizer(4, np.float64, lr0, "adaptive", momentum=0.0)
    # each stall divides by 5 while the rate is above 1e-6; the first call with the
    # rate at or below 1e-6 stops: 0.1 / 5**8 = 2.56e-7 is the first rate <= 1e-6
    n_divisions = next(k for k in range(100) if lr0 / 5**k <= 1e-6)
    assert n_divisions == 8
    rates = []
    for _ in range(n_divisions):
        assert opt.trigger_stopping("No improvement.", verbose=True) is False
        rates.append(opt.learning_rate)
    assert_allclose(rates, [lr0 / 5**k for k in range(1, n_divisions + 1)], rtol=1e-12)
    assert opt.trigger_stopping("No improvement.", verbose=True) is True
    out = capsys.readouterr().out.splitlines()
    assert len(out) == n_divisions + 1
    assert all(line.startswith("No improvement. Setting learning rate to")
               for line in out[:-1])
    assert out[-1] == "No improvement. Learning rate too small. Stopping."
    # the divided rate is the one the next update uses
    theta = THETA0.copy()
    opt.update(theta, GRADS[0].copy())
    assert_allclose(theta, THETA0 - opt.learning_rate * GRADS[0], rtol=1e-15)


@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
def test_non_adaptive_sgd_stops_at_the_first_trigger(schedule, capsys):
    opt = SGDOptimizer(4, np.float64, 0.1, schedule)
    assert opt.trigger_stopping("Loss did not improve.", verbose=False) is True
    assert capsys.readouterr().out == ""
    assert opt.trigger_stopping("Loss did not improve.", verbose=True) is True
    assert capsys.readouterr().out == "Loss did not improve. Stopping.\n"
    assert opt.learning_rate == 0.1


def test_adam_stops_at_the_first_trigger(capsys):
    opt = AdamOptimizer(4, np.float64, 0.01)
    assert opt.trigger_stopping("msg.", verbose=False) is True
    assert capsys.readouterr().out == ""
    assert opt.trigger_stopping("msg.", verbose=True) is True
    assert capsys.readouterr().out == "msg. Stopping.\n"


# --------------------------------------------------------------------------------------
# Gradient clipping


def test_clip_grad_norm_scales_down_to_max_norm():
    g = np.array([3.0, -4.0, 0.0, 12.0])  # norm 13
    out = clip_grad_norm(g, 6.5)
    assert out == pytest.approx(13.0)  # the norm before clipping, as torch returns
    assert_allclose(g, [1.5, -2.0, 0.0, 6.0], rtol=1e-14)  # same direction, half
    assert np.linalg.norm(g) == pytest.approx(6.5)


@pytest.mark.parametrize("max_norm", [None, 13.0, 100.0])
def test_clip_grad_norm_leaves_small_gradients_alone(max_norm):
    g = np.array([3.0, -4.0, 0.0, 12.0])
    assert clip_grad_norm(g, max_norm) == pytest.approx(13.0)
    assert_array_equal(g, [3.0, -4.0, 0.0, 12.0])


def test_clip_grad_norm_zero_gradient():
    g = np.zeros(5)
    assert clip_grad_norm(g, 1.0) == 0.0
    assert_array_equal(g, 0.0)


def test_clip_grad_norm_float32_in_place():
    g = np.full(100, 1.0, dtype=np.float32)  # norm 10
    before = g
    clip_grad_norm(g, 1.0)
    assert g is before and g.dtype == np.float32
    assert_allclose(g, 0.1, rtol=1e-6)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(0)
    g = rng.standard_normal(50) * 10
    p = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
    p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_([p], max_norm=2.0)
    ours = g.copy()
    assert clip_grad_norm(ours, 2.0) == pytest.approx(float(total))
    assert_allclose(ours, p.grad.numpy(), rtol=1e-6)  # torch adds 1e-6 to the norm


# --------------------------------------------------------------------------------------
# State restored read-only (joblib mmap_mode="r"), dtypes


def _make(kind, dtype=np.float64):
    if kind == "sgd":
        return SGDOptimizer(4, dtype, 0.1, momentum=0.9, nesterov=True)
    return AdamOptimizer(4, dtype, 0.01)


def _state_arrays(opt):
    if isinstance(opt, SGDOptimizer):
        return ["velocity"]
    return ["ms", "vs"]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_read_only_state_still_updates(kind):
    writable, read_only = _make(kind), _make(kind)
    theta_w, theta_r = THETA0.copy(), THETA0.copy()
    writable.update(theta_w, GRADS[0].copy())
    read_only.update(theta_r, GRADS[0].copy())
    frozen = {}
    for name in _state_arrays(read_only):
        arr = getattr(read_only, name)
        arr.flags.writeable = False  # as a memmap opened by joblib with mmap_mode="r"
        frozen[name] = (arr, arr.copy())
    for g in GRADS[1:]:
        writable.update(theta_w, g.copy())
        read_only.update(theta_r, g.copy())
    assert_allclose(theta_r, theta_w, rtol=1e-15)
    for name in _state_arrays(read_only):
        assert_allclose(getattr(read_only, name), getattr(writable, name), rtol=1e-15)
    # the read-only arrays themselves were not written to
    for arr, value in frozen.values():
        assert_array_equal(arr, value)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_update_keeps_float32(kind):
    opt = _make(kind, np.float32)
    theta = THETA0.astype(np.float32)
    for g in GRADS:
        opt.update(theta, g.astype(np.float32))
    assert theta.dtype == np.float32
    for name in _state_arrays(opt):
        assert getattr(opt, name).dtype == np.float32
    expected = _run(_make(kind), 3)
    assert_allclose(theta, expected, rtol=1e-5)
