"""skrnn: recurrent neural networks (Elman, LSTM, GRU) as scikit-learn estimators.

Exact backpropagation through time in NumPy, trained with SciPy's L-BFGS or skrnn's
own SGD and Adam, with the parameters and behaviour of ``MLPRegressor`` and
``MLPClassifier``.
"""

from ._estimators import RNNClassifier, RNNRegressor

__all__ = ["RNNClassifier", "RNNRegressor"]
__version__ = "0.1.0.dev0"
