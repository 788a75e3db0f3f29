"""Non-negative CP (PARAFAC) decomposition of N-way tensors, in torch.

``X[p, k, w] ≈ sum_r  weight_r * A[p, r] * B[k, r] * C[w, r]`` with ``A, B, C >= 0``,
minimising ``0.5 * ||X - [[A, B, C]]||_F^2`` (or its masked version); tensors of
any order ``N >= 2`` are factorised the same way (order 2 is NMF).

The solver is hierarchical alternating least squares (HALS) with two passes
over the tensor per iteration (the matricised-tensor times Khatri-Rao products,
MTTKRP, of the first mode is one matrix product; those of every other mode are
read from ``Z = A^T X_(1)``), and all restarts run as one batch: the restarts'
factor columns are stacked so each pass over the tensor is a single matrix
product. The 3-way case has its own specialised loop (the connectome tensors,
with a closed form for masks of whole missing pairs); other orders run a
general loop with the same updates. Multiplicative updates (``solver="mu"``)
are kept as a slow reference. Missing entries (a boolean mask) are handled by
expectation-maximisation style imputation: masked entries are replaced by the
current model before each iteration. A component whose column goes to all zeros
in some mode is re-seeded at the next iteration (see :func:`_revive_dead`), so
HALS does not lose it for good. ``fixed_modes`` keeps the factors of the listed
modes at their initial values.

Scale: :class:`NonnegativeCP` divides the tensor by the power of two nearest its
largest entry before factorising (exact in floating point) and multiplies the
weights back, so the relative error and the normalised factors do not depend on
the data's scale (1e-15 ... 1e15 give the same fit to about 1e-9 in float64),
and float32 neither over- nor underflows (it matches float64 to about 1e-4 on
the relative error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._torch import TorchEstimatorMixin, random_uniform, thread_policy, to_numpy, to_tensor
from .._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_float_range,
    check_in,
    check_positive_int,
    check_scalar,
)

__all__ = ["NonnegativeCP", "factor_match_score", "cp_to_tensor", "check_nonnegative_tensor",
           "normalize_cp", "rank_sweep", "elbow_rank"]


# --------------------------------------------------------------------------- helpers


_LETTERS = "abcdefghijklmnopqtuvxyz"  # einsum subscripts for tensor modes (no r or s)


def cp_to_tensor(factors: Sequence[Any], weights: Any = None) -> np.ndarray:
    """Full tensor ``sum_r w_r a_r ∘ b_r ∘ ...`` from N factor matrices (numpy, float64)."""
    mats = [np.asarray(f, dtype=np.float64) for f in factors]
    if not 1 <= len(mats) <= len(_LETTERS):
        raise ValueError(f"factors must hold 1 to {len(_LETTERS)} factor matrices; got {len(mats)}")
    w = np.ones(mats[0].shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    letters = _LETTERS[:len(mats)]
    spec = "r," + ",".join(f"{c}r" for c in letters) + "->" + letters
    return np.einsum(spec, w, *mats, optimize=len(mats) > 3)


def _split_cp(cp: Any, name: str = "cp") -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Accept a list of factor matrices, a ``(weights, factors)`` pair or a CPTensor.

    Each factor must be a finite 2-D real matrix, the weights a finite 1-D vector.
    """
    def factor(f, where):
        arr = check_array(f, where, ndim=2, dims="(n_rows, rank)")
        check_finite(arr, where)
        return arr

    def weights(w, where):
        arr = check_array(w, where, ndim=1, dims="(rank,)")
        check_finite(arr, where)
        return arr

    if hasattr(cp, "weights") and hasattr(cp, "factors"):
        return (weights(cp.weights, f"{name}.weights"),
                [factor(f, f"{name}.factors[{m}]") for m, f in enumerate(cp.factors)])
    if isinstance(cp, (str, bytes)) or not isinstance(cp, (list, tuple)):
        raise TypeError(f"{name} must be a list of factor matrices, a (weights, factors) pair or a "
                        f"CPTensor; got {type(cp).__name__}")
    if len(cp) == 2 and np.ndim(cp[0]) == 1 and isinstance(cp[1], (list, tuple)):
        return (weights(cp[0], f"{name} weights"),
                [factor(f, f"{name} factor {m}") for m, f in enumerate(cp[1])])
    return None, [factor(f, f"{name} factor {m}") for m, f in enumerate(cp)]


def factor_match_score(cp_a: Any, cp_b: Any, consider_weights: bool = False,
                       return_permutation: bool = False):
    """Factor match score (FMS) between two CP models.

    Each component of ``cp_a`` is matched to one of ``cp_b`` (Hungarian
    assignment) to maximise the sum over matched pairs of the product, over
    modes, of the absolute cosine between their factor columns; the score is the
    mean of those products over the matched pairs (1 = identical up to
    permutation and scaling).

    Parameters
    ----------
    cp_a, cp_b : list of factor matrices, ``(weights, factors)`` or a tensorly CPTensor
        The factor matrices of both models must have the same number of rows
        per mode; the ranks may differ (``min`` of both are matched).
    consider_weights : bool
        Also multiply each product by ``1 - |w_a - w_b| / max(w_a, w_b)``, where
        the weights absorb the column norms.
    return_permutation : bool
        Also return, for each component of ``cp_a``, the index of its match in
        ``cp_b`` (-1 when unmatched).

    Returns
    -------
    score : float
    permutation : ndarray of int, only when ``return_permutation``.

    References
    ----------
    Tomasi, G., Bro, R. (2006). A comparison of algorithms for fitting the
    PARAFAC model. Computational Statistics & Data Analysis 50(7):1700-1734.
    """
    wa, fa = _split_cp(cp_a, "cp_a")
    wb, fb = _split_cp(cp_b, "cp_b")
    if len(fa) != len(fb):
        raise ValueError(f"cp_a and cp_b must have the same number of modes; got {len(fa)} and {len(fb)}")
    for name, w, f in (("cp_a", wa, fa), ("cp_b", wb, fb)):
        ranks = {x.shape[1] for x in f}
        if len(ranks) > 1 or (w is not None and w.size not in ranks):
            raise ValueError(f"{name}: every factor (and the weights) must have the same number of "
                             f"components; got factor shapes {[x.shape for x in f]}")
    for m, (x, y) in enumerate(zip(fa, fb, strict=True)):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"cp_a and cp_b: mode {m} factor shapes {x.shape} and {y.shape} "
                             "must have the same number of rows")
    congruence = np.ones((fa[0].shape[1], fb[0].shape[1]))
    norms_a = np.ones(fa[0].shape[1]) if wa is None else np.abs(wa).copy()
    norms_b = np.ones(fb[0].shape[1]) if wb is None else np.abs(wb).copy()
    for x, y in zip(fa, fb, strict=True):
        nx = np.linalg.norm(x, axis=0)
        ny = np.linalg.norm(y, axis=0)
        norms_a *= nx
        norms_b *= ny
        xs = x / np.where(nx > 0, nx, 1.0)
        ys = y / np.where(ny > 0, ny, 1.0)
        congruence *= np.abs(xs.T @ ys)
    if consider_weights:
        big = np.maximum(norms_a[:, None], norms_b[None, :])
        penalty = 1.0 - np.abs(norms_a[:, None] - norms_b[None, :]) / np.where(big > 0, big, 1.0)
        congruence = congruence * penalty
    rows, cols = linear_sum_assignment(-congruence)
    score = float(congruence[rows, cols].mean())
    if return_permutation:
        perm = np.full(fa[0].shape[1], -1, dtype=int)
        perm[rows] = cols
        return score, perm
    return score


