"""
=======================================================
Handwritten digits read row by row by a recurrent net
=======================================================

Each 8x8 image of :func:`sklearn.datasets.load_digits` becomes a sequence of 8
timesteps (the rows, top to bottom) with 8 features (the pixels of a row): a 3-D array
of shape ``(n_samples, n_timesteps, n_features) = (1797, 8, 8)``. A recurrent
classifier reads the rows one after the other and predicts the digit from its final
hidden state, without ever seeing the image as a whole.

We fit the three cells (Elman, LSTM, GRU) with Adam and compare their learning curves,
then look at the GRU's confusion matrix and at the digits it gets wrong.
"""

# %%
# The data: images as sequences of rows
# --------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from skrnn import RNNClassifier

digits = load_digits()
X = digits.images / 16.0  # (1797, 8, 8): samples, timesteps (rows), features (pixels)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(f"train: {X_train.shape}, test: {X_test.shape}")

# %%
# What the network sees at each timestep is one row of pixels. Here is the first
# training digit, and the same digit as the sequence of its 8 rows.
fig, (ax_img, ax_seq) = plt.subplots(1, 2, figsize=(8, 3.2),
                                     gridspec_kw={"width_ratios": [1, 2.2]})
ax_img.imshow(X_train[0], cmap="gray_r")
ax_img.set(title=f"image (label {y_train[0]})", xticks=[], yticks=[])
ax_seq.imshow(X_train[0].T, cmap="gray_r", aspect="auto")
ax_seq.set(title="sequence: one column per timestep", xlabel="timestep t (row)",
           ylabel="feature (pixel in row)")
ax_seq.set_xticks(range(8))
fig.tight_layout()

# %%
# Three cells, one interface
# --------------------------
# The three cells only differ by the ``cell`` parameter. With ``solver='adam'``
# (the default) each estimator records the training loss after each epoch in
# ``loss_curve_``. Thirty epochs are enough for this example (more would still lower
# the training loss, hence the silenced
# :class:`~sklearn.exceptions.ConvergenceWarning`).
models = {}
for cell in ["rnn", "lstm", "gru"]:
    clf = RNNClassifier(cell=cell, hidden_layer_sizes=(32,), max_iter=30,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[cell] = clf.fit(X_train, y_train)
    print(f"cell={cell!r:7} test accuracy {clf.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for cell, clf in models.items():
    ax.plot(np.arange(1, clf.n_iter_ + 1), clf.loss_curve_, label=f"cell={cell!r}")
ax.set(xlabel="epoch", ylabel="training log-loss", yscale="log",
       title="Learning curves on the digits")
ax.legend()
fig.tight_layout()

# %%
# On 8 timesteps the gates are not needed: the Elman cell (``'rnn'``) learns as well
# as the gated cells and is the cheapest per epoch. Gates pay off when the
# information must be kept over many steps; see
# :ref:`sphx_glr_auto_examples_plot_adding_problem.py`.
#
# Which digits does the GRU confuse?
# ----------------------------------
gru = models["gru"]
y_pred = gru.predict(X_test)
fig, ax = plt.subplots(figsize=(5, 4.5))
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False)
ax.set_title("GRU, test set")
fig.tight_layout()

# %%
# The misclassified digits, with the predicted class and its probability
# (``predict_proba``):
wrong = np.flatnonzero(y_pred != y_test)
proba = gru.predict_proba(X_test[wrong]).max(axis=1)
n_show = min(len(wrong), 10)
fig, axes = plt.subplots(1, n_show, figsize=(1.3 * n_show, 1.9), squeeze=False)
for ax, i, p in zip(axes[0], wrong[:n_show], proba[:n_show]):
    ax.imshow(X_test[i], cmap="gray_r")
    ax.set_title(f"{y_test[i]} -> {y_pred[i]}\np={p:.2f}", fontsize=9)
    ax.set_axis_off()
fig.suptitle("Misclassified test digits (true -> predicted)", fontsize=10)
fig.tight_layout()
plt.show()
