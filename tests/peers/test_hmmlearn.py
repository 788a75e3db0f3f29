"""hmmlearn's own tests of HMM inference with discrete emissions, ported.

Source: github.com/hmmlearn/hmmlearn, folder ``src/hmmlearn/tests/`` (read at
commit e01a10e): ``test_base.py`` (``TestBaseAgainstWikipedia``,
``TestBaseConsistentWithGMM``, ``test_base_hmm_attributes``,
``test_stationary_distribution``), ``test_categorical_hmm.py``
(``TestCategoricalAgainstWikipedia``, ``TestCategoricalHMM.test_score_samples``),
``test_multinomial_hmm.py`` and ``test_poisson_hmm.py``
(``test_score_samples``). Each test names its source.

hmmlearn's models take observations and compute their own emission
probabilities; neurodyn's HMM primitives take per-bin log-likelihoods. Each case
computes ``log_emission[t, s] = log p(x_t | z_t = s)`` from the peer's emission
parameters (scipy) and passes ``log(transmat_)`` and ``log(startprob_)``.
hmmlearn's ``score`` / ``score_samples`` / ``predict_proba`` / ``decode``
are :func:`~neurodyn.glm.log_marginal_likelihood`, :func:`~neurodyn.glm.forward_backward`
and :func:`~neurodyn.glm.viterbi`; hmmlearn's normalised forward lattice is
:func:`~neurodyn.glm.filtered_probabilities`. Both of hmmlearn's implementations
(``"scaling"``, ``"log"``) are matched by neurodyn's ``method="auto"`` and
``"log"`` and by :func:`~neurodyn.glm.forward_backward_scan`.

The reference numbers of the ``AgainstWikipedia`` cases are the peer's (from the
Wikipedia articles on the forward-backward and Viterbi algorithms); every other
case is checked against an independent computation (path enumeration, the
closed form of the case) and, where hmmlearn is installed, against hmmlearn run
on the same input.

Peer defect: ``test_base.py::test_do_forward_pass`` and
``test_do_forward_scaling_pass`` call ``assert_allclose(actual, desired, 4)``:
the third positional argument is ``rtol``, so they accept any lattice within
400 % of the reference. Here the lattice is held to the reference's rounding
(5e-5).

Not ported: fitting (``test_fit*``, ``test_n_features``; neurodyn has no
categorical/multinomial/Poisson HMM estimator, its HMM is the GLM-HMM
:class:`~neurodyn.glm.StateSwitchingGLM`), sampling (``test_sample``,
``test_generate_samples``), the convergence monitor (``TestMonitor``) and the
emission-parameter checks (``test_attributes``, ``_check_and_set_*``: neurodyn
receives log-likelihoods, not emission parameters).
"""

import itertools

import numpy as np
import pytest
import torch
from scipy import special, stats

from neurodyn.glm import (
    filtered_probabilities,
    forward_backward,
    forward_backward_scan,
    log_marginal_likelihood,
    predicted_probabilities,
    viterbi,
)


def _fb_log(*args):
    return forward_backward(*args, method="log")


SMOOTHERS = [forward_backward, _fb_log, forward_backward_scan]


def _hmmlearn():
    """hmmlearn's model module, or skip the direct comparison (hmmlearn is a dev dependency)."""
    return pytest.importorskip("hmmlearn.hmm")


def _enumerate(log_em, log_transmat, log_startprob):
    """Every state path of one short sequence: (paths, joint log-probabilities)."""
    n_time, n_states = log_em.shape
    paths = np.array(list(itertools.product(range(n_states), repeat=n_time)))
    t = np.arange(n_time)
    logp = (log_startprob[paths[:, 0]] + log_em[t, paths].sum(1)
            + log_transmat[paths[:, :-1], paths[:, 1:]].sum(1))
    return paths, logp


# --------------------------------------------------------------------------- test_base.py


