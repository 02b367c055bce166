"""skrnn: recurrent neural networks (Elman, LSTM, GRU) as scikit-learn estimators.

Exact backpropagation through time in NumPy, trained with SciPy's L-BFGS or skrnn's
own SGD and Adam, with the parameters and behaviour of ``MLPRegressor`` and
``MLPClassifier``.
"""

from ._estimators import RNNClassifier, RNNRegressor
from ._sequence_estimators import RNNSequenceClassifier, RNNSequenceRegressor

__all__ = ["RNNClassifier", "RNNRegressor", "RNNSequenceClassifier",
           "RNNSequenceRegressor", "to_onnx"]
__version__ = "0.1.0.dev0"


def to_onnx(model, X=None, **kwargs):
    """Convert a fitted skrnn estimator (any of the four) to ONNX.

    A shortcut to :func:`skrnn.onnx.to_onnx` (see it for the parameters), which
    imports onnx and skl2onnx only when called: ``pip install "skrnn[onnx]"``.
    """
    from .onnx import to_onnx as _to_onnx

    return _to_onnx(model, X, **kwargs)
