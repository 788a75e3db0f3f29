"""Weighted and signed clustering, transitivity, square clustering and BCT rounding.

References: bctpy (``clustering_coef_wu``, ``clustering_coef_wu_sign``,
``transitivity_wu``, ``threshold_proportional``) and networkx (``clustering``,
``transitivity``, ``square_clustering``), run here on the same graphs; a dense
``diag(S^3)`` for the sparse kernel. Tolerance 1e-10 (the issue's), observed
about 1e-16.
"""

import warnings

import bct
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.graph import (
    GraphFeatures,
    check_weights,
    clustering,
    correlation_graph,
    density_to_n_edges,
    node_features,
    square_clustering,
    threshold_matrix,
    transitivity,
    weighted_node_features,
)
from neurodyn.graph._kernels import cycle_weights

TOL = 1e-10


def _random_weights(n, p, seed, signed=False):
    rng = np.random.default_rng(seed)
    low = -1.0 if signed else 0.05
    W = rng.uniform(low, 1.0, (n, n)) * (rng.random((n, n)) < p)
    W = np.triu(W, 1)
    return W + W.T


def _nx_values(values, n):
    return np.array([values[i] for i in range(n)])


def _cases():
    for n, p, seed in [(12, 0.6, 0), (40, 0.3, 1), (80, 0.15, 2), (150, 0.08, 3)]:
        yield _random_weights(n, p, seed)


@pytest.mark.parametrize("W", list(_cases()), ids=lambda W: f"n{W.shape[0]}")
def test_weighted_clustering_equals_bctpy_and_networkx(W):
    n = W.shape[0]
    ours = clustering(W, weighted=True)
    np.testing.assert_allclose(ours, bct.clustering_coef_wu(W / W.max()), rtol=0, atol=TOL)
    ref = _nx_values(nx.clustering(nx.from_numpy_array(W), weight="weight"), n)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
    # every input form gives the same numbers
    for form in (sp.csr_array(W), sp.coo_matrix(W), torch.from_numpy(W), torch.from_numpy(W).to_sparse()):
        np.testing.assert_array_equal(clustering(form, weighted=True), ours)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signed_clustering_equals_bctpy(seed):
    W = _random_weights(60, 0.3, seed, signed=True)
    pos, neg = clustering(W, weighted=True, signed=True)
    ref_pos, ref_neg = bct.clustering_coef_wu_sign(W / np.abs(W).max())
    np.testing.assert_allclose(pos, ref_pos, rtol=0, atol=TOL)
    np.testing.assert_allclose(neg, ref_neg, rtol=0, atol=TOL)
    assert neg.max() > 0 and pos.max() > 0
    # correlations used as given, as bctpy does (weights already in [-1, 1])
    pos1, neg1 = clustering(W, weighted=True, signed=True, normalize=False)
    ref_pos1, ref_neg1 = bct.clustering_coef_wu_sign(W.copy())
    np.testing.assert_allclose(pos1, ref_pos1, rtol=0, atol=TOL)
    np.testing.assert_allclose(neg1, ref_neg1, rtol=0, atol=TOL)


def test_negative_weights_enter_as_signed_cube_roots():
    """Plain weighted clustering of a signed graph: bctpy, and networkx when max w = max |w|."""
    W = _random_weights(50, 0.3, 5, signed=True)
    i, j = np.unravel_index(np.argmax(np.abs(W)), W.shape)
    W[i, j] = W[j, i] = abs(W[i, j])  # networkx divides by max(w), bctpy expects max |w| = 1
    ours = clustering(W, weighted=True)
    np.testing.assert_allclose(ours, bct.clustering_coef_wu(W / np.abs(W).max()), rtol=0, atol=TOL)
    ref = _nx_values(nx.clustering(nx.from_numpy_array(W), weight="weight"), 50)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
    assert ours.min() < 0


def test_binary_graph_weighted_equals_binary():
    A = (_random_weights(70, 0.2, 7) > 0).astype(float)
    np.testing.assert_allclose(clustering(A, weighted=True), clustering(A), rtol=0, atol=1e-14)
    assert transitivity(A, weighted=True) == pytest.approx(transitivity(A), abs=1e-14)


