"""scikit-learn's own estimator checks, over the defaults and variants that cover
every cell and every solver. No check is expected to fail or skipped by us."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from skrnn import RNNClassifier, RNNRegressor

ESTIMATORS = [
    # the defaults: GRU + Adam
    RNNRegressor(random_state=0),
    RNNClassifier(random_state=0),
    # every cell and every solver, stacked layers and the poisson loss
    RNNRegressor(cell="lstm", solver="lbfgs", hidden_layer_sizes=(16,), max_iter=100,
                 random_state=0),
    RNNClassifier(cell="gru", solver="lbfgs", hidden_layer_sizes=(8, 8), max_iter=100,
                  random_state=0),
    RNNRegressor(cell="rnn", solver="sgd", learning_rate_init=0.01, random_state=0),
    RNNClassifier(cell="rnn", activation="relu", solver="sgd", random_state=0),
    RNNClassifier(cell="lstm", solver="adam", clip_norm=5.0, random_state=0),
    RNNClassifier(cell="rnn", activation="logistic", solver="adam", random_state=0),
    # the accuracy options: pooling, bidirectional layers, dropout, segments, class weights
    RNNClassifier(bidirectional=True, pooling="mean", segment_length=2, dropout=0.1,
                  random_state=0),
    RNNRegressor(cell="lstm", bidirectional=True, pooling="max", hidden_layer_sizes=(16, 8),
                 dropout=0.1, random_state=0),
    RNNRegressor(cell="rnn", solver="lbfgs", pooling="mean", segment_length="auto",
                 max_iter=100, random_state=0),
    RNNClassifier(solver="lbfgs", class_weight="balanced", bidirectional=True,
                  max_iter=100, random_state=0),
    # the linear skip: the regressor's default (also with L-BFGS, above); on the
    # classifier, with segments, on the raw window; the regressor without it
    RNNClassifier(linear_skip=True, sequence_norm=False, segment_length=2,
                  random_state=0),
    RNNRegressor(linear_skip=False, random_state=0),
    # each sequence read relative to itself: the classifier's default (every
    # RNNClassifier above but those that turn it off); the regressor with it and the skip
    RNNClassifier(sequence_norm=False, random_state=0),
    RNNRegressor(sequence_norm=True, segment_length=2, random_state=0),
    # segments started at random offsets in training (the classifier's default, on
    # data short enough to be read a step at a time otherwise)
    RNNClassifier(segment_length=2, segment_jitter=True, random_state=0),
    # forecasting: the target read relative to the last value of feature 0
    RNNRegressor(relative_to_last=0, random_state=0),
    RNNRegressor(relative_to_last=0, solver="lbfgs", max_iter=100, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    # as scikit-learn's own test_common.py: reduced max_iter warns about convergence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
def test_param_validation(Estimator):
    check_param_validation(Estimator.__name__, Estimator())
