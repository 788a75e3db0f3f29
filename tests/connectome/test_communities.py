"""Community readings of a component graph."""

import itertools

import networkx as nx
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from neurodyn.connectome.affinity import matrix_to_pairs
from neurodyn.connectome.communities import component_graph, louvain_labels, strength_two_means


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
