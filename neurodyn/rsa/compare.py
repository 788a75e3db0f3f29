"""Comparison of RDMs: all pairs of two sets in one call.

``compare_rdms(a, b, method)`` returns the ``(n_a, n_b)`` matrix of similarities
(larger = more similar for every method). NaN entries are masked jointly: when
every RDM has the same NaN positions (the usual case: missing conditions) the
batched path drops them for all; otherwise each pair is compared on the entries
both RDMs hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._torch import resolve_device, resolve_dtype, to_numpy, to_tensor
from .._validation import check_array, check_in
from .rdm import n_conditions_from_pairs
from .transforms import _average_ranks, _average_ranks_torch

__all__ = ["COMPARE_METHODS", "compare_rdms", "kendall_tau_counts"]

COMPARE_METHODS = ("cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b", "kendall",
                   "cosine_cov", "corr_cov")


def _check_set(rdms: Any, name: str) -> np.ndarray:
    v = check_array(rdms, name, ndim=(1, 2), dims="(n_pairs,) or (n_rdms, n_pairs)")
    if np.isinf(v).any():
        raise ValueError(f"{name} must not contain Inf; got {int(np.isinf(v).sum())} Inf values")
    n_conditions_from_pairs(v.shape[-1])
    return np.atleast_2d(v)


def compare_rdms(
    rdms1: Any,
    rdms2: Any,
    method: str = "cosine",
    sigma_k: Any = None,
    device: Any = "auto",
    dtype: Any = None,
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
          as :func:`scipy.stats.kendalltau`.
        - ``"cosine_cov"``: whitened unbiased RDM cosine: cosine of the double-centred
          second-moment matrices ``G = -1/2 H D H`` (``H = I - 11^T/K``), scaled by
          ``1/sqrt(s_i s_j)`` for a diagonal ``sigma_k``; for a full ``sigma_k`` the
          cosine of the RDM vectors in the ``V^-1`` metric, ``V = (C Sigma_k C^T)^2``
          elementwise (``C``: pairwise contrasts).
        - ``"corr_cov"``: the same after subtracting each RDM's mean.
    sigma_k : array-like, shape (K,) or (K, K), optional
        Covariance of the pattern estimates (``cosine_cov``/``corr_cov`` only).
    device, dtype
        Torch device/dtype (float64 on CPU by default). Rank counts are exact integers.

    Returns
    -------
    numpy.ndarray, shape (n1, n2)

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
        raise ValueError(f"sigma_k is only used by 'cosine_cov' and 'corr_cov'; got method={method!r}")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    pattern = nan_a[0]
    if (nan_a == pattern).all() and (nan_b == pattern).all():
        keep = ~pattern
        if keep.sum() < 2:
            raise ValueError("rdms1 and rdms2 need at least 2 non-NaN entries in common")
        return _compare_block(a, b, method, sigma_k, keep, dev, dt)
    # RDMs with different NaN positions: each pair is compared on its joint entries
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            keep = ~(nan_a[i] | nan_b[j])
            if keep.sum() < 2:
                out[i, j] = np.nan
                continue
            out[i, j] = _compare_block(a[i:i + 1], b[j:j + 1], method, sigma_k, keep, dev, dt)[0, 0]
    return out


def _compare_block(a, b, method, sigma_k, keep, dev, dt) -> np.ndarray:
    if method in ("cosine_cov", "corr_cov"):
        return _cosine_cov(a, b, keep, sigma_k, center=method == "corr_cov", dev=dev, dt=dt)
    ta = to_tensor(a[:, keep], device=dev, dtype=dt)
    tb = to_tensor(b[:, keep], device=dev, dtype=dt)
    n = ta.shape[1]
    if method == "cosine":
        return to_numpy(_cosine(ta, tb))
    if method == "corr":
        return to_numpy(_cosine(ta - ta.mean(1, keepdim=True), tb - tb.mean(1, keepdim=True)))
    if method in ("spearman", "rho-a"):
        ra = _average_ranks(ta)
        rb = _average_ranks(tb)
        ra = ra - ra.mean(1, keepdim=True)
        rb = rb - rb.mean(1, keepdim=True)
        if method == "spearman":
            return to_numpy(_cosine(ra, rb))
        return to_numpy(12.0 * (ra @ rb.T) / (float(n) ** 3 - n))
    s, tx, ty = kendall_tau_counts(a[:, keep], b[:, keep], device=dev, ties=method != "tau-a")
    n0 = n * (n - 1) // 2
    if method == "tau-a":
        return np.clip(s / n0, -1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_b = s / np.sqrt((n0 - tx)[:, None].astype(float)) / np.sqrt((n0 - ty)[None, :].astype(float))
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


def kendall_tau_counts(x: Any, y: Any, device: Any = "cpu", max_batch: int = 4096, ties: bool = True):
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
        general path still counts them internally).

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
    ``C - D = n0 - T_x - T_y + T_xy - 2 D``. On the CPU, pairs of tie-free rows
    skip the per-pair sort: ``D`` is counted from the ranks alone by a block /
    histogram decomposition (see ``_inversions_permutations``), and rows with at
    most 16 distinct values by one running count per level.

    References
    ----------
    Knight, W. R. (1966). A computer method for calculating Kendall's tau with
    ungrouped data. J. Am. Stat. Assoc. 61:436-439.
    """
    dev = resolve_device(device)
    xa = to_tensor(np.atleast_2d(np.asarray(x, dtype=float)), device=dev, dtype=torch.float64)
    ya = to_tensor(np.atleast_2d(np.asarray(y, dtype=float)), device=dev, dtype=torch.float64)
    n = xa.shape[1]
    rx, ox = _dense_ranks(xa)
    ry, oy = _dense_ranks(ya)
    n0 = n * (n - 1) // 2
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
    if dev.type == "cpu":
        # tie-free rows on both sides: the inversion count needs no per-pair sort
        free_x = (rx.amax(-1) == n - 1).numpy()
        free_y = (ry.amax(-1) == n - 1).numpy()
        fr, fc = rest[free_x[rest]], cols[free_y[cols]]
        if fr.size and fc.size:
            disc = _inversions_permutations(rx[torch.as_tensor(fr)].numpy(), ry[torch.as_tensor(fc)].numpy(),
                                            ox[torch.as_tensor(fr)].numpy(), oy[torch.as_tensor(fc)].numpy())
            s[torch.as_tensor(fr)[:, None], torch.as_tensor(fc)[None, :]] = torch.from_numpy(n0 - 2 * disc)
            _general_counts(s, rx, ry, rest[~free_x[rest]], cols, tx, ty, n, max_batch, dev)
            _general_counts(s, rx, ry, fr, cols[~free_y[cols]], tx, ty, n, max_batch, dev)
            return to_numpy(s), to_numpy(tx), to_numpy(ty)
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


