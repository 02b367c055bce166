"""skrnn: recurrent neural networks as scikit-learn estimators."""
