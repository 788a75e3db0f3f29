"""Communities of a component's pair factor (its "motif" graph).

A component's pair factor, reshaped to an ``N × N`` symmetric matrix, is read
as a weighted graph on the neurons. Two fast readings are offered:

- :func:`louvain_labels`: Louvain modularity communities (networkx), edges =
  the non-zero pair weights (HALS gives exact zeros), optionally thresholded.
- :func:`strength_two_means`: the optimal 1-D 2-means split of node strengths,
  separating the neurons that carry the component ("motif") from the rest.

The paper fits a nested, weighted stochastic block model by description length
(graph-tool); that model is not implemented here (graph-tool is not on PyPI).
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from .._torch import seed_from_random_state
from .._validation import check_symmetric
from .affinity import pairs_to_matrix

__all__ = ["component_graph", "louvain_labels", "strength_two_means", "as_affinity_matrix"]


def as_affinity_matrix(weights: Any, name: str = "weights") -> np.ndarray:
    """A non-negative symmetric ``(N, N)`` matrix from a matrix or a pair vector."""
    arr = np.asarray(weights, dtype=np.float64)
    if arr.ndim == 1:
        arr = pairs_to_matrix(arr)
    arr = check_symmetric(arr, name, atol=1e-10)
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative; got min {arr.min():g}")
    return arr


def component_graph(weights: Any, threshold: float = 0.0) -> nx.Graph:
    """Weighted undirected graph of a component's pair weights.

    Parameters
    ----------
    weights : array-like, (N, N) symmetric or (N (N - 1) / 2,) pair vector
    threshold : float in [0, 1)
        Keep edges whose weight exceeds ``threshold * max(weight)``; 0 keeps all
        non-zero weights. Every neuron is a node, even an isolated one.

    Returns
    -------
    networkx.Graph with a ``"weight"`` edge attribute.
    """
    mat = as_affinity_matrix(weights)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1); got {threshold!r}")
    cut = threshold * mat.max()
    rows, cols = np.triu_indices(mat.shape[0], 1)
    keep = mat[rows, cols] > cut
    graph = nx.Graph()
    graph.add_nodes_from(range(mat.shape[0]))
    graph.add_weighted_edges_from(
        (int(i), int(j), float(w)) for i, j, w in zip(rows[keep], cols[keep], mat[rows, cols][keep])
    )
    return graph


def louvain_labels(weights: Any, resolution: float = 1.0, threshold: float = 0.0,
                   random_state: Any = 0) -> np.ndarray:
    """Louvain communities of a component graph as an ``(N,)`` label array.

    Labels are numbered by decreasing community size (ties by smallest member).

    References
    ----------
    Blondel, V. D., Guillaume, J.-L., Lambiotte, R., Lefebvre, E. (2008). Fast
    unfolding of communities in large networks. J. Stat. Mech. P10008.
    """
    graph = component_graph(weights, threshold)
    labels = np.zeros(graph.number_of_nodes(), dtype=int)
    if graph.number_of_edges() == 0:
        return np.arange(graph.number_of_nodes())
    seed = seed_from_random_state(random_state) % (2**32)
    comms = nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=seed)
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    for i, c in enumerate(comms):
        labels[c] = i
    return labels


def strength_two_means(weights: Any) -> np.ndarray:
    """Split neurons into high-strength (1, "motif") and low-strength (0) groups.

    The exact 1-D 2-means: node strengths are sorted and the split that
    minimises the within-group sum of squares is chosen (deterministic). With
    all strengths equal, every neuron is labelled 1.
    """
    mat = as_affinity_matrix(weights)
    strength = mat.sum(axis=1)
    n = strength.size
    order = np.argsort(strength, kind="stable")
    s = strength[order]
    if np.all(s == s[0]):
        return np.ones(n, dtype=int)
    csum = np.cumsum(s)
    csq = np.cumsum(s**2)
    k = np.arange(1, n)  # size of the low group
    low_sse = csq[:-1] - csum[:-1] ** 2 / k
    high_sum = csum[-1] - csum[:-1]
    high_sse = (csq[-1] - csq[:-1]) - high_sum**2 / (n - k)
    split = int(np.argmin(low_sse + high_sse)) + 1
    labels = np.zeros(n, dtype=int)
    labels[order[split:]] = 1
    return labels
