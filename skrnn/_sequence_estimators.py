"""RNNSequenceRegressor and RNNSequenceClassifier: one prediction a timestep.

They share the core, the cells, the solvers and the fit loops of the many-to-one
estimators; the network reads every real step with the output layer
(``pooling='steps'`` in :mod:`skrnn._network`). What is theirs is the form of the
targets: ``y`` follows ``X``'s time axis, and ``predict`` returns the form ``X`` came in
(an array for arrays, a list for a list of sequences).
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRNN
from ._estimators import fix_partial_fit_classes
from ._sequences import Sequences, check_sample_weight, feature_stats


class _PerStep:
    """What the two sequence estimators share: per-step targets in and out."""

    def _per_step_targets(self, y, seq):
        """``y`` -> a list of ``(T_i, K)`` arrays, one a sequence, checked against the
        sequences' lengths."""
        if isinstance(y, (list, tuple)) or (isinstance(y, np.ndarray) and y.dtype == object
                                             and y.ndim == 1):
            steps = [np.asarray(yi) for yi in y]
        else:
            arr = np.asarray(y)
            if arr.ndim not in (2, 3):
                raise ValueError(
                    f"y must give a target at every timestep: a 2-D array (n_samples, "
                    f"n_timesteps) or 3-D (n_samples, n_timesteps, n_outputs), or a list "
                    f"of arrays of the sequences' lengths; got an array of shape "
                    f"{arr.shape}. For one target a sequence, use "
                    f"{type(self).__name__.replace('Sequence', '')}.")
            steps = list(arr)
        if len(steps) != seq.n_samples:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{seq.n_samples}, {len(steps)}]")
        out = []
        width = None
        for i, (yi, L) in enumerate(zip(steps, seq.lengths, strict=True)):
            if yi.ndim not in (1, 2):
                raise ValueError(f"y[{i}] must be 1-D (n_timesteps,) or 2-D (n_timesteps, "
                                 f"n_outputs), got shape {yi.shape}.")
            yi = yi.reshape(len(yi), -1)
            if len(yi) != L:
                raise ValueError(
                    f"y[{i}] has {len(yi)} timesteps but X[{i}] has {L}: y needs one "
                    "target for every timestep of its sequence.")
            if width is None:
                width = yi.shape[1]
            elif yi.shape[1] != width:
                raise ValueError(f"y[{i}] has {yi.shape[1]} outputs a step, y[0] has "
                                 f"{width}: every sequence needs the same number.")
            out.append(yi)
        return out

    def _validate_input(self, X, y=None, *, reset):
        seq, _ = super()._validate_input(X, None, reset=reset)
        if y is None:
            return seq, None
        return seq, self._per_step_targets(y, seq)

    @staticmethod
    def _pad(rows, T, width, dtype):
        """A list of ``(T_i, width)`` arrays -> ``(N, T * width)``, zero past each end."""
        Y = np.zeros((len(rows), T, width), dtype=dtype)
        for i, r in enumerate(rows):
            Y[i, :len(r)] = r
        return Y.reshape(len(rows), T * width)

    def _n_outputs(self, Y):
        return self._n_step_outputs

    def _stratify_labels(self, Y):
        return None  # whole sequences are held out, unstratified

    @staticmethod
    def _real_rows(P, Y, sample_weight, lengths):
        """Predictions ``(N, T, K)`` and encoded targets ``(N, T_y * K)`` -> the rows of
        every real step, and each row's weight (its sequence's), for early stopping."""
        N, T, K = P.shape
        real = np.arange(T)[None, :] < lengths[:, None]
        Y = Y.reshape(N, -1, K)[:, :T]
        w = None if sample_weight is None else np.broadcast_to(
            sample_weight[:, None], real.shape)[real]
        return Y[real], P[real], w

    @staticmethod
    def _unpad(P, seq):
        """``(N, T, K)`` predictions -> the form ``X`` came in: a list of ``(T_i, K)``
        for a list, the array (trimmed to ``T``) otherwise."""
        if seq.form == "list":
            return [P[i, :L] for i, L in enumerate(seq.lengths)]
        return P

    def _flat_real_steps(self, X, y, sample_weight):
        """Predictions, targets and weights of every real step, for ``score``."""
        seq, steps = self._validate_input(X, y, reset=False)
        sw = check_sample_weight(sample_weight, seq.n_samples, np.float64)
        pred = self.predict(X)
        pred = list(pred) if not isinstance(pred, list) else pred
        y_true = np.concatenate([s for s in steps])
        y_pred = np.concatenate([np.asarray(p)[:L].reshape(L, -1)
                                 for p, L in zip(pred, seq.lengths, strict=True)])
        w = None if sw is None else np.repeat(sw, seq.lengths)
        return y_true, y_pred, w

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class RNNSequenceRegressor(_PerStep, RegressorMixin, BaseRNN):
    """Recurrent neural network regressor with one prediction a timestep.

    Reads each sequence with stacked recurrent layers (Elman, LSTM or GRU) and maps the
    state at every timestep to that step's targets with one dense layer shared by all
    steps (Keras' ``return_sequences=True`` with a ``TimeDistributed`` head). Causal
    by default: the prediction at step ``t`` depends on steps up to ``t`` only;
    ``bidirectional=True`` makes it read the whole sequence. Denoising, nowcasting, or
    one-step-ahead prediction along a series (``y[t] = x[t + 1]``).

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss at each timestep, as :class:`RNNRegressor`'s.

    bidirectional : bool, default=False
        Whether each layer also reads the sequence backwards (then every prediction
        depends on the whole sequence). The default is causal.

    hidden_layer_sizes, cell, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, clip_norm, dropout
        As in :class:`RNNRegressor` and :class:`RNNClassifier`, with
        :class:`RNNClassifier`'s defaults (``alpha=0.01``; the loss is the mean over
        every real timestep of every sequence; early stopping holds out whole
        sequences).

    Attributes
    ----------
    weights_ : dict of str to ndarray
        The parameters in PyTorch's names and layout, as :class:`RNNRegressor`'s; the
        output layer ``out_weight`` ``(n_outputs, D*H_last)`` acts on every step.

    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, \
t_, n_iter_, n_layers_, n_outputs_, out_activation_, n_features_in_, \
feature_names_in_
        As in :class:`RNNRegressor`; the validation score is R^2 over every real step.

    See Also
    --------
    RNNRegressor : One prediction a sequence.
    RNNSequenceClassifier : One label a timestep.

    Notes
    -----
    ``X`` comes in any of :class:`RNNRegressor`'s forms. ``y`` follows ``X``'s time
    axis: a 2-D array ``(n_samples, n_timesteps)`` (or 3-D ``(n_samples, n_timesteps,
    n_outputs)``) when ``X`` is an array, or a list of 1-D ``(T_i,)`` or 2-D
    ``(T_i, n_outputs)`` arrays of the sequences' lengths when ``X`` is a list.
    ``predict`` returns ``X``'s form: ``(n_samples, n_timesteps)`` (or with
    ``n_outputs``) for an array, a list of ``(T_i,)`` (or ``(T_i, n_outputs)``)
    arrays for a list. The loss and ``score`` (R^2) run over every real timestep, a
    sequence's ``sample_weight`` weighing each of its steps.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNSequenceRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 12, 1))
    >>> y = np.cumsum(X[..., 0], axis=1)       # the running sum, at every step
    >>> reg = RNNSequenceRegressor(solver="lbfgs", max_iter=1000, random_state=0)
    >>> reg.fit(X, y).predict(X).shape
    (100, 12)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        key: value for key, value in BaseRNN._parameter_constraints.items()
        if key not in ("pooling", "segment_length", "linear_skip", "sequence_norm",
                       "segment_jitter")
    }
    _parameter_constraints["loss"] = [StrOptions({"squared_error", "poisson"})]
    _y_numeric = True

    def __init__(self, loss="squared_error", hidden_layer_sizes=(32,), cell="gru",
                 activation="tanh", *, solver="adam", alpha=0.01, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.01, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=50, max_fun=15000,
                 clip_norm=None, bidirectional=False, dropout=0.0):
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
            pooling="steps", bidirectional=bidirectional, dropout=dropout,
            segment_length=None)

    def _validate_targets(self, steps, incremental, dtype):
        try:
            rows = [np.asarray(s, dtype=np.float64) for s in steps]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must be numeric for regression: {exc}") from None
        if not all(np.isfinite(r).all() for r in rows):
            raise ValueError("Input y contains NaN or infinity.")
        if self.loss == "poisson" and any((r < 0).any() for r in rows):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        width = rows[0].shape[1]
        if incremental and hasattr(self, "_n_step_outputs") and width != self._n_step_outputs:
            raise ValueError(f"y has {width} outputs a step; the model was fitted with "
                             f"{self._n_step_outputs}.")
        self._n_step_outputs = width
        T = max(len(r) for r in rows)
        return self._pad(rows, T, width, dtype)

    def _out_activation(self, Y):
        return "exp" if self.loss == "poisson" else "identity"

    def _target_scaling(self, Y, sample_weight, lengths):
        K = self._n_step_outputs
        N = len(Y)
        steps = Sequences(Y.reshape(N, -1, K).transpose(1, 0, 2), lengths, "array")
        shift, scale = feature_stats(steps, sample_weight)
        if self.loss == "poisson":
            return np.zeros_like(shift), np.where(shift > 0, shift, 1.0)
        return shift, scale

    def _validation_score(self, P, Y, sample_weight, lengths):
        Y_real, P_real, w = self._real_rows(P, Y, sample_weight, lengths)
        return r2_score(Y_real, P_real, sample_weight=w)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and per-step targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.
        y : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_outputs), or list of arrays
            The targets of every timestep (see Notes).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence, applied to each of its timesteps.

        Returns
        -------
        self : object
            Returns a trained model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.
        y : array-like or list of arrays
            The targets of every timestep.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        self : object
            Trained model.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict a value at every timestep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.

        Returns
        -------
        y : ndarray of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_outputs), or list of arrays
            An array for array input, a list of ``(T_i,)`` (or ``(T_i, n_outputs)``)
            arrays for a list; in the input's float dtype.
        """
        P, seq = self._forward(X, return_sequences=True)
        if P.shape[2] == 1:
            P = P[..., 0]
        return self._unpad(P, seq)

    def score(self, X, y, sample_weight=None):
        """R^2 over every real timestep of every sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.
        y : array-like or list of arrays
            The true targets of every timestep.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence, applied to each of its timesteps.

        Returns
        -------
        score : float
        """
        y_true, y_pred, w = self._flat_real_steps(X, y, sample_weight)
        return float(r2_score(y_true, y_pred, sample_weight=w))


