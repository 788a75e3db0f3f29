"""Inverse links and the Poisson log-likelihood shared by the GLM estimators."""

from __future__ import annotations

import math

import torch

LINKS = ("softplus", "exp", "sigmoid")

# floor inside the logarithm of the capped-sigmoid link (the paper's choice)
_SIGMOID_EPS = 1e-8


def rate_and_log_rate(u: torch.Tensor, link: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Firing rate ``f(u)`` per bin and a numerically safe ``log f(u)``.

    ``"sigmoid"`` is the paper's capped link ``(1 - 1e-8) * sigmoid(u) + 1e-8``
    (at most one spike per bin on average) with ``log(f + 1e-8)``; ``"softplus"``
    uses ``log softplus(u)`` with the ``u`` asymptote for very negative ``u``;
    ``"exp"`` is the canonical link, ``log f = u``.
    """
    if link == "softplus":
        rate = torch.nn.functional.softplus(u)
        log_rate = torch.where(u < -30.0, u, torch.log(rate.clamp_min(1e-300)))
        return rate, log_rate
    if link == "exp":
        return torch.exp(u), u
    if link == "sigmoid":
        rate = (1.0 - _SIGMOID_EPS) * torch.sigmoid(u) + _SIGMOID_EPS
        return rate, torch.log(rate + _SIGMOID_EPS)
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def inverse_link(u: torch.Tensor, link: str) -> torch.Tensor:
    """Rate ``f(u)`` for a link name."""
    return rate_and_log_rate(u, link)[0]


def link_of_rate(rate: torch.Tensor, link: str) -> torch.Tensor:
    """Pre-link value ``u`` whose rate is ``rate`` (used to initialise biases)."""
    if link == "softplus":
        return rate + torch.log(-torch.expm1(-rate))
    if link == "exp":
        return torch.log(rate)
    if link == "sigmoid":
        p = ((rate - _SIGMOID_EPS) / (1.0 - _SIGMOID_EPS)).clamp(1e-6, 1 - 1e-6)
        return torch.log(p) - torch.log1p(-p)
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def poisson_log_prob(counts: torch.Tensor, u: torch.Tensor, link: str,
                     log_factorial: torch.Tensor | None = None) -> torch.Tensor:
    """Elementwise ``log Poisson(counts | f(u))``.

    ``log_factorial`` is ``lgamma(counts + 1)`` (pass it when it is precomputed,
    or ``0`` to drop the constant).
    """
    rate, log_rate = rate_and_log_rate(u, link)
    out = counts * log_rate - rate
    if log_factorial is None:
        log_factorial = torch.lgamma(counts + 1.0)
    return out - log_factorial


LOG2 = math.log(2.0)


def poisson_log_prob_and_grad(counts: torch.Tensor, u: torch.Tensor, link: str):
    """``counts * log f(u) - f(u)`` (no factorial term) and its derivative in ``u``.

    Written out by hand so that the M-step gradients need no autograd graph.
    """
    if link == "exp":
        rate = torch.exp(u)
        return counts * u - rate, counts - rate
    if link == "softplus":
        rate = torch.nn.functional.softplus(u)
        sig = torch.sigmoid(u)
        small = u < -30.0
        log_rate = torch.where(small, u, torch.log(rate.clamp_min(1e-300)))
        dlog = torch.where(small, torch.ones_like(u), sig / rate.clamp_min(1e-300))
        return counts * log_rate - rate, counts * dlog - sig
    if link == "sigmoid":
        sig = torch.sigmoid(u)
        rate = (1.0 - _SIGMOID_EPS) * sig + _SIGMOID_EPS
        drate = (1.0 - _SIGMOID_EPS) * sig * (1.0 - sig)
        shifted = rate + _SIGMOID_EPS
        return counts * torch.log(shifted) - rate, counts * drate / shifted - drate
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def weighted_glm_value_and_grad(counts, feats, W, b, weights, link):
    """Weighted Poisson log-likelihood of S GLMs and its gradients.

    Parameters
    ----------
    counts : (M, N); feats : (M, D); W : (S, N, D); b : (S or 1, N)
    weights : (M, S) per-bin state weights (posteriors), or None for S = 1 and unit weights.

    Returns
    -------
    value : scalar tensor ``sum_m sum_s w[m, s] sum_n (x log f - f)``
    grad_W : (S, N, D); grad_b : same shape as ``b``
    """
    n_bins, dim = feats.shape
    n_states, n_neurons = W.shape[0], W.shape[1]
    u = (feats @ W.reshape(n_states * n_neurons, dim).T).reshape(n_bins, n_states, n_neurons)
    u = u + b[None]
    ll, dll = poisson_log_prob_and_grad(counts[:, None, :], u, link)
    if weights is not None:
        ll = ll * weights[:, :, None]
        dll = dll * weights[:, :, None]
    # the value is accumulated in float64: in float32 the line search and the stopping
    # test would otherwise compare sums whose rounding exceeds their differences
    value = ll.sum() if ll.dtype == torch.float64 else ll.sum(dtype=torch.float64)
    grad_W = (dll.reshape(n_bins, n_states * n_neurons).T @ feats).reshape(n_states, n_neurons, dim)
    grad_b = dll.sum(0)
    if b.shape[0] == 1:
        grad_b = grad_b.sum(0, keepdim=True)
    return value, grad_W, grad_b


def state_subsets(counts, feats, weights, threshold=1e-10):
    """Per state, the bins whose posterior weight exceeds ``threshold``.

    With well-separated states most posteriors are ~0, so the M-step only has to
    visit about ``M`` bins in total instead of ``M * S``. Bins below the threshold
    change the objective by less than ``threshold`` times their log-likelihood.
    """
    subsets = []
    for s in range(weights.shape[1]):
        keep = weights[:, s] > threshold
        subsets.append((counts[keep], feats[keep], weights[keep, s]))
    return subsets


def _value_and_grad_(counts, u, link):
    """``sum_m (counts log f - f)`` per neuron-bin, and its ``u`` derivative, overwriting ``u``."""
    if link == "sigmoid":
        sig = torch.sigmoid_(u)
        drate = sig.mul(1.0 - sig).mul_(1.0 - _SIGMOID_EPS)
        rate = sig.mul_(1.0 - _SIGMOID_EPS).add_(_SIGMOID_EPS)
        shifted = rate + _SIGMOID_EPS
        grad = counts.div(shifted).sub_(1.0).mul_(drate)
        return torch.log_(shifted).mul_(counts).sub_(rate), grad
    return poisson_log_prob_and_grad(counts, u, link)


def subset_glm_value_and_grad(subsets, W, b, link, with_value=True):
    """Same as :func:`weighted_glm_value_and_grad`, looping over states on their own bins.

    ``with_value=False`` skips the log-likelihood itself (no logarithm; gradient-only
    steps such as Adam) and returns None in its place.
    """
    # float64 accumulation of the value (see weighted_glm_value_and_grad)
    value = torch.zeros((), dtype=torch.float64, device=W.device) if with_value else None
    grad_W = torch.zeros_like(W)
    grad_b = torch.zeros_like(b)
    shared = b.shape[0] == 1
    for s, (counts, feats, w) in enumerate(subsets):
        if counts.shape[0] == 0:
            continue
        bias = b[0] if shared else b[s]
        u = torch.addmm(bias, feats, W[s].T)
        if with_value:
            ll, dll = _value_and_grad_(counts, u, link)
            value = value + (w @ ll if ll.dtype == torch.float64
                             else w.to(torch.float64) @ ll.to(torch.float64)).sum()
        else:
            dll = poisson_grad_(counts, u, link)
        dll = dll.mul_(w[:, None])
        grad_W[s] = dll.T @ feats
        grad_b[0 if shared else s] += dll.sum(0)
    return value, grad_W, grad_b


def poisson_log_prob_sum_(counts: torch.Tensor, u: torch.Tensor, link: str) -> torch.Tensor:
    """``sum_n (counts * log f(u) - f(u))`` over the last axis, overwriting ``u``.

    In-place variant of :func:`poisson_log_prob` for the E-step (no gradients, no
    factorial term); it saves the temporaries of the elementwise chain.
    """
    if link == "exp":
        log_rate = u
        rate = torch.exp(u)
    elif link == "softplus":
        rate = torch.nn.functional.softplus(u)
        log_rate = torch.where(u < -30.0, u, torch.log(rate.clamp_min(1e-300)))
    elif link == "sigmoid":
        rate = torch.sigmoid_(u).mul_(1.0 - _SIGMOID_EPS).add_(_SIGMOID_EPS)
        log_rate = torch.log(rate + _SIGMOID_EPS)
    else:
        raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")
    return log_rate.mul_(counts).sub_(rate).sum(-1)


def fisher_weight(u: torch.Tensor, link: str) -> torch.Tensor:
    """Expected Fisher information of a Poisson count in ``u``: ``f'(u)^2 / f(u)``."""
    if link == "exp":
        return torch.exp(u)
    if link == "softplus":
        sig = torch.sigmoid(u)
        return sig * sig / torch.nn.functional.softplus(u).clamp_min(1e-300)
    if link == "sigmoid":
        sig = torch.sigmoid(u)
        drate = (1.0 - _SIGMOID_EPS) * sig * (1.0 - sig)
        return drate * drate / ((1.0 - _SIGMOID_EPS) * sig + _SIGMOID_EPS)
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def subset_glm_fisher(subsets, W, b, link):
    """Fisher information of every row ``W[s, n, :]``: shape (S, N, D, D).

    ``I[s, n] = sum_m w[m, s] f'(u)^2 / f(u) h_m h_m^T`` on the state's bins, the
    expected (and, for the canonical ``exp`` link, the observed) negative Hessian
    of the weighted log-likelihood in that row.
    """
    n_states, n_neurons, dim = W.shape
    out = torch.zeros(n_states, n_neurons, dim, dim, dtype=W.dtype, device=W.device)
    shared = b.shape[0] == 1
    for s, (counts, feats, w) in enumerate(subsets):
        if counts.shape[0] == 0:
            continue
        bias = b[0] if shared else b[s]
        info = fisher_weight(feats @ W[s].T + bias, link) * w[:, None]  # (M, N)
        for n in range(n_neurons):
            out[s, n] = (feats * info[:, n:n + 1]).T @ feats
    return out


def poisson_grad_(counts: torch.Tensor, u: torch.Tensor, link: str) -> torch.Tensor:
    """Derivative of ``counts * log f(u) - f(u)`` in ``u`` only, overwriting ``u``.

    The gradient-only steps (Adam) need no logarithm; in-place to save temporaries.
    """
    if link == "exp":
        return torch.exp_(u).neg_().add_(counts)
    if link == "softplus":
        rate = torch.nn.functional.softplus(u)
        sig = torch.sigmoid_(u)
        return counts.div(rate.clamp_min_(1e-300)).sub_(1.0).mul_(sig)
    if link == "sigmoid":
        sig = torch.sigmoid_(u)
        drate = sig.mul(1.0 - sig).mul_(1.0 - _SIGMOID_EPS)
        shifted = sig.mul_(1.0 - _SIGMOID_EPS).add_(2.0 * _SIGMOID_EPS)
        return counts.div(shifted).sub_(1.0).mul_(drate)
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def subset_glm_grad(subsets, W, b, link):
    """Gradients of :func:`subset_glm_value_and_grad` without the value (no logarithm)."""
    _, grad_W, grad_b = subset_glm_value_and_grad(subsets, W, b, link, with_value=False)
    return grad_W, grad_b