class TestBaseAgainstWikipedia:
    """hmmlearn ``test_base.py::TestBaseAgainstWikipedia`` (the umbrella example of
    Wikipedia's "Forward-backward algorithm": two states, frame probabilities given)."""

    frameprob = np.array([[0.9, 0.2], [0.9, 0.2], [0.1, 0.8], [0.9, 0.2], [0.9, 0.2]])
    transmat = np.array([[0.7, 0.3], [0.3, 0.7]])
    startprob = np.array([0.5, 0.5])
    # hmmlearn's reference lattices, rounded to 4 decimals
    fwdlattice = np.array([[0.4500, 0.1000], [0.3105, 0.0410], [0.0230, 0.0975],
                           [0.0408, 0.0150], [0.0298, 0.0046]])
    bwdlattice = np.array([[0.0661, 0.0455], [0.0906, 0.1503], [0.4593, 0.2437],
                           [0.6900, 0.4100], [1.0000, 1.0000]])
    posteriors = np.array([[0.8673, 0.1327], [0.8204, 0.1796], [0.3075, 0.6925],
                           [0.8204, 0.1796], [0.8673, 0.1327]])

    def args(self):
        return np.log(self.frameprob)[None], np.log(self.transmat), np.log(self.startprob)

    def prefix_likelihoods(self):
        """p(x_0..t) for every t: the five prefixes as masked trials of one batch."""
        log_em, logA, logpi = self.args()
        n = len(self.frameprob)
        mask = np.arange(n)[None, :] <= np.arange(n)[:, None]
        return np.exp(log_marginal_likelihood(np.repeat(log_em, n, 0), logA, logpi, mask))

    def test_do_forward_pass(self):
        """``test_do_forward_pass`` / ``test_do_forward_scaling_pass``: the forward lattice
        ``alpha_t = p(x_0..t, z_t)`` and ``log p(x) = -3.3725``. neurodyn's filtered
        probabilities times the prefix likelihoods are that lattice (peer defect: the
        peer's tolerance is rtol=4; here 5e-5, the reference's rounding)."""
        filtered = filtered_probabilities(*self.args())[0]
        alpha = filtered * self.prefix_likelihoods()[:, None]
        np.testing.assert_allclose(alpha, self.fwdlattice, rtol=0, atol=5e-5)
        assert round(float(log_marginal_likelihood(*self.args())[0]), 4) == -3.3725

    def test_filtered_probabilities_are_the_normalised_lattice(self):
        """``test_do_forward_pass``, normalised: Wikipedia's filtered beliefs
        (0.8182, 0.1818), (0.8834, 0.1166), (0.1907, 0.8093), (0.7308, 0.2692),
        (0.8673, 0.1327); the predicted ones are the previous row times ``transmat``."""
        filtered = filtered_probabilities(*self.args())[0]
        wiki = np.array([[0.8182, 0.1818], [0.8834, 0.1166], [0.1907, 0.8093],
                         [0.7308, 0.2692], [0.8673, 0.1327]])
        np.testing.assert_allclose(filtered, wiki, rtol=0, atol=5e-5)
        predicted = predicted_probabilities(*self.args())[0]
        np.testing.assert_allclose(predicted[0], self.startprob, atol=1e-15)
        np.testing.assert_allclose(predicted[1:], filtered[:-1] @ self.transmat, atol=1e-15)

    @pytest.mark.parametrize("fb", SMOOTHERS)
    def test_do_backward_pass(self, fb):
        """``test_do_backward_log_pass`` / ``test_do_backward_scaling_pass``: the backward
        lattice ``beta_t = p(x_t+1..T | z_t)``. neurodyn has no public backward lattice;
        it is recovered from the posteriors, ``beta_t = p(x) gamma_t / alpha_t``."""
        log_lik, post, _ = fb(*self.args())
        filtered = filtered_probabilities(*self.args())[0]
        alpha = filtered * self.prefix_likelihoods()[:, None]
        beta = np.exp(log_lik[0]) * post[0] / alpha
        np.testing.assert_allclose(beta, self.bwdlattice, rtol=0, atol=5e-5)

    def test_do_viterbi_pass(self):
        """``test_do_viterbi_pass``: path (0, 0, 1, 0, 0), joint log-probability -4.4590."""
        path, log_prob = viterbi(*self.args())
        np.testing.assert_array_equal(path[0], [0, 0, 1, 0, 0])
        assert round(float(log_prob[0]), 4) == -4.4590

    @pytest.mark.parametrize("fb", SMOOTHERS)
    def test_score_samples(self, fb):
        """``test_score_samples``: log p(x) = -3.3725 and the posteriors to 1e-4."""
        log_lik, post, _ = fb(*self.args())
        np.testing.assert_allclose(post[0].sum(1), 1.0, rtol=1e-12)
        assert round(float(log_lik[0]), 4) == -3.3725
        np.testing.assert_allclose(post[0], self.posteriors, atol=1e-4)


