"""Quickstart: classify handwritten digits with skrnn's defaults, read row by row.

Each 8x8 image of ``sklearn.datasets.load_digits`` becomes a sequence of 8 timesteps
(the rows) with 8 features (the pixels of a row). ``RNNClassifier()`` with its default
parameters (a bidirectional GRU whose states are max-pooled over the rows) reads the
rows one after the other and predicts the digit. We report **test** accuracy, next to
what a user would try first: ``MLPClassifier`` on the flattened pixels, with its own
defaults, on the same split.

Run with ``python examples/quickstart.py``.
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skrnn import RNNClassifier

digits = load_digits()
X = digits.images  # (1797, 8, 8): samples, timesteps (rows), features (pixels 0-16)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

models = {
    "RNNClassifier() on the rows": (RNNClassifier(random_state=0), X_train, X_test),
    "MLPClassifier() on the flattened pixels": (
        MLPClassifier(random_state=0),
        X_train.reshape(len(X_train), -1),
        X_test.reshape(len(X_test), -1),
    ),
}
for name, (model, train, test) in models.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train, y_train)
    seconds = time.perf_counter() - start
    print(f"{name:40s} test accuracy {model.score(test, y_test):.3f}  "
          f"(fit {seconds:.1f} s)")

clf = models["RNNClassifier() on the rows"][0]
print("first five test digits:", y_test[:5], "predicted:", clf.predict(X_test[:5]))
print("their most likely class has probability",
      clf.predict_proba(X_test[:5]).max(axis=1).round(3))
