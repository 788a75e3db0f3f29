"""Chaotic benchmark systems and the attractor-geometry measures of dynamics reconstruction.

- :func:`lorenz63`: the Lorenz (1963) system integrated with fourth-order Runge-Kutta;
- :func:`state_space_divergence`: ``D_stsp``, the Kullback-Leibler divergence between the
  occupation densities of the true and the generated trajectory in state space (histograms);
- :func:`power_spectrum_distance`: ``D_H``, the Hellinger distance between the smoothed,
  normalised power spectra of every channel, averaged over channels.

Both measures compare a model's *free-running* activity with the recording (lower is better),
as in Hess et al. (2023) and Brenner et al. (2022).

References
----------
Lorenz, E. N. (1963). Deterministic nonperiodic flow. J. Atmos. Sci. 20:130-141.

Koppe, G., Toutounji, H., Kirsch, P., Lis, S. & Durstewitz, D. (2019). Identifying nonlinear
dynamical systems via generative recurrent neural networks with applications to fMRI. PLoS
Comput. Biol. 15:e1007263 (D_stsp).

Brenner, M. et al. (2022). Tractable dendritic RNNs for reconstructing nonlinear dynamical
systems. ICML (binned D_stsp and the power-spectrum Hellinger distance).

Hess, F., Monfared, Z., Brenner, M. & Durstewitz, D. (2023). Generalized teacher forcing for
learning chaotic dynamics. ICML.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._torch import check_random_state
from .._validation import (
    check_array,
    check_finite,
    check_positive_int,
    check_scalar,
    check_timeseries,
)

__all__ = ["lorenz63", "state_space_divergence", "power_spectrum_distance"]


def _lorenz_rhs(s: np.ndarray, sigma: float, rho: float, beta: float) -> np.ndarray:
    x, y, z = s
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def lorenz63(n_steps: int = 5000, dt: float = 0.01, sigma: float = 10.0, rho: float = 28.0,
             beta: float = 8.0 / 3.0, x0: Any = None, burn_in: int = 1000, noise_std: float = 0.0,
             random_state: Any = None) -> np.ndarray:
    """Trajectory of the Lorenz-63 system, RK4 with step ``dt``.

    ``dx/dt = sigma (y - x)``, ``dy/dt = x (rho - z) - y``, ``dz/dt = x y - beta z``.

    Parameters
    ----------
    n_steps : int
        Samples returned (after ``burn_in``), one every ``dt``.
    dt : float
        Integration and sampling step.
    sigma, rho, beta : float
        Parameters (defaults: the chaotic regime).
    x0 : array-like (3,), optional
        Initial state (default: drawn from ``random_state`` near the attractor).
    burn_in : int
        Steps discarded first (transient onto the attractor).
    noise_std : float
        Standard deviation of Gaussian observation noise added to the samples.
    random_state : None, int or Generator

    Returns
    -------
    numpy.ndarray, shape (n_steps, 3)
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    dt = check_scalar(dt, "dt", low=0.0, high=1.0, low_inclusive=False)
    sigma = check_scalar(sigma, "sigma", low=-1e6, high=1e6)
    rho = check_scalar(rho, "rho", low=-1e6, high=1e6)
    beta = check_scalar(beta, "beta", low=-1e6, high=1e6)
    noise_std = check_scalar(noise_std, "noise_std", low=0.0, high=1e6)
    rng = check_random_state(random_state)
    if x0 is None:
        s = np.array([1.0, 1.0, 20.0]) + rng.normal(size=3)
    else:
        s = np.array(check_array(x0, "x0", ndim=1, dims="(3,)"), dtype=float)
        check_finite(s, "x0")
        if s.shape != (3,):
            raise ValueError(f"x0 must have shape (3,); got {s.shape}")
    out = np.empty((n_steps, 3))
    # an ODE integrator is sequential: one RK4 step per sample; divergence is refused below
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(burn_in + n_steps):
            k1 = _lorenz_rhs(s, sigma, rho, beta)
            k2 = _lorenz_rhs(s + 0.5 * dt * k1, sigma, rho, beta)
            k3 = _lorenz_rhs(s + 0.5 * dt * k2, sigma, rho, beta)
            k4 = _lorenz_rhs(s + dt * k3, sigma, rho, beta)
            s = s + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not np.all(np.isfinite(s)):
                raise ValueError(f"the trajectory diverged at step {t} (dt={dt} too large for these "
                                 "parameters)")
            if t >= burn_in:
                out[t - burn_in] = s
    if noise_std > 0:
        out = out + noise_std * rng.normal(size=out.shape)
    return out


