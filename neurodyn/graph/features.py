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

Weighted graphs (symmetric real weights ``w_ij``, zero meaning no edge, the
diagonal ignored) have Onnela's clustering coefficient
``C_i = sum_{j,k} (w_ij w_jk w_ki)^(1/3) / (k_i (k_i - 1))`` with the weights
divided by the largest ``|w|`` (:func:`clustering` with ``weighted=True``;
networkx ``clustering(G, weight=...)``, bctpy ``clustering_coef_wu``), its
signed split into positive and negative parts (``signed=True``; bctpy
``clustering_coef_wu_sign``), :func:`strength` and :func:`transitivity`. The
triangle term is computed sparsely (``neurodyn.graph._kernels``): about
``n d^2 / 4`` operations for mean degree ``d``, never an ``n x n`` array.

References
----------
J.-P. Onnela, J. Saramaki, J. Kertesz, K. Kaski (2005). Intensity and coherence of
motifs in weighted complex networks. Phys. Rev. E 71:065103 (weighted clustering).
M. Rubinov, O. Sporns (2010). Complex network measures of brain connectivity: uses
and interpretations. NeuroImage 52:1059-1069 (signed and weighted measures).
P. G. Lind, M. C. Gonzalez, H. J. Herrmann (2005). Cycles and clustering in bipartite
networks. Phys. Rev. E 72:056127 (square clustering).
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
from ._kernels import cycle_weights

__all__ = [
    "FEATURES",
    "WEIGHTED_FEATURES",
    "check_adjacency",
    "check_weights",
    "degree",
    "strength",
    "triangles",
    "clustering",
    "transitivity",
    "squares",
    "square_clustering",
    "node_features",
    "weighted_node_features",
    "graph_summary",
]

#: Names accepted by :func:`node_features`, in their canonical order.
FEATURES = ("degree", "triangles", "clustering", "squares")
_ALIASES = {"tri": "triangles", "3-cycles": "triangles", "cycles3": "triangles",
            "4-cycles": "squares", "cycles4": "squares", "clust": "clustering"}
_ENGINES = ("auto", "bitset", "sparse", "torch")
#: Names accepted by :func:`weighted_node_features` (weighted graphs), in their canonical order.
WEIGHTED_FEATURES = ("strength", "weighted_clustering", "positive_clustering", "negative_clustering")


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
            "or use the weighted measures (strength(), clustering(weighted=True), weighted_node_features())"
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
    # the checks of check_weights (square, finite, symmetric, diagonal ignored)
    return np.asarray(check_weights(weights, name).sum(axis=1), dtype=np.float64).ravel()


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


def _normalise_features(features, allowed=FEATURES) -> tuple[str, ...]:
    if isinstance(features, str):
        features = (features,)
    if not isinstance(features, Sequence) or len(features) == 0:
        raise ValueError(f"features must be a non-empty sequence of names from {list(allowed)}; "
                         f"got {features!r}")
    out = []
    for f in features:
        key = _ALIASES.get(f, f) if isinstance(f, str) else f
        if isinstance(key, str) and key in WEIGHTED_FEATURES and key not in allowed:
            raise ValueError(f"features: {key!r} is a feature of weighted graphs; compute it with "
                             "weighted_node_features(weights) (or GraphFeatures), not from a binary "
                             "adjacency")
        check_in(key, "features", allowed)
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


