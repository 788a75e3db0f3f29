"""Input handling and optimisation utilities shared by the GLM estimators."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import (
    LayoutWarning,
    caller_stacklevel,
    check_allocation,
    check_in,
    check_positive_int,
    check_scalar,
    check_spike_counts,
)
from ._basis import _history_features, exp_basis, raised_cosine_basis

BASES = ("exp", "raised_cosine")

# largest count a dtype holds exactly (integers are exact up to 2**(mantissa bits + 1))
_EXACT_COUNT = {torch.float32: 2.0 ** 24, torch.float64: 2.0 ** 53}


def as_trial_list(X, name: str = "X") -> list[np.ndarray]:
    """Split ``X`` into a list of ``(n_timepoints, n_neurons)`` count arrays.

    Accepts a 2-D array (one trial), a 3-D array ``(n_trials, n_timepoints,
    n_neurons)`` or a list/tuple of 2-D arrays of possibly different lengths.
    Checks counts (finite, non-negative integers) and equal neuron counts, and
    warns (:class:`~neurodyn._validation.LayoutWarning`) when a trial has fewer
    time bins than neurons (probably a transposed array).
    The caller's arrays are never modified (copies are float64 arrays).
    """
    dims = "(n_timepoints, n_neurons) or (n_trials, n_timepoints, n_neurons)"
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(f"{name} is empty; expected at least one trial")
        trials = [check_spike_counts(x, f"{name}[{i}]", ndim=2, min_timepoints=1)
                  for i, x in enumerate(X)]
    else:
        arr = check_spike_counts(X, name, ndim=(2, 3), min_timepoints=1)
        trials = [arr] if arr.ndim == 2 else list(arr)
    sizes = [t.shape[1] for t in trials]
    if len(set(sizes)) > 1:
        raise ValueError(f"{name}: all trials must have the same number of neurons; got {sizes}")
    short = [i for i, t in enumerate(trials) if t.shape[0] < t.shape[1]]
    if short:
        t = trials[short[0]]
        where = "" if len(trials) == 1 else f" (trial {short[0]}, {len(short)} trial(s) in all)"
        warnings.warn(f"{name} has {t.shape[0]} time bins and {t.shape[1]} neurons{where}; "
                      f"neurodyn expects {dims} -- is it transposed?", LayoutWarning,
                      stacklevel=caller_stacklevel())
    return [np.array(t, dtype=np.float64, copy=True) for t in trials]


def check_n_states_supported(n_states: int, trials: list[np.ndarray], name: str = "X") -> None:
    """Refuse more states than the data can inform.

    The ``S * (S - 1)`` free transition probabilities need at least as many
    observed transitions (bins minus trials).
    """
    n_bins = sum(t.shape[0] for t in trials)
    n_transitions = n_bins - len(trials)
    needed = n_states * (n_states - 1)
    if needed > n_transitions:
        raise ValueError(
            f"n_states={n_states} is more than {name} can support: the transition matrix has "
            f"{needed} free probabilities but {name} has only {n_transitions} transitions "
            f"({n_bins} bins in {len(trials)} trial(s)); use fewer states or more data")


def check_glm_dtype(dtype: torch.dtype) -> None:
    """The GLMs compute in float32 or float64 only."""
    if dtype not in _EXACT_COUNT:
        raise ValueError(f"dtype must be float32 or float64 for the GLMs; got {dtype} (lgamma, "
                         f"logsumexp and L-BFGS lose too much precision below float32)")


def check_count_range(trials: list[np.ndarray], dtype: torch.dtype, name: str = "X") -> None:
    """Refuse counts that ``dtype`` cannot represent exactly."""
    limit = _EXACT_COUNT[dtype]
    biggest = max(float(t.max()) for t in trials)
    if biggest > limit:
        kind = "float32" if dtype == torch.float32 else "float64"
        hint = "; use dtype='float64'" if dtype == torch.float32 else ""
        raise ValueError(f"{name} has counts up to {biggest:.6g}, more than {kind} represents "
                         f"exactly ({limit:.0f}){hint}")


def check_rates_for_link(mean_rate: torch.Tensor, link: str, name: str = "X") -> None:
    """Refuse silent neurons, and mean counts above one per bin for the capped sigmoid link."""
    if bool((mean_rate == 0).any()):
        silent = torch.nonzero(mean_rate == 0).ravel().tolist()[:10]
        raise ValueError(f"{name} has neurons that never spike (index {silent}); remove them")
    if link == "sigmoid" and bool((mean_rate > 1.0).any()):
        high = torch.nonzero(mean_rate > 1.0).ravel().tolist()[:10]
        raise ValueError(f"link='sigmoid' caps the firing rate at one spike per bin, but {name} has "
                         f"neurons with mean counts up to {float(mean_rate.max()):.3g} per bin "
                         f"(index {high}); use link='softplus' or 'exp', or narrower bins")


def check_basis_params(est) -> None:
    """Checks shared by the GLM estimators (basis, link-independent optimiser settings)."""
    check_in(est.basis, "basis", BASES)
    check_positive_int(est.n_lags, "n_lags")
    check_positive_int(est.n_basis, "n_basis")
    check_scalar(est.decay, "decay", low=0.0)
    check_scalar(est.time_span, "time_span", low=0.0, low_inclusive=False, allow_none=True)
    check_scalar(est.alpha, "alpha", low=0.0)
    check_positive_int(est.max_iter, "max_iter")
    check_scalar(est.tol, "tol", low=0.0)


def check_min_length(trials: list[np.ndarray], n_lags: int, name: str = "X") -> None:
    """Every trial needs more bins than history lags."""
    lengths = [t.shape[0] for t in trials]
    short = [i for i, n in enumerate(lengths) if n <= n_lags]
    if short:
        raise ValueError(
            f"{name} is too short: every trial needs more time bins than n_lags={n_lags}; "
            f"trial(s) {short[:10]} have {[lengths[i] for i in short[:10]]} bins")


def make_basis(basis: str, n_lags: int, decay: float, time_span: float | None,
               n_basis: int) -> np.ndarray:
    """The ``(n_basis, n_lags)`` history basis named by ``basis``."""
    check_in(basis, "basis", BASES)
    n_lags = check_positive_int(n_lags, "n_lags")
    if basis == "exp":
        span = float(n_lags) if time_span is None else float(time_span)
        return exp_basis(decay=decay, window_size=n_lags, time_span=span)
    return raised_cosine_basis(n_basis=n_basis, window_size=n_lags)


@dataclass
class TrialBatch:
    """Padded counts, history features and validity mask for a set of trials."""

    counts: torch.Tensor        # (B, T, N)
    features: torch.Tensor      # (B, T, D)
    mask: torch.Tensor          # (B, T) bool
    lengths: torch.Tensor       # (B,) long
    log_factorial: torch.Tensor  # (B, T, N)

    @property
    def n_bins(self) -> int:
        return int(self.lengths.sum())

    def flat(self):
        """Valid bins only: counts (M, N), features (M, D), log-factorials (M, N).

        Formed once and kept (every E-step reads them; a copy per call would double
        the design matrix's memory at each iteration). Without padding they are
        views of the padded tensors.
        """
        cached = self.__dict__.get("_flat")
        if cached is None:
            m = self.mask
            if bool(m.all()):
                flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
            else:
                flat = lambda t: t[m]  # noqa: E731
            cached = (flat(self.counts), flat(self.features), flat(self.log_factorial))
            self.__dict__["_flat"] = cached
        return cached


def unpad_trials(arr: np.ndarray, lengths, X):
    """Undo the padding of a (trials, time, ...) result in the shape the user passed.

    A single 2-D recording gives its 2-D result; equal-length trials give the
    array; unequal-length trials give a list cut to each trial's length.
    """
    lengths = [int(n) for n in np.asarray(lengths).tolist()]
    if not isinstance(X, (list, tuple)) and np.ndim(X) == 2:
        return arr[0]
    if len(set(lengths)) == 1:
        return arr
    return [arr[i, :n] for i, n in enumerate(lengths)]


def make_batch(trials: list[np.ndarray], basis: np.ndarray, device, dtype) -> TrialBatch:
    """Pad trials to a common length and compute their history features once."""
    lengths = [t.shape[0] for t in trials]
    n_neurons = trials[0].shape[1]
    t_max = max(lengths)
    # padded counts, log-factorials and features, plus numpy's padded copy
    check_allocation(float(len(trials)) * t_max * n_neurons * (3 + basis.shape[0]),
                     "X (trials padded to the longest one)", itemsize=8, what="GLM design")
    padded = np.zeros((len(trials), t_max, n_neurons))
    for i, t in enumerate(trials):
        padded[i, : t.shape[0]] = t
    counts = torch.as_tensor(padded, device=device, dtype=dtype)
    basis_t = torch.as_tensor(basis, device=device, dtype=dtype)
    features = _history_features(counts, basis_t)
    lengths_t = torch.as_tensor(lengths, device=device, dtype=torch.long)
    mask = torch.arange(t_max, device=device)[None, :] < lengths_t[:, None]
    return TrialBatch(counts, features, mask, lengths_t, torch.lgamma(counts + 1.0))


def lbfgs_minimize(params: list[torch.Tensor], objective, max_iter: int, tol: float,
                   inner_iter: int = 20, history_size: int = 20, progress=None,
                   value_and_grad=None, grad_tol: float = 1e-9):
    """Minimise ``objective()`` over ``params`` with L-BFGS (strong Wolfe line search).

    Runs blocks of ``inner_iter`` L-BFGS iterations (the curvature history is kept
    across blocks) until the largest gradient entry falls below ``grad_tol``, the
    relative decrease of the objective between blocks falls below ``tol``, or
    ``max_iter`` iterations are used. (Near the optimum the objective changes with
    the square of the parameter error, so the gradient test is the tight one.)

    ``progress(loss, n_iter)``, when given, is called after every block.
    ``value_and_grad()``, when given, returns the objective and the list of
    gradients (same order as ``params``) computed by hand, and replaces autograd.

    Returns
    -------
    losses : list of float
        Objective after each block (the first entry is the starting value).
    n_iter : int
    converged : bool
    """
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=inner_iter, history_size=history_size,
                            tolerance_grad=grad_tol, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure():
        if value_and_grad is not None:
            loss, grads = value_and_grad()
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            return loss
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    with torch.no_grad():
        losses = [float(objective())]
    n_iter = 0
    converged = False
    while n_iter < max_iter:
        before = opt.state[opt._params[0]].get("n_iter", 0)
        opt.param_groups[0]["max_iter"] = min(inner_iter, max_iter - n_iter)
        opt.step(closure)
        used = opt.state[opt._params[0]].get("n_iter", 0) - before
        n_iter += max(used, 1)
        with torch.no_grad():
            loss = float(objective())
        if not np.isfinite(loss):
            raise FloatingPointError("the objective became non-finite during L-BFGS; "
                                     "try link='softplus' or a smaller learning problem")
        prev = losses[-1]
        losses.append(loss)
        if progress is not None:
            progress(loss, n_iter)
        if abs(prev - loss) <= tol * max(1.0, abs(loss)) or used < opt.param_groups[0]["max_iter"]:
            converged = True
            break
    return losses, n_iter, converged


_SATURATION = 30.0  # |weight x feature| that alone saturates any of the links


def warn_if_diverged(weights: torch.Tensor, feats: torch.Tensor, alpha: float, who: str,
                     remedy: str) -> int:
    """Warn (:class:`~neurodyn._validation.DivergenceWarning`) when coupling weights ran off.

    A weight whose product with the largest magnitude of its history feature
    exceeds 30 saturates the link on its own (exp(30) ~ 1e13; the capped sigmoid
    and softplus are flat there): maximum likelihood has no finite solution on
    these data (separation: a neuron silent, or always at the cap, whenever a
    feature is active), and the value is wherever the optimiser stopped.

    Parameters
    ----------
    weights : tensor (..., n_features)
        Fitted weights, last axis = the columns of ``feats``.
    feats : tensor (n_bins, n_features)
        The design (history features).
    alpha, who, remedy :
        The fit's L2 penalty, the estimator's name and the advice in the message.

    Returns
    -------
    int
        The number of diverged weights (0: no warning).
    """
    scale = torch.maximum(feats.amax(0), -feats.amin(0))  # max |feature| without an |X| copy
    lin = (weights.abs() * scale).reshape(-1, scale.shape[0])
    n_bad = int((lin > _SATURATION).sum())
    if n_bad:
        from .._validation import DivergenceWarning, caller_stacklevel

        warnings.warn(
            f"{who}: {n_bad} coupling weight(s) ran off to |w| = {float(weights.abs().max()):.3g} "
            f"(alpha={alpha:g}): maximum likelihood has no finite solution on these data "
            f"(too few bins for the parameters, or a neuron silent whenever an input is active), "
            f"so those weights and the fit built on them are unreliable. {remedy}",
            DivergenceWarning, stacklevel=caller_stacklevel())
    return n_bad
