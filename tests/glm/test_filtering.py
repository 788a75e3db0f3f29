"""Filtered and predicted HMM state probabilities against enumeration and a plain numpy loop."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.glm import (
    filtered_probabilities,
    forward_backward,
    log_marginal_likelihood,
    predicted_probabilities,
)
from neurodyn.glm._filtering import _forward_messages_log

_BOTH = [filtered_probabilities, predicted_probabilities]


def _random_problem(rng, n_trials, n_time, n_states, scale=2.0):
    log_em = rng.normal(size=(n_trials, n_time, n_states)) * scale
    A = rng.dirichlet(np.ones(n_states), size=n_states)
    pi = rng.dirichlet(np.ones(n_states))
    return log_em, np.log(A), np.log(pi)


def _enumerated_marginal(log_em, logA, logpi, n_bins, last):
    """p(z_last | x_0..n_bins-1) by summing over every state path of length last + 1."""
    n_states = logA.shape[0]
    marginal = np.full(n_states, -np.inf)
    for path in itertools.product(range(n_states), repeat=last + 1):
        lp = logpi[path[0]]
        for t in range(1, last + 1):
            lp += logA[path[t - 1], path[t]]
        for t in range(min(n_bins, last + 1)):
            lp += log_em[t, path[t]]
        marginal[path[-1]] = np.logaddexp(marginal[path[-1]], lp)
    return np.exp(marginal - np.logaddexp.reduce(marginal))


def _numpy_filter(log_em, A, pi):
    """Textbook forward filter of one trial, in probability space (no scaling tricks)."""
    em = np.exp(log_em)
    filtered, predicted = [], []
    pred = pi
    for t in range(len(em)):
        predicted.append(pred)
        joint = pred * em[t]
        filtered.append(joint / joint.sum())
        pred = filtered[-1] @ A
    return np.array(filtered), np.array(predicted)


def test_filtered_and_predicted_match_enumeration_with_masks():
    rng = np.random.default_rng(0)
    log_em, logA, logpi = _random_problem(rng, 3, 6, 3)
    lengths = [6, 4, 1]
    mask = np.arange(6)[None, :] < np.array(lengths)[:, None]
    filt = filtered_probabilities(log_em, logA, logpi, mask)
    pred = predicted_probabilities(log_em, logA, logpi, mask)
    assert isinstance(filt, np.ndarray) and filt.shape == (3, 6, 3)
    for b, n in enumerate(lengths):
        for t in range(n):
            np.testing.assert_allclose(filt[b, t], _enumerated_marginal(log_em[b], logA, logpi,
                                                                        t + 1, t), atol=1e-12)
            np.testing.assert_allclose(pred[b, t], _enumerated_marginal(log_em[b], logA, logpi,
                                                                        t, t), atol=1e-12)
        assert np.all(filt[b, n:] == 0) and np.all(pred[b, n:] == 0)


def test_equal_to_a_plain_numpy_forward_filter_on_random_problems():
    rng = np.random.default_rng(1)
    for n_states in (2, 4, 7):
        log_em, logA, logpi = _random_problem(rng, 2, 60, n_states)
        filt = filtered_probabilities(log_em, logA, logpi)
        pred = predicted_probabilities(log_em, logA, logpi)
        for b in range(2):
            f_ref, p_ref = _numpy_filter(log_em[b], np.exp(logA), np.exp(logpi))
            np.testing.assert_allclose(filt[b], f_ref, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(pred[b], p_ref, rtol=1e-10, atol=1e-13)


def test_consistent_with_forward_backward_and_the_likelihood():
    # filtered at the last bin is the smoothed posterior there; the predictive
    # likelihood sum_t log sum_s pred[t, s] e_t(s) is the marginal likelihood
    rng = np.random.default_rng(2)
    log_em, logA, logpi = _random_problem(rng, 2, 40, 3)
    mask = np.arange(40)[None, :] < np.array([40, 23])[:, None]
    filt = filtered_probabilities(log_em, logA, logpi, mask)
    pred = predicted_probabilities(log_em, logA, logpi, mask)
    _, post, _ = forward_backward(log_em, logA, logpi, mask)
    ll = log_marginal_likelihood(log_em, logA, logpi, mask)
    for b, n in enumerate([40, 23]):
        np.testing.assert_allclose(filt[b, n - 1], post[b, n - 1], atol=1e-12)
        np.testing.assert_allclose(pred[b, 1:n], filt[b, :n - 1] @ np.exp(logA), atol=1e-12)
        np.testing.assert_allclose(pred[b, 0], np.exp(logpi), atol=1e-15)
        pll = np.log(np.sum(pred[b, :n] * np.exp(log_em[b, :n]), axis=1)).sum()
        np.testing.assert_allclose(pll, ll[b], rtol=1e-12)


def test_torch_in_torch_out_and_the_caller_array_is_untouched():
    rng = np.random.default_rng(3)
    log_em, logA, logpi = _random_problem(rng, 2, 9, 3)
    keep = log_em.copy()
    for fn in _BOTH:
        out_np = fn(log_em, logA, logpi)
        out_t = fn(torch.as_tensor(log_em), torch.as_tensor(logA), torch.as_tensor(logpi))
        assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
        np.testing.assert_array_equal(out_t.numpy(), out_np)
    np.testing.assert_array_equal(log_em, keep)


def test_zero_transitions_fall_back_to_log_space_and_stay_exact():
    # a forbidden transition against an overwhelming emission underflows the scaled
    # recursion's normaliser (1e-300 * e^-900); the answer must still be the exact one
    log_em = np.array([[[0.0, -1.0], [-900.0, 0.0], [0.0, -1.0]]])
    logA = np.array([[0.0, -np.inf], [np.log(0.5), np.log(0.5)]])
    logpi = np.log(np.array([1.0 - 1e-300, 1e-300]))
    filt = filtered_probabilities(log_em, logA, logpi)
    pred = predicted_probabilities(log_em, logA, logpi)
    for t in range(3):
        np.testing.assert_allclose(filt[0, t], _enumerated_marginal(log_em[0], logA, logpi,
                                                                    t + 1, t), atol=1e-12)
        np.testing.assert_allclose(pred[0, t], _enumerated_marginal(log_em[0], logA, logpi, t, t),
                                   atol=1e-12)
    assert filt[0, 1, 1] == pytest.approx(1.0, abs=1e-12)  # state 1 explains bin 1


def test_long_strongly_informative_sequences_do_not_underflow():
    rng = np.random.default_rng(4)
    T = 20_000
    log_em = torch.as_tensor(rng.normal(-30.0, 5.0, size=(2, T, 3)))
    logA = torch.log(torch.tensor([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]],
                                  dtype=torch.float64))
    logpi = torch.log(torch.full((3,), 1 / 3, dtype=torch.float64))
    filt = filtered_probabilities(log_em, logA, logpi)
    pred = predicted_probabilities(log_em, logA, logpi)
    assert torch.isfinite(filt).all() and torch.isfinite(pred).all()
    np.testing.assert_allclose(filt.sum(-1).numpy(), 1.0, atol=1e-12)
    mask = torch.ones(2, T, dtype=torch.bool)
    _, f_log, p_log = _forward_messages_log(log_em, logA, logpi, mask)
    np.testing.assert_allclose(filt.numpy(), f_log.numpy(), atol=1e-10)
    np.testing.assert_allclose(pred.numpy(), p_log.numpy(), atol=1e-10)


def test_float32_gives_the_float64_answer():
    log_em, logA, logpi = _random_problem(np.random.default_rng(5), 2, 300, 3)
    for fn in _BOTH:
        out64 = fn(log_em, logA, logpi)
        out32 = fn(*(torch.as_tensor(a, dtype=torch.float32) for a in (log_em, logA, logpi)))
        assert out32.dtype == torch.float32
        np.testing.assert_allclose(out32.numpy(), out64, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), log_scale=st.sampled_from([-15, -5, 0, 5, 15]),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_per_bin_offsets_and_state_permutations_leave_the_beliefs_unchanged(seed, log_scale,
                                                                            dtype):
    # adding any constant to a bin's log-likelihoods (up to 1e15 in magnitude) changes
    # nothing: the answer on the offset input, rounded to the dtype, equals the float64
    # answer on that same rounded input brought back to zero offset; relabelling states
    # permutes the beliefs
    rng = np.random.default_rng(seed)
    log_em, logA, logpi = _random_problem(rng, 2, 30, 4)
    offset = rng.normal(size=(2, 30, 1)) * 10.0 ** log_scale
    rounded = torch.as_tensor(log_em + offset, dtype=dtype).double().numpy()
    perm = rng.permutation(4)
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    for fn in _BOTH:
        ref = fn(rounded - rounded.max(-1, keepdims=True), logA, logpi)
        shifted = fn(*(torch.as_tensor(a, dtype=dtype) for a in (rounded, logA, logpi))).numpy()
        assert np.isfinite(shifted).all()
        np.testing.assert_allclose(shifted, ref, atol=tol)
        ref = fn(log_em, logA, logpi)
        permuted = fn(log_em[..., perm], logA[np.ix_(perm, perm)], logpi[perm])
        np.testing.assert_allclose(permuted, ref[..., perm], atol=1e-12)


def test_padding_may_hold_anything():
    rng = np.random.default_rng(6)
    log_em, logA, logpi = _random_problem(rng, 2, 8, 3)
    mask = np.arange(8)[None, :] < np.array([8, 5])[:, None]
    dirty = log_em.copy()
    dirty[1, 5:] = np.nan
    dirty[1, 6, 1] = np.inf
    for fn in _BOTH:
        np.testing.assert_array_equal(fn(dirty, logA, logpi, mask), fn(log_em, logA, logpi, mask))
        np.testing.assert_array_equal(fn(log_em[1:, :5], logA, logpi),
                                      fn(log_em, logA, logpi, mask)[1:, :5])


def test_minus_inf_emissions_are_legitimate():
    rng = np.random.default_rng(7)
    log_em, logA, logpi = _random_problem(rng, 1, 5, 3)
    log_em[0, 1, 0] = -np.inf
    log_em[0, 3, :2] = -np.inf
    filt = filtered_probabilities(log_em, logA, logpi)
    pred = predicted_probabilities(log_em, logA, logpi)
    np.testing.assert_array_equal(filt[0, 3], [0.0, 0.0, 1.0])
    for t in range(5):
        np.testing.assert_allclose(filt[0, t], _enumerated_marginal(log_em[0], logA, logpi,
                                                                    t + 1, t), atol=1e-12)
        np.testing.assert_allclose(pred[0, t], _enumerated_marginal(log_em[0], logA, logpi, t, t),
                                   atol=1e-12)


# ----------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("fn", _BOTH)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_plus_inf_emission_is_refused_with_its_index(fn, value):
    log_em, logA, logpi = _random_problem(np.random.default_rng(8), 2, 5, 3)
    log_em[1, 3, 2] = value
    with pytest.raises(ValueError, match=r"log_emission must hold log-likelihoods.*index \(1, 3, 2\)"):
        fn(log_em, logA, logpi)


@pytest.mark.parametrize("fn", _BOTH)
@pytest.mark.parametrize("which,value,match", [
    ("A", np.log([[0.5, 0.6], [0.5, 0.5]]), r"log_transition must be the logarithm.*1\.1.*row 0"),
    ("A", np.log([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]), r"log_transition must have shape \(2, 2\)"),
    ("A", np.array([[np.nan, 0.0], [np.log(0.5), np.log(0.5)]]), "log_transition must hold log-prob"),
    ("pi", np.log([0.7, 0.7]), "log_initial must be the logarithm of probabilities summing to one"),
    ("pi", np.log([0.2, 0.3, 0.5]), r"log_initial must have shape \(2,\)"),
    ("em", np.zeros((4, 2)), "log_emission must be 3-D"),
    ("em", np.zeros((1, 3, 2), dtype=complex), "log_emission must be real"),
    ("mask", np.array([[True, False, True]]), "valid bin after an invalid one"),
    ("mask", np.ones((1, 4), dtype=bool), r"mask must have shape \(1, 3\)"),
])
def test_bad_arguments_are_named(fn, which, value, match):
    args = {"em": np.zeros((1, 3, 2)), "A": np.log(np.full((2, 2), 0.5)),
            "pi": np.log([0.5, 0.5]), "mask": None}
    args[which] = value
    with pytest.raises((ValueError, TypeError), match=match):
        fn(args["em"], args["A"], args["pi"], args["mask"])


@pytest.mark.parametrize("fn", _BOTH)
def test_data_impossible_under_the_model_are_refused(fn):
    # state 0 only at t=0, state 1 only at t=1, but 0 -> 1 is forbidden
    log_em = np.array([[[0.0, -np.inf], [-np.inf, 0.0], [0.0, 0.0]]])
    logA = np.array([[0.0, -np.inf], [np.log(0.5), np.log(0.5)]])
    logpi = np.log(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="probability zero"):
        fn(log_em, logA, logpi)
    with pytest.raises(ValueError, match="-inf for every state at trial 0, time index 3"):
        fn(np.concatenate([log_em, np.full((1, 1, 2), -np.inf)], axis=1), logA, logpi)


@pytest.mark.parametrize("fn", _BOTH)
def test_work_beyond_the_free_memory_is_refused_before_allocating(fn):
    # a broadcast view: 3e10 entries that take no memory until something is computed
    log_em = torch.zeros(1, 1, 1, dtype=torch.float64).expand(1000, 100_000, 300)
    logA = torch.log(torch.full((300, 300), 1 / 300, dtype=torch.float64))
    logpi = torch.log(torch.full((300,), 1 / 300, dtype=torch.float64))
    with pytest.raises(MemoryError, match="log_emission .* would need"):
        fn(log_em, logA, logpi)


def test_a_read_only_array_is_accepted_and_left_as_it_was():
    log_em, logA, logpi = _random_problem(np.random.default_rng(9), 1, 6, 3)
    frozen = log_em.copy()
    frozen.setflags(write=False)
    for fn in _BOTH:
        np.testing.assert_array_equal(fn(frozen, logA, logpi), fn(log_em, logA, logpi))
    np.testing.assert_array_equal(frozen, log_em)
