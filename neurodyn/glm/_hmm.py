"""Hidden-Markov inference in log space, batched over trials and masked.

All functions take per-bin emission log-likelihoods ``log_emission`` of shape
``(n_trials, n_timepoints, n_states)`` and a boolean ``mask`` ``(n_trials,
n_timepoints)`` that is True on the valid bins of each trial (valid bins come
first; trials are padded at the end). Padded bins contribute nothing: the
forward message is carried through them unchanged.

The sequential recursions loop over time in Python (the recurrence is
sequential), vectorised over trials and states. :func:`forward_backward_scan`
computes the same messages with a parallel associative scan over time in the
log semiring (``O(log T)`` depth), for accelerators.
"""

from __future__ import annotations

import torch

__all__ = ["forward_backward", "forward_backward_scan", "viterbi", "log_marginal_likelihood"]


def _default_mask(log_emission, mask):
    if mask is None:
        return torch.ones(log_emission.shape[:2], dtype=torch.bool, device=log_emission.device)
    return mask


def _forward_backward_log(log_emission, log_transition, log_initial, mask=None, time_chunk=1024):
    """Forward-backward with every message in log space (``logsumexp`` recursions).

    Messages are kept normalised in log space (each forward and backward
    message has ``logsumexp = 0``; the log-normalisers sum to the
    log-likelihood), so posteriors stay exact to rounding even at 1e5+ bins.

    Parameters
    ----------
    log_emission : Tensor (B, T, S)
    log_transition : Tensor (S, S)
        ``log A[i, j] = log p(z_t = j | z_{t-1} = i)``.
    log_initial : Tensor (S,)
    mask : bool Tensor (B, T) or None
    time_chunk : int
        Number of time steps whose pairwise posteriors are formed at once when
        the expected transition counts are summed (memory ``B * time_chunk * S^2``).

    Returns
    -------
    log_likelihood : Tensor (B,)
        ``log p(x_{0:T_b})`` per trial.
    posterior : Tensor (B, T, S)
        ``p(z_t | x)``; zero on padded bins.
    transition_counts : Tensor (S, S)
        ``sum_b sum_t p(z_{t-1} = i, z_t = j | x)``, summed chunk by chunk over
        time (the (T, S, S) array of pairwise posteriors is never stored).

    References
    ----------
    L. R. Rabiner. A tutorial on hidden Markov models and selected applications
    in speech recognition. Proc. IEEE 77(2), 257-286 (1989).
    """
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    log_alpha = torch.empty_like(log_emission)
    # Sequential recursion over time (each step depends on the previous one).
    alpha = log_initial[None, :] + log_emission[:, 0]
    log_lik = torch.logsumexp(alpha, dim=1)
    alpha = alpha - log_lik[:, None]
    log_alpha[:, 0] = alpha
    for t in range(1, n_time):
        step = torch.logsumexp(alpha[:, :, None] + log_transition[None], dim=1) + log_emission[:, t]
        norm = torch.logsumexp(step, dim=1)
        valid = mask[:, t]
        alpha = torch.where(valid[:, None], step - norm[:, None], alpha)
        log_lik = log_lik + torch.where(valid, norm, torch.zeros_like(norm))
        log_alpha[:, t] = alpha

    log_beta = torch.zeros_like(log_emission)
    beta = torch.zeros_like(alpha)
    for t in range(n_time - 2, -1, -1):
        step = torch.logsumexp(log_transition[None] + (log_emission[:, t + 1] + beta)[:, None, :], dim=2)
        step = step - torch.logsumexp(step, dim=1, keepdim=True)
        beta = torch.where(mask[:, t + 1, None], step, beta)
        log_beta[:, t] = beta
    posterior = torch.softmax(log_alpha + log_beta, dim=-1) * mask[..., None]

    counts = _pair_counts(log_alpha, log_emission + log_beta, log_transition, mask, time_chunk)
    return log_lik, posterior, counts


