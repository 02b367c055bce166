"""Transformers for sequences: scaling, lag tables to sequences, other libraries' layouts.

- :class:`SequenceScaler` standardises each feature over every real timestep of every
  sequence (``StandardScaler`` for sequences: 3-D arrays, 2-D univariate sequences and
  lists of sequences of different lengths).
- :class:`LagsToSequences` turns the lag tables that forecasting libraries build
  (skforecast's ``lag_1, lag_2, ...`` newest first, sktime's oldest first, with
  exogenous columns) into ``(n_samples, n_lags, n_variables)`` sequences in time order,
  so that ``make_pipeline(LagsToSequences(...), RNNRegressor())`` is the regressor
  those libraries are given.
- :class:`ChannelsFirstToSequences` reads aeon's and sktime's collections
  ``(n_cases, n_channels, n_timepoints)`` (time last) as skrnn's
  ``(n_samples, n_timesteps, n_features)`` (time in the middle).

All three are scikit-learn transformers: they go first in a ``Pipeline`` and pass
scikit-learn's ``check_estimator``.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted, validate_data

from ._sequences import (
    FLOAT_DTYPES,
    as_sequence_list,
    check_ragged,
    check_sample_weight,
    check_tabular_or_array,
    is_ragged,
    to_time_major,
)

__all__ = ["ChannelsFirstToSequences", "LagsToSequences", "SequenceScaler"]


# --------------------------------------------------------------------------------------
# Reading and returning the accepted forms


def _container_like(X, sequences):
    """``sequences`` (a list of arrays) in the container ``X`` came in: a 1-D object
    array for an object array, a Series (same index and name) for a Series, a list
    otherwise (for a list, a tuple or a nested DataFrame)."""
    if isinstance(X, np.ndarray) or hasattr(X, "iloc") and X.ndim == 1:
        out = np.empty(len(sequences), dtype=object)
        for i, s in enumerate(sequences):
            out[i] = s
        if isinstance(X, np.ndarray):
            return out
        return type(X)(out, index=X.index, name=X.name, dtype=object)
    return list(sequences)


def _ragged_dims(X):
    """Whether each sequence of a ragged container is 1-D (to return it 1-D)."""
    return [np.ndim(x) == 1 for x in as_sequence_list(X)]


def _check_2d_or_3d(X, *, copy=False):
    """A regular ``X`` -> a validated float 2-D or 3-D ndarray."""
    X = check_array(X, allow_nd=True, ensure_2d=False, dtype=FLOAT_DTYPES, copy=copy,
                    force_writeable=True, input_name="X")
    return check_tabular_or_array(X)


def _refuse_container_output(estimator, X_out):
    """A clear error where ``set_output`` asks for a DataFrame of 3-D or ragged data."""
    dense = _get_output_config("transform", estimator)["dense"]
    if dense != "default" and not (isinstance(X_out, np.ndarray) and X_out.ndim == 2):
        raise ValueError(
            f"set_output(transform={dense!r}) holds 2-D data only, but "
            f"{type(estimator).__name__} returns 3-D or ragged sequences here. Use "
            "set_output(transform='default') for sequences."
        )


def _is_constant(var, mean, n_samples):
    """Features whose variance is within the rounding error of the two-pass variance
    (Chan, Golub and LeVeque), as ``StandardScaler`` decides them: scaled by 1."""
    eps = np.finfo(np.float64).eps
    return var <= n_samples * eps * var + (n_samples * mean * eps) ** 2


def _moments(seq, sample_weight):
    """Total weight, mean and (biased) variance of each feature over every real
    timestep of a :class:`~skrnn._sequences.Sequences`, each sequence's steps weighted
    by its sample weight: ``(total, mean (F,), var (F,))`` in float64.

    Two passes, in units of each feature's largest magnitude, so that no square
    overflows while the variance itself is representable."""
    T, N, F = seq.X.shape
    w = np.ones(N) if sample_weight is None else np.asarray(sample_weight, np.float64)
    real = (np.arange(T)[:, None] < seq.lengths) * w  # (T, N): the step weights
    total = float(real.sum())
    X = seq.X.astype(np.float64, copy=False)
    unit = np.abs(X).max(axis=(0, 1)) if X.size else np.ones(F)
    unit[~(unit > 0)] = 1.0
    U = X / unit
    mean = np.einsum("tn,tnf->f", real, U) / total
    var = np.einsum("tn,tnf->f", real, (U - mean) ** 2) / total
    return total, mean * unit, var * unit**2


# --------------------------------------------------------------------------------------
# SequenceScaler


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardize sequences: each feature over every real timestep of every sequence.

    ``StandardScaler`` for sequences. Each feature's mean and standard deviation are
    computed over all the timesteps of all the sequences (each sequence's own length
    for sequences of different lengths), and ``transform`` maps every timestep to
    ``z = (x - mean_) / scale_``, so a feature at every timestep gets the same affine
    map. The result is exactly ``StandardScaler`` fitted on the timesteps stacked as
    rows: ``X.reshape(-1, n_features)`` for a 3-D array, ``np.concatenate(X)`` for a
    list.

    The accepted forms of ``X`` are the estimators' (see the user guide's input
    forms), and ``transform`` and ``inverse_transform`` return the form they are given:

    - a 3-D array ``(n_samples, n_timesteps, n_features)``: one mean and scale per
      feature, and the number of timesteps may differ between ``fit`` and
      ``transform``;
    - a 2-D array or DataFrame ``(n_samples, n_timesteps)`` of univariate sequences:
      *one* feature, so one mean and one scale for all the columns (not one a column
      as ``StandardScaler``); ``n_features_in_`` is the number of columns, checked by
      ``transform`` as any scikit-learn transformer checks it;
    - a list of 2-D ``(n_timesteps_i, n_features)`` or 1-D arrays of different
      lengths (or a 1-D object array or ``pandas.Series`` of them, returned as the
      same container).

    The skrnn estimators standardise their inputs (and regression targets) inside
    already; this transformer is for the other steps of a pipeline, for inspecting
    the scaled data, and for sequences that other estimators read.

    Parameters
    ----------
    copy : bool, default=True
        If False, ``transform`` and ``inverse_transform`` of a float array of the
        fitted dtype scale it in place (as ``StandardScaler``). Lists of sequences
        are always returned as new arrays.

    with_mean : bool, default=True
        If True, center the data before scaling.

    with_std : bool, default=True
        If True, scale the data to unit variance (each feature's standard
        deviation over all real timesteps).

    Attributes
    ----------
    scale_ : ndarray of shape (n_sequence_features,) or None
        Per-feature scaling (the standard deviation over all real timesteps, 1 for a
        feature that does not vary). ``None`` when ``with_std=False``.
        ``n_sequence_features`` is the number of features per timestep: 1 for 2-D
        input.

    mean_ : ndarray of shape (n_sequence_features,) or None
        The mean of each feature over all real timesteps. ``None`` when
        ``with_mean=False`` and ``with_std=False``.

    var_ : ndarray of shape (n_sequence_features,) or None
        The variance of each feature over all real timesteps, used to compute
        ``scale_``. ``None`` when ``with_std=False``.

    n_samples_seen_ : int or float
        The number of *timesteps* the statistics are over (the sum of the sequences'
        lengths; weighted by ``sample_weight`` when it is given, then a float). Reset
        by ``fit``, increased by ``partial_fit``.

    n_features_in_ : int
        Number of features seen during ``fit``: the number of columns (timesteps) of
        2-D input, the number of features per timestep of 3-D or list input (as the
        skrnn estimators count them).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a DataFrame seen during ``fit``, if all strings.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same for tables, one column a feature.
    LagsToSequences : Lag tables of forecasting libraries to sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import SequenceScaler
    >>> X = np.array([[[0., 10.], [2., 30.]],
    ...               [[4., 20.], [6., 40.]]])      # 2 sequences, 2 steps, 2 features
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_, scaler.scale_
    (array([ 3., 25.]), array([ 2.236...,  11.180...]))
    >>> scaler.transform(X).shape
    (2, 2, 2)
    >>> ragged = [np.array([1., 2., 3.]), np.array([5., 9.])]
    >>> [x.round(2) for x in SequenceScaler().fit_transform(ragged)]
    [array([-1.06, -0.71, -0.35]), array([0.35, 1.77])]
    """

    _parameter_constraints: dict = {
        "copy": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, copy=True, with_mean=True, with_std=True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

    # ----------------------------------------------------------------------------------
    # Input

    def _read(self, X, *, reset, copy=False, check_names=True):
        """``X`` in any accepted form -> ``(form, data)``: ``("tabular", 2-D array)``,
        ``("array", 3-D array)`` or ``("list", Sequences)``; sets or checks
        ``n_features_in_`` (and ``feature_names_in_``)."""
        if is_ragged(X):
            seq = check_ragged(X)
            form, data, n_features = "list", seq, seq.n_features
        else:
            data = _check_2d_or_3d(X, copy=copy)
            form = "tabular" if data.ndim == 2 else "array"
            n_features = 1 if form == "tabular" else data.shape[2]
        if reset:
            if form == "tabular":
                validate_data(self, X, skip_check_array=True, reset=True)
            else:
                self.n_features_in_ = n_features
                self.__dict__.pop("feature_names_in_", None)
            self._fit_form = form
            self._n_sequence_features = n_features
            return form, data
        name = type(self).__name__
        if form == "tabular" and self._fit_form == "tabular":
            if check_names:
                validate_data(self, X, skip_check_array=True, reset=False)
            elif data.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {data.shape[1]} features, but {name} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        elif n_features != self._n_sequence_features:
            what = "2-D X (univariate sequences)" if form == "tabular" else (
                f"X with {n_features} features per timestep")
            raise ValueError(
                f"{name} was fitted on sequences with {self._n_sequence_features} "
                f"feature(s) per timestep, but got {what}. Pass sequences with "
                f"{self._n_sequence_features} feature(s) per timestep."
            )
        return form, data

    # ----------------------------------------------------------------------------------
    # Fitting

    def _reset(self):
        for attr in ("n_samples_seen_", "mean_", "var_", "scale_"):
            self.__dict__.pop(attr, None)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the mean and standard deviation of each feature over every real
        timestep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The sequences.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence: all its timesteps count with this weight (an
            integer weight equals repeating the sequence).

        Returns
        -------
        self : object
            Fitted scaler.
        """
        self._reset()
        return self._partial_fit(X, sample_weight, first_call=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the statistics with more sequences (for streams or data that does
        not fit in memory).

        The result equals ``fit`` on all the sequences seen so far, up to rounding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The sequences.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        return self._partial_fit(X, sample_weight,
                                 first_call=not hasattr(self, "n_samples_seen_"))

    def _partial_fit(self, X, sample_weight, first_call):
        form, data = self._read(X, reset=first_call)
        seq = data if form == "list" else to_time_major(data)
        sw = check_sample_weight(sample_weight, seq.n_samples, np.float64)
        total, mean, var = _moments(seq, sw)
        count = total if sw is not None else int(seq.lengths.sum())
        if first_call:
            n_seen, old_mean, old_var = 0, mean, var
        else:
            n_seen, old_mean, old_var = self.n_samples_seen_, self.mean_, self.var_
        n_total = n_seen + count
        if self.with_mean or self.with_std:
            # Chan, Golub and LeVeque's pairwise update of a mean and a variance
            old_weight, new_weight = n_seen / n_total, count / n_total
            delta = mean - old_mean
            self.mean_ = old_mean + delta * new_weight
            if self.with_std:
                self.var_ = (old_weight * old_var + new_weight * var
                             + delta**2 * old_weight * new_weight)
            else:
                self.var_ = None
        else:
            self.mean_ = self.var_ = None
        self.n_samples_seen_ = (np.float64(n_total) if isinstance(n_total, float)
                                else np.int64(n_total))
        if self.with_std:
            scale = np.sqrt(self.var_)
            scale[_is_constant(self.var_, self.mean_, self.n_samples_seen_)] = 1.0
            self.scale_ = scale
        else:
            self.scale_ = None
        return self

    # ----------------------------------------------------------------------------------
    # Transforming

    def _apply(self, X, copy, inverse):
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        form, data = self._read(X, reset=False, copy=copy, check_names=not inverse)
        mean = self.mean_ if self.with_mean else None
        scale = self.scale_ if self.with_std else None
        if form == "list":
            dims_1d = _ragged_dims(X)
            Z = data.X.copy()
            _affine(Z, mean, scale, inverse)
            out = []
            for i, (length, is_1d) in enumerate(zip(data.lengths, dims_1d)):
                z = Z[:length, i].copy()
                out.append(z.ravel() if is_1d else z)
            out = _container_like(X, out)
        else:
            out = data
            _affine(out, mean, scale, inverse)
        _refuse_container_output(self, out)
        return out

    def transform(self, X, copy=None):
        """Standardize the sequences: ``(X - mean_) / scale_`` at every timestep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The sequences.
        copy : bool, default=None
            Copy the input X or not (default: the ``copy`` parameter).

        Returns
        -------
        X_tr : ndarray or list of ndarray
            The standardised sequences, in the form of ``X`` (3-D, 2-D, or a list,
            object array or Series of arrays of the same shapes) and in ``X``'s
            float dtype.
        """
        return self._apply(X, copy, inverse=False)

    def inverse_transform(self, X, copy=None):
        """Scale back to the original representation: ``X * scale_ + mean_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of arrays
            The standardised sequences.
        copy : bool, default=None
            Copy the input X or not (default: the ``copy`` parameter).

        Returns
        -------
        X_original : ndarray or list of ndarray
            The sequences in the original units, in the form of ``X``.
        """
        return self._apply(X, copy, inverse=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _affine(Z, mean, scale, inverse):
    """In place: ``(Z - mean) / scale``, or ``Z * scale + mean`` if ``inverse``, on the
    last axis (the features), in ``Z``'s dtype."""
    if inverse:
        if scale is not None:
            Z *= scale.astype(Z.dtype)
        if mean is not None:
            Z += mean.astype(Z.dtype)
    else:
        if mean is not None:
            Z -= mean.astype(Z.dtype)
        if scale is not None:
            Z /= scale.astype(Z.dtype)


# --------------------------------------------------------------------------------------
# LagsToSequences


class LagsToSequences(TransformerMixin, BaseEstimator):
    """Lag tables of forecasting libraries -> sequences in time order.

    A forecasting library that reduces forecasting to regression (skforecast's
    ``ForecasterRecursive`` and ``ForecasterDirect``, sktime's ``make_reduction``)
    hands its regressor one row per forecast: the target's last ``n_lags`` values,
    then any exogenous columns. skrnn reads a 2-D array as one univariate sequence a
    row, in column order; so a table whose lags run newest first, or with exogenous
    columns after the lags, would be read backwards in time or as more timesteps of
    one variable. This transformer makes each row the sequence it stands for, shape
    ``(n_lags, 1 + n_exog)``, oldest timestep first, the target's lag as feature 0 and
    the exogenous variables after it, so that
    ``make_pipeline(LagsToSequences(...), RNNRegressor())`` is the regressor the
    library is given (with ``RNNRegressor(relative_to_last=0)``, which reads each
    window and its forecast relative to the window's last value, for series whose
    level moves; see the forecasting guide).

    - skforecast's ``ForecasterRecursive`` and ``ForecasterDirect`` with ``lags=k``:
      ``LagsToSequences(n_lags=k)`` (the defaults ``order='newest_first'``,
      ``exog='current'``);
    - sktime's ``make_reduction`` with ``window_length=k``:
      ``LagsToSequences(n_lags=k, order='oldest_first', exog='lagged')``.

    Parameters
    ----------
    n_lags : int or None, default=None
        Number of columns, at the start of each row, that hold the target's lags:
        the length of the sequences. ``None``: every column is a lag of the target
        (no exogenous columns).

    order : {'newest_first', 'oldest_first'}, default='newest_first'
        Order of the lag columns: ``'newest_first'`` for ``lag_1, lag_2, ...``
        (skforecast, and most lag tables named by lag), ``'oldest_first'`` for the
        order of time (sktime's ``make_reduction``). Lagged exogenous blocks follow
        the same order. Non-contiguous lags (skforecast's ``lags=[1, 2, 12]``) become
        consecutive timesteps in time order.

    exog : {'current', 'lagged'}, default='current'
        How the columns after the target's lags are read.

        - ``'current'``: one column per variable, each a single value per row
          (skforecast: exogenous variables at the time of the target, and its window
          and calendar features). Each is repeated at every timestep as a feature
          (a covariate known for the whole window).
        - ``'lagged'``: one block of ``n_lags`` columns per exogenous variable,
          ordered as the target's lags (sktime's ``make_reduction``, which lags the
          exogenous variables with the target): the block's values become the
          variable's values at each timestep.

    Attributes
    ----------
    n_lags_ : int
        The number of lags: the number of timesteps of the sequences.

    n_exog_ : int
        The number of exogenous variables: the sequences have ``1 + n_exog_``
        features per timestep.

    n_features_in_ : int
        Number of columns seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a DataFrame seen during ``fit``, if all strings.

    See Also
    --------
    ChannelsFirstToSequences : For sktime's ``scitype='time-series-regressor'``
        reduction, which passes 3-D ``(n_windows, n_variables, window_length)``
        arrays.
    SequenceScaler : Standardize sequences.

    Notes
    -----
    The forecasting libraries can also difference the series for the regressor and
    integrate its forecasts back (skforecast's ``differentiation=1``, sktime's
    ``Differencer``): the network then learns the changes, which helps on series
    with a trend (see the user guide's forecasting page).

    Examples
    --------
    skforecast's row for the forecast of ``y[t]`` with ``lags=3`` and one exogenous
    variable: ``[y[t-1], y[t-2], y[t-3], x[t]]``.

    >>> import numpy as np
    >>> from skrnn.preprocessing import LagsToSequences
    >>> rows = np.array([[13., 12., 11., 0.5],
    ...                  [14., 13., 12., 0.7]])
    >>> LagsToSequences(n_lags=3).fit_transform(rows)[0]
    array([[11. ,  0.5],
           [12. ,  0.5],
           [13. ,  0.5]])

    sktime's row with ``window_length=3`` and one exogenous variable:
    ``[y[t-3], y[t-2], y[t-1], x[t-3], x[t-2], x[t-1]]``.

    >>> rows = np.array([[11., 12., 13., 0.1, 0.2, 0.3]])
    >>> LagsToSequences(n_lags=3, order="oldest_first",
    ...                 exog="lagged").fit_transform(rows)[0]
    array([[11. ,  0.1],
           [12. ,  0.2],
           [13. ,  0.3]])
    """

    _parameter_constraints: dict = {
        "n_lags": [Interval(Integral, 1, None, closed="left"), None],
        "order": [StrOptions({"newest_first", "oldest_first"})],
        "exog": [StrOptions({"current", "lagged"})],
    }

    def __init__(self, n_lags=None, *, order="newest_first", exog="current"):
        self.n_lags = n_lags
        self.order = order
        self.exog = exog

    def _check_table(self, X, reset):
        if getattr(X, "ndim", None) == 3 or is_ragged(X):
            raise ValueError(
                f"{type(self).__name__} reads 2-D lag tables, one row per window; got "
                f"{'3-D' if getattr(X, 'ndim', None) == 3 else 'ragged'} X. A 3-D "
                "(n_windows, n_variables, window_length) array, as sktime's "
                "scitype='time-series-regressor' reduction passes, goes through "
                "ChannelsFirstToSequences; 3-D (n_samples, n_timesteps, n_features) "
                "sequences are skrnn's own form already."
            )
        return validate_data(self, X, dtype=FLOAT_DTYPES, reset=reset)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the layout of the lag table.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_columns)
            The lag table: the target's lags, then any exogenous columns.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = self._check_table(X, reset=True)
        n_columns = X.shape[1]
        n_lags = n_columns if self.n_lags is None else self.n_lags
        if n_lags > n_columns:
            raise ValueError(
                f"n_lags={n_lags}, but X has only {n_columns} columns: the lag "
                "table must start with the target's n_lags lags."
            )
        rest = n_columns - n_lags
        if self.exog == "lagged" and rest % n_lags:
            raise ValueError(
                f"exog='lagged' reads the {rest} columns after the {n_lags} lags of "
                f"the target as blocks of {n_lags} lags of each exogenous variable, "
                f"but {rest} is not a multiple of {n_lags}. Check n_lags, or use "
                "exog='current' if the exogenous columns hold one value each."
            )
        self.n_lags_ = n_lags
        self.n_exog_ = rest // n_lags if self.exog == "lagged" else rest
        return self

    def transform(self, X):
        """Turn each row of the lag table into a sequence in time order.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_columns)
            The lag table, with the columns of ``fit``.

        Returns
        -------
        X_seq : ndarray of shape (n_windows, `n_lags_`, 1 + `n_exog_`)
            The sequences, oldest timestep first: feature 0 is the target, features
            1... the exogenous variables in the order of their columns; in ``X``'s
            float dtype.
        """
        check_is_fitted(self)
        X = self._check_table(X, reset=False)
        n, k, m = X.shape[0], self.n_lags_, self.n_exog_
        newest_first = self.order == "newest_first"
        out = np.empty((n, k, 1 + m), dtype=X.dtype)
        out[:, :, 0] = X[:, k - 1::-1] if newest_first else X[:, :k]
        if m and self.exog == "lagged":
            blocks = X[:, k:].reshape(n, m, k).transpose(0, 2, 1)  # (n, k, m)
            out[:, :, 1:] = blocks[:, ::-1] if newest_first else blocks
        elif m:
            out[:, :, 1:] = X[:, None, k:]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# --------------------------------------------------------------------------------------
