"""RNNRegressor and RNNClassifier: target handling and the public methods."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import assert_all_finite, column_or_1d

from ._base import BaseRNN
from ._sequences import Sequences, feature_stats


def fix_partial_fit_classes(est, classes, multilabel_y=None):
    """A classifier's classes on partial_fit: set from ``classes`` on the first call
    (the label binarizer fitted on them, or on ``multilabel_y``), checked against them
    on the next ones."""
    if getattr(est, "classes_", None) is None:
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        est.classes_ = unique_labels(classes)
        est._label_binarizer = LabelBinarizer().fit(
            est.classes_ if multilabel_y is None else multilabel_y)
    elif classes is not None and not np.array_equal(est.classes_, unique_labels(classes)):
        raise ValueError(
            f"`classes={classes!r}` is not the same as on last call to partial_fit, "
            f"was: {est.classes_!r}")


def _balanced_weights(y, sample_weight):
    """``n / (n_classes * count(class))`` for each sample's class (the product over the
    columns of a 2-D ``y``), with the counts weighted by ``sample_weight``: a weight then
    equals repeating a sample, as everywhere else. (scikit-learn's
    ``compute_sample_weight('balanced', y)`` counts samples, not weights.)"""
    columns = y.reshape(len(y), -1).T
    weights = np.ones(len(y))
    for column in columns:
        classes, inverse = np.unique(column, return_inverse=True)
        counts = np.bincount(inverse, weights=sample_weight, minlength=len(classes))
        per_class = np.divide(counts.sum(), len(classes) * counts,
                              out=np.zeros(len(classes)), where=counts > 0)
        weights *= per_class[inverse]
    return weights


class RNNRegressor(RegressorMixin, BaseRNN):
    """Recurrent neural network regressor (many-to-one).

    Reads each sequence with stacked recurrent layers (Elman, LSTM or GRU; both
    directions by default) and maps their states, pooled over the sequence, to the
    targets with a dense layer. Trained with L-BFGS, SGD or
    Adam on the squared error or the Poisson deviance, by exact backpropagation through
    time in NumPy. The parameters mirror :class:`~sklearn.neural_network.MLPRegressor`.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss function to use when training the weights. 'poisson' uses an
        exponential output (log link) and needs non-negative targets.

    hidden_layer_sizes : array-like of shape (n_layers,), default=(32,)
        The ith element is the number of hidden units of the ith stacked recurrent
        layer. MLP's default is ``(100,)``; a recurrent layer costs ``G`` times more
        per unit and per timestep, so skrnn starts smaller.

    cell : {'rnn', 'lstm', 'gru'}, default='gru'
        The recurrent cell, with PyTorch's equations and weight layout.

        - 'rnn', the Elman cell, ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``
          with ``f`` given by ``activation``;
        - 'lstm', long short-term memory (gates i, f, g, o);
        - 'gru', gated recurrent unit (gates r, z, n): long memory like the LSTM with
          three gates instead of four, so fewer parameters and FLOPs.

    activation : {'tanh', 'relu', 'logistic', 'identity'}, default='tanh'
        Nonlinearity of the Elman cell. Only used when ``cell='rnn'``; LSTM and GRU
        use their fixed logistic/tanh gates. MLP's default is 'relu', which makes a
        recurrent net explode easily, so skrnn uses PyTorch's 'tanh'.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

        - 'lbfgs' is ``scipy.optimize.minimize(method='L-BFGS-B')`` on the flat
          parameter vector, over all samples at once (in chunks of samples, so memory
          is bounded). Often the best choice for small data sets.
        - 'sgd' refers to stochastic gradient descent.
        - 'adam' refers to the stochastic optimizer of Kingma and Ba.

    alpha : float, default=1.0
        Strength of the L2 regularization term on the weights (not the biases) of the
        network of standardised inputs (see Notes). The penalty is divided by the total
        sample weight when added to the loss, so it weighs less the more data there
        are. MLP's default is 0.0001; on the small real regression sets the defaults
        were chosen on, the recurrent layers overfitted with less (with 0.01, on the
        70 windows of the Nile series: a training RMSE of 4.5 against 237 on the
        test years), and 1.0 did best in cross-validation and in forecasting
        validation, while still learning the nonlinear adding problem. The linear
        skip has its own penalty (see ``linear_skip``).

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers. When set to 'auto',
        ``batch_size=min(200, n_samples)``. Not used by the 'lbfgs' solver.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates. Only used when ``solver='sgd'``.

        - 'constant' keeps ``learning_rate_init``.
        - 'invscaling' decreases it at each epoch ``t`` (counted in samples) as
          ``learning_rate_init / pow(t, power_t)``.
        - 'adaptive' keeps it constant while the training loss keeps decreasing; each
          time two consecutive epochs fail to decrease the training loss by at least
          ``tol`` (or the validation score to increase by ``tol`` with early
          stopping), the learning rate is divided by 5.

    learning_rate_init : float, default=0.01
        The initial learning rate. Only used when ``solver='sgd'`` or ``'adam'``.
        MLP's default is 0.001; a recurrent net with fewer units learns in a
        reasonable number of epochs at 0.01 with Adam.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate. Only used when
        ``learning_rate='invscaling'`` and ``solver='sgd'``.

    max_iter : int, default=200
        Maximum number of iterations. For stochastic solvers ('sgd', 'adam') this is
        the number of epochs (how many times each sample is used); for 'lbfgs' the
        number of L-BFGS iterations.

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch. Only used when ``solver='sgd'`` or
        ``'adam'`` and there is more than one minibatch per epoch.

    random_state : int, RandomState instance, default=None
        Determines the weight initialization, the train-validation split for early
        stopping and the shuffling. Pass an int for reproducible results across
        multiple function calls. See :term:`Glossary <random_state>`.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving by at
        least ``tol`` for ``n_iter_no_change`` consecutive epochs (unless
        ``learning_rate='adaptive'``), convergence is considered reached and training
        stops. For 'lbfgs' it is the projected-gradient tolerance ``gtol``.

    verbose : bool, default=False
        Whether to print progress messages to stdout: the loss after each epoch, and
        the validation score when early stopping is on.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as
        initialization, otherwise, just erase the previous solution. See
        :term:`the Glossary <warm_start>`.

    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1. Only used
        when ``solver='sgd'``.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when ``solver='sgd'`` and
        ``momentum > 0``.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when the validation score
        is not improving. If set to True, ``validation_fraction`` of the training data
        is held out and training stops when the validation score does not
        improve by at least ``tol`` for ``n_iter_no_change`` consecutive epochs; the
        weights of the best epoch are kept. Only effective when ``solver='sgd'`` or
        ``'adam'``.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for early
        stopping. Must be between 0 and 1. Only used if ``early_stopping`` is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam, should be
        in [0, 1). Only used when ``solver='adam'``.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam, should
        be in [0, 1). Only used when ``solver='adam'``.

    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when ``solver='adam'``.

    n_iter_no_change : int, default=50
        Maximum number of epochs to not meet ``tol`` improvement. Only effective when
        ``solver='sgd'`` or ``'adam'``. MLP's default is 10; full-batch Adam on a small
        data set often plateaus for more than 10 epochs before it improves again, and
        stopping there cost up to 0.14 accuracy on the real datasets.

    max_fun : int, default=15000
        Only used when ``solver='lbfgs'``. Maximum number of loss function calls.

    clip_norm : float, default=None
        If set, the global Euclidean norm of the gradient of each minibatch is clipped
        to ``clip_norm`` before the update, against exploding gradients. Only used
        when ``solver='sgd'`` or ``'adam'``.

    pooling : {'last', 'mean', 'max'}, default='max'
        How the last recurrent layer's states become the output layer's input:
        the state after each sequence's last real timestep ('last'; with
        ``bidirectional=True``, the forward state there and the backward state at the
        first timestep, as PyTorch's ``h_n``), or their mean or feature-wise maximum
        over each sequence's real timesteps (padding never counts).

    bidirectional : bool, default=True
        Whether every recurrent layer also reads each sequence backwards, within the
        sequence's own length, with its own weights (PyTorch's ``*_reverse`` names);
        the two directions' states are concatenated, forward first.

    dropout : float, default=0.0
        Inverted dropout during training: each input of the recurrent layers past the
        first and each pooled feature is zeroed with this probability (the others
        scaled by ``1 / (1 - dropout)``), drawn from ``random_state``. Never at
        prediction. Needs ``solver='sgd'`` or ``'adam'``.

    segment_length : int, 'auto' or None, default='auto'
        Read this many consecutive timesteps as one input vector (a segment), so the
        recurrence runs over ``ceil(n_timesteps / segment_length)`` steps of
        ``segment_length * n_features`` inputs: much faster on long series, and the
        gradient crosses fewer steps. A sequence whose length is not a multiple
        repeats its last timestep to fill its last segment. 'auto' chooses the
        smallest length that reads the longest training sequence in at most 32
        segments; ``None`` reads one timestep at a time.

    linear_skip : bool, default=True
        Whether a linear map of each sequence's last ``n_timesteps`` inputs (those of
        the longest training sequence, at most 1024 values; a shorter sequence repeats
        its first timestep in front) is added to the output, beside the recurrent
        layers, as LSTNet's autoregressive component. With ``loss='squared_error'``
        it starts at the ridge regression of the (standardised) target on those
        inputs, with the penalty chosen by exact leave-one-out error among
        ``numpy.logspace(-3, 3, 13)``, and trains with the network under that
        penalty (``alpha`` penalises the rest); with ``loss='poisson'`` it starts at
        zero. The linear part carries trends beyond the range of the training data,
        where bounded recurrent units saturate. On the regression sets of the
        accuracy page it raised the cross-validated R^2; see the user guide.

    sequence_norm : bool, default=False
        Whether the network reads each sequence relative to itself, as instance
        normalisation does: each feature minus the sequence's own mean over its real
        timesteps, divided by its own standard deviation (the shape), with two more
        inputs per feature holding that mean and the log of that standard deviation
        (the level and the scale, in units of the training data's spread, floored at
        1e-6 of it), so that sequences whose levels and scales differ by orders of
        magnitude still give the recurrent layers inputs of unit size while their
        level and scale stay visible. Each input row of the first layer then holds
        ``segment_length`` steps of the shapes, then the levels and the log scales
        once. Off by default for regression: it lowered the cross-validated R^2 on
        two of the three regression sets of the accuracy page (the level of a series
        is what its target often follows, and the linear skip reads these inputs
        too).

    segment_jitter : bool, default=False
        Whether training reads the sequences with their segments started at a random
        offset: each sequence's first timestep repeated ``o`` times in front, ``o``
        drawn from ``random_state`` in ``[0, segment_length)`` for each minibatch
        (one for all its sequences, so that equal lengths stay equal), so that the
        network does not learn where the arbitrary segment boundaries fall (a data
        augmentation, as random crops are for images).
        Predictions (and :meth:`transform`'s features, and early stopping's
        validation score) are then the mean over ``min(segment_length, 8)`` offsets
        evenly spaced in ``[0, segment_length)``, 0 among them: the model averaged
        over the cuts it was trained on, at as many passes of the network; the
        linear skip's start reads the sequences as they are. Only used with segments
        of more than one step (``segment_length``) and ``solver='sgd'`` or
        ``'adam'`` (L-BFGS needs a deterministic objective), as ``shuffle`` is. Off
        by default for regression: it lowered the cross-validated R^2 on both
        regression sets of the accuracy page with segments (the linear skip reads
        exact lags, which the offsets move).

    relative_to_last : int or None, default=None
        The index of an input feature whose next value(s) ``y`` holds, as in
        forecasting (feature 0 of :class:`~skrnn.preprocessing.LagsToSequences`'
        windows, and of 2-D ``X``): the network reads that feature relative to its
        value at each sequence's last real timestep, learns ``y`` minus that value,
        and :meth:`predict` adds it back (the last-value normalisation of NLinear,
        Zeng et al. 2023). A forecast is then the last value plus a change the
        network learned from windows of any level, so it follows a series past the
        levels seen in training, and the penalties shrink it toward the last value
        plus the mean change seen in training rather than toward the training mean.
        ``None`` (the default): ``y`` is read as it is. Every column of a 2-D ``y``
        is taken relative to the same value (a multi-output forecast of the next
        steps). Needs ``loss='squared_error'``. With early stopping the validation
        score is the R^2 of those changes. ``fit`` and ``predict`` then work on a
        copy of ``X``.

    Attributes
    ----------
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting. ``None`` when
        ``early_stopping=True`` (then see ``best_validation_score_``). Only set by
        the stochastic solvers.

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each epoch. Only set by the stochastic solvers.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score on the held-out validation set at each epoch, the coefficient of
        determination R^2 (with ``relative_to_last``, of the changes from the last
        value). Only set when ``early_stopping=True``; otherwise ``None``.

    best_validation_score_ : float or None
        The best validation score (i.e. the coefficient of determination R^2; with
        ``relative_to_last``, of the changes from the last value) that triggered the
        early stopping. Only set when ``early_stopping=True``; otherwise ``None``.

    t_ : int
        The number of training samples seen by the solver during fitting.

    weights_ : dict of str to ndarray
        The model's live parameters in PyTorch's names, shapes and gate order:
        ``weight_ih_l{k}`` of shape (G*H_k, F_k), ``weight_hh_l{k}`` (G*H_k, H_k),
        ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H_k,) for each layer ``k``, with
        G = 1 ('rnn'), 4 ('lstm': i, f, g, o) or 3 ('gru': r, z, n), then
        ``out_weight`` (`n_outputs_`, H_last) and ``out_bias`` (`n_outputs_`,).
        With ``bidirectional=True`` each layer also has the same four arrays with the
        suffix ``_reverse``, and the next layer's input (and the output layer's, with
        ``H_last`` doubled) is twice as wide. With ``segment_length`` the first layer
        reads ``segment_length * n_features`` inputs. With ``linear_skip``,
        ``skip_weight`` (`n_outputs_`, S * F_0) maps the last S input rows (segments),
        oldest first, to the outputs; it has no PyTorch counterpart. The network is
        trained on standardised inputs (and targets, for regression), and these
        arrays are the same model for the raw data: the affine maps are folded into
        ``weight_ih_l0``, ``bias_ih_l0``, ``skip_weight`` and the output layer. With
        ``sequence_norm`` the first layer and the skip read the normalised inputs
        (``(segment_length + 2) * n_features`` a row: the shapes of its steps, then
        the levels and the log scales), and only the target's scaling is folded.
        With ``relative_to_last`` they model the inputs with that feature relative
        to its last value, and the target relative to it. Prediction reads these
        arrays, so editing them in place changes the model,
        and they load into ``torch.nn.RNN/LSTM/GRU`` by name.

    n_features_in_ : int
        Number of features seen during fit: the number of columns (timesteps) for
        2-D input, the number of features per timestep for 3-D or list input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X` has feature names
        that are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers: the input, the recurrent layers and the output layer.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    See Also
    --------
    RNNClassifier : Recurrent neural network classifier.
    sklearn.neural_network.MLPRegressor : Multi-layer perceptron regressor.

    Notes
    -----
    The input ``X`` may be

    - a 3-D array ``(n_samples, n_timesteps, n_features)`` (batch-first, as Keras
      and PyTorch with ``batch_first=True``); the number of timesteps may differ
      between fit and predict;
    - a 2-D array or DataFrame ``(n_samples, n_timesteps)`` of univariate sequences,
      one column per timestep (what ``Pipeline`` and ``GridSearchCV`` pass along);
    - a list of 2-D ``(n_timesteps_i, n_features)`` or 1-D arrays of different
      lengths; each prediction uses its sequence's own last real timestep.

    The prediction is many-to-one: one output per sequence, read from the last
    layer's states pooled over each sequence's real timesteps (``pooling``) through a
    dense output layer. Training uses exact backpropagation through time. One epoch
    costs ``O(T * N * D * G * H * (F + H))`` operations and ``O(T * N * D * G * H)``
    memory for ``T`` timesteps (segments, with ``segment_length``), ``N`` samples,
    ``F`` inputs per step, ``H`` hidden units, ``G`` gates and ``D`` directions;
    L-BFGS processes the samples in chunks so that its memory stays bounded.

    The inputs (and a regressor's targets) are standardised inside, each feature by
    its mean and standard deviation over the real timesteps of the first fit
    (weighted by ``sample_weight``), and the scaling is folded into ``weights_``
    afterwards, so unscaled data fit as well as scaled data, and ``weights_`` model
    the raw data (with ``sequence_norm``, they model each sequence's shapes, levels
    and log scales, which hold the input scaling; only the target's scaling is
    folded). ``loss_``, ``loss_curve_`` and ``alpha``'s penalty are those of the
    standardised problem, which the solvers optimise.

    The defaults differ from MLP's where the real datasets they were chosen on called
    for it (see the accuracy page of the documentation): ``hidden_layer_sizes``,
    ``activation``, ``learning_rate_init``, ``alpha`` and ``n_iter_no_change``, each
    explained above.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 8, 1))   # 200 sequences, 8 steps, 1 feature
    >>> y = X[:, 0, 0] - X[:, -1, 0]               # remember the first step
    >>> reg = RNNRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **BaseRNN._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
        "relative_to_last": [Interval(Integral, 0, None, closed="left"), None],
    }
    _y_numeric = True

    def __init__(self, loss="squared_error", hidden_layer_sizes=(32,), cell="gru",
                 activation="tanh", *, solver="adam", alpha=1.0, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.01, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=50, max_fun=15000,
                 clip_norm=None, pooling="max", bidirectional=True, dropout=0.0,
                 segment_length="auto", linear_skip=True, sequence_norm=False,
                 relative_to_last=None, segment_jitter=False):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, cell=cell, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, loss=loss, shuffle=shuffle,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, clip_norm=clip_norm,
            pooling=pooling, bidirectional=bidirectional, dropout=dropout,
            segment_length=segment_length)
        self.linear_skip = linear_skip
        self.sequence_norm = sequence_norm
        self.relative_to_last = relative_to_last
        self.segment_jitter = segment_jitter

    def _validate_targets(self, y, incremental, dtype):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression.")
        Y = np.asarray(y, dtype=dtype)
        return Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _out_activation(self, Y):
        return "exp" if self.loss == "poisson" else "identity"

    def _target_scaling(self, Y, sample_weight, lengths):
        # the network learns standardised targets; for the Poisson loss, targets
        # divided by their mean (the log link makes that a shift of the output bias)
        # (the targets read as one-step sequences of n_outputs features)
        targets = Sequences(Y[None], np.ones(len(Y), dtype=np.intp), "array")
        shift, scale = feature_stats(targets, sample_weight)
        if self.loss == "poisson":
            return np.zeros_like(shift), np.where(shift > 0, shift, 1.0)
        return shift, scale

    def _validation_score(self, P, Y, sample_weight, lengths):
        return r2_score(Y, P, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences (see Notes for the accepted forms).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. A zero weight equals removing the sample and an integer
            weight equals repeating it.

        Returns
        -------
        self : object
            Returns a trained RNN model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained RNN model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the recurrent neural network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, in the input's float dtype.
        """
        y_pred = self._forward(X)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class RNNClassifier(ClassifierMixin, BaseRNN):
    """Recurrent neural network classifier (many-to-one).

    Reads each sequence with stacked recurrent layers (Elman, LSTM or GRU; both
    directions by default) and maps their states, pooled over the sequence, to class
    probabilities with a dense layer (logistic for binary
    and multilabel targets, softmax for multiclass). Trained on the log-loss with
    L-BFGS, SGD or Adam, by exact backpropagation through time in NumPy. The parameters
    mirror :class:`~sklearn.neural_network.MLPClassifier`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers,), default=(32,)
        The ith element is the number of hidden units of the ith stacked recurrent
        layer. MLP's default is ``(100,)``; a recurrent layer costs ``G`` times more
        per unit and per timestep, so skrnn starts smaller.

    cell : {'rnn', 'lstm', 'gru'}, default='gru'
        The recurrent cell, with PyTorch's equations and weight layout.

        - 'rnn', the Elman cell, ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``
          with ``f`` given by ``activation``;
        - 'lstm', long short-term memory (gates i, f, g, o);
        - 'gru', gated recurrent unit (gates r, z, n): long memory like the LSTM with
          three gates instead of four, so fewer parameters and FLOPs.

    activation : {'tanh', 'relu', 'logistic', 'identity'}, default='tanh'
        Nonlinearity of the Elman cell. Only used when ``cell='rnn'``; LSTM and GRU
        use their fixed logistic/tanh gates. MLP's default is 'relu', which makes a
        recurrent net explode easily, so skrnn uses PyTorch's 'tanh'.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

        - 'lbfgs' is ``scipy.optimize.minimize(method='L-BFGS-B')`` on the flat
          parameter vector, over all samples at once (in chunks of samples, so memory
          is bounded). Often the best choice for small data sets.
        - 'sgd' refers to stochastic gradient descent.
        - 'adam' refers to the stochastic optimizer of Kingma and Ba.

    alpha : float, default=0.01
        Strength of the L2 regularization term on the weights (not the biases) of the
        network of standardised inputs (see Notes). The penalty is divided by the total
        sample weight when added to the loss. MLP's default is 0.0001; 0.01 did better
        on the small real datasets the defaults were chosen on, and weighs less the
        more data there are.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers. When set to 'auto',
        ``batch_size=min(200, n_samples)``. Not used by the 'lbfgs' solver.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates. Only used when ``solver='sgd'``.

        - 'constant' keeps ``learning_rate_init``.
        - 'invscaling' decreases it at each epoch ``t`` (counted in samples) as
          ``learning_rate_init / pow(t, power_t)``.
        - 'adaptive' keeps it constant while the training loss keeps decreasing; each
          time two consecutive epochs fail to decrease the training loss by at least
          ``tol`` (or the validation score to increase by ``tol`` with early
          stopping), the learning rate is divided by 5.

    learning_rate_init : float, default=0.01
        The initial learning rate. Only used when ``solver='sgd'`` or ``'adam'``.
        MLP's default is 0.001; a recurrent net with fewer units learns in a
        reasonable number of epochs at 0.01 with Adam.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate. Only used when
        ``learning_rate='invscaling'`` and ``solver='sgd'``.

    max_iter : int, default=200
        Maximum number of iterations. For stochastic solvers ('sgd', 'adam') this is
        the number of epochs (how many times each sample is used); for 'lbfgs' the
        number of L-BFGS iterations.

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch. Only used when ``solver='sgd'`` or
        ``'adam'`` and there is more than one minibatch per epoch.

    random_state : int, RandomState instance, default=None
        Determines the weight initialization, the train-validation split for early
        stopping and the shuffling. Pass an int for reproducible results across
        multiple function calls. See :term:`Glossary <random_state>`.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving by at
        least ``tol`` for ``n_iter_no_change`` consecutive epochs (unless
        ``learning_rate='adaptive'``), convergence is considered reached and training
        stops. For 'lbfgs' it is the projected-gradient tolerance ``gtol``.

    verbose : bool, default=False
        Whether to print progress messages to stdout: the loss after each epoch, and
        the validation score when early stopping is on.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as
        initialization, otherwise, just erase the previous solution. See
        :term:`the Glossary <warm_start>`.

    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1. Only used
        when ``solver='sgd'``.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when ``solver='sgd'`` and
        ``momentum > 0``.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when the validation score
        is not improving. If set to True, ``validation_fraction`` of the training data
        is held out (stratified by class for binary and multiclass targets) and
        training stops when the validation score does not improve by at least ``tol``
        for ``n_iter_no_change`` consecutive epochs; the weights of the best epoch are
        kept. Only effective when ``solver='sgd'`` or
        ``'adam'``.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for early
        stopping. Must be between 0 and 1. Only used if ``early_stopping`` is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam, should be
        in [0, 1). Only used when ``solver='adam'``.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam, should
        be in [0, 1). Only used when ``solver='adam'``.

    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when ``solver='adam'``.

    n_iter_no_change : int, default=50
        Maximum number of epochs to not meet ``tol`` improvement. Only effective when
        ``solver='sgd'`` or ``'adam'``. MLP's default is 10; full-batch Adam on a small
        data set often plateaus for more than 10 epochs before it improves again, and
        stopping there cost up to 0.14 accuracy on the real datasets.

    max_fun : int, default=15000
        Only used when ``solver='lbfgs'``. Maximum number of loss function calls.

    clip_norm : float, default=None
        If set, the global Euclidean norm of the gradient of each minibatch is clipped
        to ``clip_norm`` before the update, against exploding gradients. Only used
        when ``solver='sgd'`` or ``'adam'``.

    pooling : {'last', 'mean', 'max'}, default='max'
        How the last recurrent layer's states become the output layer's input:
        the state after each sequence's last real timestep ('last'; with
        ``bidirectional=True``, the forward state there and the backward state at the
        first timestep, as PyTorch's ``h_n``), or their mean or feature-wise maximum
        over each sequence's real timesteps (padding never counts).

    bidirectional : bool, default=True
        Whether every recurrent layer also reads each sequence backwards, within the
        sequence's own length, with its own weights (PyTorch's ``*_reverse`` names);
        the two directions' states are concatenated, forward first.

    dropout : float, default=0.0
        Inverted dropout during training: each input of the recurrent layers past the
        first and each pooled feature is zeroed with this probability (the others
        scaled by ``1 / (1 - dropout)``), drawn from ``random_state``. Never at
        prediction. Needs ``solver='sgd'`` or ``'adam'``.

    segment_length : int, 'auto' or None, default='auto'
        Read this many consecutive timesteps as one input vector (a segment), so the
        recurrence runs over ``ceil(n_timesteps / segment_length)`` steps of
        ``segment_length * n_features`` inputs: much faster on long series, and the
        gradient crosses fewer steps. A sequence whose length is not a multiple
        repeats its last timestep to fill its last segment. 'auto' chooses the
        smallest length that reads the longest training sequence in at most 32
        segments; ``None`` reads one timestep at a time.

    linear_skip : bool, default=False
        Whether a linear map of each sequence's last ``n_timesteps`` inputs (those of
        the longest training sequence, at most 1024 values; a shorter sequence repeats
        its first timestep in front) is added to the class scores, beside the
        recurrent layers, as LSTNet's autoregressive component. Its penalty is chosen by exact
        leave-one-out error of a ridge regression of the one-hot classes on those
        inputs, among ``numpy.logspace(-3, 3, 13)``; its weights start at zero. Off by
        default: it lowered the cross-validated accuracy on the classification sets
        of the accuracy page.

    sequence_norm : bool, default=True
        Whether the network reads each sequence relative to itself, as instance
        normalisation does: each feature minus the sequence's own mean over its real
        timesteps, divided by its own standard deviation (the shape), with two more
        inputs per feature holding that mean and the log of that standard deviation
        (the level and the scale, in units of the training data's spread, floored at
        1e-6 of it), so that sequences whose levels and scales differ by orders of
        magnitude still give the recurrent layers inputs of unit size while their
        level and scale stay visible. Each input row of the first layer then holds
        ``segment_length`` steps of the shapes, then the levels and the log scales
        once. On by default: it raised the cross-validated accuracy on the ragged
        set of the accuracy page, whose series span five orders of magnitude, and is
        nearly a no-op on series that are already standardised one by one.

    segment_jitter : bool, default=True
        Whether training reads the sequences with their segments started at a random
        offset: each sequence's first timestep repeated ``o`` times in front, ``o``
        drawn from ``random_state`` in ``[0, segment_length)`` for each minibatch
        (one for all its sequences, so that equal lengths stay equal), so that the
        network does not learn where the arbitrary segment boundaries fall (a data
        augmentation, as random crops are for images).
        Predictions (and :meth:`transform`'s features, and early stopping's
        validation score) are then the mean over ``min(segment_length, 8)`` offsets
        evenly spaced in ``[0, segment_length)``, 0 among them: the model averaged
        over the cuts it was trained on, at as many passes of the network; the
        linear skip's start reads the sequences as they are. Only used with segments
        of more than one step (``segment_length``) and ``solver='sgd'`` or
        ``'adam'`` (L-BFGS needs a deterministic objective), as ``shuffle`` is. On
        by default: it raised the cross-validated accuracy on five of the seven
        classification sets of the accuracy page read in segments (ArrowHead from
        0.72 to 0.81, PLAID from 0.62 to 0.76) and lowered it on one (ACSF1, whose
        1460 steps make segments of 46: 0.63 without, 0.59 with it).

    class_weight : dict, list of dict, 'balanced' or None, default=None
        Weights associated with classes, as ``{class_label: weight}``; they multiply
        ``sample_weight``. 'balanced' uses ``n_samples / (n_classes *
        np.bincount(y))``, as in scikit-learn's linear models (not with
        ``partial_fit``, which sees one batch at a time: pass a dict there). For
        multilabel targets, a list of dicts, one per column.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting. ``None`` when
        ``early_stopping=True`` (then see ``best_validation_score_``). Only set by
        the stochastic solvers.

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each epoch. Only set by the stochastic solvers.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score on the held-out validation set at each epoch, the accuracy. Only
        set when ``early_stopping=True``; otherwise ``None``.

    best_validation_score_ : float or None
        The best validation score (i.e. the accuracy) that triggered the early stopping.
        Only set when ``early_stopping=True``; otherwise ``None``.

    t_ : int
        The number of training samples seen by the solver during fitting.

    weights_ : dict of str to ndarray
        The model's live parameters in PyTorch's names, shapes and gate order:
        ``weight_ih_l{k}`` of shape (G*H_k, F_k), ``weight_hh_l{k}`` (G*H_k, H_k),
        ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H_k,) for each layer ``k``, with
        G = 1 ('rnn'), 4 ('lstm': i, f, g, o) or 3 ('gru': r, z, n), then
        ``out_weight`` (`n_outputs_`, H_last) and ``out_bias`` (`n_outputs_`,).
        With ``bidirectional=True`` each layer also has the same four arrays with the
        suffix ``_reverse``, and the next layer's input (and the output layer's, with
        ``H_last`` doubled) is twice as wide. With ``segment_length`` the first layer
        reads ``segment_length * n_features`` inputs. With ``linear_skip``,
        ``skip_weight`` (`n_outputs_`, S * F_0) maps the last S input rows (segments),
        oldest first, to the outputs; it has no PyTorch counterpart. The network is
        trained on standardised inputs (and targets, for regression), and these
        arrays are the same model for the raw data: the affine maps are folded into
        ``weight_ih_l0``, ``bias_ih_l0``, ``skip_weight`` and the output layer. With
        ``sequence_norm`` the first layer and the skip read the normalised inputs
        (``(segment_length + 2) * n_features`` a row: the shapes of its steps, then
        the levels and the log scales), and only the target's scaling is folded.
        Prediction reads these arrays, so editing them in place changes the model,
        and they load into ``torch.nn.RNN/LSTM/GRU`` by name.

    n_features_in_ : int
        Number of features seen during fit: the number of columns (timesteps) for
        2-D input, the number of features per timestep for 3-D or list input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X` has feature names
        that are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers: the input, the recurrent layers and the output layer.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    See Also
    --------
    RNNRegressor : Recurrent neural network regressor.
    sklearn.neural_network.MLPClassifier : Multi-layer perceptron classifier.

    Notes
    -----
    The input ``X`` may be

    - a 3-D array ``(n_samples, n_timesteps, n_features)`` (batch-first, as Keras
      and PyTorch with ``batch_first=True``); the number of timesteps may differ
      between fit and predict;
    - a 2-D array or DataFrame ``(n_samples, n_timesteps)`` of univariate sequences,
      one column per timestep (what ``Pipeline`` and ``GridSearchCV`` pass along);
    - a list of 2-D ``(n_timesteps_i, n_features)`` or 1-D arrays of different
      lengths; each prediction uses its sequence's own last real timestep.

    The prediction is many-to-one: one output per sequence, read from the last
    layer's states pooled over each sequence's real timesteps (``pooling``) through a
    dense output layer. Training uses exact backpropagation through time. One epoch
    costs ``O(T * N * D * G * H * (F + H))`` operations and ``O(T * N * D * G * H)``
    memory for ``T`` timesteps (segments, with ``segment_length``), ``N`` samples,
    ``F`` inputs per step, ``H`` hidden units, ``G`` gates and ``D`` directions;
    L-BFGS processes the samples in chunks so that its memory stays bounded.

    The inputs (and a regressor's targets) are standardised inside, each feature by
    its mean and standard deviation over the real timesteps of the first fit
    (weighted by ``sample_weight``), and the scaling is folded into ``weights_``
    afterwards, so unscaled data fit as well as scaled data, and ``weights_`` model
    the raw data (with ``sequence_norm``, they model each sequence's shapes, levels
    and log scales, which hold the input scaling; only the target's scaling is
    folded). ``loss_``, ``loss_curve_`` and ``alpha``'s penalty are those of the
    standardised problem, which the solvers optimise.

    The defaults differ from MLP's where the real datasets they were chosen on called
    for it (see the accuracy page of the documentation): ``hidden_layer_sizes``,
    ``activation``, ``learning_rate_init``, ``alpha`` and ``n_iter_no_change``, each
    explained above.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 6, 2))         # 200 sequences, 6 steps, 2 features
    >>> y = (X[:, 0, 0] > 0).astype(int)         # the label is set by the first step
    >>> clf = RNNClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **BaseRNN._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, hidden_layer_sizes=(32,), cell="gru", activation="tanh", *,
                 solver="adam", alpha=0.01, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.01, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=50, max_fun=15000, clip_norm=None, pooling="max",
                 bidirectional=True, dropout=0.0, segment_length="auto",
                 linear_skip=False, sequence_norm=True, class_weight=None,
                 segment_jitter=True):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, cell=cell, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, loss="log_loss", shuffle=shuffle,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, clip_norm=clip_norm,
            pooling=pooling, bidirectional=bidirectional, dropout=dropout,
            segment_length=segment_length)
        self.linear_skip = linear_skip
        self.sequence_norm = sequence_norm
        self.class_weight = class_weight
        self.segment_jitter = segment_jitter

    def _weight_samples(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: the class "
                "frequencies of one batch are not those of the data. Pass a dict of "
                "class weights, computed on all the data with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', ...)."
            )
        if self.class_weight == "balanced":
            weights = _balanced_weights(y, sample_weight)
        else:
            weights = compute_sample_weight(self.class_weight, y)
        weights = weights.astype(np.float64 if sample_weight is None
                                 else sample_weight.dtype)
        return weights if sample_weight is None else weights * sample_weight

    def _validate_targets(self, y, incremental, dtype):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}.")
        return self._label_binarizer.transform(y).astype(dtype)

    def _out_activation(self, Y):
        if Y.shape[1] == 1 or self._label_binarizer.y_type_.startswith("multilabel"):
            return "logistic"
        return "softmax"

    def _stratify_labels(self, Y):
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1)
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return None
        return Y[:, 0]

    def _validation_score(self, P, Y, sample_weight, lengths):
        if self.out_activation_ == "softmax":
            return accuracy_score(Y.argmax(axis=1), P.argmax(axis=1),
                                  sample_weight=sample_weight)
        return accuracy_score(Y > 0.5, P > 0.5, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences (see Notes for the accepted forms).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target labels (class labels, or a label indicator matrix for
            multilabel classification).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. A zero weight equals removing the sample and an integer
            weight equals repeating it.

        Returns
        -------
        self : object
            Returns a trained RNN model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit. Can be obtained via
            ``np.unique(y_all)``, where ``y_all`` is the target vector of the entire
            dataset. This argument is required for the first call to partial_fit and
            can be omitted in the subsequent calls. Note that ``y`` doesn't need to
            contain all labels in ``classes``.

        Returns
        -------
        self : object
            Trained RNN model.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _start_partial_fit(self, y, classes):
        if y is not None:  # before type_of_target, which casts NaN to int
            assert_all_finite(y.data if sp.issparse(y) else np.asarray(y),
                              input_name="y")
        multilabel = type_of_target(y).startswith("multilabel")
        fix_partial_fit_classes(self, classes, y if multilabel else None)

    def predict(self, X):
        """Predict using the recurrent neural network classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        y_pred = self._forward(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class in the model,
            where classes are ordered as they are in ``self.classes_``. Equivalent to
            ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the model,
            where classes are ordered as they are in ``self.classes_``.
        """
        y_pred = self._forward(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if self.out_activation_ == "logistic":
            # keep probabilities strictly inside (0, 1), so that the log is finite:
            # expit saturates to exactly 1.0 beyond z = 37 in float64
            eps = np.finfo(y_pred.dtype).eps
            np.clip(y_pred, eps, 1 - eps, out=y_pred)
        elif self.out_activation_ == "softmax":
            # no probability underflows to exactly 0, so that the log is finite and
            # predict_log_proba is log(predict_proba) (as MLPClassifier's)
            np.maximum(y_pred, np.finfo(y_pred.dtype).tiny, out=y_pred)
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
