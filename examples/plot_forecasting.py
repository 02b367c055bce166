"""
============================================
Forecasting a seasonal series from windows
============================================

A recurrent regressor predicts one value per sequence, so forecasting one long series
starts by cutting it into windows: the sequence is the last ``W`` observations, the
target the next one. Each window is a row of a 2-D array ``(n_windows, W)``, which
skrnn reads as ``n_windows`` univariate sequences of ``W`` timesteps.

The series here is synthetic and CO2-like: 40 years of monthly values with a trend, a
yearly cycle and noise. Trends are awkward for a network with bounded units (a level
never seen in training maps to saturated activations), so each window is expressed
relative to its last value and the model predicts the *change* to the next month.
"""

# %%
# The series
# ----------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNRegressor

rng = np.random.RandomState(0)
n_months = 480
t = np.arange(n_months)
series = (
    315.0
    + 0.12 * t
    + 0.00008 * t**2  # a slowly accelerating trend
    + 3.0 * np.sin(2 * np.pi * t / 12)
    + 0.8 * np.sin(4 * np.pi * t / 12 + 1.0)  # a second harmonic: an asymmetric year
    + 0.3 * rng.normal(size=n_months)
)
split = 360  # 30 years to train, the last 10 to test

# %%
# From one series to windows
# --------------------------
# ``windows(series, W)`` returns every run of ``W`` consecutive values as a row, and
# the value that follows it. :func:`numpy.lib.stride_tricks.sliding_window_view` does
# the cutting without copying.
W = 24  # two years of history per prediction


def windows(values, width):
    X = np.lib.stride_tricks.sliding_window_view(values[:-1], width)
    y = values[width:]
    return X, y


def to_relative(X, y=None):
    """Express each window (and its target) relative to the window's last value."""
    last = X[:, -1:]
    Xr = X - last
    return (Xr, None) if y is None else (Xr, y - last[:, 0])


X_train, y_train = windows(series[:split], W)
X_test, y_test = windows(series[split - W:], W)  # test targets are months 360..479
Xr_train, dy_train = to_relative(X_train, y_train)
Xr_test, _ = to_relative(X_test)
scale = Xr_train.std()  # one constant scale for inputs and targets
print(f"{len(X_train)} training windows and {len(X_test)} test windows of {W} months")

# %%
# Fit a GRU on the windows
# ------------------------
# A few hundred short sequences: a small problem where L-BFGS makes fast progress and
# needs no learning rate. 200 iterations are enough for this example, so we silence
# the :class:`~sklearn.exceptions.ConvergenceWarning` that says more would help.
reg = RNNRegressor(cell="gru", hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200,
                   random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    reg.fit(Xr_train / scale, dy_train / scale)


def predict_next(X):
    """One-step-ahead forecast from raw windows."""
    return X[:, -1] + scale * reg.predict(to_relative(X)[0] / scale)


one_step = predict_next(X_test)


def mae(a, b):
    return np.mean(np.abs(a - b))


print(f"one-step MAE, GRU:                   {mae(one_step, y_test):.3f}")
print(f"one-step MAE, last value:            {mae(X_test[:, -1], y_test):.3f}")
print(f"one-step MAE, same month a year ago: {mae(X_test[:, -12], y_test):.3f}")

# %%
# Recursive forecast
# ------------------
# Feeding each prediction back as the newest observation forecasts any number of steps
# from the end of the training data, here the whole 10-year test period. Errors now
# accumulate: this tests whether the model learned the cycle and the trend, not only
# the next month.
history = list(series[:split])
for _ in range(n_months - split):
    history.append(predict_next(np.asarray(history[-W:])[None, :])[0])
recursive = np.asarray(history[split:])
print(f"10-year recursive forecast MAE:      {mae(recursive, series[split:]):.3f}")

fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(8, 6), sharey=False)
ax0.plot(t, series, color="0.6", lw=1, label="series")
ax0.axvline(split, color="k", ls=":", lw=1)
ax0.plot(t[split:], recursive, color="C3", lw=1.5, label="recursive forecast")
ax0.set(xlabel="month", ylabel="value",
        title="40 years of monthly data; the GRU forecasts the last 10 years")
ax0.legend(loc="upper left")
zoom = slice(split, split + 48)
ax1.plot(t[zoom], series[zoom], "o-", color="0.6", ms=3, lw=1, label="observed")
ax1.plot(t[zoom], one_step[:48], "-", color="C0", label="one step ahead")
ax1.plot(t[zoom], recursive[:48], "--", color="C3", label="recursive")
ax1.set(xlabel="month", ylabel="value", title="The first four test years")
ax1.legend(loc="upper left")
fig.tight_layout()
plt.show()

# %%
# One step ahead, the GRU is three times more accurate than repeating the last value,
# and close to the noise level of the series (0.3, a mean absolute error of about
# 0.24). The recursive forecast keeps the shape and phase of the yearly cycle over ten
# years, but drifts below the data: the trend accelerates, and the model extrapolates
# the growth it saw in the training years. A model of changes cannot know about an
# acceleration it never saw; a long-horizon forecast needs a model of the trend
# (or of the series' growth rate) as well.
#
# Note that the windows of a series overlap and are not independent samples: to tune
# ``W`` or the model, validate on a later stretch of the series (as done here) or use
# :class:`~sklearn.model_selection.TimeSeriesSplit`, never a shuffled split.
