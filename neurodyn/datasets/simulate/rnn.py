"""Simulators for neurodyn.rnn: activity with known timescales."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import lfilter

from ..._torch import check_random_state

__all__ = ["simulate_ou_activity"]


def simulate_ou_activity(taus: Any, n_timepoints: int = 10_000, n_trials: int = 1, dt: float = 1.0,
                         sigma: float = 1.0, random_state: Any = None) -> np.ndarray:
    """Independent Ornstein-Uhlenbeck units sampled every ``dt`` (exact AR(1) discretisation).

    ``x_t = phi x_{t-1} + sigma sqrt(1 - phi^2) eps_t`` with ``phi = exp(-dt / tau)``, started
    from the stationary law, so the autocorrelation at lag k is exactly ``exp(-k dt / tau)``.

    Parameters
    ----------
    taus : array-like (n_units,)
        Time constants (in units of time, > 0).
    n_timepoints, n_trials : int
    dt : float
        Sampling step; timescales in steps are ``taus / dt``.
    sigma : float
        Stationary standard deviation.
    random_state : int, Generator or None

    Returns
    -------
    ndarray, shape (n_trials, n_timepoints, n_units)

    References
    ----------
    Uhlenbeck, G. E., & Ornstein, L. S. (1930). On the theory of the Brownian motion.
    Physical Review 36, 823.
    """
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    if taus.ndim != 1 or taus.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array; got shape {taus.shape}")
    if not np.all(np.isfinite(taus)) or np.any(taus <= 0):
        raise ValueError(f"taus must be finite and > 0; got {taus.tolist()}")
    if n_timepoints < 2 or n_trials < 1:
        raise ValueError(f"n_timepoints must be >= 2 and n_trials >= 1; got {n_timepoints}, {n_trials}")
    if not dt > 0:
        raise ValueError(f"dt must be > 0; got {dt}")
    rng = check_random_state(random_state)
    eps = rng.standard_normal((n_trials, n_timepoints, taus.size))
    out = np.empty_like(eps)
    for u, tau in enumerate(taus):
        phi = np.exp(-dt / tau)
        drive = sigma * np.sqrt(1 - phi**2) * eps[:, :, u]
        drive[:, 0] = sigma * eps[:, 0, u]  # stationary start
        out[:, :, u] = lfilter([1.0], [1.0, -phi], drive, axis=1)
    return out
