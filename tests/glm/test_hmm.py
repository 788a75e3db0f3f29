import itertools

import numpy as np
import pytest
import torch

from neurodyn.glm import forward_backward, forward_backward_scan, log_marginal_likelihood, viterbi


def _random_problem(rng, n_trials, n_time, n_states):
    log_em = torch.as_tensor(rng.normal(size=(n_trials, n_time, n_states)) * 2.0)
    A = rng.dirichlet(np.ones(n_states), size=n_states)
    pi = rng.dirichlet(np.ones(n_states))
    return log_em, torch.as_tensor(np.log(A)), torch.as_tensor(np.log(pi))


def _brute_force(log_em, logA, logpi, length):
    """Enumerate every state path of one trial: joint log-probabilities."""
    n_states = logA.shape[0]
    paths = list(itertools.product(range(n_states), repeat=length))
    logp = []
    for path in paths:
        lp = logpi[path[0]] + log_em[0, path[0]]
        for t in range(1, length):
            lp += logA[path[t - 1], path[t]] + log_em[t, path[t]]
        logp.append(lp)
    logp = np.array(logp)
    paths = np.array(paths)
    ll = np.logaddexp.reduce(logp)
    w = np.exp(logp - ll)
    post = np.zeros((length, n_states))
    trans = np.zeros((n_states, n_states))
    for p, wk in zip(paths, w, strict=True):
        post[np.arange(length), p] += wk
        for t in range(1, length):
            trans[p[t - 1], p[t]] += wk
    return ll, post, trans, paths[np.argmax(logp)], logp.max()


def _fb_log(*args):
    return forward_backward(*args, method="log")


@pytest.mark.parametrize("fb", [forward_backward, _fb_log, forward_backward_scan])
def test_forward_backward_matches_enumeration_with_masks(fb):
    rng = np.random.default_rng(0)
    log_em, logA, logpi = _random_problem(rng, 3, 6, 3)
    lengths = [6, 4, 1]
    mask = torch.arange(6)[None, :] < torch.tensor(lengths)[:, None]
    ll, post, trans = fb(log_em, logA, logpi, mask)
    trans_ref = np.zeros((3, 3))
    for b, n in enumerate(lengths):
        ll_ref, post_ref, tr_ref, _, _ = _brute_force(log_em[b].numpy(), logA.numpy(),
                                                      logpi.numpy(), n)
        np.testing.assert_allclose(ll[b].item(), ll_ref, rtol=1e-12)
        np.testing.assert_allclose(post[b, :n].numpy(), post_ref, atol=1e-12)
        assert torch.all(post[b, n:] == 0)
        trans_ref += tr_ref
    np.testing.assert_allclose(trans.numpy(), trans_ref, atol=1e-12)
    np.testing.assert_allclose(log_marginal_likelihood(log_em, logA, logpi, mask).numpy(),
                               ll.numpy(), rtol=1e-12)


def test_viterbi_matches_enumeration():
    rng = np.random.default_rng(1)
    log_em, logA, logpi = _random_problem(rng, 4, 7, 3)
    lengths = [7, 5, 3, 7]
    mask = torch.arange(7)[None, :] < torch.tensor(lengths)[:, None]
    path, logp = viterbi(log_em, logA, logpi, mask)
    for b, n in enumerate(lengths):
        _, _, _, best, best_lp = _brute_force(log_em[b].numpy(), logA.numpy(), logpi.numpy(), n)
        np.testing.assert_array_equal(path[b, :n].numpy(), best)
        assert torch.all(path[b, n:] == -1)
        np.testing.assert_allclose(logp[b].item(), best_lp, rtol=1e-12)


def test_scan_equals_sequential_on_long_masked_sequences():
    rng = np.random.default_rng(2)
    log_em, logA, logpi = _random_problem(rng, 3, 300, 4)
    mask = torch.arange(300)[None, :] < torch.tensor([300, 171, 64])[:, None]
    seq = forward_backward(log_em, logA, logpi, mask)
    par = forward_backward_scan(log_em, logA, logpi, mask)
    for a, b in zip(seq, par, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-10)


