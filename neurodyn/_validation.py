"""Input checks shared by every neurodyn estimator.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, says what was expected and what was received, e.g.
``"X must be 2-D (n_timepoints, n_units); got shape (5,)"``. No check modifies
the caller's array: arrays are returned as (possibly new) numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_finite",
    "check_timeseries",
    "check_recordings",
    "check_spike_counts",
    "check_square_matrix",
    "check_symmetric",
    "check_labels",
    "check_positive_int",
    "check_in",
    "zero_variance_channels",
]


def _shape_str(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _index_list(idx: np.ndarray, limit: int = 10) -> str:
    idx = [int(i) for i in np.asarray(idx).ravel()]
    shown = ", ".join(str(i) for i in idx[:limit])
    return f"[{shown}{', ...' if len(idx) > limit else ''}]"


def check_array(x: Any, name: str, ndim: int | Sequence[int] | None = None,
                dims: str | None = None, dtype: Any = np.float64) -> np.ndarray:
    """Convert ``x`` to a numeric numpy array and check its number of dimensions.

    Parameters
    ----------
    x : array-like
    name : str
        The argument's name, used in error messages.
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    dims : str, optional
        Human description of the axes, e.g. ``"(n_timepoints, n_units)"``.
    dtype : numpy dtype or None
        Target dtype (None keeps the input's numeric dtype).
    """
    if x is None:
        raise TypeError(f"{name} must be an array; got None")
    try:
        arr = np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array; could not convert it ({exc})") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array; got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            desc = f" {dims}" if dims else ""
            raise ValueError(f"{name} must be {want}{desc}; got shape {_shape_str(arr.shape)}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; got shape {_shape_str(arr.shape)}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise if ``arr`` holds NaN or Inf, giving the count and first position."""
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        first = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name} must be finite; got {n_nan} NaN and {n_inf} Inf values "
            f"(first at index {first})"
        )
    return arr


def zero_variance_channels(x: np.ndarray, time_axis: int = 0) -> np.ndarray:
    """Indices of channels whose values never change along ``time_axis``.

    For a 3-D input the channel index is the position in the remaining axes,
    flattened (C order).
    """
    x = np.asarray(x)
    moved = np.moveaxis(x, time_axis, 0).reshape(x.shape[time_axis], -1)
    const = np.all(moved == moved[:1], axis=0)
    return np.flatnonzero(const)


def check_timeseries(x: Any, name: str = "X", *, ndim: int | Sequence[int] = 2,
                     min_timepoints: int = 2, time_axis: int = 0,
                     allow_constant: bool = False, allow_nan: bool = False,
                     dims: str | None = None) -> np.ndarray:
    """Validate a time-series array.

    Parameters
    ----------
    x : array-like
        2-D ``(n_timepoints, n_units)`` by default; 3-D allowed with ``ndim=(2, 3)``.
    name : str
        Argument name for messages.
    min_timepoints : int
        Minimum length along ``time_axis``.
    time_axis : int
        Which axis is time (0 for ``(time, units)``, -1 for ``(units, time)``).
    allow_constant : bool
        When False, zero-variance channels raise an error listing their indices.
    allow_nan : bool
        When True, NaN is allowed (e.g. missing neurons); Inf never is.

    Returns
    -------
    numpy.ndarray (float64)
    """
    if dims is None:
        dims = "(n_timepoints, n_units)" if time_axis == 0 else "(n_units, n_timepoints)"
    arr = check_array(x, name, ndim=ndim, dims=dims)
    n_time = arr.shape[time_axis]
    if n_time < min_timepoints:
        raise ValueError(
            f"{name} is too short: needs at least {min_timepoints} timepoints along axis "
            f"{time_axis}; got {n_time} (shape {_shape_str(arr.shape)})"
        )
    if allow_nan:
        if np.isinf(arr).any():
            raise ValueError(f"{name} must not contain Inf; got {int(np.isinf(arr).sum())} Inf values")
    else:
        check_finite(arr, name)
    if not allow_constant:
        const = zero_variance_channels(np.nan_to_num(arr) if allow_nan else arr, time_axis=time_axis)
        if const.size:
            raise ValueError(
                f"{name} has {const.size} constant (zero-variance) channel(s) at index "
                f"{_index_list(const)}; remove them or pass allow_constant=True where supported"
            )
    return arr