def check_nonnegative_tensor(X: Any, name: str = "X", mask: Any = None, ndim: int | None = 3):
    """Validate a non-negative tensor and an optional boolean mask.

    ``ndim=3`` (the default) requires a 3-way tensor ``(n_pairs, n_windows,
    n_animals)``; ``ndim=None`` accepts any order of at least 2. NaN is allowed
    only where ``mask`` is False. Returns ``(X, mask)`` as numpy arrays, X float
    with masked entries set to 0 (a copy when changed), mask a bool array
    broadcast to X's shape or None.
    """
    if isinstance(X, torch.Tensor):
        X = to_numpy(X)
    if ndim == 3:
        arr = check_array(X, name, ndim=3, dims="(n_pairs, n_windows, n_animals)", dtype=None)
    else:
        arr = check_array(X, name, ndim=ndim, dtype=None)
        if arr.ndim < 2:
            raise ValueError(f"{name} must be a tensor of order 2 or more (a matrix for NMF, "
                             f"(n_pairs, n_windows, n_animals) for a connectome); got shape {arr.shape}")
        if arr.ndim > len(_LETTERS):
            raise ValueError(f"{name} must have at most {len(_LETTERS)} modes; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    m = None
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool:
            if not np.isin(m, (0, 1)).all():
                raise ValueError("mask must be boolean (True = observed) or 0/1")
            m = m.astype(bool)
        try:
            m = np.broadcast_to(m, arr.shape)
        except ValueError as exc:
            raise ValueError(f"mask of shape {np.shape(mask)} does not broadcast to {name}'s shape "
                             f"{arr.shape}") from exc
        if not m.any():
            raise ValueError("mask has no observed (True) entries")
    if m is None and arr.size:
        # two reductions instead of four boolean passes: NaN propagates through min/max
        lo, hi = float(arr.min()), float(arr.max())
        if np.isfinite(lo) and np.isfinite(hi) and lo >= 0 and hi > 0:
            return arr, None
    nan = np.isnan(arr)
    if nan.any():
        if m is None or (nan & m).any():
            n_bad = int(nan.sum()) if m is None else int((nan & m).sum())
            raise ValueError(f"{name} has {n_bad} NaN values outside a mask; pass mask=... "
                             "(False at missing entries) or remove them")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must be finite; got {int(np.isinf(arr).sum())} Inf values")
    if m is not None and not m.all():
        arr = np.where(m, np.nan_to_num(arr), 0.0).astype(arr.dtype, copy=False)
    neg = arr < 0
    if neg.any():
        raise ValueError(f"{name} must be non-negative; got {int(neg.sum())} negative values "
                         f"(min {arr.min():g})")
    if not (arr > 0).any():
        raise ValueError(f"{name} is all zero (on its observed entries); nothing to factorise")
    return arr, m


# --------------------------------------------------------------------------- solver core


def _khatri_rao(b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Batched Khatri-Rao product, rows ``k * W + w``: (S, K, R), (S, W, R) -> (S, K*W, R)."""
    s, k, r = b.shape
    return (b[:, :, None, :] * c[:, None, :, :]).reshape(s, k * c.shape[1], r)


def _gram(f: torch.Tensor) -> torch.Tensor:
    return f.transpose(1, 2) @ f


def _hals_sweeps(f: torch.Tensor, mttkrp: torch.Tensor, gram: torch.Tensor, n_inner: int) -> torch.Tensor:
    """HALS block updates of the columns of ``f`` (S, n, R), in place.

    Column r <- max(0, f_r + (M_r - f G_r) / G_rr); columns with G_rr = 0 are
    left unchanged. The loop over columns is the method itself (Gauss-Seidel).
    Three kernels per column (one fused multiply-subtract for the residual, one
    scaled add, one clamp): on a GPU the sweep is bound by kernel launches, not by
    arithmetic. A column with G_rr = 0 gets a zero step (its reciprocal is set to
    0) and the clamp leaves it unchanged because the factors are non-negative.
    """
    diag = torch.diagonal(gram, dim1=1, dim2=2)
    inv = torch.where(diag > 0, diag.reciprocal(), 0.0)[:, None, :]  # (S, 1, R)
    for _ in range(n_inner):
        for r in range(f.shape[2]):
            col = f[:, :, r:r + 1]
            resid = torch.baddbmm(mttkrp[:, :, r:r + 1], f, gram[:, :, r:r + 1], alpha=-1.0)
            col.addcmul_(resid, inv[:, :, r:r + 1]).clamp_(min=0.0)
    return f


def _mu_update(f: torch.Tensor, mttkrp: torch.Tensor, gram: torch.Tensor) -> torch.Tensor:
    eps = torch.finfo(f.dtype).eps
    return f * mttkrp.clamp(min=eps) / torch.bmm(f, gram).clamp(min=eps)


def _reconstruct(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Batched model ``(S, P, K*W)``."""
    return torch.bmm(a, _khatri_rao(b, c).transpose(1, 2))


def _khatri_rao_all(mats: list[torch.Tensor]) -> torch.Tensor:
    """Batched Khatri-Rao product of several ``(S, n_j, R)`` factors, the last index fastest."""
    out = mats[0]
    for m in mats[1:]:
        out = _khatri_rao(out, m)
    return out


def _svd_mode_factor(x: torch.Tensor, mode: int, rank: int) -> torch.Tensor:
    """NNDSVD-style non-negative factor of one mode from its unfolding's leading singular pairs.

    The singular pairs ``(s_r, u_r, v_r)`` of the mode-``mode`` unfolding come from
    the Gram matrix of its smaller side (one more pass over X maps them to the
    other side). Each pair keeps the sign whose positive parts carry more of it:
    ``(u+, v+)`` when ``||u+|| ||v+|| >= ||u-|| ||v-||``, else ``(u-, v-)``
    (Boutsidis & Gallopoulos 2008), and the column is that part of ``u``, of norm
    ``sqrt(s_r * max(...))``. Zeros are filled with the column's mean (as
    NNDSVDa fills them with a mean level: multiplicative updates cannot move a
    zero, and a small fill makes them crawl), and a column with nothing left (a
    null direction, or a rank above the mode's size) is uniform at the mean
    level of the others, so no column starts at zero.
    """
    n = x.shape[mode]
    rest = x.numel() // n
    tiny = torch.finfo(x.dtype).tiny
    if n <= rest:
        others = [j for j in range(x.ndim) if j != mode]
        evals, evecs = torch.linalg.eigh(torch.tensordot(x, x, dims=(others, others)))
        order = torch.argsort(evals, descending=True)[:rank]
        u = evecs[:, order]
        sv = evals[order].clamp(min=0).sqrt()
        # v = X_(mode)^T u / s as a broadcast product over a free (pre, n, post) view: no copy of X
        pre = int(np.prod(x.shape[:mode], dtype=np.int64))
        v = torch.matmul(u.T, x.reshape(pre, n, rest // pre))  # (pre, k, post)
        v = v.transpose(0, 1).reshape(v.shape[1], -1).T / sv.clamp(min=tiny)
    else:  # a tall unfolding: eigenvectors of its (rest, rest) Gram matrix, mapped back
        xm = x.reshape(n, rest) if mode == 0 else torch.movedim(x, mode, 0).reshape(n, rest)
        evals, evecs = torch.linalg.eigh(xm.T @ xm)
        order = torch.argsort(evals, descending=True)[:rank]
        v = evecs[:, order]
        sv = evals[order].clamp(min=0).sqrt()
        u = xm @ v / sv.clamp(min=tiny)

    def part_norms(m):
        return (torch.linalg.vector_norm(m.clamp(min=0), dim=0),
                torch.linalg.vector_norm(m.clamp(max=0), dim=0))

    up, un = part_norms(u)
    vp, vn = part_norms(v)
    plus = up * vp >= un * vn
    u_part = torch.where(plus, u.clamp(min=0), (-u).clamp(min=0))
    u_norm = torch.where(plus, up, un)
    strength = torch.where(plus, up * vp, un * vn)
    cols = u_part / u_norm.clamp(min=tiny) * (sv * strength).sqrt()
    if cols.shape[1] < rank:  # rank above the mode's size: zero columns, filled below
        cols = torch.cat([cols, cols.new_zeros(n, rank - cols.shape[1])], dim=1)
    col_mean = cols.mean(dim=0, keepdim=True)
    level = col_mean[col_mean > 0].mean() if bool((col_mean > 0).any()) else cols.new_tensor(1.0)
    empty = col_mean <= 0
    fill = torch.where(empty, level, col_mean)
    return torch.where((cols > 0) & ~empty, cols, fill)


def _svd_init(x: torch.Tensor, rank: int) -> list[torch.Tensor]:
    """One non-negative NNDSVD-style factor per mode (see :func:`_svd_mode_factor`)."""
    return [_svd_mode_factor(x, mode, rank) for mode in range(x.ndim)]


def _balanced_init(mats: list[np.ndarray], scale_exponent: int, fixed: Sequence[int] = ()) -> list[np.ndarray]:
    """Explicit factors for the tensor divided by ``2**scale_exponent``, each of magnitude ~1.

    Factor ``m`` is multiplied by ``2**-e_m`` with ``sum(e_m) == scale_exponent``:
    the model is divided exactly like the tensor, and HALS (whose updates are
    equivariant to such rescalings) follows the same path bit for bit, while no
    factor's Gram matrix over- or underflows. Factors already near 1 for a
    tensor near 1 are left unchanged. Fixed modes are never rescaled (``e_m =
    0``): the free modes carry the whole exponent.
    """
    free = [m for m in range(len(mats)) if m not in fixed]
    exps = [0] * len(mats)
    for m in free:
        peak = float(mats[m].max())
        exps[m] = int(np.round(np.log2(peak))) if peak > 0 else 0
    q, r = divmod(scale_exponent - sum(exps), len(free))
    for i, m in enumerate(free):
        exps[m] += q + (r if i == 0 else 0)
    return [np.ldexp(f, -e) if e else f for f, e in zip(mats, exps, strict=True)]


def _is_vector(w: Any) -> bool:
    """A 1-D array or a flat list of numbers (without building an array from nested lists)."""
    if hasattr(w, "shape"):
        return len(w.shape) == 1
    return isinstance(w, (list, tuple)) and all(isinstance(v, (int, float, np.number)) for v in w)


def _is_pair(model: Any) -> bool:
    """A ``(weights, factors)`` pair."""
    return (isinstance(model, (list, tuple)) and len(model) == 2 and _is_vector(model[0])
            and isinstance(model[1], (list, tuple)))


def _is_one_model(init: Any, n_modes: int) -> bool:
    """True when ``init`` is one model (N matrices, a (weights, factors) pair or a CPTensor)."""
    if (hasattr(init, "weights") and hasattr(init, "factors")) or _is_pair(init):
        return True
    return len(init) == n_modes and all(hasattr(f, "shape") and len(f.shape) == 2 for f in init)


def _model_matrices(model: Any, i: int, shape: tuple, rank: int, fixed: Sequence[int]) -> list[np.ndarray]:
    """Checked float64 factor matrices of one explicit model; its weights go into the first free mode."""
    weights = None
    if hasattr(model, "weights") and hasattr(model, "factors"):
        weights, model = model.weights, model.factors
    elif _is_pair(model):
        weights, model = model
    if not isinstance(model, (list, tuple)) or len(model) != len(shape):
        n_got = len(model) if hasattr(model, "__len__") else type(model).__name__
        raise ValueError(f"init[{i}] must hold {len(shape)} factor matrices (one per mode of X); got {n_got}")
    mats = []
    for mode, n in enumerate(shape):
        f = np.array(to_numpy(model[mode]), dtype=np.float64)  # a copy: the caller's array is kept
        if f.shape != (n, rank):
            raise ValueError(f"init[{i}] factor {mode} must have shape {(n, rank)}; got {f.shape}")
        if not np.isfinite(f).all() or (f < 0).any():
            raise ValueError(f"init[{i}] factor {mode} must be finite and non-negative")
        mats.append(f)
    if weights is not None:
        w = np.asarray(to_numpy(weights) if isinstance(weights, torch.Tensor) else weights, dtype=np.float64)
        if w.shape != (rank,) or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"init[{i}] weights must be {rank} finite non-negative values; got {w!r}")
        first_free = next(m for m in range(len(shape)) if m not in fixed)
        mats[first_free] = mats[first_free] * w
    return mats


def explicit_init_matrices(init: Any, shape: tuple, rank: int, n_restarts: int,
                           fixed: Sequence[int] = ()) -> list[list[np.ndarray]]:
    """Validated explicit initial models: ``models[i][mode]`` float64 copies of shape ``(n_mode, rank)``."""
    models = [init] if _is_one_model(init, len(shape)) else list(init)
    if len(models) != n_restarts:
        raise ValueError(f"init holds {len(models)} model(s) but n_restarts={n_restarts} (one model is "
                         f"{len(shape)} factor matrices, one per mode of X)")
    return [_model_matrices(model, i, shape, rank, fixed) for i, model in enumerate(models)]


def _initial_factors(x: torch.Tensor, rank: int, n_restarts: int, init: Any,
                     generator: torch.Generator, scale_exponent: int = 0,
                     fixed: Sequence[int] = ()) -> list[torch.Tensor]:
    """Batched initial factors ``[(S, n_0, R), (S, n_1, R), ...]``, one per mode.

    Explicit factors are for the unscaled tensor; they are rescaled by powers of
    two to match a tensor divided by ``2**scale_exponent`` (see :func:`_balanced_init`).
    """
    shape = tuple(x.shape)
    if isinstance(init, str):
        facs = [random_uniform((n_restarts, n, rank), generator, x.device, x.dtype) for n in shape]
        if init == "svd":
            for f, s in zip(facs, _svd_init(x, rank), strict=True):
                f[0] = s
        # Scale each restart so the model norm equals ||X|| (Gram identity, no rebuild).
        gram = _gram(facs[0])
        for f in facs[1:]:
            gram = gram * _gram(f)
        model_norm = gram.sum(dim=(1, 2)).clamp(min=torch.finfo(x.dtype).tiny).sqrt()
        scale = (torch.linalg.vector_norm(x) / model_norm) ** (1.0 / len(shape))
        return [f * scale[:, None, None] for f in facs]
    models = explicit_init_matrices(init, shape, rank, n_restarts, fixed)
    checked = [_balanced_init(mats, scale_exponent, fixed) for mats in models]  # checked[i][mode]
    facs = []
    for mode in range(len(shape)):
        stack = []
        for i, mats in enumerate(checked):
            check_float_range(mats[mode], f"init[{i}] factor {mode}", str(x.dtype))
            stack.append(mats[mode])
        facs.append(to_tensor(np.stack(stack), device=x.device, dtype=x.dtype))
    return facs


def _revive_dead(facs: list[torch.Tensor], free: Sequence[int]) -> list[torch.Tensor]:
    """Re-seed components that HALS has switched off, without changing the model.

    A component is dead when its column is all zero in some free mode: HALS
    then never moves it again (its Gram diagonal is 0 in every other mode, and
    its stale columns there keep the residual's projection negative in that
    one). For such a component the column of the first free mode is set to 0
    and the columns of the other free modes to a uniform positive value (the
    RMS of that factor's entries). The model is unchanged (the component still
    contributes 0), so the error never increases, and the first free mode's
    HALS update then solves for the component against uniform partners: the
    non-negative part of the residual's mode-wise sums, which the next modes
    refine like a rank-1 power iteration on the residual. Branch-free (no host
    sync beyond the one test whether any column is dead, which the loops pay
    for anyway); a no-op bit for bit when no column is dead. A single free mode
    is left alone: its HALS update is exact per column, so a zero column is
    optimal.
    """
    if len(free) < 2:
        return facs
    # the factors are non-negative: a column is all zero exactly when its sum is 0
    dead = facs[free[0]].sum(dim=1, keepdim=True) <= 0  # (S, 1, R)
    for m in free[1:]:
        dead = dead | (facs[m].sum(dim=1, keepdim=True) <= 0)
    if not bool(dead.any()):
        return facs
    out = list(facs)
    out[free[0]] = facs[free[0]].masked_fill(dead, 0.0)
    for m in free[1:]:
        f = facs[m]
        rms = f.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()
        fill = torch.where(rms > 0, rms, torch.ones_like(rms))
        out[m] = torch.where(dead, fill, f)
    return out


def fit_nonnegative_cp(x: torch.Tensor, rank: int, *, mask: torch.Tensor | None = None,
                       n_restarts: int = 1, init: Any = "random", solver: str = "hals",
                       max_iter: int = 500, tol: float = 1e-6, n_inner: int = 5,
                       generator: torch.Generator | None = None, verbose: bool = False,
                       scale_exponent: int = 0, fixed_modes: Sequence[int] = ()) -> dict:
    """Batched non-negative CP of a torch tensor of order ``N >= 2`` (all restarts at once).

    For a 3-way tensor ``(P, K, W)``, ``mask`` (bool, True = observed) has shape
    ``(P, 1, W)`` (whole pairs missing in an animal, e.g. missing neurons) or
    ``(P, K, W)``; for other orders it has X's shape. X must be 0 where masked.
    Masked entries are imputed by the model of the previous iteration (EM). For a
    ``(P, 1, W)`` mask the imputed part of every product with the tensor is
    computed in closed form from the factors, so no per-restart copy of X is made;
    a general mask fills a ``(S, *X.shape)`` copy.

    Returns a dict: ``factors`` (list of (S, n, R) tensors), ``errors`` (list of
    S lists), ``n_iter`` (S,), ``converged`` (S,). ``tol <= 0`` runs exactly
    ``max_iter`` iterations. ``scale_exponent``: ``x`` is the data divided by
    ``2**scale_exponent``; explicit ``init`` factors are rescaled to match.
    ``fixed_modes``: modes whose factors keep their initial values (at least one
    mode must stay free).
    """
    fixed = sorted({int(m) for m in fixed_modes})
    free = [m for m in range(x.ndim) if m not in fixed]
    if not free:
        raise ValueError("fixed_modes lists every mode of X; at least one mode must be fitted")
    facs = _initial_factors(x, rank, n_restarts, init, generator, scale_exponent, fixed)
    if x.ndim == 3:
        return _fit_three_way(x, facs, free, mask, solver, max_iter, tol, n_inner, verbose)
    return _fit_n_way(x, facs, free, mask, solver, max_iter, tol, n_inner, verbose)


def _update(f: torch.Tensor, mttkrp: torch.Tensor, gram: torch.Tensor, solver: str, n_inner: int):
    if solver == "hals":
        return _hals_sweeps(f.contiguous(), mttkrp.contiguous(), gram, n_inner)
    return _mu_update(f, mttkrp, gram)


class _Progress:
    """Convergence bookkeeping shared by both loops: errors, frozen restarts, stopping."""

    def __init__(self, s: int, device, tol: float):
        self.errors: list[torch.Tensor] = []  # grows with the iterations run, not with max_iter
        self.active = torch.ones(s, dtype=torch.bool, device=device)
        self.n_iter = np.zeros(s, dtype=int)
        self.converged = np.zeros(s, dtype=bool)
        self.tol = tol

    def step(self, it: int, err: torch.Tensor) -> bool:
        """Record iteration ``it``'s errors; True when every restart has stopped."""
        self.errors.append(torch.where(self.active, err, self.errors[it - 1] if it else err))
        self.n_iter[to_numpy(self.active)] = it + 1
        if self.tol > 0 and it >= 1:
            done = (self.errors[it] - self.errors[it - 1]).abs() < self.tol
            self.converged |= to_numpy(done & self.active)
            self.active = self.active & ~done
            if not bool(self.active.any()):
                return True
        return False

    def result(self, facs: list[torch.Tensor]) -> dict:
        hist = to_numpy(torch.stack(self.errors))
        err_lists = [hist[: self.n_iter[i], i].tolist() for i in range(len(self.n_iter))]
        return {"factors": facs, "errors": err_lists, "n_iter": self.n_iter, "converged": self.converged}


def _iterations(max_iter: int, verbose: bool, rank: int, s: int):
    rng = range(max_iter)
    return tqdm(rng, desc=f"NTF rank {rank} x{s}", leave=False) if verbose else rng


def _fit_three_way(x, facs, free, mask, solver, max_iter, tol, n_inner, verbose) -> dict:
    """The specialised loop of a 3-way tensor ``(P, K, W)`` (see :func:`fit_nonnegative_cp`)."""
    p, k, w = x.shape
    a, b, c = facs
    s, rank = a.shape[0], a.shape[2]
    x1 = x.reshape(p, k * w)
    # the error bookkeeping runs in float64: a float32 norm of millions of entries is off by ~1e-4
    f64 = torch.float64
    norm_x = torch.linalg.vector_norm(x1, dtype=f64)  # masked entries are zero
    norm_x2 = norm_x ** 2
    mode = "full" if mask is None else ("pairs" if mask.shape[1] == 1 and k > 1 else "dense")
    if mode == "pairs":
        missing = (~mask[:, 0, :]).to(x.dtype)  # (P, W)
    elif mode == "dense":
        missing = (~mask).to(x.dtype).reshape(1, p, k, w)

        def impute(aa, bb, cc):
            model = _reconstruct(aa, bb, cc)
            # X on observed entries, the model on missing ones (X is 0 there)
            filled = torch.addcmul(x.unsqueeze(0), model.view(s, p, k, w), missing).view(s, p, k * w)
            return filled, model

        filled, _ = impute(a, b, c)
    progress = _Progress(s, x.device, tol)
    for it in _iterations(max_iter, verbose, rank, s):
        active = progress.active
        old = None if bool(active.all()) else (a.clone(), b.clone(), c.clone())
        if solver == "hals":  # multiplicative updates cannot move a zero column anyway
            a, b, c = _revive_dead([a, b, c], free)
        if mode == "pairs":
            a0, b0, c0 = a.clone(), b.clone(), c.clone()  # the model that imputes this iteration
        if 0 in free:
            # pass 1 over X: M_A = X_(1) (B ⊙ C), one GEMM for all restarts
            if mode == "dense":
                m_a = torch.bmm(filled, _khatri_rao(b, c))
            else:
                kr = _khatri_rao(b, c)  # (S, K*W, R)
                m_a = (x1 @ kr.permute(1, 0, 2).reshape(k * w, s * rank)).reshape(p, s, rank).transpose(0, 1)
                if mode == "pairs":
                    q = torch.einsum("pw,swr,swq->sprq", missing, c0, c)
                    m_a = m_a + torch.einsum("spr,srq,sprq->spq", a0, b0.transpose(1, 2) @ b, q)
            a = _update(a, m_a, _gram(b) * _gram(c), solver, n_inner)
        # pass 2 over X: Z = A^T X_(1) serves both remaining modes
        if mode == "dense":
            z = torch.bmm(a.transpose(1, 2), filled).reshape(s, rank, k, w)
        else:
            z_x = (a.transpose(1, 2).reshape(s * rank, p) @ x1).reshape(s, rank, k, w)
            z = z_x
            if mode == "pairs":
                t = torch.einsum("pw,spq,spr->swqr", missing, a, a0)
                z = z_x + torch.einsum("skr,swr,swqr->sqkw", b0, c0, t)
        g_a = _gram(a)
        if 1 in free:
            m_b = torch.einsum("srkw,swr->skr", z, c)
            b = _update(b, m_b, g_a * _gram(c), solver, n_inner)
        m_c = torch.einsum("srkw,skr->swr", z, b)  # also needed for the error when C is fixed
        g_ab = g_a * _gram(b)
        if 2 in free:
            c = _update(c, m_c, g_ab, solver, n_inner)
        if old is not None:
            keep = active[:, None, None]
            a = torch.where(keep, a, old[0])
            b = torch.where(keep, b, old[1])
            c = torch.where(keep, c, old[2])
        if mode == "full":
            # Gram identity: ||X - M||^2 = ||X||^2 - 2 <M_C, C> + 1^T (G_C * C^T C) 1
            sq = norm_x2 - 2 * (m_c * c).sum(dim=(1, 2), dtype=f64) \
                + (g_ab * _gram(c)).sum(dim=(1, 2), dtype=f64)
            err = sq.clamp(min=0).sqrt() / norm_x
        elif mode == "pairs":
            # observed error: ||X||^2 - 2 <X, M> + ||M||^2 - ||M on missing pairs||^2
            if old is not None:
                z_x = (a.transpose(1, 2).reshape(s * rank, p) @ x1).reshape(s, rank, k, w)
            g_a, g_b, g_c = _gram(a), _gram(b), _gram(c)
            inner = torch.einsum("srkw,skr,swr->s", z_x, b, c).to(f64)
            t2 = torch.einsum("pw,spr,spq->swrq", missing, a, a)
            miss_sq = torch.einsum("swrq,swr,swq,srq->s", t2, c, c, g_b).to(f64)
            sq = norm_x2 - 2 * inner + (g_a * g_b * g_c).sum(dim=(1, 2), dtype=f64) - miss_sq
            err = sq.clamp(min=0).sqrt() / norm_x
        else:
            filled, model = impute(a, b, c)
            # on observed entries filled - model = X - model; elsewhere it is 0
            err = torch.linalg.vector_norm((filled - model).reshape(s, -1), dim=1, dtype=f64) / norm_x
        if progress.step(it, err):
            break
    return progress.result([a, b, c])


def _contract_except(z: torch.Tensor, facs: list[torch.Tensor], mode: int) -> torch.Tensor:
    """``M[s, i_mode, r] = sum Z[s, r, i_1, ..., i_{N-1}] prod_{j not in (0, mode)} F_j[s, i_j, r]``."""
    n = z.ndim - 2 + 1  # the tensor's order
    letters = _LETTERS[1:n]
    operands, specs = [z], ["sr" + letters]
    for j in range(1, n):
        if j != mode:
            operands.append(facs[j])
            specs.append(f"s{letters[j - 1]}r")
    return torch.einsum(",".join(specs) + f"->s{letters[mode - 1]}r", *operands)


def _hadamard_except(grams: list[torch.Tensor], mode: int) -> torch.Tensor:
    """Elementwise product of every factor's Gram matrix but ``mode``'s."""
    out = None
    for j, g in enumerate(grams):
        if j != mode:
            out = g if out is None else out * g
    return out


def _fit_n_way(x, facs, free, mask, solver, max_iter, tol, n_inner, verbose) -> dict:
    """The general loop for a tensor of order ``N != 3`` (same updates as the 3-way loop).

    Mode 0 reads X once through ``X_(1) (F_1 ⊙ ... ⊙ F_{N-1})``; ``Z = F_0^T X_(1)``
    (a second pass) gives every other mode's MTTKRP by contracting with the
    current factors (Gauss-Seidel order 0, 1, ..., N-1).
    """
    shape = tuple(x.shape)
    n_modes = len(shape)
    s, rank = facs[0].shape[0], facs[0].shape[2]
    n0, rest = shape[0], x.numel() // shape[0]
    x1 = x.reshape(n0, rest)
    f64 = torch.float64
    norm_x = torch.linalg.vector_norm(x1, dtype=f64)
    norm_x2 = norm_x ** 2
    last = n_modes - 1
    filled = None
    if mask is not None:
        missing = (~mask).to(x.dtype).reshape(1, n0, rest)

        def impute(fs):
            model = torch.bmm(fs[0], _khatri_rao_all(fs[1:]).transpose(1, 2))  # (S, n0, rest)
            return torch.addcmul(x1.unsqueeze(0), model, missing), model

        filled, _ = impute(facs)
    progress = _Progress(s, x.device, tol)
    for it in _iterations(max_iter, verbose, rank, s):
        active = progress.active
        old = None if bool(active.all()) else [f.clone() for f in facs]
        if solver == "hals":  # multiplicative updates cannot move a zero column anyway
            facs = _revive_dead(facs, free)
        grams = [_gram(f) for f in facs]
        if 0 in free:
            kr = _khatri_rao_all(facs[1:])  # (S, rest, R)
            if filled is None:
                m0 = (x1 @ kr.permute(1, 0, 2).reshape(rest, s * rank)).reshape(n0, s, rank).transpose(0, 1)
            else:
                m0 = torch.bmm(filled, kr)
            facs[0] = _update(facs[0], m0, _hadamard_except(grams, 0), solver, n_inner)
            grams[0] = _gram(facs[0])
        # every mode after the first reads Z = F_0^T X_(1) (an order-2 tensor included)
        if filled is None:
            z = (facs[0].transpose(1, 2).reshape(s * rank, n0) @ x1).reshape(s, rank, *shape[1:])
        else:
            z = torch.bmm(facs[0].transpose(1, 2), filled).reshape(s, rank, *shape[1:])
        for m in range(1, n_modes):
            if m not in free and m != last:
                continue
            mm = _contract_except(z, facs, m)
            gm = _hadamard_except(grams, m)
            if m in free:
                facs[m] = _update(facs[m], mm, gm, solver, n_inner)
                grams[m] = _gram(facs[m])
            if m == last:
                m_last, g_last = mm, gm
        if old is not None:
            keep = active[:, None, None]
            facs = [torch.where(keep, f, o) for f, o in zip(facs, old, strict=True)]
        if filled is None:
            f_last = facs[last]
            sq = norm_x2 - 2 * (m_last * f_last).sum(dim=(1, 2), dtype=f64) \
                + (g_last * _gram(f_last)).sum(dim=(1, 2), dtype=f64)
            err = sq.clamp(min=0).sqrt() / norm_x
        else:
            filled, model = impute(facs)
            err = torch.linalg.vector_norm((filled - model).reshape(s, -1), dim=1, dtype=f64) / norm_x
        if progress.step(it, err):
            break
    return progress.result(facs)


def normalize_cp(factors: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unit 2-norm columns, scale in the weights, components sorted by weight (descending)."""
    factors = [np.asarray(f, dtype=np.float64) for f in factors]
    weights = np.ones(factors[0].shape[1])
    out = []
    for f in factors:
        n = np.linalg.norm(f, axis=0)
        weights = weights * n
        out.append(f / np.where(n > 0, n, 1.0))
    order = np.argsort(-weights, kind="stable")
    return weights[order], [f[:, order] for f in out]


def _normalise_free(factors: Sequence[np.ndarray], fixed: Sequence[int],
                    originals: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Normalise the free modes' columns into the weights; fixed modes as initialised, no sorting.

    ``originals``: the caller's float64 initial factors, returned for the fixed
    modes instead of their (possibly float32) copies on the device.
    """
    weights = np.ones(factors[0].shape[1])
    out = []
    for m, f in enumerate(factors):
        f = np.asarray(f, dtype=np.float64)
        if m in fixed:
            out.append(np.array(originals[m]) if originals is not None else f.copy())
            continue
        n = np.linalg.norm(f, axis=0)
        weights = weights * n
        out.append(f / np.where(n > 0, n, 1.0))
    return weights, out


# --------------------------------------------------------------------------- estimator

#: Upper bound of ``n_inner``: more HALS sweeps per mode than this re-solve an
#: already converged subproblem (the outer iteration re-reads the tensor).
MAX_INNER = 100


def check_float_dtype(dtype: torch.dtype) -> None:
    """Refuse half precisions: HALS and the affinities are only accurate in float32 or float64."""
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64' (or None); got {str(dtype).replace('torch.', '')}")


def _check_cp_params(est) -> int:
    """Validate the NTF parameters shared by NonnegativeCP and DynamicConnectome; return the rank."""
    rank = check_positive_int(est.n_components, "n_components")
    check_in(est.solver, "solver", ("hals", "mu"))
    if isinstance(est.init, str):
        check_in(est.init, "init", ("random", "svd"))
    elif not (isinstance(est.init, (list, tuple)) or (hasattr(est.init, "weights")
                                                      and hasattr(est.init, "factors"))):
        raise TypeError(f"init must be 'random', 'svd' or a list of factor matrices (or a CPTensor); got "
                        f"{type(est.init).__name__}")
    check_positive_int(est.n_restarts, "n_restarts")
    check_positive_int(est.max_iter, "max_iter")
    check_scalar(est.n_inner, "n_inner", low=1, high=MAX_INNER, integer=True)
    check_scalar(est.tol, "tol", low=0.0, high=1.0, high_inclusive=False)
    return rank


def _check_fixed_modes(fixed_modes: Any, n_modes: int) -> list[int]:
    """Sorted distinct mode indices in ``[0, n_modes)``, leaving at least one mode free."""
    if fixed_modes is None:
        return []
    if isinstance(fixed_modes, (str, bytes)) or not hasattr(fixed_modes, "__iter__"):
        raise TypeError(f"fixed_modes must be None or a sequence of mode indices; got {fixed_modes!r}")
    modes = []
    for m in fixed_modes:
        if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)):
            raise TypeError(f"fixed_modes must hold integer mode indices; got {m!r}")
        if not 0 <= int(m) < n_modes:
            raise ValueError(f"fixed_modes must hold modes of X in [0, {n_modes - 1}]; got {int(m)}")
        modes.append(int(m))
    if len(set(modes)) != len(modes):
        raise ValueError(f"fixed_modes lists a mode twice; got {list(fixed_modes)}")
    if len(modes) == n_modes:
        raise ValueError(f"fixed_modes lists every mode of X ({n_modes}); at least one mode must be fitted")
    return sorted(modes)


class NonnegativeCP(TorchEstimatorMixin, BaseEstimator):
    """Non-negative CP (PARAFAC) decomposition of a tensor, best of several restarts.

    The tensor has order ``N >= 2``: ``(P, K, W)`` for a dynamic connectome,
    a matrix for NMF, or any N-way array. 3-way tensors run a specialised loop;
    other orders a general one with the same updates.

    Parameters
    ----------
    n_components : int
        Rank ``R`` of the decomposition.
    solver : {"hals", "mu"}
        Hierarchical ALS (default) or multiplicative updates (a slow reference).
    init : {"random", "svd"} or factors
        ``"random"``: seeded uniform [0, 1) factors, scaled so the model norm
        equals ``||X||``. ``"svd"``: the first restart starts from the leading
        singular vectors of each unfolding made non-negative (NNDSVD-like), the
        others from random factors. Explicit factors: a list ``[A0, B0, C0, ...]``
        (one matrix per mode, one restart), a ``(weights, factors)`` pair or a
        tensorly ``CPTensor`` (the weights are multiplied into the first fitted
        mode), or a list of such models (one per restart); copied, never
        modified.
    n_restarts : int
        Number of restarts, fitted together as one batch; the lowest final
        error wins.
    max_iter : int
        Maximum number of outer iterations (one update of every mode).
    tol : float in [0, 1)
        Stop a restart when the relative error changes by less than ``tol``
        between iterations; ``tol=0`` runs exactly ``max_iter`` iterations.
    n_inner : int in [1, 100]
        HALS sweeps over the components per mode update.
    fixed_modes : None or sequence of int
        Modes whose factors are not fitted: they keep their initial values
        (given by an explicit ``init``; with ``"random"``/``"svd"`` the initial
        factors of those modes are kept). At least one mode must stay free. With
        fixed modes, ``factors_`` holds the fixed factors exactly as initialised
        (not normalised), the free factors with unit-norm columns, and the
        components keep the order of the initialisation (no sorting by weight).
    random_state : None, int or numpy Generator
    device : {"auto", "cpu", "cuda"}
    dtype : None, "float32" or "float64"
        None: float64 on the CPU, float32 on CUDA. The tensor is divided by the
        power of two nearest its maximum before the cast (the weights are
        multiplied back), so neither precision over- or underflows at any data
        scale; float32 gives float64's relative error within about 1e-4.
    verbose : bool
        Show a progress bar over iterations.

    Attributes
    ----------
    n_features_in_ : int
        ``prod(X.shape[1:])``: columns of the mode-1 unfolding seen in ``fit``
        (``K * W`` for a ``(P, K, W)`` tensor).
    factors_ : list of N ndarrays, shapes (n_m, R)
        Unit 2-norm columns, components sorted by decreasing weight (see
        ``fixed_modes`` for the exception).
    weights_ : ndarray (R,)
    reconstruction_error_ : float
        ``||X - model|| / ||X||`` (observed entries only when masked).
    errors_ : ndarray
        Relative error after each iteration of the best restart.
    n_iter_ : int
    converged_ : bool
    restart_errors_ : ndarray (n_restarts,)
        Final relative error of every restart.
    restart_models_ : list of (weights, factors)
        Every restart's normalised model, ordered by increasing final error.
    restart_n_iter_ : ndarray (n_restarts,)

    Notes
    -----
    A component that HALS switches off (a column of zeros in some mode) is
    re-seeded at the next iteration without changing the model, so the error
    still never increases; see :func:`_revive_dead`.

    References
    ----------
    Cichocki, A., Phan, A.-H. (2009). Fast local algorithms for large scale
    nonnegative matrix and tensor factorizations. IEICE Trans. Fundamentals
    E92-A(3):708-721.
    Gillis, N., Glineur, F. (2012). Accelerated multiplicative updates and
    hierarchical ALS algorithms for nonnegative matrix factorization. Neural
    Computation 24(4):1085-1105.
    Boutsidis, C., Gallopoulos, E. (2008). SVD based initialization: a head
    start for nonnegative matrix factorization. Pattern Recognition 41(4):1350-1362.
    Williams, A. H. et al. (2018). Unsupervised discovery of demixed,
    low-dimensional neural dynamics across multiple timescales through tensor
    component analysis. Neuron 98(6):1099-1115.

    Examples
    --------
    >>> from neurodyn.connectome import NonnegativeCP
    >>> rng = np.random.default_rng(0)
    >>> A, B, C = rng.random((10, 2)), rng.random((8, 2)), rng.random((6, 2))
    >>> X = np.einsum("ir,jr,kr->ijk", A, B, C)  # an exact rank-2 non-negative tensor
    >>> cp = NonnegativeCP(n_components=2, n_restarts=3, random_state=0, device="cpu").fit(X)
    >>> [f.shape for f in cp.factors_], cp.weights_.shape
    ([(10, 2), (8, 2), (6, 2)], (2,))
    >>> bool(cp.reconstruction_error_ < 1e-3)
    True
    """

    def __init__(self, n_components=4, *, solver="hals", init="random", n_restarts=10,
                 max_iter=500, tol=1e-6, n_inner=5, fixed_modes=None, random_state=None,
                 device="auto", dtype=None, verbose=False):
        self.n_components = n_components
        self.solver = solver
        self.init = init
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.n_inner = n_inner
        self.fixed_modes = fixed_modes
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self, shape, n_observed, dense_mask=False, fixed=()):
        rank = _check_cp_params(self)
        free = [n for m, n in enumerate(shape) if m not in fixed]
        # each component's scale is shared by its free columns: one degree of freedom less per extra one
        n_params = rank * (sum(free) - (len(free) - 1))
        if n_params > n_observed:
            raise ValueError(
                f"n_components={rank} is larger than the data supports: a rank-{rank} model of a "
                f"{shape} tensor has {n_params} free parameters but only {n_observed} entries are "
                "observed; use a smaller n_components"
            )
        size = int(np.prod(shape, dtype=np.float64))
        rest = size // shape[0]
        # per restart: factors, Gram and update copies, the Khatri-Rao product and Z = A^T X_(1)
        per_restart = 6.0 * sum(shape) * rank + 2.0 * rest * rank + (2.0 * size if dense_mask else 0)
        check_allocation(self.n_restarts * per_restart, "n_restarts", itemsize=8,
                         what=f"{self.n_restarts} batched restarts of a rank-{rank} model")
        return rank

    @thread_policy()  # the process's share of the cores (OMP_NUM_THREADS, joblib workers)
    def fit(self, X, y=None, mask=None):
        """Fit the decomposition.

        Parameters
        ----------
        X : array-like, shape (P, K, W) or any order >= 2
            Non-negative tensor. NaN is allowed only where ``mask`` is False.
        y : ignored
        mask : array-like of bool, broadcastable to X, optional
            True where an entry is observed.

        Returns
        -------
        self
        """
        _check_cp_params(self)
        arr, m = check_nonnegative_tensor(X, "X", mask, ndim=None)
        fixed = _check_fixed_modes(self.fixed_modes, arr.ndim)
        n_obs = arr.size if m is None else int(m.sum())
        compact = None
        if m is not None and not m.all():
            # 3-way: a mask constant over windows (missing neurons) is kept compact: (P, 1, W)
            compact = m[:, :1, :] if arr.ndim == 3 and (m == m[:, :1, :]).all() else m
        rank = self._check_params(arr.shape, n_obs, fixed=fixed,
                                  dense_mask=compact is not None and (arr.ndim != 3 or compact.shape[1] > 1))
        init_models = None
        if not isinstance(self.init, str):  # validated here, before any allocation on the device
            init_models = explicit_init_matrices(self.init, arr.shape, rank, self.n_restarts, fixed)
        self._setup_torch()
        check_float_dtype(self.dtype_)
        # Divide by the power of two nearest the largest entry: exact, so a tensor of
        # ordinary scale is factorised bit for bit as before, and squares and Gram
        # products of a tiny or huge one stay in range (float32 included).
        peak = float(arr.max())  # > 0: check_nonnegative_tensor refuses an all-zero tensor
        exponent = int(np.round(np.log2(peak)))
        if exponent:
            arr = np.ldexp(arr, -exponent)
        # the entries are non-negative, so the largest magnitude after scaling is this one
        check_float_range(np.array([np.ldexp(peak, -exponent)]), "X", str(self.dtype_))
        x = self._tensor(arr)
        mt = None if compact is None else to_tensor(np.ascontiguousarray(compact), device=self.device_)
        res = fit_nonnegative_cp(x, rank, mask=mt, n_restarts=self.n_restarts,
                                 init=self.init if init_models is None else init_models,
                                 solver=self.solver, max_iter=self.max_iter, tol=float(self.tol),
                                 n_inner=int(self.n_inner), generator=self._generator,
                                 verbose=self.verbose, scale_exponent=exponent, fixed_modes=fixed)
        self._store(res, exponent, fixed, init_models)
        self.shape_ = arr.shape
        self.n_features_in_ = int(np.prod(arr.shape[1:]))
        return self

    def _store(self, res: dict, exponent: int = 0, fixed: Sequence[int] = (),
               init_models: list | None = None) -> None:
        final = np.array([e[-1] for e in res["errors"]])
        order = np.argsort(final, kind="stable")
        facs = [to_numpy(f) for f in res["factors"]]
        if fixed:
            models = [_normalise_free([f[i] for f in facs], fixed,
                                      None if init_models is None else init_models[i]) for i in order]
        else:
            models = [normalize_cp([f[i] for f in facs]) for i in order]
        # undo the power-of-two scaling of the tensor (exact)
        with np.errstate(over="ignore"):  # reported just below
            self.restart_models_ = [(np.ldexp(w, exponent), f) for w, f in models]
        if not all(np.isfinite(w).all() for w, _ in self.restart_models_):
            raise ValueError(f"X is too large: the component weights (the tensor's scale 2**{exponent} "
                             "times the fitted norms) exceed float64's range; rescale X")
        self.restart_errors_ = final[order]
        self.restart_n_iter_ = res["n_iter"][order]
        best = order[0]
        self.weights_, self.factors_ = self.restart_models_[0]
        self.reconstruction_error_ = float(final[best])
        self.errors_ = np.asarray(res["errors"][best])
        self.n_iter_ = int(res["n_iter"][best])
        self.converged_ = bool(res["converged"][best])

    def reconstruct(self) -> np.ndarray:
        """The fitted model as a full numpy tensor of X's shape."""
        check_is_fitted(self, "factors_")
        return cp_to_tensor(self.factors_, self.weights_)

    def to_cptensor(self):
        """The fitted model as a tensorly ``CPTensor`` (numpy backend arrays)."""
        check_is_fitted(self, "factors_")
        from tensorly.cp_tensor import CPTensor

        return CPTensor((self.weights_.copy(), [f.copy() for f in self.factors_]))

    def stability(self) -> float:
        """Mean factor match score of the best restart against every other restart."""
        check_is_fitted(self, "factors_")
        if len(self.restart_models_) < 2:
            raise ValueError("stability needs at least 2 restarts; refit with n_restarts >= 2")
        best = self.restart_models_[0]
        return float(np.mean([factor_match_score(best, other) for other in self.restart_models_[1:]]))



# --------------------------------------------------------------------------- rank selection


def elbow_rank(ranks: Sequence[int], errors: Sequence[float]) -> int:
    """Rank with the sharpest bend of the error curve.

    ``argmax_R (e_{R-1} - e_R) / (e_R - e_{R+1})`` over ranks whose two
    neighbours ``R - 1`` and ``R + 1`` are also in ``ranks`` (and ``R >= 2``).
    ``errors`` must be finite, one per rank.
    """
    err = check_array(errors, "errors", ndim=1, dims="(n_ranks,)")
    check_finite(err, "errors")
    if isinstance(ranks, (str, bytes)) or not hasattr(ranks, "__iter__"):
        raise TypeError(f"ranks must be a sequence of integers; got {ranks!r}")
    rank_list = [check_positive_int(r, "ranks") for r in ranks]
    if len(rank_list) != err.size:
        raise ValueError(f"errors must have one entry per rank ({len(rank_list)}); got {err.size}")
    lookup = {r: float(e) for r, e in zip(rank_list, err, strict=True)}
    tiny = np.finfo(float).tiny
    scores = {}
    for r in sorted(lookup):
        if r >= 2 and r - 1 in lookup and r + 1 in lookup:
            gain_before = lookup[r - 1] - lookup[r]
            gain_after = max(lookup[r] - lookup[r + 1], tiny)
            scores[r] = gain_before / gain_after
    if not scores:
        raise ValueError("the elbow rule needs at least three consecutive ranks, e.g. range(1, 8)")
    return max(scores, key=scores.get)


def rank_sweep(X, ranks: Sequence[int], *, n_restarts: int = 6, mask=None, **cp_params) -> dict:
    """Fit a non-negative CP at each rank and report error and restart stability.

    Parameters
    ----------
    X : array-like (P, K, W), or a tensor of any order >= 2
        Non-negative tensor.
    ranks : sequence of int
    n_restarts : int
        Restarts per rank (batched).
    mask : optional boolean mask (see :class:`NonnegativeCP`).
    **cp_params
        Other :class:`NonnegativeCP` parameters (``max_iter``, ``tol``,
        ``random_state``, ``device``, ``fixed_modes`` ...).

    Returns
    -------
    dict
        ``ranks`` (n_ranks,); ``errors`` (n_ranks, n_restarts), each row sorted
        ascending; ``best_errors``; ``stability`` (n_ranks,): mean factor match
        score of the lowest-error restart against every other restart (NaN with a
        single restart); ``elbow_rank`` (None when fewer than three consecutive
        ranks); ``best_models``: the lowest-error (weights, factors) per rank.

    References
    ----------
    Williams, A. H. et al. (2018). Unsupervised discovery of demixed,
    low-dimensional neural dynamics across multiple timescales through tensor
    component analysis. Neuron 98(6):1099-1115.
    """
    if isinstance(ranks, (str, bytes)) or not hasattr(ranks, "__iter__"):
        raise TypeError(f"ranks must be a sequence of integers, e.g. range(1, 8); got {ranks!r}")
    ranks = [check_positive_int(r, "ranks") for r in ranks]
    if not ranks:
        raise ValueError("ranks is empty; pass a sequence of integers, e.g. range(1, 8)")
    check_positive_int(n_restarts, "n_restarts")
    errors, stability, models = [], [], []
    for r in ranks:
        est = NonnegativeCP(r, n_restarts=n_restarts, **cp_params).fit(X, mask=mask)
        errors.append(est.restart_errors_)
        stability.append(est.stability() if n_restarts > 1 else np.nan)
        models.append(est.restart_models_[0])
    errors = np.array(errors)
    best = errors[:, 0]
    try:
        elbow = elbow_rank(ranks, best)
    except ValueError:
        elbow = None
    return {"ranks": np.array(ranks), "errors": errors, "best_errors": best,
            "stability": np.array(stability), "elbow_rank": elbow, "best_models": models}
