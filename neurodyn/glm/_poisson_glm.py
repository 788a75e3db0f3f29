"""Coupled population Poisson GLM (the single-state reference model)."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._score import Score
from .._torch import TorchEstimatorMixin, thread_policy
from .._validation import caller_stacklevel, check_in
from ._common import (
    as_trial_list,
    check_basis_params,
    check_count_range,
    check_glm_dtype,
    check_min_length,
    check_rates_for_link,
    lbfgs_minimize,
    make_basis,
    make_batch,
    unpad_trials,
    warn_if_diverged,
)
from ._emission import (
    LINKS,
    LOG2,
    inverse_link,
    link_of_rate,
    poisson_log_prob,
    weighted_glm_value_and_grad,
)

__all__ = ["PoissonGLM"]


class PoissonGLM(TorchEstimatorMixin, BaseEstimator):
    """Coupled Poisson GLM of a neural population with spike-history filters.

    Each neuron's count in bin ``t`` is Poisson with rate
    ``f(b_n + sum_{n', k} W[n, n', k] h[t, n', k])``, where ``h`` are the
    spike-history features of all neurons (see :func:`history_features`).
    Fitted by full-batch L-BFGS in torch on

    ``-(1 / n_bins) * sum_t sum_n log p(x[t, n]) + (alpha / 2) * ||W||^2``.

    Parameters
    ----------
    link : {"softplus", "exp", "sigmoid"}
        Inverse link. ``"sigmoid"`` is the capped link of Li et al. (2024),
        ``(1 - 1e-8) * sigmoid(u) + 1e-8`` (at most one spike per bin on average:
        ``fit`` refuses data whose mean count exceeds one per bin for a neuron).
    n_lags : int
        Number of history lags ``L``.
    basis : {"exp", "raised_cosine"}
        ``"exp"``: one normalised exponential kernel (one weight per edge);
        ``"raised_cosine"``: ``n_basis`` log-stretched raised cosines.
    decay : float
        Decay of the exponential basis (per lag when ``time_span`` is None), finite
        and ``>= 0`` (``0``: equal weights on all lags; see :func:`exp_basis`).
    time_span : float or None
        Duration covered by the lags in the exponential basis (None: ``n_lags``).
    n_basis : int
        Number of raised-cosine functions.
    alpha : float
        L2 penalty on the coupling weights (not on the bias), finite and ``>= 0``.
    max_iter : int
        Maximum number of L-BFGS iterations.
    tol : float
        Relative change of the objective between blocks of 20 L-BFGS iterations
        that stops the optimiser (it also stops once the largest gradient entry is
        below 1e-9).
    device, dtype, random_state, verbose
        See :class:`neurodyn._torch.TorchEstimatorMixin`; ``verbose`` shows a
        tqdm bar over the L-BFGS iterations with the objective. A fit that stops
        at ``max_iter`` warns (:class:`sklearn.exceptions.ConvergenceWarning`).
        ``dtype`` is float32 or float64: in float32 the objective is still accumulated in float64, and the fit gives
        the float64 couplings and intercepts within 1e-4 on a small problem (5
        neurons, 1800 bins; see the tests). Counts above ``2**24`` (float32) or
        ``2**53`` (float64) are refused, as they are not exact.

    Attributes
    ----------
    coupling_ : ndarray of shape (n_neurons, n_neurons) or (n_neurons, n_neurons, n_basis)
        ``coupling_[post, pre]`` (per basis function when there are several).
    intercept_ : ndarray of shape (n_neurons,)
    basis_ : ndarray of shape (n_basis, n_lags)
    mean_rate_ : ndarray of shape (n_neurons,)
        Training mean counts per bin (the homogeneous Poisson baseline of
        :meth:`bits_per_spike`).
    loss_curve_ : list of float
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
        Number of neurons.

    References
    ----------
    J. W. Pillow et al. Spatio-temporal correlations and visual signalling in a
    complete neuronal population. Nature 454, 995-999 (2008).
    C. Li, S. H. Kim, C. Rodgers, H. Choi, A. Wu. One-hot Generalized Linear Model
    for Switching Brain State Discovery. ICLR 2024.

    Examples
    --------
    >>> from neurodyn.datasets.simulate import hmm_glm
    >>> from neurodyn.glm import PoissonGLM
    >>> sim = hmm_glm(n_neurons=6, n_states=1, n_timepoints=600, n_trials=3, random_state=0)
    >>> sim.counts.shape                       # (n_trials, n_timepoints, n_neurons)
    (3, 600, 6)
    >>> model = PoissonGLM(n_lags=3, device="cpu").fit(sim.counts)
    >>> model.coupling_.shape
    (6, 6)
    >>> bool(model.bits_per_spike(sim.counts) > 0)   # better than each neuron's mean rate
    True
    """

    def __init__(self, link="softplus", n_lags=5, basis="exp", decay=1.0, time_span=None,
                 n_basis=3, alpha=0.0, max_iter=1000, tol=1e-12, device="auto", dtype=None,
                 random_state=None, verbose=False):
        self.link = link
        self.n_lags = n_lags
        self.basis = basis
        self.decay = decay
        self.time_span = time_span
        self.n_basis = n_basis
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- internals -------------------------------------------------------
    def _check_params(self):
        check_in(self.link, "link", LINKS)
        check_basis_params(self)
        return make_basis(self.basis, self.n_lags, self.decay, self.time_span, self.n_basis)

    def _batch(self, X, name="X"):
        trials = as_trial_list(X, name)
        if hasattr(self, "n_features_in_") and trials[0].shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {trials[0].shape[1]} neurons; the model was fitted on "
                             f"{self.n_features_in_}")
        check_min_length(trials, self.basis_.shape[1], name)
        check_count_range(trials, self.dtype_, name)
        return make_batch(trials, self.basis_, self.device_, self.dtype_)

    def _weights_flat(self):
        w = torch.as_tensor(self.coupling_, device=self.device_, dtype=self.dtype_)
        return w.reshape(w.shape[0], -1)

    @thread_policy()  # the process's share of the cores (OMP_NUM_THREADS, joblib workers)
    def fit(self, X, y=None):
        """Fit the GLM to spike counts.

        Parameters
        ----------
        X : array-like (n_trials, n_timepoints, n_neurons), (n_timepoints, n_neurons)
            or list of (n_timepoints_i, n_neurons) arrays
            Non-negative integer spike counts; every trial needs more bins than
            ``n_lags``. A trial with fewer bins than neurons raises a
            :class:`~neurodyn._validation.LayoutWarning` (probably transposed).
        y : ignored

        Returns
        -------
        self
        """
        basis = self._check_params()
        self._setup_torch()
        check_glm_dtype(self.dtype_)
        for attr in ("n_features_in_",):
            if hasattr(self, attr):
                delattr(self, attr)
        self.basis_ = basis
        batch = self._batch(X)
        counts, feats, logfact = batch.flat()
        n_bins, n_neurons = counts.shape
        mean_rate = counts.mean(0)
        check_rates_for_link(mean_rate, self.link)
        weights, bias = fit_glm_parameters(
            counts, feats, self.link, alpha=float(self.alpha), max_iter=self.max_iter,
            tol=self.tol, verbose=self.verbose, estimator=self)
        k = basis.shape[0]
        coupling = self._numpy(weights).reshape(n_neurons, n_neurons, k)
        self.coupling_ = coupling[..., 0] if k == 1 else coupling
        self.intercept_ = self._numpy(bias)
        self.mean_rate_ = self._numpy(mean_rate)
        self.n_features_in_ = n_neurons
        warn_if_diverged(weights, feats, float(self.alpha), "PoissonGLM",
                         "Set alpha > 0 (an L2 penalty per bin, e.g. 1e-4).")
        if not self.converged_:
            warnings.warn(f"PoissonGLM: L-BFGS stopped at max_iter={self.max_iter} before the "
                          f"objective's relative change fell below tol={self.tol:g}; raise max_iter",
                          ConvergenceWarning, stacklevel=caller_stacklevel())
        return self

    def _log_prob(self, batch):
        counts, feats, logfact = batch.flat()
        u = feats @ self._weights_flat().T + torch.as_tensor(self.intercept_, device=self.device_,
                                                              dtype=self.dtype_)
        return counts, poisson_log_prob(counts, u, self.link, logfact)

    def predict_rate(self, X):
        """Conditional intensity (expected count per bin) given the spike history.

        Returns
        -------
        ndarray (n_trials, n_timepoints, n_neurons), or a list when trials differ in length.
        """
        check_is_fitted(self, "coupling_")
        batch = self._batch(X)
        w = self._weights_flat()
        u = batch.features @ w.T + torch.as_tensor(self.intercept_, device=self.device_,
                                                   dtype=self.dtype_)
        rate = self._numpy(inverse_link(u, self.link))
        return unpad_trials(rate, self._numpy(batch.lengths), X)

    def log_likelihood(self, X):
        """Total log-likelihood (nats) of spike counts ``X``."""
        check_is_fitted(self, "coupling_")
        _, lp = self._log_prob(self._batch(X))
        return Score(float(lp.sum()), "nats", "Poisson log-likelihood, summed over bins and neurons")

    def score(self, X, y=None):
        """Mean log-likelihood per bin per neuron, in nats.

        Returns
        -------
        Score
            A float (nats/bin/neuron, higher is better) whose repr names its units.
        """
        check_is_fitted(self, "coupling_")
        _, lp = self._log_prob(self._batch(X))
        return Score(float(lp.mean()), "nats/bin/neuron", "Poisson log-likelihood")

    def bits_per_spike(self, X):
        """Log-likelihood gain over a homogeneous Poisson model (training mean rates), in bits per spike."""
        check_is_fitted(self, "coupling_")
        batch = self._batch(X)
        counts, lp = self._log_prob(batch)
        return Score(bits_per_spike(float(lp.sum()), counts, self.mean_rate_), "bits/spike",
                     "log-likelihood gain over a homogeneous Poisson model")


def homogeneous_log_likelihood(counts: torch.Tensor, mean_rate) -> float:
    """Log-likelihood of counts (M, N) under constant Poisson rates ``mean_rate`` (N,)."""
    rate = torch.as_tensor(np.asarray(mean_rate), device=counts.device, dtype=counts.dtype)
    return float((counts * torch.log(rate) - rate - torch.lgamma(counts + 1.0)).sum())


def bits_per_spike(log_likelihood: float, counts: torch.Tensor, mean_rate) -> float:
    """``(LL - LL_homogeneous) / (n_spikes * log 2)``."""
    mean_rate = np.asarray(mean_rate, dtype=float)
    if not (np.isfinite(mean_rate).all() and (mean_rate > 0).all()):
        raise ValueError("bits_per_spike needs the baseline rates mean_rate_ (positive, finite); "
                         "the model has none -- pass mean_rate to set_parameters")
    n_spikes = float(counts.sum())
    if n_spikes == 0:
        raise ValueError("X has no spikes: bits per spike is undefined")
    base = homogeneous_log_likelihood(counts, mean_rate)
    return (log_likelihood - base) / (n_spikes * LOG2)


def fit_glm_parameters(counts, feats, link, *, alpha=0.0, max_iter=1000, tol=1e-12,
                       weights=None, verbose=False, estimator=None,
                       init_weights=None, init_bias=None):
    """Weighted Poisson GLM fit by L-BFGS on flattened bins.

    ``counts`` (M, N), ``feats`` (M, D), optional per-bin ``weights`` (M,).
    Returns the (N, D) weights and the (N,) bias as detached tensors.

    When feature columns have a mean magnitude above one (high counts: history
    features of 1e6 spikes per bin), the optimisation runs on centred features
    divided by that magnitude (the weights and the bias are mapped back), so that
    L-BFGS steps neither overflow the link nor crawl along the direction that
    trades the bias against weights on nearly constant features.
    """
    n_bins, n_neurons = counts.shape
    dim = feats.shape[1]
    dtype, device = feats.dtype, feats.device
    wsum = float(n_bins) if weights is None else float(weights.sum())
    mean_rate = (counts.mean(0) if weights is None
                 else (weights[:, None] * counts).sum(0) / wsum).clamp_min(1e-6)
    scale = feats.abs().mean(0).clamp_min(1.0)  # (D,); 1 for ordinary counts
    scaled = bool((scale > 1.0).any())
    W = (torch.zeros(n_neurons, dim, dtype=dtype, device=device) if init_weights is None
         else init_weights.clone())
    b = link_of_rate(mean_rate, link) if init_bias is None else init_bias.clone()
    if scaled:  # u = b + W h = (b + W mu) + (W * scale) (h - mu) / scale
        centre = (feats.mean(0) if weights is None
                  else (weights[:, None] * feats).sum(0) / wsum)
        feats = (feats - centre) / scale
        b = b + W @ centre
        W = W * scale
    w_bins = None if weights is None else weights[:, None]
    inv_scale2 = 1.0 / (scale * scale)

    def value_and_grad():
        value, gW, gb = weighted_glm_value_and_grad(counts, feats, W[None], b[None], w_bins, link)
        if scaled:  # the penalty is on the unscaled weights W / scale
            loss = -value / wsum + 0.5 * alpha * (W * W * inv_scale2).sum()
            return loss, [-gW[0] / wsum + alpha * W * inv_scale2, -gb[0] / wsum]
        loss = -value / wsum + 0.5 * alpha * (W * W).sum()
        return loss, [-gW[0] / wsum + alpha * W, -gb[0] / wsum]

    def objective():
        return value_and_grad()[0]

    bar = progress = None
    if verbose:
        from tqdm.auto import tqdm
        bar = tqdm(total=max_iter, desc="PoissonGLM L-BFGS")

        def progress(loss, n_done):
            bar.update(n_done - bar.n)
            bar.set_postfix(objective=f"{loss:.8f}")
    try:
        losses, n_iter, converged = lbfgs_minimize([W, b], objective, max_iter, tol,
                                                   progress=progress,
                                                   value_and_grad=value_and_grad)
    finally:
        if bar is not None:
            bar.close()
    if estimator is not None:
        estimator.loss_curve_ = losses
        estimator.n_iter_ = n_iter
        estimator.converged_ = converged
    if scaled:
        W = W / scale
        b = b - W @ centre
    return W, b
