"""
=====================================
Loss curves of the three solvers
=====================================

skrnn trains with the solvers of :class:`~sklearn.neural_network.MLPRegressor`:

- ``'lbfgs'``: SciPy's L-BFGS-B on all samples at once (a quasi-Newton method),
- ``'sgd'``: minibatch stochastic gradient descent with (Nesterov) momentum,
- ``'adam'``: minibatch Adam, the default.

The stochastic solvers record the training loss after every epoch in ``loss_curve_``.
L-BFGS records no curve, only the final ``loss_``; to draw its curve we refit it from
the same initial weights with increasing ``max_iter``. L-BFGS is deterministic, so
each refit retraces the same path and stops further along it.

The task: sequences of 10 random numbers; the target is the first number minus the
last, so the network must carry the first input through 9 steps.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNRegressor

rng = np.random.RandomState(0)
X = rng.uniform(-1, 1, size=(400, 10, 1))
y = X[:, 0, 0] - X[:, -1, 0]
X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]

common = dict(cell="gru", hidden_layer_sizes=(16,), random_state=0)

# %%
# SGD and Adam: one fit each
# --------------------------
# ``batch_size='auto'`` gives minibatches of 200 samples, so an epoch here is two
# parameter updates. With ``tol=0`` a solver stops once the training loss has not
# gone below its best value for more than ``n_iter_no_change=10`` consecutive epochs,
# or after ``max_iter`` epochs.
curves, seconds, scores = {}, {}, {}
for name, params in {
    "sgd": dict(solver="sgd", learning_rate_init=0.1, momentum=0.9),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}.items():
    reg = RNNRegressor(max_iter=300, tol=0.0, **params, **common)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached
        reg.fit(X_train, y_train)
    seconds[name] = time.perf_counter() - start
    curves[name] = np.array(reg.loss_curve_)
    scores[name] = reg.score(X_test, y_test)

# %%
# L-BFGS: refits with increasing ``max_iter``
# -------------------------------------------
# L-BFGS stops by itself when the projected gradient falls below ``tol``; before that,
# ``max_iter`` stops it (with a :class:`~sklearn.exceptions.ConvergenceWarning`, which
# is expected here and silenced).
lbfgs_iters, lbfgs_loss, lbfgs_time = [], [], []
for max_iter in [2, 5, 10, 20, 50, 100, 200, 400]:
    reg = RNNRegressor(solver="lbfgs", max_iter=max_iter, **common)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_train, y_train)
    lbfgs_time.append(time.perf_counter() - start)
    lbfgs_iters.append(reg.n_iter_)
    lbfgs_loss.append(reg.loss_)
print(f"lbfgs converged after {reg.n_iter_} iterations")
scores["lbfgs"] = reg.score(X_test, y_test)
seconds["lbfgs"] = lbfgs_time[-1]

for name in ["sgd", "adam", "lbfgs"]:
    print(f"{name:6} fit in {seconds[name]:.1f} s, test R^2 = {scores[name]:.4f}")

# %%
# The curves
# ----------
# The left panel counts passes: epochs for SGD and Adam (each two minibatch updates),
# iterations for L-BFGS (each one or a few full-batch evaluations of the loss and its
# gradient, so about as costly as an epoch). The right panel uses wall-clock time;
# the stochastic solvers' epochs are placed at equal intervals of their total fit time.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for name, color in [("sgd", "C0"), ("adam", "C1")]:
    epochs = np.arange(1, len(curves[name]) + 1)
    ax0.plot(epochs, curves[name], color=color, label=f"{name} (loss_curve_)")
    ax1.plot(epochs * seconds[name] / len(epochs), curves[name], color=color,
             label=name)
ax0.plot(lbfgs_iters, lbfgs_loss, "o-", color="C2", label="lbfgs (loss_ of refits)")
ax1.plot(lbfgs_time, lbfgs_loss, "o-", color="C2", label="lbfgs")
ax0.axhline(lbfgs_loss[-1], color="C2", ls=":", lw=1)
ax1.axhline(lbfgs_loss[-1], color="C2", ls=":", lw=1)
ax0.set(xlabel="epoch (sgd, adam) or iteration (lbfgs)", ylabel="training loss",
        yscale="log", xscale="log", title="Loss per pass over the data")
ax1.set(xlabel="seconds", xscale="log", title="Loss per second")
ax0.legend()
fig.tight_layout()
plt.show()

# %%
# Adam and L-BFGS descend at about the same pace at first, but Adam's minibatch noise
# keeps it on a plateau, while L-BFGS goes on to a much lower training loss and
# stops by itself at a minimum, with no learning rate to choose. SGD with momentum
# is the slowest here and the most sensitive to its learning rate (the spikes).
#
# On a small, smooth problem like this one, L-BFGS is often the better choice: the
# data fit in memory (up to a few thousand sequences), each iteration uses the exact
# full-batch gradient, and its curvature estimate takes long, well-aimed steps. Adam
# (or SGD) wins when the data set is large, because each minibatch update costs only
# a fraction of a pass; when the data arrive in pieces (``partial_fit``); when
# ``early_stopping`` or ``clip_norm`` is needed; and when the noise of minibatches
# helps generalization more than a precise minimum of the training loss. See
# :ref:`solvers` in the user guide.
