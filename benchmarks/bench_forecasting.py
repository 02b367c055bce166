"""Forecasting real series: skrnn through skforecast and sktime against the baselines.

The series are the forecasting sets of ``shared/data`` (see its README): airline, co2,
elnino and shampoo (monthly), lynx and nile (yearly). They are read from
``../shared/data`` beside the repository, or from the folder named by the environment
variable ``SKRNN_DATA``. Each is split as stored, 80/20 in time: the models are fitted
on ``series[:split]`` once, and scored on ``series[split:]`` two ways:

- ``one-step``: the forecast of each test value from the true history before it (the
  fitted model is not refitted; the forecasting libraries get the new observations,
  statsmodels filters them with the fitted parameters);
- ``horizon``: one forecast of the whole test period from the end of the training data.

Both are RMSE in the series' units. The choices are fixed rules, not tuned on any test
split: the seasonal period ``m`` is 12 for monthly series and 1 for yearly ones (so
the seasonal-naive forecast of a yearly series is the naive one); the number of lags
``k`` is 12 for monthly series and 10 for yearly ones, at most a third of the
training series (shampoo: 9).

Models (``--models`` picks some):

- ``naive``: the last value; ``snaive``: the value ``m`` steps back;
- ``ridge``, ``ridge-diff``: skforecast's ``ForecasterRecursive(Ridge(), lags=k)``,
  without and with ``differentiation=1``;
- ``arima``: statsmodels' ``SARIMAX``, (1,1,1)x(0,1,1)_12 for monthly series and
  (2,1,1) for yearly ones; ``ets``: statsmodels' ``ETSModel``, additive errors and
  damped trend, additive seasonality for monthly series;
- ``rnn``, ``rnn-diff``: skrnn's default pipeline in skforecast,
  ``ForecasterRecursive(make_pipeline(LagsToSequences(k), RNNRegressor()), lags=k)``,
  without and with ``differentiation=1``; ``rnn-es-diff``: the same with
  ``RNNRegressor(early_stopping=True)``; ``rnn-rel``: the same pipeline with
  ``RNNRegressor(relative_to_last=0)`` (each window and its forecast relative to the
  window's last value), without differencing;
- ``rnn-sktime``: the default network through sktime's
  ``make_reduction(..., strategy="recursive", window_length=k)`` with
  ``LagsToSequences(k, order="oldest_first", exog="lagged")``: the same windows and
  seed as ``rnn``, so the same forecasts (a check of the two bridges);
- ``rnn-mo-diff``: sktime's ``strategy="multioutput"`` behind sktime's ``Differencer``:
  one network with one output a horizon step (a direct multi-output head), horizon
  only (sktime 1.2's ``Differencer`` does not take new observations in
  ``update(update_params=False)``, so no one-step forecasts through it);
  ``rnn-mo-rel``: the same head with ``RNNRegressor(relative_to_last=0)`` and no
  ``Differencer`` (every step's forecast relative to the window's last value), one
  step (its first output) and horizon.

``--validate`` scores inside the training period instead, to choose designs without
the test split: each series cut to its first ``split`` values, fitted on their first
80 % and scored on the rest (``k`` at most a third of that fit).

``--series`` also takes series outside ``shared/data``, to check a choice made on the
six independently: statsmodels' ``sunspots`` (yearly, ``k`` = 10) and the quarterly
US macro series ``realgdp``, ``cpi``, ``unemp``, ``infl``, ``tbilrate`` and ``m1``
(``k`` = 8, two years; seasonal period 4), split 80/20 in time.

``--tsf PATH`` forecasts every series of a file of the Monash forecasting archive
(``.tsf``: for instance the 181 yearly series of the M1 competition, which aeon
bundles) with at least ``--min-length`` values (20 by default) and none missing, by
the same rules (the period from the file's ``@frequency``: 12 monthly, 4 quarterly, else 1;
``k`` 12, 8 or 10, at most a third of the training part). After the tables, a
summary over all series gives, for each model, the geometric mean of its RMSE
divided by Ridge's and by the seasonal-naive forecast's, and the share of series on
which it is lower.

Results (3 seeds, about 2.5 minutes on one core) are in the user guide's forecasting
page. The RNNs use ``RNNRegressor``'s defaults with ``random_state`` = 0, 1, ...
(``--seeds``): each cell is the mean over the seeds, and ``--json`` keeps each seed.
The table goes to standard output (``--rst`` for a reStructuredText list-table),
progress to standard error.

Usage::

    python benchmarks/bench_forecasting.py --seeds 3 --json forecasting.json
    python benchmarks/bench_forecasting.py --series airline,lynx --models naive,rnn
    python benchmarks/bench_forecasting.py --tsf m1_yearly_dataset.tsf \\
        --models naive,ridge,rnn,rnn-rel
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skrnn import RNNRegressor
from skrnn.preprocessing import LagsToSequences

SERIES = ("airline", "co2", "elnino", "lynx", "nile", "shampoo")
MODELS = ("naive", "snaive", "ridge", "ridge-diff", "arima", "ets", "rnn", "rnn-diff",
          "rnn-es-diff", "rnn-rel", "rnn-sktime", "rnn-mo-diff", "rnn-mo-rel")
SEEDED = tuple(m for m in MODELS if m.startswith("rnn"))


def data_dir():
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("SKRNN_DATA", default))


#: Series outside shared/data, from statsmodels' datasets (``--series``), to check a
#: choice made on the six above independently: name -> (loader, period m).
EXTRA = {
    "sunspots": (lambda sm: sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"], 1),
    **{col: ((lambda sm, col=col: sm.datasets.macrodata.load_pandas().data[col]), 4)
       for col in ("realgdp", "cpi", "unemp", "infl", "tbilrate", "m1")},
}


#: Series of a ``.tsf`` file (``--tsf``): name -> (values, period m).
TSF = {}


def read_tsf(path, min_length):
    """The series of a Monash ``.tsf`` file with at least ``min_length`` values and
    none missing, and their seasonal period (from ``@frequency``)."""
    periods = {"monthly": 12, "quarterly": 4}
    m, series = 1, {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if line.lower().startswith("@frequency"):
                m = periods.get(line.split()[1].lower(), 1)
            if not line or line.startswith(("#", "@")):
                continue
            name, *_, values = line.split(":")
            values = np.array([np.nan if v == "?" else float(v) for v in values.split(",")])
            if len(values) >= min_length and np.isfinite(values).all():
                series[name] = values
    return {name: (values, m) for name, values in series.items()}


def n_lags(m, split):
    """The rule for ``k``: 12 lags of a monthly series, 8 of a quarterly one, 10
    otherwise, at most a third of the ``split`` training values."""
    return min({12: 12, 4: 8}.get(m, 10), split // 3)


def load(name):
    """``(series, split, m, k)``: the series, its training length, its seasonal period
    and its number of lags."""
    if name in TSF:
        values, m = TSF[name]
    elif name in EXTRA:  # yearly (sunspots) or quarterly (US macro data, 1959-2009)
        import statsmodels.api as sm

        loader, m = EXTRA[name]
        values = loader(sm).to_numpy(dtype=np.float64)
    else:  # shared/data: split as stored
        d = np.load(data_dir() / f"{name}.npz")
        values, split = d["series"].astype(np.float64), int(d["split"])
        m = 12 if "-" in str(d["time"][0]) else 1  # monthly dates, or years
        return pd.Series(values, name=name), split, m, n_lags(m, split)
    split = int(round(0.8 * len(values)))
    return pd.Series(values, name=name), split, m, n_lags(m, split)


def rmse(pred, true):
    return float(np.sqrt(np.mean((np.asarray(pred, float) - np.asarray(true, float)) ** 2)))


# --------------------------------------------------------------------------------------
# Models: each returns (one-step forecasts, horizon forecasts) over the test split


def baseline(y, split, m):
    values = y.to_numpy()
    H = len(y) - split
    one_step = values[split - m:len(y) - m]
    season = values[split - m:split]
    horizon = np.resize(season, H)  # the last season, repeated
    return one_step, horizon


def skforecast_model(estimator, y, split, k, differentiation):
    from skforecast.recursive import ForecasterRecursive

    forecaster = ForecasterRecursive(estimator, lags=k, differentiation=differentiation)
    forecaster.fit(y=y.iloc[:split])
    H = len(y) - split
    horizon = forecaster.predict(steps=H).to_numpy()
    one_step = np.array([
        forecaster.predict(steps=1, last_window=y.iloc[:t]).iloc[0]
        for t in range(split, len(y))
    ])
    return one_step, horizon


def rnn_pipeline(k, seed, rnn_params=None, **bridge):
    return make_pipeline(LagsToSequences(n_lags=k, **bridge),
                         RNNRegressor(random_state=seed, **(rnn_params or {})))


def sktime_model(y, split, k, seed, difference, strategy="recursive", rnn_params=None):
    from sktime.forecasting.compose import TransformedTargetForecaster, make_reduction
    from sktime.transformations.series.difference import Differencer

    H = len(y) - split
    reducer = make_reduction(
        rnn_pipeline(k, seed, rnn_params, order="oldest_first", exog="lagged"),
        strategy=strategy, window_length=k)
    forecaster = (TransformedTargetForecaster([("diff", Differencer()), ("rnn", reducer)])
                  if difference else reducer)
    forecaster.set_config(remember_data=True)
    fh = np.arange(1, H + 1)
    forecaster.fit(y.iloc[:split], fh=fh)
    horizon = forecaster.predict(fh=fh).to_numpy()
    if difference:
        # sktime 1.2's Differencer does not take new observations in
        # update(update_params=False): its one-step forecasts would integrate from the
        # end of the training data. Horizon forecasts only.
        return np.full(H, np.nan), horizon
    # each test value from the true history before it: the new observations update
    # the forecaster's data, not its network
    one_step = []
    for t in range(split, len(y)):
        if t > split:
            forecaster.update(y.iloc[t - 1:t], update_params=False)
        # (a multi-output head predicts the horizon it was fitted for: its first step)
        one_step.append(forecaster.predict(fh=[1] if strategy != "multioutput"
                                           else fh).iloc[0])
    return np.array(one_step), horizon


def arima(y, split, m):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    spec = (dict(order=(1, 1, 1), seasonal_order=(0, 1, 1, 12)) if m == 12
            else dict(order=(2, 1, 1)))
    result = SARIMAX(y.iloc[:split].to_numpy(), **spec).fit(disp=False)
    horizon = result.forecast(len(y) - split)
    full = result.append(y.iloc[split:].to_numpy())  # filtered with the fitted params
    one_step = full.predict(start=split, end=len(y) - 1)
    return one_step, horizon


def ets(y, split, m):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    spec = dict(error="add", trend="add", damped_trend=True,
                seasonal="add" if m > 1 else None, seasonal_periods=m if m > 1 else None)
    result = ETSModel(y.iloc[:split].to_numpy(), **spec).fit(disp=False)
    horizon = result.forecast(len(y) - split)
    smoothed = ETSModel(y.to_numpy(), **spec).smooth(result.params)
    one_step = np.asarray(smoothed.fittedvalues)[split:]
    return one_step, horizon


def run_model(model, y, split, m, k, seed):
    if model == "naive":
        return baseline(y, split, 1)
    if model == "snaive":
        return baseline(y, split, m)
    if model in ("ridge", "ridge-diff"):
        return skforecast_model(Ridge(), y, split, k, 1 if model.endswith("diff") else None)
    if model == "arima":
        return arima(y, split, m)
    if model == "ets":
        return ets(y, split, m)
    if model in ("rnn", "rnn-diff"):
        return skforecast_model(rnn_pipeline(k, seed), y, split, k,
                                1 if model.endswith("diff") else None)
    if model == "rnn-es-diff":
        return skforecast_model(rnn_pipeline(k, seed, {"early_stopping": True}), y, split,
                                k, 1)
    if model == "rnn-rel":
        return skforecast_model(rnn_pipeline(k, seed, {"relative_to_last": 0}), y, split,
                                k, None)
    if model == "rnn-sktime":
        return sktime_model(y, split, k, seed, difference=False)
    if model == "rnn-mo-diff":
        return sktime_model(y, split, k, seed, difference=True, strategy="multioutput")
    if model == "rnn-mo-rel":
        return sktime_model(y, split, k, seed, difference=False, strategy="multioutput",
                            rnn_params={"relative_to_last": 0})
    raise ValueError(f"unknown model {model!r}")


# --------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default=",".join(SERIES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=3,
                        help="random_state 0..seeds-1 for each RNN (default 3)")
    parser.add_argument("--json", help="write every result (each seed) to this file")
    parser.add_argument("--rst", action="store_true", help="reStructuredText tables")
    parser.add_argument("--validate", action="store_true",
                        help="score inside the training periods (see the docstring)")
    parser.add_argument("--tsf", help="forecast every series of this .tsf file instead")
    parser.add_argument("--min-length", type=int, default=20,
                        help="with --tsf, the series with at least this many values")
    args = parser.parse_args(argv)
    series_names = args.series.split(",")
    if args.tsf:
        TSF.update(read_tsf(args.tsf, args.min_length))
        series_names = list(TSF)
    models = args.models.split(",")

    results = []
    start = time.perf_counter()
    for name in series_names:
        y, split, m, k = load(name)
        if args.validate:  # the training period alone, split 80/20 again
            y, split = y.iloc[:split], int(round(0.8 * split))
            k = min(k, split // 3)
        test = y.iloc[split:].to_numpy()
        for model in models:
            seeds = range(args.seeds) if model in SEEDED else [None]
            for seed in seeds:
                t0 = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    warnings.filterwarnings("ignore", category=FutureWarning)
                    warnings.filterwarnings("ignore", category=UserWarning)
                    try:
                        one_step, horizon = run_model(model, y, split, m, k, seed)
                        status = "ok"
                    except Exception as exc:  # report and go on
                        one_step = horizon = np.full(len(test), np.nan)
                        status = f"error: {type(exc).__name__}: {exc}"
                n_conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
                row = dict(series=name, model=model, seed=seed, lags=k, period=m,
                           n_train=split, n_test=len(test),
                           one_step=rmse(one_step, test), horizon=rmse(horizon, test),
                           seconds=round(time.perf_counter() - t0, 2),
                           convergence_warnings=n_conv, status=status)
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(report(results, series_names, models, args.rst))
    print(f"\ntotal {elapsed:.0f} s", file=sys.stderr)


def summarise(results, series_names, models):
    """{(series, model): (mean one-step, mean horizon, seconds per fit)}"""
    table = {}
    for name in series_names:
        for model in models:
            rows = [r for r in results if r["series"] == name and r["model"] == model]
            if rows:
                table[name, model] = tuple(
                    float(np.mean([r[key] for r in rows]))
                    for key in ("one_step", "horizon", "seconds"))
    return table


def report(results, series_names, models, rst=False):
    table = summarise(results, series_names, models)
    lines = []
    for index, what in ((0, "one-step RMSE"), (1, "whole-horizon RMSE")):
        header = ["series"] + models
        rows = [[name] + [_cell(table.get((name, m), (np.nan,) * 3)[index])
                          for m in models] for name in series_names]
        lines.append(f"{what} (RNN: mean over seeds)")
        lines.append(_table(header, rows, rst))
        lines.append("")
    def better(model, other, index):
        """The series where ``model`` has a lower RMSE than ``other``."""
        return [n for n in series_names
                if table[n, model][index] < table[n, other][index]]

    for index, what in ((0, "one step"), (1, "horizon")):
        for rnn in [m for m in models if m.startswith("rnn")]:
            if all(np.isnan(table[n, rnn][index]) for n in series_names):
                continue
            parts = [f"beats {other} on {len(better(rnn, other, index))}"
                     for other in ("ridge", "ridge-diff", "snaive") if other in models]
            if "snaive" in models:
                losses = better("snaive", rnn, index)
                parts.append(f"loses to snaive on {len(losses)}" if len(series_names) > 12
                             else f"loses to snaive on {', '.join(losses) or 'none'}")
            lines.append(f"{what}: {rnn} " + "; ".join(parts)
                         + f" (of {len(series_names)})")
    lines.extend(collection_summary(table, series_names, models))
    seconds = {m: np.mean([table[n, m][2] for n in series_names]) for m in models}
    lines.append("mean seconds per fit and forecasts: " + ", ".join(
        f"{m} {s:.1f}" for m, s in seconds.items()))
    return "\n".join(lines)


def collection_summary(table, series_names, models):
    """For each model, the geometric mean over the series of its RMSE divided by
    Ridge's and by the seasonal-naive forecast's, and the share of series on which it
    is lower (series where either RMSE is not finite left out)."""
    lines = []
    references = [r for r in ("ridge", "snaive") if r in models]
    for index, what in ((0, "one step"), (1, "horizon")):
        for model in models:
            parts = []
            a = np.array([table[n, model][index] for n in series_names])
            for ref in references:
                if ref == model:
                    continue
                b = np.array([table[n, ref][index] for n in series_names])
                ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
                if ok.any():
                    gm = float(np.exp(np.mean(np.log(a[ok] / b[ok]))))
                    parts.append(f"{gm:.3f} x {ref} (geometric mean over {ok.sum()} "
                                 f"series), lower on {np.mean(a[ok] < b[ok]):.0%}")
            if parts:
                lines.append(f"{what}: {model} " + "; ".join(parts))
    return lines


def _cell(value):
    return "-" if np.isnan(value) else f"{value:.4g}"


def _table(header, rows, rst):
    if rst:
        out = [".. list-table::", "   :header-rows: 1", ""]
        for row in [header] + rows:
            out.append(f"   * - {row[0]}")
            out.extend(f"     - {cell}" for cell in row[1:])
        return "\n".join(out)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join(fmt.format(*row) for row in [header] + rows)


if __name__ == "__main__":
    main()
