"""Validation of representation arrays shared by the comparison metrics.

A representation is a ``(n_conditions, n_features)`` matrix (one row per
stimulus/condition, one column per unit/voxel/neuron) or a time-resolved
``(n_conditions, n_timepoints, n_features)`` array. Internally every metric
works on a batch ``(n_batch, n_conditions, n_features)`` where the batch runs
over time points (or is a single element for 2-D input).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._torch import resolve_device, resolve_dtype, to_tensor
from .._validation import check_array, check_finite

__all__ = ["as_batch", "as_scaled_batch", "refuse_sparse", "check_pair", "resolve", "scaled_distance"]


def resolve(device: Any, dtype: Any) -> tuple[torch.device, torch.dtype]:
    """Device and dtype of a comparison; only float32 and float64 are supported."""
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    if dt not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be float32 or float64 (or None); got {dtype!r}")
    return dev, dt


def _shape(t) -> str:
    shape = tuple(t.shape) if hasattr(t, "shape") else np.shape(t)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def refuse_sparse(X: Any, name: str) -> None:
    """Refuse a scipy.sparse matrix or array with a message that says so."""
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a scipy.sparse {type(X).__name__}; sparse input is not supported "
                        f"(pass {name}.toarray())")


def as_batch(X: Any, name: str, device: torch.device, dtype: torch.dtype,
             min_conditions: int = 2) -> tuple[torch.Tensor, bool]:
    """Validate ``X`` and return it as a ``(n_batch, n_conditions, n_features)`` tensor.

    Returns the tensor and whether the input was time-resolved (3-D). The
    caller's array is never modified (the tensor may share memory, so callers
    must not write into it).
    """
    refuse_sparse(X, name)
    if isinstance(X, torch.Tensor):
        t = X.detach()
        if t.ndim not in (2, 3):
            raise ValueError(
                f"{name} must be 2-D (n_conditions, n_features) or 3-D "
                f"(n_conditions, n_timepoints, n_features); got shape {_shape(t)}")
        if t.numel() == 0:
            raise ValueError(f"{name} is empty; got shape {_shape(t)}")
        if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.int16,
                                                      torch.int8, torch.uint8, torch.bool)):
            raise TypeError(f"{name} must be a real numeric tensor; got dtype {t.dtype}")
        finite = torch.isfinite(t.float() if not t.is_floating_point() else t)
        if not bool(finite.all()):
            n_nan = int(torch.isnan(t).sum()) if t.is_floating_point() else 0
            n_inf = int(torch.isinf(t).sum()) if t.is_floating_point() else 0
            raise ValueError(f"{name} must be finite; got {n_nan} NaN and {n_inf} Inf values")
        t = to_tensor(t, device=device, dtype=dtype)
    else:
        arr = check_array(X, name, ndim=(2, 3),
                          dims="(n_conditions, n_features) or (n_conditions, n_timepoints, n_features)")
        check_finite(arr, name)
        t = to_tensor(arr, device=device, dtype=dtype)
    if t.shape[0] < min_conditions:
        raise ValueError(f"{name} needs at least {min_conditions} conditions (rows); "
                         f"got {t.shape[0]} (shape {_shape(t)})")
    time_resolved = t.ndim == 3
    if time_resolved:
        t = t.permute(1, 0, 2)
    else:
        t = t.unsqueeze(0)
    return t, time_resolved


def _source_dtype(t: torch.Tensor, dtype: torch.dtype) -> torch.dtype:
    """The precision in which centring and rescaling run: the input's, or ``dtype`` if higher."""
    if not t.is_floating_point():
        return torch.float64
    return t.dtype if torch.finfo(t.dtype).bits >= torch.finfo(dtype).bits else dtype


def _max_abs(t: torch.Tensor) -> torch.Tensor:
    """Largest absolute value of each batch element ``(B, n, p)`` (no temporary array)."""
    return torch.maximum(t.amax(dim=(-1, -2)), -t.amin(dim=(-1, -2)))