class TestBaseConsistentWithGMM:
    """hmmlearn ``test_base.py::TestBaseConsistentWithGMM``: with uniform start and
    transition probabilities the HMM is a mixture with equal weights, so every
    state belief is the per-bin softmax of the log-likelihoods (8 states, 10 bins;
    the peer's frame probabilities are unseeded uniform draws, here seeded)."""

    n_components, n_samples = 8, 10

    def args(self):
        log_em = np.log(np.random.default_rng(0).random((self.n_samples, self.n_components)))
        uniform = np.full(self.n_components, 1.0 / self.n_components)
        return log_em[None], np.log(np.tile(uniform, (self.n_components, 1))), np.log(uniform)

    @pytest.mark.parametrize("fb", SMOOTHERS)
    def test_score_samples(self, fb):
        """``test_score_samples``: HMM posteriors equal the mixture posteriors; so do the
        filtered probabilities, and the predicted ones are uniform."""
        log_em, logA, logpi = self.args()
        gmm = special.softmax(log_em[0], axis=1)
        _, post, _ = fb(log_em, logA, logpi)
        np.testing.assert_allclose(post[0], gmm, rtol=1e-10)
        np.testing.assert_allclose(filtered_probabilities(log_em, logA, logpi)[0], gmm, rtol=1e-10)
        np.testing.assert_allclose(predicted_probabilities(log_em, logA, logpi)[0],
                                   1.0 / self.n_components, rtol=1e-12)

    def test_decode(self):
        """``test_decode``: the Viterbi path is the per-bin most likely state."""
        log_em, logA, logpi = self.args()
        path, log_prob = viterbi(log_em, logA, logpi)
        np.testing.assert_array_equal(path[0], log_em[0].argmax(1))
        np.testing.assert_allclose(log_prob[0], log_em[0].max(1).sum()
                                   - self.n_samples * np.log(self.n_components), rtol=1e-12)


@pytest.mark.parametrize("which,value,match", [
    ("startprob", lambda p, A: 2 * p, "log_initial must be the logarithm of probabilities"),
    ("startprob", lambda p, A: np.array([]), "log_initial is empty"),
    ("startprob", lambda p, A: np.full((len(p) - 2, 2), 0.5), "log_initial must be 1-D"),
    ("transmat", lambda p, A: 2 * A, "log_transition must be the logarithm of probabilities"),
    ("transmat", lambda p, A: np.zeros((0, 0)), "log_transition is empty"),
    ("transmat", lambda p, A: A[:-2], r"log_transition must have shape \(20, 20\)"),
])
def test_base_hmm_attributes(which, value, match):
    """hmmlearn ``test_base.py::test_base_hmm_attributes``: a start distribution or
    transition matrix scaled by 2, empty, or of the wrong shape is refused (20
    states); the message names the argument."""
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(20))
    A = rng.dirichlet(np.ones(20), size=20)
    args = {"startprob": p, "transmat": A}
    args[which] = value(p, A)
    log_em = rng.normal(size=(1, 5, 20))
    with np.errstate(divide="ignore"):
        logA, logpi = np.log(args["transmat"]), np.log(args["startprob"])
    for fn in (forward_backward, viterbi, log_marginal_likelihood, filtered_probabilities,
               predicted_probabilities):
        with pytest.raises(ValueError, match=match):
            fn(log_em, logA, logpi)


