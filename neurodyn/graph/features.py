"""Exact node features of binary undirected graphs: degree, 3-cycles, clustering, 4-cycles.

For a symmetric 0/1 adjacency ``A`` without self-loops:

- degree ``d = A 1``;
- triangles (3-cycles through node i) ``t_i = (A^3)_ii / 2 = 1/2 sum_j A_ij (A^2)_ij``;
- local clustering ``C_i = 2 t_i / (d_i (d_i - 1))`` when ``d_i >= 2``, else 0;
- squares (simple 4-cycles through node i)
  ``q_i = 1/2 [(A^4)_ii - d_i^2 - (A d)_i + d_i]`` with ``(A^4)_ii = sum_j (A^2)_ij^2``.

Counts are exact integers (int64). Three interchangeable engines compute them:

``"bitset"`` (CPU default)
    Neighbourhoods as packed bit rows; ``|N(i) & N(j)|`` of every edge by a
    vectorised popcount, summed per node. Squares use ``"sparse"``.
``"sparse"``
    Row blocks of the sparse product ``A @ A`` (scipy, int32 entries that are
    at most ``n`` and therefore exact), accumulated in int64.
``"torch"``
    Row blocks of a dense float32 product on the CPU or a GPU. Entries of
    ``A^2`` are integers below ``2**24`` and exact in float32; sums over a row are
    accumulated in float64 (exact below ``2**53``) and returned as int64.

References
----------
S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
D. J. Watts, S. H. Strogatz (1998). Collective dynamics of 'small-world' networks.
Nature 393:440-442 (local clustering coefficient).
F. Harary, B. Manvel (1971). On the number of cycles in a graph. Mat. Casopis 21:55-63
(closed-walk formulas for short cycles).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from .._torch import resolve_device
from .._validation import check_allocation, check_array, check_in, check_positive_int
from ._checks import check_device_allocation

__all__ = [
    "FEATURES",
    "check_adjacency",
    "degree",
    "strength",
    "triangles",
    "clustering",
    "squares",
    "node_features",
    "graph_summary",
]

#: Names accepted by :func:`node_features`, in their canonical order.
FEATURES = ("degree", "triangles", "clustering", "squares")
_ALIASES = {"tri": "triangles", "3-cycles": "triangles", "cycles3": "triangles",
            "4-cycles": "squares", "cycles4": "squares", "clust": "clustering"}
_ENGINES = ("auto", "bitset", "sparse", "torch")


def _from_torch(t: torch.Tensor, name: str):
    """A torch tensor as numpy (dense) or scipy COO (sparse layouts), on the CPU."""
    t = t.detach().cpu()
    if t.layout != torch.strided:
        if t.dim() != 2:
            raise ValueError(f"{name} must be 2-D (n, n); got a sparse tensor of shape {tuple(t.shape)}")
        t = t.to_sparse_coo().coalesce()
        idx = t.indices().numpy()
        return sp.coo_array((t.values().numpy(), (idx[0], idx[1])), shape=tuple(t.shape))
    return t.numpy()


_SPARSE_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                  np.uint64, np.float32, np.float64)


def check_adjacency(adjacency, name: str = "adjacency") -> sp.csr_array:
    """Validate a binary undirected graph and return it as an int32 CSR array.

    Parameters
    ----------
    adjacency : array-like, scipy.sparse matrix/array or torch.Tensor, shape (n, n)
        Entries 0/1 (bool, integer or float), symmetric, zero diagonal.

    Returns
    -------
    scipy.sparse.csr_array of int32 with sorted indices and no explicit zeros.

    Raises
    ------
    ValueError
        Not square, empty, non-finite, weighted (entries other than 0/1),
        asymmetric, or with self-loops (nonzero diagonal); the message says which.
    """
    if isinstance(adjacency, torch.Tensor):
        adjacency = _from_torch(adjacency, name)
    if sp.issparse(adjacency):
        A = sp.csr_array(adjacency)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{name} must be square (n, n); got shape {A.shape}")
        if A.shape[0] == 0:
            raise ValueError(f"{name} is empty; got shape {A.shape}")
        data = A.data
        if data.dtype.kind == "c":
            raise TypeError(f"{name} must be real-valued (entries 0 or 1); got a complex sparse matrix")
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers or booleans; got dtype {data.dtype}")
        A = A.copy()
    else:
        arr = check_array(adjacency, name, ndim=2, dims="(n, n)", dtype=None)
        if arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name} must be square (n, n); got shape {arr.shape}")
        if arr.dtype.type not in _SPARSE_DTYPES:  # float16, longdouble...: exact in float64 for 0/1
            arr = arr.astype(np.float64)
        A = sp.csr_array(arr)
        data = A.data
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise ValueError(f"{name} must be finite; got {int((~np.isfinite(data)).sum())} NaN/Inf entries")
    A.eliminate_zeros()
    if A.data.size and not np.all(A.data == 1):
        bad = A.data[A.data != 1]
        raise ValueError(
            f"{name} must be binary (entries 0 or 1) for these features; got {bad.size} other "
            f"values (e.g. {bad[0].item()!r}); threshold a weighted graph first (correlation_graph) "
            "or use strength() for weighted degree"
        )
    A = sp.csr_array((np.ones(A.data.size, dtype=np.int32), A.indices, A.indptr), shape=A.shape)
    diag = A.diagonal()
    if diag.any():
        loops = np.flatnonzero(diag)
        raise ValueError(
            f"{name} has {loops.size} self-loop(s) (nonzero diagonal, first at node {int(loops[0])}); "
            "cycle counts are defined for simple graphs: set the diagonal to 0"
        )
    asym = A - A.T
    asym.eliminate_zeros()
    if asym.nnz:
        r, c = asym.nonzero()
        raise ValueError(
            f"{name} must be symmetric (undirected); got {asym.nnz // 2 or 1} asymmetric pair(s), "
            f"first at ({int(r[0])}, {int(c[0])})"
        )
    A.sort_indices()
    return A


def degree(adjacency) -> np.ndarray:
    """Number of neighbours of each node (int64)."""
    A = check_adjacency(adjacency)
    return np.diff(A.indptr).astype(np.int64)


def strength(weights, name: str = "weights") -> np.ndarray:
    """Weighted degree ``s_i = sum_j w_ij`` of a symmetric weighted graph (diagonal ignored).

    Parameters
    ----------
    weights : array-like or scipy.sparse, shape (n, n)
        Finite, real, symmetric edge weights (e.g. correlations above a
        threshold); symmetric up to ``1e-12`` times the largest magnitude.
        Negative weights count negatively (signed strength); pass
        ``np.abs(weights)`` or ``np.clip(weights, 0, None)`` for other
        conventions. Summed in float64.
    name : str
        Name of ``weights`` in error messages.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    if isinstance(weights, torch.Tensor):
        weights = _from_torch(weights, name)
    if sp.issparse(weights):
        if weights.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n, n); got shape {weights.shape}")
        kind = weights.dtype.kind
        if kind == "c":
            raise TypeError(f"{name} must be real-valued; got a complex sparse matrix")
        if kind not in "biuf":
            raise TypeError(f"{name} must hold numbers; got dtype {weights.dtype}")
        W = sp.csr_array(weights, dtype=np.float64)
        if W.shape[0] != W.shape[1]:
            raise ValueError(f"{name} must be square (n, n); got shape {W.shape}")
        if W.shape[0] == 0:
            raise ValueError(f"{name} is empty; got shape {W.shape}")
        if not np.isfinite(W.data).all():
            bad = int((~np.isfinite(W.data)).sum())
            raise ValueError(f"{name} must be finite; got {bad} NaN/Inf entries")
        scale = float(np.abs(W.data).max()) if W.nnz else 0.0
        worst = float(abs(W - W.T).max()) if W.nnz else 0.0
        if worst > 1e-12 * scale:
            raise ValueError(f"{name} must be symmetric (undirected); largest |w_ij - w_ji| is "
                             f"{worst:.3g} (largest weight {scale:.3g})")
        return np.asarray(W.sum(axis=1)).ravel() - W.diagonal()
    W = check_array(weights, name, ndim=2, dims="(n, n)")
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be square (n, n); got shape {W.shape}")
    if not np.isfinite(W).all():
        bad = int((~np.isfinite(W)).sum())
        raise ValueError(f"{name} must be finite; got {bad} NaN/Inf entries")
    scale = float(np.abs(W).max())
    worst = float(np.abs(W - W.T).max())
    if worst > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric (undirected); largest |w_ij - w_ji| is "
                         f"{worst:.3g} (largest weight {scale:.3g})")
    return W.sum(axis=1) - np.diag(W)