def _pair_counts(log_alpha, nxt, log_transition, mask, time_chunk):
    n_states = log_transition.shape[0]
    n_time = log_alpha.shape[1]
    counts = torch.zeros(n_states, n_states, dtype=log_alpha.dtype, device=log_alpha.device)
    for start in range(0, n_time - 1, time_chunk):
        stop = min(start + time_chunk, n_time - 1)
        pair = (log_alpha[:, start:stop, :, None] + log_transition[None, None]
                + nxt[:, start + 1:stop + 1, None, :])
        pair = pair - torch.logsumexp(pair.flatten(-2), dim=-1)[..., None, None]
        counts = counts + (torch.exp(pair) * mask[:, start + 1:stop + 1, None, None]).sum((0, 1))
    return counts


def forward_backward(log_emission, log_transition, log_initial, mask=None, time_chunk=1024,
                     method="auto"):
    """Posterior state marginals and expected transition counts.

    The default recursion is the scaled one (Rabiner, 1989): emissions are
    shifted by their per-bin maximum over states before exponentiation, every
    forward and backward message is renormalised at each step, and the
    log-normalisers add up to the log-likelihood; no quantity ever holds a
    product over time. Should a normaliser underflow anyway (transition
    probabilities of exactly zero against overwhelming emissions), the call is
    redone with ``logsumexp`` recursions throughout (``method="log"``), which is
    also available directly.

    Parameters
    ----------
    log_emission : Tensor (B, T, S)
    log_transition : Tensor (S, S)
        ``log A[i, j] = log p(z_t = j | z_{t-1} = i)``.
    log_initial : Tensor (S,)
    mask : bool Tensor (B, T) or None
        True on valid bins; valid bins first, padding at the end of a trial.
    time_chunk : int
        Time steps whose pairwise posteriors are formed at once when the expected
        transition counts are summed (memory ``B * time_chunk * S^2``).
    method : {"auto", "log"}

    Returns
    -------
    log_likelihood : Tensor (B,)
        ``log p(x_{0:T_b})`` per trial.
    posterior : Tensor (B, T, S)
        ``p(z_t | x)``; zero on padded bins.
    transition_counts : Tensor (S, S)
        ``sum_b sum_t p(z_{t-1} = i, z_t = j | x)``, summed chunk by chunk over
        time (the (T, S, S) array of pairwise posteriors is never stored).

    References
    ----------
    L. R. Rabiner. A tutorial on hidden Markov models and selected applications
    in speech recognition. Proc. IEEE 77(2), 257-286 (1989).
    """
    if method == "log":
        return _forward_backward_log(log_emission, log_transition, log_initial, mask, time_chunk)
    if method != "auto":
        raise ValueError(f"method must be 'auto' or 'log'; got {method!r}")
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    shift = log_emission.amax(-1, keepdim=True)
    emission = torch.exp(log_emission - shift)            # max over states is 1
    A = torch.exp(log_transition)
    mask_f = mask.to(log_emission.dtype)
    alphas = torch.empty_like(log_emission)
    norms = torch.empty(n_trials, n_time, dtype=log_emission.dtype, device=log_emission.device)
    # Sequential recursion over time (each step depends on the previous one).
    alpha = torch.exp(log_initial)[None] * emission[:, 0]
    c = alpha.sum(1, keepdim=True)
    alpha = alpha / c
    alphas[:, 0] = alpha
    norms[:, 0] = c[:, 0]
    full = bool(mask.all())
    valid = mask[:, :, None]
    for t in range(1, n_time):
        p = torch.mm(alpha, A).mul_(emission[:, t])
        c = p.sum(1, keepdim=True)
        alpha = p.div_(c) if full else torch.where(valid[:, t], p.div_(c), alpha)
        alphas[:, t] = alpha
        norms[:, t] = c[:, 0]
    betas = torch.ones_like(log_emission)
    beta = betas[:, -1]
    At = A.T
    for t in range(n_time - 2, -1, -1):
        q = torch.mm(emission[:, t + 1] * beta, At)
        q = q.div_(q.sum(1, keepdim=True))
        beta = q if full else torch.where(valid[:, t + 1], q, beta)
        betas[:, t] = beta
    bad = ~torch.isfinite(norms) | (norms <= 1e-280)
    if bool((bad & mask).any()) or not bool(torch.isfinite(betas).all()):
        return _forward_backward_log(log_emission, log_transition, log_initial, mask, time_chunk)
    log_lik = ((torch.log(norms) + shift[..., 0]) * mask_f).sum(1)
    post = alphas * betas
    posterior = post / post.sum(-1, keepdim=True) * mask_f[..., None]
    # pairwise posteriors, normalised per step, in probability space (all factors <= 1)
    counts = torch.zeros(n_states, n_states, dtype=A.dtype, device=A.device)
    nxt = emission * betas
    for start in range(0, n_time - 1, time_chunk):
        stop = min(start + time_chunk, n_time - 1)
        pair = alphas[:, start:stop, :, None] * A * nxt[:, start + 1:stop + 1, None, :]
        total = pair.sum((-1, -2), keepdim=True)
        valid = mask[:, start + 1:stop + 1, None, None]
        if bool(((total <= 1e-280) & valid).any()):
            counts = _pair_counts(torch.log(alphas), log_emission + torch.log(betas),
                                  log_transition, mask, time_chunk)
            break
        counts = counts + (pair / total * valid).sum((0, 1))
    return log_lik, posterior, counts


