"""Output activations and losses in numerically stable forms.

Pure NumPy/SciPy: nothing here imports scikit-learn.

Every loss is paired with its canonical output activation, so the gradient of the
loss with respect to the raw (pre-activation) output is always ``activation(raw) - y``
(scaled by the sample weight and, for the squared error, by ``1 / n_outputs``). The
losses are computed from the raw output, never from clipped probabilities, so they are
exact and stay finite for large logits.

=================  ==============  ===============================================
loss               out_activation  per-sample loss (``z`` raw output, ``y`` target)
=================  ==============  ===============================================
``squared_error``  ``identity``    ``0.5 * mean_k (z_k - y_k)**2``
``poisson``        ``exp``         ``sum_k y_k log(y_k / mu_k) - y_k + mu_k``, ``mu = exp(z)``
``binary_log_loss`` ``logistic``   ``sum_k log(1 + exp(z_k)) - y_k z_k``
``log_loss``       ``softmax``     ``logsumexp(z) - sum_k y_k z_k``
=================  ==============  ===============================================

These match the values ``sklearn.neural_network`` reports as ``loss_`` (up to its
probability clipping), so ``loss_`` means the same thing for skrnn and MLP.
"""

import numpy as np
from scipy.special import logsumexp, xlogy


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def _identity(z):
    return z.copy()


def _exp(z):
    # the predicted mean saturates at the largest float instead of overflowing to inf
    with np.errstate(over="ignore"):
        mu = np.exp(z)
    return np.minimum(mu, np.finfo(mu.dtype).max, out=mu)


def _expit(z):
    # scipy.special.expit keeps p strictly inside (0, 1) further out than the tanh form
    from scipy.special import expit

    return expit(z)


#: Output activations keyed by ``out_activation_``: raw output -> prediction.
OUT_ACTIVATIONS = {
    "identity": _identity,
    "exp": _exp,
    "logistic": _expit,
    "softmax": _softmax,
}

#: The loss that goes with each output activation.
LOSS_FOR_ACTIVATION = {
    "identity": "squared_error",
    "exp": "poisson",
    "logistic": "binary_log_loss",
    "softmax": "log_loss",
}


def _squared_error(z, y):
    diff = z - y
    k = z.shape[1]
    return 0.5 * np.einsum("ij,ij->i", diff, diff) / k, diff / k


def _poisson(z, y):
    with np.errstate(over="ignore", invalid="ignore"):
        mu = np.exp(z)
        # y log(y / mu) - y + mu, written with y * z so that mu = 0 never divides
        per = (xlogy(y, y) - y * z - y + mu).sum(axis=1)
    return per, mu - y


def _binary_log_loss(z, y):
    # log(1 + exp(z)) - y z, stable for any z
    per = (np.logaddexp(0.0, z) - y * z).sum(axis=1)
    return per, _expit(z) - y


def _log_loss(z, y):
    lse = logsumexp(z, axis=1)
    per = lse - np.einsum("ij,ij->i", y, z)
    return per, np.exp(z - lse[:, None]) - y


LOSSES = {
    "squared_error": _squared_error,
    "poisson": _poisson,
    "binary_log_loss": _binary_log_loss,
    "log_loss": _log_loss,
}


def loss_and_delta(z, y, out_activation, sample_weight=None):
    """Weighted loss sum and its gradient with respect to the raw output.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_outputs)
        Raw network output (before the output activation).
    y : ndarray of shape (n_samples, n_outputs)
        Targets, in ``z``'s dtype (one-hot or indicator for the log losses).
    out_activation : {'identity', 'exp', 'logistic', 'softmax'}
        Selects the loss through :data:`LOSS_FOR_ACTIVATION`.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights; ``None`` means all ones.

    Returns
    -------
    loss_sum : float
        ``sum_i w_i * loss_i`` (not normalised: the caller divides by the total weight).
    delta : ndarray of shape (n_samples, n_outputs)
        ``d loss_sum / d z``.
    """
    per_sample, delta = LOSSES[LOSS_FOR_ACTIVATION[out_activation]](z, y)
    if sample_weight is None:
        return float(per_sample.sum()), delta
    delta *= sample_weight[:, None]
    return float(per_sample @ sample_weight), delta