# ChannelsFirstToSequences


class ChannelsFirstToSequences(TransformerMixin, BaseEstimator):
    """Collections with time last (aeon, sktime) -> skrnn's sequences, time first.

    aeon and sktime hold a collection of multivariate series as a 3-D array
    ``(n_cases, n_channels, n_timepoints)``, and series of different lengths as a
    list of 2-D ``(n_channels, n_timepoints_i)`` arrays: the time axis last. skrnn
    (as Keras, PyTorch with ``batch_first=True`` and tslearn) reads
    ``(n_samples, n_timesteps, n_features)``: the time axis in the middle. The two
    cannot be told apart from the shape (a collection of 3 series of 3 channels and
    50 timepoints, ``(3, 3, 50)``, is also 3 sequences of 3 timesteps with 50
    features each), so skrnn never guesses: this transformer says it, first in a
    pipeline.

    - A 3-D array ``(n_cases, n_channels, n_timepoints)`` becomes
      ``(n_cases, n_timepoints, n_channels)``.
    - A list of 2-D arrays ``(n_channels, n_timepoints_i)`` (or a 1-D object array or
      Series of them) becomes a list of ``(n_timepoints_i, n_channels)`` arrays.
    - Univariate data, 2-D ``(n_cases, n_timepoints)`` or a list of 1-D arrays, has
      the same layout in both conventions and is returned as it is (validated).

    This is also the bridge for sktime's ``make_reduction(...,
    scitype='time-series-regressor')``, which passes windows as
    ``(n_windows, n_variables, window_length)``.

    Attributes
    ----------
    n_features_in_ : int
        The number of channels (features per timestep) seen during ``fit``; for 2-D
        input the number of columns, as the skrnn estimators count them.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns of a 2-D DataFrame seen during ``fit``, if all strings.

    See Also
    --------
    LagsToSequences : Lag tables of forecasting libraries to sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn.preprocessing import ChannelsFirstToSequences
    >>> X = np.zeros((10, 2, 50))        # aeon: 10 cases, 2 channels, 50 timepoints
    >>> ChannelsFirstToSequences().fit_transform(X).shape
    (10, 50, 2)
    >>> X_unequal = [np.zeros((2, 30)), np.zeros((2, 45))]
    >>> [x.shape for x in ChannelsFirstToSequences().fit_transform(X_unequal)]
    [(30, 2), (45, 2)]
    """

    def _convert(self, X, reset, inverse=False):
        name = type(self).__name__
        if is_ragged(X):
            seqs = [np.asarray(x) for x in as_sequence_list(X)]
            flip = [x if x.ndim < 2 else x.T for x in seqs] if not inverse else seqs
            seq = check_ragged(flip)  # validates: numeric, finite, equal channels
            n_features = seq.n_features
            is_1d = [x.ndim == 1 for x in seqs]
            out = []
            for i, (length, one_d) in enumerate(zip(seq.lengths, is_1d)):
                x = seq.X[:length, i]
                x = x.ravel() if one_d else (x.T if inverse else x)
                out.append(np.ascontiguousarray(x))
            out = _container_like(X, out)
            form = "list"
        else:
            data = _check_2d_or_3d(X)
            if data.ndim == 2:
                form, n_features, out = "tabular", 1, data
            else:
                form, n_features = "array", data.shape[1 if not inverse else 2]
                out = np.ascontiguousarray(data.transpose(0, 2, 1))
        if reset:
            if form == "tabular":
                validate_data(self, X, skip_check_array=True, reset=True)
            else:
                self.n_features_in_ = n_features
                self.__dict__.pop("feature_names_in_", None)
            self._fit_form = form
            self._n_channels = n_features
        elif form == "tabular" and self._fit_form == "tabular":
            if not inverse:
                validate_data(self, X, skip_check_array=True, reset=False)
            elif out.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {out.shape[1]} features, but {name} is "
                                 f"expecting {self.n_features_in_} features as input.")
        elif n_features != self._n_channels:
            got = ("univariate 2-D data" if form == "tabular"
                   else f"{n_features} channel(s)")
            raise ValueError(f"{name} was fitted on {self._n_channels} channel(s), but "
                             f"got {got}.")
        return out

    def fit(self, X, y=None):
        """Check the collection and record its number of channels.

        Parameters
        ----------
        X : array-like of shape (n_cases, n_channels, n_timepoints) or \
(n_cases, n_timepoints), or list of arrays
            The collection, time last.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._convert(X, reset=True)
        return self

    def transform(self, X):
        """Move the time axis before the channels.

        Parameters
        ----------
        X : array-like of shape (n_cases, n_channels, n_timepoints) or \
(n_cases, n_timepoints), or list of arrays
            The collection, time last.

        Returns
        -------
        X_seq : ndarray of shape (n_cases, n_timepoints, n_channels) or \
(n_cases, n_timepoints), or list of arrays
            The sequences, time first (a 2-D or 1-D univariate input unchanged).
        """
        check_is_fitted(self)
        return self._convert(X, reset=False)

    def inverse_transform(self, X):
        """Move the time axis back after the channels.

        Parameters
        ----------
        X : array-like of shape (n_cases, n_timepoints, n_channels) or \
(n_cases, n_timepoints), or list of arrays
            Sequences, time first.

        Returns
        -------
        X_collection : ndarray of shape (n_cases, n_channels, n_timepoints) or \
(n_cases, n_timepoints), or list of arrays
            The collection, time last.
        """
        check_is_fitted(self)
        return self._convert(X, reset=False, inverse=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
