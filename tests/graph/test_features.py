"""Exact node features against networkx (and bctpy when installed) on small graphs."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from neurodyn.graph import (
    check_adjacency,
    clustering,
    degree,
    graph_summary,
    node_features,
    squares,
    strength,
    triangles,
)

ENGINES = ["bitset", "sparse", "torch"]


def _adjacency(G, n=None):
    n = G.number_of_nodes() if n is None else n
    return nx.to_numpy_array(G, nodelist=range(n), dtype=np.int64)


def _nx_degree(G):
    return np.array([G.degree(i) for i in range(G.number_of_nodes())], dtype=np.int64)


def _nx_triangles(G):
    t = nx.triangles(G)
    return np.array([t[i] for i in range(G.number_of_nodes())], dtype=np.int64)


def _nx_clustering(G):
    c = nx.clustering(G)
    return np.array([c[i] for i in range(G.number_of_nodes())])


def _brute_force_squares(G):
    """Simple 4-cycles through each node, enumerated by networkx."""
    q = np.zeros(G.number_of_nodes(), dtype=np.int64)
    for cycle in nx.simple_cycles(G, length_bound=4):
        if len(cycle) == 4:
            q[cycle] += 1
    return q


def _graphs():
    yield "empty", nx.empty_graph(6)
    yield "single", nx.empty_graph(1)
    yield "K7", nx.complete_graph(7)
    yield "star", nx.star_graph(9)
    yield "path", nx.path_graph(8)
    yield "grid", nx.grid_2d_graph(4, 5)
    for n, p, seed in [(30, 0.3, 0), (60, 0.15, 1), (100, 0.08, 2), (150, 0.05, 3), (200, 0.03, 4)]:
        yield f"gnp{n}", nx.gnp_random_graph(n, p, seed=seed)


GRAPHS = [pytest.param(nx.convert_node_labels_to_integers(G), id=name) for name, G in _graphs()]


@pytest.mark.parametrize("G", GRAPHS)
def test_counts_equal_networkx(G):
    ref_degree, ref_tri = _nx_degree(G), _nx_triangles(G)
    ref_clust, ref_sq = _nx_clustering(G), _brute_force_squares(G)
    for engine in ENGINES:
        f = node_features(_adjacency(G), engine=engine, device="cpu")
        assert f["degree"].dtype == np.int64 and f["triangles"].dtype == np.int64
        assert np.array_equal(f["degree"], ref_degree), engine
        assert np.array_equal(f["triangles"], ref_tri), engine
        np.testing.assert_allclose(f["clustering"], ref_clust, rtol=0, atol=1e-12)
        assert np.array_equal(f["squares"], ref_sq), engine


def test_closed_forms():
    n = 9
    f = node_features(np.ones((n, n), dtype=bool) & ~np.eye(n, dtype=bool))
    assert np.all(f["triangles"] == (n - 1) * (n - 2) // 2)  # C(n - 1, 2)
    assert np.all(f["squares"] == (n - 1) * (n - 2) * (n - 3) // 2)  # ordered (j, l) pairs / 2 per k
    assert np.all(f["clustering"] == 1.0)
    star = node_features(nx.to_numpy_array(nx.star_graph(6), dtype=int))
    assert not star["triangles"].any() and not star["squares"].any() and not star["clustering"].any()


def test_larger_random_graph_triangles():
    G = nx.gnp_random_graph(500, 0.03, seed=11)
    A = sp.csr_array(nx.to_scipy_sparse_array(G, nodelist=range(500), dtype=np.int8))
    for engine in ENGINES:
        assert np.array_equal(triangles(A, engine=engine, device="cpu"), _nx_triangles(G))
    assert np.array_equal(degree(A), _nx_degree(G))


def test_bctpy_clustering_when_installed():
    bct = pytest.importorskip("bct")
    G = nx.gnp_random_graph(120, 0.1, seed=5)
    A = _adjacency(G).astype(float)
    np.testing.assert_allclose(clustering(A), bct.clustering_coef_bu(A), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(degree(A), bct.degrees_und(A))


def test_input_forms_agree():
    G = nx.gnp_random_graph(40, 0.2, seed=3)
    dense = _adjacency(G)
    ref = node_features(dense)
    forms = [dense.astype(bool), dense.astype(np.uint8), dense.astype(float),
             sp.coo_matrix(dense), sp.csr_array(dense.astype(bool)), torch.from_numpy(dense)]
    for form in forms:
        got = node_features(form)
        for k in ref:
            assert np.array_equal(got[k], ref[k]), (type(form), k)
    assert np.array_equal(squares(dense), ref["squares"])


def test_block_size_and_engines_identical():
    G = nx.gnp_random_graph(90, 0.2, seed=8)
    A = _adjacency(G)
    ref = node_features(A, engine="sparse", block_size=1000)
    for engine, bs in [("sparse", 7), ("torch", 13), ("bitset", 1)]:
        got = node_features(A, engine=engine, block_size=bs, device="cpu")
        for k in ("degree", "triangles", "squares"):
            assert np.array_equal(got[k], ref[k])


def test_feature_selection_and_aliases():
    A = _adjacency(nx.gnp_random_graph(20, 0.3, seed=1))
    f = node_features(A, ("tri", "4-cycles"))
    assert list(f) == ["triangles", "squares"]
    with pytest.raises(ValueError, match="features must be one of"):
        node_features(A, ("betweenness",))
    with pytest.raises(ValueError, match="engine must be one of"):
        node_features(A, engine="gpu")


def test_summary_totals():
    G = nx.gnp_random_graph(60, 0.12, seed=2)
    s = graph_summary(_adjacency(G))
    assert s["n_edges"] == G.number_of_edges()
    assert s["n_triangles"] == sum(nx.triangles(G).values()) // 3
    assert s["n_squares"] == sum(1 for c in nx.simple_cycles(G, length_bound=4) if len(c) == 4)
    assert s["max_degree"] == max(dict(G.degree).values())
    assert abs(s["mean_clustering"] - nx.average_clustering(G)) < 1e-12


def test_strength_of_weighted_graph():
    rng = np.random.default_rng(0)
    W = rng.random((15, 15))
    W = (W + W.T) / 2
    G = nx.from_numpy_array(W - np.diag(np.diag(W)))
    ref = np.array([G.degree(i, weight="weight") for i in range(15)])
    np.testing.assert_allclose(strength(W), ref, rtol=1e-12)
    np.testing.assert_allclose(strength(sp.csr_array(W)), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="weights must be symmetric"):
        strength(np.triu(W))


def test_invalid_adjacency_messages():
    A = _adjacency(nx.cycle_graph(5))
    with pytest.raises(ValueError, match=r"adjacency must be symmetric .* 5 asymmetric pair\(s\), first at \(0, 1\)"):
        check_adjacency(np.triu(A))
    with pytest.raises(ValueError, match=r"adjacency must be binary .* got 10 other values \(e\.g\. 0\.5\)"):
        check_adjacency(A * 0.5)
    with pytest.raises(ValueError, match=r"adjacency has 1 self-loop\(s\) .* first at node 2"):
        check_adjacency(A + np.diag([0, 0, 1, 0, 0]))
    with pytest.raises(ValueError, match="adjacency must be square"):
        check_adjacency(A[:4])
    with pytest.raises(ValueError, match="adjacency must be square"):
        check_adjacency(sp.csr_array(A[:4]))
    bad = A.astype(float)
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="adjacency must be finite"):
        check_adjacency(bad)
    with pytest.raises(ValueError, match="adjacency is empty"):
        check_adjacency(np.empty((0, 0)))
    with pytest.raises(ValueError, match="adjacency must be binary"):
        node_features(sp.csr_array(A * 3))


def test_caller_adjacency_not_modified():
    A = _adjacency(nx.gnp_random_graph(30, 0.3, seed=0))
    S = sp.csr_array(A.astype(float))
    before_dense, before_sparse = A.copy(), S.copy()
    node_features(A)
    node_features(S)
    assert np.array_equal(A, before_dense)
    assert (S != before_sparse).nnz == 0 and S.dtype == np.float64