def check_weights(weights, name: str = "weights") -> sp.csr_array:
    """Validate a weighted undirected graph; return its float64 CSR array (diagonal dropped).

    Parameters
    ----------
    weights : array-like, scipy.sparse or torch.Tensor, shape (n, n)
        Finite real (or boolean) edge weights, symmetric up to ``1e-12`` times
        the largest magnitude; a zero weight means no edge. The diagonal is
        ignored (a correlation matrix's ones need not be cleared).
    name : str
        Name of ``weights`` in error messages.

    Returns
    -------
    scipy.sparse.csr_array of float64
        Exactly symmetric (the upper triangle mirrored), zero diagonal, sorted
        indices, no explicit zeros. The caller's array is not modified.
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
        W = sp.csr_array(weights, dtype=np.float64)  # a copy: astype never shares with the caller
        if W.shape[0] != W.shape[1]:
            raise ValueError(f"{name} must be square (n, n); got shape {W.shape}")
        if W.shape[0] == 0:
            raise ValueError(f"{name} is empty; got shape {W.shape}")
        if not np.isfinite(W.data).all():
            bad = int((~np.isfinite(W.data)).sum())
            raise ValueError(f"{name} must be finite; got {bad} NaN/Inf entries")
        W = sp.csr_array(sp.triu(W, k=1) + sp.tril(W, k=-1))  # the diagonal is ignored
        W.eliminate_zeros()
        scale = float(np.abs(W.data).max()) if W.nnz else 0.0
        worst = float(abs(W - W.T).max()) if W.nnz else 0.0
    else:
        arr = check_array(weights, name, ndim=2, dims="(n, n)")
        if arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name} must be square (n, n); got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{name} is empty; got shape {arr.shape}")
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise ValueError(f"{name} must be finite; got {bad} NaN/Inf entries")
        off = arr.astype(np.float64)  # a copy: the caller's array is left alone
        np.fill_diagonal(off, 0.0)
        scale = float(np.abs(off).max())
        worst = float(np.abs(off - off.T).max())
        W = sp.csr_array(off)
    if worst > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric (undirected); largest |w_ij - w_ji| is "
                         f"{worst:.3g} (largest weight {scale:.3g})")
    upper = sp.triu(W, k=1, format="csr")
    W = sp.csr_array(upper + upper.T)
    W.sort_indices()
    return W


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def _weight_scale(W: sp.csr_array, normalize: bool, name: str) -> float:
    """The divisor of the weights: their largest magnitude, or 1 when they are used as given."""
    peak = float(np.abs(W.data).max()) if W.nnz else 0.0
    if normalize:
        return peak if peak > 0 else 1.0
    if peak > 1.0:
        raise ValueError(f"{name} must have every |w| <= 1 with normalize=False (Onnela's coefficient "
                         f"assumes weights scaled to at most 1, else it exceeds 1); got largest |w| = "
                         f"{peak:.6g}; pass normalize=True to divide by it")
    return 1.0


def _onnela(W: sp.csr_array, scale: float, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Onnela's clustering and ``diag(S^3)`` of the cube-root weights ``S = sign(w) |w / scale|^(1/3)``."""
    S = W.copy()
    S.data = np.cbrt(S.data / scale)  # dividing first keeps every product of three in [-1, 1]
    cycles = cycle_weights(S, max_rows=block_size)
    k = np.diff(W.indptr).astype(np.float64)
    pairs = k * (k - 1.0)
    out = np.zeros(k.size, dtype=np.float64)
    ok = (pairs > 0) & (cycles != 0)
    out[ok] = cycles[ok] / pairs[ok]
    return out, cycles


def _sign_part(W: sp.csr_array, positive: bool) -> sp.csr_array:
    part = W.copy()
    part.data = np.where(part.data > 0, part.data, 0.0) if positive else np.where(part.data < 0, -part.data, 0.0)
    part.eliminate_zeros()
    return part


