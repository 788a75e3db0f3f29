"""Rank, geo-topological (RGTM) and geodesic (RGDM) transforms of RDM vectors.

All functions take RDM vectors ``(n_pairs,)`` or ``(n_rdms, n_pairs)`` (upper
triangle, row-major, ``i < j``) and transform every RDM on its own.

References
----------
Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
representations. arXiv:2309.11028.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._torch import resolve_device, resolve_dtype, to_numpy, to_tensor
from .._validation import check_array, check_in, check_positive_int, check_scalar
from ._checks import RDMForm, as_rdm_vectors, check_bool, method_args, normalise_rows, restore_form
from .rdm import n_conditions_from_pairs

__all__ = [
    "rank_transform",
    "minmax_transform",
    "geotopological_transform",
    "geodesic_transform",
    "graph_geodesic_transform",
    "all_pairs_shortest_paths",
]

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_rdm_vectors(rdms: Any, name: str = "rdms", allow_nan: bool = True) -> tuple[np.ndarray, RDMForm]:
    """RDMs in any accepted form (see :mod:`neurodyn.rsa._checks`) as ``(n_rdms, n_pairs)``."""
    return as_rdm_vectors(rdms, name, allow_nan=allow_nan)


def _average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Average (tie-sharing) ranks 1..n along the last axis; NaN must be absent."""
    if x.device.type == "cpu":
        # scipy's vectorised rankdata beats a torch sort + searchsorted on the CPU
        from scipy.stats import rankdata

        return torch.from_numpy(rankdata(x.numpy(), axis=-1)).to(x.dtype)
    return _average_ranks_torch(x)


def _average_ranks_torch(x: torch.Tensor) -> torch.Tensor:
    """Device-agnostic average ranks (sort, then the first/last index of each tie block)."""
    s, order = torch.sort(x, dim=-1)
    s = s.contiguous()
    first = torch.searchsorted(s, s, right=False)
    last = torch.searchsorted(s, s, right=True) - 1
    r_sorted = (first + last).to(x.dtype) / 2 + 1
    out = torch.empty_like(r_sorted)
    out.scatter_(-1, order, r_sorted)
    return out


def rank_transform(rdms: Any, normalize: bool = False, device: Any = "cpu", dtype: Any = None) -> np.ndarray:
    """Average ranks (ties share the mean rank) of each RDM's entries.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
        NaN entries are ignored and stay NaN.
    normalize : bool
        Rescale the ranks of each RDM to ``[0, 1]``: ``(r - min r) / (max r - min r)``
        (0 when all entries are tied), the authors' rank normalisation.
    device, dtype
        Torch device and dtype of the computation (float64 on CPU by default).

    Returns
    -------
    numpy.ndarray, same shape as ``rdms``
    """
    v, form = _check_rdm_vectors(rdms)
    normalize = check_bool(normalize, "normalize")
    return restore_form(_rank_vectors(v, normalize, device, dtype), form)


def _rank_vectors(v: np.ndarray, normalize: bool, device: Any = "cpu", dtype: Any = None) -> np.ndarray:
    """Ranks of validated RDM vectors ``(n_rdms, n_pairs)``; NaN stays NaN. Ranked in
    float64 whatever ``dtype`` (a float32 cast first could tie distinct values)."""
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    t = to_tensor(v, device=dev, dtype=torch.float64)
    nan = torch.isnan(t)
    has_nan = bool(nan.any())
    if has_nan:
        t = torch.where(nan, torch.full_like(t, float("inf")), t)
    r = _average_ranks(t)
    if has_nan:
        r = torch.where(nan, torch.full_like(r, float("nan")), r)
    if normalize:
        r = _minmax(r)
    return to_numpy(r.to(dt))


def _rank01(v: np.ndarray) -> np.ndarray:
    """Rank-normalise rows of a finite 2-D array of any width (no RDM-size check)."""
    return to_numpy(_minmax(_average_ranks(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)))))


