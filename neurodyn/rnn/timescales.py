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
from .._validation import (
    check_array,
    check_finite,
    check_in,
    check_positive_int,
    check_scalar,
    warn_if_transposed,
)

__all__ = [
    "autocorrelation",
    "fit_timescales",
    "network_timescales",
    "TimescaleFit",
    "population_autocorrelation",
    "unit_timescales",
]


def _as_trials(x: Any, name: str, allow_constant: bool, warn_transposed: bool = True) -> np.ndarray:
    if hasattr(x, "states") and not isinstance(x, np.ndarray):
        x = x.states
    arr = check_array(x, name, ndim=(2, 3),
                      dims="(n_timepoints, n_units) or (n_trials, n_timepoints, n_units)")
    check_finite(arr, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape[1] < 3:
        raise ValueError(f"{name} is too short: needs at least 3 timepoints; got {arr.shape[1]}")
    if warn_transposed:
        warn_if_transposed(arr, name, time_axis=1, unit_axis=2)
    if not allow_constant:
        const = np.flatnonzero(np.all(arr == arr[:, :1], axis=1).all(axis=0))
        if const.size:
            shown = ", ".join(str(int(u)) for u in const[:10])
            raise ValueError(f"{name} has {const.size} constant (zero-variance) unit(s) at index "
                             f"[{shown}{', ...' if const.size > 10 else ''}]; pass allow_constant=True "
                             "to get NaN for them")
    return arr


def autocorrelation(x: Any, max_lag: int | None = None, normalize: bool = True,
                    allow_constant: bool = False) -> np.ndarray:
    """Trial-averaged autocorrelation of every unit, by FFT.

    Parameters
    ----------
    x : array-like or Recording, shape (n_trials, n_timepoints, n_units) or (n_timepoints, n_units)
        Fewer time points than units raises a :class:`~neurodyn._validation.LayoutWarning`
        (the array is probably transposed).
    max_lag : int, optional
        Largest lag returned (``max_lag + 1`` lags), at most ``n_timepoints - 1``;
        None gives ``min(200, n_timepoints - 1)``.
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
    return _autocorrelation(arr, max_lag, normalize)


def _autocorrelation(arr: np.ndarray, max_lag: int | None, normalize: bool) -> np.ndarray:
    n = arr.shape[1]
    if max_lag is None:
        max_lag = min(200, n - 1)
    max_lag = check_positive_int(max_lag, "max_lag", minimum=1)
    if max_lag > n - 1:
        raise ValueError(f"max_lag must be at most n_timepoints - 1 = {n - 1} (x has {n} timepoints); "
                         f"got {max_lag}")
    n_lags = max_lag + 1
    centred = arr - arr.mean(axis=1, keepdims=True)
    # each unit divided by its largest centred magnitude: the products of the FFT cannot
    # over- or underflow at any data scale; the autocovariance is multiplied back at the end
    peak = np.max(np.abs(centred), axis=(0, 1))
    peak = np.where(peak > 0, peak, 1.0)
    spec = np.fft.rfft(centred / peak, n=2 * n, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=2 * n, axis=1)[:, :n_lags]
    acov = acov / (n - np.arange(n_lags))[None, :, None]
    acov = acov.mean(axis=0)
    # a unit whose centred values are at the level of rounding errors of its values is constant
    raw = np.max(np.abs(arr), axis=(0, 1))
    flat = np.max(np.abs(centred), axis=(0, 1)) <= 8.0 * np.sqrt(n) * np.finfo(float).eps * raw
    acov[:, flat] = 0.0
    if not normalize:
        with np.errstate(over="ignore"):
            out = acov * peak ** 2
        if not np.all(np.isfinite(out)):
            raise ValueError("x: the autocovariance is beyond the float64 range at this data scale; "
                             "rescale x or use normalize=True")
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = acov / acov[:1]
    ac[:, acov[0] <= 0] = np.nan
    return ac


def population_autocorrelation(x: Any, max_lag: int | None = None) -> np.ndarray:
    """Autocorrelation of the summed activity of all units, shape (n_lags,)."""
    arr = _as_trials(x, "x", allow_constant=True)
    # sum the units after a common rescaling (no overflow of the sum)
    peak = float(np.max(np.abs(arr))) or 1.0
    return _autocorrelation((arr / peak).sum(axis=2, keepdims=True), max_lag, True)[:, 0]


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
    arr = check_array(ac, "ac", ndim=(1, 2), dims="(n_lags,) or (n_lags, n_units)")
    if arr.ndim == 1:
        arr = arr[:, None]
    if np.isinf(arr).any():
        raise ValueError(f"ac must not contain Inf (NaN marks units without an autocorrelation); "
                         f"got {int(np.isinf(arr).sum())} Inf values")
    nan = np.isnan(arr)
    partial = nan.any(axis=0) & ~nan.all(axis=0)
    if partial.any():
        raise ValueError(f"ac has NaN inside the column(s) {np.flatnonzero(partial)[:10].tolist()}; NaN "
                         "may only mark a whole unit without an autocorrelation (a constant unit)")
    if model not in ("aic", "single", "double"):
        raise ValueError(f"model must be 'aic', 'single' or 'double'; got {model!r}")
    fit_lags = check_positive_int(fit_lags, "fit_lags", minimum=2)
    tau_max = check_scalar(tau_max, "tau_max", low=1e-6, high=1e12, low_inclusive=False)
    maxfev = check_positive_int(maxfev, "maxfev")
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


def unit_timescales(x: Any, max_lag: int | None = None, fit_lags: int = 30, model: str = "aic",
                    allow_constant: bool = True) -> TimescaleFit:
    """Timescale of every unit of recorded activity: :func:`autocorrelation` then :func:`fit_timescales`.

    ``x`` is ``(n_trials, n_timepoints, n_units)`` (e.g. ``LeakyRNN.record(...)``) or
    ``(n_timepoints, n_units)``; constant units get NaN unless ``allow_constant=False``.
    Fewer time points than units raises a :class:`~neurodyn._validation.LayoutWarning`
    (the array is probably transposed). The result does not depend on the data's scale.
    """
    check_in(model, "model", ("aic", "single", "double"))
    ac = autocorrelation(x, max_lag=max_lag, allow_constant=allow_constant)
    if ac.shape[0] < check_positive_int(fit_lags, "fit_lags", minimum=2) + 1:
        raise ValueError(f"x gives {ac.shape[0]} autocorrelation lags (max_lag and its length); "
                         f"fit_lags={fit_lags} needs {fit_lags + 1}")
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
    if not hasattr(net, "n_units") or not callable(net):
        raise TypeError(f"net must be a LeakyRNN or GatedRNN; got {type(net).__name__}")
    n_trials = check_positive_int(n_trials, "n_trials")
    n_timesteps = check_positive_int(n_timesteps, "n_timesteps", minimum=3)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    max_lag = check_positive_int(max_lag, "max_lag")
    if max_lag > n_timesteps - 1:
        raise ValueError(f"max_lag must be at most n_timesteps - 1 = {n_timesteps - 1}; got {max_lag}")
    check_in(model, "model", ("aic", "single", "double"))
    if rate != "uniform":
        rate = check_scalar(rate, "rate", low=0.0, high=1.0)
    if units is not None:
        units = np.atleast_1d(check_array(units, "units", ndim=(0, 1), dtype=None))
        if units.dtype.kind not in "iu" or units.min() < 0 or units.max() >= net.n_units:
            raise ValueError(f"units must be integer indices in [0, {net.n_units - 1}]; got "
                             f"{units.tolist()[:10]}")
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
    ac = _autocorrelation(_as_trials(act, "activity", True, warn_transposed=False), max_lag, True)
    return fit_timescales(ac, fit_lags=fit_lags, model=model)
