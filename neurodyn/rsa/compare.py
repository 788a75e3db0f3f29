"""Comparison of RDMs: all pairs of two sets in one call.

``compare_rdms(a, b, method)`` returns the ``(n_a, n_b)`` matrix of similarities
(larger = more similar for every method). NaN entries are masked jointly: when
every RDM has the same NaN positions (the usual case: missing conditions) the
batched path drops them for all; otherwise each pair is compared on the entries
both RDMs hold.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .._torch import resolve_device, resolve_dtype, to_numpy, to_tensor
from .._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_in,
    check_positive_definite,
    check_positive_int,
    pow2_scale,
)
from ._checks import as_rdm_vectors, check_bool, normalise_rows
from .rdm import n_conditions_from_pairs
from .transforms import _average_ranks, _average_ranks_torch

__all__ = ["COMPARE_METHODS", "compare_rdms", "kendall_tau_counts"]

COMPARE_METHODS = ("cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b", "kendall",
                   "cosine_cov", "corr_cov")


def _check_set(rdms: Any, name: str) -> np.ndarray:
    return as_rdm_vectors(rdms, name)[0]


def compare_rdms(
    rdms1: Any,
    rdms2: Any,
    method: str = "cosine",
    sigma_k: Any = None,
    device: Any = "auto",
    dtype: Any = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Compare every RDM of ``rdms1`` with every RDM of ``rdms2``.

    Parameters
    ----------
    rdms1 : array-like, shape (n_pairs,) or (n1, n_pairs)
        RDM vectors (upper triangle, row-major), e.g. models.
    rdms2 : array-like, shape (n_pairs,) or (n2, n_pairs)
        RDM vectors of the same size, e.g. data.
    method : str
        - ``"cosine"``: ``v1 . v2 / (|v1| |v2|)`` (0 for an all-zero RDM).
        - ``"corr"``: Pearson correlation.
        - ``"spearman"``: Pearson correlation of average-tie ranks.
        - ``"rho-a"``: ``12 sum (r1 - rbar)(r2 - rbar) / (n^3 - n)``, the expected
          Spearman rho under random tie breaking.
        - ``"tau-a"``: ``(C - D) / (n (n - 1) / 2)``; tied pairs count 0. Exact, also
          with ties (categorical models), computed in O(n log n) per pair.
        - ``"tau-b"`` (alias ``"kendall"``): ``(C - D) / sqrt((n0 - T_x)(n0 - T_y))``,
          as :func:`scipy.stats.kendalltau` (0, not NaN, for a constant RDM).
        - ``"cosine_cov"``: whitened unbiased RDM cosine: cosine of the double-centred
          second-moment matrices ``G = -1/2 H D H`` (``H = I - 11^T/K``), scaled by
          ``1/sqrt(s_i s_j)`` for a diagonal ``sigma_k``; for a full ``sigma_k`` the
          cosine of the RDM vectors in the ``V^-1`` metric, ``V = (C Sigma_k C^T)^2``
          elementwise (``C``: pairwise contrasts), solved exactly (a direct solve, no
          iterations) in O(K^3) per RDM through the whitened second moments.
        - ``"corr_cov"``: the same after subtracting each RDM's mean.
    sigma_k : array-like, shape (K,) or (K, K), optional
        Covariance of the pattern estimates (``cosine_cov``/``corr_cov`` only).
    device, dtype
        Torch device/dtype (float64 on CPU by default). Rank counts are exact integers;
        ranks are taken in float64 whatever ``dtype``. float32 agrees with float64
        within 1e-5; float16/bfloat16 only within about 1e-3 / 1e-2.
    n_threads : int, optional
        Worker threads of the CPU tau-a/tau-b counts (default 1), see
        :func:`kendall_tau_counts`.

    Returns
    -------
    numpy.ndarray, shape (n1, n2)
        Float64. A constant (or all-zero) RDM has similarity 0 with every RDM.

    Notes
    -----
    RDMs may be given as vectors, one symmetric ``(K, K)`` square with a zero
    diagonal, or ``(n_rdms, K, K)`` squares. Every method is invariant to a positive
    scale of each RDM, so rows are divided by a power of two near their largest entry
    before any product: the result is the same at any scale (tested 1e-300 ... 1e300
    in float64). With ``dtype=float32`` the centring and ranking happen in float64
    before the cast; results agree with float64 within 1e-5 (absolute).

    References
    ----------
    Nili, H. et al. (2014). A toolbox for representational similarity analysis.
    PLoS Comput. Biol. 10:e1003553.
    Diedrichsen, J. et al. (2021). Comparing representational geometries using
    whitened unbiased-distance-matrix similarity. Neurons, Behavior, Data
    analysis, and Theory 5(3).
    Schütt, H. H. et al. (2023). Statistical inference on representational
    geometries. eLife 12:e82566.
    """
    check_in(method, "method", COMPARE_METHODS)
    a = _check_set(rdms1, "rdms1")
    b = _check_set(rdms2, "rdms2")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"rdms1 and rdms2 must be RDMs of the same size; got {a.shape[1]} entries "
            f"({n_conditions_from_pairs(a.shape[1])} conditions) and {b.shape[1]} entries "
            f"({n_conditions_from_pairs(b.shape[1])} conditions)"
        )
    if sigma_k is not None and method not in ("cosine_cov", "corr_cov"):
        raise ValueError(f"sigma_k is only used by method in ['cosine_cov', 'corr_cov']; got method={method!r}")
    if n_threads is not None:
        check_positive_int(n_threads, "n_threads")
    sk = None if sigma_k is None else _check_sigma_k(sigma_k, n_conditions_from_pairs(a.shape[1]))
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    if method not in ("tau-a", "tau-b", "kendall", "spearman", "rho-a"):
        # every remaining similarity is invariant to a positive scale of each RDM: put each
        # row near 1 so that no product under- or overflows (ranks need no such care)
        narrow = dt != torch.float64
        a, b = normalise_rows(a, narrow), normalise_rows(b, narrow)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    pattern = nan_a[0]
    if (nan_a == pattern).all() and (nan_b == pattern).all():
        keep = ~pattern
        if keep.sum() < 2:
            raise ValueError("rdms1 and rdms2 need at least 2 non-NaN entries in common")
        return _compare_block(a, b, method, sk, keep, dev, dt, n_threads)
    # RDMs with different NaN positions: each pair is compared on its joint entries
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            keep = ~(nan_a[i] | nan_b[j])
            if keep.sum() < 2:
                raise ValueError(f"rdms1[{i}] and rdms2[{j}] have {int(keep.sum())} non-NaN entries in common; "
                                 f"a comparison needs at least 2")
            out[i, j] = _compare_block(a[i:i + 1], b[j:j + 1], method, sk, keep, dev, dt, n_threads)[0, 0]
    return out


