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

import numpy as np
import torch

from .._validation import check_allocation, check_array, check_in, check_positive_int

__all__ = ["forward_backward", "forward_backward_scan", "viterbi", "log_marginal_likelihood"]

# rows of the transition matrix and the initial distribution must sum to one within this
_STOCHASTIC_ATOL = 1e-5


def _as_tensor(x, name, ndim, dims, dtype=None, device=None):
    """A real floating tensor from a tensor or array-like; complex, strings and objects refused."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor")
        if x.dim() != ndim:
            raise ValueError(f"{name} must be {ndim}-D {dims}; got shape {tuple(x.shape)}")
        if x.numel() == 0:
            raise ValueError(f"{name} is empty; got shape {tuple(x.shape)}")
        t = x.detach()
        if not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        arr = check_array(x, name, ndim=ndim, dims=dims, dtype=None)
        t = torch.as_tensor(np.asarray(arr, dtype=np.float64))
    if dtype is not None or device is not None:
        t = t.to(device=device if device is not None else t.device,
                 dtype=dtype if dtype is not None else t.dtype)
    return t


def _first_index(bad):
    return tuple(int(i) for i in torch.nonzero(bad)[0].tolist())


def _check_log_probabilities(t, name, axis_name):
    """Log-probabilities that normalise along the last axis: no NaN, no +Inf, logsumexp = 0."""
    bad = torch.isnan(t) | (t == float("inf"))
    if bool(bad.any()):
        raise ValueError(f"{name} must hold log-probabilities (finite or -inf); got NaN or +Inf "
                         f"at index {_first_index(bad)}")
    total = torch.exp(torch.logsumexp(t.to(torch.float64), dim=-1))
    worst = (total - 1.0).abs()
    if bool((worst > _STOCHASTIC_ATOL).any()):
        idx = int(torch.argmax(worst.reshape(-1)))
        where = f" (row {idx})" if t.dim() == 2 else ""
        raise ValueError(f"{name} must be the logarithm of probabilities summing to one over "
                         f"{axis_name} (tolerance {_STOCHASTIC_ATOL:g}); the sum is "
                         f"{float(total.reshape(-1)[idx]):.6g}{where}")


def _check_hmm_inputs(log_emission, log_transition, log_initial, mask, workspace=None,
                      what="HMM messages"):
    """Validate and convert the inputs of the public HMM functions.

    ``workspace(n_trials, n_time, n_states)`` gives the number of elements the
    computation allocates; it is refused (MemoryError) before any work when it
    exceeds the free memory (default: four arrays the size of the emissions).

    Returns the tensors (on the emission's device and dtype), the mask and whether
    the emission came as a non-tensor (so results go back as numpy arrays).
    """
    as_numpy = not isinstance(log_emission, torch.Tensor)
    em = _as_tensor(log_emission, "log_emission", 3, "(n_trials, n_timepoints, n_states) "
                    "(for one trial pass log_emission[None])")
    n_trials, n_time, n_states = em.shape
    dtype, device = em.dtype, em.device
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float64
    need = (workspace or (lambda b, t, s: 4.0 * b * t * s))(n_trials, n_time, n_states)
    check_allocation(need, "log_emission (n_trials x n_timepoints x n_states)",
                     itemsize=torch.finfo(dtype).bits // 8, what=what)
    em = em.to(dtype)
    A = _as_tensor(log_transition, "log_transition", 2, "(n_states, n_states)", dtype, device)
    if tuple(A.shape) != (n_states, n_states):
        raise ValueError(f"log_transition must have shape ({n_states}, {n_states}) to match the "
                         f"{n_states} states of log_emission; got {tuple(A.shape)}")
    pi = _as_tensor(log_initial, "log_initial", 1, "(n_states,)", dtype, device)
    if tuple(pi.shape) != (n_states,):
        raise ValueError(f"log_initial must have shape ({n_states},) to match the {n_states} "
                         f"states of log_emission; got {tuple(pi.shape)}")
    _check_log_probabilities(A, "log_transition", "each row (next states)")
    _check_log_probabilities(pi, "log_initial", "states")
    if mask is None:
        mask = torch.ones(n_trials, n_time, dtype=torch.bool, device=device)
    else:
        if isinstance(mask, torch.Tensor):
            m = mask.detach()
        else:
            m = torch.as_tensor(check_array(mask, "mask", ndim=2, dims="(n_trials, n_timepoints)",
                                            dtype=None))
        if tuple(m.shape) != (n_trials, n_time):
            raise ValueError(f"mask must have shape ({n_trials}, {n_time}) like the first two axes "
                             f"of log_emission; got {tuple(m.shape)}")
        if m.dtype != torch.bool:
            if m.is_complex() or bool(((m != 0) & (m != 1)).any()):
                raise ValueError("mask must be boolean (True on valid bins); got values other "
                                 "than 0 and 1")
            m = m != 0
        m = m.to(device)
        if not bool(m[:, 0].all()):
            raise ValueError(f"mask: every trial needs at least one valid bin, and valid bins "
                             f"come first; trial {int(torch.nonzero(~m[:, 0])[0])} starts with an "
                             f"invalid bin")
        if n_time > 1 and bool((m[:, 1:] & ~m[:, :-1]).any()):
            b = int(torch.nonzero((m[:, 1:] & ~m[:, :-1]).any(1))[0])
            raise ValueError(f"mask must mark each trial's valid bins first and its padding "
                             f"after them; trial {b} has a valid bin after an invalid one")
        mask = m
    bad = torch.isnan(em) | (em == float("inf"))
    padded = not bool(mask.all())
    if padded:  # padding may hold anything: it is never read
        bad = bad & mask[..., None]
    if bool(bad.any()):
        n_bad = int(bad.sum())
        raise ValueError(f"log_emission must hold log-likelihoods (finite or -inf); got {n_bad} "
                         f"NaN or +Inf values (first at index {_first_index(bad)})")
    impossible = (em == float("-inf")).all(-1) & mask
    if bool(impossible.any()):
        b, t = _first_index(impossible)
        raise ValueError(f"log_emission is -inf for every state at trial {b}, time index {t}: "
                         f"the observation is impossible under every state")
    if padded:
        em = torch.where(mask[..., None], em, torch.zeros((), dtype=dtype, device=device))
    return em, A, pi, mask, as_numpy


def _check_possible(log_lik, what):
    """Posteriors and paths are undefined when the data have probability zero."""
    impossible = ~torch.isfinite(log_lik)
    if bool(impossible.any()):
        b = int(torch.nonzero(impossible)[0])
        raise ValueError(f"the observations of trial {b} have probability zero under the given "
                         f"log_emission, log_transition and log_initial (log-likelihood -inf), so "
                         f"{what} undefined")


def _to_output(values, as_numpy):
    if not as_numpy:
        return values
    return tuple(v.detach().cpu().numpy() for v in values)


def _sum64(t, dim):
    """Sum along ``dim`` accumulated in float64 (the plain sum when ``t`` is float64)."""
    return t.sum(dim) if t.dtype == torch.float64 else t.sum(dim, dtype=torch.float64)


def _tiny(dtype):
    """Normaliser below which the scaled recursion is redone in log space."""
    return 1e-280 if dtype == torch.float64 else 1e-30


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
        ``log p(x_{0:T_b})`` per trial, accumulated in float64.
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
    norm = torch.logsumexp(alpha, dim=1)
    # log-likelihood accumulated in float64; a -inf normaliser (impossible data) leaves
    # the message at -inf instead of -inf - (-inf) = NaN
    log_lik = norm.to(torch.float64)
    alpha = alpha - torch.where(torch.isfinite(norm), norm, torch.zeros_like(norm))[:, None]
    log_alpha[:, 0] = alpha
    for t in range(1, n_time):
        step = torch.logsumexp(alpha[:, :, None] + log_transition[None], dim=1) + log_emission[:, t]
        norm = torch.logsumexp(step, dim=1)
        valid = mask[:, t]
        safe = torch.where(torch.isfinite(norm), norm, torch.zeros_like(norm))
        alpha = torch.where(valid[:, None], step - safe[:, None], alpha)
        log_lik = log_lik + torch.where(valid, norm, torch.zeros_like(norm)).to(torch.float64)
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


def _scaled_messages(emission, A, initial, mask, backward=True):
    """Scaled forward (and backward) messages of the recursion of :func:`forward_backward`.

    ``emission`` (B, T, S) holds ``exp(log_emission - max_s)``. Returns the
    normalised forward messages (B, T, S), their normalisers (B, T) and the
    normalised backward messages (B, T, S) (None when ``backward`` is False);
    padded bins carry the previous message unchanged.

    The recursion is sequential in time and each step is a tiny (B, S) x (S, S)
    product, so its cost is the per-operation overhead: on the CPU it runs on numpy
    views of the tensors (about a microsecond per operation, against several for
    torch), elsewhere in torch. Both do the same arithmetic.
    """
    n_trials, n_time, n_states = emission.shape
    full = bool(mask.all())
    if emission.device.type == "cpu":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # NaN norms caught by the caller
            return _scaled_messages_numpy(emission, A, initial, mask, backward, full)
    alphas = torch.empty_like(emission)
    norms = torch.empty(n_trials, n_time, dtype=emission.dtype, device=emission.device)
    alpha = initial[None] * emission[:, 0]
    c = alpha.sum(1, keepdim=True)
    alpha = alpha / c
    alphas[:, 0] = alpha
    norms[:, 0] = c[:, 0]
    valid = mask[:, :, None]
    for t in range(1, n_time):
        p = torch.mm(alpha, A).mul_(emission[:, t])
        c = p.sum(1, keepdim=True)
        alpha = p.div_(c) if full else torch.where(valid[:, t], p.div_(c), alpha)
        alphas[:, t] = alpha
        norms[:, t] = c[:, 0]
    betas = None
    if backward:
        betas = torch.ones_like(emission)
        beta = betas[:, -1]
        At = A.T
        for t in range(n_time - 2, -1, -1):
            q = torch.mm(emission[:, t + 1] * beta, At)
            q = q.div_(q.sum(1, keepdim=True))
            beta = q if full else torch.where(valid[:, t + 1], q, beta)
            betas[:, t] = beta
    return alphas, norms, betas


def _scaled_messages_numpy(emission, A, initial, mask, backward, full):
    """The CPU branch of :func:`_scaled_messages` on numpy views."""
    em = emission.detach().numpy()
    a_np, valid = A.detach().numpy(), mask.numpy()[:, :, None]
    n_time = em.shape[1]
    alphas = np.empty_like(em)
    norms = np.empty(em.shape[:2], dtype=em.dtype)
    alpha = initial.detach().numpy()[None] * em[:, 0]
    c = alpha.sum(1)
    alpha = alpha / c[:, None]
    alphas[:, 0], norms[:, 0] = alpha, c
    for t in range(1, n_time):
        p = alpha @ a_np
        p *= em[:, t]
        c = p.sum(1)
        p /= c[:, None]
        alpha = p if full else np.where(valid[:, t], p, alpha)
        alphas[:, t] = alpha
        norms[:, t] = c
    betas = None
    if backward:
        betas = np.ones_like(em)
        beta = betas[:, -1]
        at = np.ascontiguousarray(a_np.T)
        for t in range(n_time - 2, -1, -1):
            q = em[:, t + 1] * beta
            q = q @ at
            q /= q.sum(1)[:, None]
            beta = q if full else np.where(valid[:, t + 1], q, beta)
            betas[:, t] = beta
        betas = torch.from_numpy(betas)
    return torch.from_numpy(alphas), torch.from_numpy(norms), betas


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
    log_emission : Tensor or array (B, T, S)
        Per-bin log-likelihood of each state: finite or ``-inf`` (an impossible
        state), never NaN or ``+inf``, and not ``-inf`` for every state of a valid bin.
    log_transition : Tensor or array (S, S)
        ``log A[i, j] = log p(z_t = j | z_{t-1} = i)``; every row of ``A`` sums to one
        (within 1e-5).
    log_initial : Tensor or array (S,)
        Log initial probabilities, summing to one (within 1e-5).
    mask : bool Tensor or array (B, T), or None
        True on valid bins; valid bins first (at least one per trial), padding at
        the end of a trial.
    time_chunk : int
        Time steps whose pairwise posteriors are formed at once when the expected
        transition counts are summed (memory ``B * time_chunk * S^2``).
    method : {"auto", "log"}

    Returns
    -------
    Tensors for tensor input, numpy arrays for numpy (array-like) input; they are
    computed in the emission's dtype (float32 or float64; other inputs become float64),
    except the log-likelihood, which is accumulated over time and returned in float64.

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
    time_chunk = check_positive_int(time_chunk, "time_chunk")
    check_in(method, "method", ("auto", "log"))
    def workspace(n_trials, n_time, n_states):  # messages, posteriors, a chunk of pairs
        return (5.0 * n_trials * n_time * n_states
                + 2.0 * n_trials * min(time_chunk, n_time) * n_states ** 2)

    em, A, pi, mask, as_numpy = _check_hmm_inputs(log_emission, log_transition, log_initial, mask,
                                                  workspace, "forward-backward messages")
    out = _forward_backward(em, A, pi, mask, time_chunk, method)
    _check_possible(out[0], "the posteriors are")
    return _to_output(out, as_numpy)


def _forward_backward(log_emission, log_transition, log_initial, mask=None, time_chunk=1024,
                      method="auto"):
    """:func:`forward_backward` without input checks (inputs already validated tensors)."""
    if method == "log":
        return _forward_backward_log(log_emission, log_transition, log_initial, mask, time_chunk)
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    shift = log_emission.amax(-1, keepdim=True)
    emission = torch.exp(log_emission - shift)            # max over states is 1
    A = torch.exp(log_transition)
    mask_f = mask.to(log_emission.dtype)
    alphas, norms, betas = _scaled_messages(emission, A, torch.exp(log_initial), mask)
    tiny = _tiny(log_emission.dtype)
    bad = ~torch.isfinite(norms) | (norms <= tiny)
    if bool((bad & mask).any()) or not bool(torch.isfinite(betas).all()):
        return _forward_backward_log(log_emission, log_transition, log_initial, mask, time_chunk)
    # float64 accumulation over time: float32 sums of 1e4+ terms lose the EM's convergence test
    log_lik = _sum64((torch.log(norms) + shift[..., 0]) * mask_f, 1)
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
        if bool(((total <= tiny) & valid).any()):
            counts = _pair_counts(torch.log(alphas), log_emission + torch.log(betas),
                                  log_transition, mask, time_chunk)
            break
        counts = counts + (pair / total * valid).sum((0, 1))
    return log_lik, posterior, counts


def log_marginal_likelihood(log_emission, log_transition, log_initial, mask=None):
    """Forward algorithm only: ``log p(x)`` per trial, shape (B,).

    Scaled recursion with a ``logsumexp`` fallback, as in :func:`forward_backward`;
    the inputs are checked and converted as there (numpy in, numpy out). A trial
    that has probability zero under the model (possible only with ``-inf``
    entries) gets ``-inf``.
    """
    em, A, pi, mask, as_numpy = _check_hmm_inputs(log_emission, log_transition, log_initial, mask)
    return _to_output((_log_marginal_likelihood(em, A, pi, mask),), as_numpy)[0]


def _log_marginal_likelihood(log_emission, log_transition, log_initial, mask=None):
    """:func:`log_marginal_likelihood` without input checks."""
    mask = _default_mask(log_emission, mask)
    shift = log_emission.amax(-1, keepdim=True)
    emission = torch.exp(log_emission - shift)
    A = torch.exp(log_transition)
    mask_f = mask.to(log_emission.dtype)
    _, norms, _ = _scaled_messages(emission, A, torch.exp(log_initial), mask, backward=False)
    if bool(((~torch.isfinite(norms) | (norms <= _tiny(log_emission.dtype))) & mask).any()):
        # normalised logsumexp recursion, log-likelihood accumulated in float64
        alpha = log_initial[None, :] + log_emission[:, 0]
        norm = torch.logsumexp(alpha, dim=1)
        log_lik = norm.to(torch.float64)
        alpha = alpha - torch.where(torch.isfinite(norm), norm, torch.zeros_like(norm))[:, None]
        for t in range(1, log_emission.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + log_transition[None], dim=1) + log_emission[:, t]
            norm = torch.logsumexp(step, dim=1)
            safe = torch.where(torch.isfinite(norm), norm, torch.zeros_like(norm))
            alpha = torch.where(mask[:, t, None], step - safe[:, None], alpha)
            log_lik = log_lik + torch.where(mask[:, t], norm, torch.zeros_like(norm)).to(torch.float64)
        return log_lik
    return _sum64((torch.log(norms) + shift[..., 0]) * mask_f, 1)


def viterbi(log_emission, log_transition, log_initial, mask=None):
    """Most probable state path per trial (max-product in log space).

    Parameters
    ----------
    log_emission, log_transition, log_initial, mask
        As in :func:`forward_backward` (checked the same way).

    Returns
    -------
    path : LongTensor (B, T)
        Decoded states; ``-1`` on padded bins.
    log_prob : Tensor (B,)
        Joint log-probability of the decoded path and the data.

    Numpy arrays are returned for numpy (array-like) input.
    """
    em, A, pi, mask, as_numpy = _check_hmm_inputs(log_emission, log_transition, log_initial, mask)
    out = _viterbi(em, A, pi, mask)
    _check_possible(out[1], "the most probable path is")
    return _to_output(out, as_numpy)


def _viterbi(log_emission, log_transition, log_initial, mask=None):
    """:func:`viterbi` without input checks."""
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    if log_emission.device.type == "cpu":  # tiny steps: numpy's per-operation cost is lower
        em = log_emission.detach().numpy()
        log_a = log_transition.detach().numpy()
        valid = mask.numpy()
        full = bool(valid.all())
        score = log_initial.detach().numpy()[None, :] + em[:, 0]
        back_np = np.zeros((n_trials, n_time, n_states), dtype=np.int64)
        ident = np.broadcast_to(np.arange(n_states), (n_trials, n_states))
        rows = np.arange(n_trials)[:, None]
        for t in range(1, n_time):
            cand = score[:, :, None] + log_a[None]
            arg = cand.argmax(1)
            best = cand[rows, arg, np.arange(n_states)[None]]
            if full:
                score = best + em[:, t]
                back_np[:, t] = arg
            else:
                v = valid[:, t, None]
                score = np.where(v, best + em[:, t], score)
                back_np[:, t] = np.where(v, arg, ident)
        score = torch.from_numpy(np.ascontiguousarray(score))
        log_prob, state = score.max(dim=1)
        path_np = np.empty((n_trials, n_time), dtype=np.int64)
        st = state.numpy().copy()
        path_np[:, -1] = st
        for t in range(n_time - 1, 0, -1):
            st = back_np[np.arange(n_trials), t, st]
            path_np[:, t - 1] = st
        return torch.from_numpy(path_np).masked_fill(~mask, -1), log_prob
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

    Inputs are checked and converted as in :func:`forward_backward`.

    Forward messages are prefix products of the per-step matrices
    ``M_t[i, j] = log A[i, j] + log e_t(j)`` in the log semiring (identity on padded
    bins), backward messages the suffix products. Work is ``O(T log T S^3)``,
    depth ``O(log T)``: worthwhile on a GPU, not on a CPU.

    References
    ----------
    S. Sarkka, A. F. Garcia-Fernandez. Temporal parallelization of Bayesian
    smoothers. IEEE Trans. Automatic Control 66(1), 299-306 (2021).
    """
    em, A, pi, mask, as_numpy = _check_hmm_inputs(
        log_emission, log_transition, log_initial, mask,
        # several (B, T, S, S) arrays of per-step matrices and prefix products
        lambda b, t, s: 8.0 * b * t * s * s, "parallel-scan matrices")
    out = _forward_backward_scan(em, A, pi, mask)
    _check_possible(out[0], "the posteriors are")
    return _to_output(out, as_numpy)


def _forward_backward_scan(log_emission, log_transition, log_initial, mask=None):
    """:func:`forward_backward_scan` without input checks."""
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    # Shift each bin by its largest emission (exact: it adds a constant to the
    # log-likelihood only), so that the sums of the scan never meet +inf - inf.
    shift = log_emission.amax(-1, keepdim=True) * mask[..., None]
    log_emission = log_emission - shift
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
    # float64 like the sequential recursions (the scan itself runs in the input dtype)
    log_lik = log_lik.to(torch.float64) + _sum64(shift[..., 0], 1)
    return log_lik, posterior, counts