def check_recordings(recordings: Any, name: str = "X", *, min_timepoints: int = 2,
                     same_length: bool = False, allow_constant: bool = False,
                     allow_nan: bool = False, time_axis: int = 0) -> list[np.ndarray]:
    """Validate a list of 2-D recordings (or a 3-D array, split along axis 0).

    Recordings may differ in length unless ``same_length``; they must agree in
    the number of units. Each element is checked by :func:`check_timeseries`
    with a name like ``"X[3]"``.
    """
    if isinstance(recordings, np.ndarray) or hasattr(recordings, "__array_interface__"):
        arr = np.asarray(recordings)
        if arr.ndim == 2:
            recordings = [arr]
        elif arr.ndim == 3:
            recordings = list(arr)
        else:
            raise ValueError(
                f"{name} must be a 3-D array (n_recordings, ...) or a list of 2-D arrays; "
                f"got shape {_shape_str(arr.shape)}"
            )
    elif not isinstance(recordings, (list, tuple)):
        raise TypeError(f"{name} must be an array or a list of arrays; got {type(recordings).__name__}")
    if len(recordings) == 0:
        raise ValueError(f"{name} is empty; expected at least one recording")
    out = [check_timeseries(r, f"{name}[{i}]", min_timepoints=min_timepoints,
                            allow_constant=allow_constant, allow_nan=allow_nan,
                            time_axis=time_axis)
           for i, r in enumerate(recordings)]
    unit_axis = 1 if time_axis == 0 else 0
    n_units = {r.shape[unit_axis] for r in out}
    if len(n_units) > 1:
        sizes = [r.shape[unit_axis] for r in out]
        raise ValueError(f"{name}: all recordings must have the same number of units; got {sizes}")
    if same_length:
        lengths = [r.shape[time_axis] for r in out]
        if len(set(lengths)) > 1:
            raise ValueError(f"{name}: all recordings must have the same length; got lengths {lengths}")
    return out


def check_spike_counts(y: Any, name: str = "spikes", *, ndim: int | Sequence[int] = (2, 3),
                       min_timepoints: int = 2) -> np.ndarray:
    """Validate spike counts: finite, non-negative integers (any numeric dtype).

    Returns a float64 array (counts are exact in float64 up to 2**53).
    """
    arr = check_array(y, name, ndim=ndim, dims="(n_timepoints, n_neurons) or (n_trials, n_timepoints, n_neurons)")
    check_finite(arr, name)
    time_axis = 0 if arr.ndim == 2 else 1
    if arr.shape[time_axis] < min_timepoints:
        raise ValueError(
            f"{name} is too short: needs at least {min_timepoints} time bins; got {arr.shape[time_axis]}"
        )
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative counts; got {int((arr < 0).sum())} negative values "
                         f"(min {arr.min():g})")
    frac = arr != np.round(arr)
    if frac.any():
        first = tuple(int(i) for i in np.argwhere(frac)[0])
        raise ValueError(f"{name} must hold integer counts; got {int(frac.sum())} non-integer values "
                         f"(first {arr[first]:g} at index {first})")
    return arr


def check_square_matrix(m: Any, name: str = "matrix", *, allow_batch: bool = False,
                        allow_nan: bool = False) -> np.ndarray:
    """Validate a square matrix ``(n, n)`` (or a batch ``(..., n, n)`` when allowed)."""
    arr = check_array(m, name, ndim=None)
    if allow_batch:
        if arr.ndim < 2:
            raise ValueError(f"{name} must be at least 2-D (..., n, n); got shape {_shape_str(arr.shape)}")
    elif arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, n); got shape {_shape_str(arr.shape)}")
    if arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must be square; got shape {_shape_str(arr.shape)}")
    if allow_nan:
        if np.isinf(arr).any():
            raise ValueError(f"{name} must not contain Inf")
    else:
        check_finite(arr, name)
    return arr


def check_symmetric(m: Any, name: str = "matrix", *, atol: float = 1e-8,
                    allow_batch: bool = False, allow_nan: bool = False) -> np.ndarray:
    """Validate a square symmetric matrix; the message gives the largest asymmetry."""
    arr = check_square_matrix(m, name, allow_batch=allow_batch, allow_nan=allow_nan)
    diff = np.abs(arr - np.swapaxes(arr, -1, -2))
    worst = float(np.nanmax(diff)) if diff.size else 0.0
    if worst > atol:
        idx = tuple(int(i) for i in np.unravel_index(np.nanargmax(diff), diff.shape))
        raise ValueError(f"{name} must be symmetric; largest |m - m.T| is {worst:.3g} at index {idx} "
                         f"(tolerance {atol:g})")
    return arr


def check_labels(labels: Any, name: str = "y", *, n_samples: int | None = None,
                 min_classes: int = 1, min_per_class: int = 1) -> np.ndarray:
    """Validate a 1-D label vector (any hashable values without NaN)."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,); got shape {_shape_str(arr.shape)}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} must have {n_samples} entries to match the data; got {arr.shape[0]}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN labels")
    classes, counts = np.unique(arr, return_counts=True)
    if classes.size < min_classes:
        raise ValueError(f"{name} must contain at least {min_classes} classes; got {classes.size} "
                         f"({classes.tolist()[:10]})")
    if counts.min() < min_per_class:
        small = classes[counts < min_per_class].tolist()[:10]
        raise ValueError(f"{name}: every class needs at least {min_per_class} samples; "
                         f"classes {small} have fewer")
    return arr


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Validate an integer parameter ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def check_in(value: Any, name: str, options: Sequence[Any]) -> Any:
    """Validate that ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}")
    return value
