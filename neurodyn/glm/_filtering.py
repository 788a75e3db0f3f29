"""Filtered and one-step predicted state probabilities of a hidden Markov model.

The forward recursion of :mod:`neurodyn.glm._hmm` keeps normalised messages;
those messages are the *filtered* probabilities ``p(z_t | x_0..t)``, and the
message before each bin's emission is taken into account is the *predicted*
probability ``p(z_t | x_0..t-1)`` (``p(z_0) = initial``). The smoothed
probabilities ``p(z_t | x_0..T-1)`` are :func:`neurodyn.glm.forward_backward`'s
posterior. Inputs, layout, masks and checks are those of
:func:`~neurodyn.glm.forward_backward`.
"""

from __future__ import annotations

import torch

from ._hmm import _check_hmm_inputs, _check_possible, _default_mask, _tiny, _to_output

__all__ = ["filtered_probabilities", "predicted_probabilities"]


def _forward_messages(log_emission, log_transition, log_initial, mask=None):
    """Filtered and predicted probabilities of validated tensors.

    Scaled recursion (emissions shifted by their per-bin maximum, each message
    renormalised); should a normaliser underflow, the whole pass is redone with
    ``logsumexp`` recursions.

    Returns
    -------
    log_likelihood : Tensor (B,), float64
    filtered, predicted : Tensor (B, T, S)
        Zero on padded bins.
    """
    mask = _default_mask(log_emission, mask)
    n_trials, n_time, n_states = log_emission.shape
    emission = torch.exp(log_emission - log_emission.amax(-1, keepdim=True))
    A = torch.exp(log_transition)
    filtered = torch.empty_like(log_emission)
    predicted = torch.empty_like(log_emission)
    norms = torch.empty(n_trials, n_time, dtype=log_emission.dtype, device=log_emission.device)
    pred = torch.exp(log_initial)[None].expand(n_trials, n_states)
    # Sequential recursion over time (each step depends on the previous one); bins
    # after a trial's end are padding, computed on zeroed emissions and masked out.
    for t in range(n_time):
        predicted[:, t] = pred
        p = pred * emission[:, t]
        c = p.sum(1, keepdim=True)
        filt = p / c
        filtered[:, t] = filt
        norms[:, t] = c[:, 0]
        if t + 1 < n_time:
            pred = torch.mm(filt, A)
            # rows of A sum to one only within 1e-5: keep the prediction a distribution
            pred = pred / pred.sum(1, keepdim=True)
    bad = (~torch.isfinite(norms) | (norms <= _tiny(log_emission.dtype))) & mask
    if bool(bad.any()):
        return _forward_messages_log(log_emission, log_transition, log_initial, mask)
    log_lik = ((torch.log(norms) + log_emission.amax(-1)).to(torch.float64) * mask).sum(1)
    keep = mask[..., None].to(log_emission.dtype)
    return log_lik, filtered * keep, predicted * keep


def _forward_messages_log(log_emission, log_transition, log_initial, mask):
    """:func:`_forward_messages` with every message in log space (``logsumexp``)."""
    n_trials, n_time, n_states = log_emission.shape
    log_filtered = torch.empty_like(log_emission)
    log_predicted = torch.empty_like(log_emission)
    log_lik = torch.zeros(n_trials, dtype=torch.float64, device=log_emission.device)
    log_pred = log_initial[None].expand(n_trials, n_states)
    zero = torch.zeros((), dtype=log_emission.dtype, device=log_emission.device)
    for t in range(n_time):
        log_predicted[:, t] = log_pred
        step = log_pred + log_emission[:, t]
        norm = torch.logsumexp(step, dim=1)
        # a -inf normaliser (impossible data) leaves -inf messages, not -inf - (-inf) = NaN
        log_filt = step - torch.where(torch.isfinite(norm), norm, zero)[:, None]
        log_filtered[:, t] = log_filt
        log_lik = log_lik + torch.where(mask[:, t], norm, zero).to(torch.float64)
        if t + 1 < n_time:
            log_pred = torch.logsumexp(log_filt[:, :, None] + log_transition[None], dim=1)
            total = torch.logsumexp(log_pred, dim=1, keepdim=True)
            log_pred = log_pred - torch.where(torch.isfinite(total), total, zero)
    keep = mask[..., None].to(log_emission.dtype)
    return log_lik, torch.exp(log_filtered) * keep, torch.exp(log_predicted) * keep