def test_padding_does_not_change_a_trial():
    rng = np.random.default_rng(3)
    log_em, logA, logpi = _random_problem(rng, 2, 50, 3)
    mask = torch.arange(50)[None, :] < torch.tensor([50, 30])[:, None]
    ll, post, _ = forward_backward(log_em, logA, logpi, mask)
    ll1, post1, _ = forward_backward(log_em[1:, :30], logA, logpi)
    np.testing.assert_allclose(ll[1].item(), ll1[0].item(), rtol=1e-13)
    np.testing.assert_allclose(post[1, :30].numpy(), post1[0].numpy(), atol=1e-13)


def test_zero_transitions_fall_back_to_log_space():
    # a forbidden transition against an overwhelming emission makes the scaled
    # recursion's normaliser underflow; the result must still be the exact one
    log_em = torch.tensor([[[0.0, -1.0], [-900.0, 0.0], [0.0, -1.0]]], dtype=torch.float64)
    logA = torch.log(torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64))
    logpi = torch.log(torch.tensor([1.0 - 1e-300, 1e-300], dtype=torch.float64))
    ll, post, trans = forward_backward(log_em, logA, logpi)
    ll_ref, post_ref, trans_ref, _, _ = _brute_force(log_em[0].numpy(), logA.numpy(),
                                                     logpi.numpy(), 3)
    np.testing.assert_allclose(ll.item(), ll_ref, rtol=1e-12)
    np.testing.assert_allclose(post[0].numpy(), post_ref, atol=1e-12)
    np.testing.assert_allclose(log_marginal_likelihood(log_em, logA, logpi).item(), ll_ref,
                               rtol=1e-12)