def test_stationary_distribution():
    """hmmlearn ``test_base.py::test_stationary_distribution`` (``get_stationary_distribution``
    satisfies ``pi A = pi``). neurodyn has no such method; the case is ported to the
    predicted probabilities under uninformative emissions, which are ``p0 A^t``
    (10 states): started at the stationary distribution (numpy's left eigenvector)
    they stay there."""
    rng = np.random.default_rng(2)
    A = rng.random((10, 10))
    A /= A.sum(1, keepdims=True)
    vals, vecs = np.linalg.eig(A.T)
    stationary = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    stationary /= stationary.sum()
    flat = np.zeros((1, 6, 10))
    pred = predicted_probabilities(flat, np.log(A), np.log(stationary))[0]
    np.testing.assert_allclose(pred, np.tile(stationary, (6, 1)), atol=1e-12)
    p0 = rng.dirichlet(np.ones(10))
    pred = predicted_probabilities(flat, np.log(A), np.log(p0))[0]
    expected = np.array([p0 @ np.linalg.matrix_power(A, t) for t in range(6)])
    np.testing.assert_allclose(pred, expected, atol=1e-12)


# --------------------------------------------------------------------------- test_categorical_hmm.py

# Wikipedia's "Hidden Markov model" example: states (Rainy, Sunny), observations
# (walk, shop, clean)
WIKI_START = np.array([0.6, 0.4])
WIKI_TRANSMAT = np.array([[0.7, 0.3], [0.4, 0.6]])
WIKI_EMISSION = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])


def _categorical_args(x, emission=WIKI_EMISSION, transmat=WIKI_TRANSMAT, start=WIKI_START):
    return np.log(emission[:, x].T)[None], np.log(transmat), np.log(start)


def test_categorical_decode_viterbi():
    """hmmlearn ``test_categorical_hmm.py::TestCategoricalAgainstWikipedia::test_decode_viterbi``:
    (walk, shop, clean) is most likely (Sunny, Rainy, Rainy), probability 0.01344
    (Wikipedia, "Viterbi algorithm"); checked also by enumerating the 8 paths."""
    args = _categorical_args([0, 1, 2])
    path, log_prob = viterbi(*args)
    np.testing.assert_array_equal(path[0], [1, 0, 0])
    assert round(float(np.exp(log_prob[0])), 5) == 0.01344
    paths, logp = _enumerate(args[0][0], args[1], args[2])
    np.testing.assert_array_equal(path[0], paths[np.argmax(logp)])
    np.testing.assert_allclose(log_prob[0], logp.max(), rtol=1e-13)