def log_marginal_likelihood(log_emission, log_transition, log_initial, mask=None):
    """Forward algorithm only: ``log p(x)`` per trial, shape (B,).

    Scaled recursion with a ``logsumexp`` fallback, as in :func:`forward_backward`.
    """
    mask = _default_mask(log_emission, mask)
    shift = log_emission.amax(-1, keepdim=True)
    emission = torch.exp(log_emission - shift)
    A = torch.exp(log_transition)
    mask_f = mask.to(log_emission.dtype)
    alpha = torch.exp(log_initial)[None] * emission[:, 0]
    c = alpha.sum(1, keepdim=True)
    alpha = alpha / c
    norms = [c]
    full = bool(mask.all())
    valid = mask[:, :, None]
    for t in range(1, log_emission.shape[1]):
        p = torch.mm(alpha, A).mul_(emission[:, t])
        c = p.sum(1, keepdim=True)
        alpha = p.div_(c) if full else torch.where(valid[:, t], p.div_(c), alpha)
        norms.append(c)
    norms = torch.cat(norms, 1)
    if bool(((~torch.isfinite(norms) | (norms <= 1e-280)) & mask).any()):
        alpha = log_initial[None, :] + log_emission[:, 0]
        for t in range(1, log_emission.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + log_transition[None], dim=1) + log_emission[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha, dim=1)
    return ((torch.log(norms) + shift[..., 0]) * mask_f).sum(1)


def viterbi(log_emission, log_transition, log_initial, mask=None):
    """Most probable state path per trial (max-product in log space).

    Returns
    -------
    path : LongTensor (B, T)
        Decoded states; ``-1`` on padded bins.
    log_prob : Tensor (B,)
        Joint log-probability of the decoded path and the data.
    """
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    score = log_initial[None, :] + log_emission[:, 0]
    back = torch.zeros(n_trials, n_time, n_states, dtype=torch.long, device=log_emission.device)
    identity = torch.arange(n_states, device=log_emission.device).expand(n_trials, n_states)
    for t in range(1, n_time):
        cand = score[:, :, None] + log_transition[None]
        best, arg = cand.max(dim=1)
        valid = mask[:, t, None]
        score = torch.where(valid, best + log_emission[:, t], score)
        back[:, t] = torch.where(valid, arg, identity)
    log_prob, state = score.max(dim=1)
    path = torch.empty(n_trials, n_time, dtype=torch.long, device=log_emission.device)
    path[:, -1] = state
    for t in range(n_time - 1, 0, -1):
        state = back[:, t].gather(1, state[:, None])[:, 0]
        path[:, t - 1] = state
    return path.masked_fill(~mask, -1), log_prob


