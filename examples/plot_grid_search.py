"""
========================================================
Tuning a recurrent net in a Pipeline with GridSearchCV
========================================================

skrnn's estimators are scikit-learn estimators, so the usual tools apply unchanged:
:class:`~sklearn.pipeline.Pipeline` chains preprocessing and the network,
:class:`~sklearn.model_selection.GridSearchCV` cross-validates the grid of parameters,
and parameters are addressed as ``<step>__<parameter>``.

The data is the classic *cylinder-bell-funnel* problem (Saito, 1994), generated with
NumPy: univariate sequences that hold a plateau, a rising ramp or a falling ramp at a
random place, with random length and height, in noise. Univariate sequences go in as a
2-D array ``(n_samples, n_timesteps)``, one column per timestep, which is also what
scikit-learn transformers take and return.
"""

# %%
# The data
# --------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skrnn import RNNClassifier

CLASSES = np.array(["cylinder", "bell", "funnel"])


def cylinder_bell_funnel(n, n_timesteps, rng):
    t = np.arange(n_timesteps)
    y = rng.randint(3, size=n)
    a = rng.randint(n_timesteps // 8, n_timesteps // 4 + 1, size=n)[:, None]
    b = a + rng.randint(n_timesteps // 4, 3 * n_timesteps // 4 + 1, size=n)[:, None]
    inside = (t >= a) & (t <= b)
    ramp = (t - a) / (b - a)
    shape = np.where(y[:, None] == 0, 1.0, np.where(y[:, None] == 1, ramp, 1 - ramp))
    height = 6 + rng.normal(size=(n, 1))
    X = height * inside * shape + rng.normal(size=(n, n_timesteps))
    return X, CLASSES[y]


rng = np.random.RandomState(0)
X, y = cylinder_bell_funnel(360, 32, rng)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=1 / 3,
                                                    stratify=y, random_state=0)

fig, axes = plt.subplots(1, 3, figsize=(9, 2.6), sharey=True)
for ax, name in zip(axes, CLASSES):
    ax.plot(X_train[y_train == name][:3].T, lw=1)
    ax.set(title=name, xlabel="timestep")
axes[0].set_ylabel("value")
fig.tight_layout()

# %%
# A pipeline
# ----------
# The first step standardizes each sequence on its own (zero mean, unit variance over
# its timesteps), a common normalization for time series classification; it is a
# :class:`~sklearn.preprocessing.FunctionTransformer` of a row-wise function. The
# second step is the recurrent classifier, fitted with L-BFGS: on a few hundred short
# sequences, 60 iterations take a second or two and are enough to rank the candidates
# (the :class:`~sklearn.exceptions.ConvergenceWarning` saying that more iterations
# would lower the training loss further is silenced below).


def standardize_rows(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)


pipe = make_pipeline(
    FunctionTransformer(standardize_rows),
    RNNClassifier(solver="lbfgs", max_iter=60, random_state=0),
)

# %%
# The grid search
# ---------------
# We compare the three cells at two widths. ``n_jobs=1`` keeps this example light; set
# ``n_jobs=-1`` to fit the candidates on all cores.
param_grid = {
    "rnnclassifier__cell": ["rnn", "lstm", "gru"],
    "rnnclassifier__hidden_layer_sizes": [(4,), (12,)],
}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Cross-validated accuracy and fit time of every candidate:
results = search.cv_results_
cells = param_grid["rnnclassifier__cell"]
sizes = param_grid["rnnclassifier__hidden_layer_sizes"]
scores = np.empty((len(cells), len(sizes)))
times = np.empty_like(scores)
for params, score, fit_time in zip(results["params"], results["mean_test_score"],
                                   results["mean_fit_time"]):
    i = cells.index(params["rnnclassifier__cell"])
    j = sizes.index(params["rnnclassifier__hidden_layer_sizes"])
    scores[i, j], times[i, j] = score, fit_time

fig, ax = plt.subplots(figsize=(5.5, 3.6))
im = ax.imshow(scores, cmap="viridis", vmin=scores.min() - 0.05, vmax=1.0)
for i in range(len(cells)):
    for j in range(len(sizes)):
        ax.text(j, i, f"{scores[i, j]:.3f}\n{times[i, j]:.1f} s", ha="center",
                va="center", color="w" if scores[i, j] < scores.max() - 0.03 else "k")
ax.set_xticks(range(len(sizes)), [f"H={s[0]}" for s in sizes])
ax.set_yticks(range(len(cells)), [f"cell={c!r}" for c in cells])
ax.set_title("Mean CV accuracy and fit time")
fig.colorbar(im, ax=ax)
fig.tight_layout()
plt.show()

# %%
# The Elman cell (``'rnn'``) is the fastest and the least accurate: to tell a bell
# from a funnel it must carry what it saw of the event through the noise that follows
# it, up to 19 timesteps, and its memory fades over that distance. The gated cells
# keep it; the GRU is the default cell of skrnn because it does
# so with three gates instead of the LSTM's four.
#
# Any other scikit-learn tool works the same way:
# :func:`~sklearn.model_selection.cross_val_score`, :func:`~sklearn.base.clone`,
# :class:`~sklearn.model_selection.RandomizedSearchCV` with distributions over
# ``alpha`` or ``learning_rate_init``, and pickling the fitted search.