def weighted_node_features(weights, features=WEIGHTED_FEATURES, *, normalize: bool = True,
                           block_size: int = 1024, name: str = "weights") -> dict:
    """Strength and Onnela clustering (plain and signed) of every node of a weighted graph.

    Parameters
    ----------
    weights : array-like, scipy.sparse or torch.Tensor, shape (n, n)
        Symmetric real weights, zero meaning no edge, diagonal ignored (see
        :func:`check_weights`).
    features : sequence of {"strength", "weighted_clustering", "positive_clustering", "negative_clustering"}
        ``"strength"``: ``sum_j w_ij``. ``"weighted_clustering"``: Onnela's
        coefficient of :func:`clustering` with ``weighted=True`` (negative weights
        enter through signed cube roots). ``"positive_clustering"`` and
        ``"negative_clustering"``: the two parts of ``signed=True``.
    normalize : bool, default True
        Divide the weights by their largest magnitude (Onnela; networkx). With
        False the weights are used as given and must lie in [-1, 1] (bctpy,
        which expects weights scaled beforehand).
    block_size : int, default 1024
        Most rows handled at once by the sparse triangle kernel.
    name : str
        Name of ``weights`` in error messages.

    Returns
    -------
    dict
        ``name -> ndarray (n,)`` of float64.
    """
    names = _normalise_features(features, WEIGHTED_FEATURES)
    normalize = _check_flag(normalize, "normalize")
    block_size = check_positive_int(block_size, "block_size")
    W = check_weights(weights, name)
    scale = _weight_scale(W, normalize, name)
    out = {}
    for key in names:
        if key == "strength":
            out[key] = np.asarray(W.sum(axis=1), dtype=np.float64).ravel()
        elif key == "weighted_clustering":
            out[key] = _onnela(W, scale, block_size)[0]
        else:
            out[key] = _onnela(_sign_part(W, key == "positive_clustering"), scale, block_size)[0]
    return out


_WEIGHTED_KWARGS = ("block_size",)


def clustering(adjacency, weighted: bool = False, signed: bool = False, *, normalize: bool = True,
               **kwargs):
    """Local clustering coefficient of every node: binary, weighted (Onnela) or signed.

    Parameters
    ----------
    adjacency : array-like, scipy.sparse or torch.Tensor, shape (n, n)
        ``weighted=False``: a binary graph (see :func:`check_adjacency`).
        ``weighted=True``: symmetric real weights, zero meaning no edge, the
        diagonal ignored (see :func:`check_weights`).
    weighted : bool, default False
        False: ``2 t_i / (d_i (d_i - 1))``, ``t_i`` the triangles through ``i``
        (0 when ``d_i < 2``). True: Onnela's coefficient
        ``C_i = sum_{j,k} (w_ij w_jk w_ki)^(1/3) / (k_i (k_i - 1))`` with ``k_i``
        the number of edges of ``i`` and ``w`` divided by the largest ``|w|``;
        equal to networkx ``clustering(G, weight="weight")`` and to bctpy
        ``clustering_coef_wu(W / abs(W).max())``. Negative weights enter through
        signed cube roots, as in both. On a binary graph it equals the binary
        coefficient.
    signed : bool, default False
        With ``weighted=True``, return the coefficients of the positive weights
        and of the magnitudes of the negative weights separately,
        ``(positive, negative)``, each with its own ``k_i`` (edges of that sign)
        and both divided by the same largest ``|w|``: bctpy
        ``clustering_coef_wu_sign(W / abs(W).max())`` (its default, Onnela, variant).
    normalize : bool, default True
        Weighted only. False uses the weights as given (they must lie in
        [-1, 1]): bctpy's functions on ``W`` itself, e.g. on correlations.
    **kwargs
        Binary: ``engine``, ``block_size``, ``device``, ``checked`` of
        :func:`node_features`. Weighted: ``block_size`` (rows of the sparse
        triangle kernel handled at once).

    Returns
    -------
    ndarray of float64, shape (n,), or a tuple ``(positive, negative)`` of two
    such arrays when ``signed=True``.

    References
    ----------
    J.-P. Onnela, J. Saramaki, J. Kertesz, K. Kaski (2005). Intensity and coherence of
    motifs in weighted complex networks. Phys. Rev. E 71:065103.
    M. Rubinov, O. Sporns (2010). Complex network measures of brain connectivity: uses
    and interpretations. NeuroImage 52:1059-1069.
    """
    weighted = _check_flag(weighted, "weighted")
    signed = _check_flag(signed, "signed")
    normalize = _check_flag(normalize, "normalize")
    if signed and not weighted:
        raise ValueError("signed=True splits a weighted graph by the sign of its weights: pass "
                         "weighted=True as well")
    if not weighted:
        return node_features(adjacency, ("clustering",), **kwargs)["clustering"]
    extra = sorted(set(kwargs) - set(_WEIGHTED_KWARGS))
    if extra:
        raise TypeError(f"clustering(weighted=True) accepts only {list(_WEIGHTED_KWARGS)} as extra "
                        f"keyword arguments; got {extra}")
    if signed:
        f = weighted_node_features(adjacency, ("positive_clustering", "negative_clustering"),
                                   normalize=normalize, name="adjacency", **kwargs)
        return f["positive_clustering"], f["negative_clustering"]
    return weighted_node_features(adjacency, ("weighted_clustering",), normalize=normalize,
                                  name="adjacency", **kwargs)["weighted_clustering"]