def _pair(x_true: Any, x_gen: Any, min_timepoints: int) -> tuple[np.ndarray, np.ndarray]:
    a = check_timeseries(x_true, "x_true", min_timepoints=min_timepoints, allow_constant=True,
                         dims="(n_timepoints, n_channels)", warn_transposed=True)
    b = check_timeseries(x_gen, "x_gen", min_timepoints=min_timepoints, allow_constant=True,
                         dims="(n_timepoints, n_channels)", warn_transposed=True)
    check_finite(a, "x_true")
    check_finite(b, "x_gen")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x_gen must have the channels of x_true ({a.shape[1]}); got {b.shape[1]}")
    return np.asarray(a, dtype=float), np.asarray(b, dtype=float)


def state_space_divergence(x_true: Any, x_gen: Any, n_bins: int = 30, smoothing: float = 1e-4) -> float:
    """``D_stsp = KL(p_true || p_gen)`` of the state-space occupation histograms.

    Both trajectories are standardised with the mean and standard deviation of ``x_true``
    and binned on a regular grid of ``n_bins`` per channel spanning ``x_true``'s range (a
    ``n_bins ** n_channels`` grid; states of ``x_gen`` outside it fall in the border bins).
    ``smoothing`` is added to every bin's probability of ``x_gen`` (then renormalised) so
    that the divergence stays finite where the model never goes.

    Parameters
    ----------
    x_true, x_gen : array-like, shape (n_timepoints, n_channels)
        Recorded and generated (free-running) trajectories; lengths may differ.
    n_bins : int
        Bins per channel (at most 10^7 bins in total).
    smoothing : float
        Additive probability floor of the generated histogram.

    Returns
    -------
    float
        0 for identical occupation; larger is worse.
    """
    a, b = _pair(x_true, x_gen, 2)
    n_bins = check_positive_int(n_bins, "n_bins", minimum=2)
    smoothing = check_scalar(smoothing, "smoothing", low=0.0, high=1.0, low_inclusive=False)
    if float(n_bins) ** a.shape[1] > 1e7:
        raise ValueError(f"n_bins ** n_channels = {n_bins}^{a.shape[1]} bins is too many (at most 1e7); "
                         "use fewer bins or project onto fewer dimensions first")
    mean = a.mean(0)
    sd = a.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    za, zb = (a - mean) / sd, (b - mean) / sd
    lo, hi = za.min(0), za.max(0)
    width = np.where(hi > lo, (hi - lo) / n_bins, 1.0)

    def hist(z: np.ndarray) -> np.ndarray:
        idx = np.clip(np.floor((z - lo) / width).astype(np.int64), 0, n_bins - 1)
        flat = np.ravel_multi_index(idx.T, (n_bins,) * z.shape[1])
        counts = np.bincount(flat, minlength=n_bins ** z.shape[1]).astype(float)
        return counts / counts.sum()

    p, q = hist(za), hist(zb)
    q = (q + smoothing) / (1.0 + smoothing * q.size)
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def _smoothed_spectrum(x: np.ndarray, n_fft: int, sigma: float, name: str) -> np.ndarray:
    x = x - x.mean(0)
    peak = np.abs(x).max(0)
    x = x / np.where(peak > 0, peak, 1.0)  # scale-free: the spectrum is normalised anyway
    spec = np.abs(np.fft.rfft(x, n=n_fft, axis=0)) ** 2
    if sigma > 0:
        half = int(np.ceil(4 * sigma))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        k /= k.sum()
        spec = np.stack([np.convolve(np.pad(s, half, mode="reflect"), k, mode="valid") for s in spec.T], 1)
    tot = spec.sum(0)
    if np.any(tot <= 0):
        bad = np.flatnonzero(tot <= 0).tolist()
        raise ValueError(f"{name} has constant channels {bad[:10]}; their power spectrum is undefined")
    return spec / tot


def power_spectrum_distance(x_true: Any, x_gen: Any, smoothing: float = 2.0) -> float:
    """Mean over channels of the Hellinger distance between normalised power spectra.

    Each channel is centred, its power spectrum ``|FFT|^2`` taken on a common frequency grid
    (the shorter series is zero-padded to the longer one's length), smoothed with a Gaussian
    kernel of ``smoothing`` frequency bins and normalised to sum 1; then
    ``H(p, q) = sqrt(1 - sum_f sqrt(p_f q_f))`` per channel.

    Parameters
    ----------
    x_true, x_gen : array-like, shape (n_timepoints, n_channels)
    smoothing : float
        Standard deviation of the Gaussian smoothing in frequency bins (0: none).

    Returns
    -------
    float in [0, 1]
    """
    a, b = _pair(x_true, x_gen, 4)
    smoothing = check_scalar(smoothing, "smoothing", low=0.0, high=1e6)
    n_fft = max(a.shape[0], b.shape[0])
    p = _smoothed_spectrum(a, n_fft, smoothing, "x_true")
    q = _smoothed_spectrum(b, n_fft, smoothing, "x_gen")
    bc = np.clip(np.sqrt(p * q).sum(0), 0.0, 1.0)
    return float(np.mean(np.sqrt(1.0 - bc)))
