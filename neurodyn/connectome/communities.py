"""Communities of a component's pair factor (its "motif" graph).

A component's pair factor, reshaped to an ``N × N`` symmetric matrix, is read
as a weighted graph on the neurons. Two fast readings are offered:

- :func:`louvain_labels`: Louvain modularity communities (networkx), edges =
  the non-zero pair weights (HALS gives exact zeros), optionally thresholded.
- :func:`strength_two_means`: the optimal 1-D 2-means split of node strengths,
  separating the neurons that carry the component ("motif") from the rest.

- :func:`weighted_sbm`: a flat weighted stochastic block model with exponential
  edge weights, fitted by minimising its description length (greedy moves and
  merges), degree correction chosen by description length. The paper uses
  graph-tool's nested SBM (not on PyPI); this is a simpler stand-in.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from scipy.special import gammaln

from .._torch import seed_from_random_state
from .._validation import (
    check_array,
    check_finite,
    check_scalar,
    check_symmetric,
    pow2_scale,
)
from .affinity import n_nodes_from_pairs, pairs_to_matrix

__all__ = ["component_graph", "louvain_labels", "strength_two_means", "as_affinity_matrix",
           "weighted_sbm", "sbm_description_length"]


def as_affinity_matrix(weights: Any, name: str = "weights") -> np.ndarray:
    """A non-negative symmetric ``(N, N)`` matrix from a matrix or a pair vector."""
    arr = check_array(weights, name, ndim=(1, 2), dims="(N, N) or (N (N - 1) / 2,) pair vector")
    check_finite(arr, name)
    if arr.ndim == 1:
        arr = pairs_to_matrix(arr, n_nodes_from_pairs(arr.size, f"{name} (a pair vector)"))
    elif arr.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 nodes; got shape {arr.shape}")
    arr = check_symmetric(arr, name, atol=1e-10)
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative; got min {arr.min():g}")
    return arr


def _pow2_normalised(mat: np.ndarray) -> tuple[np.ndarray, float]:
    """``mat`` divided by a power of two near its largest entry (:func:`pow2_scale`), and
    the log of that factor.

    Division by a power of two is exact, so partitions (which are invariant to a
    common scale of the weights) are unchanged, while sums and squares of
    weights near 1e+-300 neither overflow nor underflow.
    """
    scale = pow2_scale(float(mat.max()) if mat.size else 0.0)
    return (mat, 0.0) if scale == 1.0 else (mat / scale, float(np.log(scale)))


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
    threshold = check_scalar(threshold, "threshold", low=0.0, high=1.0, high_inclusive=False)
    cut = threshold * mat.max()
    rows, cols = np.triu_indices(mat.shape[0], 1)
    keep = mat[rows, cols] > cut
    graph = nx.Graph()
    graph.add_nodes_from(range(mat.shape[0]))
    graph.add_weighted_edges_from(
        (int(i), int(j), float(w)) for i, j, w in zip(rows[keep], cols[keep], mat[rows, cols][keep], strict=True)
    )
    return graph


def louvain_labels(weights: Any, resolution: float = 1.0, threshold: float = 0.0,
                   random_state: Any = 0) -> np.ndarray:
    """Louvain communities of a component graph as an ``(N,)`` label array.

    Labels are numbered by decreasing community size (ties by smallest member).
    ``resolution`` > 0 (modularity's resolution; larger gives smaller communities).

    References
    ----------
    Blondel, V. D., Guillaume, J.-L., Lambiotte, R., Lefebvre, E. (2008). Fast
    unfolding of communities in large networks. J. Stat. Mech. P10008.
    """
    resolution = check_scalar(resolution, "resolution", low=0.0, low_inclusive=False)
    if np.isinf(resolution):
        raise ValueError("resolution must be finite; got inf")
    # modularity is invariant to a common scale of the weights; normalising keeps
    # networkx's sums of weights finite for weights near 1e+-300
    graph = component_graph(_pow2_normalised(as_affinity_matrix(weights))[0], threshold)
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
    mat = _pow2_normalised(as_affinity_matrix(weights))[0]
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


# --------------------------------------------------------------------------- weighted SBM


def _log_binom(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _one_hot(labels: np.ndarray, n_groups: int) -> np.ndarray:
    z = np.zeros((labels.size, n_groups))
    z[np.arange(labels.size), labels] = 1.0
    return z


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel groups 0..B-1 by decreasing size (ties: smallest member first)."""
    groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    groups.sort(key=lambda g: (-g.size, g[0]))
    out = np.empty_like(labels)
    for i, g in enumerate(groups):
        out[g] = i
    return out


class _SBMGraph:
    """Adjacency, weights and fixed quantities of a weighted graph for DL evaluation."""

    def __init__(self, mat: np.ndarray):
        # weights scaled by a power of two s: the description length of s * W is
        # that of W plus n_edges * log(s), the same for every partition
        mat, self.log_scale = _pow2_normalised(mat)
        self.weights = mat
        self.adjacency = (mat > 0).astype(float)
        self.n_nodes = mat.shape[0]
        self.degrees = self.adjacency.sum(axis=1)
        self.n_edges = float(self.adjacency.sum() / 2)
        total = float(mat.sum() / 2)
        # empirical-Bayes scale of the exponential rates' Gamma(1, theta) prior
        self.theta = total / self.n_edges if self.n_edges else 1.0
        self.sum_log_k_fact = float(gammaln(self.degrees + 1).sum())

    def description_length(self, labels: np.ndarray, degree_corrected: bool) -> float:
        n_groups = int(labels.max()) + 1
        z = _one_hot(labels, n_groups)
        sizes = z.sum(axis=0)
        if (sizes == 0).any():  # empty groups are not part of a partition
            keep = sizes > 0
            z, sizes = z[:, keep], sizes[keep]
            n_groups = z.shape[1]
        n = self.n_nodes
        e = z.T @ self.adjacency @ z  # off-diagonal: edge counts; diagonal: twice the count
        x = z.T @ self.weights @ z
        m_within = np.diag(e) / 2
        iu = np.triu_indices(n_groups, 1)
        m_between = e[iu]
        # partition: number of groups, group sizes, labels given sizes
        dl = np.log(n) + _log_binom(n - 1, n_groups - 1) + gammaln(n + 1) - gammaln(sizes + 1).sum()
        # edge counts between groups: uniform over multisets of E edges in B(B+1)/2 pairs
        q = n_groups * (n_groups + 1) / 2
        dl += _log_binom(q + self.n_edges - 1, self.n_edges)
        # adjacency given the edge counts (multigraph ensembles)
        e_r = e.sum(axis=1)
        common = gammaln(m_between + 1).sum() + (gammaln(m_within + 1) + m_within * np.log(2)).sum()
        if degree_corrected:
            dl += gammaln(e_r + 1).sum() - common - self.sum_log_k_fact
            dl += _log_binom(sizes + e_r - 1, e_r).sum()  # uniform degree sequence prior per group
        else:
            dl += (e_r * np.log(sizes)).sum() - common
        # exponential weights, rate integrated against Gamma(1, theta)
        m_blocks = np.concatenate([m_between, m_within])
        x_blocks = np.concatenate([x[iu], np.diag(x) / 2])
        used = m_blocks > 0
        m_b, x_b = m_blocks[used], x_blocks[used]
        dl += (-np.log(self.theta) - gammaln(m_b + 1) + (m_b + 1) * np.log(x_b + self.theta)).sum()
        return float(dl + self.n_edges * self.log_scale)


def sbm_description_length(weights: Any, labels: Any, degree_corrected: bool = False) -> float:
    """Description length (nats) of a weighted graph under a block partition.

    Sum of: the partition (number of groups, sizes, labels), the edge counts
    between groups, the adjacency given those counts (multigraph ensembles,
    with or without degree correction and a uniform degree prior), and the
    edge weights, exponential within each pair of groups with the rate
    integrated against a Gamma(1, theta) prior, theta = mean edge weight. Edges
    are the non-zero weights. Lower is better.

    References
    ----------
    Peixoto, T. P. (2017). Nonparametric Bayesian inference of the microcanonical
    stochastic block model. Phys. Rev. E 95:012317.
    Peixoto, T. P. (2018). Nonparametric weighted stochastic block models.
    Phys. Rev. E 97:012306.
    """
    mat = as_affinity_matrix(weights)
    lab = check_array(labels, "labels", ndim=1, dims="(N,)", dtype=None)
    if lab.dtype.kind == "f":
        check_finite(lab, "labels")
        if not np.all(lab == np.round(lab)):
            raise ValueError("labels must be integer group labels; got non-integer values")
    elif lab.dtype.kind not in "iub":
        raise TypeError(f"labels must be integer group labels; got dtype {lab.dtype}")
    if lab.shape != (mat.shape[0],):
        raise ValueError(f"labels must have one entry per node of weights ({mat.shape[0]} nodes); "
                         f"got shape {lab.shape}")
    graph = _SBMGraph(mat)
    if graph.n_edges == 0:
        raise ValueError("weights has no non-zero edge")
    return graph.description_length(np.unique(lab, return_inverse=True)[1], degree_corrected)


def _greedy_sbm(graph: _SBMGraph, labels: np.ndarray, degree_corrected: bool,
                max_sweeps: int) -> tuple[np.ndarray, float]:
    """Single-node moves and group merges while the description length drops."""
    labels = _canonical(labels)
    best = graph.description_length(labels, degree_corrected)
    changed = True
    while changed:
        changed = False
        for _ in range(max_sweeps):
            moved = False
            for i in range(graph.n_nodes):
                current = labels[i]
                n_groups = labels.max() + 1
                best_g, best_dl = current, best
                for g in range(n_groups + 1):  # n_groups = a new group of its own
                    if g == current or (g == n_groups and (labels == current).sum() == 1):
                        continue
                    trial = labels.copy()
                    trial[i] = g
                    dl = graph.description_length(np.unique(trial, return_inverse=True)[1],
                                                  degree_corrected)
                    if dl < best_dl - 1e-9:
                        best_g, best_dl = g, dl
                if best_g != current:
                    labels[i] = best_g
                    labels = np.unique(labels, return_inverse=True)[1]
                    best = best_dl
                    moved = changed = True
            if not moved:
                break
        # merge the pair of groups that lowers the description length most
        n_groups = labels.max() + 1
        best_pair, best_dl = None, best
        for r in range(n_groups):
            for s in range(r + 1, n_groups):
                trial = np.where(labels == s, r, labels)
                dl = graph.description_length(np.unique(trial, return_inverse=True)[1], degree_corrected)
                if dl < best_dl - 1e-9:
                    best_pair, best_dl = (r, s), dl
        if best_pair is not None:
            labels = np.unique(np.where(labels == best_pair[1], best_pair[0], labels), return_inverse=True)[1]
            best = best_dl
            changed = True
    return _canonical(labels), best


def weighted_sbm(weights: Any, degree_corrected: bool | str = "auto", max_sweeps: int = 20,
                 random_state: Any = 0) -> dict:
    """Communities by a weighted stochastic block model fitted by minimum description length.

    A flat (non-nested) stand-in for the nested SBM with exponential edge
    weights that the paper fits with graph-tool: the partition, its number of
    groups, and (with ``degree_corrected="auto"``) the degree correction are
    chosen by the smallest :func:`sbm_description_length`. The search starts
    from the Louvain partition, the motif/background 2-means split and the
    single group, then applies greedy single-node moves and group merges; it
    finds a local optimum, not graph-tool's agglomerative MCMC result.

    Parameters
    ----------
    weights : array-like, (N, N) symmetric or pair vector
    degree_corrected : bool or "auto"
        "auto" fits both and keeps the smaller description length.
    max_sweeps : int
        Maximum sweeps of node moves between merge steps.
    random_state : int
        Seed of the Louvain start.

    Returns
    -------
    dict with ``labels`` (N,), ``description_length``, ``degree_corrected``,
    ``n_groups`` and ``description_lengths`` ({False: ..., True: ...} for "auto").

    References
    ----------
    Peixoto, T. P. (2018). Nonparametric weighted stochastic block models.
    Phys. Rev. E 97:012306.
    """
    mat = as_affinity_matrix(weights)
    max_sweeps = check_scalar(max_sweeps, "max_sweeps", low=1, integer=True)
    if not (isinstance(degree_corrected, (bool, np.bool_)) or degree_corrected == "auto"):
        raise ValueError(f"degree_corrected must be True, False or 'auto'; got {degree_corrected!r}")
    graph = _SBMGraph(mat)
    if graph.n_edges == 0:
        raise ValueError("weights has no non-zero edge; nothing to partition")
    starts = [louvain_labels(mat, random_state=random_state), strength_two_means(mat),
              np.zeros(mat.shape[0], dtype=int)]
    options = [False, True] if degree_corrected == "auto" else [bool(degree_corrected)]
    results = {}
    for dc in options:
        fits = [_greedy_sbm(graph, s.copy(), dc, max_sweeps) for s in starts]
        results[dc] = min(fits, key=lambda f: f[1])
    chosen = min(results, key=lambda d: results[d][1])
    labels, dl = results[chosen]
    return {"labels": labels, "description_length": dl, "degree_corrected": chosen,
            "n_groups": int(labels.max()) + 1,
            "description_lengths": {d: results[d][1] for d in results}}
