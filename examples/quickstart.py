"""Quickstart: classify handwritten digits with a GRU, read row by row.

Each 8x8 image of ``sklearn.datasets.load_digits`` becomes a sequence of 8 timesteps
(the rows) with 8 features (the pixels of a row). An ``RNNClassifier`` in a
``Pipeline`` reads the rows one after the other and predicts the digit.

Run with ``python examples/quickstart.py``.
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skrnn import RNNClassifier

digits = load_digits()
X = digits.images / 16.0  # (1797, 8, 8): samples, timesteps (rows), features (pixels)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

clf = RNNClassifier(hidden_layer_sizes=(32,), cell="gru", max_iter=60,
                    early_stopping=True, random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train)
seconds = time.perf_counter() - start
print(f"RNNClassifier(cell='gru'): {clf.n_iter_} epochs in {seconds:.1f} s, "
      f"test accuracy {clf.score(X_test, y_test):.3f}")

# the same rows, flattened, for a multi-layer perceptron
mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=0)
mlp.fit(X_train.reshape(len(X_train), -1), y_train)
print(f"MLPClassifier on flattened pixels: test accuracy "
      f"{mlp.score(X_test.reshape(len(X_test), -1), y_test):.3f}")

proba = clf.predict_proba(X_test[:5])
print("first five test digits:", y_test[:5], "predicted:", clf.predict(X_test[:5]))
print("their most likely class has probability", np.round(proba.max(axis=1), 3))