def _minmax(r: torch.Tensor) -> torch.Tensor:
    lo = torch.nan_to_num(r, nan=float("inf")).amin(-1, keepdim=True)
    hi = torch.nan_to_num(r, nan=float("-inf")).amax(-1, keepdim=True)
    span = hi - lo
    safe = torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, (r - lo) / safe, r * 0)  # r * 0 keeps NaN


def minmax_transform(rdms: Any) -> np.ndarray:
    """Rescale each RDM to ``[0, 1]`` by its own minimum and maximum (NaN ignored)."""
    v, form = _check_rdm_vectors(rdms)
    return restore_form(_minmax_vectors(v), form)


def _minmax_vectors(v: np.ndarray) -> np.ndarray:
    # normalising each row first keeps max - min finite for entries near float64's limit
    return to_numpy(_minmax(torch.from_numpy(np.array(normalise_rows(v), dtype=np.float64))))


def geotopological_transform(
    rdms: Any,
    lower: float = 0.2,
    upper: float = 0.8,
    quantile: bool = True,
    rank_first: bool = True,
    method: str = "linear",
) -> np.ndarray:
    """Geo-topological transform: the representational geo-topological matrix (RGTM).

    ``GT(d) = clip((d - theta_l) / (theta_u - theta_l), 0, 1)``: dissimilarities
    below ``theta_l`` become 0 (connected, "same place"), above ``theta_u`` 1
    (disconnected), linear in between. ``(lower, upper) = (0, 1)`` keeps the
    geometry; ``lower == upper`` gives a binary adjacency (pure topology):
    0 where ``d <= theta``, 1 where ``d > theta``.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
        NaN entries are ignored and stay NaN.
    lower, upper : float
        Thresholds, ``lower <= upper``. Quantiles in ``[0, 1]`` when ``quantile``,
        otherwise in the units of the (possibly rank-normalised) input.
    quantile : bool
        Thresholds are per-RDM quantiles: ``theta = quantile(x, lower/upper)``
        of each RDM separately (the authors' choice; rsatoolbox pools all RDMs).
    rank_first : bool
        Replace each RDM by its rank-normalised version first (average ranks
        rescaled to ``[0, 1]``), as the authors do; the result is then invariant to
        monotone rescaling of the dissimilarities.
    method : str
        :func:`numpy.quantile` method (default ``"linear"``, numpy's default).

    Returns
    -------
    numpy.ndarray, same shape as ``rdms``, values in ``[0, 1]``

    Notes
    -----
    rsatoolbox 0.3.2's ``geotopological_transform`` pools quantiles over RDMs, has
    no rank step, and rewrites its output in place (band values that exceed
    ``theta_u`` are set to 1; with a negative ``theta_l`` zeros are remapped). This
    function uses the clip formula; it equals rsatoolbox's output for a single
    RDM with ``rank_first=False`` when ``theta_l >= 0`` and ``theta_u >= 1``.

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.
    """
    v, form = _check_rdm_vectors(rdms)
    out = _gt_vectors(v, lower, upper, quantile, rank_first, method)
    return restore_form(out, form)


