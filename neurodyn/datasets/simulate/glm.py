"""Simulators for neurodyn.glm: switching coupled Poisson GLMs with known states and couplings."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..._torch import check_random_state
from ..._validation import (
    check_allocation,
    check_in,
    check_positive_int,
    check_probability,
    check_scalar,
)

__all__ = ["hmm_glm"]


def _exp_kernel(decay: float, n_lags: int, time_span: float) -> np.ndarray:
    dt = time_span / n_lags
    k = np.exp(-decay * dt * np.arange(1, n_lags + 1))
    return k / (dt * k.sum())


def hmm_glm(n_neurons: int = 20, n_states: int = 5, n_timepoints: int = 2000,
            n_trials: int = 50, n_lags: int = 5, decay: float = 1.0,
            sparsity: float = 0.2, p_excitatory: float = 0.5, concentration: float = 2.0,
            stay_prob: float = 0.98, bias_scale: float = 0.1, link: str = "sigmoid",
            initial_state: str = "row0", random_state=None) -> Bunch:
    """Spike counts from a hidden-Markov switching coupled Poisson GLM (the paper's generator).

    Per edge, a global class prior ``p_bar ~ Dirichlet(concentration *
    [sparsity (1 - p_excitatory), 1 - sparsity, sparsity p_excitatory])`` over
    [inhibitory, none, excitatory] (defaults: Dir(0.2, 1.6, 0.2)); per state and
    edge (diagonal included) a class drawn from ``p_bar`` and a strength
    ``log(1 + 3 u)``, ``u ~ U(0, 1)``; one bias per neuron ``bias_scale (u - 0.5)``
    shared by all states; transition matrix with ``stay_prob`` on the diagonal and
    the rest spread evenly. The history is the normalised exponential kernel
    over ``n_lags`` bins, the link the capped sigmoid (rate at most 1 per bin).

    Parameters
    ----------
    n_neurons, n_states, n_timepoints, n_trials, n_lags : int
    decay : float
        Decay of the exponential history kernel (per lag), >= 0 (0 gives a flat kernel).
    sparsity : float
        Expected fraction of present edges under the prior.
    p_excitatory : float
        Fraction of present edges that are excitatory.
    concentration : float
        Total Dirichlet concentration of the per-edge class prior.
    stay_prob : float
        Self-transition probability.
    bias_scale : float
    link : {"sigmoid", "softplus", "exp"}
        ``"sigmoid"`` = the paper's capped sigmoid.
    initial_state : {"row0", "uniform"}
        ``"row0"`` reproduces the paper's generator, whose first state is drawn
        from row 0 of the transition matrix (so it is almost always state 0).
    random_state : None, int or numpy Generator

    Returns
    -------
    sklearn.utils.Bunch with
        counts : ndarray of int64 (n_trials, n_timepoints, n_neurons)
        states : ndarray of int64 (n_trials, n_timepoints)
        coupling : ndarray (n_states, n_neurons, n_neurons), ``[state, post, pre]``
        adjacency : ndarray of int (n_states, n_neurons, n_neurons) in {-1, 0, +1}
        adjacency_prior : ndarray (n_neurons, n_neurons, 3)
        prior_mode : ndarray of int (n_neurons, n_neurons) in {-1, 0, +1}
        bias : ndarray (n_neurons,)
        transition_matrix : ndarray (n_states, n_states)
        basis : ndarray (1, n_lags)

    References
    ----------
    C. Li, S. H. Kim, C. Rodgers, H. Choi, A. Wu. One-hot Generalized Linear Model
    for Switching Brain State Discovery. ICLR 2024.
    """
    for name, value in (("n_neurons", n_neurons), ("n_states", n_states),
                        ("n_timepoints", n_timepoints), ("n_trials", n_trials), ("n_lags", n_lags)):
        check_positive_int(value, name)
    check_in(link, "link", ("sigmoid", "softplus", "exp"))
    check_in(initial_state, "initial_state", ("row0", "uniform"))
    decay = check_scalar(decay, "decay", low=0.0)  # 0: a flat history kernel
    sparsity = check_probability(sparsity, "sparsity", allow_zero=False, allow_one=False)
    p_excitatory = check_probability(p_excitatory, "p_excitatory")
    concentration = check_scalar(concentration, "concentration", low=0.0, low_inclusive=False)
    stay_prob = check_probability(stay_prob, "stay_prob")
    bias_scale = check_scalar(bias_scale, "bias_scale", low=0.0)
    check_allocation(float(n_trials) * (n_timepoints + n_lags) * n_neurons * 2, "n_trials, n_timepoints and n_neurons",
                     what="spike counts and states")
    rng = check_random_state(random_state)
    N, S = n_neurons, n_states

    conc = concentration * np.array([sparsity * (1 - p_excitatory), 1 - sparsity,
                                     sparsity * p_excitatory])
    conc = np.maximum(conc, 1e-6)
    prior = rng.dirichlet(conc, size=(N, N))                       # (N, N, 3)
    cdf = np.cumsum(prior, -1)
    u = rng.random((S, N, N, 1))
    classes = np.minimum((u > cdf[None]).sum(-1), 2)                # categorical draw
    adjacency = classes - 1
    strength = np.log1p(3.0 * rng.random((S, N, N)))
    coupling = adjacency * strength
    bias = bias_scale * (rng.random(N) - 0.5)
    if S == 1:
        A = np.ones((1, 1))
    else:
        A = np.full((S, S), (1.0 - stay_prob) / (S - 1))
        np.fill_diagonal(A, stay_prob)
    kernel = _exp_kernel(decay, n_lags, float(n_lags))

    counts = np.zeros((n_trials, n_timepoints + n_lags, N), dtype=np.int64)
    states = np.zeros((n_trials, n_timepoints), dtype=np.int64)
    trans_cdf = np.cumsum(A, 1)
    if initial_state == "row0":
        z = np.minimum((rng.random((n_trials, 1)) > trans_cdf[0][None]).sum(1), S - 1)
    else:
        z = rng.integers(0, S, n_trials)
    # the recurrence is nonlinear and sequential in time; vectorised over trials
    for t in range(n_timepoints):
        if t > 0:
            z = np.minimum((rng.random((n_trials, 1)) > trans_cdf[z]).sum(1), S - 1)
        states[:, t] = z
        window = counts[:, t:t + n_lags][:, ::-1]                   # lag 1 first
        h = np.einsum("l,bln->bn", kernel, window)
        drive = bias + np.einsum("bij,bj->bi", coupling[z], h)
        if link == "sigmoid":
            rate = (1 - 1e-8) / (1 + np.exp(-drive)) + 1e-8
        elif link == "softplus":
            rate = np.logaddexp(0.0, drive)
        else:
            rate = np.exp(drive)
        if not np.all(np.isfinite(rate)) or rate.max() > 1e12:  # only the "exp" link can overflow
            raise ValueError(f"link={link!r}: the firing rate overflows (up to {rate.max():.3g} spikes per "
                             f"bin at t={t}); use link='sigmoid' or 'softplus', or a smaller bias_scale")
        counts[:, t + n_lags] = rng.poisson(rate)
    mode = prior.argmax(-1) - 1
    return Bunch(counts=counts[:, n_lags:], states=states, coupling=coupling,
                 adjacency=adjacency.astype(int), adjacency_prior=prior, prior_mode=mode,
                 bias=bias, transition_matrix=A, basis=kernel[None, :])