def _log_matmul(a, b):
    """Log-semiring product: ``out[..., i, j] = logsumexp_k a[..., i, k] + b[..., k, j]``."""
    return torch.logsumexp(a[..., :, :, None] + b[..., None, :, :], dim=-2)


def _prefix_scan(elems):
    """Inclusive prefix products ``e_0 (x) e_1 (x) ... (x) e_t`` along dim 1 (Hillis-Steele)."""
    out = elems
    n_time = elems.shape[1]
    offset = 1
    while offset < n_time:
        combined = _log_matmul(out[:, :-offset], out[:, offset:])
        out = torch.cat([out[:, :offset], combined], dim=1)
        offset *= 2
    return out


def forward_backward_scan(log_emission, log_transition, log_initial, mask=None):
    """Same outputs as :func:`forward_backward`, by parallel associative scans over time.

    Forward messages are prefix products of the per-step matrices
    ``M_t[i, j] = log A[i, j] + log e_t(j)`` in the log semiring (identity on padded
    bins), backward messages the suffix products. Work is ``O(T log T S^3)``,
    depth ``O(log T)``: worthwhile on a GPU, not on a CPU.

    References
    ----------
    S. Sarkka, A. F. Garcia-Fernandez. Temporal parallelization of Bayesian
    smoothers. IEEE Trans. Automatic Control 66(1), 299-306 (2021).
    """
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    dtype, device = log_emission.dtype, log_emission.device
    neg_inf = torch.tensor(float("-inf"), dtype=dtype, device=device)
    eye = torch.where(torch.eye(n_states, dtype=torch.bool, device=device),
                      torch.zeros((), dtype=dtype, device=device), neg_inf)
    step = log_transition[None, None] + log_emission[:, :, None, :]       # (B, T, S, S)
    first = (log_initial + log_emission[:, 0])[:, None, :].expand(n_trials, n_states, n_states)
    step = torch.cat([first[:, None], step[:, 1:]], dim=1)
    # the first element's rows are identical, so any row of the prefix is alpha_t
    step = torch.where(mask[:, :, None, None], step, eye)
    prefix = _prefix_scan(step)
    log_alpha = prefix[:, :, 0, :]
    log_lik = torch.logsumexp(log_alpha[:, -1], dim=-1)

    # backward: beta_t = N_{t+1} (x) ... (x) N_{T-1} (x) 1 with N_t[i, j] = log A[i, j] + e_t(j)
    back_step = torch.where(mask[:, :, None, None],
                            log_transition[None, None] + log_emission[:, :, None, :], eye)
    rev = back_step.flip(1).transpose(-1, -2)  # reversed order, transposed to use the prefix scan
    suffix = _prefix_scan(rev).flip(1).transpose(-1, -2)  # suffix[:, t] = N_t ... N_{T-1}
    ones = torch.zeros(n_trials, n_states, 1, dtype=dtype, device=device)
    beta_from = _log_matmul(suffix, ones[:, None].expand(n_trials, n_time, n_states, 1))[..., 0]
    log_beta = torch.cat([beta_from[:, 1:], torch.zeros(n_trials, 1, n_states, dtype=dtype,
                                                        device=device)], dim=1)
    posterior = torch.exp(log_alpha + log_beta - log_lik[:, None, None]) * mask[..., None]
    pair = (log_alpha[:, :-1, :, None] + log_transition[None, None]
            + (log_emission[:, 1:] + log_beta[:, 1:])[:, :, None, :] - log_lik[:, None, None, None])
    counts = (torch.exp(pair) * mask[:, 1:, None, None]).sum(dim=(0, 1))
    return log_lik, posterior, counts
