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

from .._validation import check_positive_int

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
        Decay rate of the exponential, per unit of ``time_span``.
    window_size : int
        Number of lags ``L``.
    time_span : float
        Duration covered by the ``L`` lags.

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
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a finite non-negative number; got {decay!r}")
    if not np.isfinite(time_span) or time_span <= 0:
        raise ValueError(f"time_span must be a finite positive number; got {time_span!r}")
    dt = time_span / window_size
    lag_times = dt * np.arange(1, window_size + 1)
    kernel = np.exp(-decay * lag_times)
    return (kernel / (dt * kernel.sum()))[None, :]


def raised_cosine_basis(n_basis: int = 3, window_size: int = 10, log_offset: float = 1.0) -> np.ndarray:
    """Log-stretched raised-cosine basis over ``window_size`` lags.

    Bumps ``0.5 * (1 + cos(clip(c - c_k, -pi, pi)))`` with centres ``c_k`` spaced
    by ``pi / 2`` on the axis ``c = a * log(l + log_offset)`` that places the
    first centre on lag 1 and the last one on lag ``window_size``; each
    function is scaled to unit sum.

    Parameters
    ----------
    n_basis : int
        Number of basis functions ``K``.
    window_size : int
        Number of lags ``L``.
    log_offset : float
        Offset of the logarithmic time warping (larger = closer to linear).

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
    if not np.isfinite(log_offset) or log_offset <= 0:
        raise ValueError(f"log_offset must be a finite positive number; got {log_offset!r}")
    lags = np.arange(1, window_size + 1, dtype=float)
    warped = np.log(lags + log_offset)
    if n_basis == 1:
        return (np.ones(window_size) / window_size)[None, :]
    # centres pi/2 apart on the warped axis, first and last at the window ends
    scale = (n_basis - 1) * (np.pi / 2) / max(warped[-1] - warped[0], 1e-12)
    c = scale * (warped - warped[0])
    centres = (np.pi / 2) * np.arange(n_basis)
    arg = np.clip(c[None, :] - centres[:, None], -np.pi, np.pi)
    basis = 0.5 * (1.0 + np.cos(arg))
    return basis / basis.sum(axis=1, keepdims=True)


def history_features(counts: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Convolve spike counts with a causal history basis.

    Parameters
    ----------
    counts : torch.Tensor of shape (n_trials, n_timepoints, n_neurons)
    basis : torch.Tensor of shape (n_basis, n_lags)
        ``basis[:, 0]`` weights lag 1 (the previous bin).

    Returns
    -------
    torch.Tensor of shape (n_trials, n_timepoints, n_neurons * n_basis)
        Feature ``n' * n_basis + k`` is ``sum_l basis[k, l] * counts[t - l - 1, n']``.
    """
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
