"""Non-negative CP (PARAFAC) decomposition of 3-way tensors, in torch.

``X[p, k, w] ≈ sum_r  weight_r * A[p, r] * B[k, r] * C[w, r]`` with ``A, B, C >= 0``,
minimising ``0.5 * ||X - [[A, B, C]]||_F^2`` (or its masked version).

The solver is hierarchical alternating least squares (HALS) with two passes
over the tensor per iteration (the matricised-tensor times Khatri-Rao products,
MTTKRP, of the second and third modes are both read from ``Z = A^T X_(1)``), and
all restarts run as one batch: the restarts' factor columns are stacked so
each pass over the tensor is a single matrix product. Multiplicative updates
(``solver="mu"``) are kept as a slow reference. Missing entries (a boolean mask)
are handled by expectation-maximisation style imputation: masked entries are
replaced by the current model before each iteration.

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

from .._torch import TorchEstimatorMixin, random_uniform, to_numpy, to_tensor
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


def cp_to_tensor(factors: Sequence[Any], weights: Any = None) -> np.ndarray:
    """Full 3-way tensor ``sum_r w_r a_r ∘ b_r ∘ c_r`` from factor matrices (numpy)."""
    a, b, c = (np.asarray(f, dtype=np.float64) for f in factors)
    w = np.ones(a.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.einsum("r,pr,kr,wr->pkw", w, a, b, c)


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


def check_nonnegative_tensor(X: Any, name: str = "X", mask: Any = None):
    """Validate a non-negative 3-way tensor and an optional boolean mask.

    NaN is allowed only where ``mask`` is False. Returns ``(X, mask)`` as numpy
    arrays, X float with masked entries set to 0 (a copy when changed), mask a
    bool array broadcast to X's shape or None.
    """
    if isinstance(X, torch.Tensor):
        X = to_numpy(X)
    arr = check_array(X, name, ndim=3, dims="(n_pairs, n_windows, n_animals)", dtype=None)
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


def _svd_factor(gram_or_x: torch.Tensor, rank: int, x_unfold=None) -> torch.Tensor:
    """Leading non-negative singular directions (NNDSVD-like) from a Gram matrix."""
    evals, evecs = torch.linalg.eigh(gram_or_x)
    order = torch.argsort(evals, descending=True)[:rank]
    vecs = evecs[:, order]
    if x_unfold is not None:  # map right singular vectors to left ones
        vecs = x_unfold @ vecs
        vecs = vecs / torch.linalg.vector_norm(vecs, dim=0).clamp(min=torch.finfo(vecs.dtype).tiny)
    if vecs.shape[1] < rank:  # rank above a dimension: pad with uniform columns
        pad = torch.full((vecs.shape[0], rank - vecs.shape[1]), 1.0 / vecs.shape[0] ** 0.5,
                         dtype=vecs.dtype, device=vecs.device)
        vecs = torch.cat([vecs, pad], dim=1)
    # Keep the dominant sign of each direction, then fill zeros so HALS can move them.
    sign = torch.where((vecs.clamp(min=0) ** 2).sum(0) >= (vecs.clamp(max=0) ** 2).sum(0), 1.0, -1.0)
    pos = (vecs * sign).clamp(min=0)
    fill = pos.mean(dim=0, keepdim=True) * 0.01
    return torch.where(pos > 0, pos, fill + torch.finfo(pos.dtype).eps)


def _svd_init(x: torch.Tensor, rank: int) -> list[torch.Tensor]:
    p, k, w = x.shape
    x1 = x.reshape(p, k * w)
    if p <= k * w:
        a = _svd_factor(x1 @ x1.T, rank)
    else:
        a = _svd_factor(x1.T @ x1, rank, x_unfold=x1)
    b = _svd_factor(torch.einsum("pkw,pjw->kj", x, x), rank)
    c = _svd_factor(torch.einsum("pkw,pkv->wv", x, x), rank)
    return [a, b, c]


def _balanced_init(mats: list[np.ndarray], scale_exponent: int) -> list[np.ndarray]:
    """Explicit factors for the tensor divided by ``2**scale_exponent``, each of magnitude ~1.

    Factor ``m`` is multiplied by ``2**-e_m`` with ``sum(e_m) == scale_exponent``:
    the model is divided exactly like the tensor, and HALS (whose updates are
    equivariant to such rescalings) follows the same path bit for bit, while no
    factor's Gram matrix over- or underflows. Factors already near 1 for a
    tensor near 1 are left unchanged.
    """
    peaks = [float(f.max()) for f in mats]
    exps = [int(np.round(np.log2(p))) if p > 0 else 0 for p in peaks]
    q, r = divmod(scale_exponent - sum(exps), 3)
    exps = [exps[0] + q + r, exps[1] + q, exps[2] + q]
    return [np.ldexp(f, -e) if e else f for f, e in zip(mats, exps, strict=True)]


def _initial_factors(x: torch.Tensor, rank: int, n_restarts: int, init: Any,
                     generator: torch.Generator, scale_exponent: int = 0) -> list[torch.Tensor]:
    """Batched initial factors ``[(S, P, R), (S, K, R), (S, W, R)]``.

    Explicit factors are for the unscaled tensor; they are rescaled by powers of
    two to match a tensor divided by ``2**scale_exponent`` (see :func:`_balanced_init`).
    """
    shape = x.shape
    if isinstance(init, str):
        facs = [random_uniform((n_restarts, n, rank), generator, x.device, x.dtype) for n in shape]
        if init == "svd":
            for f, s in zip(facs, _svd_init(x, rank), strict=True):
                f[0] = s
        # Scale each restart so the model norm equals ||X|| (Gram identity, no rebuild).
        gram = _gram(facs[0]) * _gram(facs[1]) * _gram(facs[2])
        model_norm = gram.sum(dim=(1, 2)).clamp(min=torch.finfo(x.dtype).tiny).sqrt()
        scale = (torch.linalg.vector_norm(x) / model_norm) ** (1.0 / 3.0)
        return [f * scale[:, None, None] for f in facs]
    # explicit factors: one model (3 matrices) or a list of models
    models = init
    if len(models) == 3 and all(hasattr(f, "shape") and len(f.shape) == 2 for f in models):
        models = [models]
    if len(models) != n_restarts:
        raise ValueError(f"init holds {len(models)} model(s) but n_restarts={n_restarts}")
    facs = []
    checked = []  # checked[i][mode]
    for i, model in enumerate(models):
        if len(model) != 3:
            raise ValueError(f"init[{i}] must hold 3 factor matrices; got {len(model)}")
        mats = []
        for mode, n in enumerate(shape):
            f = np.asarray(to_numpy(model[mode]), dtype=np.float64)
            if f.shape != (n, rank):
                raise ValueError(f"init[{i}] factor {mode} must have shape {(n, rank)}; got {f.shape}")
            if not np.isfinite(f).all() or (f < 0).any():
                raise ValueError(f"init[{i}] factor {mode} must be finite and non-negative")
            mats.append(f)
        checked.append(_balanced_init(mats, scale_exponent))
    for mode in range(3):
        stack = []
        for i, mats in enumerate(checked):
            check_float_range(mats[mode], f"init[{i}] factor {mode}", str(x.dtype))
            stack.append(mats[mode])
        facs.append(to_tensor(np.stack(stack), device=x.device, dtype=x.dtype))
    return facs


def fit_nonnegative_cp(x: torch.Tensor, rank: int, *, mask: torch.Tensor | None = None,
                       n_restarts: int = 1, init: Any = "random", solver: str = "hals",
                       max_iter: int = 500, tol: float = 1e-6, n_inner: int = 5,
                       generator: torch.Generator | None = None, verbose: bool = False,
                       scale_exponent: int = 0) -> dict:
    """Batched non-negative CP of a torch tensor ``(P, K, W)`` (all restarts at once).

    ``mask`` (bool, True = observed) has shape ``(P, 1, W)`` (whole pairs missing in
    an animal, e.g. missing neurons) or ``(P, K, W)``; X must be 0 where masked.
    Masked entries are imputed by the model of the previous iteration (EM). For a
    ``(P, 1, W)`` mask the imputed part of every product with the tensor is
    computed in closed form from the factors, so no per-restart copy of X is made;
    a general mask fills a ``(S, P, K*W)`` copy.

    Returns a dict: ``factors`` (list of (S, n, R) tensors), ``errors`` (list of
    S lists), ``n_iter`` (S,), ``converged`` (S,). ``tol <= 0`` runs exactly
    ``max_iter`` iterations. ``scale_exponent``: ``x`` is the data divided by
    ``2**scale_exponent``; explicit ``init`` factors are rescaled to match.
    """
    p, k, w = x.shape
    s = n_restarts
    a, b, c = _initial_factors(x, rank, s, init, generator, scale_exponent)
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
    errors: list[torch.Tensor] = []  # grows with the iterations run, not with max_iter
    active = torch.ones(s, dtype=torch.bool, device=x.device)
    n_iter = np.zeros(s, dtype=int)
    converged = np.zeros(s, dtype=bool)
    rng = range(max_iter)
    if verbose:
        rng = tqdm(rng, desc=f"NTF rank {rank} x{s}", leave=False)
    it = 0
    for it in rng:
        old = None if bool(active.all()) else (a.clone(), b.clone(), c.clone())
        if mode == "pairs":
            a0, b0, c0 = a.clone(), b.clone(), c.clone()  # the model that imputes this iteration
        # pass 1 over X: M_A = X_(1) (B ⊙ C), one GEMM for all restarts
        if mode == "dense":
            m_a = torch.bmm(filled, _khatri_rao(b, c))
        else:
            kr = _khatri_rao(b, c)  # (S, K*W, R)
            m_a = (x1 @ kr.permute(1, 0, 2).reshape(k * w, s * rank)).reshape(p, s, rank).transpose(0, 1)
            if mode == "pairs":
                q = torch.einsum("pw,swr,swq->sprq", missing, c0, c)
                m_a = m_a + torch.einsum("spr,srq,sprq->spq", a0, b0.transpose(1, 2) @ b, q)
        g_bc = _gram(b) * _gram(c)
        if solver == "hals":
            a = _hals_sweeps(a.contiguous(), m_a.contiguous(), g_bc, n_inner)
        else:
            a = _mu_update(a, m_a, g_bc)
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
        m_b = torch.einsum("srkw,swr->skr", z, c)
        g_ac = g_a * _gram(c)
        b = _hals_sweeps(b, m_b, g_ac, n_inner) if solver == "hals" else _mu_update(b, m_b, g_ac)
        m_c = torch.einsum("srkw,skr->swr", z, b)
        g_ab = g_a * _gram(b)
        c = _hals_sweeps(c, m_c, g_ab, n_inner) if solver == "hals" else _mu_update(c, m_c, g_ab)
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
        errors.append(torch.where(active, err, errors[it - 1] if it else err))
        n_iter[to_numpy(active)] = it + 1
        if tol > 0 and it >= 1:
            done = (errors[it] - errors[it - 1]).abs() < tol
            newly = to_numpy(done & active)
            converged |= newly
            active = active & ~done
            if not bool(active.any()):
                break
    hist = to_numpy(torch.stack(errors))
    err_lists = [hist[: n_iter[i], i].tolist() for i in range(s)]
    return {"factors": [a, b, c], "errors": err_lists, "n_iter": n_iter, "converged": converged}


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
    elif not isinstance(est.init, (list, tuple)):
        raise TypeError(f"init must be 'random', 'svd' or a list of factor matrices; got "
                        f"{type(est.init).__name__}")
    check_positive_int(est.n_restarts, "n_restarts")
    check_positive_int(est.max_iter, "max_iter")
    check_scalar(est.n_inner, "n_inner", low=1, high=MAX_INNER, integer=True)
    check_scalar(est.tol, "tol", low=0.0, high=1.0, high_inclusive=False)
    return rank



class NonnegativeCP(TorchEstimatorMixin, BaseEstimator):
    """Non-negative CP (PARAFAC) decomposition of a 3-way tensor, best of several restarts.

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
        others from random factors. Explicit factors: a list ``[A0, B0, C0]``
        (one restart) or a list of such lists (one per restart), used as given.
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
        ``K * W``: columns of the mode-1 unfolding ``(P, K * W)`` seen in ``fit``.
    factors_ : list of 3 ndarrays, shapes (P, R), (K, R), (W, R)
        Unit 2-norm columns, components sorted by decreasing weight.
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

    References
    ----------
    Cichocki, A., Phan, A.-H. (2009). Fast local algorithms for large scale
    nonnegative matrix and tensor factorizations. IEICE Trans. Fundamentals
    E92-A(3):708-721.
    Gillis, N., Glineur, F. (2012). Accelerated multiplicative updates and
    hierarchical ALS algorithms for nonnegative matrix factorization. Neural
    Computation 24(4):1085-1105.
    Williams, A. H. et al. (2018). Unsupervised discovery of demixed,
    low-dimensional neural dynamics across multiple timescales through tensor
    component analysis. Neuron 98(6):1099-1115.
    """

    def __init__(self, n_components=4, *, solver="hals", init="random", n_restarts=10,
                 max_iter=500, tol=1e-6, n_inner=5, random_state=None, device="auto",
                 dtype=None, verbose=False):
        self.n_components = n_components
        self.solver = solver
        self.init = init
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.n_inner = n_inner
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self, shape, n_observed, dense_mask=False):
        rank = _check_cp_params(self)
        n_params = rank * (sum(shape) - 2)
        if n_params > n_observed:
            raise ValueError(
                f"n_components={rank} is larger than the data supports: a rank-{rank} model of a "
                f"{shape} tensor has {n_params} free parameters but only {n_observed} entries are "
                "observed; use a smaller n_components"
            )
        p, k, w = shape
        # per restart: factors, Gram and update copies, the Khatri-Rao product and Z = A^T X_(1)
        per_restart = 6.0 * (p + k + w) * rank + 2.0 * k * w * rank + (2.0 * p * k * w if dense_mask else 0)
        check_allocation(self.n_restarts * per_restart, "n_restarts", itemsize=8,
                         what=f"{self.n_restarts} batched restarts of a rank-{rank} model")
        return rank

    def fit(self, X, y=None, mask=None):
        """Fit the decomposition.

        Parameters
        ----------
        X : array-like, shape (P, K, W)
            Non-negative tensor. NaN is allowed only where ``mask`` is False.
        y : ignored
        mask : array-like of bool, broadcastable to X, optional
            True where an entry is observed.

        Returns
        -------
        self
        """
        _check_cp_params(self)
        arr, m = check_nonnegative_tensor(X, "X", mask)
        n_obs = arr.size if m is None else int(m.sum())
        compact = None
        if m is not None and not m.all():
            # a mask constant over windows (missing neurons) is kept compact: (P, 1, W)
            compact = m[:, :1, :] if (m == m[:, :1, :]).all() else m
        rank = self._check_params(arr.shape, n_obs,
                                  dense_mask=compact is not None and compact.shape[1] > 1)
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
        res = fit_nonnegative_cp(x, rank, mask=mt, n_restarts=self.n_restarts, init=self.init,
                                 solver=self.solver, max_iter=self.max_iter, tol=float(self.tol),
                                 n_inner=int(self.n_inner), generator=self._generator,
                                 verbose=self.verbose, scale_exponent=exponent)
        self._store(res, exponent)
        self.shape_ = arr.shape
        self.n_features_in_ = int(arr.shape[1] * arr.shape[2])
        return self

    def _store(self, res: dict, exponent: int = 0) -> None:
        final = np.array([e[-1] for e in res["errors"]])
        order = np.argsort(final, kind="stable")
        facs = [to_numpy(f) for f in res["factors"]]
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
        """The fitted model as a full ``(P, K, W)`` numpy tensor."""
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
    X : array-like (P, K, W)
        Non-negative tensor.
    ranks : sequence of int
    n_restarts : int
        Restarts per rank (batched).
    mask : optional boolean mask (see :class:`NonnegativeCP`).
    **cp_params
        Other :class:`NonnegativeCP` parameters (``max_iter``, ``tol``,
        ``random_state``, ``device`` ...).

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
