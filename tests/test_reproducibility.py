"""Bit-identical results whatever the machine's core count, and the precision of the
work (issue #19): the chunks of samples are planned for a fixed number of threads, so
that 1, 2 or 4 threads compute the same sums in the same order."""

import warnings

import numpy as np
import pytest
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNClassifier, RNNRegressor
from skrnn._network import (
    NetworkSpec,
    init_params,
    loss_and_grad,
    predict_raw,
    unpack,
)
from skrnn._parallel import PARALLEL_MIN_FLOPS
from skrnn._sequences import Sequences, merge_duplicates


def _large_problem(cell="gru", H=64):
    """Enough samples for the plan to cut them into chunks for two threads."""
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    N = int(np.ceil(2 * 2 * PARALLEL_MIN_FLOPS / (2 * G * H * H))) + 7
    rng = np.random.RandomState(0)
    spec = NetworkSpec(cell, "tanh", 3, (H,), 2, "identity", True, "mean")
    lengths = rng.randint(3, 9, size=N)
    X = rng.normal(size=(8, N, 3))
    for i, L in enumerate(lengths):
        X[L:, i] = 0
    return spec, X, lengths, rng.normal(size=(N, 2)), init_params(spec, rng)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_loss_and_gradient_do_not_depend_on_the_thread_count(cell):
    spec, X, L, Y, theta = _large_problem(cell)
    results = [loss_and_grad(theta, X, L, Y, spec, n_threads=n) for n in (1, 2, 4)]
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        assert np.array_equal(grad, results[0][1])
    z = [predict_raw(unpack(theta, spec), X, L, spec, n_threads=n) for n in (1, 2, 4)]
    assert np.array_equal(z[0], z[1]) and np.array_equal(z[0], z[2])


@pytest.mark.parametrize("Estimator", [RNNRegressor, RNNClassifier])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_fits_are_bit_identical_on_one_or_two_cores(Estimator, solver):
    """The same fit with BLAS (and so skrnn) allowed 1 thread, then 2."""
    spec, X, L, Y, _ = _large_problem()
    X3 = np.ascontiguousarray(X.transpose(1, 0, 2))
    y = Y[:, 0] if Estimator is RNNRegressor else (Y[:, 0] > 0).astype(int)
    models = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            est = Estimator(hidden_layer_sizes=(64,), solver=solver, max_iter=3,
                            batch_size=len(y), random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                models.append(est.fit(X3, y))
    for name, w in models[0].weights_.items():
        assert np.array_equal(w, models[1].weights_[name]), name


def test_lbfgs_works_in_float64_on_float32_data():
    """L-BFGS's loss and gradient are float64 (its line search is): the same fit on
    float32 data equals the fit on the same values in float64; the model then
    predicts in the data's dtype."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6, 2)).astype(np.float32)
    y = X[:, 0, 0].astype(np.float64)
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = RNNRegressor(**kw).fit(X, y)
        b = RNNRegressor(**kw).fit(X.astype(np.float64), y)
    assert a.loss_ == b.loss_
    for name, w in a.weights_.items():
        assert w.dtype == np.float64
        assert np.array_equal(w, b.weights_[name]), name
    assert a.predict(X).dtype == np.float32


def test_merging_compares_targets_in_float64():
    """float32 sequences with targets 1 and 1 + 1e-9 are two samples, not one."""
    X = np.zeros((3, 2, 1), dtype=np.float32)
    Y = np.array([[1.0], [1.0 + 1e-9]])
    seq, Ym, w = merge_duplicates(Sequences(X, np.array([3, 3]), "array"), Y, None)
    assert len(w) == 2 and w.tolist() == [1.0, 1.0]
    assert set(Ym.ravel()) == {1.0, 1.0 + 1e-9}
