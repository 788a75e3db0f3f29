"""Class posteriors of coupling weights under a one-hot (spike-and-slab) prior.

Each weight ``w`` has a class ``c`` in {inhibitory, none, excitatory}: ``w = 0``
for "none", otherwise ``w = c * m`` with a half-normal magnitude ``m ~ |N(0, tau^2)|``.
Given a Gaussian approximation of the likelihood of ``w`` (mean ``mean_lik``,
variance ``var_lik``, from the Laplace approximation of the state's GLM), the
evidence of each class has a closed form, and with class prior ``p_bar`` the
posterior class probabilities follow by Bayes' rule.

The Gaussian slab integrates the magnitude out, which charges a non-zero class
for its free magnitude (an Occam factor of about ``log(tau / sd)``): without it,
any non-zero estimate would favour a non-zero class.
"""

from __future__ import annotations

import math

import torch

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG2 = math.log(2.0)


def _log_normal(x, var):
    return -0.5 * x * x / var - 0.5 * torch.log(var) - _HALF_LOG_2PI


def _log_ndtr(x):
    return torch.special.log_ndtr(x)


def likelihood_from_posterior(mean_post, var_post, slab_var):
    """Undo a ``N(0, slab_var)`` ridge: Gaussian likelihood of ``w`` from its ridge posterior.

    ``1 / var_lik = 1 / var_post - 1 / slab_var`` and ``mean_lik / var_lik =
    mean_post / var_post``. Weights the data barely inform get a large (capped)
    likelihood variance.
    """
    prec = (1.0 / var_post - 1.0 / slab_var).clamp_min(1e-8 / slab_var)
    var_lik = 1.0 / prec
    return mean_post * var_lik / var_post, var_lik


def class_log_evidence(mean_lik, var_lik, slab_var):
    """Log evidence of the classes [inhibitory, none, excitatory], shape ``(..., 3)``.

    none: ``log N(0; mean_lik, var_lik)``; excitatory: ``log int_0^inf N(w; mean_lik,
    var_lik) 2 N(w; 0, slab_var) dw = log 2 + log N(mean_lik; 0, var_lik + slab_var)
    + log Phi(mu / s)`` with the slab posterior ``mu = mean_lik slab_var / (var_lik +
    slab_var)``, ``s^2 = var_lik slab_var / (var_lik + slab_var)``; inhibitory is
    the mirror image (``log Phi(-mu / s)``).
    """
    total = var_lik + slab_var
    mu = mean_lik * slab_var / total
    sd = torch.sqrt(var_lik * slab_var / total)
    slab = _LOG2 + _log_normal(mean_lik, total)
    none = _log_normal(mean_lik, var_lik)
    return torch.stack([slab + _log_ndtr(-mu / sd), none, slab + _log_ndtr(mu / sd)], dim=-1)


def conditional_magnitude(mean_lik, var_lik, slab_var):
    """Posterior mean of ``|w|`` given an excitatory and given an inhibitory class.

    The slab posterior is ``N(mu, s^2)`` truncated to one sign: ``E[w | w > 0] =
    mu + s phi(mu/s) / Phi(mu/s)`` and ``E[-w | w < 0] = -mu + s phi(mu/s) / Phi(-mu/s)``.
    Returns ``(exc, inh)``, both positive.
    """
    total = var_lik + slab_var
    mu = mean_lik * slab_var / total
    sd = torch.sqrt(var_lik * slab_var / total)
    a = mu / sd
    log_phi = -0.5 * a * a - _HALF_LOG_2PI
    exc = mu + sd * torch.exp(log_phi - _log_ndtr(a))
    inh = -mu + sd * torch.exp(log_phi - _log_ndtr(-a))
    return exc, inh


def class_posteriors(log_evidence, log_prior, concentration, n_iter=100, tol=1e-10):
    """Per-state class posteriors and the shared class prior ``p_bar``, jointly.

    Alternates ``q_s(c) ∝ p_bar(c) evidence_s(c)`` for every state ``s`` and the
    MAP update ``p_bar(c) = (sum_s q_s(c) + concentration) / (S + 3 concentration)``
    (a symmetric Dirichlet prior on ``p_bar``, ``concentration`` pseudo-counts per
    class) until ``p_bar`` stops moving.

    Parameters
    ----------
    log_evidence : tensor (S, ..., 3)
    log_prior : tensor (..., 3)
        Starting ``log p_bar``.
    concentration : float

    Returns
    -------
    log_q : tensor (S, ..., 3)
    log_p_bar : tensor (..., 3)
    """
    n_states = log_evidence.shape[0]
    log_p = log_prior
    for _ in range(n_iter):
        log_q = torch.log_softmax(log_evidence + log_p[None], dim=-1)
        p = (log_q.exp().sum(0) + concentration) / (n_states + 3.0 * concentration)
        new = torch.log(p)
        done = float((new - log_p).abs().max()) < tol
        log_p = new
        if done:
            break
    log_q = torch.log_softmax(log_evidence + log_p[None], dim=-1)
    return log_q, log_p
