"""Community readings of a component graph."""

import itertools

import networkx as nx
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from neurodyn.connectome.affinity import matrix_to_pairs
from neurodyn.connectome.communities import (
    component_graph,
    louvain_labels,
    sbm_description_length,
    strength_two_means,
    weighted_sbm,
)


def _planted_blocks(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2], [8, 6, 10])
    w = rng.uniform(0.0, 0.1, (24, 24))
    w[labels[:, None] == labels[None, :]] += 0.8
    w = np.triu(w, 1)
    return w + w.T, labels


def _two_means_brute_force(strength):
    best, best_labels = np.inf, None
    n = strength.size
    for bits in itertools.product([0, 1], repeat=n):
        lab = np.array(bits)
        if lab.min() == lab.max():
            continue
        sse = sum(((strength[lab == g] - strength[lab == g].mean()) ** 2).sum() for g in (0, 1))
        if sse < best - 1e-12:
            best, best_labels = sse, lab
    if strength[best_labels == 1].mean() < strength[best_labels == 0].mean():
        best_labels = 1 - best_labels
    return best_labels


def test_two_means_matches_exhaustive_search():
    rng = np.random.default_rng(1)
    for _ in range(4):
        w = rng.random((11, 11)) ** 3
        w = np.triu(w, 1)
        w = w + w.T
        got = strength_two_means(w)
        np.testing.assert_array_equal(got, _two_means_brute_force(w.sum(1)))


def test_two_means_finds_motif_from_pair_vector():
    w, labels = _planted_blocks()
    motif = labels == 0
    w2 = w * 0.1
    w2[np.ix_(motif, motif)] = w[np.ix_(motif, motif)]
    got = strength_two_means(matrix_to_pairs(w2))
    np.testing.assert_array_equal(got.astype(bool), motif)


def test_louvain_recovers_planted_blocks_and_matches_networkx():
    w, labels = _planted_blocks()
    got = louvain_labels(w, random_state=0)
    assert adjusted_rand_score(labels, got) == 1.0
    ref = nx.community.louvain_communities(nx.from_numpy_array(w), weight="weight", seed=0)
    assert {frozenset(c) for c in ref} == {frozenset(np.flatnonzero(got == g)) for g in np.unique(got)}


def test_component_graph_edges_and_threshold():
    w, _ = _planted_blocks()
    w[0, 1] = w[1, 0] = 0.0
    g = component_graph(w)
    assert g.number_of_nodes() == 24
    assert g.number_of_edges() == int((np.triu(w, 1) > 0).sum())
    assert g[2][3]["weight"] == w[2, 3]
    g2 = component_graph(w, threshold=0.5)
    assert g2.number_of_edges() == int((np.triu(w, 1) > 0.5 * w.max()).sum())


def test_community_input_errors():
    w, _ = _planted_blocks()
    asym = w.copy()
    asym[0, 1] += 1
    with pytest.raises(ValueError, match="weights must be symmetric"):
        louvain_labels(asym)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        strength_two_means(-w)
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\)"):
        component_graph(w, threshold=1.5)