def test_no_underflow_on_long_sequences():
    # 1e5 bins of strongly informative emissions: an unscaled product recursion underflows
    rng = np.random.default_rng(4)
    T = 100_000
    log_em = torch.as_tensor(rng.normal(-30.0, 5.0, size=(2, T, 3)))
    logA = torch.log(torch.tensor([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]],
                                  dtype=torch.float64))
    logpi = torch.log(torch.full((3,), 1 / 3, dtype=torch.float64))
    ll, post, trans = forward_backward(log_em, logA, logpi)
    assert torch.isfinite(ll).all() and torch.isfinite(post).all() and torch.isfinite(trans).all()
    np.testing.assert_allclose(post.sum(-1).numpy(), 1.0, atol=1e-9)
    np.testing.assert_allclose(trans.sum().item(), 2 * (T - 1), rtol=1e-9)
    assert (ll < -25.0 * T).all()
    # the first 3000 bins agree with the logsumexp recursion
    ll_a, post_a, _ = forward_backward(log_em[:, :3000], logA, logpi)
    ll_b, post_b, _ = forward_backward(log_em[:, :3000], logA, logpi, method="log")
    np.testing.assert_allclose(ll_a.numpy(), ll_b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(post_a.numpy(), post_b.numpy(), atol=1e-10)


# ----------------------------------------------------------------------------- input checks

_ALL = [forward_backward, forward_backward_scan, viterbi, log_marginal_likelihood]


@pytest.mark.parametrize("fn", _ALL)
def test_numpy_input_gives_numpy_output_equal_to_the_torch_result(fn):
    rng = np.random.default_rng(5)
    log_em, logA, logpi = _random_problem(rng, 2, 6, 3)
    mask = np.arange(6)[None, :] < np.array([6, 4])[:, None]
    ref = fn(log_em, logA, logpi, torch.as_tensor(mask))
    out = fn(log_em.numpy(), logA.numpy().tolist(), logpi.numpy(), mask)
    ref = ref if isinstance(ref, tuple) else (ref,)
    out = out if isinstance(out, tuple) else (out,)
    for r, o in zip(ref, out, strict=True):
        assert isinstance(o, np.ndarray)
        np.testing.assert_allclose(o, r.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", _ALL)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_plus_inf_emission_is_refused_with_its_index(fn, value):
    log_em, logA, logpi = _random_problem(np.random.default_rng(6), 2, 5, 3)
    log_em[1, 3, 2] = value
    with pytest.raises(ValueError, match=r"log_emission must hold log-likelihoods.*index \(1, 3, 2\)"):
        fn(log_em, logA, logpi)


@pytest.mark.parametrize("fb", [forward_backward, _fb_log, forward_backward_scan])
def test_minus_inf_emissions_are_legitimate_and_match_enumeration(fb):
    rng = np.random.default_rng(7)
    log_em, logA, logpi = _random_problem(rng, 1, 5, 3)
    log_em[0, 1, 0] = -np.inf   # state 0 impossible at t=1
    log_em[0, 3, :2] = -np.inf  # only state 2 possible at t=3
    ll, post, trans = fb(log_em, logA, logpi)
    ll_ref, post_ref, trans_ref, best, best_lp = _brute_force(log_em[0].numpy(), logA.numpy(),
                                                              logpi.numpy(), 5)
    np.testing.assert_allclose(ll.item(), ll_ref, rtol=1e-12)
    np.testing.assert_allclose(post[0].numpy(), post_ref, atol=1e-12)
    np.testing.assert_allclose(trans.numpy(), trans_ref, atol=1e-12)
    path, lp = viterbi(log_em, logA, logpi)
    np.testing.assert_array_equal(path[0].numpy(), best)
    np.testing.assert_allclose(lp.item(), best_lp, rtol=1e-12)


@pytest.mark.parametrize("fn", _ALL)
def test_an_emission_row_of_minus_inf_is_refused_naming_the_time_index(fn):
    log_em, logA, logpi = _random_problem(np.random.default_rng(8), 2, 5, 3)
    log_em[0, 4] = -np.inf
    with pytest.raises(ValueError, match="-inf for every state at trial 0, time index 4"):
        fn(log_em, logA, logpi)


def test_data_impossible_under_the_transitions_are_refused_or_give_minus_inf():
    # state 0 only at t=0, state 1 only at t=1, but 0 -> 1 is forbidden
    log_em = torch.tensor([[[0.0, -np.inf], [-np.inf, 0.0]]], dtype=torch.float64)
    logA = torch.log(torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64))
    logpi = torch.log(torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert log_marginal_likelihood(log_em, logA, logpi).item() == -np.inf
    longer = torch.cat([log_em, torch.zeros(1, 3, 2, dtype=torch.float64)], dim=1)
    assert log_marginal_likelihood(longer, logA, logpi).item() == -np.inf  # -inf, not NaN
    for fn in (forward_backward, _fb_log, forward_backward_scan, viterbi):
        for em in (log_em, longer):
            with pytest.raises(ValueError, match="probability zero"):
                fn(em, logA, logpi)


def test_padding_may_hold_anything():
    rng = np.random.default_rng(9)
    log_em, logA, logpi = _random_problem(rng, 2, 8, 3)
    mask = torch.arange(8)[None, :] < torch.tensor([8, 5])[:, None]
    dirty = log_em.clone()
    dirty[1, 5:] = np.nan
    dirty[1, 6, 1] = -np.inf
    for fn in _ALL:
        clean = fn(log_em, logA, logpi, mask)
        out = fn(dirty, logA, logpi, mask)
        clean = clean if isinstance(clean, tuple) else (clean,)
        out = out if isinstance(out, tuple) else (out,)
        for a, b in zip(clean, out, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert torch.isnan(dirty[1, 5]).all()  # the caller's tensor is not modified


@pytest.mark.parametrize("which,value,match", [
    ("A", np.log([[0.5, 0.6], [0.5, 0.5]]), r"log_transition must be the logarithm.*1\.1.*row 0"),
    ("A", np.log([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]), r"log_transition must have shape \(2, 2\)"),
    ("A", np.array([[np.nan, 0.0], [np.log(0.5), np.log(0.5)]]), "log_transition must hold log-prob"),
    ("A", np.array([[np.inf, 0.0], [np.log(0.5), np.log(0.5)]]), "log_transition must hold log-prob"),
    ("A", np.log([0.5, 0.5]), "log_transition must be 2-D"),
    ("pi", np.log([0.7, 0.7]), "log_initial must be the logarithm of probabilities summing to one"),
    ("pi", np.array([np.nan, 0.0]), "log_initial must hold log-prob"),
    ("pi", np.log([0.2, 0.3, 0.5]), r"log_initial must have shape \(2,\)"),
    ("em", np.zeros((4, 2)), "log_emission must be 3-D"),
    ("em", np.zeros((1, 0, 2)), "log_emission is empty"),
    ("em", np.zeros((1, 3, 2), dtype=complex), "log_emission must be real"),
    ("em", [[["a", "b"]]], "log_emission must be a numeric array"),
    ("mask", np.ones((1, 4), dtype=bool), r"mask must have shape \(1, 3\)"),
    ("mask", np.array([[True, False, True]]), "valid bin after an invalid one"),
    ("mask", np.array([[False, False, False]]), "at least one valid bin"),
    ("mask", np.array([[1, 2, 0]]), "mask must be boolean"),
])
def test_bad_hmm_arguments_are_named(which, value, match):
    args = {"em": np.zeros((1, 3, 2)), "A": np.log(np.full((2, 2), 0.5)),
            "pi": np.log([0.5, 0.5]), "mask": None}
    args[which] = value
    for fn in _ALL:
        with pytest.raises((ValueError, TypeError), match=match):
            fn(args["em"], args["A"], args["pi"], args["mask"])


def test_forward_backward_options_are_checked():
    log_em, logA, logpi = _random_problem(np.random.default_rng(10), 1, 4, 2)
    with pytest.raises(ValueError, match="method must be one of"):
        forward_backward(log_em, logA, logpi, method="scan")
    with pytest.raises(ValueError, match="time_chunk must be >= 1"):
        forward_backward(log_em, logA, logpi, time_chunk=0)


def test_float32_input_gives_the_float64_answer():
    log_em, logA, logpi = _random_problem(np.random.default_rng(11), 2, 200, 3)
    ll64, post64, tr64 = forward_backward(log_em, logA, logpi)
    ll32, post32, tr32 = forward_backward(log_em.float(), logA.float(), logpi.float())
    assert post32.dtype == torch.float32 and ll32.dtype == torch.float64  # accumulated in float64
    np.testing.assert_allclose(ll32.numpy(), ll64.numpy(), rtol=1e-6)
    np.testing.assert_allclose(log_marginal_likelihood(log_em.float(), logA.float(), logpi.float()),
                               ll64.numpy(), rtol=1e-6)
    np.testing.assert_allclose(post32.numpy(), post64.numpy(), atol=1e-4)
    np.testing.assert_allclose(tr32.numpy(), tr64.numpy(), rtol=1e-4)


def test_scan_survives_emissions_near_the_float64_limit():
    # log-likelihoods of 1e300 per bin: the scan's sums used to reach inf - inf = NaN
    log_em, logA, logpi = _random_problem(np.random.default_rng(12), 2, 6, 3)
    log_em = log_em * 1e300
    ll_seq, post_seq, tr_seq = forward_backward(log_em, logA, logpi)
    ll_par, post_par, tr_par = forward_backward_scan(log_em, logA, logpi)
    assert torch.isfinite(ll_par).all()
    np.testing.assert_allclose(ll_par.numpy(), ll_seq.numpy(), rtol=1e-12)
    np.testing.assert_allclose(post_par.numpy(), post_seq.numpy(), atol=1e-12)
    np.testing.assert_allclose(tr_par.numpy(), tr_seq.numpy(), atol=1e-12)


@pytest.mark.parametrize("fn", _ALL)
def test_work_beyond_the_free_memory_is_refused_before_allocating(fn):
    # a broadcast view: 3e10 entries that take no memory until something is computed
    log_em = torch.zeros(1, 1, 1, dtype=torch.float64).expand(1000, 100_000, 300)
    logA = torch.log(torch.full((300, 300), 1 / 300, dtype=torch.float64))
    logpi = torch.log(torch.full((300,), 1 / 300, dtype=torch.float64))
    with pytest.raises(MemoryError, match="log_emission .* would need"):
        fn(log_em, logA, logpi)