def _check_sigma_k(sigma_k: Any, k: int) -> np.ndarray:
    """Validated covariance of the pattern estimates, divided by a power of two near its
    largest entry (the whitened cosines do not depend on its scale)."""
    sk = check_array(sigma_k, "sigma_k", ndim=(1, 2), dims="(K,) or (K, K)")
    check_finite(sk, "sigma_k")
    if sk.shape[0] != k or (sk.ndim == 2 and sk.shape != (k, k)):
        raise ValueError(f"sigma_k must have shape ({k},) or ({k}, {k}); got {sk.shape}")
    if sk.ndim == 1:
        if np.any(sk <= 0):
            raise ValueError(f"sigma_k must hold positive variances; got min {float(sk.min()):.3g}")
    else:
        check_positive_definite(sk, "sigma_k")
    return sk / pow2_scale(float(np.max(np.abs(sk))))


def _compare_block(a, b, method, sigma_k, keep, dev, dt, n_threads=None) -> np.ndarray:
    if method in ("cosine_cov", "corr_cov"):
        return _cosine_cov(a, b, keep, sigma_k, center=method == "corr_cov", dev=dev, dt=dt)
    if method in ("tau-a", "tau-b", "kendall"):
        return _kendall_block(a if keep.all() else a[:, keep], b if keep.all() else b[:, keep], method, dev,
                              n_threads)
    if dev.type == "cpu" and dt == torch.float64:  # small products: numpy has less overhead
        return _moment_compare_numpy(a if keep.all() else a[:, keep], b if keep.all() else b[:, keep], method)
    a, b = a[:, keep], b[:, keep]
    # centre and rank in float64 before any cast: a float32 cast first could merge
    # distinct values (ties) or lose the variation riding on a large offset
    if method == "corr":
        a = normalise_rows(a - a.mean(1, keepdims=True), force=True)
        b = normalise_rows(b - b.mean(1, keepdims=True), force=True)
    elif method in ("spearman", "rho-a"):
        a = to_numpy(_average_ranks_any(to_tensor(a, device=dev, dtype=torch.float64)))
        b = to_numpy(_average_ranks_any(to_tensor(b, device=dev, dtype=torch.float64)))
        a = a - a.mean(1, keepdims=True)
        b = b - b.mean(1, keepdims=True)
    ta = to_tensor(a, device=dev, dtype=dt)
    tb = to_tensor(b, device=dev, dtype=dt)
    n = ta.shape[1]
    if method in ("cosine", "corr", "spearman"):
        return to_numpy(_cosine(ta, tb)).astype(np.float64)
    if method == "rho-a":
        return to_numpy(12.0 * (ta @ tb.T) / (float(n) ** 3 - n)).astype(np.float64)
    raise AssertionError(method)  # pragma: no cover - methods are checked by compare_rdms


def _cosine_numpy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    nx = np.sqrt(np.einsum("ij,ij->i", x, x))
    ny = np.sqrt(np.einsum("ij,ij->i", y, y))
    cos = (x / np.where(nx > 0, nx, 1.0)[:, None]) @ (y / np.where(ny > 0, ny, 1.0)[:, None]).T
    return np.where((nx[:, None] > 0) & (ny[None, :] > 0), cos, 0.0)