def transitivity(adjacency, weighted: bool = False, *, normalize: bool = True, **kwargs) -> float:
    """Transitivity: three times the triangles over the connected triples of the whole graph.

    Parameters
    ----------
    adjacency : array-like, scipy.sparse or torch.Tensor, shape (n, n)
        A binary graph, or weights with ``weighted=True`` (as in :func:`clustering`).
    weighted : bool, default False
        False: ``sum_i 2 t_i / sum_i d_i (d_i - 1)``, networkx ``transitivity``
        (0 for a graph without triangles). True: ``sum_i diag(S^3)_i / sum_i
        k_i (k_i - 1)`` with the cube-root weights of :func:`clustering`: bctpy
        ``transitivity_wu(W / abs(W).max())`` (0 instead of bctpy's NaN when
        there is no connected triple).
    normalize : bool, default True
        Weighted only; see :func:`clustering`.
    **kwargs
        As in :func:`clustering`.

    Returns
    -------
    float
    """
    weighted = _check_flag(weighted, "weighted")
    normalize = _check_flag(normalize, "normalize")
    if not weighted:
        f = node_features(adjacency, ("degree", "triangles"), **kwargs)
        d = f["degree"]
        closed = 2 * int(f["triangles"].sum())
        triples = int((d * (d - 1)).sum())
        return 0.0 if closed == 0 else closed / triples  # Python ints: one correct rounding
    extra = sorted(set(kwargs) - set(_WEIGHTED_KWARGS))
    if extra:
        raise TypeError(f"transitivity(weighted=True) accepts only {list(_WEIGHTED_KWARGS)} as extra "
                        f"keyword arguments; got {extra}")
    block_size = check_positive_int(kwargs.get("block_size", 1024), "block_size")
    W = check_weights(adjacency, "adjacency")
    _, cycles = _onnela(W, _weight_scale(W, normalize, "adjacency"), block_size)
    k = np.diff(W.indptr).astype(np.float64)
    triples = float((k * (k - 1.0)).sum())
    return float(cycles.sum() / triples) if triples > 0 else 0.0


def square_clustering(adjacency, **kwargs) -> np.ndarray:
    """Square clustering coefficient of Lind et al., as networkx ``square_clustering``.

    ``C4_i = q_i / ((d_i - 1) (A d)_i - d_i (d_i - 1) - 2 t_i - q_i)``, where
    ``q_i`` is the number of 4-cycles through ``i`` (:func:`squares`), ``t_i`` the
    triangles, ``(A d)_i`` the sum of the neighbours' degrees; 0 where the
    denominator is not positive. This is networkx's closed form of
    ``sum_{u<w} q_i(u, w) / sum_{u<w} [a_i(u, w) + q_i(u, w)]`` over pairs of
    neighbours of ``i``.

    Parameters
    ----------
    adjacency : binary graph, see :func:`check_adjacency`
    **kwargs
        ``engine``, ``block_size``, ``device`` of :func:`node_features`.

    Returns
    -------
    ndarray of float64, shape (n,)

    References
    ----------
    P. G. Lind, M. C. Gonzalez, H. J. Herrmann (2005). Cycles and clustering in
    bipartite networks. Phys. Rev. E 72:056127.
    """
    A = check_adjacency(adjacency)
    kwargs.pop("checked", None)
    f = node_features(A, ("degree", "triangles", "squares"), checked=True, **kwargs)
    d, t, q = f["degree"], f["triangles"], f["squares"]
    potential = (d - 1) * (A @ d) - d * (d - 1) - 2 * t - q
    out = np.zeros(d.size, dtype=np.float64)
    ok = potential > 0
    out[ok] = q[ok] / potential[ok]
    return out