def _gt_vectors(v: np.ndarray, lower: Any, upper: Any, quantile: Any, rank_first: Any, method: str) -> np.ndarray:
    """:func:`geotopological_transform` of validated vectors ``(n_rdms, n_pairs)``."""
    check_in(method, "method", _QUANTILE_METHODS)
    lower = check_scalar(lower, "lower")
    upper = check_scalar(upper, "upper")
    quantile = check_bool(quantile, "quantile")
    if not quantile and method != "linear":
        raise ValueError(f"method (the quantile method) is only used with quantile=True; got method={method!r}")
    rank_first = check_bool(rank_first, "rank_first")
    if lower > upper:
        raise ValueError(f"lower must be <= upper; got lower={lower} > upper={upper}")
    if quantile and not (0.0 <= lower <= 1.0 and 0.0 <= upper <= 1.0):
        raise ValueError(f"with quantile=True, lower and upper must lie in [0, 1]; got lower={lower}, upper={upper}")
    x = _rank_vectors(v, normalize=True) if rank_first else np.array(v, dtype=np.float64)
    if quantile:
        if np.isnan(x).any():
            if np.isnan(x).all(axis=1).any():
                raise ValueError("rdms has an RDM whose entries are all NaN; its quantiles are undefined")
            th = np.nanquantile(x, [lower, upper], axis=1, method=method)
        else:
            th = np.quantile(x, [lower, upper], axis=1, method=method)
        lo, hi = th[0][:, None], th[1][:, None]
    else:
        lo = np.full((x.shape[0], 1), lower)
        hi = np.full((x.shape[0], 1), upper)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        graded = np.clip((x - lo) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    binary = (x > lo).astype(float)
    out = np.where(span > 0, graded, binary)
    out[np.isnan(x)] = np.nan
    return out


def all_pairs_shortest_paths(weights: Any, device: Any = "cpu", dtype: Any = None) -> np.ndarray:
    """Batched Floyd-Warshall on dense weight matrices (``inf`` = no edge).

    Parameters
    ----------
    weights : array-like, shape (K, K) or (n_graphs, K, K)
        Non-negative edge weights; ``inf`` marks a missing edge. The diagonal is
        treated as 0.

    Returns
    -------
    numpy.ndarray, same shape: shortest-path lengths (``inf`` for disconnected pairs).
    """
    w = check_array(weights, "weights", ndim=(2, 3), dims="(K, K) or (n_graphs, K, K)")
    check_in(str(resolve_dtype(dtype, resolve_device(device))), "dtype", ("torch.float32", "torch.float64"))
    if w.shape[-1] != w.shape[-2]:
        raise ValueError(f"weights must be square; got shape {w.shape}")
    if np.isnan(w).any():
        raise ValueError("weights must not contain NaN (use inf for a missing edge)")
    if (w < 0).any():
        raise ValueError("weights must be non-negative for shortest paths")
    dev = resolve_device(device)
    d = to_tensor(w, device=dev, dtype=resolve_dtype(dtype, dev), copy=True)
    single = d.ndim == 2
    if single:
        d = d[None]
    k = d.shape[-1]
    d.diagonal(dim1=-2, dim2=-1).zero_()
    # Floyd-Warshall: the k-loop is the dynamic programme's order; each step is batched
    for m in range(k):
        torch.minimum(d, d[:, :, m : m + 1] + d[:, m : m + 1, :], out=d)
    out = to_numpy(d)
    return out[0] if single else out


def _upper(m: np.ndarray) -> np.ndarray:
    iu = np.triu_indices(m.shape[-1], 1)
    return m[..., iu[0], iu[1]]


def _same(value: Any, default: Any) -> bool:
    """``value == default`` for scalars, False for anything that does not compare cleanly."""
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _paths_from_edges(x: np.ndarray, keep: np.ndarray, zero_edges: str, disconnected: str,
                      rank_after: bool) -> np.ndarray:
    """Shortest paths over the kept edges (x >= 0 are weights), then post-processing."""
    check_in(zero_edges, "zero_edges", ("drop", "keep"))
    check_in(disconnected, "disconnected", ("max_plus_one", "inf"))
    keep = keep & ~np.isnan(x)
    if zero_edges == "drop":
        keep = keep & (x != 0)
    w = np.where(keep, x, np.inf)
    paths = _upper(all_pairs_shortest_paths(_square_with_inf(w)))
    inf = np.isinf(paths)
    if disconnected == "max_plus_one" and inf.any():
        finite_max = np.where(inf, -np.inf, paths).max(axis=-1, keepdims=True)
        finite_max = np.where(np.isfinite(finite_max), finite_max, 0.0)
        paths = np.where(inf, finite_max + 1.0, paths)
    if rank_after:
        paths = _rank_vectors(paths, normalize=True)
    return paths


def _square_with_inf(v: np.ndarray) -> np.ndarray:
    k = n_conditions_from_pairs(v.shape[-1])
    iu = np.triu_indices(k, 1)
    m = np.full(v.shape[:-1] + (k, k), np.inf)
    m[..., iu[0], iu[1]] = v
    m[..., iu[1], iu[0]] = v
    idx = np.arange(k)
    m[..., idx, idx] = 0.0
    return m


def geodesic_transform(rdms: Any, zero_edges: str = "drop", disconnected: str = "max_plus_one",
                       rank_after: bool = False) -> np.ndarray:
    """Geodesic transform of RDMs: shortest-path distances over a thresholded graph.

    Each RDM is min-max rescaled to ``[0, 1]``, read as a weighted graph over
    conditions whose edges are the pairs with value ``< 1`` (the maximum, or the
    pairs an RGTM set to 1, are removed), and replaced by its all-pairs
    shortest-path lengths (batched Floyd-Warshall). Applied to an RGTM this gives
    the representational geodesic matrix (RGDM).

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
    zero_edges : {"drop", "keep"}
        ``"drop"`` (default, as the authors' code and rsatoolbox via networkx):
        zero-valued pairs are *not* edges, so pairs a geo-topological transform
        set to 0 are disconnected rather than at distance 0. ``"keep"``: they are
        edges of length 0 (sub-threshold chains collapse). Note that after the
        min-max step the smallest dissimilarity of a raw RDM is 0 too, so with
        ``"drop"`` that pair is not an edge (as in the references).
    disconnected : {"max_plus_one", "inf"}
        Disconnected pairs get the RDM's largest finite path length + 1
        (default; they then rank above every connected pair, tied) or stay ``inf``.
    rank_after : bool
        Rank-normalise the path lengths to ``[0, 1]`` (the authors' default in tRSA).

    Returns
    -------
    numpy.ndarray, same shape as ``rdms``

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.
    """
    v, form = _check_rdm_vectors(rdms, allow_nan=False)
    rank_after = check_bool(rank_after, "rank_after")
    x = _minmax_vectors(v)
    out = _paths_from_edges(x, x != 1.0, zero_edges, disconnected, rank_after)
    return restore_form(out, form)


def _knn_keep(x: np.ndarray, k: int, rule: str) -> np.ndarray:
    """Which upper-triangle pairs are kNN edges, for each RDM vector in ``x``."""
    m = _square_with_inf(x)
    n = m.shape[-1]
    idx = np.arange(n)
    m[..., idx, idx] = np.inf  # a node is not its own neighbour
    order = np.argsort(m, axis=-1, kind="stable")[..., :k]
    nn = np.zeros(m.shape, dtype=bool)
    np.put_along_axis(nn, order, True, axis=-1)
    if rule == "lower":
        adj = nn  # edge (i, j), i < j, tested once as "j in kNN(i)"
    elif rule == "mutual":
        adj = nn & np.swapaxes(nn, -1, -2)
    else:
        adj = nn | np.swapaxes(nn, -1, -2)
    return _upper(adj)


def graph_geodesic_transform(
    rdms: Any,
    graph: str = "twostep",
    lower: float = 0.2,
    upper: float = 0.8,
    p: float = 0.05,
    k: int = 5,
    knn_rule: str = "lower",
    zero_edges: str = "drop",
    disconnected: str = "max_plus_one",
    rank_after: bool = True,
    quantile: bool = True,
    rank_first: bool = True,
) -> np.ndarray:
    """Representational geodesic matrices (RGDM) from graph variants of the authors' protocol.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
    graph : {"twostep", "p_shortest", "k_nearest", "p_nearest"}
        How the graph is built before shortest paths:

        - ``"twostep"`` (the paper's RGDM): ``x = minmax(GT_{lower,upper}(d))``; edges
          are pairs with ``x < 1`` (i.e. ``d < theta_u``).
        - ``"p_shortest"``: ``x = minmax(rank(d))``; edges are pairs with
          ``x <= quantile(x, p)``.
        - ``"k_nearest"``: ``x = minmax(rank(d))``; edges connect k nearest neighbours.
        - ``"p_nearest"``: as ``"k_nearest"`` with ``k = int(p K)``.
    lower, upper, quantile, rank_first
        Geo-topological transform parameters (``"twostep"`` only), see
        :func:`geotopological_transform`.
    p : float
        Fraction for ``"p_shortest"`` / ``"p_nearest"``.
    k : int
        Neighbours for ``"k_nearest"``.
    knn_rule : {"lower", "mutual", "union"}
        ``"lower"`` reproduces the authors' code: the pair ``(i, j)``, ``i < j``,
        is an edge when ``j`` is among the k nearest neighbours of ``i`` (an
        asymmetric test). ``"mutual"``/``"union"``: both/either direction.
    zero_edges, disconnected, rank_after
        See :func:`geodesic_transform`; ``rank_after=True`` rank-normalises the
        path lengths as the authors do.

    Returns
    -------
    numpy.ndarray, same shape as ``rdms``

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.
    """
    v, form = _check_rdm_vectors(rdms, allow_nan=False)
    out = _graph_geodesic_vectors(v, graph, lower, upper, p, k, knn_rule, zero_edges, disconnected, rank_after,
                                  quantile, rank_first)
    return restore_form(out, form)


def _graph_geodesic_vectors(v: np.ndarray, graph: str = "twostep", lower: Any = 0.2, upper: Any = 0.8,
                            p: Any = 0.05, k: Any = 5, knn_rule: str = "lower", zero_edges: str = "drop",
                            disconnected: str = "max_plus_one", rank_after: Any = True, quantile: Any = True,
                            rank_first: Any = True) -> np.ndarray:
    """:func:`graph_geodesic_transform` of validated vectors ``(n_rdms, n_pairs)``."""
    check_in(graph, "graph", ("twostep", "p_shortest", "k_nearest", "p_nearest"))
    check_in(knn_rule, "knn_rule", ("lower", "mutual", "union"))
    method_args(graph, {"lower": not _same(lower, 0.2), "upper": not _same(upper, 0.8),
                        "quantile": quantile is not True, "rank_first": rank_first is not True,
                        "p": not _same(p, 0.05), "k": not _same(k, 5), "knn_rule": knn_rule != "lower"},
                {"lower": ("twostep",), "upper": ("twostep",), "quantile": ("twostep",),
                 "rank_first": ("twostep",), "p": ("p_shortest", "p_nearest"), "k": ("k_nearest",),
                 "knn_rule": ("k_nearest", "p_nearest")}, what="graph")
    check_in(zero_edges, "zero_edges", ("drop", "keep"))
    check_in(disconnected, "disconnected", ("max_plus_one", "inf"))
    rank_after = check_bool(rank_after, "rank_after")
    n_cond = n_conditions_from_pairs(v.shape[-1])
    if graph == "twostep":
        x = _minmax_vectors(_gt_vectors(v, lower, upper, quantile, rank_first, "linear"))
        keep = x < 1.0
    else:
        x = _rank_vectors(v, normalize=True)
        if graph == "p_shortest":
            p = check_scalar(p, "p", low=0.0, high=1.0)
            keep = x <= np.quantile(x, p, axis=1)[:, None]
        else:
            if graph == "p_nearest":
                p = check_scalar(p, "p", low=0.0, high=1.0, low_inclusive=False)
                k_eff = max(1, int(p * n_cond))
            else:
                k_eff = check_positive_int(k, "k")
            if k_eff > n_cond - 1:
                raise ValueError(f"k must be <= n_conditions - 1 = {n_cond - 1}; got {k_eff}")
            keep = _knn_keep(x, k_eff, knn_rule)
    return _paths_from_edges(x, keep, zero_edges, disconnected, rank_after)