def _packed_rows(A: sp.csr_array, block_size: int = 1024) -> np.ndarray:
    """Neighbourhoods as bit rows: (n, ceil(n / 64)) uint64, bit j of row i = A_ij.

    Rows are unpacked to bool and packed again block by block, so the temporary
    memory is ``block_size * n`` bytes on top of the ``n^2 / 8`` bytes of the result.
    """
    n = A.shape[0]
    n_bytes = -(-n // 64) * 8
    packed = np.zeros((n, n_bytes), dtype=np.uint8)
    for i0 in range(0, n, block_size):
        rows = A[i0:i0 + block_size].toarray().astype(bool, copy=False)
        packed[i0:i0 + rows.shape[0], : -(-n // 8)] = np.packbits(rows, axis=1, bitorder="little")
    return packed.view(np.uint64)


def _triangles_bitset(A: sp.csr_array, chunk: int = 2048) -> np.ndarray:
    n = A.shape[0]
    if A.nnz == 0:
        return np.zeros(n, dtype=np.int64)
    bits = _packed_rows(A)
    upper = sp.triu(A, k=1, format="coo")
    ei = upper.row.astype(np.int64)
    ej = upper.col.astype(np.int64)
    common = np.empty(ei.size, dtype=np.int64)
    for s in range(0, ei.size, chunk):
        both = bits[ei[s:s + chunk]] & bits[ej[s:s + chunk]]
        common[s:s + chunk] = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
    # each triangle through i is counted once on each of its two edges at i
    per_node = np.bincount(ei, weights=common, minlength=n) + np.bincount(ej, weights=common, minlength=n)
    return (per_node.astype(np.int64)) // 2


def _walk_sums_sparse(A: sp.csr_array, block_size: int, need_squares: bool):
    """Per node: sum_j A_ij (A^2)_ij and sum_j (A^2)_ij^2, by row blocks of A @ A."""
    n = A.shape[0]
    closed3 = np.zeros(n, dtype=np.int64)
    closed4 = np.zeros(n, dtype=np.int64)
    for i0 in range(0, n, block_size):
        B = A[i0:i0 + block_size]
        C = sp.csr_array(B @ A)  # int32 entries <= n: exact
        closed3[i0:i0 + block_size] = np.asarray(C.multiply(B).sum(axis=1, dtype=np.int64)).ravel()
        if need_squares:
            c = C.data.astype(np.int64)
            cumulative = np.concatenate([[0], np.cumsum(c * c)])
            closed4[i0:i0 + block_size] = cumulative[C.indptr[1:]] - cumulative[C.indptr[:-1]]
    return closed3, closed4


def _walk_sums_torch(A: sp.csr_array, block_size: int, device: torch.device, need_squares: bool):
    n = A.shape[0]
    dense = torch.zeros((n, n), dtype=torch.float32, device=device)
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    dense[torch.as_tensor(rows, device=device), torch.as_tensor(A.indices.astype(np.int64), device=device)] = 1.0
    closed3 = torch.zeros(n, dtype=torch.float64, device=device)
    closed4 = torch.zeros(n, dtype=torch.float64, device=device)
    for i0 in range(0, n, block_size):
        block = dense[i0:i0 + block_size]
        C = block @ dense  # exact: integer entries < 2**24
        closed3[i0:i0 + block_size] = (C * block).sum(dim=1, dtype=torch.float64)
        if need_squares:
            C64 = C.double()
            closed4[i0:i0 + block_size] = (C64 * C64).sum(dim=1)
    return (closed3.cpu().numpy().round().astype(np.int64),
            closed4.cpu().numpy().round().astype(np.int64))


def _normalise_features(features) -> tuple[str, ...]:
    if isinstance(features, str):
        features = (features,)
    if not isinstance(features, Sequence) or len(features) == 0:
        raise ValueError(f"features must be a non-empty sequence of names from {list(FEATURES)}; "
                         f"got {features!r}")
    out = []
    for f in features:
        key = _ALIASES.get(f, f) if isinstance(f, str) else f
        check_in(key, "features", FEATURES)
        if key not in out:
            out.append(key)
    return tuple(out)


def node_features(adjacency, features=FEATURES, *, engine: str = "auto",
                  block_size: int = 1024, device="auto", checked: bool = False) -> dict:
    """Degree, 3-cycle, clustering and 4-cycle counts of every node.

    Parameters
    ----------
    adjacency : array-like, scipy.sparse or torch.Tensor, shape (n, n)
        Binary, symmetric, zero diagonal (see :func:`check_adjacency`).
    features : sequence of {"degree", "triangles", "clustering", "squares"}
        Which features to return ("tri"/"3-cycles" and "4-cycles" are accepted
        as aliases).
    engine : {"auto", "bitset", "sparse", "torch"}, default "auto"
        ``"auto"`` uses ``"torch"`` when ``device`` resolves to a GPU and
        ``"bitset"`` otherwise. All engines return identical integers.
    block_size : int, default 1024
        Rows of ``A @ A`` formed at once (sparse and torch engines).
    device : {"auto", "cpu", "cuda"} or torch.device
        Device of the torch engine.
    checked : bool, default False
        Skip validation when ``adjacency`` already comes from :func:`check_adjacency`
        (an int32 ``scipy.sparse.csr_array``; anything else is refused).

    Returns
    -------
    dict
        ``name -> ndarray (n,)``; counts are int64, clustering float64.

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
    """
    names = _normalise_features(features)
    check_in(engine, "engine", _ENGINES)
    block_size = check_positive_int(block_size, "block_size")
    if not isinstance(checked, (bool, np.bool_)):
        raise TypeError(f"checked must be True or False; got {checked!r}")
    dev = resolve_device(device)
    if checked:
        if not (isinstance(adjacency, sp.csr_array) and adjacency.dtype == np.int32):
            raise TypeError("checked=True needs the int32 csr_array returned by check_adjacency; "
                            f"got {type(adjacency).__name__}; pass checked=False to validate it")
        A = adjacency
    else:
        A = check_adjacency(adjacency)
    if engine == "auto":
        engine = "torch" if dev.type == "cuda" else "bitset"
    n = A.shape[0]
    need_walks = any(f in names for f in ("triangles", "clustering", "squares"))
    need_bits = any(f in names for f in ("triangles", "clustering"))
    if need_walks and engine == "torch":
        check_device_allocation(4.0 * n * n, "adjacency", f"dense float32 copy of a {n}-node graph "
                                "(torch engine; use engine='sparse')", dev)
    elif need_bits and engine == "bitset":
        check_allocation(float(n) * n / 8, "adjacency", itemsize=1,
                         what=f"bit rows of a {n}-node graph (bitset engine; use engine='sparse')")
    d = np.diff(A.indptr).astype(np.int64)
    need_tri = "triangles" in names or "clustering" in names
    need_sq = "squares" in names
    tri = closed4 = None
    if engine == "torch" and (need_tri or need_sq):
        closed3, closed4 = _walk_sums_torch(A, block_size, dev, need_sq)
        tri = closed3 // 2
    else:
        if need_tri and engine == "bitset":
            tri = _triangles_bitset(A)
        if need_sq or (need_tri and tri is None):
            closed3, closed4 = _walk_sums_sparse(A, block_size, need_sq)
            if tri is None:
                tri = closed3 // 2
    out = {}
    for name in names:
        if name == "degree":
            out[name] = d.copy()
        elif name == "triangles":
            out[name] = tri
        elif name == "clustering":
            pairs = d * (d - 1)
            clust = np.zeros(d.size, dtype=np.float64)
            ok = pairs > 0
            clust[ok] = 2.0 * tri[ok] / pairs[ok]
            out[name] = clust
        elif name == "squares":
            neighbour_degree_sum = A @ d  # (A d)_i, int64
            out[name] = (closed4 - d * d - neighbour_degree_sum + d) // 2
    return out


def triangles(adjacency, **kwargs) -> np.ndarray:
    """Number of triangles (3-cycles) through each node, int64; see :func:`node_features`."""
    return node_features(adjacency, ("triangles",), **kwargs)["triangles"]


def clustering(adjacency, **kwargs) -> np.ndarray:
    """Local clustering coefficient ``2 t_i / (d_i (d_i - 1))`` (0 when ``d_i < 2``)."""
    return node_features(adjacency, ("clustering",), **kwargs)["clustering"]


def squares(adjacency, **kwargs) -> np.ndarray:
    """Number of simple 4-cycles through each node, int64; see :func:`node_features`."""
    return node_features(adjacency, ("squares",), **kwargs)["squares"]


def graph_summary(adjacency, **kwargs) -> dict:
    """Whole-graph counts: nodes, edges, triangles, 4-cycles, max degree, mean clustering.

    Totals follow from the node counts: each triangle passes through 3 nodes and
    each 4-cycle through 4.
    """
    f = node_features(adjacency, FEATURES, **kwargs)
    return {
        "n_nodes": int(f["degree"].size),
        "n_edges": int(f["degree"].sum() // 2),
        "n_triangles": int(f["triangles"].sum() // 3),
        "n_squares": int(f["squares"].sum() // 4),
        "max_degree": int(f["degree"].max()),
        "mean_clustering": float(f["clustering"].mean()),
    }
