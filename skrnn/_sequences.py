"""Sequences as users have them -> the time-major padded array the core consumes.

Accepted forms of ``X`` (DESIGN.md, "Sequences in, predictions out"):

* 3-D array ``(n_samples, n_timesteps, n_features)``, batch-first as in Keras and
  PyTorch's ``batch_first=True``;
* 2-D array or DataFrame ``(n_samples, n_timesteps)``: univariate sequences, one column
  per timestep (the convention of aeon, sktime and tslearn, and what a scikit-learn
  ``Pipeline`` passes along);
* a list of 2-D ``(n_timesteps_i, n_features)`` or 1-D ``(n_timesteps_i,)`` arrays of
  different lengths; other libraries' containers of such arrays read the same way: a
  1-D object array, a ``pandas.Series`` of arrays, and a DataFrame whose cells are
  arrays or Series (sktime's "nested" format: a row is a sample, a column a feature).

Whatever the form, the result is a :class:`Sequences` record: a C-contiguous time-major
array ``(T, N, F)``, zero-padded past each sequence's end, the true ``lengths`` and the
``form`` the data came in. Every refusal is a ``ValueError`` or ``TypeError`` that names
the problem and the fix.
"""

from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_array

FLOAT_DTYPES = (np.float64, np.float32)


class Sequences(NamedTuple):
    X: np.ndarray  # (T, N, F) time-major, zero-padded, float32 or float64
    lengths: np.ndarray  # (N,) intp, 1 <= lengths <= T
    form: str  # "tabular" (2-D / DataFrame), "array" (3-D) or "list" (ragged)

    @property
    def n_samples(self):
        return self.X.shape[1]

    @property
    def n_features(self):
        return self.X.shape[2]

    def take(self, indices):
        """The sequences at ``indices`` (a new record, trimmed to its longest one)."""
        lengths = self.lengths[indices]
        T = int(lengths.max()) if len(lengths) else 0
        return Sequences(np.ascontiguousarray(self.X[:T, indices]), lengths, self.form)


def is_ragged(X):
    """Whether ``X`` is a list of sequences, to be read one element per sequence.

    That is a list or tuple with an ndarray (or a sparse matrix, to be refused with a
    clear message) among its elements, or whose elements have different shapes. A
    list of lists of equal shapes (such as ``X.tolist()``) is left to
    ``check_array``, which reads it as the regular 2-D or 3-D array it is. A 1-D
    object array or a ``pandas.Series`` reads as the list of its elements, and a
    DataFrame of array cells as a list of its rows (see :func:`as_sequence_list`).
    """
    if _is_nested_frame(X):
        return True
    if _is_object_vector(X):
        X = list(X)
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    if any(isinstance(x, np.ndarray) or _is_sparse(x) for x in X):
        return True
    like = [_is_sequence_like(x) for x in X]
    if not any(like):
        return False  # a 1-D list of numbers: check_array refuses it clearly
    if not all(like):
        return True  # a scalar among sequences: check_ragged names it
    try:
        first = np.shape(X[0])
        return any(np.shape(x) != first for x in X)
    except ValueError:  # an element that is itself jagged: check_ragged names it
        return True


def _is_sparse(x):
    return hasattr(x, "tocsr")


def _is_object_vector(X):
    """A 1-D object ndarray or a ``pandas.Series`` of objects: one sequence an element."""
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    return (getattr(X, "ndim", None) == 1 and kind == "O"
            and (isinstance(X, np.ndarray) or hasattr(X, "iloc")))


def _is_nested_frame(X):
    """A DataFrame whose cells are sequences (sktime's "nested_univ" format): every
    column of object dtype, and the first cell an array, a Series or a list."""
    if not (hasattr(X, "iloc") and getattr(X, "ndim", None) == 2):
        return False
    if X.shape[0] == 0 or X.shape[1] == 0:
        return False
    if not all(getattr(dtype, "kind", None) == "O" for dtype in X.dtypes):
        return False
    first = X.iloc[0, 0]
    return isinstance(first, (list, tuple)) or hasattr(first, "__array__")


