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

__all__ = ["as_batch", "check_pair", "resolve"]


def resolve(device: Any, dtype: Any) -> tuple[torch.device, torch.dtype]:
    dev = resolve_device(device)
    return dev, resolve_dtype(dtype, dev)


def _shape(t) -> str:
    shape = tuple(t.shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_batch(X: Any, name: str, device: torch.device, dtype: torch.dtype,
             min_conditions: int = 2) -> tuple[torch.Tensor, bool]:
    """Validate ``X`` and return it as a ``(n_batch, n_conditions, n_features)`` tensor.

    Returns the tensor and whether the input was time-resolved (3-D). The
    caller's array is never modified (the tensor may share memory, so callers
    must not write into it).
    """
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
