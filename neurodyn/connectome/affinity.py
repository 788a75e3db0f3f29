"""Pairwise, windowed, non-linear affinities between neuron traces.

The dynamic connectome is factorised from a non-negative 3-way tensor
``X[p, k, w]``: the affinity of neuron pair ``p`` in time window ``k`` of animal
``w``. Pairs follow ``np.triu_indices(n_neurons, 1)`` order, so the pair mode
comes first and a C-ordered tensor reshapes to ``(n_pairs, n_windows * n_animals)``
without a copy.

Built-in affinities (all symmetric, zero on the diagonal, in ``[0, 1]`` for the
correlation kinds, and invariant to a positive affine rescaling of any trace):

``"derivative_corr"`` (default)
    Each trace is smoothed with a Gaussian (``smooth_sigma`` samples), its time
    derivative is taken with central differences, and in each window the Pearson
    correlation of the two derivatives is rectified at zero.
``"derivative_product"``
    The instantaneous version: the derivative is z-scored over the whole
    recording and the rectified product ``max(0, z_i(t) z_j(t))`` is averaged
    inside each window (``window=1, step=1`` keeps every sample).
``"corr"``
    Rectified Pearson correlation of the smoothed traces themselves.

Traces follow the package layout: one recording is ``(n_timepoints, n_units)``,
several animals are a stack ``(n_animals, n_timepoints, n_units)`` or a list of
``(n_timepoints, n_units)`` arrays. (Before this release the connectome took
``(n_animals, n_neurons, n_timepoints)``; such an array is refused where the
layout can be told apart and otherwise draws a :class:`LayoutWarning`.)

A neuron whose trace is entirely NaN in an animal (an all-NaN column) is treated
as missing: its pairs get affinity 0 there and are flagged in the returned mask.

Numerics: before the pairwise work each trace's signal is divided by a power of
two (exact in floating point, so float64 results do not change), and in float32
a ``"corr"`` trace is also centred in float64 first; the affinities are then the
same at any data scale (1e-15 ... 1e15) and in float32 within about 1e-6.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from .._parallel import check_memory, check_n_jobs, n_workers, parallel_map
from .._torch import resolve_device, resolve_dtype, to_numpy, to_tensor
from .._validation import (
    LayoutWarning,
    caller_stacklevel,
    check_allocation,
    check_array,
    check_positive_int,
    check_scalar,
)

__all__ = [
    "AFFINITIES",
    "affinity_tensor",
    "pairs_to_matrix",
    "matrix_to_pairs",
    "n_nodes_from_pairs",
    "pair_indices",
    "window_starts",
    "check_traces",
]

AFFINITIES = ("derivative_corr", "derivative_product", "corr")

# Elements of the largest intermediate a block may hold (about 256 MB in float64).
_BLOCK_ELEMENTS = 2**25

# Shortest window over which a (rectified) Pearson correlation means something:
# with two samples it can only be -1 or +1.
_MIN_CORR_WINDOW = 3

def _warn_layout(message: str) -> None:
    """Issue a :class:`LayoutWarning` attributed to the first caller outside neurodyn."""
    warnings.warn(message, LayoutWarning, stacklevel=caller_stacklevel())


def _check_finite_values(arr: np.ndarray, name: str) -> None:
    """Refuse NaN or Inf in a float array (integer and boolean arrays are always finite)."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {int(np.isnan(arr).sum())} NaN and "
                         f"{int(np.isinf(arr).sum())} Inf values")