def as_sequence_list(X, *, input_name="X"):
    """The sequences of a ragged container, as a list with one element a sequence.

    A list or tuple is returned as a list of its elements; a 1-D object array and a
    ``pandas.Series`` as the list of their elements (``Series.to_numpy()``, so the
    index is not read); a DataFrame whose cells are sequences (sktime's "nested"
    format: a row is a sample, a column a feature, a cell the feature's values over
    time) as one ``(n_timesteps_i, n_columns)`` array a row, its cells side by side.
    """
    if _is_nested_frame(X):
        rows = []
        for i, row in enumerate(X.itertuples(index=False, name=None)):
            cells = [np.asarray(cell) for cell in row]
            lengths = {cell.shape for cell in cells}
            if len(lengths) != 1 or cells[0].ndim != 1:
                raise ValueError(
                    f"Row {i} of the nested DataFrame {input_name} holds cells of "
                    f"shapes {sorted(lengths)}: every cell of a row must be a 1-D "
                    "sequence of the same length (one feature over the same "
                    "timesteps)."
                )
            rows.append(np.stack(cells, axis=1))
        return rows
    if _is_object_vector(X):
        return list(np.asarray(X))
    return list(X)


def _is_sequence_like(x):
    return isinstance(x, (list, tuple)) or hasattr(x, "__array__")


def check_tabular_or_array(X, *, input_name="X"):
    """Validate a regular (non-ragged) ``X`` and return the numeric array.

    The caller passes the array through ``sklearn.utils.validation.validate_data``
    first when it needs the feature-name and feature-count bookkeeping; this function
    adds the checks ``check_array`` does not make for sequences.
    """
    if X.ndim == 1:
        raise ValueError(
            f"Expected 2D or 3D array, got 1D array instead: {input_name}.shape="
            f"{X.shape}. Reshape your data either using array.reshape(-1, 1) if your "
            "data has a single timestep, or array.reshape(1, -1) if it contains a "
            "single univariate sequence. Several sequences of different lengths go "
            "in a list of 1-D or 2-D arrays."
        )
    if X.ndim > 3:
        raise ValueError(
            f"Found array with dim {X.ndim}, {input_name}.shape={X.shape}; skrnn "
            "expects 2-D (n_samples, n_timesteps) univariate sequences or 3-D "
            "(n_samples, n_timesteps, n_features) sequences."
        )
    if X.ndim == 3 and X.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 timestep(s) (shape={X.shape}) while a minimum of 1 "
            "is required: every sequence needs at least one timestep."
        )
    if X.ndim == 3 and X.shape[2] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            "is required: each timestep needs at least one feature."
        )
    return X


def to_time_major(X):
    """A validated 2-D ``(N, T)`` or 3-D ``(N, T, F)`` array -> :class:`Sequences`.

    The time-major array is a *view* of ``X``, not a copy: the work reads chunks or
    minibatches of it (and copies those), so that a fit or a predict never holds a
    second copy of the whole data."""
    if X.ndim == 2:
        N, T = X.shape
        Xt = X.T[:, :, None]
        form = "tabular"
    else:
        N, T, _ = X.shape
        Xt = X.transpose(1, 0, 2)
        form = "array"
    return Sequences(Xt, np.full(N, T, dtype=np.intp), form)


