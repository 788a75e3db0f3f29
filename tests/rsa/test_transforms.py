"""Rank, geo-topological and geodesic transforms against scipy / networkx references."""

import networkx as nx
import numpy as np
import pytest
from scipy import stats
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path
from scipy.spatial.distance import squareform

from neurodyn.rsa import (
    all_pairs_shortest_paths,
    geodesic_transform,
    geotopological_transform,
    graph_geodesic_transform,
    rank_transform,
)


def test_rank_transform_vs_scipy_with_ties_and_nan():
    rng = np.random.default_rng(0)
    v = np.round(rng.random((3, 21)) * 4)
    np.testing.assert_array_equal(rank_transform(v), np.apply_along_axis(stats.rankdata, 1, v))
    w = v[0].copy()
    w[[2, 7]] = np.nan
    got = rank_transform(w)
    assert np.isnan(got[[2, 7]]).all()
    np.testing.assert_array_equal(got[~np.isnan(w)], stats.rankdata(w[~np.isnan(w)]))
    r01 = rank_transform(v, normalize=True)
    ref = np.apply_along_axis(stats.rankdata, 1, v)
    ref = (ref - ref.min(1, keepdims=True)) / (ref.max(1, keepdims=True) - ref.min(1, keepdims=True))
    np.testing.assert_allclose(r01, ref, atol=1e-15)


def test_torch_rank_path_matches_scipy():
    # the sort/searchsorted path used on accelerators, checked on the CPU
    import torch

    from neurodyn.rsa.transforms import _average_ranks_torch

    v = np.round(np.random.default_rng(9).random((4, 50)) * 6)
    got = _average_ranks_torch(torch.from_numpy(v)).numpy()
    np.testing.assert_array_equal(got, stats.rankdata(v, axis=1))


def test_geotopological_clip_formula_per_rdm_quantiles():
    rng = np.random.default_rng(1)
    v = rng.random((2, 28)) * [[1.0], [50.0]]
    got = geotopological_transform(v, 0.3, 0.7, rank_first=False)
    for i in range(2):
        lo, up = np.quantile(v[i], [0.3, 0.7])
        ref = [0.0 if d < lo else 1.0 if d > up else (d - lo) / (up - lo) for d in v[i]]
        np.testing.assert_allclose(got[i], ref, atol=1e-15)
    # rank_first: invariant to monotone rescaling
    np.testing.assert_allclose(geotopological_transform(v, 0.3, 0.7), geotopological_transform(np.exp(v), 0.3, 0.7),
                               atol=1e-15)
    # absolute thresholds
    ref = np.clip((v[0] - 0.2) / 0.5, 0, 1)
    np.testing.assert_allclose(geotopological_transform(v[0], 0.2, 0.7, quantile=False, rank_first=False), ref)


def test_geotopological_lower_equals_upper_is_binary_adjacency():
    v = np.arange(10.0)
    got = geotopological_transform(v, 0.5, 0.5, rank_first=False)
    theta = np.quantile(v, 0.5)
    np.testing.assert_array_equal(got, (v > theta).astype(float))
    assert not np.isnan(got).any()


def test_geotopological_errors():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        geotopological_transform(np.arange(10.0), 0.8, 0.2)
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\]"):
        geotopological_transform(np.arange(10.0), 0.1, 1.5)
    with pytest.raises(ValueError, match="K\\(K-1\\)/2"):
        geotopological_transform(np.arange(11.0))


def test_geodesic_drop_zero_edges_matches_networkx():
    rng = np.random.default_rng(2)
    v = geotopological_transform(rng.random(45), 0.2, 0.8)  # zeros and ones present
    g = nx.from_numpy_array(squareform(v))
    g.remove_edges_from([(i, j) for i, j, w in g.edges.data("weight") if w == 1])
    ref = np.asarray(nx.floyd_warshall_numpy(g))
    got = geodesic_transform(v, zero_edges="drop", disconnected="inf")
    np.testing.assert_allclose(got, squareform(ref, checks=False), rtol=1e-12, atol=1e-12)


def test_geodesic_keep_zero_edges_matches_csgraph():
    rng = np.random.default_rng(3)
    v = geotopological_transform(rng.random(45), 0.3, 0.8)
    m = squareform(v)
    m[m == 1.0] = np.inf
    np.fill_diagonal(m, np.inf)
    ref = shortest_path(csgraph_from_dense(m, null_value=np.inf), method="FW", directed=False)
    got = geodesic_transform(v, zero_edges="keep", disconnected="inf")
    np.testing.assert_allclose(got, squareform(ref, checks=False), rtol=1e-12, atol=1e-12)


def test_disconnected_pairs_max_plus_one_then_ranked_highest():
    # two components {0,1,2} and {3,4}: cross pairs are not connected
    # (the zero pair (0, 2) is not an edge, but 0-1-2 connects it)
    m = np.full((5, 5), 1.0)
    for i, j, w in [(0, 1, 0.2), (1, 2, 0.3), (3, 4, 0.4), (0, 2, 0.0)]:
        m[i, j] = m[j, i] = w
    np.fill_diagonal(m, 0)
    v = squareform(m)
    inf = geodesic_transform(v, disconnected="inf")
    assert np.isinf(inf).sum() == 6
    got = geodesic_transform(v)
    finite_max = inf[np.isfinite(inf)].max()
    np.testing.assert_allclose(got[np.isinf(inf)], finite_max + 1)
    ranked = geodesic_transform(v, rank_after=True)
    assert np.all(ranked[np.isinf(inf)] == ranked.max())


def test_knn_lower_rule_edge_count_and_paths():
    rng = np.random.default_rng(4)
    v = rng.random(66)  # 12 points
    x = rank_transform(v, normalize=True)
    m = squareform(x)
    np.fill_diagonal(m, np.inf)
    nn = np.argsort(m, axis=1, kind="stable")[:, :2]
    g = nx.Graph()
    g.add_nodes_from(range(12))
    for i in range(12):
        for j in range(i + 1, 12):
            # as networkx.from_numpy_array in the authors' code: zero weights are not edges
            if j in nn[i] and m[i, j] > 0:
                g.add_edge(i, j, weight=m[i, j])
    ref = squareform(np.asarray(nx.floyd_warshall_numpy(g)), checks=False)
    got = graph_geodesic_transform(v, "k_nearest", k=2, rank_after=False, disconnected="inf")
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_batched_floyd_warshall_vs_scipy():
    rng = np.random.default_rng(5)
    w = rng.random((3, 8, 8))
    w = (w + np.swapaxes(w, 1, 2)) / 2
    w[w > 0.7] = np.inf
    got = all_pairs_shortest_paths(w)
    for i in range(3):
        ref = shortest_path(csgraph_from_dense(w[i], null_value=np.inf), method="D", directed=False)
        np.testing.assert_allclose(got[i], ref, rtol=1e-12)
