"""
======================================================
Next-hour electricity load, one prediction a timestep
======================================================

One-step-ahead forecasting all along a series: at every hour, predict the load of the
next hour from everything seen so far. :class:`~skrnn.RNNSequenceRegressor` reads the
series step by step and predicts at every step, causally (the prediction at hour ``t``
depends on hours up to ``t`` only), so one call to ``predict`` on a long stretch of the
series gives every one-step-ahead forecast in it.

The series is a synthetic but realistic year of hourly electricity demand: weekday and
weekend daily profiles, heating that follows the temperature with a delay (buildings
cool slowly), cooling on hot afternoons, and autocorrelated noise. It is compared with
what one would try first: a table of lagged loads (the last 24 hours, or the last
week) and the calendar, fed to :class:`~sklearn.linear_model.RidgeCV` or
:class:`~sklearn.ensemble.HistGradientBoostingRegressor`. See :ref:`sequences`.
"""

# %%
# A year of hourly load
# ---------------------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error

from skrnn import RNNSequenceRegressor

rng = np.random.RandomState(0)
n = 24 * 7 * 52  # 52 weeks of hours
t = np.arange(n)
hour = t % 24
weekend = (t // 24) % 7 >= 5  # days 5 and 6 of each week


def ar1(phi, scale):
    """An autoregressive process of order 1 with innovations of std ``scale``."""
    out = np.zeros(n)
    innovations = rng.normal(0, scale, n)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + innovations[i]
    return out


def bump(center, width):
    return np.exp(-0.5 * ((hour - center) / width) ** 2)


# temperature: the seasons (winter at both ends), weather, and the daily cycle
temperature = (10 - 8 * np.cos(2 * np.pi * t / n) + ar1(0.995, 0.35)
               + 4 * np.sin(2 * np.pi * (hour - 9) / 24))
weekday_profile = 1 + 0.35 * bump(8.5, 1.5) + 0.45 * bump(19, 2) - 0.3 * bump(3.5, 2.5)
weekend_profile = 0.9 + 0.3 * bump(12, 3) + 0.3 * bump(19.5, 2) - 0.25 * bump(4.5, 2.5)
heating = np.zeros(n)  # follows the cold with a delay of about ten hours
for i in range(1, n):
    heating[i] = 0.9 * heating[i - 1] + 0.1 * 0.04 * max(15 - temperature[i], 0)
cooling = 0.05 * np.maximum(temperature - 22, 0)
noise_std = 2.0
load = 100 * (np.where(weekend, weekend_profile, weekday_profile) + heating + cooling
              + ar1(0.8, noise_std / 100))

fig, ax = plt.subplots(figsize=(9, 3.5))
weeks = slice(24 * 7 * 2, 24 * 7 * 4)  # two winter weeks
ax.plot(t[weeks] / 24, load[weeks], color="k", lw=0.8, label="load")
ax.set(xlabel="day", ylabel="load (MW)", title="Two weeks of January")
ax_t = ax.twinx()
ax_t.plot(t[weeks] / 24, temperature[weeks], color="tab:red", lw=0.8, alpha=0.6)
ax_t.set_ylabel("temperature (C)", color="tab:red")
fig.tight_layout()

# %%
# The sequences: inputs at hour t, the load of hour t + 1 as target
# -----------------------------------------------------------------
# At every hour ``t`` the network sees the load just measured and what is known about
# the next hour: the temperature forecast (here, the temperature itself) and the
# calendar (hour of day as a sine and cosine, weekend or not). The target of step
# ``t`` is ``load[t + 1]``: ``y`` is ``X``'s load column shifted by one step.
#
# The first 40 weeks are for training, the last 12 for testing. The training period is
# cut into windows of one week that start every day (overlapping): an array
# ``(n_windows, 168, 5)`` and targets ``(n_windows, 168)``, one a step.
next_hour = (hour + 1) % 24
features = np.column_stack([
    load,
    np.r_[temperature[1:], np.nan],
    np.sin(2 * np.pi * next_hour / 24),
    np.cos(2 * np.pi * next_hour / 24),
    np.r_[weekend[1:], False],
])[:-1]  # the last hour has no next hour
target = load[1:]
week = 24 * 7
split = 40 * week
starts = range(0, split - week + 1, 24)
X_train = np.stack([features[s:s + week] for s in starts])
y_train = np.stack([target[s:s + week] for s in starts])
print(f"X_train {X_train.shape}, y_train {y_train.shape}")

# %%
# The recurrent model, and every forecast of the test period in one call
# ----------------------------------------------------------------------
# Adam on mini-batches of 32 windows, at most 80 epochs (training stops earlier when
# the loss no longer improves). For the test period, ``predict`` reads one long
# sequence: a week before the test period (to warm the state up) and the 12 test
# weeks. Because the model is causal, the prediction at each step only uses hours up
# to that step: each is a genuine one-step-ahead forecast.
#
# ``bidirectional=True`` would be a mistake here: reading the sequence backwards, the
# prediction at step ``t`` (the load of hour ``t + 1``) would see the input of step
# ``t + 1``, which holds that very load.
results = {}
start = time.perf_counter()
rnn = RNNSequenceRegressor(batch_size=32, max_iter=80, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    rnn.fit(X_train, y_train)
X_test = features[split - week:]  # (week + test hours, 5)
pred_rnn = rnn.predict(X_test[np.newaxis])[0, week:]  # (1, T) -> the test hours
y_test = target[split:]
results["RNNSequenceRegressor"] = (mean_absolute_error(y_test, pred_rnn),
                                   time.perf_counter() - start)
print(f"{rnn.n_iter_} epochs; {len(y_test)} one-step-ahead forecasts")

# %%
# The baselines
# -------------
# Two naive forecasts (the load of this hour; the same hour a week ago), then a table
# with one row an hour: the last 24 or 168 loads and the same four covariates, fed to
# a ridge regression (penalty chosen by cross-validation) and to gradient boosting.
results["this hour (persistence)"] = (mean_absolute_error(y_test, load[split:-1]), 0.0)
results["same hour last week"] = (
    mean_absolute_error(y_test, load[split + 1 - week:n - week]), 0.0)


def lag_table(n_lags):
    """Row t: load[t], load[t-1], ..., load[t-n_lags+1], then the covariates of t."""
    lags = np.column_stack([np.r_[np.full(k, np.nan), load[:n - k]] for k in range(n_lags)])
    return np.column_stack([lags[:-1], features[:, 1:]])


predictions = {"RNNSequenceRegressor": pred_rnn}
for n_lags in [24, week]:
    table = lag_table(n_lags)
    rows = slice(n_lags - 1, split)  # the training hours with a full window of lags
    for name, model in [("ridge", RidgeCV(alphas=np.logspace(-3, 3, 7))),
                        ("gradient boosting",
                         HistGradientBoostingRegressor(random_state=0))]:
        start = time.perf_counter()
        model.fit(table[rows], target[rows])
        pred = model.predict(table[split:])
        key = f"{name}, {n_lags} lags"
        results[key] = (mean_absolute_error(y_test, pred), time.perf_counter() - start)
        predictions[key] = pred

# %%
# Mean absolute error of the next-hour forecasts over the 12 test weeks, in MW (the
# mean load is about 130 MW). The noise added at each hour is Gaussian with a standard
# deviation of 2 MW, and it cannot be forecast: even a model that knew how the series
# was made would have an error of about ``2 * sqrt(2 / pi) = 1.60`` MW.
print(f"{'forecast':32} {'MAE (MW)':>9} {'fit (s)':>8}")
for name, (mae, seconds) in sorted(results.items(), key=lambda item: -item[1][0]):
    print(f"{name:32} {mae:9.2f} {seconds:8.1f}")
print(f"{'noise floor':32} {noise_std * np.sqrt(2 / np.pi):9.2f}")

# %%
# The recurrent model is the closest to the noise floor (1.65 MW against 1.60 when
# this was written), ahead of the ridge regression on a week of lags (2.08), the best
# baseline: with the same hour a week before in its row the relation is nearly linear,
# but it has 172 coefficients to learn from about 6,600 rows. Gradient boosting does
# better with 24 lags than with 168: trees on lags need the right window. The
# baselines fit in a fraction of the time. The numbers are from one synthetic series
# and one seed; on your data, run the same comparison.
#
# One test week
# -------------
best_baseline = min((k for k in results if k in predictions and k != "RNNSequenceRegressor"),
                    key=lambda k: results[k][0])
days = slice(4 * week, 5 * week)
hours = (split + np.arange(len(y_test)))[days] / 24
fig, (ax, ax_err) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True,
                                 gridspec_kw={"height_ratios": [2, 1]})
ax.plot(hours, y_test[days], color="k", lw=1, label="load")
ax.plot(hours, pred_rnn[days], color="tab:blue", lw=1, label="RNNSequenceRegressor")
ax.plot(hours, predictions[best_baseline][days], color="tab:green", lw=1, alpha=0.8,
        label=best_baseline)
ax.set(ylabel="load (MW)", title="Next-hour forecasts over one test week")
ax.legend(loc="upper right", fontsize="small")
ax_err.plot(hours, np.abs(pred_rnn[days] - y_test[days]), color="tab:blue", lw=0.8)
ax_err.plot(hours, np.abs(predictions[best_baseline][days] - y_test[days]),
            color="tab:green", lw=0.8, alpha=0.8)
ax_err.set(xlabel="day of the year", ylabel="absolute error (MW)")
fig.tight_layout()

# %%
# Error by hour of the day
# ------------------------
# The recurrent model stays within about 0.3 MW of the noise floor at every hour of
# the day; the best baseline's error is higher at every hour and varies more with
# it.
test_hour = (split + 1 + np.arange(len(y_test))) % 24  # the hour being forecast
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, color in [("RNNSequenceRegressor", "tab:blue"), (best_baseline, "tab:green")]:
    err = np.abs(predictions[name] - y_test)
    ax.plot(range(24), [err[test_hour == h].mean() for h in range(24)], marker="o",
            ms=3, color=color, label=name)
ax.axhline(noise_std * np.sqrt(2 / np.pi), color="gray", ls="--", lw=0.8,
           label="noise floor")
ax.set(xlabel="hour forecast", ylabel="MAE (MW)", xticks=range(0, 24, 3))
ax.legend(fontsize="small")
fig.tight_layout()

plt.show()
