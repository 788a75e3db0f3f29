"""Input checks shared by every neurodyn estimator.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, says what was expected and what was received, e.g.
``"X must be 2-D (n_timepoints, n_units); got shape (5,)"``. No check modifies
the caller's array: arrays are returned as (possibly new) numpy arrays.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "LayoutWarning",
    "check_array",
    "check_scalar",
    "check_probability",
    "check_float_range",
    "check_positive_definite",
    "check_allocation",
    "warn_if_transposed",
    "caller_stacklevel",
    "pow2_scale",
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
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is None and not isinstance(x, (str, bytes)):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = None
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got a complex array (take .real or np.abs "
                        f"explicitly if that is what you mean)")
    if kind in ("U", "S") or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array; got strings")
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
                     dims: str | None = None, warn_transposed: bool = False) -> np.ndarray:
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
    warn_transposed : bool
        Issue a :class:`LayoutWarning` when there are fewer timepoints than units
        (the array is probably transposed).

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
    if warn_transposed and arr.ndim >= 2:
        warn_if_transposed(arr, name, time_axis=time_axis,
                           unit_axis=-1 if time_axis != arr.ndim - 1 else 0)
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
                     allow_nan: bool = False, time_axis: int = 0,
                     warn_transposed: bool = False) -> list[np.ndarray]:
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
                            time_axis=time_axis, warn_transposed=warn_transposed)
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
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold class labels (integers or strings); got complex values")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN labels")
    if arr.dtype.kind == "f" and np.isinf(arr).any():
        raise ValueError(f"{name} must not contain Inf labels")
    if arr.dtype == object and any(v is None for v in arr.tolist()):
        raise ValueError(f"{name} must not contain None labels")
    try:
        classes, counts = np.unique(arr, return_counts=True)
    except TypeError as exc:
        raise TypeError(f"{name} must hold labels of one comparable type (all numbers or all "
                        f"strings); got a mix ({exc})") from exc
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


class LayoutWarning(UserWarning):
    """An array's shape suggests it may be in the wrong layout (e.g. transposed)."""


class DivergenceWarning(RuntimeWarning):
    """A maximum-likelihood estimate ran off to infinity (e.g. separation in a GLM).

    The fit returned finite numbers, but some of them are artefacts of the
    optimiser's stopping point rather than estimates; a penalty or prior fixes it.
    """