def check_ragged(X, *, input_name="X"):
    """Validate a list of sequences of different lengths -> :class:`Sequences`.

    Each element must be 1-D ``(T_i,)`` (one feature) or 2-D ``(T_i, F)`` with the
    same ``F`` for all, at least one timestep, numeric and finite. ``X`` is any
    container :func:`is_ragged` accepts (see :func:`as_sequence_list`).
    """
    seqs = []
    for i, x in enumerate(as_sequence_list(X, input_name=input_name)):
        name = f"{input_name}[{i}]"
        if _is_sparse(x):
            raise TypeError(
                f"Sparse data was passed for {name}, but dense data is required. "
                "Use '.toarray()' to convert to a dense numpy array."
            )
        if not _is_sequence_like(x):
            raise TypeError(
                f"{name} is a {type(x).__name__}, not a sequence: each element of a "
                "list of sequences must be a 1-D (n_timesteps,) or 2-D "
                "(n_timesteps, n_features) array."
            )
        try:
            x = check_array(x, ensure_2d=False, dtype=FLOAT_DTYPES,
                            ensure_min_samples=0, ensure_min_features=0,
                            input_name=name)
        except (TypeError, ValueError) as exc:
            if "inhomogeneous" in str(exc) or "with a sequence" in str(exc):
                raise ValueError(
                    f"{name} is not a rectangular array: all timesteps of a sequence "
                    "must have the same number of features, given as a 1-D array "
                    "(n_timesteps,) or a 2-D array (n_timesteps, n_features)."
                ) from exc
            if name in str(exc):
                raise
            raise type(exc)(f"{name}: {exc}") from exc
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        elif x.ndim != 2:
            raise ValueError(
                f"{name} has shape {x.shape}: each sequence in a list must be 1-D "
                "(n_timesteps,) or 2-D (n_timesteps, n_features)."
            )
        if x.shape[0] == 0:
            raise ValueError(
                f"{name} is an empty sequence (0 timesteps); every sequence needs at "
                "least one timestep. Drop it from the list or pad it."
            )
        if x.shape[1] == 0:
            raise ValueError(
                f"{name} has 0 features per timestep (shape={x.shape}); each timestep "
                "needs at least one feature."
            )
        if seqs and x.shape[1] != seqs[0].shape[1]:
            raise ValueError(
                f"Sequences in {input_name} have different numbers of features: "
                f"{input_name}[0] has {seqs[0].shape[1]} and {name} has {x.shape[1]}. "
                "Every sequence must have the same features per timestep."
            )
        seqs.append(x)
    dtype = (np.float32 if all(s.dtype == np.float32 for s in seqs) else np.float64)
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.intp)
    N, T, F = len(seqs), int(lengths.max()), seqs[0].shape[1]
    Xt = np.zeros((T, N, F), dtype=dtype)
    # group by length: one strided copy per distinct length, not one per sequence
    for length in np.unique(lengths):
        idx = np.flatnonzero(lengths == length)
        Xt[:length, idx] = np.stack([seqs[i] for i in idx], axis=1)
    return Sequences(Xt, lengths, "list")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Validate ``sample_weight`` -> 1-D array of non-negative weights, not all zero."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (Integral, float, np.number)):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sample_weight = check_array(sample_weight, ensure_2d=False, dtype=dtype,
                                input_name="sample_weight", copy=True)
    if sample_weight.ndim != 1:
        raise ValueError(
            "Sample weights must be 1D array or scalar, got "
            f"{sample_weight.ndim}D array of shape {sample_weight.shape}."
        )
    if sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({n_samples},)!"
        )
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to sample_weight; "
                         "sample weights must be non-negative.")
    if not np.any(sample_weight > 0):
        raise ValueError(
            "Sample weights must contain at least one non-zero number: all sample "
            "weights are zero, so there is nothing to fit."
        )
    return sample_weight


