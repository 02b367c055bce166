"""Stochastic optimizers on one flat parameter vector: SGD and Adam.

Pure NumPy: nothing here imports scikit-learn. The update rules, schedules and
messages are those of ``sklearn.neural_network._stochastic_optimizers``, so the
``solver``, ``learning_rate*``, ``momentum``, ``beta_*`` and ``epsilon`` parameters
mean the same thing in skrnn and in ``MLPRegressor``. Because the parameters are one
flat vector, an update is a handful of ufunc calls, whatever the network.
"""

import numpy as np


def _writeable(a):
    # arrays restored by joblib with mmap_mode="r" are read-only memmaps
    return a if a.flags.writeable else np.array(a)


class _Snapshots:
    """``snapshot()`` copies the state an update changes and ``restore(snapshot)`` puts
    it back, so that a fit can roll the optimizer back with the weights (after a
    divergence, or to the epoch whose weights it keeps)."""

    _state = ()  # names of the attributes an update changes

    def snapshot(self):
        return {name: np.copy(getattr(self, name)) if isinstance(getattr(self, name),
                                                                np.ndarray)
                else getattr(self, name) for name in self._state}

    def restore(self, snapshot):
        for name, value in snapshot.items():
            setattr(self, name, np.copy(value) if isinstance(value, np.ndarray) else value)


class SGDOptimizer(_Snapshots):
    """Stochastic gradient descent with momentum and learning-rate schedules.

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\theta \\leftarrow \\theta + v \\;\\text{(or } \\mu v - \\eta g
        \\text{ with Nesterov momentum)}

    Parameters
    ----------
    n_params : int
    dtype : dtype
    learning_rate_init : float, default=0.1
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
        ``'invscaling'``: ``eta = learning_rate_init / (t + 1) ** power_t`` with ``t``
        the number of samples seen; ``'adaptive'``: divide by 5 each time training
        stalls, until it falls below 1e-6.
    momentum : float, default=0.9
    nesterov : bool, default=True
    power_t : float, default=0.5
    """

    _state = ("velocity", "learning_rate")

    def __init__(self, n_params, dtype, learning_rate_init=0.1, lr_schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)

    def update(self, theta, grad):
        """One step, in place on ``theta``."""
        self.velocity = _writeable(self.velocity)
        v = self.velocity
        v *= self.momentum
        v -= self.learning_rate * grad
        if self.nesterov:
            theta += self.momentum * v - self.learning_rate * grad
        else:
            theta += v

    def iteration_ends(self, time_step):
        """Update the learning rate after an epoch; ``time_step`` counts samples seen."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = (self.learning_rate_init
                                  / (time_step + 1) ** self.power_t)

    def trigger_stopping(self, msg, verbose):
        """Whether to stop after ``n_iter_no_change`` epochs without improvement."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamOptimizer(_Snapshots):
    """Adam (Kingma and Ba, 2014) with bias correction folded into the step size.

    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}
        \\frac{m}{\\sqrt{v} + \\epsilon}

    Parameters
    ----------
    n_params : int
    dtype : dtype
    learning_rate_init : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8
    """

    _state = ("ms", "vs", "t", "learning_rate")

    def __init__(self, n_params, dtype, learning_rate_init=0.001, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = np.zeros(n_params, dtype=dtype)
        self.vs = np.zeros(n_params, dtype=dtype)

    def update(self, theta, grad):
        """One step, in place on ``theta``."""
        self.ms = _writeable(self.ms)
        self.vs = _writeable(self.vs)
        self.t += 1
        m, v = self.ms, self.vs
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        v *= self.beta_2
        v += (1 - self.beta_2) * (grad * grad)
        self.learning_rate = (self.learning_rate_init
                              * np.sqrt(1 - self.beta_2 ** self.t)
                              / (1 - self.beta_1 ** self.t))
        step = np.sqrt(v)
        step += self.epsilon
        np.divide(m, step, out=step)
        step *= self.learning_rate
        theta -= step

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def clip_grad_norm(grad, max_norm):
    """Scale ``grad`` in place so that its Euclidean norm is at most ``max_norm``.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    norm = float(np.sqrt(np.vdot(grad, grad)))
    if max_norm is not None and norm > max_norm:
        grad *= max_norm / norm
    return norm