def as_scaled_batch(X: Any, name: str, device: torch.device, dtype: torch.dtype,
                    min_conditions: int = 2, center: bool | torch.Tensor = True,
                    scale: torch.Tensor | None = None, what: str = "the metric",
                    expect: tuple[int, int, bool] | None = None, allow_constant: bool = False):
    """Validate ``X``, centre it and divide it by its largest magnitude before casting to ``dtype``.

    Scale-invariant metrics (CKA, angular shape distances) only see the centred
    data up to a positive factor, so they are computed on ``(X - mean) / c`` with
    ``c`` the largest absolute centred value of each batch element: the entries
    lie in [-1, 1] and no later product can over- or underflow, in float32 or
    float64, whatever the data's scale (1e-300 ... 1e300). The centring and the
    division run in the input's precision (float64 for numpy input) before the
    cast, so float32 loses nothing to a large offset or an out-of-range value.

    Parameters
    ----------
    center : bool or tensor
        True: subtract the column means; a tensor: subtract these means (e.g.
        the training means of a fitted metric); False: no centring.
    scale : tensor (n_batch,), optional
        Divide by this factor instead of the data's own (e.g. a training scale).
    expect : (n_batch, n_features, time_resolved), optional
        The layout a fitted metric was trained on; anything else is refused.
    allow_constant : bool
        Let an element without variance through (divided by 1) instead of raising.

    Returns
    -------
    t : tensor (n_batch, n_conditions, n_features) in ``dtype``
    time_resolved : bool
    mean : tensor (n_batch, 1, n_features) in the source precision, or None
    scale : float64 tensor (n_batch,)

    Raises
    ------
    ValueError
        When a batch element has no variance relative to its own magnitude
        (its centred values are at the level of rounding errors).
    """
    t, time_resolved = as_batch(X, name, device, None, min_conditions=min_conditions)
    if expect is not None:
        n_batch, n_features, was_resolved = expect
        if time_resolved != was_resolved or (time_resolved and t.shape[0] != n_batch):
            fitted = f"3-D with {n_batch} time points" if was_resolved else "2-D"
            raise ValueError(f"{name} must have the layout of the data given to fit ({fitted}); "
                             f"got shape {_shape(X)}")
        if t.shape[-1] != n_features:
            raise ValueError(f"{name} has {t.shape[-1]} features; the metric was fitted with {n_features}")
    src = _source_dtype(t, dtype)
    t = t.to(src)
    mean = None
    if isinstance(center, torch.Tensor):
        mean = center.to(device=t.device, dtype=src)
        t = t - mean
    elif center:
        mean = t.mean(dim=-2, keepdim=True)
        t = t - mean
    if scale is None:
        spread = _max_abs(t)
        # max|X| <= max|X - mean| + max|mean|: the raw magnitude, without another pass over X
        ref = spread + _max_abs(mean) if center is True else spread
        # a centred value below a few rounding errors of the raw magnitude is noise
        tol = ref * (8.0 * max(t.shape[-2], 1) ** 0.5 * torch.finfo(src).eps)
        bad = (spread <= tol) | (spread == 0)
        if allow_constant:
            spread = torch.where(spread > 0, spread, torch.ones_like(spread))
        elif bool(bad.any()):
            idx = int(torch.nonzero(bad)[0])
            where = "" if t.shape[0] == 1 else f" (time point {idx})"
            raise ValueError(
                f"{name} has no variance across conditions{where}: its largest centred deviation "
                f"{float(spread[idx]):.3g} is at the level of rounding errors of its largest value "
                f"{float(ref[idx]):.3g}; {what} is undefined")
        scale = spread.to(torch.float64)
        divisor = spread.to(src)[:, None, None]
        # after centring ``t`` is a private copy and may be divided in place
        t = t.div_(divisor) if mean is not None else t / divisor
    else:
        t = t / scale.to(device=t.device, dtype=src)[:, None, None]
        if torch.finfo(dtype).bits < torch.finfo(src).bits:
            big = float(t.abs().amax())
            if not big <= torch.finfo(dtype).max / 16:
                raise ValueError(f"{name} has values {big:.3g} times the scale of the data the metric "
                                 f"was fitted on, beyond the range of {dtype}; use dtype='float64'")
    return t.to(dtype), time_resolved, mean, scale


def scaled_distance(cos: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``sqrt(a^2 + b^2 - 2 a b cos)`` in float64 without over- or underflow (``a, b >= 0``)."""
    cos = cos.to(torch.float64).clamp(-1.0, 1.0)
    a, b = a.to(torch.float64), b.to(torch.float64)
    m = torch.maximum(a, b)
    m_safe = torch.where(m > 0, m, torch.ones_like(m))
    ar, br = a / m_safe, b / m_safe
    return m * torch.sqrt(((ar - br) ** 2 + 2.0 * ar * br * (1.0 - cos)).clamp_min(0.0))


def check_pair(X: torch.Tensor, Y: torch.Tensor, x_name: str = "X", y_name: str = "Y",
               pairwise: bool = False) -> None:
    """Check that two batches describe the same conditions and compatible batches."""
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of conditions (rows); "
            f"got {X.shape[1]} and {Y.shape[1]}")
    if not pairwise and X.shape[0] != Y.shape[0] and 1 not in (X.shape[0], Y.shape[0]):
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of time points (or one of them "
            f"none); got {X.shape[0]} and {Y.shape[0]}; pass pairwise=True for all pairs")


def finish(values: torch.Tensor, x_time: bool, y_time: bool, pairwise: bool) -> Any:
    """Turn a batched result into a float, a (T,) or a (T_x, T_y) numpy array."""
    out = values.detach().cpu().numpy()
    if pairwise:
        if not x_time:
            out = out[0]
        if not y_time:
            out = out[..., 0]
        return float(out) if np.ndim(out) == 0 else out
    if not (x_time or y_time):
        return float(out.reshape(-1)[0])
    return out.reshape(-1)