def merge_duplicates(seq, Y, sample_weight, return_index=False):
    """Canonical full-batch data: zero-weight samples dropped, identical samples
    merged into one with the summed weight, rows in a fixed (lexicographic) order.

    For a full-batch objective this changes nothing mathematically (the loss is
    ``sum_i w_i l_i / sum_i w_i``) but makes it *exactly* invariant, bit for bit, to
    the order of the samples and to the choice between repeating a sample and giving
    it an integer weight; it also saves the work on repeated samples.

    Returns ``(seq, Y, sample_weight)``, the weights always as an array, and with
    ``return_index`` the index of each merged row in the given ``seq``.
    """
    N = seq.n_samples
    T, _, F = seq.X.shape
    keep = np.arange(N)
    if sample_weight is not None:
        keep = np.flatnonzero(sample_weight > 0)
        if len(keep) < N:
            seq, Y, sample_weight = seq.take(keep), Y[keep], sample_weight[keep]
            N, T = seq.n_samples, seq.X.shape[0]
    # one row of bytes per sample (length, sequence, target), written in place: about
    # one copy of the data, plus the sort's own copy, at the peak
    K = Y.shape[1]
    # compared in float64 whatever X's dtype: float32 keys would merge targets that
    # differ below float32's precision (1.0 and 1 + 1e-9) into one sample
    keys = np.empty((N, 1 + T * F + K), dtype=np.float64)
    keys[:, 0] = seq.lengths
    keys[:, 1:1 + T * F].reshape(N, T, F)[...] = seq.X.transpose(1, 0, 2)
    keys[:, 1 + T * F:] = Y
    rows = keys.view(np.dtype((np.void, keys.shape[1] * keys.itemsize))).ravel()
    order = np.argsort(rows, kind="stable")  # byte order: canonical, and no copy
    del rows
    starts = np.ones(N, dtype=bool)  # does sorted row i differ from row i - 1?
    block = 4096
    for lo in range(1, N, block):
        hi = min(N, lo + block)
        starts[lo:hi] = np.any(keys[order[lo:hi]] != keys[order[lo - 1:hi - 1]], axis=1)
    del keys
    first = order[starts]
    inverse = np.empty(N, dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    if sample_weight is None:
        weights = np.bincount(inverse, minlength=len(first)).astype(Y.dtype)
    else:
        weights = np.bincount(inverse, weights=sample_weight,
                              minlength=len(first)).astype(sample_weight.dtype)
    if return_index:
        return seq.take(first), Y[first], weights, keep[first]
    return seq.take(first), Y[first], weights


def segment(seq, k, offset=0):
    """Read ``k`` consecutive timesteps as one input vector: ``(T, N, F)`` ->
    ``(ceil(T / k), N, k * F)``, each sequence ``ceil(L / k)`` segments long.

    Segment ``s`` of a sequence is ``[x_{sk}, ..., x_{sk+k-1}]`` (time-major within the
    segment). A sequence whose length is not a multiple of ``k`` fills its last segment
    by repeating its last real timestep ("edge" padding): that depends on the sequence
    alone, never on the batch, and commutes with any per-feature affine scaling. Past
    each sequence's last segment the result is zero, as in every :class:`Sequences`.

    ``offset`` (in ``[0, k)``, ``segment_jitter``'s draw) starts every sequence's
    segments ``offset`` steps early: its first step repeated that many times in
    front, so that its segment ``s`` is ``[x_{sk-o}, ..., x_{sk+k-1-o}]`` and it is
    ``ceil((L + o) / k)`` segments long.
    """
    if k == 1:
        return seq
    T, N, F = seq.X.shape
    lengths = seq.lengths
    S = -(-(T + offset) // k)
    # written straight into the segments' layout, one position j of the k at a time
    # (a step that small needs no copy of the whole data in time order first)
    Xs = np.empty((S, N, k, F), dtype=seq.X.dtype)
    end = offset + lengths
    last = seq.X[lengths - 1, np.arange(N)] if N else None  # (N, F)
    for j in range(k):  # segment s holds step s*k + j - offset at position j
        first = -(-max(offset - j, 0) // k)  # the first segment to hold a real step
        Xs[:first, :, j] = seq.X[:1]  # the offset's copies of the first step
        steps = seq.X[first * k + j - offset::k]
        Xs[first:first + len(steps), :, j] = steps
        if N:  # from each sequence's end on (and past T), its last step
            tail_from = -(-max(int(end.min()) - j, 0) // k)
            tail = (np.arange(tail_from, S) * k + j)[:, None] >= end
            np.copyto(Xs[tail_from:, :, j], last[None], where=tail[..., None])
    Xs = Xs.reshape(S, N, k * F)
    seg_lengths = -(-(lengths + offset) // k)
    if N and seg_lengths.min() < S:
        Xs[np.arange(S)[:, None] >= seg_lengths] = 0
    return Sequences(Xs, seg_lengths, seq.form)


def feature_stats(seq, sample_weight=None):
    """Per-feature mean and scale over every real timestep of every sequence, each
    sequence's steps weighted by its ``sample_weight``: ``(shift, scale)``, float64
    ``(F,)``. A feature that does not vary gets scale 1 (it is only centred)."""
    T, N, F = seq.X.shape
    w = np.ones(N) if sample_weight is None else np.asarray(sample_weight, np.float64)
    real = (np.arange(T)[:, None] < seq.lengths) * w  # (T, N): step weights
    total = real.sum()
    # in units of each feature's largest magnitude, so that no sum overflows
    X = seq.X.astype(np.float64, copy=False)
    unit = np.abs(X).max(axis=(0, 1)) if X.size else np.ones(F)
    unit[~(unit > 0)] = 1.0
    U = X / unit  # a new array: the squared deviations below are written over it
    shift = np.einsum("tn,tnf->f", real, U) / total
    U -= shift
    np.square(U, out=U)
    scale = np.sqrt(np.einsum("tn,tnf->f", real, U) / total)
    del U
    tiny = 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(shift))
    const = scale <= tiny  # a feature that does not vary is only centred
    shift, scale = shift * unit, scale * unit
    scale[const] = 1.0
    return shift, scale


def standardize(seq, shift, scale, dtype=None):
    """A new :class:`Sequences` ``(X - shift) / scale`` in ``dtype`` (default:
    ``X``'s), zero past each sequence's end."""
    X = seq.X - shift  # a new array, divided in place: one copy of the data, not two
    X /= scale
    X = X.astype(seq.X.dtype if dtype is None else dtype, copy=False)
    T = X.shape[0]
    if len(seq.lengths) and seq.lengths.min() < T:
        X[np.arange(T)[:, None] >= seq.lengths] = 0
    return Sequences(X, seq.lengths, seq.form)


def relative_to_last(seq, feature):
    """Feature ``feature`` of each sequence relative to its value at the sequence's
    last real timestep: ``(Sequences, last)``, the new record (a copy; zero past each
    sequence's end) and those last values ``(N,)`` in ``X``'s dtype. The other
    features are unchanged."""
    X = np.array(seq.X)  # a copy: seq.X may be a view of the caller's array
    N, T = seq.n_samples, X.shape[0]
    last = X[seq.lengths - 1, np.arange(N), feature].copy()
    X[:, :, feature] -= last
    if N and seq.lengths.min() < T:
        X[np.arange(T)[:, None] >= seq.lengths, feature] = 0
    return Sequences(X, seq.lengths, seq.form), last


#: ``normalize_each``'s floor of a sequence's scale, in units of the feature's scale
#: over the training data: a constant sequence reads as 1e-6 of it.
SCALE_FLOOR = 1e-6


def normalize_each(seq, shift, scale, dtype=None, k=1, offset=0):
    """Each sequence read relative to itself (``sequence_norm``), in segments of ``k``
    steps: ``(T, N, F)`` -> ``(ceil(T / k), N, (k + 2) F)``, zero past each sequence's
    last segment.

    With ``u = (x - shift) / scale`` (the features in the training data's units),
    ``m_i`` and ``v_i`` the mean and variance of ``u`` over sequence ``i``'s own real
    timesteps, and ``s_i = sqrt(v_i + SCALE_FLOOR**2)``, per feature:

    - features ``[0, kF)``: the shape, ``(u - m_i) / s_i``, read ``k`` steps at a time
      as :func:`segment` reads them;
    - features ``[kF, kF + F)``: the level, ``m_i``, once a segment;
    - features ``[kF + F, kF + 2F)``: the log scale, ``log(s_i)``, once a segment.

    The shape is nearly the same for ``a * x + b`` as for ``x`` (``a > 0``), so
    sequences whose levels and scales differ by orders of magnitude still give the
    recurrent layers inputs of unit size; the level and the log scale keep what the
    shape leaves out, in bounded units. The floor (as the ``eps`` of instance and
    layer normalisation) keeps a constant sequence's shape zero and rounding noise
    unamplified. Each sequence's result depends on it alone (and on ``shift`` and
    ``scale``), never on the batch or the padding. ``offset``: as :func:`segment`'s.
    """
    dtype = seq.X.dtype if dtype is None else dtype
    return assemble_each(*sequence_shapes(seq, shift, scale), dtype, k, offset)


def sequence_shapes(seq, shift, scale):
    """:func:`normalize_each`'s first part, one step at a time: ``(shapes, level,
    log_scale)``, the shapes a float64 :class:`Sequences` ``(T, N, F)`` (zero past
    each end), the level and the log scale ``(N, F)``."""
    T, N, F = seq.X.shape
    padded = len(seq.lengths) and seq.lengths.min() < T
    U = seq.X.astype(np.float64)  # a copy, worked on in place
    U -= shift
    U /= scale
    if padded:
        real = np.arange(T)[:, None] < seq.lengths  # (T, N)
        U[~real] = 0.0
    n = np.maximum(seq.lengths, 1)[:, None].astype(np.float64)  # (N, 1)
    mean = U.sum(axis=0) / n  # (N, F)
    U -= mean  # the deviations
    if padded:
        U[~real] = 0.0
    std = np.sqrt(np.einsum("tnf,tnf->nf", U, U) / n + SCALE_FLOOR ** 2)
    U /= std  # the shapes
    return Sequences(U, seq.lengths, seq.form), mean, np.log(std)


def assemble_each(shapes, level, log_scale, dtype, k=1, offset=0):
    """:func:`normalize_each`'s second part: :func:`sequence_shapes`' results in
    segments of ``k`` steps (started ``offset`` steps early), the level and the log
    scale once a segment, in ``dtype``."""
    N, F = level.shape
    shape = segment(shapes, k, offset)
    S, lengths = shape.X.shape[0], shape.lengths
    out = np.zeros((S, N, (k + 2) * F), dtype)
    out[..., :k * F] = shape.X
    out[..., k * F:(k + 1) * F] = level
    out[..., (k + 1) * F:] = log_scale
    if len(lengths) and lengths.min() < S:
        out[np.arange(S)[:, None] >= lengths, k * F:] = 0.0
    return Sequences(out, lengths, shapes.form)
