"""Sparse kernels behind the weighted graph measures of :mod:`neurodyn.graph.features`.

``cycle_weights(S)`` returns, for a symmetric sparse matrix ``S`` with zero
diagonal, the per-node sums ``t_i = sum_{j,k} S_ij S_jk S_ki`` (``diag(S^3)``:
every triangle through ``i`` counted once per orientation), without forming
``S^2`` or any dense ``n x n`` array.

Algorithm ("forward" triangle listing). Edges are oriented from the smaller to
the larger index (the strict upper triangle ``U``). Every triangle ``i < j < k``
is then found exactly once, as the edge ``i -> j`` followed by ``j -> k`` and
closed by ``i -> k``. Rows ``i`` are taken in blocks: the block's rows of ``U``
are scattered into a small dense buffer, every candidate ``k`` of every edge
``i -> j`` of the block is looked up in it, and the product of the three
weights of each closed triangle is added to its three corners. Work is
``sum_j indeg(j) * outdeg(j)`` (about ``n d^2 / 4`` for mean degree ``d``)
instead of the ``n^3`` of the dense ``diag(S @ S @ S)``; memory is bounded by
``candidate_budget`` candidates and ``buffer_entries`` buffer entries per block.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Candidates per block (about 10 float64/int64 arrays of this length) and entries of the
# dense row buffer: both small enough to stay in cache, which is what makes the lookups fast.
_CANDIDATE_BUDGET = 1 << 18
_BUFFER_ENTRIES = 1 << 19


def cycle_weights(S: sp.csr_array, *, max_rows: int = 1024, candidate_budget: int = _CANDIDATE_BUDGET,
                  buffer_entries: int = _BUFFER_ENTRIES) -> np.ndarray:
    """``diag(S^3)`` of a symmetric float64 CSR matrix with zero diagonal, sparsely.

    Parameters
    ----------
    S : scipy.sparse.csr_array of float64, shape (n, n)
        Symmetric, zero diagonal, no explicit zeros.
    max_rows : int
        Most rows of ``U`` handled in one block.
    candidate_budget, buffer_entries : int
        Memory bounds of one block (see the module notes).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``t_i = sum_{j,k} S_ij S_jk S_ki``, accumulated in float64.
    """
    n = S.shape[0]
    tri = np.zeros(n, dtype=np.float64)
    U = sp.triu(S, k=1, format="csr")
    U.sort_indices()
    if U.nnz == 0:
        return tri
    indptr = U.indptr.astype(np.int64)
    indices = U.indices.astype(np.int64)
    data = U.data
    out_degree = np.diff(indptr)
    edge_row = np.repeat(np.arange(n, dtype=np.int64), out_degree)
    # candidates of row i: sum over its out-neighbours j of outdeg(j)
    row_cost = np.bincount(edge_row, weights=out_degree[indices], minlength=n)
    cumulative = np.concatenate([[0.0], np.cumsum(row_cost)])
    rows_per_buffer = max(1, buffer_entries // n)
    buffer = np.zeros(min(rows_per_buffer, max_rows, n) * n, dtype=np.float64)
    i0 = 0
    while i0 < n:
        i1 = int(np.searchsorted(cumulative, cumulative[i0] + candidate_budget, side="right")) - 1
        i1 = min(max(i1, i0 + 1), n, i0 + rows_per_buffer, i0 + max_rows)
        e0, e1 = indptr[i0], indptr[i1]
        if e1 > e0:
            _block(i0, edge_row[e0:e1], indices[e0:e1], data[e0:e1], indptr, indices, data,
                   out_degree, buffer, n, tri)
        i0 = i1
    return 2.0 * tri  # both orientations of each triangle, as in diag(S^3)


def _block(i0, rows, cols, weights, indptr, indices, data, out_degree, buffer, n, tri):
    """Add the closed triangles whose smallest corner lies in rows ``i0 ..`` of the block."""
    local = (rows - i0) * n
    buffer[local + cols] = weights  # dense rows i of U, flattened
    counts = out_degree[cols]
    total = int(counts.sum())
    if total:
        edge = np.repeat(np.arange(cols.size), counts)
        starts = np.cumsum(counts) - counts
        position = np.arange(total) - np.repeat(starts - indptr[cols], counts)
        k = indices[position]
        w_ik = buffer[local[edge] + k]
        closed = np.flatnonzero(w_ik)
        if closed.size:
            edge = edge[closed]
            k = k[closed]
            product = w_ik[closed] * data[position[closed]] * weights[edge]
            # np.add.at touches only the corners, not all n nodes, in each block
            np.add.at(tri, rows[edge], product)
            np.add.at(tri, cols[edge], product)
            np.add.at(tri, k, product)
    buffer[local + cols] = 0.0
