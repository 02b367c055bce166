"""
========================================================
Running a grid search on a dask cluster
========================================================

A grid search is many independent fits: one per candidate and cross-validation fold.
scikit-learn runs them through ``joblib``, and joblib's ``"dask"`` backend sends them
to the workers of a `dask.distributed <https://distributed.dask.org>`_ cluster instead
of local processes. Nothing changes in the estimator or in ``GridSearchCV``: the
search is wrapped in ``joblib.parallel_backend("dask")``, and with the same
``random_state`` it gives the same results as a local search, fit for fit.

This example starts a small cluster inside this process (two workers with one thread
each, talking to their scheduler over TCP on 127.0.0.1 only), so it runs anywhere. On a real
cluster, only the line that creates the ``Client`` changes: connect it to the
cluster's scheduler, e.g. ``Client("tcp://scheduler-host:8786")``, or create it from
a ``dask_jobqueue`` or ``dask_kubernetes`` cluster object. The workers need skrnn
installed, in the same version as the client.

This example needs ``pip install "dask[distributed]"``.
"""

# %%
# The data
# --------
# Noisy sine waves of random frequency; the target is the frequency, read from 30
# timesteps of the wave.
import time
import warnings

import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skrnn import RNNRegressor

rng = np.random.RandomState(0)
n_samples, n_timesteps = 180, 30
frequency = rng.uniform(0.1, 0.5, size=n_samples)
phase = rng.uniform(0, 2 * np.pi, size=n_samples)
t = np.arange(n_timesteps)
X = np.sin(frequency[:, None] * t + phase[:, None])
X += 0.1 * rng.normal(size=X.shape)
X = X[:, :, None]  # (n_samples, n_timesteps, 1 feature)
y = frequency

# %%
# The search, locally
# -------------------
# Four candidates (two widths times two learning rates), three folds: twelve fits of
# 20 Adam epochs (minibatches of 32) each. ``random_state`` is an integer, so every
# fit starts from the same weights and sees the same minibatches wherever it runs.
# (The :class:`~sklearn.exceptions.ConvergenceWarning` saying that 20 epochs do not
# converge is silenced.)
param_grid = {"hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [0.01, 0.03]}
estimator = RNNRegressor(max_iter=20, batch_size=32, random_state=0)

start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    local = GridSearchCV(estimator, param_grid, cv=3, n_jobs=1).fit(X, y)
local_s = time.perf_counter() - start

# %%
# The same search, on the cluster
# -------------------------------
# ``processes=False`` keeps the workers in this process (on a cluster, each is a
# process, on machines of their own); ``protocol="tcp"`` with ``host="127.0.0.1"``
# makes them talk to the scheduler over TCP on the loopback interface, as remote
# workers would. One thread per worker: a fit holds the GIL for its many small NumPy
# operations, so two fits in two threads of one process run no faster than one after
# the other; scale out with worker *processes*, each with one thread.
# ``get_task_stream`` records which task ran when, and where.
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       protocol="tcp", host="127.0.0.1",
                       dashboard_address="127.0.0.1:0")  # any free port, loopback
client = Client(cluster)
print(client)

start = time.perf_counter()
with get_task_stream(client) as tasks, joblib.parallel_backend("dask"), \
        warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    remote = GridSearchCV(estimator, param_grid, cv=3, n_jobs=-1).fit(X, y)
remote_s = time.perf_counter() - start
records = [r for r in tasks.data if "_fit_and_score" in r["key"]]
print(f"{len(records)} tasks ran on {sorted({r['worker'] for r in records})}")
client.close()
cluster.close()

print(f"local search: {local_s:.1f} s, on the cluster: {remote_s:.1f} s")
print("best parameters, local:  ", local.best_params_)
print("best parameters, cluster:", remote.best_params_)
print("largest difference of mean CV R^2:",
      np.max(np.abs(remote.cv_results_["mean_test_score"]
                    - local.cv_results_["mean_test_score"])))

# %%
# The tasks on the worker, and the scores
# ---------------------------------------
# Left: each bar is a task that joblib sent to the cluster, a batch of fits (joblib
# groups short fits into batches), from its start to its end, on the worker that ran
# it. Right: the mean cross-validated :math:`R^2` of each candidate, the same for the
# two runs.
#
# Do not read much into the two wall times printed above: the two workers of this toy
# cluster live in one process and share its GIL, and they pay the scheduling and the
# round trips for work that the local search runs directly. The gain comes from
# worker processes on cores of their own: ``W`` of them run the twelve fits up to
# ``W`` times faster.
t0 = min(r["startstops"][0]["start"] for r in records)
workers = sorted({r["worker"] for r in records})
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2),
                               gridspec_kw={"width_ratios": [1.3, 1]})
for r in records:
    for s in r["startstops"]:
        if s["action"] == "compute":
            ax1.barh(workers.index(r["worker"]), s["stop"] - s["start"],
                     left=s["start"] - t0, height=0.6, color="C0", edgecolor="w")
ax1.set(yticks=range(len(workers)), yticklabels=[w[6:] for w in workers],
        xlabel="seconds since the first task", title="Batches of fits on the workers")

labels = [f"H={p['hidden_layer_sizes'][0]}, lr={p['learning_rate_init']}"
          for p in local.cv_results_["params"]]
pos = np.arange(len(labels))
ax2.barh(pos - 0.2, local.cv_results_["mean_test_score"], height=0.4,
         label="local (n_jobs=1)")
ax2.barh(pos + 0.2, remote.cv_results_["mean_test_score"], height=0.4,
         label="dask cluster")
ax2.set(yticks=pos, yticklabels=labels, xlabel="mean CV $R^2$", title="Same scores")
ax2.set_xlim(0, 1.35)
ax2.legend(loc="lower right", fontsize="small")
fig.tight_layout()
plt.show()

# %%
# What runs where
# ---------------
# joblib's dask backend ships each batch of fits to a worker, with the estimator and
# the data it needs; the workers send back the scores; the refit of the best candidate
# on all the data (``refit=True``) then runs in the client process. Arguments larger
# than a kilobyte, such as ``X`` and ``y``, are scattered to the workers once and
# reused by every fit, so a grid of many candidates over one data set costs little
# network traffic. Each fit runs on one worker, with the memory of a one-machine fit.
