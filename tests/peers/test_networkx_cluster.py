"""networkx's own clustering tests, ported to neurodyn's adjacency-matrix API.

Source: networkx/networkx, ``networkx/algorithms/tests/test_cluster.py`` (as
shipped with networkx 3.6.1). Each case builds the same graph as the original,
turns it into a matrix (``nx.to_numpy_array``, nodes in sorted order) and
asserts the original's expected values (the numbers written in networkx's
test, not values computed by networkx here).

Not ported, because neurodyn has no counterpart: ``all_triangles`` (triangle
listing), ``generalized_degree``, the ``nodes=`` subsets (every node is
computed), and the directed-graph classes (neurodyn's graphs are undirected;
an asymmetric matrix is refused, checked below). Differences of
representation, each asserted explicitly: a graph of 0 nodes and self-loops
are refused with a message (networkx returns ``{}`` / ignores the loops), and
an edge of weight 0 cannot exist in a matrix (0 means no edge).
"""

import networkx as nx
import numpy as np
import pytest

from neurodyn.graph import clustering, square_clustering, transitivity, triangles


def _adj(G, weight="weight"):
    return nx.to_numpy_array(G, nodelist=sorted(G), weight=weight)


def _k5_minus_12():
    G = nx.complete_graph(5)
    G.remove_edge(1, 2)
    return G


# ----- square clustering ---------------------------------------------------------------------

def test_square_clustering_adjacent_squares():
    """test_cluster.py::test_square_clustering_adjacent_squares."""
    G = nx.Graph([(1, 2), (1, 3), (2, 4), (3, 4), (3, 5), (4, 6), (5, 6)])
    expected = [0.5, 0.5, 1 / 3, 1 / 3, 0.5, 0.5]
    assert square_clustering(_adj(G)).tolist() == expected


def test_square_clustering_2d_grid():
    """test_cluster.py::test_square_clustering_2d_grid."""
    G = nx.grid_2d_graph(3, 3)
    expected = {(0, 0): 1 / 3, (0, 1): 0.25, (0, 2): 1 / 3, (1, 0): 0.25, (1, 1): 0.2, (1, 2): 0.25,
                (2, 0): 1 / 3, (2, 1): 0.25, (2, 2): 1 / 3}
    assert square_clustering(_adj(G)).tolist() == [expected[v] for v in sorted(G)]


def test_square_clustering_multiple_squares_non_complete():
    """test_cluster.py::test_square_clustering_multiple_squares_non_complete."""
    G = nx.Graph([(0, 1), (0, 2), (1, 3), (2, 3), (1, 4), (2, 4), (1, 5), (2, 5)])
    assert square_clustering(_adj(G)).tolist() == [1.0] * 6


class TestSquareClustering:
    def test_clustering(self):
        """test_cluster.py::TestSquareClustering::test_clustering (the empty graph).

        Representation difference: neurodyn refuses a 0-node graph.
        """
        with pytest.raises(ValueError, match="adjacency is empty"):
            square_clustering(np.zeros((0, 0)))

    def test_path(self):
        """test_cluster.py::TestSquareClustering::test_path."""
        assert square_clustering(_adj(nx.path_graph(10))).tolist() == [0] * 10

    def test_cubical(self):
        """test_cluster.py::TestSquareClustering::test_cubical."""
        assert square_clustering(_adj(nx.cubical_graph())).tolist() == [1 / 3] * 8

    def test_k5(self):
        """test_cluster.py::TestSquareClustering::test_k5."""
        assert square_clustering(_adj(nx.complete_graph(5))).tolist() == [1] * 5

    def test_bipartite_k5(self):
        """test_cluster.py::TestSquareClustering::test_bipartite_k5."""
        assert square_clustering(_adj(nx.complete_bipartite_graph(5, 5))).tolist() == [1] * 10

    def test_lind_square_clustering(self):
        """test_cluster.py::TestSquareClustering::test_lind_square_clustering (Lind et al. 2005, fig. 1)."""
        G = nx.Graph([(1, 2), (1, 3), (1, 6), (1, 7), (2, 4), (2, 5), (3, 4), (3, 5), (6, 7), (7, 8),
                      (6, 8), (7, 9), (7, 10), (6, 11), (6, 12), (2, 13), (2, 14), (3, 15), (3, 16)])
        G1 = G.subgraph([1, 2, 3, 4, 5, 13, 14, 15, 16])
        G2 = G.subgraph([1, 6, 7, 8, 9, 10, 11, 12])
        # node 1 is the first in sorted order of each graph
        assert square_clustering(_adj(G))[0] == 3 / 43
        assert square_clustering(_adj(G1))[0] == 2 / 6
        assert square_clustering(_adj(G2))[0] == 1 / 5

    def test_peng_square_clustering(self):
        """test_cluster.py::TestSquareClustering::test_peng_square_clustering (Peng et al. 2008, table 1)."""
        G = nx.Graph([(1, 2), (1, 3), (2, 4), (3, 4), (3, 5), (3, 6)])
        assert square_clustering(_adj(G)).tolist() == [1 / 3, 1, 0.2, 1 / 3, 0, 0]

    def test_self_loops_square_clustering(self):
        """test_cluster.py::TestSquareClustering::test_self_loops_square_clustering.

        Representation difference: networkx ignores self-loops, neurodyn refuses them
        (a nonzero diagonal in a binary adjacency is usually a mistake); without
        them the values are networkx's.
        """
        G = nx.path_graph(5)
        assert square_clustering(_adj(G)).tolist() == [0] * 5
        G.add_edges_from([(0, 0), (1, 1), (2, 2)])
        with pytest.raises(ValueError, match="self-loop"):
            square_clustering(_adj(G))
        A = _adj(G)
        np.fill_diagonal(A, 0)
        assert square_clustering(A).tolist() == [0] * 5


