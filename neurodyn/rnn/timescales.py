"""Autocorrelation timescales of single units (network-mediated timescales).

Protocol of Khajehabdollahi et al. (2024): per trial and unit the autocorrelation is computed
by FFT (mean-subtracted, zero-padded to 2n, lag k divided by n - k), averaged over trials and
normalised by its value at lag 0; lags ``0..fit_lags`` are fitted by bounded least squares with
``A exp(-t / tau)`` and ``A (c exp(-t / tau1) + (1 - c) exp(-t / tau2))``; the model with the
smaller AIC ``2k + n ln(RSS / n)`` gives the unit's timescale (``max(tau1, tau2)`` for the
double exponential).

References
----------
Khajehabdollahi, S., Zeraati, R., Giannakakis, E., Schäfer, T. J., Martius, G., & Levina, A.
(2024). Emergent mechanisms for long timescales depend on training curriculum and affect
performance in memory tasks. ICLR 2024, section 4 and appendix.

Zeraati, R., Engel, T. A., & Levina, A. (2022). A flexible Bayesian framework for unbiased
estimation of timescales. Nature Computational Science 2, 193-204 (autocorrelation bias).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import curve_fit

from .._torch import make_generator, random_uniform
from .._validation import check_array, check_finite, check_positive_int

__all__ = [
    "autocorrelation",
    "fit_timescales",
    "network_timescales",
    "TimescaleFit",
    "population_autocorrelation",
    "unit_timescales",
]


def _as_trials(x: Any, name: str, allow_constant: bool) -> np.ndarray:
    arr = check_array(np.asarray(x), name, ndim=(2, 3),
                      dims="(n_timepoints, n_units) or (n_trials, n_timepoints, n_units)")
    check_finite(arr, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape[1] < 3:
        raise ValueError(f"{name} is too short: needs at least 3 timepoints; got {arr.shape[1]}")
    if not allow_constant:
        const = np.flatnonzero(np.all(arr == arr[:, :1], axis=1).all(axis=0))
        if const.size:
            shown = ", ".join(str(int(u)) for u in const[:10])
            raise ValueError(f"{name} has {const.size} constant (zero-variance) unit(s) at index "
                             f"[{shown}{', ...' if const.size > 10 else ''}]; pass allow_constant=True "
                             "to get NaN for them")
    return arr


def autocorrelation(x: Any, max_lag: int = 200, normalize: bool = True,
                    allow_constant: bool = False) -> np.ndarray:
    """Trial-averaged autocorrelation of every unit, by FFT.

    Parameters
    ----------
    x : array-like or Recording, shape (n_trials, n_timepoints, n_units) or (n_timepoints, n_units)
    max_lag : int
        Largest lag returned (``max_lag + 1`` lags, capped at ``n_timepoints - 1``).
    normalize : bool
        Divide by the lag-0 value (autocorrelation rather than autocovariance).
    allow_constant : bool
        Constant units give NaN instead of raising.

    Returns
    -------
    ndarray, shape (n_lags, n_units)

    Notes
    -----
    Per trial: subtract the mean, zero-pad to 2n, ``irfft(|rfft|^2)``, divide lag k by ``n - k``
    (unbiased in the number of products); the trial average is taken before normalising.
    """
    arr = _as_trials(x, "x", allow_constant)
    max_lag = check_positive_int(max_lag, "max_lag", minimum=1)
    n = arr.shape[1]
    n_lags = min(max_lag, n - 1) + 1
    centred = arr - arr.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=2 * n, axis=1)[:, :n_lags]
    acov = acov / (n - np.arange(n_lags))[None, :, None]
    acov = acov.mean(axis=0)
    if not normalize:
        return acov
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = acov / acov[:1]
    ac[:, acov[0] <= 0] = np.nan
    return ac


def population_autocorrelation(x: Any, max_lag: int = 200) -> np.ndarray:
    """Autocorrelation of the summed activity of all units, shape (n_lags,)."""
    arr = _as_trials(x, "x", allow_constant=True)
    return autocorrelation(arr.sum(axis=2, keepdims=True), max_lag=max_lag)[:, 0]


def _single_exp(t, a, tau):
    return a * np.exp(-t / tau)


def _double_exp(t, a, c, tau1, tau2):
    return a * (c * np.exp(-t / tau1) + (1 - c) * np.exp(-t / tau2))


@dataclass
class TimescaleFit:
    """Per-unit timescale fits.

    Attributes
    ----------
    tau : ndarray (n_units,)
        Selected timescale (NaN where every fit failed).
    tau_single : ndarray (n_units,)
    tau_double : ndarray (n_units, 2)
        (tau1, tau2) of the double exponential (NaN when not fitted).
    model : ndarray of str (n_units,)
        "single", "double" or "failed".
    aic_single, aic_double : ndarray (n_units,)
    """

    tau: np.ndarray
    tau_single: np.ndarray
    tau_double: np.ndarray
    model: np.ndarray
    aic_single: np.ndarray
    aic_double: np.ndarray

    @property
    def double_share(self) -> float:
        """Fraction of the successfully fitted units for which the double exponential wins."""
        ok = self.model != "failed"
        return float(np.mean(self.model[ok] == "double")) if ok.any() else float("nan")


def _aic(resid: np.ndarray, k: int) -> float:
    n = resid.size
    rss = max(float(resid @ resid), 1e-300)
    return 2 * k + n * np.log(rss / n)


def fit_timescales(ac: Any, fit_lags: int = 30, model: str = "aic", tau_max: float = 100.0,
                   maxfev: int = 2000) -> TimescaleFit:
    """Fit exponential decays to normalised autocorrelations.

    Parameters
    ----------
    ac : array-like, shape (n_lags, n_units) or (n_lags,)
        Normalised autocorrelation (lag 0 first), e.g. from :func:`autocorrelation`.
    fit_lags : int
        Fit lags ``0..fit_lags`` (the paper uses 30, avoiding the biased tail).
    model : {"aic", "single", "double"}
        Pick by AIC, or force one model.
    tau_max : float
        Upper bound of the fitted timescales (the paper: 100).
    maxfev : int
        Function-evaluation limit of each least-squares fit.

    Returns
    -------
    TimescaleFit
    """
    arr = np.asarray(ac, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"ac must be 1-D (n_lags,) or 2-D (n_lags, n_units); got shape {arr.shape}")
    if model not in ("aic", "single", "double"):
        raise ValueError(f"model must be 'aic', 'single' or 'double'; got {model!r}")
    fit_lags = check_positive_int(fit_lags, "fit_lags", minimum=2)
    if arr.shape[0] < fit_lags + 1:
        raise ValueError(f"ac has {arr.shape[0]} lags; fit_lags={fit_lags} needs {fit_lags + 1}")
    t = np.arange(fit_lags + 1, dtype=np.float64)
    n_units = arr.shape[1]
    tau_s = np.full(n_units, np.nan)
    tau_d = np.full((n_units, 2), np.nan)
    aic_s = np.full(n_units, np.inf)
    aic_d = np.full(n_units, np.inf)
    for u in range(n_units):
        y = arr[: fit_lags + 1, u]
        if not np.all(np.isfinite(y)):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if model in ("aic", "single"):
                try:
                    p, _ = curve_fit(_single_exp, t, y, p0=(1.0, 2.0), bounds=([0, 1e-6], [1, tau_max]),
                                     maxfev=maxfev)
                    tau_s[u] = p[1]
                    aic_s[u] = _aic(y - _single_exp(t, *p), 2)
                except (RuntimeError, ValueError):
                    pass
            if model in ("aic", "double"):
                try:
                    p, _ = curve_fit(_double_exp, t, y, p0=(1.0, 0.5, 1.0, 10.0),
                                     bounds=([0, 0, 1e-6, 1e-6], [1, 1, tau_max, tau_max]), maxfev=maxfev)
                    tau_d[u] = p[2:]
                    aic_d[u] = _aic(y - _double_exp(t, *p), 4)
                except (RuntimeError, ValueError):
                    pass
    chosen = np.where(aic_d < aic_s, "double", "single").astype(object)
    chosen[~np.isfinite(aic_s) & ~np.isfinite(aic_d)] = "failed"
    tau = np.where(chosen == "double", np.nanmax(np.where(np.isnan(tau_d), -np.inf, tau_d), axis=1), tau_s)
    tau = np.where(chosen == "failed", np.nan, tau).astype(float)
    return TimescaleFit(tau, tau_s, tau_d, chosen.astype(str), aic_s, aic_d)


def unit_timescales(x: Any, max_lag: int = 200, fit_lags: int = 30, model: str = "aic",
                    allow_constant: bool = True) -> TimescaleFit:
    """Timescale of every unit of recorded activity: :func:`autocorrelation` then :func:`fit_timescales`.

    ``x`` is ``(n_trials, n_timepoints, n_units)`` (e.g. ``LeakyRNN.record(...)``) or
    ``(n_timepoints, n_units)``; constant units get NaN unless ``allow_constant=False``.
    """
    ac = autocorrelation(x, max_lag=max_lag, allow_constant=allow_constant)
    return fit_timescales(ac, fit_lags=fit_lags, model=model)


@torch.no_grad()
def network_timescales(net: Any, n_trials: int = 10, n_timesteps: int = 10_000, burn_in: int = 500,
                       max_lag: int = 200, fit_lags: int = 30, model: str = "aic",
                       units: Any = None, rate: str | float = "uniform",
                       random_state: Any = None) -> TimescaleFit:
    """Network-mediated timescale of every unit under binary task input.

    Runs ``n_trials`` streams of ``burn_in + n_timesteps`` Bernoulli(p) bits (p ~ U(0, 1) per
    trial, the task statistics), drops the burn-in, computes :func:`autocorrelation` and
    :func:`fit_timescales`. Units with constant activity get NaN.

    Parameters
    ----------
    net : LeakyRNN or GatedRNN (one input)
    n_trials, n_timesteps, burn_in, max_lag, fit_lags, model
        Protocol parameters (paper: 10 trials, 10^5 steps, 500 burn-in, 200 lags, fit 0..30).
    units : array-like of int, optional
        Subset of units to fit (all by default).
    rate : "uniform" or float
        Bernoulli rate per trial.
    random_state : int, Generator or None

    Returns
    -------
    TimescaleFit

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, section 4.
    """
    gen = make_generator(random_state)
    dev, dt_ = net.device_, net.dtype_
    if rate == "uniform":
        p = random_uniform((n_trials,), gen, dev, dt_)
    else:
        p = torch.full((n_trials,), float(rate), device=dev, dtype=dt_)
    total = burn_in + n_timesteps
    x = (random_uniform((total, n_trials), gen, dev, dt_) < p).to(dt_).unsqueeze(-1)
    was_training = net.training
    net.eval()
    states, _ = net(x)
    net.train(was_training)
    act = states[burn_in:].transpose(0, 1).cpu().numpy().astype(np.float64)
    if units is not None:
        act = act[:, :, np.asarray(units)]
    ac = autocorrelation(act, max_lag=max_lag, allow_constant=True)
    return fit_timescales(ac, fit_lags=fit_lags, model=model)