def _exp_block_graph(sizes, within=1.0, between=0.2, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    mean = np.where(labels[:, None] == labels[None, :], within, between)
    w = np.triu(rng.exponential(mean), 1)
    return w + w.T, labels


def _reference_description_length(w, labels, degree_corrected):
    """The same model written edge by edge and block by block (slow)."""
    from math import comb, lgamma, log

    n = w.shape[0]
    groups = sorted(set(labels.tolist()))
    idx = {g: i for i, g in enumerate(groups)}
    b = len(groups)
    sizes = [int((labels == g).sum()) for g in groups]
    edges = [(i, j, w[i, j]) for i in range(n) for j in range(i + 1, n) if w[i, j] > 0]
    n_edges = len(edges)
    theta = sum(e[2] for e in edges) / n_edges
    m = np.zeros((b, b))
    x = np.zeros((b, b))
    for i, j, v in edges:
        r, s = sorted((idx[labels[i]], idx[labels[j]]))
        m[r, s] += 1
        x[r, s] += v
    dl = log(n) + log(comb(n - 1, b - 1)) + lgamma(n + 1) - sum(lgamma(s + 1) for s in sizes)
    dl += log(comb(b * (b + 1) // 2 + n_edges - 1, n_edges))
    e_r = [sum(m[min(r, s), max(r, s)] * (2 if r == s else 1) for s in range(b)) for r in range(b)]
    log_mfact = sum(lgamma(m[r, s] + 1) + (m[r, s] * log(2) if r == s else 0.0)
                    for r in range(b) for s in range(r, b))
    if degree_corrected:
        deg = (w > 0).sum(axis=1)
        dl += sum(lgamma(e + 1) for e in e_r) - log_mfact - sum(lgamma(k + 1) for k in deg)
        dl += sum(log(comb(int(sizes[r] + e_r[r] - 1), int(e_r[r]))) for r in range(b))
    else:
        dl += sum(e_r[r] * log(sizes[r]) for r in range(b)) - log_mfact
    for r in range(b):
        for s in range(r, b):
            if m[r, s] > 0:
                dl += -log(theta) - lgamma(m[r, s] + 1) + (m[r, s] + 1) * log(x[r, s] + theta)
    return dl


def test_description_length_matches_edgewise_reference():
    from neurodyn.connectome.communities import sbm_description_length

    w, labels = _exp_block_graph((5, 4, 6), seed=1)
    w[0, 1] = w[1, 0] = 0.0  # a missing edge
    rng = np.random.default_rng(0)
    for lab in (labels, rng.integers(0, 4, labels.size), np.zeros(labels.size, int)):
        for dc in (False, True):
            ref = _reference_description_length(w, lab, dc)
            assert abs(sbm_description_length(w, lab, dc) - ref) < 1e-8 * abs(ref)
    # invariant to renaming the groups
    assert abs(sbm_description_length(w, labels) - sbm_description_length(w, 2 - labels)) < 1e-10


def test_weighted_sbm_recovers_planted_blocks_and_null():
    from neurodyn.connectome.communities import sbm_description_length, weighted_sbm

    w, labels = _exp_block_graph((10, 8, 12), seed=0)
    fit = weighted_sbm(w)
    assert adjusted_rand_score(labels, fit["labels"]) == 1.0
    assert fit["n_groups"] == 3
    assert fit["description_length"] == min(fit["description_lengths"].values())
    assert fit["description_length"] <= sbm_description_length(w, labels, fit["degree_corrected"]) + 1e-9
    null, _ = _exp_block_graph((30,), seed=2)
    assert weighted_sbm(null)["n_groups"] == 1
    with pytest.raises(ValueError, match="degree_corrected must be True, False or 'auto'"):
        weighted_sbm(w, degree_corrected="yes")
    with pytest.raises(ValueError, match="weights has no non-zero edge"):
        weighted_sbm(np.zeros((4, 4)))


@pytest.mark.parametrize("scale", [1e-300, 1e-15, 3.7, 1e15, 1e300])
def test_partitions_are_invariant_to_the_weights_scale(scale):
    """Modularity and the SBM's best partition ignore a common scale of the weights;
    at 1e+-300 the sums of weights used to overflow (OverflowError, ZeroDivisionError)."""
    rng = np.random.default_rng(0)
    w = rng.random((12, 12))
    w = (w + w.T) / 2
    w[:6, :6] += 1
    w[6:, 6:] += 1
    np.fill_diagonal(w, 0)
    np.testing.assert_array_equal(louvain_labels(w * scale), louvain_labels(w))
    np.testing.assert_array_equal(strength_two_means(w * scale), strength_two_means(w))
    base = weighted_sbm(w)
    scaled = weighted_sbm(w * scale)
    np.testing.assert_array_equal(scaled["labels"], base["labels"])
    # exponential weights with a Gamma(1, mean weight) prior: DL(sW) = DL(W) + E log s
    n_edges = np.count_nonzero(np.triu(w, 1))
    expected = sbm_description_length(w, base["labels"]) + n_edges * np.log(scale)
    assert sbm_description_length(w * scale, base["labels"]) == pytest.approx(expected, rel=1e-12, abs=1e-9)