# ----- triangles -----------------------------------------------------------------------------

class TestTriangles:
    def test_empty(self):
        """test_cluster.py::TestTriangles::test_empty (refused: 0 nodes)."""
        with pytest.raises(ValueError, match="adjacency is empty"):
            triangles(np.zeros((0, 0)))

    def test_path(self):
        """test_cluster.py::TestTriangles::test_path."""
        assert triangles(_adj(nx.path_graph(10))).tolist() == [0] * 10

    def test_cubical(self):
        """test_cluster.py::TestTriangles::test_cubical."""
        t = triangles(_adj(nx.cubical_graph()))
        assert t.tolist() == [0] * 8 and t[1] == 0 and t[[1, 2]].tolist() == [0, 0]

    def test_k5(self):
        """test_cluster.py::TestTriangles::test_k5 (the self-edge is refused, see the module notes)."""
        G = nx.complete_graph(5)
        t = triangles(_adj(G))
        assert t.tolist() == [6] * 5 and t.sum() / 3 == 10 and t[1] == 6
        G.remove_edge(1, 2)
        assert triangles(_adj(G)).tolist() == [5, 3, 3, 5, 5]
        G.add_edge(3, 3)
        with pytest.raises(ValueError, match="self-loop"):
            triangles(_adj(G))
        A = _adj(G)
        np.fill_diagonal(A, 0)
        assert triangles(A).tolist() == [5, 3, 3, 5, 5]


def test_directed_graph_refused():
    """test_cluster.py::TestDirectedClustering / test_all_triangles_directed_graph: not applicable.

    neurodyn's graphs are undirected; a directed (asymmetric) matrix is refused
    with a message instead of being read as something else.
    """
    A = _adj(nx.cycle_graph(3, create_using=nx.DiGraph()))
    with pytest.raises(ValueError, match="symmetric"):
        clustering(A)
    with pytest.raises(ValueError, match="symmetric"):
        clustering(A, weighted=True)


# ----- clustering ----------------------------------------------------------------------------

class TestClustering:
    def test_clustering(self):
        """test_cluster.py::TestClustering::test_clustering (refused: 0 nodes)."""
        with pytest.raises(ValueError, match="adjacency is empty"):
            clustering(np.zeros((0, 0)))

    def test_path(self):
        """test_cluster.py::TestClustering::test_path."""
        assert clustering(_adj(nx.path_graph(10))).tolist() == [0] * 10

    def test_cubical(self):
        """test_cluster.py::TestClustering::test_cubical."""
        c = clustering(_adj(nx.cubical_graph()))
        assert c.tolist() == [0] * 8 and c[1] == 0 and c[[1, 2]].tolist() == [0, 0]

    def test_k5(self):
        """test_cluster.py::TestClustering::test_k5."""
        c = clustering(_adj(nx.complete_graph(5)))
        assert c.tolist() == [1] * 5 and c.mean() == 1
        c = clustering(_adj(_k5_minus_12()))
        assert c.tolist() == [5 / 6, 1, 1, 5 / 6, 5 / 6]
        assert c[[1, 4]].tolist() == [1, 0.83333333333333337]

    def test_k5_signed(self):
        """test_cluster.py::TestClustering::test_k5_signed (weight -1 on edge 0-1)."""
        G = _k5_minus_12()
        G.add_edge(0, 1, weight=-1)
        assert clustering(_adj(G), weighted=True).tolist() == [1 / 6, -1 / 3, 1, 3 / 6, 3 / 6]


