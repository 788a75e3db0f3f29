"""HMM inference and GLM fits at extreme scales, under permutations, and in float32.

References are a brute-force enumeration of all state paths in numpy float64 and
the float64 fits. Stated tolerances: float64 within 1e-9 of the enumeration at
emission scales 1e-15 ... 1e15; float32 posteriors within 1e-4 of float64 and
log-likelihoods within 1e-6 of the summed per-bin emission magnitudes.
"""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import (
    PoissonGLM,
    forward_backward,
    forward_backward_scan,
    log_marginal_likelihood,
    viterbi,
)

FAST = settings(max_examples=15, deadline=None, derandomize=True)


def _enumerate(log_em, logA, logpi):
    """Log-likelihood, posteriors and best path of one trial by listing every path."""
    T, S = log_em.shape
    paths = np.array(list(itertools.product(range(S), repeat=T)))
    logp = logpi[paths[:, 0]] + log_em[0, paths[:, 0]]
    for t in range(1, T):
        logp = logp + logA[paths[:, t - 1], paths[:, t]] + log_em[t, paths[:, t]]
    ll = np.logaddexp.reduce(logp)
    w = np.exp(logp - ll)
    post = np.zeros((T, S))
    for t in range(T):
        np.add.at(post[t], paths[:, t], w)
    return ll, post, paths[np.argmax(logp)]


def _problem(seed, scale, T=5, S=3):
    rng = np.random.default_rng(seed)
    log_em = rng.normal(size=(1, T, S)) * scale
    A = rng.dirichlet(np.ones(S), size=S)
    pi = rng.dirichlet(np.ones(S))
    return log_em, np.log(A), np.log(pi)


@FAST
@given(seed=st.integers(0, 10_000), exponent=st.integers(-15, 15))
def test_hmm_inference_matches_enumeration_at_any_emission_scale(seed, exponent):
    log_em, logA, logpi = _problem(seed, 10.0 ** exponent)
    ll_ref, post_ref, path_ref = _enumerate(log_em[0], logA, logpi)
    for fb in (forward_backward, forward_backward_scan,
               lambda *a: forward_backward(*a, method="log")):
        ll, post, _ = fb(log_em, logA, logpi)
        np.testing.assert_allclose(ll[0], ll_ref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(post[0], post_ref, atol=1e-9)
    np.testing.assert_allclose(log_marginal_likelihood(log_em, logA, logpi)[0], ll_ref,
                               rtol=1e-9, atol=1e-12)
    path, _ = viterbi(log_em, logA, logpi)
    ties = np.isclose(np.sort(post_ref, 1)[:, -1], np.sort(post_ref, 1)[:, -2])
    if not ties.any():
        np.testing.assert_array_equal(path[0], path_ref)


@FAST
@given(seed=st.integers(0, 10_000), offset_bits=st.integers(0, 40))
def test_per_bin_offsets_shift_the_log_likelihood_only(seed, offset_bits):
    # emissions on a 1/8 grid and integer offsets: the shifted input is exact in float64
    rng = np.random.default_rng(seed)
    log_em = np.round(rng.normal(size=(2, 30, 3)) * 8) / 8
    A = rng.dirichlet(np.ones(3) * 2, size=3)
    pi = rng.dirichlet(np.ones(3))
    offsets = np.floor(rng.uniform(-1, 1, size=(2, 30, 1)) * 2.0 ** offset_bits)
    ll0, post0, tr0 = forward_backward(log_em, np.log(A), np.log(pi))
    for fb in (forward_backward, forward_backward_scan):
        ll, post, tr = fb(log_em + offsets, np.log(A), np.log(pi))
        # the log-likelihood carries the rounding of a sum of magnitude sum|offsets|
        atol = 1e-9 + 1e-14 * np.abs(offsets).sum()
        np.testing.assert_allclose(ll - offsets.sum((1, 2)), ll0, rtol=1e-9, atol=atol)
        np.testing.assert_allclose(post, post0, atol=1e-9)
        np.testing.assert_allclose(tr, tr0, rtol=1e-9, atol=1e-9)


@FAST
@given(seed=st.integers(0, 10_000), exponent=st.integers(-15, 15))
def test_hmm_float32_gives_the_float64_answer(seed, exponent):
    rng = np.random.default_rng(seed)
    log_em = torch.as_tensor(rng.normal(size=(2, 200, 3)) * 10.0 ** exponent)
    logA = torch.log(torch.as_tensor(rng.dirichlet(np.ones(3) * 3, size=3)))
    logpi = torch.log(torch.as_tensor(rng.dirichlet(np.ones(3))))
    ll64, post64, tr64 = forward_backward(log_em, logA, logpi)
    ll32, post32, tr32 = forward_backward(log_em.float(), logA.float(), logpi.float())
    # casting the input to float32 already moves each bin's log-likelihood by ~6e-8 of
    # its magnitude: the stated tolerance is 1e-6 of the summed per-bin magnitudes
    magnitude = (log_em.abs().amax(-1) + 1.0).sum(1).numpy()
    assert np.all(np.abs(ll32.numpy() - ll64.numpy()) <= 1e-6 * magnitude)
    np.testing.assert_allclose(post32.numpy(), post64.numpy(), atol=1e-4)
    np.testing.assert_allclose(tr32.numpy(), tr64.numpy(), rtol=1e-4, atol=1e-3)


@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 1000))
def test_poisson_glm_is_equivariant_to_a_permutation_of_neurons(seed):
    data = hmm_glm(n_neurons=4, n_states=1, n_timepoints=500, n_trials=2, random_state=seed % 7)
    perm = np.random.default_rng(seed).permutation(4)
    m = PoissonGLM(link="exp", alpha=0.01, device="cpu").fit(data.counts)
    mp = PoissonGLM(link="exp", alpha=0.01, device="cpu").fit(data.counts[..., perm])
    np.testing.assert_allclose(mp.coupling_, m.coupling_[np.ix_(perm, perm)], atol=1e-6)
    np.testing.assert_allclose(mp.intercept_, m.intercept_[perm], atol=1e-6)
    assert mp.score(data.counts[..., perm]) == pytest.approx(m.score(data.counts), rel=1e-10)