def _inversions_in_blocks(v: np.ndarray) -> np.ndarray:
    """Strict inversions inside each block of ``v`` (shape ``(m, n_blocks, s)``), summed per row."""
    m, nb, s = v.shape
    vt = np.ascontiguousarray(v.reshape(m * nb, s).T)  # (s, m nb): long contiguous rows
    acc = np.zeros(vt.shape, dtype=np.uint8 if s < 256 else np.int32)
    buf = np.empty(vt.shape, dtype=bool)
    for i in range(s - 1):
        k = s - i - 1
        np.greater(vt[i], vt[i + 1:], out=buf[:k])
        acc[:k] += buf[:k].view(np.uint8)
    return acc.sum(0, dtype=np.int64).reshape(m, nb).sum(1)


def _inversions_permutations(px: np.ndarray, py: np.ndarray, inv_x: np.ndarray | None = None,
                             inv_y: np.ndarray | None = None, block: int | None = None,
                             max_elements: int = 2_000_000) -> np.ndarray:
    """Discordant pairs of every pair of tie-free rows (permutations of ``0..n-1``).

    With ``z`` the y-ranks listed in x-order, ``D`` counts pairs ``p < q`` with
    ``z_p > z_q``. Cut positions into blocks and y-ranks into bins of ``block``
    values. Pairs in different position blocks and different bins are counted
    from the ``(position block, bin)`` histogram with 2-d cumulative sums; pairs in
    one position block by direct comparison of their bins; pairs in one bin by
    direct comparison of their positions (listed in y-order). Each pair falls in
    exactly one of the three groups: O(n block + (n / block)^2) per pair, no sort.

    Parameters
    ----------
    px, py : numpy.ndarray of int, shapes (n1, n) and (n2, n)
        Ranks of each row (every row a permutation of ``0..n-1``).
    inv_x, inv_y : numpy.ndarray of int, optional
        Their inverse permutations (the sorting orders), when already known.
    block : int, optional
        Block and bin size (default about ``sqrt(n)``, a multiple of 16 up to 240).
    max_elements : int
        Bounds the row pairs processed at once (memory).

    Returns
    -------
    numpy.ndarray of int64, shape (n1, n2)
    """
    n1, n = px.shape
    n2 = py.shape[0]
    if block is None:  # about sqrt(n), balancing the direct and the histogram counts
        block = int(min(240, max(16, 16 * round(np.sqrt(n) / 16))))
    nb = -(-n // block)
    length = nb * block
    small = np.int16 if length < 32767 else np.int32
    if inv_y is None:  # y-order: element index of each y-rank
        inv_y = np.empty_like(py)
        np.put_along_axis(inv_y, py, np.broadcast_to(np.arange(n), py.shape), axis=1)
    if inv_x is None:
        inv_x = np.empty_like(px)
        np.put_along_axis(inv_x, px, np.broadcast_to(np.arange(n), px.shape), axis=1)
    bin_of_rank = np.arange(n) // block
    ybin = (py // block).astype(np.uint8 if nb < 255 else small)  # bin of every y-rank
    xpos = px.astype(small)
    out = np.empty((n1, n2), dtype=np.int64)
    rows = max(1, max_elements // max(1, n2 * max(n, nb * nb)))
    for i0 in range(0, n1, rows):
        ix = range(i0, min(n1, i0 + rows))
        m = len(ix) * n2
        z = np.full((len(ix), n2, length), nb, dtype=ybin.dtype)  # bins of y-ranks, in x-order
        w = np.full((len(ix), n2, length), length, dtype=small)  # x-positions, in y-order
        for k, i in enumerate(ix):
            np.take(ybin, inv_x[i], axis=1, out=z[k, :, :n])
            np.take(xpos[i], inv_y, out=w[k, :, :n])
        z = z.reshape(m, length)
        w = w.reshape(m, length)
        disc = _inversions_in_blocks(z.reshape(m, nb, block)) + _inversions_in_blocks(w.reshape(m, nb, block))
        idt = np.int32 if m * nb * nb < 2**31 else np.int64
        idx = (w[:, :n] // small(block)).astype(idt)  # (position block, bin) cell of each element
        idx *= nb
        idx += (np.arange(m, dtype=idt) * (nb * nb))[:, None]
        idx += bin_of_rank.astype(idt)
        hist = np.bincount(idx.ravel(), minlength=m * nb * nb).reshape(m, nb, nb)
        # above[a, u] = elements in a later position block with a lower bin
        lower = np.cumsum(hist, axis=2)
        lower -= hist
        run = np.zeros((m, nb), dtype=np.int64)
        for a in range(nb - 1, -1, -1):  # suffix sums over position blocks, in place
            lower[:, a], run = run, run + lower[:, a]
        disc += np.einsum("mab,mab->m", hist, lower)
        out[i0:i0 + len(ix)] = disc.reshape(-1, n2)
    return out


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
    if order is not None and gx.device.type == "cpu" and int(gx.amax()) > 1 and bool((ry.amax(-1) == n - 1).all()):
        return _concordance_few_levels_tie_free(gx.numpy(), order.numpy())
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


def _concordance_few_levels_tie_free(gx: np.ndarray, order: np.ndarray) -> torch.Tensor:
    """``C - D`` of level rows ``gx`` (values ``0..m-1``) against tie-free rows given by
    their sorting orders: listing the levels in y-order, every earlier element of
    level ``a`` is paired with a larger ``y``, so ``C - D = sum_l sum_a
    #{k < l: L_k = a} sign(L_l - a)``; one cumulative count per level."""
    n1, n = gx.shape
    n2 = order.shape[0]
    m = int(gx.max()) + 1
    out = np.empty((n1, n2), dtype=np.int64)
    rows = max(1, 4_000_000 // max(1, n2 * n))
    for i0 in range(0, n1, rows):
        g = gx[i0:i0 + rows]
        levels = np.take_along_axis(g[:, None, :], order[None, :, :], axis=2).astype(np.int8)  # (r, n2, n)
        total = np.zeros(levels.shape[:2], dtype=np.int64)
        for a in range(m):
            hit = levels == a
            before = np.cumsum(hit, axis=2, dtype=np.int32)
            before -= hit
            sign = (levels > a).view(np.int8) - (levels < a).view(np.int8)
            total += np.einsum("rjn,rjn->rj", before, sign, dtype=np.int64)  # no int32 overflow
        out[i0:i0 + rows] = total
    return torch.from_numpy(out)


# ----------------------------------------------------------------------- whitened unbiased cosine
def _cosine_cov(a, b, keep, sigma_k, center, dev, dt) -> np.ndarray:
    n_pairs = a.shape[1]
    k = n_conditions_from_pairs(n_pairs)
    a = a[:, keep]
    b = b[:, keep]
    if center:
        a = a - a.mean(1, keepdims=True)
        b = b - b.mean(1, keepdims=True)
    sk = None
    if sigma_k is not None:
        sk = check_array(sigma_k, "sigma_k", ndim=(1, 2), dims="(K,) or (K, K)")
        if sk.shape[0] != k or (sk.ndim == 2 and sk.shape != (k, k)):
            raise ValueError(f"sigma_k must have shape ({k},) or ({k}, {k}); got {sk.shape}")
    if sk is not None and sk.ndim == 2:
        return _cosine_v_metric(a, b, keep, k, sk)
    wa = _whitened_vectors(a, keep, k, sk, dev, dt)
    wb = _whitened_vectors(b, keep, k, sk, dev, dt)
    return to_numpy(_cosine(wa, wb))


def _cosine_v_metric(a, b, keep, k, sigma_k) -> np.ndarray:
    """Cosine in the ``V^-1`` metric, ``V = (C Sigma_k C^T) o (C Sigma_k C^T)`` with the
    pairwise-contrast matrix ``C`` (the covariance of distance estimates)."""
    from scipy.sparse.linalg import cg

    iu = np.triu_indices(k, 1)
    contrast = np.zeros((iu[0].size, k))
    contrast[np.arange(iu[0].size), iu[0]] = 1.0
    contrast[np.arange(iu[0].size), iu[1]] = -1.0
    xi = contrast @ sigma_k @ contrast.T
    v = (xi * xi)[np.ix_(keep, keep)]
    if v.shape[0] <= 1500:
        va = np.linalg.solve(v, a.T).T
        vb = np.linalg.solve(v, b.T).T
    else:  # large RDMs: conjugate gradients, one right-hand side at a time
        va = np.array([cg(v, r, atol=0)[0] for r in a])
        vb = np.array([cg(v, r, atol=0)[0] for r in b])
    num = a @ vb.T
    return num / np.sqrt(np.einsum("ij,ij->i", a, va))[:, None] / np.sqrt(np.einsum("ij,ij->i", b, vb))[None, :]


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
