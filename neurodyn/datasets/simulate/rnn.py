"""Simulators for neurodyn.rnn: activity with known timescales."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import lfilter

from ..._torch import check_random_state
from ..._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_positive_int,
    check_scalar,
)

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
    taus = check_finite(check_array(np.atleast_1d(check_array(taus, "taus")), "taus", ndim=1,
                                    dims="(n_units,)"), "taus")
    if np.any(taus <= 0):
        raise ValueError(f"taus must be finite and > 0; got {taus.tolist()[:10]}")
    n_timepoints = check_positive_int(n_timepoints, "n_timepoints", minimum=2)
    n_trials = check_positive_int(n_trials, "n_trials")
    dt = check_scalar(dt, "dt", low=0.0, low_inclusive=False)
    sigma = check_scalar(sigma, "sigma", low=0.0)
    check_allocation(2.0 * n_trials * n_timepoints * taus.size, "n_trials, n_timepoints and taus",
                     what="OU activity")
    rng = check_random_state(random_state)
    eps = rng.standard_normal((n_trials, n_timepoints, taus.size))
    out = np.empty_like(eps)
    for u, tau in enumerate(taus):
        phi = np.exp(-dt / tau)
        drive = sigma * np.sqrt(1 - phi**2) * eps[:, :, u]
        drive[:, 0] = sigma * eps[:, 0, u]  # stationary start
        out[:, :, u] = lfilter([1.0], [1.0, -phi], drive, axis=1)
    return out