def _moment_compare_numpy(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """cosine / corr / spearman / rho-a in float64 numpy (the CPU path)."""
    if method == "cosine":
        return _cosine_numpy(a, b)
    if method == "corr":
        return _cosine_numpy(a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True))
    from scipy.stats import rankdata

    n = a.shape[1]
    ra = rankdata(a, axis=-1)
    rb = rankdata(b, axis=-1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    if method == "spearman":
        return _cosine_numpy(ra, rb)
    return 12.0 * (ra @ rb.T) / (float(n) ** 3 - n)


def _kendall_block(a: np.ndarray, b: np.ndarray, method: str, dev, n_threads=None) -> np.ndarray:
    n = a.shape[1]
    s, tx, ty = kendall_tau_counts(a, b, device=dev, ties=method != "tau-a", n_threads=n_threads)
    n0 = n * (n - 1) // 2
    if method == "tau-a":
        return np.clip(s / n0, -1.0, 1.0)
    denom = np.sqrt((n0 - tx)[:, None].astype(float)) * np.sqrt((n0 - ty)[None, :].astype(float))
    # a constant RDM (every pair tied) has no order: similarity 0, as for the other methods
    tau_b = np.divide(s, denom, out=np.zeros(s.shape), where=denom > 0)
    return np.clip(tau_b, -1.0, 1.0)


def _cosine(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    nx = torch.linalg.vector_norm(x, dim=1)
    ny = torch.linalg.vector_norm(y, dim=1)
    sx = torch.where(nx > 0, nx, torch.ones_like(nx))
    sy = torch.where(ny > 0, ny, torch.ones_like(ny))
    cos = (x / sx[:, None]) @ (y / sy[:, None]).T
    return torch.where((nx[:, None] > 0) & (ny[None, :] > 0), cos, torch.zeros_like(cos))


# ----------------------------------------------------------------------- Kendall
def _dense_ranks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense ranks (0, 1, ... per distinct value) of each row and the sorting order."""
    if x.device.type == "cpu":  # numpy's vectorised argsort is faster here
        order = torch.from_numpy(np.argsort(x.numpy(), axis=-1))
        s = torch.gather(x, -1, order)
    else:
        s, order = torch.sort(x, dim=-1)
    step = torch.ones_like(s, dtype=torch.int64)
    step[..., 0] = 0
    step[..., 1:] = (s[..., 1:] != s[..., :-1]).to(torch.int64)
    dense = torch.cumsum(step, dim=-1)
    out = torch.empty_like(dense)
    out.scatter_(-1, order, dense)
    return out, order


def _tie_pairs_dense(dense: torch.Tensor) -> torch.Tensor:
    """Number of tied pairs in each row of dense ranks (values in ``[0, n)``)."""
    b, n = dense.shape
    flat = (dense + n * torch.arange(b, device=dense.device)[:, None]).reshape(-1)
    c = torch.bincount(flat, minlength=b * n).reshape(b, n)
    return (c * (c - 1) // 2).sum(-1)


def _tie_pairs(sorted_keys: torch.Tensor) -> torch.Tensor:
    """Number of tied pairs in each row of a sorted integer array."""
    first = torch.searchsorted(sorted_keys, sorted_keys, right=False)
    pos = torch.arange(sorted_keys.shape[-1], device=sorted_keys.device)
    return (pos - first).sum(-1)


def _count_inversions(y: torch.Tensor, n_values: int) -> torch.Tensor:
    """Pairs ``i < j`` with ``y_i > y_j`` in each row (bottom-up merge counting).

    ``y`` holds integers in ``[0, n_values)``. Rows are padded to a power of two
    with ``n_values`` (larger than every entry, placed last: no inversions).
    Blocks of 16 are counted by direct comparison; each merge level then sorts
    sibling blocks together (keys ``2 y + is_right``, so ties never count) and
    counts, for every right-block element, the left-block elements above it.
    """
    b, n = y.shape
    length = 1 << max(4, int(np.ceil(np.log2(max(n, 2)))))
    v = torch.full((b, length), n_values, dtype=torch.int64, device=y.device)
    v[:, :n] = y
    base = 16
    blocks = v.reshape(b, length // base, base)
    upper = torch.triu(torch.ones(base, base, dtype=torch.bool, device=y.device), 1)
    inv = ((blocks[..., :, None] > blocks[..., None, :]) & upper).sum((-1, -2)).sum(-1)
    v = torch.sort(blocks, dim=-1).values.reshape(b, length)
    width = base
    while width < length:
        pairs = v.reshape(b, length // (2 * width), 2, width)
        flag = torch.tensor([0, 1], device=y.device, dtype=torch.int64)[:, None]
        keys = (pairs * 2 + flag).reshape(b, length // (2 * width), 2 * width)
        keys = torch.sort(keys, dim=-1).values
        is_right = keys & 1
        left_le = torch.cumsum(1 - is_right, dim=-1)
        inv = inv + ((width - left_le) * is_right).sum((-1, -2))
        v = (keys >> 1).reshape(b, length)
        width *= 2
    return inv


def _count_inversions_numpy(y: np.ndarray, n_values: int, base: int = 16) -> np.ndarray:
    """CPU version of :func:`_count_inversions` (numpy's sorts are faster there)."""
    b, n = y.shape
    n_blocks = -(-n // base)
    levels = max(0, int(np.ceil(np.log2(n_blocks))))
    length = base << levels
    v = np.full((b, length), n_values, dtype=np.int64)
    v[:, :n] = y
    blocks = v.reshape(b, -1, base)
    inv = np.zeros(b, dtype=np.int64)
    for i in range(base - 1):
        inv += (blocks[:, :, i:i + 1] > blocks[:, :, i + 1:]).sum((1, 2))
    v = np.sort(blocks, axis=-1).reshape(b, length)
    width = base
    while width < length:
        flag = np.repeat(np.array([0, 1], dtype=np.int64), width)
        keys = v.reshape(b, -1, 2 * width) * 2 + flag
        keys.sort(axis=-1)
        is_right = keys & 1
        left_le = np.cumsum(1 - is_right, axis=-1)
        inv += ((width - left_le) * is_right).sum((1, 2))
        v = (keys >> 1).reshape(b, length)
        width *= 2
    return inv


def kendall_tau_counts(x: Any, y: Any, device: Any = "cpu", max_batch: int = 4096, ties: bool = True,
                       n_threads: int | None = None):
    """Exact Kendall counts for all pairs of rows of ``x`` and ``y``.

    Parameters
    ----------
    x : array-like, shape (n1, n)
    y : array-like, shape (n2, n)
    device : torch device for the computation.
    max_batch : int
        Row pairs processed at once (bounds memory to about ``40 max_batch n`` bytes).
    ties : bool
        Count the tied pairs ``tx``/``ty`` (needed for tau-b; without them the
        general path still counts them internally). The CPU path always counts them.
    n_threads : int, optional
        Worker threads for the CPU path (default 1). numpy releases the GIL inside
        its loops, but the calls here are short (cache-sized chunks), so extra
        threads pay off only on otherwise idle cores.

    Returns
    -------
    s : numpy.ndarray of int64, shape (n1, n2)
        ``C - D``: concordant minus discordant pairs (ties count 0).
    tx : numpy.ndarray of int64, shape (n1,)
        Pairs tied in ``x``.
    ty : numpy.ndarray of int64, shape (n2,)
        Pairs tied in ``y``.

    Notes
    -----
    Knight's O(n log n) scheme, vectorised over row pairs: order each pair by
    (x, y), count inversions of y (strictly discordant pairs ``D``), and use
    ``C - D = n0 - T_x - T_y + T_xy - 2 D``. On the CPU, everything per RDM
    (ranks, sorting orders) is computed once, and pairs of tie-free rows skip the
    per-pair sort: ``D`` is counted from the ranks alone by a block / histogram
    decomposition (see ``_inversions_permutations``); rows with at most 16 distinct
    values against tie-free rows take a matrix product with the ranks plus one
    running count per level beyond two (see ``_concordance_levels_tie_free``).

    References
    ----------
    Knight, W. R. (1966). A computer method for calculating Kendall's tau with
    ungrouped data. J. Am. Stat. Assoc. 61:436-439.
    """
    dev = resolve_device(device)
    xn, yn = (np.ascontiguousarray(np.atleast_2d(check_finite(check_array(v, name, ndim=(1, 2), dims="(n_rows, n)"),
                                                              name)))
              for v, name in ((x, "x"), (y, "y")))
    if xn.shape[1] != yn.shape[1]:
        raise ValueError(f"x and y must have rows of the same length; got {xn.shape[1]} and {yn.shape[1]}")
    max_batch = check_positive_int(max_batch, "max_batch")
    ties = check_bool(ties, "ties")
    if n_threads is not None:
        check_positive_int(n_threads, "n_threads")
    if dev.type == "cpu":
        return _kendall_counts_cpu(xn, yn, max_batch, n_threads)
    return _kendall_counts_torch(xn, yn, dev, max_batch, ties)


def _kendall_counts_torch(x: np.ndarray, y: np.ndarray, dev: torch.device, max_batch: int, ties: bool):
    """Accelerator path of :func:`kendall_tau_counts`: per-pair sorts and merge counts
    in torch (the CPU path avoids the per-pair sort)."""
    xa = to_tensor(x, device=dev, dtype=torch.float64)
    ya = to_tensor(y, device=dev, dtype=torch.float64)
    n = xa.shape[1]
    rx, ox = _dense_ranks(xa)
    ry, oy = _dense_ranks(ya)
    n1, n2 = rx.shape[0], ry.shape[0]
    s = torch.empty(n1, n2, dtype=torch.int64, device=dev)
    # RDMs with few distinct values (categorical models): O(n * levels) counting
    few_x = (rx.amax(-1) + 1 <= _FEW_LEVELS).cpu().numpy()
    few_y = (ry.amax(-1) + 1 <= _FEW_LEVELS).cpu().numpy()
    general = (~few_x).any() and (~few_y).any()
    tx = _tie_pairs_dense(rx) if ties or general else torch.zeros(n1, dtype=torch.int64, device=dev)
    ty = _tie_pairs_dense(ry) if ties or general else torch.zeros(n2, dtype=torch.int64, device=dev)
    if few_x.any():
        s[torch.as_tensor(few_x, device=dev)] = _concordance_few_levels(rx[torch.as_tensor(few_x, device=dev)], ry, oy)
    rest = np.flatnonzero(~few_x)
    if rest.size and few_y.any():
        cols = torch.as_tensor(few_y, device=dev)
        rows = torch.as_tensor(rest, device=dev)
        s[rows[:, None], torch.nonzero(cols).flatten()[None, :]] = _concordance_few_levels(ry[cols], rx[rows], ox[rows]).T
    if rest.size == 0 or few_y.all():
        return to_numpy(s), to_numpy(tx), to_numpy(ty)
    cols = np.flatnonzero(~few_y)
    _general_counts(s, rx, ry, rest, cols, tx, ty, n, max_batch, dev)
    return to_numpy(s), to_numpy(tx), to_numpy(ty)


def _general_counts(s, rx, ry, rest, cols, tx, ty, n, max_batch, dev) -> None:
    """Fill ``s[rest][:, cols]`` by sorting each pair on ``(x, y)`` and merge counting."""
    if rest.size == 0 or cols.size == 0:
        return
    n0 = n * (n - 1) // 2
    ry_rest = ry[torch.as_tensor(cols, device=dev)]
    n2r = cols.size
    rows_per_chunk = max(1, max_batch // max(n2r, 1))
    for j0 in range(0, rest.size, rows_per_chunk):
        i_rows = rest[j0:j0 + rows_per_chunk]
        keys = (rx[torch.as_tensor(i_rows, device=dev)][:, None, :] * n + ry_rest[None, :, :]).reshape(-1, n)
        keys = torch.sort(keys, dim=-1).values.contiguous()
        txy = _tie_pairs(keys)
        if dev.type == "cpu":
            disc = torch.from_numpy(_count_inversions_numpy((keys % n).numpy(), n))
        else:
            disc = _count_inversions(keys % n, n)
        ri = torch.as_tensor(i_rows, device=dev)
        ci = torch.as_tensor(cols, device=dev)
        s[ri[:, None], ci[None, :]] = (n0 - tx[ri][:, None] - ty[ci][None, :]
                                       + (txy - 2 * disc).reshape(i_rows.size, n2r))


# ----------------------------------------------------------------------- Kendall, CPU (numpy)
def _thread_count(n_threads: int | None, n_tasks: int) -> int:
    """Worker threads for ``n_tasks`` independent chunks (default 1)."""
    return max(1, min(int(n_threads or 1), n_tasks))


def _run_parallel(work, tasks: list, n_threads: int | None) -> None:
    """Run ``work(group)`` on ``n_threads`` groups of tasks; numpy releases the GIL in
    its loops, so threads share the cores without copies."""
    n_thr = _thread_count(n_threads, len(tasks))
    if n_thr == 1:
        work(tasks)
        return
    with ThreadPoolExecutor(n_thr) as pool:
        for _ in pool.map(work, [tasks[i::n_thr] for i in range(n_thr)]):
            pass


def _few_level_ranks(row: np.ndarray) -> np.ndarray | None:
    """Dense ranks of a row with at most ``_FEW_LEVELS`` distinct values (categorical
    models) without a full sort, or None for any other row (decided on its first
    entries in most cases)."""
    candidates = np.unique(row[:4 * _FEW_LEVELS])
    if candidates.size > _FEW_LEVELS:
        return None
    idx = np.searchsorted(candidates, row)
    np.minimum(idx, candidates.size - 1, out=idx)
    if not np.array_equal(candidates[idx], row):  # a value outside the candidates (or NaN)
        return None
    present = np.bincount(idx, minlength=candidates.size) > 0
    return (np.cumsum(present) - 1)[idx]


def _dense_ranks_numpy(x: np.ndarray, n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ranks (0, 1, ... per distinct value) of each row, a sorting order, and
    the number of distinct values of each row."""
    b, n = x.shape
    ranks = np.empty((b, n), dtype=np.int64)
    flat_ranks = ranks.reshape(-1)
    order = np.empty((b, n), dtype=np.intp)
    levels = np.empty(b, dtype=np.int64)
    n_thr = _thread_count(n_threads, b)
    rows_per_task = max(1, -(-b // (4 * n_thr))) if n_thr > 1 else max(b, 1)
    tasks = [(i, min(b, i + rows_per_task)) for i in range(0, b, rows_per_task)]

    def work(group):
        for i0, i1 in group:
            sorted_rows = []
            for i in range(i0, i1):  # categorical rows: ranks by lookup, order by a byte sort
                few = _few_level_ranks(x[i]) if n else None
                if few is None:
                    sorted_rows.append(i)
                    continue
                ranks[i] = few
                order[i] = np.argsort(few.astype(np.int8), kind="stable")
                levels[i] = few.max() + 1
            if not sorted_rows:
                continue
            rows = np.asarray(sorted_rows)
            o = np.argsort(x[rows], axis=1)
            s = np.take_along_axis(x[rows], o, axis=1)
            step = np.zeros(s.shape, dtype=np.int64)
            np.not_equal(s[:, 1:], s[:, :-1], out=step[:, 1:], casting="unsafe")
            dense = np.cumsum(step, axis=1, out=step)
            flat_ranks[(o + n * rows[:, None]).ravel()] = dense.ravel()
            order[rows] = o
            levels[rows] = dense[:, -1] + 1 if n else 0

    _run_parallel(work, tasks, n_threads)
    return ranks, order, levels


def _tie_pairs_numpy(ranks: np.ndarray) -> np.ndarray:
    """Tied pairs in each row of dense ranks."""
    b, n = ranks.shape
    if b == 0 or n == 0:
        return np.zeros(b, dtype=np.int64)
    c = np.bincount((ranks + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)
    return (c * (c - 1) // 2).sum(1)


def _block_size(n: int) -> int:
    """Block/bin size of the permutation counter: the in-block comparisons cost about
    ``n B`` cheap byte operations, the histogram ``(n / B)^2`` costlier ones."""
    return int(min(240, max(8, 8 * round((60.0 * n) ** (1 / 3) / 8))))


def _shifted_views(v: np.ndarray, acc: np.ndarray, buf: np.ndarray) -> list:
    """Operands of :func:`_inversions_in_blocks` for every shift ``d`` (slicing once
    per buffer instead of once per chunk: the loop is short and runs often)."""
    b = v.shape[0]
    return [(v[:b - d], v[d:], buf[:b - d], acc[:b - d], buf[:b - d].view(np.uint8)) for d in range(1, b)]


def _inversions_in_blocks(acc: np.ndarray, views: list) -> np.ndarray:
    """Pairs ``i < j`` with ``v[i] > v[j]`` in each column of ``v`` (shape ``(B, M)``).

    One comparison of the array with itself shifted by ``d`` rows per ``d``
    (``views`` from :func:`_shifted_views`): long contiguous rows, byte-sized
    results accumulated in the ``(B - 1, M)`` workspace ``acc``.
    """
    acc.fill(0)
    greater, add = np.greater, np.add
    for lhs, rhs, out, acc_d, hit in views:
        greater(lhs, rhs, out=out)
        add(acc_d, hit, out=acc_d)
    # at most B (B - 1) / 2 per column
    return acc.sum(0, dtype=np.uint16 if acc.shape[0] < 362 else np.int64)


class _PermutationWorkspace:
    """Buffers reused across the chunks of one thread (large temporaries allocated and
    freed per chunk can be returned to the system and page-faulted in again)."""

    def __init__(self, block: int, n_blocks: int, n_pairs: int, bin_dtype, pos_dtype):
        m = n_blocks * n_pairs
        cells = m * (n_blocks + 1)
        # histogram cells hold counts <= n and products <= n B
        cell_dtype = np.int32 if n_blocks * block * block < 2**31 else np.int64
        self.m = m
        self.z = np.empty((block, m), dtype=bin_dtype)
        self.w = np.empty((block, m), dtype=pos_dtype)
        self.acc = np.empty((max(block - 1, 1), m), dtype=np.uint8 if block <= 256 else np.int32)
        self.buf = np.empty((max(block - 1, 1), m), dtype=bool)
        self.z_views = _shifted_views(self.z, self.acc, self.buf)
        self.w_views = _shifted_views(self.w, self.acc, self.buf)
        self.idx = np.empty(block * m, dtype=np.int64)
        self.hist = np.empty(cells, dtype=cell_dtype)
        self.before = np.empty(cells, dtype=cell_dtype)
        self.lower = np.empty(cells, dtype=cell_dtype)


_WORKSPACES = threading.local()


def _workspace(block: int, n_blocks: int, n_pairs: int, bin_dtype, pos_dtype) -> _PermutationWorkspace:
    """This thread's workspace for these sizes, kept for the next call (repeated
    comparisons of same-sized RDMs skip the allocation and the page faults)."""
    key = (block, n_blocks, n_pairs, np.dtype(bin_dtype), np.dtype(pos_dtype))
    cached = getattr(_WORKSPACES, "last", None)
    if cached is None or cached[0] != key:
        cached = (key, _PermutationWorkspace(block, n_blocks, n_pairs, bin_dtype, pos_dtype))
        _WORKSPACES.last = cached
    return cached[1]


def _inversions_across_blocks(z: np.ndarray, n_blocks: int, ws: _PermutationWorkspace) -> np.ndarray:
    """Inversions between different position blocks and different bins.

    ``z`` (shape ``(B, n_blocks, k)``) holds the bins of the y-ranks in x-order, block
    by block (padding: bin ``n_blocks``). With the ``(block, bin)`` histogram ``h``,
    ``before[u, v]`` (elements of earlier blocks in bin ``v``) and ``lower[u, v]``
    (elements of block ``u`` in lower bins), the count is ``sum before * lower``.
    """
    b, nb, k = z.shape
    size = nb * k * (nb + 1)
    offsets = (np.arange(nb, dtype=np.int64)[:, None] * (k * (nb + 1))
               + np.arange(k, dtype=np.int64) * (nb + 1))
    idx = ws.idx[:b * nb * k]
    np.add(z, offsets, out=idx.reshape(b, nb, k))
    h = ws.hist[:size].reshape(nb, k, nb + 1)
    np.copyto(h.reshape(-1), np.bincount(idx, minlength=size), casting="unsafe")  # counts <= B: exact
    before = ws.before[:size].reshape(nb, k, nb + 1)
    before[0] = 0
    for u in range(1, nb):
        np.add(before[u - 1], h[u - 1], out=before[u])
    lower = ws.lower[:size].reshape(nb, k, nb + 1)
    np.cumsum(h, axis=2, dtype=lower.dtype, out=lower)
    np.subtract(lower, h, out=lower)
    np.multiply(before, lower, out=before)
    return before.sum(axis=2, dtype=np.int64).sum(0)


def _inversions_permutations(px: np.ndarray, py: np.ndarray, inv_x: np.ndarray | None = None,
                             inv_y: np.ndarray | None = None, block: int | None = None,
                             max_elements: int = 85_000, n_threads: int | None = None) -> np.ndarray:
    """Discordant pairs of every pair of tie-free rows (permutations of ``0..n-1``).

    With ``z`` the y-ranks listed in x-order, ``D`` counts pairs ``p < q`` with
    ``z_p > z_q``. Cut positions into blocks and y-ranks into bins of ``block``
    values. Pairs in different position blocks and different bins are counted
    from the ``(position block, bin)`` histogram; pairs in one position block by
    direct comparison of their bins; pairs in one bin by direct comparison of their
    positions (listed in y-order). Each pair falls in exactly one of the three
    groups: O(n block + (n / block)^2) per pair, no sort, and per pair only gathers,
    byte comparisons and one histogram.

    Parameters
    ----------
    px, py : numpy.ndarray of int, shapes (n1, n) and (n2, n)
        Ranks of each row (every row a permutation of ``0..n-1``).
    inv_x, inv_y : numpy.ndarray of int, optional
        Their inverse permutations (the sorting orders), when already known.
    block : int, optional
        Block and bin size (default about ``(60 n)^(1/3)``, a multiple of 8).
    max_elements : int
        About ``pairs x n`` processed at once per thread (cache-sized chunks).
    n_threads : int, optional
        Threads sharing the chunks (default 1).

    Returns
    -------
    numpy.ndarray of int64, shape (n1, n2)
    """
    n1, n = px.shape
    n2 = py.shape[0]
    out = np.zeros((n1, n2), dtype=np.int64)
    if n < 2 or n1 == 0 or n2 == 0:
        return out
    bs = _block_size(n) if block is None else int(block)
    nb = -(-n // bs)
    length = nb * bs
    if inv_x is None:
        inv_x = np.argsort(px, axis=1)
    if inv_y is None:
        inv_y = np.argsort(py, axis=1)
    bin_dtype = np.uint8 if nb < 255 else (np.int16 if nb < 32767 else np.int32)
    pos_dtype = np.int16 if length < 32767 else np.int32
    bins = np.empty((n + 1, n2), dtype=bin_dtype)  # bin of each element's y-rank; row n: padding
    bins[:n] = (py // bs).T
    bins[n] = nb
    pos = np.empty((n + 1, n1), dtype=pos_dtype)  # x-rank of each element; row n: padding
    pos[:n] = px.T
    pos[n] = length

    def blocked(order):  # (B, n_blocks, rows): element at each position, block by block
        p = np.full((order.shape[0], length), n, dtype=np.intp)
        p[:, :n] = order
        return np.ascontiguousarray(p.reshape(order.shape[0], nb, bs).transpose(2, 1, 0))

    ox, oy = blocked(inv_x), blocked(inv_y)
    pairs = max(1, max_elements // length)
    rows, cols = (1, pairs) if n2 >= pairs else (max(1, pairs // n2), n2)
    tasks = [(r0, min(n1, r0 + rows), c0, min(n2, c0 + cols))
             for r0 in range(0, n1, rows) for c0 in range(0, n2, cols)]

    def work(group):
        ws = _workspace(bs, nb, rows * cols, bin_dtype, pos_dtype)
        for r0, r1, c0, c1 in group:
            r, c = r1 - r0, c1 - c0
            m = nb * r * c
            z = ws.z[:, :m].reshape(bs, nb, r, c)  # bins of y-ranks in x-order
            np.take(bins[:, c0:c1], ox[:, :, r0:r1], axis=0, out=z, mode="clip")
            w = ws.w[:, :m].reshape(bs, nb, c, r)  # x-ranks in y-order
            np.take(pos[:, r0:r1], oy[:, :, c0:c1], axis=0, out=w, mode="clip")
            acc, buf = ws.acc[:, :m], ws.buf[:, :m]
            full = m == ws.m
            z_views = ws.z_views if full else _shifted_views(z.reshape(bs, m), acc, buf)
            w_views = ws.w_views if full else _shifted_views(w.reshape(bs, m), acc, buf)
            disc = _inversions_in_blocks(acc, z_views).reshape(nb, r, c).sum(0, dtype=np.int64)
            disc += _inversions_in_blocks(acc, w_views).reshape(nb, c, r).sum(0, dtype=np.int64).T
            disc += _inversions_across_blocks(z.reshape(bs, nb, r * c), nb, ws).reshape(r, c)
            out[r0:r1, c0:c1] = disc

    _run_parallel(work, tasks, n_threads)
    return out


def _concordance_levels_tie_free(levels: np.ndarray, ry: np.ndarray, oy: np.ndarray,
                                 n_threads: int | None = None) -> np.ndarray:
    """``C - D`` of rows of levels (integers ``0..m-1``) against tie-free rows.

    With ``P_ab`` the pairs (level ``a``, level ``b``) ordered like y, ``C - D =
    2 sum_{a<b} P_ab - sum_{a<b} N_a N_b``. Summing the binary splits ``L >= t``
    gives ``sum_{a<b} (b - a) P_ab = L . r_y - sum_t N_{>=t} (N_{>=t} - 1) / 2`` (a
    matrix product with the y-ranks); the excess of non-adjacent levels,
    ``sum_{b >= a+2} (b - a - 1) P_ab``, is one running count per level ``a <= m - 3``
    in y-order. Binary rows need no running count at all.
    """
    n1, n = levels.shape
    n2 = ry.shape[0]
    m = int(levels.max()) + 1 if levels.size else 1
    counts = np.stack([(levels == a).sum(1) for a in range(m)], axis=1).astype(np.int64)  # (n1, m)
    at_least = n - np.cumsum(counts, axis=1)[:, :-1]  # N_{>=t}, t = 1..m-1
    pair_const = (at_least * (at_least - 1) // 2).sum(1)
    cross_const = (n * n - (counts**2).sum(1)) // 2  # sum_{a<b} N_a N_b
    lr = levels.astype(np.int64) @ ry.T.astype(np.int64)  # integer product: exact, no BLAS threads
    graded = lr - pair_const[:, None]
    if m >= 3:
        excess = np.zeros((n1, n2), dtype=np.int64)
        lv = levels.astype(np.int8 if m < 128 else np.int32)
        cdt = np.int32 if n < 2**31 else np.int64
        rows = max(1, 200_000 // max(1, n2 * n))
        cols = n2 if rows > 1 or n2 * n <= 200_000 else max(1, 200_000 // n)
        tasks = [(r0, min(n1, r0 + rows), c0, min(n2, c0 + cols))
                 for r0 in range(0, n1, rows) for c0 in range(0, n2, cols)]

        def work(group):
            for r0, r1, c0, c1 in group:
                lev = np.take(lv[r0:r1], oy[c0:c1], axis=1)  # (r, c, n): levels in y-order
                tot = np.zeros((r1 - r0, c1 - c0), dtype=np.int64)
                for a in range(m - 2):
                    # weight (L - a - 1) for L >= a + 2: levels above a + 1 only, so the
                    # inclusive running count of level a equals the exclusive one there
                    earlier = np.cumsum(lev == a, axis=2, dtype=cdt)
                    weight = np.subtract(lev, a + 1, dtype=cdt)
                    np.maximum(weight, 0, out=weight)
                    earlier *= weight
                    tot += earlier.sum(2, dtype=np.int64)
                excess[r0:r1, c0:c1] = tot

        _run_parallel(work, tasks, n_threads)
        graded -= excess
    return 2 * graded - cross_const[:, None]


def _kendall_counts_cpu(xa: np.ndarray, ya: np.ndarray, max_batch: int, n_threads: int | None):
    """CPU dispatch of :func:`kendall_tau_counts`: tie-free pairs by the permutation
    counter, rows with few levels by running counts, everything else by sorting."""
    n = xa.shape[1]
    n0 = n * (n - 1) // 2
    n1, n2 = xa.shape[0], ya.shape[0]
    rx, ox, lev_x = _dense_ranks_numpy(xa, n_threads)
    ry, oy, lev_y = _dense_ranks_numpy(ya, n_threads)
    tx = np.zeros(n1, dtype=np.int64)
    ty = np.zeros(n2, dtype=np.int64)
    tied_x, tied_y = np.flatnonzero(lev_x < n), np.flatnonzero(lev_y < n)
    tx[tied_x] = _tie_pairs_numpy(rx[tied_x])
    ty[tied_y] = _tie_pairs_numpy(ry[tied_y])
    s = np.empty((n1, n2), dtype=np.int64)
    few_x, few_y = lev_x <= _FEW_LEVELS, lev_y <= _FEW_LEVELS
    free_x, free_y = lev_x == n, lev_y == n

    def few_against(g_rows, r_other, o_other, free_other):
        """C - D of few-level rows ``g_rows`` against all rows of the other side."""
        res = np.empty((g_rows.shape[0], r_other.shape[0]), dtype=np.int64)
        fc, tc = np.flatnonzero(free_other), np.flatnonzero(~free_other)
        if fc.size:
            res[:, fc] = _concordance_levels_tie_free(g_rows, r_other[fc], o_other[fc], n_threads)
        if tc.size:
            res[:, tc] = to_numpy(_concordance_few_levels(torch.from_numpy(g_rows), torch.from_numpy(r_other[tc]),
                                                          torch.from_numpy(o_other[tc])))
        return res

    fx = np.flatnonzero(few_x)
    if fx.size:
        s[fx] = few_against(rx[fx], ry, oy, free_y)
    rest, fy = np.flatnonzero(~few_x), np.flatnonzero(few_y)
    if rest.size and fy.size:
        s[np.ix_(rest, fy)] = few_against(ry[fy], rx[rest], ox[rest], free_x[rest]).T
    cols = np.flatnonzero(~few_y)
    if rest.size == 0 or cols.size == 0:
        return s, tx, ty
    fr, fc = rest[free_x[rest]], cols[free_y[cols]]
    if fr.size and fc.size:
        disc = _inversions_permutations(rx[fr], ry[fc], ox[fr], oy[fc], n_threads=n_threads)
        s[np.ix_(fr, fc)] = n0 - 2 * disc
    st, rxt, ryt = torch.from_numpy(s), torch.from_numpy(rx), torch.from_numpy(ry)
    txt, tyt = torch.from_numpy(tx), torch.from_numpy(ty)
    cpu = torch.device("cpu")
    _general_counts(st, rxt, ryt, rest[~free_x[rest]], cols, txt, tyt, n, max_batch, cpu)
    _general_counts(st, rxt, ryt, fr, cols[~free_y[cols]], txt, tyt, n, max_batch, cpu)
    return s, tx, ty


_FEW_LEVELS = 16


def _average_ranks_any(x: torch.Tensor) -> torch.Tensor:
    return _average_ranks(x) if x.device.type == "cpu" else _average_ranks_torch(x)


def _concordance_few_levels(gx: torch.Tensor, ry: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """``C - D`` for rows ``gx`` with few dense levels ``m`` against all rows ``ry``.

    In the order that sorts ``y``, a running count of each x-level gives, for every
    element, how many elements of each lower x-level lie strictly below / above its
    y value (tie blocks of ``y`` excluded). Summing ``below - above`` over lower
    levels counts every pair with ``x_k < x_l`` once, as ``sign(y_l - y_k)``:
    O(n m) per pair of RDMs instead of O(n log n).
    """
    n = gx.shape[1]
    if int(gx.amax()) <= 1:
        # binary rows: within-level pairs cancel, so C - D is the sum over the upper
        # level of each element's signed rank 2 r - n - 1 (average ranks of y): a matmul
        r = _average_ranks_any(ry.to(torch.float64))
        return torch.round(gx.to(torch.float64) @ (2 * r - n - 1).T).to(torch.int64)
    step = max(1, int(2e7 // max(1, ry.shape[0] * (n + 1) * (int(gx.amax()) + 1))))
    if gx.shape[0] > step:  # bound memory: about 2e7 int64 counters at a time
        return torch.cat([_concordance_few_levels(gx[i:i + step], ry, order) for i in range(0, gx.shape[0], step)])
    m = int(gx.amax()) + 1
    if order is None:
        sy, order = torch.sort(ry, dim=-1)  # (n2, n)
    else:  # the sorting order of the dense ranks ``ry``
        sy = torch.gather(ry, -1, order)
    # tie block of each element: [first, after) in sorted order, from value counts
    flat = (sy + n * torch.arange(ry.shape[0], device=ry.device)[:, None]).reshape(-1)
    counts = torch.bincount(flat, minlength=ry.shape[0] * n).reshape(ry.shape[0], n)
    starts = torch.cumsum(counts, dim=-1) - counts
    first = torch.gather(starts, -1, sy)
    after = first + torch.gather(counts, -1, sy)
    levels = gx[:, None, :].expand(-1, ry.shape[0], -1).gather(-1, order[None].expand(gx.shape[0], -1, -1))
    onehot = torch.nn.functional.one_hot(levels, m).to(torch.int64)  # (n1, n2, n, m)
    cum = torch.zeros(gx.shape[0], ry.shape[0], n + 1, m, dtype=torch.int64, device=gx.device)
    cum[:, :, 1:] = torch.cumsum(onehot, dim=2)
    total = cum[:, :, -1:, :]
    below = cum.gather(2, first[None, :, :, None].expand(gx.shape[0], -1, -1, m))
    above = total - cum.gather(2, after[None, :, :, None].expand(gx.shape[0], -1, -1, m))
    lower = torch.tril(torch.ones(m, m, dtype=torch.int64, device=gx.device), -1)[levels]  # a < level
    return ((below - above) * lower).sum((-1, -2))


# ----------------------------------------------------------------------- whitened unbiased cosine
def _cosine_cov(a, b, keep, sigma_k, center, dev, dt) -> np.ndarray:
    n_pairs = a.shape[1]
    k = n_conditions_from_pairs(n_pairs)
    a = a[:, keep]
    b = b[:, keep]
    if center:
        a = normalise_rows(a - a.mean(1, keepdims=True), force=dt != torch.float64)
        b = normalise_rows(b - b.mean(1, keepdims=True), force=dt != torch.float64)
    sk = sigma_k
    if sk is not None and sk.ndim == 2:
        return _cosine_v_metric(a, b, keep, k, sk)
    wa = _whitened_vectors(a, keep, k, sk, dev, dt)
    wb = _whitened_vectors(b, keep, k, sk, dev, dt)
    return to_numpy(_cosine(wa, wb)).astype(np.float64)


def _cosine_v_metric(a, b, keep, k, sigma_k) -> np.ndarray:
    """Cosine in the ``V^-1`` metric, ``V = (C Sigma_k C^T) o (C Sigma_k C^T)`` with the
    pairwise-contrast matrix ``C`` (the covariance of distance estimates), solved exactly.

    Both sets are mapped to factors ``(w, t)`` with ``x_i^T V_kk^-1 x_j = w_i . w_j -
    t_i . t_j`` (:func:`_v_metric_factors`); the cosine follows from those products.
    """
    w, t = _v_metric_factors(np.vstack([a, b]), keep, k, sigma_k)
    n_a = a.shape[0]
    num = w[:n_a] @ w[n_a:].T - t[:n_a] @ t[n_a:].T
    sq = np.einsum("ij,ij->i", w, w) - np.einsum("ij,ij->i", t, t)
    norm = np.sqrt(np.clip(sq, 0.0, None))
    na, nb = norm[:n_a], norm[n_a:]
    ok = (na[:, None] > 0) & (nb[None, :] > 0)  # an all-zero RDM: similarity 0, as "cosine"
    return np.where(ok, num / np.where(ok, na[:, None] * nb[None, :], 1.0), 0.0)


def _sigma_whitening(sigma_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``L^-1`` (``Sigma_k = L L^T``) and the unit vector ``z`` along ``L^-1 1``."""
    from scipy.linalg import cholesky, solve_triangular

    k = sigma_k.shape[0]
    linv = solve_triangular(cholesky(sigma_k, lower=True), np.eye(k), lower=True)
    z = linv.sum(1)
    return linv, z / np.linalg.norm(z)


def _sigma_whitened_moments(x: np.ndarray, keep: np.ndarray, k: int, linv: np.ndarray, z: np.ndarray,
                            missing_pairs: tuple[np.ndarray, np.ndarray] | None = None):
    """Vectors ``F x`` with ``(F x) . (F y) = x^T V^-1 y`` for RDM vectors on all pairs
    (entries outside ``keep`` taken as 0).

    With ``Sigma_k = L L^T``, ``z`` along ``L^-1 1`` and ``Q = I - z z^T``, ``F x`` is
    ``W = Q L^-1 B L^-T Q`` (``B = -D/2``, ``D`` the square RDM) written as its upper
    triangle (x sqrt 2) and its diagonal, so that plain inner products are Frobenius
    products. Why: ``V x`` is the vector of contrasts ``c_ij^T Sigma_k Lap(x) Sigma_k
    c_ij`` (``Lap(x)``: graph Laplacian with edge weights ``x``); inverting that map
    gives ``Lap(V^-1 y) = Sigma_k^-1 B~ Sigma_k^-1`` where ``B~`` is the member of ``B +
    {u 1^T + 1 u^T}`` that annihilates ``Sigma_k^-1 1``, and ``x^T V^-1 y`` is the
    Frobenius product of the whitened ``B~``. O(K^3) per RDM instead of a solve with the
    ``K^2/2``-square ``V``; for ``Sigma_k = I`` it is the double-centred ``G``.

    With ``missing_pairs = (i, j)`` it also returns ``<W, F e_ij>`` for those pairs,
    which is ``-(L^-T W L^-1)_ij``.
    """
    iu = np.triu_indices(k, 1)
    rows, cols = iu[0][keep], iu[1][keep]
    diag = np.arange(k)
    out = np.empty((x.shape[0], iu[0].size + k))
    cross = None if missing_pairs is None else np.empty((x.shape[0], missing_pairs[0].size))
    block = max(1, min(x.shape[0], 2**22 // (k * k)))  # about 32 MB per K x K stack
    for s in range(0, x.shape[0], block):
        xs = x[s:s + block]
        bsq = np.zeros((xs.shape[0], k, k))
        bsq[:, rows, cols] = -0.5 * xs
        bsq[:, cols, rows] = -0.5 * xs
        y = linv @ bsq @ linv.T
        yz = y @ z  # (n, k); y is symmetric
        zyz = yz @ z
        w = y - yz[:, :, None] * z[None, None, :] - z[None, :, None] * yz[:, None, :] \
            + zyz[:, None, None] * (z[:, None] * z[None, :])[None]
        out[s:s + block, :iu[0].size] = w[:, iu[0], iu[1]] * np.sqrt(2.0)
        out[s:s + block, iu[0].size:] = w[:, diag, diag]
        if cross is not None:
            u = linv.T @ w @ linv
            cross[s:s + block] = -u[:, missing_pairs[0], missing_pairs[1]]
    return out, cross


def _v_metric_factors(x: np.ndarray, keep: np.ndarray, k: int, sigma_k: np.ndarray):
    """Factors ``(w, t)`` with ``x_i^T V_kk^-1 x_j = w_i . w_j - t_i . t_j`` (``V_kk``: ``V``
    restricted to the pairs in ``keep``; ``x``: ``(n, keep.sum())``), without iterations.

    All pairs kept: ``w = F x`` (:func:`_sigma_whitened_moments`), ``t`` empty. Some
    pairs missing (set ``m``): ``V^-1 = F^T F``, and its Schur complement gives
    ``(V_kk)^-1 = (V^-1)_kk - (V^-1)_km ((V^-1)_mm)^-1 (V^-1)_mk``; in closed form
    ``(V^-1)_{ij,kl} = (S_ik S_jl + S_il S_jk) / 2`` with ``S = L^-T Q L^-1``, and
    ``((V^-1) x)_m`` is the cross term of :func:`_sigma_whitened_moments`, so ``t =
    R^-1 ((V^-1) x)_m`` with ``(V^-1)_mm = R R^T``: memory O(m^2), not O(m K^2). When
    more pairs are missing than that is worth (cost above a Cholesky factorisation of
    the dense ``V_kk = R R^T``), ``w = R^-1 x`` instead. All are direct solves.
    """
    from scipy.linalg import solve_triangular

    n_pairs = keep.size
    n_keep = int(keep.sum())
    m = n_pairs - n_keep
    empty = np.zeros((x.shape[0], 0))
    schur_flops = m**3 / 3.0 + 2.0 * x.shape[0] * (m * m + k**3)
    if m and schur_flops > n_keep**3 / 3.0 + 2.0 * n_keep**2 * k:  # dense Cholesky of V_kk
        check_allocation(2.0 * n_keep * n_keep, "rdms1, rdms2 (entries not NaN)",
                         what="covariance of the kept distance estimates")
        iu = np.triu_indices(k, 1)
        contrast = np.zeros((n_keep, k))
        contrast[np.arange(n_keep), iu[0][keep]] = 1.0
        contrast[np.arange(n_keep), iu[1][keep]] = -1.0
        xi = contrast @ sigma_k @ contrast.T
        chol = _cholesky_or_refuse(xi * xi)
        return solve_triangular(chol, x.T, lower=True).T, empty
    check_allocation(float(x.shape[0]) * (n_pairs + k + m) + float(m) * m, "rdms1, rdms2",
                     what="whitened RDM vectors")
    linv, z = _sigma_whitening(sigma_k)
    if not m:
        return _sigma_whitened_moments(x, keep, k, linv, z)[0], empty
    iu = np.triu_indices(k, 1)
    mi, mj = iu[0][~keep], iu[1][~keep]
    w, cross = _sigma_whitened_moments(x, keep, k, linv, z, (mi, mj))
    ql = linv - z[:, None] * (z @ linv)[None, :]  # Q L^-1
    s = ql.T @ ql
    g = 0.5 * (s[np.ix_(mi, mi)] * s[np.ix_(mj, mj)] + s[np.ix_(mi, mj)] * s[np.ix_(mj, mi)])
    t = solve_triangular(_cholesky_or_refuse(g), cross.T, lower=True).T
    return w, t


def _cholesky_or_refuse(m: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a matrix that is positive definite in exact arithmetic
    (built from ``sigma_k``); a numerical failure is reported against ``sigma_k``."""
    from scipy.linalg import LinAlgError, cholesky

    try:
        return cholesky(m, lower=True)
    except LinAlgError as exc:
        raise ValueError("sigma_k is too ill-conditioned for the whitened comparison with these missing "
                         "(NaN) entries: the covariance of the kept distance estimates is not numerically "
                         "positive definite; regularise sigma_k (e.g. add a multiple of the identity)") from exc


def _whitened_vectors(v: np.ndarray, keep: np.ndarray, k: int, sigma_k, dev, dt) -> torch.Tensor:
    """Entries of the double-centred second moment ``G = -1/2 H D H`` as a vector
    whose plain inner product is the Frobenius inner product (off-diagonals x sqrt 2)."""
    iu = np.triu_indices(k, 1)
    t = to_tensor(v, device=dev, dtype=dt)
    if keep.all():
        d = torch.zeros(v.shape[0], k, k, dtype=dt, device=dev)
        d[:, iu[0], iu[1]] = t
        d[:, iu[1], iu[0]] = t
        w = -0.5 * d
        rm = w.mean(-1, keepdim=True)
        g = w - rm - rm.transpose(-1, -2) + w.mean((-1, -2), keepdim=True)
        if sigma_k is not None:
            if sigma_k.ndim == 1:
                s = torch.sqrt(to_tensor(sigma_k, device=dev, dtype=dt))
                g = g / s[:, None] / s[None, :]
        idx = torch.arange(k, device=dev)
        return torch.cat([g[:, iu[0], iu[1]] * np.sqrt(2.0), g[:, idx, idx]], dim=1)
    # missing entries: remove row/column effects by the weighted projection that
    # reduces to double centring when nothing is missing
    rows, cols = iu[0][keep], iu[1][keep]
    m = rows.size
    ind = np.zeros((m + k, k))
    ind[np.arange(m), rows] = 1.0
    ind[np.arange(m), cols] = 1.0
    ind[m + np.arange(k), np.arange(k)] = 1.0
    wdiag = np.concatenate([np.full(m, 0.5), np.ones(k)])
    ws = wdiag[:, None] * ind
    proj = ind @ np.linalg.solve(ind.T @ ws, ws.T)
    ext = np.concatenate([-0.5 * v, np.zeros((v.shape[0], k))], axis=1)
    g = ext - ext @ proj
    if sigma_k is not None:
        s = np.sqrt(np.asarray(sigma_k, dtype=float))
        scale = np.concatenate([s[rows] * s[cols], s * s])
        g = g / scale
    g[:, :m] *= np.sqrt(2.0)
    return to_tensor(g, device=dev, dtype=dt)
