"""Spike-history bases and the history features they produce.

A coupled Poisson GLM sees the past of every neuron through a small set of
temporal basis functions: the feature of presynaptic neuron ``n'`` for basis
function ``k`` at bin ``t`` is ``h[t, n', k] = sum_l phi[k, l] * x[t - l, n']``
(lags ``l = 1..L``, zero padding before the first bin, ``phi[:, 0]`` weighting
the most recent bin). The features are computed once per recording, so every
likelihood evaluation afterwards is a single matrix product.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_allocation, check_array, check_positive_int, check_scalar

__all__ = ["exp_basis", "raised_cosine_basis", "history_features"]


def exp_basis(decay: float = 1.0, window_size: int = 5, time_span: float = 5.0) -> np.ndarray:
    """Normalised exponential history kernel (one basis function).

    With ``dt = time_span / window_size`` and lag times ``t_l = l * dt``
    (``l = 1..window_size``), the kernel is
    ``phi_l = exp(-decay * t_l) / (dt * sum_j exp(-decay * t_j))``, so it integrates
    to one over the window.

    Parameters
    ----------
    decay : float
        Decay rate of the exponential, per unit of ``time_span``; finite and
        ``>= 0``. ``0`` is the flat (box) kernel, equal weights on every lag. The
        kernel is computed relative to its first lag, so a large decay (e.g.
        1000) gives all the weight to lag 1 instead of ``0 / 0``.
    window_size : int
        Number of lags ``L``.
    time_span : float
        Duration covered by the ``L`` lags; finite and ``> 0``.

    Returns
    -------
    numpy.ndarray of shape (1, window_size)
        ``phi[0, 0]`` weights the most recent bin.

    References
    ----------
    C. Li, S. H. Kim, C. Rodgers, H. Choi, A. Wu. One-hot Generalized Linear Model
    for Switching Brain State Discovery. ICLR 2024.
    """
    window_size = check_positive_int(window_size, "window_size")
    check_allocation(window_size, "window_size", what="history basis")
    decay = check_scalar(decay, "decay", low=0.0)
    time_span = check_scalar(time_span, "time_span", low=0.0, low_inclusive=False)
    dt = time_span / window_size
    if not np.isfinite(dt) or dt == 0.0:
        raise ValueError(f"time_span / window_size must be a positive finite bin width; got "
                         f"{time_span!r} / {window_size}")
    # exp(-decay * (t_l - t_1)) is 1 at the first lag and never underflows to 0/0,
    # so any finite decay gives a kernel (a large one puts all weight on lag 1)
    lag_times = dt * np.arange(1, window_size + 1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        kernel = np.exp(-decay * lag_times)
        phi = kernel / (dt * kernel.sum())
        if not (np.isfinite(phi).all() and kernel[0] > 1e-200):
            # exp(-decay * t_1) underflows (large decay): the same kernel relative to its
            # first lag, which is 1 there, never gives 0 / 0 (a huge decay overflows to
            # inf, and exp(-inf) = 0 beyond lag 1)
            kernel = np.ones(window_size)
            kernel[1:] = np.exp(-(decay * dt) * np.arange(1, window_size, dtype=np.float64))
            phi = kernel / (dt * kernel.sum())
    if not np.isfinite(phi).all():
        raise ValueError(f"time_span={time_span!r} over window_size={window_size} lags gives a bin "
                         f"width of {dt:.3g}, too small for a finite kernel (1 / bin width overflows)")
    return phi[None, :]


def raised_cosine_basis(n_basis: int = 3, window_size: int = 10, log_offset: float = 1.0) -> np.ndarray:
    """Log-stretched raised-cosine basis over ``window_size`` lags.

    Bumps ``0.5 * (1 + cos(clip(c - c_k, -pi, pi)))`` with centres ``c_k`` spaced
    by ``pi / 2`` on the axis ``c = a * log(l + log_offset)`` that places the
    first centre on lag 1 and the last one on lag ``window_size``; each
    function is scaled to unit sum.

    Parameters
    ----------
    n_basis : int
        Number of basis functions ``K``, at most ``window_size``; the functions
        must be linearly independent on the lags (the logarithmic warping crowds
        the early lags, so ``K`` close to ``window_size`` is refused).
    window_size : int
        Number of lags ``L``.
    log_offset : float
        Offset of the logarithmic time warping (larger = closer to linear), > 0.

    Returns
    -------
    numpy.ndarray of shape (n_basis, window_size)

    References
    ----------
    J. W. Pillow, J. Shlens, L. Paninski, A. Sher, A. M. Litke, E. J. Chichilnisky,
    E. P. Simoncelli. Spatio-temporal correlations and visual signalling in a
    complete neuronal population. Nature 454, 995-999 (2008).
    """
    n_basis = check_positive_int(n_basis, "n_basis")
    window_size = check_positive_int(window_size, "window_size")
    log_offset = check_scalar(log_offset, "log_offset", low=0.0, low_inclusive=False)
    if n_basis > window_size:
        raise ValueError(f"n_basis must be <= window_size: {n_basis} functions over "
                         f"{window_size} lags are linearly dependent; got n_basis={n_basis}")
    check_allocation(float(n_basis) * window_size, "n_basis * window_size", what="history basis")
    lags = np.arange(1, window_size + 1, dtype=float)
    warped = np.log(lags + log_offset)
    if n_basis == 1:
        return (np.ones(window_size) / window_size)[None, :]
    if not warped[-1] > warped[0]:
        raise ValueError(f"log_offset={log_offset!r} is too large: the logarithmic warping of "
                         f"{window_size} lags collapses to a point")
    # centres pi/2 apart on the warped axis, first and last at the window ends
    scale = (n_basis - 1) * (np.pi / 2) / (warped[-1] - warped[0])
    c = scale * (warped - warped[0])
    centres = (np.pi / 2) * np.arange(n_basis)
    arg = np.clip(c[None, :] - centres[:, None], -np.pi, np.pi)
    basis = 0.5 * (1.0 + np.cos(arg))
    sums = basis.sum(axis=1, keepdims=True)
    rank = 0 if (sums <= 1e-12).any() else int(np.linalg.matrix_rank(basis))
    if rank < n_basis:
        # bumps that fall between lags cover none, or several cover the same few lags
        raise ValueError(f"n_basis={n_basis} is too many for window_size={window_size} with "
                         f"log_offset={log_offset:g}: the functions are linearly dependent on "
                         f"these lags; use fewer functions, more lags or a larger log_offset")
    return basis / sums


def history_features(counts, basis):
    """Convolve spike counts with a causal history basis.

    Parameters
    ----------
    counts : torch.Tensor or array of shape (n_trials, n_timepoints, n_neurons) or (n_timepoints, n_neurons)
        Finite real values (usually spike counts).
    basis : torch.Tensor or array of shape (n_basis, n_lags)
        ``basis[:, 0]`` weights lag 1 (the previous bin); finite.

    Returns
    -------
    torch.Tensor or ndarray of shape (n_trials, n_timepoints, n_neurons * n_basis)
        Feature ``n' * n_basis + k`` is ``sum_l basis[k, l] * counts[t - l - 1, n']``;
        2-D ``(n_timepoints, n_neurons * n_basis)`` for 2-D counts, and a numpy
        array when ``counts`` is not a tensor. Computed in the dtype of ``counts``
        (float32 or float64; other dtypes become float64).
    """
    as_numpy = not isinstance(counts, torch.Tensor)
    x = _real_tensor(counts, "counts", (2, 3), "(n_trials, n_timepoints, n_neurons) or "
                     "(n_timepoints, n_neurons)")
    phi = _real_tensor(basis, "basis", (2,), "(n_basis, n_lags)")
    single = x.dim() == 2
    if single:
        x = x[None]
    for t, name in ((x, "counts"), (phi, "basis")):
        if not bool(torch.isfinite(t).all()):
            bad = tuple(int(i) for i in torch.nonzero(~torch.isfinite(t))[0].tolist())
            raise ValueError(f"{name} must be finite; got NaN or Inf (first at index {bad})")
    check_allocation(float(x.shape[0]) * x.shape[1] * x.shape[2] * phi.shape[0],
                     "counts and basis", itemsize=x.element_size(), what="history features")
    h = _history_features(x, phi.to(device=x.device, dtype=x.dtype))
    if single:
        h = h[0]
    return h.cpu().numpy() if as_numpy else h


def _real_tensor(x, name, ndim, dims):
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor")
        if x.dim() not in ndim:
            want = " or ".join(f"{d}-D" for d in ndim)
            raise ValueError(f"{name} must be {want} {dims}; got shape {tuple(x.shape)}")
        if x.numel() == 0:
            raise ValueError(f"{name} is empty; got shape {tuple(x.shape)}")
        t = x.detach()
    else:
        t = torch.as_tensor(check_array(x, name, ndim=ndim, dims=dims, dtype=np.float64))
    if t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)
    return t


def _history_features(counts: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """:func:`history_features` on validated 3-D tensors of one dtype (no checks)."""
    n_trials, n_time, n_neurons = counts.shape
    n_basis, n_lags = basis.shape
    x = counts.permute(0, 2, 1).reshape(n_trials * n_neurons, 1, n_time)
    # left padding of n_lags zeros, then drop the last bin: output t sees t-1 ... t-L
    x = torch.nn.functional.pad(x, (n_lags, 0))[..., :-1]
    # conv1d is a cross-correlation, so the kernel is flipped to put lag 1 last
    weight = basis.flip(-1).unsqueeze(1).to(counts.dtype)
    h = torch.nn.functional.conv1d(x, weight)  # (B*N, K, T)
    return h.reshape(n_trials, n_neurons, n_basis, n_time).permute(0, 3, 1, 2).reshape(
        n_trials, n_time, n_neurons * n_basis)
