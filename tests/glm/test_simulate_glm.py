import numpy as np
import pytest

from neurodyn.datasets.simulate import hmm_glm


def test_generator_statistics_match_the_paper_setup():
    d = hmm_glm(n_neurons=30, n_states=5, n_timepoints=3000, n_trials=6, random_state=0)
    assert d.counts.shape == (6, 3000, 30) and d.counts.dtype == np.int64
    assert d.states.shape == (6, 3000)
    # Dir(0.2, 1.6, 0.2) prior: mean (0.1, 0.8, 0.1)
    np.testing.assert_allclose(d.adjacency_prior.reshape(-1, 3).mean(0), [0.1, 0.8, 0.1], atol=0.03)
    # classes drawn from the per-edge prior: about 20 % present edges, half excitatory
    present = d.adjacency != 0
    assert 0.15 < present.mean() < 0.25
    assert 0.4 < (d.adjacency[present] > 0).mean() < 0.6
    # strengths log(1 + 3u) in (0, log 4)
    w = np.abs(d.coupling[present])
    assert w.min() > 0 and w.max() < np.log(4.0)
    np.testing.assert_allclose(w.mean(), 0.85, atol=0.05)
    np.testing.assert_array_equal(np.sign(d.coupling), d.adjacency)
    # sticky chain: empirical self-transition frequency close to 0.98
    stay = (d.states[:, 1:] == d.states[:, :-1]).mean()
    assert 0.97 < stay < 0.99
    # the paper's quirk: the first state comes from row 0 of A
    assert (d.states[:, 0] == 0).mean() >= 0.5
    assert np.all(d.counts >= 0)
    assert np.all(np.abs(d.bias) <= 0.05)


def test_generator_is_seeded_and_rate_is_capped():
    a = hmm_glm(n_neurons=5, n_states=2, n_timepoints=200, n_trials=2, random_state=7)
    b = hmm_glm(n_neurons=5, n_states=2, n_timepoints=200, n_trials=2, random_state=7)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.states, b.states)
    # capped sigmoid: at most one spike per bin on average, so counts stay small
    assert a.counts.mean() < 1.0


def test_generator_bad_arguments():
    with pytest.raises(ValueError, match="sparsity"):
        hmm_glm(sparsity=1.5)
    with pytest.raises(ValueError, match="n_states"):
        hmm_glm(n_states=0)
    with pytest.raises(ValueError, match="link"):
        hmm_glm(link="relu")
