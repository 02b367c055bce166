"""BaseRNN: parameters, validation and the fit loops (L-BFGS and SGD/Adam).

The estimator layer never touches a gate: it turns data into the core's time-major
arrays (:mod:`skrnn._sequences`), wires options into the objective
(:func:`skrnn._network.loss_and_grad`) and runs the solvers.
"""

import copy
import functools
import hashlib
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._network import (
    SKIP_MAX_INPUTS,
    NetworkSpec,
    fold_scaling,
    init_params,
    init_params_widened,
    init_skip,
    loss_and_grad,
    pack,
    pooled_features,
    predict,
    predict_raw,
    skip_steps_for,
    unpack,
)
from ._optimizers import AdamOptimizer, SGDOptimizer, clip_grad_norm
from ._parallel import compute_threads
from ._sequences import (
    FLOAT_DTYPES,
    assemble_each,
    check_ragged,
    check_sample_weight,
    check_tabular_or_array,
    feature_stats,
    is_ragged,
    merge_duplicates,
    relative_to_last,
    segment,
    sequence_shapes,
    standardize,
    to_time_major,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")
# segment_jitter: the most offsets a prediction averages over (evenly spaced in
# [0, segment_length)); more cost more passes and gained nothing measured
_MAX_PREDICT_OFFSETS = 8


class _LastUpdate:
    """The weights and the optimizer's state before the latest update, and whether
    that update finished an epoch already counted: what a roll-back restores."""

    def __init__(self, theta, optimizer_state):
        self.theta = theta
        self.optimizer = optimizer_state
        self.counted = False
        self.exists = False  # no update saved yet: nothing to roll back

    def save(self, theta, optimizer):
        self.theta[:] = theta
        self.optimizer = optimizer.snapshot()
        self.counted = False
        self.exists = True

    def state(self):
        """A plain dict (what the estimator keeps between partial_fit calls)."""
        return {"theta": self.theta, "optimizer": self.optimizer,
                "counted": self.counted, "exists": self.exists}

    @classmethod
    def from_state(cls, state):
        """A new record from :meth:`state`'s dict (a copy: a failed call leaves the
        estimator's as it was)."""
        new = cls(state["theta"].copy(), dict(state["optimizer"]))
        new.counted, new.exists = state["counted"], state["exists"]
        return new


class _Epoch(NamedTuple):
    """The state of a model after an epoch: what a fit restores to undo later ones."""

    theta: np.ndarray
    n_iter: int
    loss: float
    optimizer: dict

#: segment_length='auto' reads a sequence of T steps in at most this many segments.
_AUTO_SEGMENTS = 32

class BaseRNN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator,
              metaclass=ABCMeta):
    """Base class for RNN classification and regression.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "cell": [StrOptions({"rnn", "lstm", "gru"})],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "clip_norm": [Interval(Real, 0, None, closed="neither"), None],
        "pooling": [StrOptions({"last", "mean", "max"})],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "segment_length": [Interval(Integral, 1, None, closed="left"),
                           StrOptions({"auto"}), None],
        "linear_skip": ["boolean"],
        "sequence_norm": ["boolean"],
        "segment_jitter": ["boolean"],
    }

    # the linear skip's own penalty (see skrnn._network.init_skip), set by a first fit
    _skip_alpha = None
    # whether the network reads each sequence relative to itself (see
    # skrnn._sequences.normalize_each), set by a first fit; False for models that
    # predate the option
    _sequence_norm = False
    # the input feature each sequence is read and predicted relative to the last value
    # of (RNNRegressor's relative_to_last), set by a first fit; None for models that
    # predate the option
    _relative_to_last = None

    @abstractmethod
    def __init__(self, hidden_layer_sizes, cell, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, loss, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, clip_norm, pooling, bidirectional, dropout,
                 segment_length):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.cell = cell
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.clip_norm = clip_norm
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.segment_length = segment_length

    # ----------------------------------------------------------------------------------
    # Hooks for the estimators (target handling lives there)

    @abstractmethod
    def _validate_targets(self, y, incremental, dtype):
        """Validated ``y`` -> 2-D float target matrix ``Y`` for the loss (and
        whatever bookkeeping the estimator needs, e.g. ``classes_``)."""

    @abstractmethod
    def _out_activation(self, Y):
        """Output activation for a target matrix ``Y`` (sets the loss)."""

    @abstractmethod
    def _validation_score(self, P, Y, sample_weight, lengths):
        """Score of predictions ``P`` (after the output activation) against the
        encoded targets ``Y`` of sequences of ``lengths``, for early stopping (higher
        is better)."""

    def _target_scaling(self, Y, sample_weight, lengths):
        """``(shift, scale)`` of the targets the network learns in standardised form
        (folded back into the head afterwards), or ``(None, None)``."""
        return None, None

    def _weight_samples(self, y, sample_weight, incremental):
        """The sample weights of a fit (the classifier multiplies its class weights)."""
        return sample_weight

    def _n_outputs(self, Y):
        """Outputs of the network for a target matrix ``Y``."""
        return Y.shape[1]

    _y_numeric = False

    # ----------------------------------------------------------------------------------
    # Input validation

    def _validate_input(self, X, y=None, *, reset):
        """``X`` in any accepted form (and ``y`` if given) -> ``(Sequences, y)``.

        Sets ``n_features_in_`` (and ``feature_names_in_`` for DataFrames) when
        ``reset``; otherwise checks them against the fitted values.
        """
        fitting = y is not None
        if is_ragged(X):
            if fitting:
                y = validate_data(self, "no_validation", y, reset=reset,
                                  multi_output=True, y_numeric=self._y_numeric)
            seq = check_ragged(X)
            if fitting and seq.n_samples != len(y):
                raise ValueError(
                    "Found input variables with inconsistent numbers of samples: "
                    f"[{seq.n_samples}, {len(y)}]"
                )
        else:
            kwargs = dict(reset=reset, allow_nd=True, ensure_2d=False, dtype=FLOAT_DTYPES)
            if fitting:
                Xa, y = validate_data(self, X, y, multi_output=True,
                                      y_numeric=self._y_numeric, **kwargs)
            else:
                Xa = validate_data(self, X, **kwargs)
            check_tabular_or_array(Xa)
            seq = to_time_major(Xa)
        self._check_n_features(X, seq, reset)
        return seq, y

    def _check_n_features(self, X, seq, reset):
        name = type(self).__name__
        if reset:
            if seq.form == "tabular":
                validate_data(self, X, skip_check_array=True, reset=True)
            else:
                self.n_features_in_ = seq.n_features
            self._fit_form = seq.form
            return
        if not hasattr(self, "n_features_in_"):
            return
        step_features = self._step_features(self._spec)
        if seq.form == "tabular" and self._fit_form == "tabular":
            # sklearn semantics: one column per timestep, the same columns as in fit
            validate_data(self, X, skip_check_array=True, reset=False)
        elif seq.form == "tabular":
            if step_features != 1:
                raise ValueError(
                    f"X is 2-D, which skrnn reads as univariate sequences (n_samples, "
                    f"n_timesteps), but {name} was fitted on sequences with "
                    f"{step_features} features per timestep. Pass a 3-D array "
                    f"(n_samples, n_timesteps, {step_features}) or a list of 2-D "
                    "arrays instead."
                )
        elif seq.n_features != step_features:
            if self._fit_form == "tabular":
                raise ValueError(
                    f"X has {seq.n_features} features per timestep, but {name} was "
                    "fitted on univariate sequences (2-D X) and expects 1 feature per "
                    "timestep."
                )
            raise ValueError(
                f"X has {seq.n_features} features, but {name} is expecting "
                f"{step_features} features as input."
            )

    # ----------------------------------------------------------------------------------
    # Fitting

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if not sizes or any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return tuple(int(s) for s in sizes)

    def _initialize(self, spec, dtype):
        self.n_outputs_ = spec.n_outputs
        self.n_layers_ = len(spec.hidden_sizes) + 2
        self.out_activation_ = spec.out_activation
        self._spec = spec
        if self._sequence_norm:
            # the level and scale inputs start silent: the network starts as it would
            # on the shapes alone (and as without sequence_norm on data already
            # standardised one sequence at a time)
            shapes = self._segment_length * self._step_features(spec)
            theta = init_params_widened(spec, shapes, np.arange(shapes),
                                        self._random_state, dtype)
        else:
            theta = init_params(spec, self._random_state, dtype)
        self.weights_ = unpack(theta, spec)
        self.n_iter_ = 0
        self.t_ = 0
        for attr in ("_optimizer", "_best_epoch", "_last_update"):
            self.__dict__.pop(attr, None)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._initialize_stochastic_attributes()

    def _start_partial_fit(self, y, classes):
        """partial_fit's checks before its epoch (classifiers fix their classes on the
        first call); inside :meth:`_fit`'s protection, so a failure leaves no trace."""

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """Fit or update the model; restores the previous state if anything fails."""
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: it runs a single "
                "epoch on the data it is given, with no held-out validation set. Set "
                "early_stopping=False, or use fit."
            )
        state = dict(self.__dict__)
        # objects that a fit changes in place: the shuffling RNG and the optimizer
        rng = state.get("_random_state")
        rng_state = rng.get_state() if isinstance(rng, np.random.RandomState) else None
        optimizer = copy.deepcopy(state.get("_optimizer"))
        try:
            if incremental:
                self._start_partial_fit(y, classes)
            return self._fit_unsafe(X, y, sample_weight, incremental)
        except BaseException:  # incl. a KeyboardInterrupt before training started
            self.__dict__.clear()
            self.__dict__.update(state)
            if rng_state is not None:
                rng.set_state(rng_state)
            if optimizer is not None:
                self._optimizer = optimizer
            raise

    def _fit_unsafe(self, X, y, sample_weight, incremental):
        hidden_sizes = self._hidden_sizes()
        if self.dropout and self.solver == "lbfgs":
            raise ValueError(
                f"dropout={self.dropout} needs a stochastic solver: L-BFGS needs a "
                "deterministic objective. Use solver='adam' or 'sgd', or set "
                "dropout=0."
            )
        first_pass = not hasattr(self, "weights_") or (
            not self.warm_start and not incremental
        )
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                             "target y is None.")
        seq, y = self._validate_input(X, y, reset=first_pass)
        dtype = np.float64 if self.solver == "lbfgs" else seq.X.dtype
        Y = self._validate_targets(y, incremental, dtype)
        sw = check_sample_weight(sample_weight, seq.n_samples, dtype)
        sw = self._weight_samples(y, sw, incremental)

        if first_pass or not incremental or not hasattr(self, "_random_state"):
            self._random_state = check_random_state(self.random_state)
        if first_pass:
            relative = self._check_relative_to_last(seq)
            sequence_norm = bool(getattr(self, "sequence_norm", False))
            segment_length = self._choose_segment_length(seq)
            # one input row: segment_length steps of each feature (and with
            # sequence_norm, each feature's level and log scale once)
            n_inputs = seq.n_features * (segment_length + 2 * sequence_norm)
            skip_steps = (skip_steps_for(-(-int(seq.lengths.max()) // segment_length),
                                         n_inputs)
                          if getattr(self, "linear_skip", False) else 0)
            if getattr(self, "linear_skip", False) and not skip_steps:
                warnings.warn(
                    f"linear_skip is off for this fit: one input row holds "
                    f"{n_inputs} values ({seq.n_features} features x "
                    + (f"(segment_length {segment_length} + 2 for sequence_norm)"
                       if sequence_norm else f"segment_length {segment_length}")
                    + f"), more than the skip's {SKIP_MAX_INPUTS}. Use a smaller "
                    "segment_length, fewer features, "
                    + ("sequence_norm=False, " if sequence_norm else "")
                    + "or linear_skip=False.",
                    UserWarning, stacklevel=4)
        else:
            segment_length = self._segment_length
            skip_steps = self._spec.skip_steps
            sequence_norm = self._sequence_norm
            relative = self._relative_to_last
            self._check_relative_to_last(seq)  # a bad value by its own error
            n_inputs = seq.n_features * (segment_length + 2 * sequence_norm)
            # options the fitted network was built with, refused by name (the spec
            # comparison below would name only their effect on the input width, or
            # nothing)
            for name, fitted, now in (
                    ("sequence_norm", sequence_norm,
                     bool(getattr(self, "sequence_norm", False))),
                    ("linear_skip", bool(skip_steps),
                     bool(getattr(self, "linear_skip", False))),
                    ("relative_to_last", relative,
                     getattr(self, "relative_to_last", None))):
                if now != fitted:
                    raise ValueError(
                        f"{'partial_fit' if incremental else 'warm_start'} must keep "
                        f"the network of the fitted model: it was fitted with "
                        f"{name}={fitted!r}, now {name}={now!r}. Fit a new model "
                        "(warm_start=False) to change it."
                    )
        if relative is not None:  # the network learns y minus the feature's last value
            seq, last = relative_to_last(seq, relative)
            Y = Y - last[:, None]
        spec = NetworkSpec(self.cell, self.activation if self.cell == "rnn" else "tanh",
                           n_inputs, hidden_sizes,
                           self._n_outputs(Y), self._out_activation(Y),
                           bool(self.bidirectional), self.pooling, skip_steps)
        if first_pass:
            self._segment_length = segment_length
            self._sequence_norm = sequence_norm
            self._relative_to_last = relative
            # the statistics of the canonical (merged) samples, so that a weight and
            # repeated samples give bit-identical statistics, as they give the
            # full-batch solvers bit-identical objectives
            seq_m, Y_m, sw_m = merge_duplicates(seq, Y, sw)
            self._x_shift, self._x_scale = feature_stats(seq_m, sw_m)
            self._y_shift, self._y_scale = self._target_scaling(Y_m, sw_m, seq_m.lengths)
            del seq_m, Y_m, sw_m
            self._initialize(spec, dtype)
            theta = pack(self.weights_, spec, dtype=dtype)
        elif spec != self._spec:
            raise ValueError(
                f"{'partial_fit' if incremental else 'warm_start'} must keep the "
                f"network of the fitted model: it was {self._describe(self._spec)}, "
                f"now {self._describe(spec)}. Fit a new model (warm_start=False) to "
                "change it."
            )
        else:
            if self.solver in _STOCHASTIC_SOLVERS and not hasattr(self, "loss_curve_"):
                self._initialize_stochastic_attributes()
            if getattr(self, "_weights_digest", None) != _digest(self.weights_):
                # weights_ were edited since the last fit: there is no last update of
                # these weights to roll back to
                self.__dict__.pop("_last_update", None)
            # go on from the live weights_ (which model the raw data): back to the
            # standardised model the solvers train
            theta = pack(self._scaled(self.weights_, inverse=True), spec, dtype=dtype)
            start = (theta.copy(), self.weights_)

        # L-BFGS works in float64 (SciPy's line search does): so do its loss and
        # gradient, whatever X's dtype; the fitted model predicts in X's dtype
        steps, stats = self._network_steps(seq, dtype, standardized=True)
        jitter = self._jitter_source(steps, stats, dtype)
        self._predict_offsets = self._offsets_to_average()
        seq = self._segments(steps, stats, dtype)
        del steps  # (kept by the jitter, which segments it again each batch)
        if self._y_scale is not None:  # (tiled over the steps of per-step targets)
            reps = Y.shape[1] // len(self._y_scale)
            Y = ((Y - np.tile(self._y_shift, reps)) / np.tile(self._y_scale, reps))
            Y = Y.astype(dtype, copy=False)
        # a first fit starts the linear skip on the training data: here for L-BFGS,
        # after early stopping's hold-out for SGD and Adam (see _fit_stochastic)
        start_skip = first_pass and bool(spec.skip_steps)
        if first_pass:
            self._skip_alpha = None
        # ``weights_`` are views of the solver's flat vector while it trains, and the
        # same model for raw data once it is done
        self.weights_ = unpack(theta, spec)
        with compute_threads() as n_threads:
            if self.solver == "lbfgs":
                self.__dict__.pop("_last_update", None)  # SGD/Adam's, now stale
                if start_skip:
                    self._start_skip(theta, seq, Y, sw)
                self._fit_lbfgs(theta, seq, Y, sw, n_threads)
            else:
                self._fit_stochastic(theta, seq, Y, sw, incremental, n_threads,
                                     start_skip, jitter)
        if not first_pass and np.array_equal(theta, start[0]):
            # nothing moved (an interrupted call, say): the very weights it had, not
            # their round trip through the scaling, which may differ in the last bit
            self.weights_ = start[1]
        else:
            self.weights_ = self._scaled(unpack(theta, spec))
        self._weights_digest = _digest(self.weights_)
        return self

    def _start_skip(self, theta, seq, Y, sw):
        """The linear skip's penalty and (squared error) ridge start, on the canonical
        (merged) samples, so that a weight and repeated samples choose the same (a
        repeat is not left out of its own leave-one-out fit)."""
        seq_m, Y_m, sw_m = merge_duplicates(seq, Y, sw)
        self._skip_alpha = init_skip(theta, seq_m.X, seq_m.lengths, Y_m, self._spec, sw_m,
                                     set_weights=self._spec.out_activation == "identity")

    def _network_input(self, seq, dtype=None, standardized=False, offset=0):
        """What the network reads of the validated ``seq``, in segments: each sequence
        relative to itself with ``sequence_norm`` (:func:`normalize_each`); otherwise
        ``seq`` standardised (the model the solvers train), or as it is (the raw-data
        model of ``weights_``, which holds the scaling). ``offset``: the segments
        started that many steps early (:func:`segment`, ``segment_jitter``)."""
        dtype = seq.X.dtype if dtype is None else dtype
        steps, stats = self._network_steps(seq, dtype, standardized)
        return self._segments(steps, stats, dtype, offset)

    def _network_steps(self, seq, dtype, standardized):
        """:meth:`_network_input` before the segments, one step at a time: ``(steps,
        stats)``, ``stats`` each sequence's level and log scale with ``sequence_norm``
        (:func:`sequence_shapes`, whose ``steps`` are the shapes), else None."""
        if self._sequence_norm:
            shapes, level, log_scale = sequence_shapes(seq, self._x_shift, self._x_scale)
            return shapes, (level, log_scale)
        if standardized:
            seq = standardize(seq, self._x_shift, self._x_scale, dtype)
        return seq, None

    def _segments(self, steps, stats, dtype, offset=0):
        """:meth:`_network_steps`' result in segments, started ``offset`` steps early."""
        if stats is None:
            return segment(steps, self._segment_length, offset)
        return assemble_each(steps, *stats, dtype, self._segment_length, offset)

    def _jitter_source(self, steps, stats, dtype):
        """With ``segment_jitter`` (SGD or Adam, segments of more than one step): a
        function of row indices and an offset, the network's input of those rows of
        :meth:`_network_steps`' ``(steps, stats)`` with their segments started early
        by the offset (the scaling done once, by the caller, and only the segments
        read again); else None."""
        if not self._jitters():
            return None

        def jittered(rows, offset):
            rows_stats = None if stats is None else tuple(s[rows] for s in stats)
            return self._segments(steps.take(rows), rows_stats, dtype, offset)

        return jittered

    def _jitters(self):
        """Whether this fit reads its training sequences at random offsets
        (``segment_jitter``, with SGD or Adam, segments of more than one step)."""
        return (bool(getattr(self, "segment_jitter", False))
                and self._segment_length > 1 and self.solver in _STOCHASTIC_SOLVERS)

    def _offsets_to_average(self):
        """The offsets a prediction averages over: with ``segment_jitter``, at most
        :data:`_MAX_PREDICT_OFFSETS` evenly spaced in ``[0, segment_length)`` (the
        model averaged over the cuts it was trained on), else ``(0,)``."""
        if not self._jitters():
            return (0,)
        k = self._segment_length
        n = min(k, _MAX_PREDICT_OFFSETS)
        return tuple(int(o) for o in np.arange(n) * k // n)

    def _scaled(self, weights, inverse=False):
        """``weights`` of the standardised model -> the raw-data model (or back).
        With ``sequence_norm`` the network reads :func:`normalize_each`'s features,
        which hold the input scaling: only the target's folds into ``weights``."""
        x_shift, x_scale = self._x_shift, self._x_scale
        if self._sequence_norm:
            x_shift, x_scale = np.zeros(self._spec.n_features), np.ones(self._spec.n_features)
        return fold_scaling(weights, self._spec, x_shift, x_scale,
                            self._y_shift, self._y_scale, inverse=inverse)

    def _check_relative_to_last(self, seq):
        """``relative_to_last`` (RNNRegressor's) checked against the fit's ``seq``: the
        feature's index, or None."""
        relative = getattr(self, "relative_to_last", None)
        if relative is None:
            return None
        if isinstance(relative, (bool, np.bool_)):  # an Integral to the constraints
            raise InvalidParameterError(
                f"The 'relative_to_last' parameter of {type(self).__name__} must be an "
                f"int in the range [0, inf) (the index of an input feature) or None. "
                f"Got {relative!r} instead."
            )
        if relative >= seq.n_features:
            raise ValueError(
                f"relative_to_last={relative} names input feature {relative}, but X has "
                f"{seq.n_features} feature(s) per timestep. Use the index of the feature "
                "whose next value(s) y holds (0 for LagsToSequences' windows, and for "
                "2-D X), or relative_to_last=None."
            )
        if getattr(self, "loss", None) == "poisson":
            raise ValueError(
                "relative_to_last needs loss='squared_error': the network learns y "
                "minus a value of X, which can be negative, and the Poisson loss takes "
                "non-negative targets. Set relative_to_last=None or "
                "loss='squared_error'."
            )
        return int(relative)

    def _choose_segment_length(self, seq):
        """Timesteps read as one input vector (see ``segment_length``)."""
        segment_length = getattr(self, "segment_length", None)
        if segment_length is None:
            return 1
        if segment_length == "auto":
            T = int(seq.lengths.max())
            return max(1, -(-T // _AUTO_SEGMENTS))
        return int(segment_length)

    def _initialize_stochastic_attributes(self):
        # on a first fit with sgd/adam, and on a warm start with sgd/adam of a model
        # fitted with lbfgs
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_ = None if self.early_stopping else np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _step_features(self, spec):
        """The input features a timestep of the network ``spec``: one of its input rows
        holds ``segment_length`` steps of them (with ``sequence_norm``, each
        feature's shape a step, then its level and log scale once)."""
        return spec.n_features // (self._segment_length + 2 * self._sequence_norm)

    def _describe(self, spec):
        return (f"cell={spec.cell!r}, hidden sizes {spec.hidden_sizes}, "
                f"{self._step_features(spec)} feature(s) per timestep, "
                f"{spec.n_outputs} output(s)"
                + (f", activation={spec.activation!r}" if spec.cell == "rnn" else ""))

    def _objective(self, spec, seq, Y, sw, n_threads=1):
        # chunks of samples from the memory budget, shared by the threads in flight
        def fun(theta):
            return loss_and_grad(theta, seq.X, seq.lengths, Y, spec, sw, self.alpha,
                                 n_threads=n_threads, skip_alpha=self._skip_alpha)

        return fun

    def _fit_lbfgs(self, theta, seq, Y, sw, n_threads=1):
        spec = self._spec
        finite = {"ok": True}

        best = {"loss": np.inf, "x": theta.copy()}  # kept if interrupted

        def fun(th):
            loss, grad = objective(th)
            if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
                # tell the line search to step back; never feed NaN to L-BFGS
                finite["ok"] = False
                return np.inf, np.zeros_like(grad)
            if loss < best["loss"]:
                best["loss"] = loss
                best["x"][:] = th
            return loss, grad

        seq, Y, sw = merge_duplicates(seq, Y, sw)
        objective = self._objective(spec, seq, Y, sw, n_threads)
        start = theta.copy()
        start_loss, start_grad = objective(start)
        if not (np.isfinite(start_loss) and np.all(np.isfinite(start_grad))):
            _raise_not_finite_at_start(start_loss, seq, Y)
        best["loss"] = start_loss
        n_iter = [0]

        def callback(intermediate_result):
            n_iter[0] += 1
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (n_iter[0], intermediate_result.fun))

        try:
            result = minimize(
                fun, theta, method="L-BFGS-B", jac=True, callback=callback,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                         "gtol": self.tol},
            )
        except KeyboardInterrupt:
            self.n_iter_ = n_iter[0]
            self.loss_ = float(best["loss"])
            theta[:] = best["x"]
            self._warn_interrupted(None)
            return
        x = result.x
        loss = result.fun
        if not (np.all(np.isfinite(x)) and np.isfinite(loss)):
            x, loss = start, start_loss
            self._warn_diverged(0, restored="the values they had before this fit")
        elif not finite["ok"]:
            warnings.warn(
                "lbfgs met a non-finite loss or gradient during its line search and "
                f"may have stopped early, at the last finite point (loss={loss:.6g}). "
                "Raise alpha, or use solver='adam' with clip_norm (e.g. "
                "clip_norm=1.0).", ConvergenceWarning, stacklevel=6)
        self.n_iter_ = _check_optimize_result(result, self.max_iter)
        self.loss_ = float(loss)
        theta[:] = x

    # ----------------------------------------------------------------------------------
    # SGD and Adam: the epochs of one call, in chapters

    def _fit_stochastic(self, theta, seq, Y, sw, incremental, n_threads=1,
                        start_skip=False, jitter=None):
        """Epochs of minibatch updates until convergence, ``max_iter`` or a stop;
        ``start_skip``: first fit the linear skip's start on the training part;
        ``jitter`` (:meth:`_jitter_source`): each epoch reads the training sequences
        with their segments started at random offsets (the skip's start, the
        validation score and the checks read them as ``seq`` does, without).

        Each epoch (:meth:`_run_epoch`) updates ``theta`` minibatch by minibatch; if
        the loss or the gradient stops being finite, the last update is rolled back
        (:meth:`_roll_back`) and training stops. A finished epoch is counted and checked
        for improvement (:meth:`_end_epoch`). After the last epoch,
        :meth:`_check_last_update` makes sure its weights still give a finite loss. A
        KeyboardInterrupt keeps the best epoch so far.
        """
        optimizer = self._stochastic_optimizer(theta, incremental)
        # lists are replaced, never appended to in place, so a failed call restores
        self.loss_curve_ = list(self.loss_curve_)
        if self.validation_scores_ is not None:
            self.validation_scores_ = list(self.validation_scores_)
        early_stopping = self.early_stopping and not incremental
        seq, Y, sw, val_data, rows = self._hold_out(seq, Y, sw, early_stopping, jitter)
        if start_skip:
            self._start_skip(theta, seq, Y, sw)
        seq, Y, sw, batch_size, n_seen, merged = self._batch_plan(seq, Y, sw)
        data = (seq, Y, sw, batch_size, n_seen)
        if jitter is not None:
            jitter = functools.partial(_jittered_batch, jitter, rows[merged])
        first_epoch = self.n_iter_
        # the best epoch of this call, kept if interrupted: weights, n_iter_, loss_ and
        # the optimizer's state, all of the same epoch
        kept = _Epoch(theta.copy(), self.n_iter_, getattr(self, "loss_", None),
                      optimizer.snapshot())
        # partial_fit goes on from the previous call's last update (a copy: a failed
        # call leaves the estimator as it was)
        last = (_LastUpdate.from_state(self._last_update)
                if incremental and hasattr(self, "_last_update")
                else _LastUpdate(theta.copy(), optimizer.snapshot()))
        try:
            for _ in range(self.max_iter):
                loss = self._run_epoch(theta, optimizer, data, last, n_threads, jitter)
                if loss is None:  # diverged: the last update was rolled back
                    break
                if self._end_epoch(loss, n_seen, theta, optimizer, val_data,
                                   early_stopping):
                    break
                last.counted = True
                if self.loss_ <= (kept.loss if kept.n_iter > first_epoch else np.inf):
                    kept = _Epoch(theta.copy(), self.n_iter_, self.loss_,
                                  optimizer.snapshot())
                if incremental:
                    break
                if self.n_iter_ - first_epoch == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and the "
                        "optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning, stacklevel=6)
            else:
                self._check_last_update(theta, optimizer, data, last, n_threads)
        except KeyboardInterrupt:
            if early_stopping and hasattr(self, "_best_epoch"):
                kept, label = _Epoch(**self._best_epoch), None  # best validation score
            else:
                label = kept.n_iter if kept.n_iter > first_epoch else 0
            theta[:] = kept.theta
            if kept.loss is not None:
                self.loss_ = kept.loss
            optimizer.restore(kept.optimizer)
            self._warn_interrupted(label)
            return
        self._last_update = last.state()
        if early_stopping and hasattr(self, "_best_epoch"):
            theta[:] = self._best_epoch["theta"]

    def _stochastic_optimizer(self, theta, incremental):
        """The optimizer of this call: a new one, or partial_fit's, going on (with a
        new ``learning_rate_init`` if it was changed since, as a divergence warning
        advises)."""
        optimizer = getattr(self, "_optimizer", None)
        if (incremental and optimizer is not None
                and optimizer.learning_rate_init != self.learning_rate_init):
            optimizer.learning_rate_init = float(self.learning_rate_init)
            optimizer.learning_rate = float(self.learning_rate_init)
        if not incremental or optimizer is None:
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(
                    theta.size, theta.dtype, self.learning_rate_init, self.learning_rate,
                    self.momentum, self.nesterovs_momentum, self.power_t)
            else:
                self._optimizer = AdamOptimizer(
                    theta.size, theta.dtype, self.learning_rate_init, self.beta_1,
                    self.beta_2, self.epsilon)
        return self._optimizer

    def _hold_out(self, seq, Y, sw, early_stopping, jitter=None):
        """The training data, with early stopping the validation data, and the
        training rows' indices in ``seq``. The validation data's inputs are a tuple,
        one for each offset the model's predictions average over (``jitter``: the
        source of :meth:`_jitter_source`)."""
        if not early_stopping:
            return seq, Y, sw, None, np.arange(seq.n_samples)
        train, val = self._split_validation(seq, Y)
        inputs = ((seq.take(val),) if jitter is None
                  else tuple(jitter(val, o) for o in self._predict_offsets))
        val_data = (inputs, Y[val], None if sw is None else sw[val])
        return (seq.take(train), Y[train], None if sw is None else sw[train], val_data,
                train)

    def _batch_plan(self, seq, Y, sw):
        """``(seq, Y, sw, batch_size, n_samples_seen, rows)`` of an epoch, ``rows`` the
        index in the given ``seq`` of each row of the returned one. A single batch is
        the canonical full batch (:func:`merge_duplicates`): then repeating a sample
        and weighting it give the same updates, bit for bit."""
        n_samples = seq.n_samples
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped", stacklevel=7)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        if batch_size >= n_samples:
            seq, Y, sw, rows = merge_duplicates(seq, Y, sw, return_index=True)
            return seq, Y, sw, seq.n_samples, n_samples, rows
        return seq, Y, sw, batch_size, n_samples, np.arange(n_samples)

    def _run_epoch(self, theta, optimizer, data, last, n_threads, jitter=None):
        """One pass over the minibatches: the epoch's mean loss, or ``None`` if the
        loss or the gradient stopped being finite (then the last update is rolled
        back, and a warning says so). ``last`` keeps the weights and the optimizer's
        state before each update. A loss that is not finite before any update (of this
        fit, or of partial_fit's calls so far) is refused: there is nothing to go back
        to. ``jitter`` (``segment_jitter``): a function of the batch's rows and an
        offset, the batch's input in place of ``data``'s."""
        seq, Y, sw, batch_size, _ = data
        n_samples = seq.n_samples
        full_batch = batch_size >= n_samples
        if self.shuffle and not full_batch:
            order = self._random_state.permutation(n_samples)
        else:
            order = np.arange(n_samples)
        n_updates, accumulated = 0, 0.0
        total = float(n_samples if sw is None else sw.sum())
        for batch in gen_batches(n_samples, batch_size):
            idx = order[batch]
            sw_b = None if sw is None else sw[idx]
            weight = float(len(idx) if sw_b is None else sw_b.sum())
            if weight == 0:
                continue  # a batch of zero weights carries no information
            if jitter is not None:  # one offset a batch: equal lengths stay equal
                sub = jitter(idx, self._random_state.randint(self._segment_length))
            else:
                sub = seq if full_batch else seq.take(idx)
            Yb = Y if full_batch else Y[idx]
            # the skip's penalty shared among the minibatches by weight, so that an
            # epoch applies it once, as the full-batch objective it was chosen for
            skip_alpha = (None if self._skip_alpha is None
                          else self._skip_alpha * weight / total)
            loss, grad = loss_and_grad(theta, sub.X, sub.lengths, Yb, self._spec, sw_b,
                                       self.alpha, n_threads=n_threads,
                                       dropout=self.dropout, rng=self._random_state,
                                       skip_alpha=skip_alpha)
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                if not last.exists:
                    _raise_not_finite_at_start(loss, seq, Y)
                self._roll_back(theta, optimizer, data, last, n_threads, self.n_iter_ + 1)
                return None
            accumulated += loss * weight
            clip_grad_norm(grad, self.clip_norm)
            last.save(theta, optimizer)
            optimizer.update(theta, grad)
            n_updates += 1
            if not np.isfinite(theta).all():
                self._roll_back(theta, optimizer, data, last, n_threads, self.n_iter_ + 1)
                return None
        return accumulated / float(n_samples if sw is None else sw.sum())

    def _roll_back(self, theta, optimizer, data, last, n_threads, epoch):
        """Undo the last update: the weights and the optimizer's state go back to
        before it and, if it was the last update of an epoch already counted, that
        epoch is un-counted (``n_iter_``, ``t_``, ``loss_curve_``, ``loss_``)."""
        theta[:] = last.theta
        optimizer.restore(last.optimizer)
        if last.counted:
            epoch = self.n_iter_
            self.n_iter_ -= 1
            self.t_ -= data[4]
            self.loss_curve_.pop()
            if (self.validation_scores_ is not None
                    and len(self.validation_scores_) > len(self.loss_curve_)):
                self.validation_scores_.pop()
            last.counted = False
            if self.loss_curve_:
                self.loss_ = self.loss_curve_[-1]
            else:
                self.__dict__.pop("loss_", None)
        self._warn_diverged(epoch, restored="their values before the last update")
        if not hasattr(self, "loss_"):
            # no epoch of the model is left: the loss of the weights it keeps
            seq, Y, sw, _, _ = data
            self.loss_ = float(loss_and_grad(theta, seq.X, seq.lengths, Y, self._spec, sw,
                                             self.alpha, n_threads=n_threads,
                                             skip_alpha=self._skip_alpha)[0])

    def _end_epoch(self, loss, n_seen, theta, optimizer, val_data, early_stopping):
        """Count the epoch and check it for improvement; whether to stop."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n_seen
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        self._update_no_improvement_count(theta, optimizer, val_data)
        optimizer.iteration_ends(self.t_)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if early_stopping else "Training loss"
        msg = ("%s did not improve more than tol=%f for %d consecutive epochs."
               % (what, self.tol, self.n_iter_no_change))
        if optimizer.trigger_stopping(msg, self.verbose):
            return True
        self._no_improvement_count = 0
        return False

    def _check_last_update(self, theta, optimizer, data, last, n_threads):
        """After the last epoch: if its last update left finite but huge weights,
        whose loss overflows, roll that update back (and un-count its epoch)."""
        seq, Y = data[0], data[1]
        spec = self._spec
        if _loss_surely_finite(theta, spec, Y, theta.dtype, seq.X):
            return
        loss = loss_and_grad(theta, seq.X, seq.lengths, Y, spec, None, 0.0,
                             n_threads=n_threads)[0]
        if not np.isfinite(loss):
            self._roll_back(theta, optimizer, data, last, n_threads, self.n_iter_)

    def _split_validation(self, seq, Y):
        stratify = self._stratify_labels(Y)
        indices = np.arange(seq.n_samples)
        train, val = train_test_split(
            indices, random_state=self._random_state,
            test_size=self.validation_fraction, stratify=stratify)
        if len(val) < 2:
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} of {seq.n_samples} samples gives "
                f"{len(val)}. Increase validation_fraction or set early_stopping=False."
            )
        return train, val

    def _stratify_labels(self, Y):
        return None

    def _update_no_improvement_count(self, theta, optimizer, val_data):
        if val_data is not None:
            inputs, vY, vsw = val_data
            weights = unpack(theta, self._spec)
            # as the model will predict (segment_jitter: the mean over the offsets)
            P = _mean_over_offsets(
                (predict(weights, v.X, v.lengths, self._spec) for v in inputs),
                len(inputs))
            score = self._validation_score(P, vY, vsw, inputs[0].lengths)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_epoch = _Epoch(theta.copy(), self.n_iter_, self.loss_,
                                          optimizer.snapshot())._asdict()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _warn_interrupted(self, epoch):
        kept = ("the best weights seen so far" if epoch is None else
                f"the weights after epoch {epoch}, the best training loss so far"
                if epoch else "the weights it had when this call started")
        warnings.warn(
            f"Training was interrupted (KeyboardInterrupt) after {self.n_iter_} "
            f"iteration(s); the model keeps {kept}, with n_iter_ and the loss "
            "history up to that point. It is usable but not converged; call fit "
            "again (or partial_fit, or warm_start=True) to go on.",
            ConvergenceWarning, stacklevel=7)

    def _warn_diverged(self, epoch, restored):
        warnings.warn(
            f"Training diverged{f' in epoch {epoch}' if epoch else ''}: the loss or "
            f"the gradient became NaN or infinite, so the weights were restored to "
            f"{restored} and training stopped. The model is usable but not converged. "
            + ("Raise alpha, or use solver='adam' with clip_norm (e.g. clip_norm=1.0)."
               if self.solver == "lbfgs" else
               "Lower learning_rate_init, or set clip_norm (e.g. clip_norm=1.0)."),
            ConvergenceWarning, stacklevel=7)

    # ----------------------------------------------------------------------------------
    # Prediction

    def _forward(self, X, raw=False, features=False, return_sequences=False):
        """Predictions after the output activation (before it if ``raw``; the pooled
        features if ``features``), shape (n_samples, n_outputs_); with
        ``return_sequences``, also the validated input (its lengths and form)."""
        check_is_fitted(self)
        seq, _ = self._validate_input(X, reset=False)
        last = None
        if self._relative_to_last is not None:
            seq, last = relative_to_last(seq, self._relative_to_last)
        compute = pooled_features if features else predict_raw if raw else predict
        # with segment_jitter, the mean over the offsets the model was trained at
        offsets = getattr(self, "_predict_offsets", (0,))
        steps, stats = self._network_steps(seq, seq.X.dtype, standardized=False)
        # lazily, one offset's segments and outputs at a time
        segmented = (self._segments(steps, stats, seq.X.dtype, offset) for offset in offsets)
        with compute_threads() as n_threads:
            out = _mean_over_offsets(
                (compute(self.weights_, s.X, s.lengths, self._spec, n_threads=n_threads)
                 for s in segmented), len(offsets))
        if last is not None and not features:  # (an identity output: raw or not)
            out = out + last[:, None]
        return (out, seq) if return_sequences else out

    def transform(self, X):
        """The pooled features of the last recurrent layer, the output layer's input.

        A fitted network read as a feature extractor: the features feed any
        scikit-learn estimator (for instance ``LogisticRegression``). With
        ``linear_skip``, the output layer also reads the skip's window, which these
        features leave out. With ``segment_jitter``, they are the mean over the
        offsets that predictions average over (predictions average the outputs of
        each offset's features, not the output of their mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            ``n_features_out`` is ``hidden_layer_sizes[-1]``, twice that when
            ``bidirectional``; in the input's float dtype.
        """
        return self._forward(X, features=True)

    @property
    def _n_features_out(self):
        """Number of features :meth:`transform` returns (for get_feature_names_out)."""
        return self._spec.n_pooled

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                "%s is not stochastic." % self.solver
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never touch the live __dict__
        state["_skrnn_version"] = _version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_skrnn_version", "unknown")
        if version != _version():
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=f"{type(self).__name__} (skrnn)",
                    current_sklearn_version=_version(),
                    original_sklearn_version=version,
                ),
                stacklevel=2,
            )
        if "linear_skip" in self._get_param_names():
            state.setdefault("linear_skip", False)  # fitted before the skip existed
        if "sequence_norm" in self._get_param_names():
            state.setdefault("sequence_norm", False)  # fitted before the option existed
        if "relative_to_last" in self._get_param_names():
            state.setdefault("relative_to_last", None)
        if "segment_jitter" in self._get_param_names():
            state.setdefault("segment_jitter", False)  # trained without it
        if "weights_" in state:  # fitted before predictions averaged over offsets
            state.setdefault("_predict_offsets", (0,))
        super().__setstate__(state)


def _mean_over_offsets(outputs, n):
    """The mean of the ``n`` arrays ``outputs`` yields (one an offset, computed as it
    is consumed), each divided first: a sum of the largest floats (a saturated exp)
    would overflow; a mean of finite values rounded past the largest is clipped
    back. One array is returned as it is."""
    if n == 1:
        return next(iter(outputs))
    mean = None
    with np.errstate(over="ignore"):
        for out in outputs:
            out /= n
            mean = out if mean is None else mean + out
    big = np.finfo(mean.dtype).max
    return np.clip(mean, -big, big, out=mean)


def _jittered_batch(source, rows, idx, offset):
    """``segment_jitter``'s input of a batch: the rows ``idx`` of the data an epoch
    reads (``rows``: their indices in :meth:`BaseRNN._jitter_source`'s ``seq``), each
    with its segments started ``offset`` steps early."""
    return source(rows[idx], offset)


def _digest(weights):
    """A fingerprint of the weights' values (to tell whether they were edited)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(weights):
        h.update(name.encode())
        h.update(np.ascontiguousarray(weights[name]).tobytes())
    return h.hexdigest()


def _version():
    from . import __version__

    return __version__


def _loss_surely_finite(theta, spec, Y, dtype, X=None):
    """Whether the loss at the (finite) ``theta`` is finite on the (finite) input ``X``,
    without a forward pass.

    LSTM and GRU states, and Elman states with tanh or logistic, stay within [-1, 1]
    whatever the input, so the raw outputs obey ``|z_k| <= sum_j |W_out[k, j]| + |b_k|``
    (plus ``sum_j |W_skip[k, j]| * max |X|`` with the linear skip); when that bound
    (plus the targets) is far from overflowing, the loss is finite. Otherwise the
    caller evaluates the loss.
    """
    if spec.cell == "rnn" and spec.activation not in ("tanh", "logistic"):
        return False
    W = unpack(theta, spec)
    rows = np.abs(W["out_weight"]).sum(axis=1) + np.abs(W["out_bias"])
    if spec.skip_steps:  # the linear skip's output grows with the input
        if X is None:
            return False
        x_max = float(np.max(np.abs(X), initial=0.0))
        with np.errstate(over="ignore"):  # an infinite bound: not surely finite
            rows = rows + np.abs(W["skip_weight"]).sum(axis=1) * x_max
    bound = float(np.max(rows))
    big = np.finfo(dtype).max
    if spec.out_activation == "exp":
        return bound < 0.5 * np.log(big)
    return bound + float(np.max(np.abs(Y), initial=0.0)) < big ** 0.25


def _raise_not_finite_at_start(loss, seq, Y):
    raise ValueError(
        f"The training loss is {loss} at the start of training, before any update: "
        "the network's outputs overflow. The inputs and targets are standardised "
        "inside the estimator, so the starting weights are too large: this happens "
        "when warm_start or partial_fit go on from weights_ that were edited or grew "
        "huge. Fit a new model (warm_start=False), or lower learning_rate_init and set "
        "clip_norm (e.g. clip_norm=1.0) so that the weights stay in range."
    )


def _check_optimize_result(result, max_iter):
    """``n_iter`` of an L-BFGS result; ``ConvergenceWarning`` if it did not converge
    (the message of ``sklearn.utils.optimize._check_optimize_result``)."""
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            message += ("\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={max_iter}).")
        message += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(message, ConvergenceWarning, stacklevel=7)
    return n_iter