def caller_stacklevel() -> int:
    """``stacklevel`` that points a warning issued by the calling function at the user's line.

    Counts the frames from the caller of this function up to the first one outside
    neurodyn, skipping ``contextlib`` frames (the thread-policy decorator on ``fit``),
    so that a warning names the line that called neurodyn however deep the check sits.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (frame.f_globals.get("__name__", "").startswith("neurodyn.")
                                 or frame.f_globals.get("__name__") == "contextlib"):
        frame = frame.f_back
        level += 1
    return level


def warn_if_transposed(arr: np.ndarray, name: str, *, time_axis: int = 0,
                       unit_axis: int = 1, stacklevel: int | None = None) -> None:
    """Warn when a time series has fewer time points than units.

    neurodyn's layout is ``(n_timepoints, n_units)`` (one recording) and
    ``(n_recordings, n_timepoints, n_units)`` (a stack). A recording with fewer
    time points than units is legal but is usually a transposed array.
    """
    n_time, n_units = arr.shape[time_axis], arr.shape[unit_axis]
    if n_time < n_units:
        warnings.warn(
            f"{name} has {n_time} timepoints and {n_units} units; neurodyn expects "
            f"(n_timepoints, n_units) -- is it transposed? (pass X.T if so)",
            LayoutWarning, stacklevel=caller_stacklevel() if stacklevel is None else stacklevel)


def check_scalar(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True,
                 integer: bool = False, allow_none: bool = False) -> Any:
    """Validate a real (or integer) scalar parameter inside ``[low, high]``.

    NaN and Inf are refused (unless Inf is a bound that is included); booleans
    are refused as numbers. Returns a Python ``float`` (or ``int``).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}; got {value!r} ({type(value).__name__})")
    if integer:
        if not isinstance(value, (int, np.integer)):
            if float(value).is_integer():
                value = int(value)
            else:
                raise TypeError(f"{name} must be an integer; got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if np.isnan(value):
            raise ValueError(f"{name} must be a number; got NaN")
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (lo_ok and hi_ok) or (not integer and np.isinf(value)
                                  and not (high is not None and np.isinf(high) and high_inclusive and value > 0)):
        lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        raise ValueError(f"{name} must be in {lo}, {hi}; got {value!r}")
    return value


def check_probability(value: Any, name: str, *, allow_zero: bool = True,
                      allow_one: bool = True) -> float:
    """Validate a probability in [0, 1] (open at either end on request)."""
    return check_scalar(value, name, low=0.0, high=1.0, low_inclusive=allow_zero,
                        high_inclusive=allow_one)


def check_float_range(arr: np.ndarray, name: str, dtype: Any) -> None:
    """Refuse values that overflow ``dtype`` (finite here, Inf after the cast).

    Call this on the float64 input before casting to float32 (or after the cast
    with the original): a value that is finite in float64 but beyond float32's
    range would silently become Inf.
    """
    dt = np.dtype(str(dtype).replace("torch.", ""))
    if dt.kind != "f" or dt.itemsize >= 8 or arr.size == 0:
        return
    biggest = float(np.max(np.abs(arr)))
    limit = float(np.finfo(dt).max)
    if biggest > limit:
        raise ValueError(f"{name} has values up to {biggest:.3g}, beyond the range of {dt} "
                         f"({limit:.3g}); rescale the data or use dtype='float64'")


def check_positive_definite(m: Any, name: str, *, allow_batch: bool = False,
                            rtol: float = 1e-10) -> np.ndarray:
    """Validate a symmetric positive-definite matrix (or batch of them).

    The matrix must be symmetric (relative tolerance 1e-8 of its largest entry)
    and its smallest eigenvalue must exceed ``rtol`` times its largest.
    """
    arr = check_square_matrix(m, name, allow_batch=allow_batch)
    scale = float(np.max(np.abs(arr))) or 1.0
    check_symmetric(arr, name, atol=1e-8 * scale, allow_batch=allow_batch)
    sym = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    eig = np.linalg.eigvalsh(sym)
    lo, hi = eig[..., 0], eig[..., -1]
    bad = lo <= rtol * np.maximum(hi, 0)
    if np.any(bad):
        where = "" if arr.ndim == 2 else f" (matrix {int(np.flatnonzero(np.ravel(bad))[0])})"
        raise ValueError(f"{name} must be positive definite; smallest eigenvalue "
                         f"{float(np.min(lo)):.3g}, largest {float(np.max(hi)):.3g}{where}")
    return arr


def _available_memory() -> int | None:
    """Bytes of memory available to this process (MemAvailable on Linux), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_allocation(n_elements: float, name: str, *, itemsize: int = 8,
                     what: str = "array", fraction: float = 0.8) -> None:
    """Refuse, before allocating, an array larger than the memory this machine has free.

    Parameters
    ----------
    n_elements : float
        Number of elements the operation would allocate (computed in float, so
        it cannot overflow).
    name : str
        The argument(s) whose values lead to that size, for the message.
    itemsize : int
        Bytes per element.
    fraction : float
        Share of the available memory allowed.
    """
    need = float(n_elements) * itemsize
    avail = _available_memory()
    if avail is None:
        return
    if need > fraction * avail:
        raise MemoryError(
            f"{name} would need {need / 2**30:.3g} GiB for the {what}, more than the "
            f"{avail / 2**30:.3g} GiB of memory available; choose a smaller size")


def pow2_scale(max_abs: float) -> float:
    """A power of two ``s`` with ``max_abs / s`` in ``[0.5, 1)`` (1 for 0).

    Dividing by a power of two is exact, so normalising by ``s`` changes no digit
    of a float64 result unless it would have under- or overflowed.
    """
    if not np.isfinite(max_abs) or max_abs <= 0:
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(max_abs)[1])))