def _state_probabilities(log_emission, log_transition, log_initial, mask, which):
    em, A, pi, mask, as_numpy = _check_hmm_inputs(
        log_emission, log_transition, log_initial, mask,
        # shifted emissions, both message arrays and the normalisers
        lambda b, t, s: 4.0 * b * t * s + b * t, f"{which} state probabilities")
    log_lik, filtered, predicted = _forward_messages(em, A, pi, mask)
    _check_possible(log_lik, f"the {which} probabilities are")
    out = filtered if which == "filtered" else predicted
    return _to_output((out,), as_numpy)[0]


def filtered_probabilities(log_emission, log_transition, log_initial, mask=None):
    """Filtered state probabilities ``p(z_t | x_0, ..., x_t)`` of a hidden Markov model.

    The normalised forward messages: the belief about the state at bin ``t``
    given the observations up to and including ``t`` (causal, online decoding).
    The last bin's filtered probabilities equal the smoothed posterior of
    :func:`forward_backward` there.

    Parameters
    ----------
    log_emission : Tensor or array (B, T, S)
        Per-bin log-likelihood of each state: finite or ``-inf`` (an impossible
        state), never NaN or ``+inf``, and not ``-inf`` for every state of a valid bin.
    log_transition : Tensor or array (S, S)
        ``log A[i, j] = log p(z_t = j | z_{t-1} = i)``; every row of ``A`` sums to one
        (within 1e-5).
    log_initial : Tensor or array (S,)
        Log probabilities of the first bin's state, summing to one (within 1e-5).
    mask : bool Tensor or array (B, T), or None
        True on valid bins; valid bins first (at least one per trial), padding at
        the end of a trial.

    Returns
    -------
    filtered : Tensor or ndarray (B, T, S)
        ``p(z_t | x_0..t)``, rows summing to one; zero on padded bins. A float64
        numpy array for numpy (array-like) input; a tensor in the emission's dtype
        (float32 or float64; other dtypes become float64) for tensor input.

    Raises
    ------
    ValueError
        For the inputs :func:`forward_backward` refuses, and when a trial's
        observations have probability zero under the model (the filtered
        probabilities are then undefined).

    See Also
    --------
    predicted_probabilities : ``p(z_t | x_0..t-1)``.
    forward_backward : smoothed probabilities ``p(z_t | x_0..T-1)``.

    References
    ----------
    L. R. Rabiner. A tutorial on hidden Markov models and selected applications
    in speech recognition. Proc. IEEE 77(2), 257-286 (1989).
    """
    return _state_probabilities(log_emission, log_transition, log_initial, mask, "filtered")


def predicted_probabilities(log_emission, log_transition, log_initial, mask=None):
    """One-step predicted state probabilities ``p(z_t | x_0, ..., x_{t-1})``.

    The belief about the state at bin ``t`` before its observation is seen: the
    initial distribution at ``t = 0``, then the previous bin's filtered
    probabilities propagated through the transition matrix,
    ``predicted[t] = filtered[t - 1] @ A``.

    Parameters
    ----------
    log_emission, log_transition, log_initial, mask
        As in :func:`filtered_probabilities` (checked the same way; the last valid
        bin's emission does not enter the result but is still checked).

    Returns
    -------
    predicted : Tensor or ndarray (B, T, S)
        ``p(z_t | x_0..t-1)``, rows summing to one; zero on padded bins; numpy or
        tensor, and dtype, as in :func:`filtered_probabilities`.

    Raises
    ------
    ValueError
        As :func:`filtered_probabilities`.

    See Also
    --------
    filtered_probabilities : ``p(z_t | x_0..t)``.
    forward_backward : smoothed probabilities ``p(z_t | x_0..T-1)``.

    References
    ----------
    L. R. Rabiner. A tutorial on hidden Markov models and selected applications
    in speech recognition. Proc. IEEE 77(2), 257-286 (1989).
    """
    return _state_probabilities(log_emission, log_transition, log_initial, mask, "predicted")