class RNNSequenceClassifier(_PerStep, ClassifierMixin, BaseRNN):
    """Recurrent neural network classifier with one label a timestep.

    Tags every timestep of each sequence: activity segmentation of sensor streams,
    event detection, part-of-speech style tagging. Stacked recurrent layers read the
    sequence and one dense layer shared by all steps maps each step's state to class
    probabilities (logistic for two classes, softmax for more). Causal by default;
    ``bidirectional=True`` is the tagger that reads the whole sequence.

    Parameters
    ----------
    bidirectional : bool, default=False
        Whether each layer also reads the sequence backwards (a non-causal tagger).

    hidden_layer_sizes, cell, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, clip_norm, dropout
        As in :class:`RNNRegressor` and :class:`RNNClassifier`, with
        :class:`RNNClassifier`'s defaults (``alpha=0.01``; the loss is the mean over
        every real timestep of every sequence; early stopping holds out whole
        sequences).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in fit, over every timestep.

    weights_ : dict of str to ndarray
        As in :class:`RNNClassifier`; the output layer acts on every step.

    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, \
t_, n_iter_, n_layers_, n_outputs_, out_activation_, n_features_in_, \
feature_names_in_
        As in :class:`RNNClassifier`; the validation score is the accuracy over every
        real step.

    See Also
    --------
    RNNClassifier : One label a sequence.
    RNNSequenceRegressor : One value a timestep.

    Notes
    -----
    ``y`` follows ``X``'s time axis: a 2-D array ``(n_samples, n_timesteps)`` of labels
    (strings or numbers) when ``X`` is an array, a list of 1-D arrays of the sequences'
    lengths when ``X`` is a list. ``predict`` returns ``X``'s form, and
    ``predict_proba`` ``(n_samples, n_timesteps, n_classes)`` or a list of
    ``(T_i, n_classes)`` arrays. ``score`` is the accuracy over every real timestep.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import RNNSequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 10, 1))
    >>> y = np.where(np.cumsum(X[..., 0], axis=1) > 0, "up", "down")
    >>> clf = RNNSequenceClassifier(tol=1e-3, random_state=0).fit(X, y)
    >>> clf.predict(X[:1]).shape
    (1, 10)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        key: value for key, value in BaseRNN._parameter_constraints.items()
        if key not in ("pooling", "segment_length", "linear_skip", "sequence_norm",
                       "segment_jitter")
    }

    def __init__(self, hidden_layer_sizes=(32,), cell="gru", activation="tanh", *,
                 solver="adam", alpha=0.01, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.01, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=50, max_fun=15000, clip_norm=None, bidirectional=False,
                 dropout=0.0):
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
            pooling="steps", bidirectional=bidirectional, dropout=dropout,
            segment_length=None)

    def _validate_targets(self, steps, incremental, dtype):
        if any(s.shape[1] != 1 for s in steps):
            raise ValueError("RNNSequenceClassifier takes one label a timestep: y must "
                             "be (n_samples, n_timesteps) or a list of 1-D arrays.")
        labels = np.concatenate([s[:, 0] for s in steps])
        check_classification_targets(labels)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(labels)
            self.classes_ = self._label_binarizer.classes_
        else:
            new = np.setdiff1d(unique_labels(labels), self.classes_)
            if len(new):
                raise ValueError(f"y has classes not in classes_ {self.classes_}: {new}.")
        encoded = self._label_binarizer.transform(labels).astype(dtype)
        width = encoded.shape[1]
        self._n_step_outputs = width
        bounds = np.cumsum([0] + [len(s) for s in steps])
        rows = [encoded[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return self._pad(rows, max(len(s) for s in steps), width, dtype)

    def _out_activation(self, Y):
        return "logistic" if self._n_step_outputs == 1 else "softmax"

    def _validation_score(self, P, Y, sample_weight, lengths):
        Y_real, P_real, w = self._real_rows(P, Y, sample_weight, lengths)
        if P_real.shape[1] == 1:
            return accuracy_score(Y_real[:, 0] > 0.5, P_real[:, 0] > 0.5, sample_weight=w)
        return accuracy_score(Y_real.argmax(axis=1), P_real.argmax(axis=1),
                              sample_weight=w)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and per-step labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The input sequences.
        y : array-like of shape (n_samples, n_timesteps), or list of 1-D arrays
            The label of every timestep.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence, applied to each of its timesteps.

        Returns
        -------
        self : object
            Returns a trained model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.
        y : array-like or list of arrays
            The label of every timestep.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.
        classes : array-like of shape (n_classes,), default=None
            Every label of the data; required on the first call.

        Returns
        -------
        self : object
            Trained model.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _start_partial_fit(self, y, classes):
        fix_partial_fit_classes(self, classes)

    def predict_proba(self, X):
        """Class probabilities at every timestep.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_timesteps, n_classes), or list of arrays
            A list of ``(T_i, n_classes)`` arrays for a list input.
        """
        P, seq = self._forward(X, return_sequences=True)
        if P.shape[2] == 1:
            eps = np.finfo(P.dtype).eps
            p1 = np.clip(P[..., 0], eps, 1 - eps)
            P = np.stack([1 - p1, p1], axis=2)
        else:
            np.maximum(P, np.finfo(P.dtype).tiny, out=P)
        return self._unpad(P, seq)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.

        Returns
        -------
        log_proba : ndarray or list of arrays
            As :meth:`predict_proba`.
        """
        proba = self.predict_proba(X)
        if isinstance(proba, list):
            return [np.log(p) for p in proba]
        return np.log(proba)

    def predict(self, X):
        """The label of every timestep.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.

        Returns
        -------
        y : ndarray of shape (n_samples, n_timesteps), or list of 1-D arrays
            An array for array input, a list for a list.
        """
        check_is_fitted(self)
        proba = self.predict_proba(X)
        if isinstance(proba, list):
            return [self.classes_[p.argmax(axis=1)] for p in proba]
        return self.classes_[proba.argmax(axis=2)]

    def score(self, X, y, sample_weight=None):
        """Accuracy over every real timestep of every sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            The input sequences.
        y : array-like or list of arrays
            The true label of every timestep.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence, applied to each of its timesteps.

        Returns
        -------
        score : float
        """
        y_true, y_pred, w = self._flat_real_steps(X, y, sample_weight)
        return float(accuracy_score(y_true.ravel(), y_pred.ravel(), sample_weight=w))
