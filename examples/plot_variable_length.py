"""
=====================================
Sequences of different lengths
=====================================

Real sequences rarely share one length: sentences, sensor recordings, patient
histories. skrnn takes them as a plain Python list of arrays, each of shape
``(n_timesteps_i, n_features)`` or, for univariate sequences, ``(n_timesteps_i,)``.
Each prediction is read from the sequence's own last real timestep: padding is never
seen by the network and never enters an output or a gradient.

The task: tell apart noisy oscillations of three periods (16, 8 and 5 timesteps)
observed over windows of 4 to 40 timesteps. Short windows hold less than one period of
the slow oscillation, so they are harder; we check that the accuracy grows with the
length.
"""

# %%
# A list of sequences
# -------------------
import matplotlib.pyplot as plt
import numpy as np

from skrnn import RNNClassifier

PERIODS = np.array([16, 8, 5])


def make_sequences(n, rng):
    labels = rng.randint(len(PERIODS), size=n)
    lengths = rng.randint(4, 41, size=n)
    X = []
    for label, length in zip(labels, lengths):
        phase = rng.uniform(0, 2 * np.pi)
        steps = np.arange(length)
        x = np.sin(2 * np.pi * steps / PERIODS[label] + phase)
        X.append(x + 0.3 * rng.normal(size=length))  # a 1-D array: univariate
    return X, labels


rng = np.random.RandomState(0)
X_train, y_train = make_sequences(400, rng)
X_test, y_test = make_sequences(600, rng)
print("lengths of the first five training sequences:", [len(x) for x in X_train[:5]])

fig, axes = plt.subplots(1, 3, figsize=(9, 2.6), sharey=True)
for label, ax in enumerate(axes):
    for x in [x for x, c in zip(X_train, y_train) if c == label][:3]:
        ax.plot(x, lw=1)
    ax.set(title=f"period {PERIODS[label]}", xlabel="timestep")
axes[0].set_ylabel("value")
fig.suptitle("Three training sequences of each class", y=1.0)
fig.tight_layout()

# %%
# Fit and score
# -------------
# The list goes to ``fit``, ``predict`` and ``score`` as it is. Internally, skrnn sorts
# the sequences by length and, at each timestep, only computes the ones still running
# (as PyTorch's packed sequences do), so a long sequence in the batch costs the short
# ones nothing.
clf = RNNClassifier(cell="gru", hidden_layer_sizes=(16,), solver="lbfgs", max_iter=150,
                    random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Padding does not leak
# ---------------------
# A sequence gets the same prediction whether it is scored alone or in a batch with
# longer sequences:
batch = clf.predict_proba(X_test)
alone = np.vstack([clf.predict_proba([x]) for x in X_test[:20]])
print("largest difference, batch vs one at a time:",
      np.abs(batch[:20] - alone).max())

# %%
# Accuracy by length
# ------------------
# Longer windows hold more periods of the oscillation and the classifier becomes
# nearly perfect; below about 8 timesteps the period 16 is hard to tell from the
# period 8.
lengths = np.array([len(x) for x in X_test])
correct = clf.predict(X_test) == y_test
bins = np.arange(4, 45, 4)
centers, accuracy = [], []
for lo, hi in zip(bins[:-1], bins[1:]):
    mask = (lengths >= lo) & (lengths < hi)
    centers.append((lo + hi - 1) / 2)
    accuracy.append(correct[mask].mean())

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(centers, accuracy, width=3.2, color="C0")
ax.axhline(1 / 3, color="k", ls=":", lw=1, label="chance")
ax.set(xlabel="sequence length (timesteps)", ylabel="test accuracy", ylim=(0, 1.05),
       title="One model for every length")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# Multivariate sequences work the same way: make each element of the list a 2-D array
# ``(n_timesteps_i, n_features)``, with the same ``n_features`` for all of them.