class TestWeightedClustering:
    def test_clustering(self):
        """test_cluster.py::TestWeightedClustering::test_clustering (refused: 0 nodes)."""
        with pytest.raises(ValueError, match="adjacency is empty"):
            clustering(np.zeros((0, 0)), weighted=True)

    def test_path(self):
        """test_cluster.py::TestWeightedClustering::test_path."""
        assert clustering(_adj(nx.path_graph(10)), weighted=True).tolist() == [0] * 10

    def test_cubical(self):
        """test_cluster.py::TestWeightedClustering::test_cubical."""
        c = clustering(_adj(nx.cubical_graph()), weighted=True)
        assert c.tolist() == [0] * 8 and c[[1, 2]].tolist() == [0, 0]

    def test_k5(self):
        """test_cluster.py::TestWeightedClustering::test_k5."""
        c = clustering(_adj(nx.complete_graph(5)), weighted=True)
        assert c.tolist() == [1] * 5 and c.mean() == 1
        c = clustering(_adj(_k5_minus_12()), weighted=True)
        assert c.tolist() == [5 / 6, 1, 1, 5 / 6, 5 / 6]
        assert c[[1, 4]].tolist() == [1, 0.83333333333333337]

    def test_triangle_and_edge(self):
        """test_cluster.py::TestWeightedClustering::test_triangle_and_edge (networkx's tolerance, 1e-7)."""
        G = nx.cycle_graph(3)
        G.add_edge(0, 4, weight=2)
        assert clustering(_adj(G) != 0)[0] == 1 / 3  # networkx's unweighted call: the edges only
        np.testing.assert_allclose(clustering(_adj(G), weighted=True)[0], 1 / 6)

    def test_triangle_and_signed_edge(self):
        """test_cluster.py::TestWeightedClustering::test_triangle_and_signed_edge.

        Representation difference: the original adds an edge 3-0 of weight 0, which
        networkx counts in node 0's degree (3, giving -1/3). In a matrix a zero weight
        is no edge, so node 0 has degree 2 and Onnela's formula gives
        ``2 * cbrt(-1 * 1 * 1) / (2 * 1) = -1``; networkx agrees on the graph without
        that edge, which is the graph the matrix describes.
        """
        G = nx.cycle_graph(3)
        G.add_edge(0, 1, weight=-1)
        G.add_edge(3, 0, weight=0)
        A = _adj(G)
        assert clustering(A != 0)[0] == 1.0  # binary: node 0 has degree 2, in one triangle
        assert clustering(A, weighted=True)[0] == -1.0
        G.remove_edge(3, 0)
        assert nx.clustering(G)[0] == 1.0
        assert nx.clustering(G, weight="weight")[0] == -1.0


def test_peer_defect_networkx_scales_signed_weights_by_max_not_max_abs():
    """Peer defect (not a ported case): networkx divides the weights by ``max(w)``.

    networkx/algorithms/cluster.py::_weighted_triangles_and_degree_iter takes
    ``max_weight = max(w)``. When the strongest weight is negative, normalised
    weights exceed 1 in magnitude and the coefficient leaves [-1, 1]. Here a
    triangle of weights -2 next to one edge of weight 1: networkx gives -2 for
    the triangle's corners, an impossible clustering coefficient. Onnela's
    normalisation by the largest magnitude gives, by hand,
    ``2 * cbrt((-2/2)^3) / (2 * 1) = -1``, which neurodyn returns.
    """
    G = nx.Graph()
    G.add_weighted_edges_from([(0, 1, -2.0), (1, 2, -2.0), (0, 2, -2.0), (3, 4, 1.0)])
    assert nx.clustering(G, weight="weight")[0] == pytest.approx(-2.0)  # the defect
    c = clustering(_adj(G), weighted=True)
    by_hand = 2 * np.cbrt((-2 / 2) ** 3) / (2 * 1)
    assert c[:3].tolist() == [by_hand] * 3 == [-1.0] * 3
    assert np.all(np.abs(c) <= 1)


class TestTransitivity:
    def test_transitivity(self):
        """test_cluster.py::TestTransitivity::test_transitivity (refused: 0 nodes)."""
        with pytest.raises(ValueError, match="adjacency is empty"):
            transitivity(np.zeros((0, 0)))

    def test_path(self):
        """test_cluster.py::TestTransitivity::test_path."""
        assert transitivity(_adj(nx.path_graph(10))) == 0

    def test_cubical(self):
        """test_cluster.py::TestTransitivity::test_cubical."""
        assert transitivity(_adj(nx.cubical_graph())) == 0

    def test_k5(self):
        """test_cluster.py::TestTransitivity::test_k5."""
        assert transitivity(_adj(nx.complete_graph(5))) == 1
        assert transitivity(_adj(_k5_minus_12())) == 0.875


class TestAverageClustering:
    """The average is the mean of neurodyn's per-node vector (``count_zeros=False``: of its nonzeros)."""

    def test_average_clustering(self):
        """test_cluster.py::TestAverageClustering::test_average_clustering."""
        G = nx.cycle_graph(3)
        G.add_edge(2, 3)
        c = clustering(_adj(G))
        assert c.mean() == (1 + 1 + 1 / 3) / 4
        assert c[c != 0].mean() == (1 + 1 + 1 / 3) / 3
        sub = c[[1, 2, 3]]
        assert sub.mean() == (1 + 1 / 3) / 3
        assert sub[sub != 0].mean() == (1 + 1 / 3) / 2

    def test_average_clustering_signed(self):
        """test_cluster.py::TestAverageClustering::test_average_clustering_signed."""
        G = nx.cycle_graph(3)
        G.add_edge(2, 3)
        G.add_edge(0, 1, weight=-1)
        c = clustering(_adj(G), weighted=True)
        assert c.mean() == (-1 - 1 - 1 / 3) / 4
        assert c[c != 0].mean() == (-1 - 1 - 1 / 3) / 3