@pytest.mark.parametrize("n,p,seed", [(30, 0.3, 0), (100, 0.1, 1), (200, 0.05, 2)])
def test_transitivity_equals_networkx_and_bctpy(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    A = nx.to_numpy_array(G, nodelist=range(n))
    assert transitivity(A) == nx.transitivity(G)  # both a ratio of Python integers
    assert transitivity(A) == pytest.approx(bct.transitivity_bu(A), abs=TOL)
    W = _random_weights(n, p, seed)
    assert transitivity(W, weighted=True) == pytest.approx(bct.transitivity_wu(W / W.max()), abs=TOL)


def test_transitivity_without_triples_is_zero():
    assert transitivity(np.zeros((4, 4))) == 0.0
    assert transitivity(np.zeros((4, 4)), weighted=True) == 0.0
    with np.errstate(invalid="ignore"):
        assert np.isnan(bct.transitivity_wu(np.zeros((4, 4))))  # bctpy: 0 / 0


@pytest.mark.parametrize("n,p,seed", [(25, 0.3, 0), (60, 0.12, 1)])
def test_square_clustering_equals_networkx(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    A = nx.to_numpy_array(G, nodelist=range(n))
    np.testing.assert_array_equal(square_clustering(A), _nx_values(nx.square_clustering(G), n))


@pytest.mark.parametrize("budget,rows", [(1, 1), (50, 3), (1 << 18, 1024)])
def test_cycle_kernel_against_dense_cube(budget, rows):
    W = _random_weights(90, 0.2, 3, signed=True)
    S = np.sign(W) * np.abs(W) ** (1 / 3)
    ref = np.diag(S @ S @ S)
    got = cycle_weights(sp.csr_array(S), max_rows=rows, candidate_budget=budget, buffer_entries=200)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_diagonal_ignored_and_input_untouched():
    W = _random_weights(30, 0.4, 4)
    R = W + np.eye(30)  # a correlation matrix keeps its ones
    before = R.copy()
    np.testing.assert_array_equal(clustering(R, weighted=True), clustering(W, weighted=True))
    np.testing.assert_array_equal(R, before)
    Rs = sp.csr_array(R)
    data = Rs.data.copy()
    clustering(Rs, weighted=True, signed=True)
    np.testing.assert_array_equal(Rs.data, data)
    assert check_weights(R).diagonal().sum() == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1e-15, 1e-8, 1.0, 1e8, 1e15]))
def test_scale_and_permutation_invariance(seed, scale):
    W = _random_weights(25, 0.4, seed, signed=True)
    ref = clustering(W, weighted=True)
    ref_pos, ref_neg = clustering(W, weighted=True, signed=True)
    np.testing.assert_allclose(clustering(W * scale, weighted=True), ref, rtol=1e-12, atol=1e-15)
    pos, neg = clustering(W * scale, weighted=True, signed=True)
    np.testing.assert_allclose(pos, ref_pos, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(neg, ref_neg, rtol=1e-12, atol=1e-15)
    perm = np.random.default_rng(seed).permutation(25)
    np.testing.assert_allclose(clustering(W[np.ix_(perm, perm)], weighted=True), ref[perm],
                               rtol=1e-12, atol=1e-15)
    assert transitivity(W * scale, weighted=True) == pytest.approx(transitivity(W, weighted=True),
                                                                   rel=1e-12, abs=1e-15)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1e-30, 1.0, 1e30]))
def test_float32_input_gives_the_float64_answer(seed, scale):
    """float32 weights are used exactly (cast to float64): the float64 answer of their values,
    and within 1e-6 (relative rounding of the weights) of the answer for the float64 weights."""
    W = _random_weights(40, 0.3, seed, signed=True) * scale
    W32 = W.astype(np.float32)
    np.testing.assert_array_equal(clustering(W32, weighted=True),
                                  clustering(W32.astype(np.float64), weighted=True))
    np.testing.assert_allclose(clustering(W32, weighted=True), clustering(W, weighted=True),
                               rtol=0, atol=1e-6)


def test_values_in_range():
    W = _random_weights(80, 0.25, 9, signed=True)
    c = clustering(W, weighted=True)
    pos, neg = clustering(W, weighted=True, signed=True)
    assert np.all(np.abs(c) <= 1) and np.all((pos >= 0) & (pos <= 1)) and np.all((neg >= 0) & (neg <= 1))


def test_weighted_validation_messages():
    W = _random_weights(10, 0.5, 0)
    with pytest.raises(ValueError, match="weights must be symmetric"):
        weighted_node_features(np.triu(W))
    with pytest.raises(ValueError, match="adjacency must be finite"):
        clustering(np.where(W > 0.5, np.nan, W), weighted=True)
    with pytest.raises(TypeError, match="adjacency must be real-valued"):
        clustering(W.astype(complex), weighted=True)
    with pytest.raises(ValueError, match="adjacency must be square"):
        clustering(W[:, :5], weighted=True)
    with pytest.raises(ValueError, match="adjacency is empty"):
        clustering(np.zeros((0, 0)), weighted=True)
    with pytest.raises(ValueError, match="signed=True .* weighted=True"):
        clustering(W, signed=True)
    with pytest.raises(TypeError, match="weighted must be True or False"):
        clustering(W, weighted="yes")
    with pytest.raises(TypeError, match="accepts only"):
        clustering(W, weighted=True, engine="torch")
    with pytest.raises(ValueError, match="normalize=False"):
        clustering(W * 3, weighted=True, normalize=False)
    with pytest.raises(ValueError, match="adjacency must be binary"):
        clustering(W)  # weighted input needs weighted=True
    with pytest.raises(ValueError, match="weighted_node_features"):
        node_features(W > 0, ("strength",))
    with pytest.raises(ValueError, match="features"):
        weighted_node_features(W, ("triangles",))