def pair_indices(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pair mode: ``np.triu_indices(n_nodes, 1)``."""
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=2)
    return np.triu_indices(n_nodes, 1)


def n_nodes_from_pairs(n_pairs: int, name: str = "the pair mode") -> int:
    """The ``N`` with ``N (N - 1) / 2 == n_pairs``; raises if there is none."""
    n = int(round((1 + math.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs or n < 2:
        raise ValueError(
            f"{name} has {n_pairs} entries, which is not N(N-1)/2 for any N >= 2"
        )
    return n


def matrix_to_pairs(matrix: Any) -> np.ndarray:
    """Upper-triangle entries of a square matrix (or a batch ``(..., N, N)``).

    Parameters
    ----------
    matrix : array-like, shape (..., N, N)

    Returns
    -------
    pairs : ndarray, shape (..., N (N - 1) / 2)
        ``matrix[..., i, j]`` for ``(i, j)`` in ``np.triu_indices(N, 1)`` order.
        The values are copied exactly (no arithmetic). NaN, Inf, complex and
        non-numeric input are refused.
    """
    arr = check_array(matrix, "matrix", dtype=None)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"matrix must be square (..., N, N); got shape {arr.shape}")
    if arr.shape[-1] < 2:
        raise ValueError(f"matrix must have at least 2 nodes to form pairs; got shape {arr.shape}")
    _check_finite_values(arr, "matrix")
    rows, cols = pair_indices(arr.shape[-1])
    return arr[..., rows, cols].copy()


def pairs_to_matrix(pairs: Any, n_nodes: int | None = None, diagonal: float = 0.0) -> np.ndarray:
    """Symmetric ``(..., N, N)`` matrix from upper-triangle pair values.

    Parameters
    ----------
    pairs : array-like, shape (..., P)
        Values in ``np.triu_indices(N, 1)`` order, ``P = N (N - 1) / 2``.
    n_nodes : int, optional
        ``N``; inferred from ``P`` when omitted.
    diagonal : float
        Value written on the diagonal (0 by default).

    Returns
    -------
    matrix : ndarray, shape (..., N, N)
        Exactly the given values in both triangles.
    """
    vec = check_array(pairs, "pairs", dtype=None)
    if vec.ndim < 1:
        raise ValueError(f"pairs must be at least 1-D (..., n_pairs); got shape {vec.shape}")
    _check_finite_values(vec, "pairs")
    diagonal = check_scalar(diagonal, "diagonal")
    if n_nodes is None:
        n = n_nodes_from_pairs(vec.shape[-1], "pairs (last axis)")
    else:
        n = check_positive_int(n_nodes, "n_nodes", minimum=2)
    if n * (n - 1) // 2 != vec.shape[-1]:
        raise ValueError(
            f"pairs has {vec.shape[-1]} entries along its last axis; n_nodes={n} needs {n * (n - 1) // 2}"
        )
    rows, cols = pair_indices(n)
    out = np.full(vec.shape[:-1] + (n, n), diagonal, dtype=np.result_type(vec.dtype, type(diagonal)))
    out[..., rows, cols] = vec
    out[..., cols, rows] = vec
    return out


def window_starts(n_timepoints: int, window: int, step: int) -> np.ndarray:
    """Start samples of the windows ``[k * step, k * step + window)`` that fit."""
    window = check_positive_int(window, "window")
    step = check_positive_int(step, "step")
    if window > n_timepoints:
        raise ValueError(
            f"window={window} is longer than the recording ({n_timepoints} timepoints); "
            "use a shorter window"
        )
    if step > n_timepoints:
        raise ValueError(f"step must be in [1, {n_timepoints}] (the recording's length); got {step}")
    n_windows = (n_timepoints - window) // step + 1
    return np.arange(n_windows) * step


def _check_layout(shape: tuple, n_time: int, n_units: int, name: str, window: int | None,
                  kind: str) -> None:
    """Refuse a layout that cannot be right, warn about one that is probably transposed.

    ``kind``: ``"stack"`` (a 3-D array), ``"single"`` (one 2-D recording) or
    ``"list"`` (an element of a list of recordings).
    """
    if n_time >= n_units:
        return
    if kind == "stack":
        fix = (f"the connectome layout changed in this release from (n_animals, n_neurons, "
               f"n_timepoints) to (n_animals, n_timepoints, n_units): an array in the old layout "
               f"must be passed as np.swapaxes({name}, 1, 2)")
    elif kind == "single":
        fix = f"neurodyn expects (n_timepoints, n_units): pass {name}.T if it is transposed"
    else:
        fix = ("every recording must be (n_timepoints, n_units): pass [x.T for x in traces] if "
               "they are transposed")
    axis = "axis 1" if kind == "stack" else "axis 0"
    if window is not None and n_time < window:
        raise ValueError(
            f"{name} has shape {shape}: {n_time} timepoints ({axis}), fewer than its {n_units} "
            f"units and than window={window}; {fix}"
        )
    _warn_layout(f"{name} has shape {shape}: {n_time} timepoints ({axis}) and {n_units} units, "
                 f"fewer timepoints than units -- is it transposed? {fix}")


def check_traces(traces: Any, name: str = "traces", *,
                 window: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate traces in the package layout and stack them.

    Parameters
    ----------
    traces : array-like
        One recording ``(n_timepoints, n_units)``, a stack ``(n_animals,
        n_timepoints, n_units)`` or a list of ``(n_timepoints, n_units)`` arrays
        (same length, same units). An all-NaN column marks a neuron missing in
        that animal.
    name : str
        Argument name for messages.
    window : int, optional
        The analysis window. A stack whose time axis is shorter than both its
        unit axis and the window is in the old ``(n_animals, n_neurons,
        n_timepoints)`` layout, which is refused with the fix; fewer timepoints
        than units otherwise draws a :class:`~neurodyn._validation.LayoutWarning`.

    Returns
    -------
    traces : ndarray, shape (n_animals, n_timepoints, n_units)
        float64, with missing neurons' NaN replaced by 0 (a new array).
    present : ndarray of bool, shape (n_animals, n_units)
        True where a neuron is recorded. A partly NaN trace, Inf, a constant
        present trace, fewer than 2 units or 3 timepoints are errors.
    """
    if isinstance(traces, (list, tuple)) and traces and all(np.ndim(t) <= 1 for t in traces):
        # nested lists of numbers: one recording (or a stack), not a list of recordings
        traces = check_array(traces, name, ndim=(2, 3),
                             dims="(n_timepoints, n_units) or (n_animals, n_timepoints, n_units)")
    if isinstance(traces, (list, tuple)):
        if len(traces) == 0:
            raise ValueError(f"{name} is empty; expected at least one animal")
        items = [check_array(t, f"{name}[{i}]", ndim=2, dims="(n_timepoints, n_units)")
                 for i, t in enumerate(traces)]
        for i, it in enumerate(items):
            if it.shape[0] < it.shape[1]:
                _check_layout(it.shape, it.shape[0], it.shape[1], f"{name}[{i}]", window, "list")
                break
        shapes = [it.shape for it in items]
        if len({s[1] for s in shapes}) > 1:
            raise ValueError(
                f"{name}: every animal must have the same neurons (columns); got shapes {shapes}. "
                "Mark a neuron missing in an animal by a column of NaN"
            )
        if len({s[0] for s in shapes}) > 1:
            raise ValueError(
                f"{name}: every animal must have the same number of timepoints; got shapes {shapes}"
            )
        arr = np.stack(items)
    else:
        arr = check_array(traces, name, ndim=(2, 3),
                          dims="(n_timepoints, n_units) or (n_animals, n_timepoints, n_units)")
        if arr.ndim == 2:
            _check_layout(arr.shape, arr.shape[0], arr.shape[1], name, window, "single")
            arr = arr[None]
        else:
            _check_layout(arr.shape, arr.shape[1], arr.shape[2], name, window, "stack")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must not contain Inf; got {int(np.isinf(arr).sum())} Inf values")
    if arr.shape[2] < 2:
        raise ValueError(f"{name} needs at least 2 neurons (units, last axis) to form pairs; "
                         f"got shape {arr.shape}")
    if arr.shape[1] < 3:
        raise ValueError(f"{name} is too short: needs at least 3 timepoints; got shape {arr.shape}")
    nan = np.isnan(arr)
    missing = nan.all(axis=1)
    partial = nan.any(axis=1) & ~missing
    if partial.any():
        w, i = (int(v) for v in np.argwhere(partial)[0])
        raise ValueError(
            f"{name} has {int(partial.sum())} partly NaN trace(s) (first: animal {w}, neuron {i}); "
            "NaN may only mark a whole missing neuron (an all-NaN column)"
        )
    present = ~missing
    filled = np.where(nan, 0.0, arr)
    const = present & np.all(filled == filled[:, :1, :], axis=1)
    if const.any():
        w, i = (int(v) for v in np.argwhere(const)[0])
        raise ValueError(
            f"{name} has {int(const.sum())} constant (zero-variance) trace(s) (first: animal {w}, "
            f"neuron {i}); remove the neuron or mark it missing with NaN"
        )
    if not present.any(axis=0).all():
        i = int(np.flatnonzero(~present.any(axis=0))[0])
        raise ValueError(f"{name}: neuron {i} is missing (all NaN) in every animal; remove it")
    return filled, present


def _scale_signal(signal: np.ndarray, center: bool) -> np.ndarray:
    """Divide each trace ``(..., T)`` by the power of two nearest its largest magnitude.

    Exact in floating point, and every built-in affinity is invariant to a
    positive rescaling of a trace, so float64 results are unchanged; it keeps
    the window norms away from float32's (and float64's) under- and overflow.
    ``center`` subtracts each trace's mean first (in float64), so that a large
    offset does not swamp the fluctuations when cast to float32.
    """
    if center:
        signal = signal - signal.mean(axis=-1, keepdims=True)
    peak = np.max(np.abs(signal), axis=-1, keepdims=True)
    exponent = np.frexp(peak)[1]  # 0 for an all-zero (missing) trace
    return np.ldexp(signal, -exponent)


def _unit_windows(x: torch.Tensor, window: int, step: int) -> torch.Tensor:
    """Windows ``(W, N, K, L)`` centred and scaled to unit norm (zero where flat)."""
    seg = x.unfold(-1, window, step)
    seg = seg - seg.mean(dim=-1, keepdim=True)
    norm = torch.linalg.vector_norm(seg, dim=-1, keepdim=True)
    # A flat window has no defined correlation; it contributes no affinity.
    return torch.where(norm > 0, seg / torch.where(norm > 0, norm, 1.0), 0.0)


def _windowed_corr(x: torch.Tensor, window: int, step: int, n_windows: int,
                   rows: torch.Tensor, cols: torch.Tensor, block: int) -> torch.Tensor:
    """Rectified windowed Pearson correlation, returned as ``(P, K, W)``."""
    n_animals, n_nodes, _ = x.shape
    out = torch.empty((rows.numel(), n_windows, n_animals), dtype=x.dtype, device=x.device)
    for k0 in range(0, n_windows, block):
        k1 = min(n_windows, k0 + block)
        t0, t1 = k0 * step, (k1 - 1) * step + window
        z = _unit_windows(x[..., t0:t1], window, step)  # (W, N, b, L)
        corr = torch.einsum("wikl,wjkl->wkij", z, z)  # (W, b, N, N)
        pairs = corr[:, :, rows, cols].clamp_(min=0.0)  # (W, b, P)
        out[:, k0:k1, :] = pairs.permute(2, 1, 0)
    return out


def _windowed_product(z: torch.Tensor, window: int, step: int, n_windows: int,
                      rows: torch.Tensor, cols: torch.Tensor, block: int) -> torch.Tensor:
    """Window means of ``max(0, z_i(t) z_j(t))``, returned as ``(P, K, W)``."""
    n_animals = z.shape[0]
    out = torch.empty((rows.numel(), n_windows, n_animals), dtype=z.dtype, device=z.device)
    for k0 in range(0, n_windows, block):
        k1 = min(n_windows, k0 + block)
        t0, t1 = k0 * step, (k1 - 1) * step + window
        seg = z[..., t0:t1].unfold(-1, window, step)  # (W, N, b, L)
        prod = (seg[:, rows] * seg[:, cols]).clamp_(min=0.0)  # (W, P, b, L)
        out[:, k0:k1, :] = prod.mean(dim=-1).permute(1, 2, 0)
    return out


def affinity_tensor(traces: Any, affinity: str | Callable = "derivative_corr", *,
                    window: int = 40, step: int = 20, smooth_sigma: float = 2.0,
                    block_size: int | None = None, return_mask: bool = False,
                    device: Any = "auto", dtype: Any = None, return_tensor: bool = False,
                    n_jobs: int | None = None, memory: Any = None):
    """Pair × window × animal affinity tensor from neuron traces.

    Parameters
    ----------
    traces : array-like, shape (n_animals, n_timepoints, n_units) or (n_timepoints, n_units), or list of (T, N)
        Activity of the same ``N`` identified neurons in each animal (one 2-D
        recording is one animal). An all-NaN column marks a neuron missing in
        that animal. The layout changed in this release (it was ``(n_animals,
        n_neurons, n_timepoints)``): pass ``np.swapaxes(X, 1, 2)`` for an old array.
    affinity : {"derivative_corr", "derivative_product", "corr"} or callable
        The pairwise affinity (see the module docstring). A callable receives one
        window of smoothed traces, a ``(window, N)`` numpy array (package
        layout), and returns an ``(N, N)`` non-negative symmetric matrix; it is
        called once per window and animal.
    window, step : int
        Window length and hop in samples; ``K = (T - window) // step + 1`` windows.
        ``1 <= window <= T`` (at least 3 for the correlation affinities) and
        ``1 <= step <= T``.
    smooth_sigma : float
        Standard deviation (samples) of the Gaussian smoothing applied before
        differentiation (scipy ``gaussian_filter1d``, ``mode="reflect"``); 0 skips it.
        At most ``T / 4``: the Gaussian (4 sigma each side) must fit in the recording.
    block_size : int, optional
        Number of windows computed at once; by default chosen so that no
        intermediate exceeds about 2**25 elements. Memory grows with it, the
        result does not change. A block that would not fit in memory is refused.
    return_mask : bool
        Also return a boolean mask, shape ``(P, 1, W)`` (broadcasts against the
        tensor), True where both neurons of a pair are present in that animal.
    device, dtype :
        Where and in which precision the pairwise work runs (see ``neurodyn._torch``).
    return_tensor : bool
        Return a torch tensor on ``device`` instead of a numpy array.
    n_jobs : int or None
        Animals computed in parallel (joblib semantics, any backend of
        ``joblib.parallel_config``, e.g. ``"dask"``; see
        :func:`neurodyn._parallel.parallel_map`). Each animal's affinities depend
        on its own traces only and are computed alone, so the values are the
        same bit for bit for every ``n_jobs`` and backend.
    memory : None, str, path or joblib.Memory
        Cache of per-animal affinities: a rerun after a crash recomputes only
        the animals not on disk.

    Returns
    -------
    X : ndarray, shape (n_pairs, n_windows, n_animals)
        Non-negative affinities, pairs in ``np.triu_indices(N, 1)`` order.
    mask : ndarray of bool, shape (n_pairs, 1, n_animals)
        Only when ``return_mask``.

    References
    ----------
    Dyballa, L., Lang, S., Haslund-Gourley, A., Yemini, E., Zucker, S. W. (2024).
    Learning dynamic representations of the functional connectome in
    neurobiological networks. ICLR 2024, arXiv:2402.14102. (The paper's exact
    affinity formula is not published; these are documented stand-ins.)
    """
    return _affinity_tensor(traces, affinity, window=window, step=step, smooth_sigma=smooth_sigma,
                            block_size=block_size, return_mask=return_mask, device=device,
                            dtype=dtype, return_tensor=return_tensor, n_jobs=n_jobs, memory=memory)


def _affinity_tensor(traces: Any, affinity: str | Callable = "derivative_corr", *, name: str = "traces",
                     window: int = 40, step: int = 20, smooth_sigma: float = 2.0,
                     block_size: int | None = None, return_mask: bool = False,
                     device: Any = "auto", dtype: Any = None, return_tensor: bool = False,
                     n_jobs: int | None = None, memory: Any = None):
    """:func:`affinity_tensor` with the traces' argument name for messages."""
    n_jobs = check_n_jobs(n_jobs)
    memory = check_memory(memory)
    if not callable(affinity) and not (isinstance(affinity, str) and affinity in AFFINITIES):
        raise ValueError(f"affinity must be one of {list(AFFINITIES)} or a callable; got {affinity!r}")
    smooth_sigma = check_scalar(smooth_sigma, "smooth_sigma", low=0.0)
    window = check_scalar(window, "window", low=1, integer=True)
    step = check_scalar(step, "step", low=1, integer=True)
    if block_size is not None:
        block_size = check_scalar(block_size, "block_size", low=1, integer=True)
    stacked, present = check_traces(traces, name, window=window)
    n_animals, n_time, n_nodes = stacked.shape
    if isinstance(affinity, str) and affinity in ("derivative_corr", "corr") and window < _MIN_CORR_WINDOW:
        raise ValueError(f"window must be >= {_MIN_CORR_WINDOW} samples for the correlation affinity "
                         f"{affinity!r} (a correlation of two samples is only -1 or +1); got {window}")
    if smooth_sigma > n_time / 4:
        raise ValueError(
            f"smooth_sigma must be in [0, {n_time / 4:g}] (a quarter of the {n_time} timepoints: the "
            f"Gaussian, 4 sigma each side, must fit in the recording); got {smooth_sigma:g}"
        )
    starts = window_starts(n_time, window, step)
    n_windows = starts.size
    n_pairs = n_nodes * (n_nodes - 1) // 2
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    if dt not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64' (or None); got {str(dt).replace('torch.', '')}")
    itemsize = torch.empty((), dtype=dt).element_size()
    # before anything of the pairs' size is allocated (the pair indices included)
    check_allocation(float(n_pairs) * (n_windows * n_animals * itemsize / 8 + 2), f"{name} (n_units), window and step",
                     what=f"({n_pairs}, {n_windows}, {n_animals}) affinity tensor")
    rows_np, cols_np = pair_indices(n_nodes)
    # one task per animal (its affinities depend on its own traces only): the values are
    # the same whether the animals run here one after the other or on parallel workers
    in_process = memory is None and (n_jobs is None or n_workers(n_jobs) <= 1)
    per_animal = parallel_map(_animal_affinity, list(zip(stacked, present, strict=True)),
                              args=(affinity, window, step, smooth_sigma, block_size, dev, dt,
                                    not in_process),
                              n_jobs=n_jobs, memory=memory, desc="animal")
    if in_process:
        X = torch.stack(per_animal, dim=-1)
    else:
        X = to_tensor(np.stack(per_animal, axis=-1), device=dev, dtype=dt)
    mask_np = (present[:, rows_np] & present[:, cols_np]).T[:, None, :]  # (P, 1, W)
    if not mask_np.all():
        X = X * to_tensor(mask_np, device=dev, dtype=X.dtype)
    result = X if return_tensor else to_numpy(X)
    if return_mask:
        return result, mask_np
    return result


def _animal_affinity(animal, affinity, window, step, smooth_sigma, block_size, device, dtype,
                     as_numpy=True):
    """``(P, K)`` affinities of one animal: ``animal`` is its ``(traces (T, N), present (N,))``.

    Computed from fresh (aligned) copies of the animal's traces, so that the values do
    not depend on where the animal sat in a stack or on which process computes it.
    """
    traces, present = animal
    X = _affinity_values(np.array(traces)[None], np.array(present)[None], affinity, window, step,
                         smooth_sigma, block_size, device, dtype)[:, :, 0]
    return to_numpy(X) if as_numpy else X


def _affinity_values(stacked, present, affinity, window, step, smooth_sigma, block_size, dev, dt):
    """The ``(P, K, W)`` affinity tensor (torch, on ``dev``) of validated traces, unmasked."""
    n_animals, n_time, n_nodes = stacked.shape
    starts = window_starts(n_time, window, step)
    n_windows = starts.size
    n_pairs = n_nodes * (n_nodes - 1) // 2
    itemsize = torch.empty((), dtype=dt).element_size()
    rows_np, cols_np = pair_indices(n_nodes)
    # internal layout (W, N, T): time last, so windows are contiguous for unfold
    data = np.ascontiguousarray(np.swapaxes(stacked, 1, 2))
    if not callable(affinity):
        # exact power-of-two rescaling per trace (the built-in affinities are scale
        # invariant): smoothing and differences of traces near float64's limit stay finite
        data = _scale_signal(data, center=False)

    smooth = gaussian_filter1d(data, float(smooth_sigma), axis=-1) if smooth_sigma > 0 else data
    rows = torch.as_tensor(rows_np, device=dev)
    cols = torch.as_tensor(cols_np, device=dev)

    if callable(affinity):
        out = np.zeros((n_pairs, n_windows, n_animals))
        for w in range(n_animals):
            for k, t0 in enumerate(starts):
                where = f"window {k}" + (f" of animal {w}" if n_animals > 1 else "")
                mat = np.asarray(affinity(smooth[w, :, t0:t0 + window].T.copy()), dtype=np.float64)
                if mat.shape != (n_nodes, n_nodes):
                    raise ValueError(
                        f"the affinity callable must return an ({n_nodes}, {n_nodes}) matrix; "
                        f"got shape {mat.shape} ({where})"
                    )
                if not np.isfinite(mat).all() or (mat < 0).any():
                    raise ValueError(f"the affinity callable must return finite, non-negative values; "
                                     f"got {int((~np.isfinite(mat)).sum())} NaN/Inf and "
                                     f"{int((mat < 0).sum())} negative values ({where})")
                out[:, k, w] = mat[rows_np, cols_np]
        X = to_tensor(out, device=dev, dtype=dt)
    else:
        if affinity == "corr":
            signal = smooth
        else:
            signal = np.gradient(smooth, axis=-1)
            # Missing neurons stay exactly zero so that they carry no affinity.
            signal[~present] = 0.0
        signal = _scale_signal(signal, center=affinity == "corr" and dt != torch.float64)
        x = to_tensor(np.ascontiguousarray(signal), device=dev, dtype=dt)
        if affinity == "derivative_product":
            std = x.std(dim=-1, unbiased=False, keepdim=True)
            x = torch.where(std > 0, x / torch.where(std > 0, std, 1.0), 0.0)
            per_window = n_animals * n_pairs * window
            block = min(block_size or max(1, _BLOCK_ELEMENTS // max(per_window, 1)), n_windows)
            check_allocation(2.0 * block * per_window, "block_size", itemsize=itemsize,
                             what=f"blocks of {block} windows")
            X = _windowed_product(x, window, step, n_windows, rows, cols, block)
        else:
            per_window = n_animals * n_nodes * max(n_nodes, window)
            block = min(block_size or max(1, _BLOCK_ELEMENTS // max(per_window, 1)), n_windows)
            check_allocation(2.0 * block * per_window, "block_size", itemsize=itemsize,
                             what=f"blocks of {block} windows")
            X = _windowed_corr(x, window, step, n_windows, rows, cols, block)

    return X