@pytest.mark.parametrize("fb", SMOOTHERS)
def test_categorical_decode_map_and_predict(fb):
    """hmmlearn ``test_categorical_hmm.py::TestCategoricalAgainstWikipedia::test_decode_map``
    and ``test_predict``: the posteriors (peer's numbers, to 1e-6) and their per-bin
    argmax (Sunny, Rainy, Rainy); the posteriors also against path enumeration."""
    args = _categorical_args([0, 1, 2])
    _, post, _ = fb(*args)
    np.testing.assert_allclose(post[0], [[0.23170303, 0.76829697], [0.62406281, 0.37593719],
                                         [0.86397706, 0.13602294]], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(post[0].argmax(1), [1, 0, 0])
    paths, logp = _enumerate(args[0][0], args[1], args[2])
    w = np.exp(logp - special.logsumexp(logp))
    exact = np.array([[w[paths[:, t] == s].sum() for s in range(2)] for t in range(3)])
    np.testing.assert_allclose(post[0], exact, atol=1e-13)


def test_categorical_filtered_and_predicted_against_enumeration():
    """The filtered and predicted beliefs of the same Wikipedia case (hmmlearn has no
    public filter; its normalised forward lattice is compared where installed)."""
    x = [0, 1, 2, 2, 0, 1]
    args = _categorical_args(x)
    filtered = filtered_probabilities(*args)[0]
    predicted = predicted_probabilities(*args)[0]
    for t in range(len(x)):
        paths, logp = _enumerate(args[0][0, :t + 1], args[1], args[2])
        w = np.exp(logp - special.logsumexp(logp))
        np.testing.assert_allclose(filtered[t], [w[paths[:, -1] == s].sum() for s in range(2)],
                                   atol=1e-13)
        prior = (filtered[t - 1] @ WIKI_TRANSMAT) if t else WIKI_START
        np.testing.assert_allclose(predicted[t], prior, atol=1e-15)
    _hmmlearn()
    from hmmlearn import _hmmc
    _, log_fwd = _hmmc.forward_log(WIKI_START, WIKI_TRANSMAT, args[0][0])
    np.testing.assert_allclose(filtered, special.softmax(log_fwd, axis=1), atol=1e-12)


@pytest.mark.parametrize("implementation", ["scaling", "log"])
def test_categorical_score_samples(implementation):
    """hmmlearn ``test_categorical_hmm.py::TestCategoricalHMM::test_score_samples``: 20
    random symbols, posteriors of shape (20, 2) summing to one; here also equal to
    hmmlearn's ``score_samples``, ``score``, ``decode`` and forward lattice, for both of
    its implementations, and for three sequences at once (``lengths`` = masks)."""
    peer = _hmmlearn()
    rng = np.random.default_rng(3)
    lengths = [20, 13, 7]
    X = rng.integers(3, size=(sum(lengths), 1))
    h = peer.CategoricalHMM(2, implementation=implementation)
    h.n_features = 3
    h.startprob_, h.transmat_, h.emissionprob_ = WIKI_START, WIKI_TRANSMAT, WIKI_EMISSION
    log_em = np.zeros((3, 20, 2))
    mask = np.arange(20)[None, :] < np.array(lengths)[:, None]
    for b, seq in enumerate(np.split(X[:, 0], np.cumsum(lengths)[:-1])):
        log_em[b, :len(seq)] = np.log(WIKI_EMISSION[:, seq].T)
    args = (log_em, np.log(WIKI_TRANSMAT), np.log(WIKI_START), mask)
    log_lik, post, _ = forward_backward(*args)
    assert post.shape == (3, 20, 2)
    np.testing.assert_allclose(post.sum(-1), mask, rtol=1e-12)
    ll_peer, post_peer = h.score_samples(X, lengths)
    np.testing.assert_allclose(log_lik.sum(), ll_peer, rtol=1e-12)
    np.testing.assert_allclose(post[mask], post_peer, atol=1e-12)
    np.testing.assert_allclose(log_marginal_likelihood(*args).sum(), h.score(X, lengths),
                               rtol=1e-12)
    path, log_prob = viterbi(*args)
    lp_peer, path_peer = h.decode(X, lengths, algorithm="viterbi")
    np.testing.assert_array_equal(path[mask], path_peer)
    np.testing.assert_allclose(log_prob.sum(), lp_peer, rtol=1e-12)
    from hmmlearn import _hmmc
    filtered = filtered_probabilities(*args)
    for b, n in enumerate(lengths):
        _, log_fwd = _hmmc.forward_log(WIKI_START, WIKI_TRANSMAT, log_em[b, :n])
        np.testing.assert_allclose(filtered[b, :n], special.softmax(log_fwd, axis=1), atol=1e-12)


# --------------------------------------------------------------------------- test_multinomial_hmm.py


MULTINOMIAL_X = np.array([[1, 1, 3, 0], [3, 1, 1, 0], [3, 0, 2, 0], [2, 2, 0, 1], [2, 2, 0, 1],
                          [0, 1, 1, 3], [1, 0, 3, 1], [2, 0, 1, 2], [0, 2, 1, 2], [1, 0, 1, 3]])


def test_multinomial_score_samples():
    """hmmlearn ``test_multinomial_hmm.py::TestMultinomialHMM::test_score_samples``: ten
    count vectors of 5 draws over 4 categories (the peer's X), 2 states; posteriors
    of shape (10, 2) summing to one, here also equal to a plain numpy forward-backward
    in probability space and, where installed, to hmmlearn's (both implementations)."""
    start, transmat = np.array([0.6, 0.4]), np.array([[0.8, 0.2], [0.2, 0.8]])
    emission = np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    log_em = np.stack([stats.multinomial.logpmf(MULTINOMIAL_X, 5, p) for p in emission], axis=1)
    log_lik, post, _ = forward_backward(log_em[None], np.log(transmat), np.log(start))
    assert post.shape == (1, 10, 2)
    np.testing.assert_allclose(post[0].sum(1), 1.0, rtol=1e-12)
    e = np.exp(log_em)
    alpha, beta = np.zeros((10, 2)), np.ones((10, 2))
    alpha[0] = start * e[0]
    for t in range(1, 10):
        alpha[t] = alpha[t - 1] @ transmat * e[t]
    for t in range(8, -1, -1):
        beta[t] = transmat @ (e[t + 1] * beta[t + 1])
    np.testing.assert_allclose(log_lik[0], np.log(alpha[-1].sum()), rtol=1e-12)
    np.testing.assert_allclose(post[0], alpha * beta / alpha[-1].sum(), atol=1e-12)
    np.testing.assert_allclose(filtered_probabilities(log_em[None], np.log(transmat),
                                                      np.log(start))[0],
                               alpha / alpha.sum(1, keepdims=True), atol=1e-12)
    peer = _hmmlearn()
    for implementation in ("scaling", "log"):
        h = peer.MultinomialHMM(n_components=2, n_trials=5, implementation=implementation)
        h.startprob_, h.transmat_, h.emissionprob_ = start, transmat, emission
        ll_peer, post_peer = h.score_samples(MULTINOMIAL_X)
        np.testing.assert_allclose(log_lik[0], ll_peer, rtol=1e-12)
        np.testing.assert_allclose(post[0], post_peer, atol=1e-12)


# --------------------------------------------------------------------------- test_poisson_hmm.py


@pytest.mark.parametrize("fb", SMOOTHERS)
def test_poisson_score_samples(fb):
    """hmmlearn ``test_poisson_hmm.py::TestPoissonHMM::test_score_samples``: 1000 samples
    of 3 Poisson counts from the peer's model (lambdas (3.1, 1.4, 4.5), (1.6, 5.3,
    0.1)); posteriors of shape (1000, 2) summing to one. Here the samples are drawn
    with numpy, and the posteriors, filtered beliefs, log-likelihood and Viterbi path
    also match hmmlearn's (both implementations) where it is installed."""
    rng = np.random.default_rng(4)
    start, transmat = np.array([0.6, 0.4]), np.array([[0.7, 0.3], [0.4, 0.6]])
    lambdas = np.array([[3.1, 1.4, 4.5], [1.6, 5.3, 0.1]])
    z = np.zeros(1000, dtype=int)
    z[0] = rng.choice(2, p=start)
    for t in range(1, 1000):
        z[t] = rng.choice(2, p=transmat[z[t - 1]])
    X = rng.poisson(lambdas[z])
    log_em = stats.poisson.logpmf(X[:, None, :], lambdas[None]).sum(-1)
    args = (log_em[None], np.log(transmat), np.log(start))
    log_lik, post, _ = fb(*args)
    assert post.shape == (1, 1000, 2)
    np.testing.assert_allclose(post[0].sum(1), 1.0, rtol=1e-12)
    assert (post[0].argmax(1) == z).mean() > 0.9  # the well-separated states are recovered
    peer = _hmmlearn()
    from hmmlearn import _hmmc
    _, log_fwd = _hmmc.forward_log(start, transmat, log_em)
    np.testing.assert_allclose(filtered_probabilities(*args)[0],
                               special.softmax(log_fwd, axis=1), atol=1e-10)
    path, _ = viterbi(*args)
    for implementation in ("scaling", "log"):
        h = peer.PoissonHMM(2, implementation=implementation)
        h.startprob_, h.transmat_, h.lambdas_ = start, transmat, lambdas
        ll_peer, post_peer = h.score_samples(X)
        np.testing.assert_allclose(log_lik[0], ll_peer, rtol=1e-11)
        np.testing.assert_allclose(post[0], post_peer, atol=1e-10)
        np.testing.assert_array_equal(path[0], h.decode(X, algorithm="viterbi")[1])


def test_torch_input_gives_the_numpy_answer():
    """The Wikipedia categorical case as torch tensors: same numbers, tensors back."""
    args = _categorical_args([0, 1, 2])
    out_t = filtered_probabilities(*(torch.as_tensor(a) for a in args))
    assert isinstance(out_t, torch.Tensor)
    np.testing.assert_array_equal(out_t.numpy(), filtered_probabilities(*args))