def test_weighted_node_features_strength_and_parts():
    W = _random_weights(30, 0.4, 11, signed=True)
    f = weighted_node_features(W)
    np.testing.assert_allclose(f["strength"], W.sum(axis=1), rtol=1e-12)
    pos, neg = clustering(W, weighted=True, signed=True)
    np.testing.assert_array_equal(f["positive_clustering"], pos)
    np.testing.assert_array_equal(f["negative_clustering"], neg)
    np.testing.assert_array_equal(f["weighted_clustering"], clustering(W, weighted=True))


# ----- proportional thresholds: BCT rounds half up -------------------------------------------

def test_density_rounding_modes():
    # 5 nodes: 10 pairs; density 0.25 asks for 2.5 edges, 0.35 for 3.5
    assert density_to_n_edges(0.25, 5) == 2 and density_to_n_edges(0.25, 5, "half_up") == 3
    assert density_to_n_edges(0.35, 5) == 4 and density_to_n_edges(0.35, 5, "half_up") == 4
    assert density_to_n_edges(0.15, 5) == 2 and density_to_n_edges(0.15, 5, "half_up") == 2
    with pytest.raises(ValueError, match="rounding"):
        density_to_n_edges(0.25, 5, "up")


@pytest.mark.parametrize("n,p", [(5, 0.25), (5, 0.05), (9, 0.125), (20, 0.1), (33, 0.3)])
def test_half_up_threshold_equals_bctpy_threshold_proportional(n, p):
    W = _random_weights(n, 1.1, n)  # complete graph, distinct weights: no ties
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # density 0.05 of 10 pairs: half-even keeps none
        g = threshold_matrix(W, density=p, rounding="half_up", weighted=True)
        g_even = threshold_matrix(W, density=p)
    ref = bct.threshold_proportional(W, p)
    np.testing.assert_array_equal(g.adjacency.toarray(), ref != 0)
    np.testing.assert_array_equal(g.weights.toarray(), ref)
    x = p * n * (n - 1) / 2
    if x - np.floor(x) == 0.5:
        assert g.n_edges == g_even.n_edges + (int(np.floor(x)) % 2 == 0)


def test_correlation_graph_rounding_and_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 5))
    g_up = correlation_graph(X, density=0.25, rounding="half_up", weighted=True)
    g_even = correlation_graph(X, density=0.25)
    assert (g_up.n_edges, g_even.n_edges) == (3, 2)
    R = np.corrcoef(X.T)
    r, c = g_up.weights.nonzero()
    np.testing.assert_allclose(g_up.weights.toarray()[r, c], R[r, c], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(g_up.weights.toarray() != 0, g_up.adjacency.toarray())
    with pytest.raises(ValueError, match="rounding"):
        correlation_graph(X, density=0.25, rounding="even")


def test_graph_features_weighted_maps():
    rng = np.random.default_rng(1)
    latent = rng.standard_normal((2, 80, 3))
    X = latent @ rng.standard_normal((3, 30)) + rng.standard_normal((2, 80, 30))
    feats = ("degree", "strength", "weighted_clustering", "positive_clustering", "negative_clustering")
    gf = GraphFeatures(density=0.2, absolute=True, features=feats)
    rows = gf.fit_transform(X)
    for s in range(2):
        g = correlation_graph(X[s], density=0.2, absolute=True, weighted=True)
        ref = weighted_node_features(g.weights)
        maps = gf.feature_maps(rows[s])
        np.testing.assert_array_equal(maps["degree"], g.adjacency.sum(axis=1))
        for name in feats[1:]:
            np.testing.assert_allclose(maps[name], ref[name], rtol=0, atol=1e-14)
        R = np.corrcoef(X[s].T)
        np.testing.assert_allclose(maps["strength"], (R * g.adjacency.toarray()).sum(axis=1), atol=1e-12)
        assert g.weights.data.min() < 0  # negative correlations kept by absolute=True, with their sign
    gf_up = GraphFeatures(density=0.2, features=("degree",), rounding="half_up")
    assert gf_up.fit_transform(X).shape == (2, 30)
    with pytest.raises(ValueError, match="rounding"):
        GraphFeatures(density=0.2, rounding="bankers").fit(X)
