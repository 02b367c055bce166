"""
==========================================================
A fitted RNN as a feature extractor for any estimator
==========================================================

A fitted :class:`~skrnn.RNNClassifier` reads each sequence into the pooled states of its
last recurrent layer, and its output layer is a logistic regression on them.
:meth:`~skrnn.RNNClassifier.transform` returns those pooled features, so a fitted
network feeds any scikit-learn estimator, and ``get_feature_names_out`` names them for
a ``Pipeline``.

Here the digits of :func:`sklearn.datasets.load_digits` are read row by row (8
timesteps of 8 pixels) by a bidirectional GRU with mean pooling; its features then
feed a :class:`~sklearn.linear_model.LogisticRegression`, which we compare with the
network's own head and with a logistic regression on the raw pixels.
"""

# %%
# Fit the network, then read its features
# ----------------------------------------
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skrnn import RNNClassifier

digits = load_digits()
X = digits.images / 16.0  # (1797, 8, 8): samples, timesteps (rows), features (pixels)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

rnn = RNNClassifier(hidden_layer_sizes=(16,), bidirectional=True, pooling="mean",
                    max_iter=40, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    rnn.fit(X_train, y_train)
F_train, F_test = rnn.transform(X_train), rnn.transform(X_test)
print("features:", F_train.shape, rnn.get_feature_names_out()[:3], "...")

# %%
# The features feed another estimator
# -----------------------------------
features_lr = LogisticRegression(max_iter=2000).fit(F_train, y_train)
pixels_lr = LogisticRegression(max_iter=2000).fit(X_train.reshape(len(X_train), -1),
                                                  y_train)
scores = {
    "RNN (its own head)": rnn.score(X_test, y_test),
    "RNN features + LogisticRegression": features_lr.score(F_test, y_test),
    "LogisticRegression on the pixels": pixels_lr.score(
        X_test.reshape(len(X_test), -1), y_test),
}
for name, score in scores.items():
    print(f"{name:36s} test accuracy {score:.3f}")

# %%
# What the features look like
# ---------------------------
# The 32 pooled features (16 a direction) of the test digits, projected on their first
# two principal components: the network has already separated most classes.
P = PCA(n_components=2).fit(F_train).transform(F_test)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
points = ax.scatter(P[:, 0], P[:, 1], c=y_test, cmap="tab10", s=12)
ax.legend(*points.legend_elements(), title="digit", fontsize=7, loc="best")
ax.set(title="RNN features of the test digits (PCA)", xlabel="component 1",
       ylabel="component 2")
fig.tight_layout()
plt.show()
