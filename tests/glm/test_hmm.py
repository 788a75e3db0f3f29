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
