"""Representational dissimilarity matrices (RDMs), batched over subjects in torch.

Every RDM computed here is handed out as its *vector* form: the upper triangle of the square
matrix taken row-major with ``i < j`` (the order of :func:`numpy.triu_indices`
with ``k=1`` and of :func:`scipy.spatial.distance.squareform`). ``K`` conditions
give ``K (K - 1) / 2`` entries. Use :func:`rdm_to_matrix` / :func:`rdm_to_vector`
to move between the two forms.

Conventions follow rsatoolbox so that numbers can be compared one to one; in
particular ``"sqeuclidean"`` (alias ``"euclidean"``) is the *squared* Euclidean
distance divided by the number of channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .._parallel import check_n_jobs, parallel_map
from .._torch import (
    map_blas_workers,
    numpy_blas_single_thread,
    resolve_device,
    resolve_dtype,
    thread_policy,
    to_numpy,
    to_tensor,
)
from .._validation import (
    check_array,
    check_finite,
    check_in,
    check_labels,
    check_positive_definite,
    check_scalar,
    check_symmetric,
    pow2_scale,
)
from ._checks import (
    RDMForm,
    as_rdm_vectors,
    check_bool,
    method_args,
    n_conditions,
    restore_form,
)

__all__ = [
    "RDM_METHODS",
    "LowRankPrecision",
    "compute_rdm",
    "compute_rdm_movie",
    "noise_covariance",
    "noise_precision",
    "rdm_to_matrix",
    "rdm_to_vector",
    "n_conditions_from_pairs",
    "to_rsatoolbox",
    "from_rsatoolbox",
]

RDM_METHODS = (
    "sqeuclidean",
    "euclidean",
    "correlation",
    "mahalanobis",
    "crossnobis",
    "poisson",
    "poisson_cv",
)
_CROSS_VALIDATED = ("crossnobis", "poisson_cv")


# --------------------------------------------------------------------------- forms
def n_conditions_from_pairs(n_pairs: int) -> int:
    """Number of conditions ``K`` of an RDM vector with ``n_pairs`` entries.

    Raises
    ------
    TypeError
        If ``n_pairs`` is not an integer.
    ValueError
        If ``n_pairs`` is not ``K (K - 1) / 2`` for an integer ``K >= 2``.
    """
    n_pairs = check_scalar(n_pairs, "n_pairs", low=0, integer=True)
    return n_conditions(n_pairs, "n_pairs")


def rdm_to_matrix(rdms: Any, diagonal: float = 0.0) -> np.ndarray:
    """Square RDM(s) from vector form.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (..., n_pairs)
        RDM vectors. Squares (a symmetric ``(K, K)`` matrix with a zero diagonal, or
        ``(n_rdms, K, K)``) are recognised and returned as they are (with ``diagonal``).
        NaN entries (missing dissimilarities) stay NaN; Inf is refused.
    diagonal : float
        Value written on the diagonal (e.g. NaN for plotting).

    Returns
    -------
    numpy.ndarray, shape (K, K) or (..., K, K)
    """
    if not (isinstance(diagonal, (float, np.floating)) and np.isnan(diagonal)):  # NaN: a blank diagonal
        diagonal = check_scalar(diagonal, "diagonal")
    v = check_array(rdms, "rdms", ndim=None)
    if v.ndim == 0:
        raise ValueError("rdms must be RDM vectors (n_pairs,) or (..., n_pairs); got a scalar")
    if v.ndim <= 2 or (v.ndim == 3 and v.shape[-1] == v.shape[-2]):
        vec, form = as_rdm_vectors(v, "rdms")
        return restore_form(vec, RDMForm(square=True, single=form.single), diagonal)
    if np.isinf(v).any():
        raise ValueError(f"rdms must not contain Inf; got {int(np.isinf(v).sum())} Inf values")
    k = n_conditions(v.shape[-1], "rdms", v.shape)
    iu = np.triu_indices(k, 1)
    out = np.full(v.shape[:-1] + (k, k), float(diagonal))
    out[..., iu[0], iu[1]] = v
    out[..., iu[1], iu[0]] = v
    return out


def rdm_to_vector(rdms: Any, check_symmetric: bool = True) -> np.ndarray:
    """Upper-triangle vector(s) (row-major, ``i < j``) of square RDM(s).

    Parameters
    ----------
    rdms : array-like, shape (K, K) or (..., K, K)
        Square RDMs; NaN entries stay NaN, Inf is refused.
    check_symmetric : bool
        Raise if the matrices are not symmetric (NaN-aware, tolerance 1e-8 relative).

    Returns
    -------
    numpy.ndarray, shape (n_pairs,) or (..., n_pairs)
    """
    check_symmetric = check_bool(check_symmetric, "check_symmetric")
    m = check_array(rdms, "rdms", ndim=None)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise ValueError(f"rdms must be square (..., K, K); got shape {m.shape} (vectors are already "
                         f"in vector form)")
    if m.shape[-1] < 2:
        raise ValueError(f"rdms must have at least 2 conditions; got shape {m.shape}")
    if np.isinf(m).any():
        raise ValueError(f"rdms must not contain Inf; got {int(np.isinf(m).sum())} Inf values")
    if check_symmetric:
        with np.errstate(invalid="ignore"):
            diff = np.abs(m - np.swapaxes(m, -1, -2))
        scale = max(1.0, float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 1.0)
        worst = float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.0
        if worst > 1e-8 * scale:
            raise ValueError(f"rdms must be symmetric; largest |m - m.T| is {worst:.3g}")
        one_nan = np.isnan(m) ^ np.isnan(np.swapaxes(m, -1, -2))
        if one_nan.any():
            where = tuple(int(i) for i in np.argwhere(one_nan)[0])
            raise ValueError(f"rdms must be symmetric; NaN at index {where} but not at its mirror entry")
    iu = np.triu_indices(m.shape[-1], 1)
    return m[..., iu[0], iu[1]].copy()


def _triu(mat: torch.Tensor) -> torch.Tensor:
    k = mat.shape[-1]
    iu = torch.triu_indices(k, k, 1, device=mat.device)
    return mat[..., iu[0], iu[1]]


# --------------------------------------------------------------------------- noise
_NOISE_METHODS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def _check_residuals(residuals: Any, method: str, dof: Any) -> tuple[np.ndarray, int | None]:
    check_in(method, "method", _NOISE_METHODS)
    r = check_array(residuals, "residuals", ndim=(2, 3),
                    dims="(n_residuals, n_channels) or (n_subjects, n_residuals, n_channels)")
    check_finite(r, "residuals")
    if r.shape[-2] < 2:
        raise ValueError(f"residuals needs at least 2 rows (n_residuals, n_channels); got shape {r.shape}")
    dof = check_scalar(dof, "dof", low=1, integer=True, allow_none=True)
    return r, dof


def _centred_scaled(r: np.ndarray) -> tuple[np.ndarray, float]:
    """Residuals centred over rows and divided by a power of two near their largest
    ``|value|``: the products that follow cannot under- or overflow (the scale is
    put back at the end, exactly)."""
    x = r - r.mean(axis=0, keepdims=True)
    s = pow2_scale(float(np.max(np.abs(x))) if x.size else 0.0)
    if s != 1.0:
        x = x / s
    return x, s


def _inv_square(s: float) -> float:
    """``1 / s**2`` as a float64 that may be Inf or 0 (then refused by :func:`_rescaled`)."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.float64(1.0) / np.float64(s) / np.float64(s))


def _rescaled(m: np.ndarray, factor: float, what: str, r_max: float) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = m * factor
    if not np.isfinite(out).all() or (np.any(m != 0) and not np.any(out != 0)):
        raise ValueError(f"residuals has values up to {r_max:.3g}: its noise {what} is beyond the range of "
                         f"float64; rescale the residuals")
    return out


def _constant_channels(x: np.ndarray, method: str) -> None:
    const = np.flatnonzero(~np.any(x != 0, axis=0))
    if const.size:
        raise ValueError(
            f"residuals has {const.size} constant (zero-variance) channel(s) at index {const[:10].tolist()}: "
            f"method={method!r} cannot invert a zero variance; remove these channels or use "
            f"method='shrinkage_eye'")


def _noise_covariance_one(r: np.ndarray, method: str, dof: int | None) -> tuple[np.ndarray, float]:
    """Covariance of one subject's residuals, divided by ``s**2`` (returned as the second value)."""
    x, s = _centred_scaled(r)
    n, p = x.shape
    dof = n - 1 if dof is None else dof
    if method == "diag":
        return np.diag((x * x).sum(axis=0) / dof), s
    xtx = x.T @ x
    if method == "full":
        return xtx / dof, s
    x2tx2 = (x * x).T @ (x * x)
    if method == "shrinkage_eye":
        if not np.any(x != 0):
            raise ValueError("residuals is constant in every channel: method='shrinkage_eye' has no "
                             "variance to shrink towards")
        sc = xtx / n
        b2 = float(np.sum(x2tx2 / n - sc * sc)) / n
        mu = float(np.trace(sc)) / p
        target = mu * np.eye(p)
        d2 = float(np.sum((sc - target) ** 2))
        if d2 <= 0:  # already a multiple of the identity
            return sc * n / dof, s
        b2 = min(max(b2, 0.0), d2)
        shrunk = (b2 / d2) * target + ((d2 - b2) / d2) * sc
        return shrunk * n / dof, s
    # shrinkage_diag: shrink standardised off-diagonal covariances towards zero
    sc = xtx / dof
    var = np.diag(sc).copy()
    if np.any(var <= 0):
        _constant_channels(x, method)
    sd = np.sqrt(var)
    r_mean = xtx / np.outer(sd, sd) / (n - 1)
    r2_mean = x2tx2 / np.outer(var, var) / (n - 1)
    var_hat = n / dof**2 * (r2_mean - r_mean**2)
    off = ~np.eye(p, dtype=bool)
    denom = float(np.sum(r_mean[off] ** 2)) if p > 1 else 0.0
    lam = float(np.sum(var_hat[off]) / denom) if denom > 0 else 1.0
    lam = min(max(lam, 0.0), 1.0)
    return np.where(off, sc * (1.0 - lam), sc), s


def noise_covariance(residuals: Any, method: str = "shrinkage_diag", dof: int | None = None) -> np.ndarray:
    """Channel noise covariance from residuals, optionally shrunk.

    Parameters
    ----------
    residuals : array-like, shape (n_residuals, n_channels) or (n_subjects, n_residuals, n_channels)
        Residuals (e.g. of a first-level GLM); the mean over rows is removed first.
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}
        ``"full"``: sample covariance; ``"diag"``: its diagonal (univariate noise
        normalisation); ``"shrinkage_eye"``: Ledoit-Wolf shrinkage towards a
        multiple of the identity; ``"shrinkage_diag"``: Schäfer-Strimmer shrinkage
        of the correlations towards zero (towards the diagonal covariance).
    dof : int >= 1, optional
        Degrees of freedom of the estimate (default ``n_residuals - 1``); lower it
        by the number of regressors for GLM residuals.

    Returns
    -------
    numpy.ndarray, shape (n_channels, n_channels) or (n_subjects, n_channels, n_channels)

    Raises
    ------
    ValueError
        For NaN/Inf residuals, fewer than 2 rows, a constant channel with
        ``"shrinkage_diag"`` (its correlations are undefined), or a covariance beyond
        float64's range (residuals beyond about 1e150).

    Notes
    -----
    Computed from ``R^T R`` and ``(R**2)^T (R**2)`` of the residuals divided by a
    power of two near their largest value (exact), so that no product under- or
    overflows at any scale; memory is O(n_channels^2), never O(n_residuals n_channels^2).
    With fewer residual rows than channels, ``"full"`` and ``"diag"`` with a constant
    channel are singular covariances: :func:`noise_precision` refuses to invert them.

    References
    ----------
    Ledoit, O. & Wolf, M. (2004). A well-conditioned estimator for
    large-dimensional covariance matrices. J. Multivar. Anal. 88:365-411.
    Schäfer, J. & Strimmer, K. (2005). A shrinkage approach to large-scale
    covariance matrix estimation. Stat. Appl. Genet. Mol. Biol. 4:32.
    Walther, A. et al. (2016). Reliability of dissimilarity measures for
    multi-voxel pattern analysis. NeuroImage 137:188-200.
    """
    r, dof = _check_residuals(residuals, method, dof)
    out = []
    with numpy_blas_single_thread(_linalg_work(r)):
        for ri in (r if r.ndim == 3 else r[None]):
            cov, s = _noise_covariance_one(ri, method, dof)
            with np.errstate(over="ignore", under="ignore"):
                s2 = float(np.float64(s) * np.float64(s))
            out.append(_rescaled(cov, s2, "covariance", float(np.max(np.abs(ri)))))
    return np.stack(out) if r.ndim == 3 else out[0]


def _linalg_work(r: np.ndarray) -> float:
    """Multiply-adds of a covariance / precision from residuals ``r`` (rows x channels):
    below ~5e8 numpy's BLAS runs on one thread, since the blocked factorisations of a few
    hundred channels synchronise their threads at every block (beside busy processes a
    200 x 200 Cholesky took 120 ms on 2 threads, under 1 ms on one)."""
    n, p = r.shape[-2:]
    return float(p) * p * (p + n) * (r.shape[0] if r.ndim == 3 else 1)


def _spd_inverse(cov: np.ndarray, method: str) -> np.ndarray:
    """Inverse of a symmetric positive-definite covariance through its Cholesky factor;
    the result is exactly symmetric. Refuses a singular or numerically singular one."""
    from scipy.linalg import solve_triangular

    p = cov.shape[0]
    hint = ("use method='shrinkage_diag' or 'shrinkage_eye' (or structured=True), which stay invertible "
            "with few residuals")
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"the method={method!r} noise covariance is not positive definite, so it has no "
                         f"precision; {hint}") from None
    piv = np.diagonal(chol) ** 2
    if piv.min() <= p * np.finfo(float).eps * np.max(np.diagonal(cov)):
        raise ValueError(f"the method={method!r} noise covariance is numerically singular (condition number "
                         f"above {1 / (p * np.finfo(float).eps):.2g}); {hint}")
    inv_l = solve_triangular(chol, np.eye(p), lower=True)
    prec = inv_l.T @ inv_l
    return 0.5 * (prec + prec.T)


def _check_rank(r: np.ndarray, method: str) -> None:
    n, p = r.shape[-2:]
    if method == "full" and n - 1 < p:
        raise ValueError(
            f"method='full' needs more residual rows than channels: {n} rows give a covariance of rank "
            f"<= {n - 1} over {p} channels, which has no inverse. Use method='shrinkage_diag' or "
            f"'shrinkage_eye' (invertible with few residuals; structured=True keeps them low-rank), or "
            f"method='diag'")
    if method in ("diag", "full"):
        for ri in (r if r.ndim == 3 else r[None]):
            _constant_channels(ri - ri.mean(axis=0, keepdims=True), method)


def noise_precision(residuals: Any, method: str = "shrinkage_diag", dof: int | None = None,
                    structured: bool = False) -> np.ndarray | LowRankPrecision:
    """Noise precision (inverse covariance) from residuals.

    See :func:`noise_covariance` for the parameters; the result is its matrix
    inverse, batched over subjects for 3-D input, and always symmetric positive
    definite: a covariance without an inverse is refused, not inverted.

    Parameters
    ----------
    residuals, method, dof
        As in :func:`noise_covariance`.
    structured : bool
        Return a :class:`LowRankPrecision` instead of a dense matrix. A covariance
        estimated from ``n`` residual rows is a diagonal (or scaled identity) plus a
        multiple of ``X^T X`` (rank ``<= min(n, P)``), so by the Woodbury identity
        its inverse is ``diag(d) - V V^T`` with ``V`` of width ``min(n, P)``. It is
        computed without any ``P x P`` matrix (O(n^2 P) work), and
        :func:`compute_rdm` uses it for ``"mahalanobis"`` and ``"crossnobis"`` at
        O(n P) instead of O(P^2) work per pattern row. ``"full"`` (no diagonal
        part) and a shrinkage intensity of 0 fall back to an exact eigen-split of
        the dense inverse (width ``P``).

    Returns
    -------
    numpy.ndarray, shape (P, P) or (n_subjects, P, P), or :class:`LowRankPrecision`

    Raises
    ------
    ValueError
        ``method="full"`` with ``n_residuals - 1 < n_channels`` (the sample
        covariance is singular; use a shrinkage method, ``"diag"`` or
        ``structured=True`` with a shrinkage method), ``"full"``/``"diag"`` with a
        constant channel (its index is given), or a numerically singular covariance.

    References
    ----------
    Woodbury, M. A. (1950). Inverting modified matrices. Memorandum report 42,
    Statistical Research Group, Princeton University.
    Ledoit, O. & Wolf, M. (2004). J. Multivar. Anal. 88:365-411.
    Schäfer, J. & Strimmer, K. (2005). Stat. Appl. Genet. Mol. Biol. 4:32.
    """
    r, dof = _check_residuals(residuals, method, dof)
    structured = check_bool(structured, "structured")
    _check_rank(r, method)
    with numpy_blas_single_thread(_linalg_work(r)):
        return _noise_precision(r, method, dof, structured)


def _noise_precision(r: np.ndarray, method: str, dof: int | None, structured: bool):
    if not structured:
        out = []
        for ri in (r if r.ndim == 3 else r[None]):
            cov, s = _noise_covariance_one(ri, method, dof)
            out.append(_rescaled(_spd_inverse(cov, method), _inv_square(s), "precision", float(np.max(np.abs(ri)))))
        return np.stack(out) if r.ndim == 3 else out[0]
    if r.ndim == 2:
        return _low_rank_precision(r, method, dof)
    parts = [_low_rank_precision(ri, method, dof) for ri in r]
    width = max(pt.factor.shape[1] for pt in parts)
    factors = [np.pad(pt.factor, ((0, 0), (0, width - pt.factor.shape[1]))) for pt in parts]
    return LowRankPrecision._trusted(np.stack([pt.diag for pt in parts]), np.stack(factors))


class LowRankPrecision:
    """A noise precision stored as ``Lambda = diag(d) - V V^T``.

    The inverse of a diagonal-plus-low-rank covariance (the shrinkage estimators
    of :func:`noise_covariance` from fewer residual rows than channels); made by
    ``noise_precision(..., structured=True)`` and accepted by
    :func:`compute_rdm` as ``noise`` for ``"mahalanobis"`` and ``"crossnobis"``.

    Parameters
    ----------
    diag : array-like, shape (P,) or (n_subjects, P)
        ``d``, strictly positive (``Lambda_ii = d_i - ||V_i||^2 > 0`` for a positive
        definite precision).
    factor : array-like, shape (P, m) or (n_subjects, P, m)
        ``V``; ``m = 0`` for a diagonal precision.

    Attributes
    ----------
    shape, ndim : the dense matrix's shape and number of dimensions.

    Notes
    -----
    ``np.asarray(prec)`` and :meth:`toarray` give the dense matrix.
    """

    def __init__(self, diag: Any, factor: Any):
        d = check_finite(check_array(diag, "diag", ndim=(1, 2), dims="(P,) or (n_subjects, P)"), "diag")
        if np.size(factor) == 0:  # m = 0: a diagonal precision
            v = np.zeros(np.shape(factor))
        else:
            v = check_array(factor, "factor", ndim=(2, 3), dims="(P, m) or (n_subjects, P, m)")
        if v.ndim != d.ndim + 1 or v.shape[:-1] != d.shape:
            raise ValueError(f"factor must have shape {d.shape + ('m',)} to match diag; got shape {v.shape}")
        check_finite(v, "factor")
        if np.any(d <= 0):
            raise ValueError("diag must be > 0 (a positive definite precision has a positive diagonal part); "
                             f"got min {float(d.min()):.3g}")
        if v.shape[-1]:
            # diag(d) - V V^T is positive definite iff every singular value of d^-1/2 V is < 1
            w = v / np.sqrt(d)[..., None]
            top = float(np.max(np.linalg.eigvalsh(np.swapaxes(w, -1, -2) @ w)))
            if top >= 1.0 - 1e-12:
                raise ValueError(f"diag(diag) - factor factor^T must be positive definite; the largest "
                                 f"eigenvalue of d^-1/2 V V^T d^-1/2 is {top:.6g} (must be < 1)")
        self.diag = d
        self.factor = v

    @classmethod
    def _trusted(cls, diag: np.ndarray, factor: np.ndarray) -> LowRankPrecision:
        """Wrap factors positive definite by construction (no eigenvalue check)."""
        obj = cls.__new__(cls)
        obj.diag, obj.factor = diag, factor
        return obj

    @property
    def shape(self) -> tuple[int, ...]:
        return self.diag.shape + self.diag.shape[-1:]

    @property
    def ndim(self) -> int:
        return self.diag.ndim + 1

    def toarray(self) -> np.ndarray:
        """The dense precision matrix ``diag(d) - V V^T``."""
        dense = -(self.factor @ np.swapaxes(self.factor, -1, -2))
        idx = np.arange(self.diag.shape[-1])
        dense[..., idx, idx] += self.diag
        return dense

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.toarray()
        return dense if dtype is None else dense.astype(dtype)

    def __repr__(self) -> str:
        return f"LowRankPrecision(shape={self.shape}, rank={self.factor.shape[-1]})"

    @classmethod
    def from_dense(cls, precision: Any) -> LowRankPrecision:
        """Exact split of a dense symmetric positive-definite ``(P, P)`` precision:
        ``c I - V V^T`` with ``c`` its largest eigenvalue and ``V`` of width ``P``."""
        lam = check_array(precision, "precision", ndim=2, dims="(P, P)")
        check_finite(lam, "precision")
        if lam.shape[0] != lam.shape[1]:
            raise ValueError(f"precision must be square (P, P); got shape {lam.shape}")
        check_symmetric(lam, "precision", atol=1e-8 * max(float(np.max(np.abs(lam))), np.finfo(float).tiny))
        w, q = np.linalg.eigh((lam + lam.T) / 2)
        c = float(w.max())
        if w.min() <= 1e-12 * c or c <= 0:
            raise ValueError(f"precision must be positive definite; smallest eigenvalue {w.min():.3g}, "
                             f"largest {c:.3g}")
        return cls._trusted(np.full(lam.shape[0], c), q * np.sqrt(np.clip(c - w, 0.0, None)))


def _low_rank_precision(r: np.ndarray, method: str, dof: int | None) -> LowRankPrecision:
    """Woodbury form of the inverse of :func:`noise_covariance` for one subject.

    The covariance is ``diag(D) + a X^T X`` (X the centred residuals); every sum the
    shrinkage intensities need is taken through the ``n x n`` Gram matrix, never a
    ``P x P`` one. The residuals are divided by a power of two ``s`` first (exact) and
    the result scaled back: ``d / s^2``, ``V / s``.
    """
    x, s = _centred_scaled(r)
    r_max = float(np.max(np.abs(r)))
    out = _low_rank_precision_scaled(x, method, dof)
    d = _rescaled(out.diag, _inv_square(s), "precision", r_max)
    v = _rescaled(out.factor, 1.0 / s, "precision", r_max) if out.factor.size else out.factor
    return LowRankPrecision._trusted(d, v)


def _low_rank_precision_scaled(x: np.ndarray, method: str, dof: int | None) -> LowRankPrecision:
    n, p = x.shape
    dof = n - 1 if dof is None else dof
    sq = x * x
    col_ss = sq.sum(axis=0)
    if method == "full":
        return LowRankPrecision.from_dense(_spd_inverse(x.T @ x / dof, method))
    if method == "diag":
        return LowRankPrecision._trusted(dof / col_ss, np.zeros((p, 0)))
    if method == "shrinkage_eye":
        if not np.any(x != 0):
            raise ValueError("residuals is constant in every channel: method='shrinkage_eye' has no "
                             "variance to shrink towards")
        sum_s2 = float(np.sum((x @ x.T) ** 2)) / n**2          # sum of (X^T X / n)^2
        sum_x2tx2 = float(np.sum(sq.sum(axis=1) ** 2))         # sum of (X^2)^T (X^2)
        b2 = (sum_x2tx2 / n - sum_s2) / n
        mu = float(col_ss.sum()) / n / p
        d2 = sum_s2 - p * mu**2                                # ||S - mu I||_F^2
        shrink = min(max(b2, 0.0), d2) / d2 if d2 > 0 else 1.0
        d = np.full(p, shrink * mu * n / dof)
        scale = (1.0 - shrink) / dof
    else:
        var = col_ss / dof
        if np.any(var <= 0):
            _constant_channels(x, method)
        z = x / np.sqrt(var)
        z2 = z * z
        zz_diag = z2.sum(axis=0)
        off_r = (float(np.sum((z @ z.T) ** 2)) - float(np.sum(zz_diag**2))) / (n - 1) ** 2
        off_r2 = (float(np.sum(z2.sum(axis=1) ** 2)) - float(np.sum(z2 * z2))) / (n - 1)
        lam = (n / dof**2 * (off_r2 - off_r)) / off_r if (p > 1 and off_r > 0) else 1.0
        lam = min(max(lam, 0.0), 1.0)
        d = lam * var
        scale = (1.0 - lam) / dof
    if scale <= 0:
        return LowRankPrecision._trusted(1.0 / d, np.zeros((p, 0)))
    if np.any(d <= 0):
        return LowRankPrecision.from_dense(_spd_inverse(np.diag(d) + scale * (x.T @ x), method))
    # a factor U with U U^T = scale X^T X, at most P wide
    u = np.sqrt(scale) * (x.T if n <= p else np.linalg.qr(x, mode="r").T)
    du = u / d[:, None]
    m = u.T @ du
    m[np.diag_indices_from(m)] += 1.0
    chol = np.linalg.cholesky(m)
    from scipy.linalg import solve_triangular

    v = solve_triangular(chol, du.T, lower=True).T
    return LowRankPrecision._trusted(1.0 / d, v)


# --------------------------------------------------------------------------- RDMs
def _check_patterns(patterns: Any) -> tuple[np.ndarray, float, float]:
    """Validated patterns and their smallest and largest value."""
    x = check_array(patterns, "patterns", ndim=(2, 3),
                    dims="(n_observations, n_channels) or (n_subjects, n_observations, n_channels)")
    lo, hi = float(np.min(x)), float(np.max(x))  # NaN and Inf propagate: two cheap passes
    if not (np.isfinite(lo) and np.isfinite(hi)):
        check_finite(x, "patterns")
    return x, lo, hi


def _condition_index(conditions: Any, n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    if conditions is None:
        return np.arange(n_obs), np.arange(n_obs)
    cond = check_labels(conditions, "conditions", n_samples=n_obs)
    values, index = np.unique(cond, return_inverse=True)
    return values, index.ravel()


def _refuse_not_positive_definite(lam: np.ndarray, name: str) -> None:
    """Raise the message of :func:`check_positive_definite` for a matrix without a
    Cholesky factor (or a generic one where its tolerance lets it pass)."""
    check_positive_definite(lam, name, allow_batch=lam.ndim == 3)
    raise ValueError(f"{name} must be positive definite; its Cholesky factorisation failed")


def _check_precision(noise: Any, n_channels: int, n_subjects: int | None) -> np.ndarray | LowRankPrecision | None:
    if noise is None:
        return None
    if isinstance(noise, LowRankPrecision):
        if noise.shape[-1] != n_channels:
            raise ValueError(f"noise must be a precision over n_channels = {n_channels} channels; "
                             f"got shape {noise.shape}")
        if noise.ndim == 3 and (n_subjects is None or noise.shape[0] != n_subjects):
            raise ValueError(
                f"a 3-D noise holds one precision per subject and needs patterns of shape "
                f"(n_subjects, n_observations, n_channels) with n_subjects = {noise.shape[0]}"
            )
        return noise
    lam = check_array(noise, "noise", ndim=(2, 3),
                      dims="(n_channels, n_channels) or (n_subjects, n_channels, n_channels)")
    check_finite(lam, "noise")
    if lam.shape[-2:] != (n_channels, n_channels):
        raise ValueError(
            f"noise must be a (n_channels, n_channels) = ({n_channels}, {n_channels}) precision matrix; "
            f"got shape {lam.shape}"
        )
    if lam.ndim == 3 and (n_subjects is None or lam.shape[0] != n_subjects):
        raise ValueError(
            f"a 3-D noise holds one precision per subject and needs patterns of shape "
            f"(n_subjects, n_observations, n_channels) with n_subjects = {lam.shape[0]}"
        )
    asym = np.abs(lam - np.swapaxes(lam, -1, -2)).max()
    if asym > 1e-8 * np.abs(lam).max():
        raise ValueError(f"noise must be a symmetric precision matrix; largest asymmetry {asym:.3g}")
    return lam


def _scaled_precision(lam: np.ndarray | LowRankPrecision, rescale: bool):
    """Precision divided by a power of four ``t`` near its largest diagonal entry (when
    ``rescale``), its Cholesky factor (dense only; also the positive-definiteness check)
    and ``t``."""
    if isinstance(lam, LowRankPrecision):
        t = pow2_scale(float(np.max(lam.diag))) if rescale else 1.0
        if np.frexp(t)[1] % 2 == 0:  # an odd power of two: take the next even one (sqrt exact)
            t *= 2.0
        if t != 1.0:
            lam = LowRankPrecision._trusted(lam.diag / t, lam.factor / np.sqrt(t))
        return lam, None, t
    diag = np.diagonal(lam, axis1=-2, axis2=-1)
    if np.any(diag <= 0):
        _refuse_not_positive_definite(lam, "noise")
    t = pow2_scale(float(np.max(diag))) if rescale else 1.0
    if t != 1.0:
        lam = lam / t
    try:
        # one BLAS thread: a blocked factorisation of a few hundred channels synchronises its
        # threads at every block; beside busy processes 2 threads took 300 ms for P = 400, 1 took 2 ms
        with numpy_blas_single_thread(lam.shape[-1] ** 3 / 3 * (lam.shape[0] if lam.ndim == 3 else 1)):
            chol = np.linalg.cholesky(lam)
    except np.linalg.LinAlgError:
        _refuse_not_positive_definite(lam, "noise")
    return lam, chol, t


_NOISE_USERS = ("mahalanobis", "crossnobis")
_ARG_USERS = {
    "noise": _NOISE_USERS,
    "fold_noise": ("crossnobis",),
    "folds": _CROSS_VALIDATED,
    "prior_lambda": ("poisson", "poisson_cv"),
    "prior_weight": ("poisson", "poisson_cv"),
    "remove_mean": ("sqeuclidean", "euclidean", "correlation", "mahalanobis", "crossnobis"),
}


def compute_rdm(
    patterns: Any,
    method: str = "correlation",
    conditions: Any = None,
    folds: Any = None,
    noise: Any = None,
    fold_noise: Sequence[Any] | None = None,
    prior_lambda: float = 1.0,
    prior_weight: float = 0.1,
    remove_mean: bool = False,
    device: Any = "auto",
    dtype: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Representational dissimilarity matrices, batched over subjects.

    Observations that share a condition label are averaged; conditions are
    sorted like :func:`numpy.unique` (the rsatoolbox order).

    Parameters
    ----------
    patterns : array-like, shape (n_observations, n_channels) or (n_subjects, n_observations, n_channels)
        Activity patterns. A 3-D array computes one RDM per subject in one
        batched pass; all subjects share ``conditions`` and ``folds``.
    method : str
        With ``mu_i`` the mean pattern of condition ``i`` and ``P`` channels:

        - ``"sqeuclidean"`` (alias ``"euclidean"``, the rsatoolbox name):
          ``||mu_i - mu_j||^2 / P`` (squared, per channel).
        - ``"correlation"``: ``1 - pearson_r(mu_i, mu_j)`` across channels.
        - ``"mahalanobis"``: ``(mu_i - mu_j)^T Lambda (mu_i - mu_j) / P`` with the noise
          precision ``Lambda`` (identity when ``noise`` is None).
        - ``"crossnobis"``: leave-one-fold-out cross-validated Mahalanobis distance
          ``mean_r (a_i - a_j)^T Lambda (b_i - b_j) / P``, where ``b`` are the condition
          means in fold ``r`` and ``a`` the means over all other observations; an
          unbiased estimate that can be negative.
        - ``"poisson"``: symmetrised Kullback-Leibler divergence of Poisson rates
          shrunk towards ``prior_lambda``: ``mu' = (mu + prior_lambda prior_weight) /
          (1 + prior_weight)``, ``d = sum_p (mu'_i - mu'_j)(log mu'_i - log mu'_j) / P``.
        - ``"poisson_cv"``: the cross-validated version, averaged over all folds
          (rsatoolbox 0.3.2 returns only its last fold).
    conditions : array-like, shape (n_observations,), optional
        Condition label of each observation (default: every row is a condition).
    folds : array-like, shape (n_observations,), optional
        Cross-validation fold (e.g. run) of each observation, for ``"crossnobis"``
        and ``"poisson_cv"``. Default: the k-th occurrence of a condition is in
        fold k (needs equal counts per condition). Every fold must contain every
        condition.
    noise : array-like, shape (P, P) or (n_subjects, P, P), or LowRankPrecision, optional
        Noise precision ``Lambda`` (e.g. from :func:`noise_precision`), shared or
        one per subject. Used by ``"mahalanobis"`` and ``"crossnobis"``. A
        :class:`LowRankPrecision` (``noise_precision(..., structured=True)``) is
        applied as ``diag(d) - V V^T`` without forming the ``P x P`` matrix.
    fold_noise : sequence of (P, P) arrays, optional
        ``"crossnobis"`` only: one precision per fold (sorted fold order), as the
        precision of that fold's mean. Folds are then paired ``r < s`` with
        ``Lambda_rs = ((Lambda_r^-1 + Lambda_s^-1) / 2)^-1`` (rsatoolbox convention).
    prior_lambda, prior_weight : float
        Poisson prior rate and weight.
    remove_mean : bool
        Subtract each condition's mean over channels before the distance
        (implied by ``"correlation"``).
    device : {"auto", "cpu", "cuda"} or torch.device
    dtype : torch/numpy dtype or str, optional
        Default float64 on CPU, float32 on CUDA. float32 agrees with float64 within
        1e-5 of the RDM's largest entry (see Notes); float16/bfloat16 are accepted
        but only hold about 1e-3 / 1e-2 of it.
    n_jobs : int or None
        None (default): all subjects in one batched pass in this process. An
        integer (joblib semantics, ``-1``: all workers) computes one subject per
        task through :func:`neurodyn._parallel.parallel_map`, under the active
        ``joblib.parallel_config`` backend (``"loky"``, ``"threading"``, or
        ``"dask"`` on a cluster), each worker limited to its share of the threads.
        The result equals ``n_jobs=None`` bit for bit (a batched
        :class:`LowRankPrecision` within a few ulps). Only used for 3-D patterns
        with more than one subject.

    Returns
    -------
    numpy.ndarray, shape (n_pairs,) or (n_subjects, n_pairs)
        RDM vectors, upper triangle row-major, float64 whatever ``dtype``.

    Raises
    ------
    TypeError
        ``n_jobs`` not None or an integer.
    ValueError
        ``n_jobs=0``; non-finite patterns; negative rates for the Poisson methods; a ``noise`` or
        ``fold_noise`` that is not symmetric positive definite; an argument the
        chosen method does not use (``noise``, ``fold_noise``, ``folds``,
        ``prior_lambda``, ``prior_weight``, ``remove_mean``), instead of ignoring it.

    Notes
    -----
    Balanced ``"crossnobis"`` (each condition has the same number of observations
    in every fold) uses ``sum_{r != s} d_r^T Lambda d_s = (sum_r d_r)^T Lambda (sum_s d_s)
    - sum_r d_r^T Lambda d_r``: O(R) instead of O(R^2) products. On the CPU in float64
    it runs on symmetric BLAS kernels: the fold means are whitened once with the
    Cholesky factor of ``Lambda`` (no work at all for the identity) and the kernel is
    accumulated with ``R + 1`` rank updates per subject; a :class:`LowRankPrecision`
    replaces the ``P x P`` whitening by a diagonal scaling and a ``P x m`` product.
    Unbalanced folds, ``fold_noise`` and other devices or dtypes use the general torch path.

    Scale and precision: patterns (and the precision) are divided by powers of two
    near their largest value before any product and the distances are scaled back in
    float64, so every method gives the same answer at any data scale (tested over
    1e-15 ... 1e15; float64 refuses only results beyond its range). In float32 the
    per-channel mean is also removed in float64 first (the distances other than
    correlation and Poisson do not depend on it); float32 results then agree with
    float64 within 1e-5 of the RDM's largest entry (observed: below 1e-6).

    References
    ----------
    Kriegeskorte, N., Mur, M. & Bandettini, P. (2008). Representational similarity
    analysis. Front. Syst. Neurosci. 2:4.
    Walther, A. et al. (2016). Reliability of dissimilarity measures for
    multi-voxel pattern analysis. NeuroImage 137:188-200.
    Diedrichsen, J. & Kriegeskorte, N. (2017). Representational models. PLoS
    Comput. Biol. 13:e1005508.
    """
    n_jobs = check_n_jobs(n_jobs)
    return _compute_rdm(patterns, method, conditions, folds, noise, fold_noise, prior_lambda,
                        prior_weight, remove_mean, device, dtype, n_jobs, None)


def _compute_rdm(patterns: Any, method: str, conditions: Any, folds: Any, noise: Any, fold_noise: Any,
                 prior_lambda: float, prior_weight: float, remove_mean: bool, device: Any, dtype: Any,
                 n_jobs: int | None, scale: float | None) -> np.ndarray:
    """:func:`compute_rdm`; ``scale`` (a power of two) replaces the patterns' own normalisation,
    so that one subject computed alone is normalised like the batch it comes from (the Poisson
    logarithms in float32 round differently at another power of two)."""
    check_in(method, "method", RDM_METHODS)
    x, x_min, x_max = _check_patterns(patterns)
    prior_lambda = check_scalar(prior_lambda, "prior_lambda", low=0.0, low_inclusive=False)
    prior_weight = check_scalar(prior_weight, "prior_weight", low=0.0)
    remove_mean = check_bool(remove_mean, "remove_mean")
    method_args(method, {"noise": noise is not None, "fold_noise": fold_noise is not None,
                         "folds": folds is not None, "prior_lambda": prior_lambda != 1.0,
                         "prior_weight": prior_weight != 0.1, "remove_mean": remove_mean}, _ARG_USERS)
    if fold_noise is not None and noise is not None:
        raise ValueError("pass either noise or fold_noise, not both")
    poisson = method in ("poisson", "poisson_cv")
    if poisson and x_min < 0:
        raise ValueError(f"method={method!r} needs non-negative rates: patterns must be >= 0; got "
                         f"{int((x < 0).sum())} negative values (min {x_min:.3g})")
    single = x.ndim == 2
    if single:
        x = x[None]
    n_sub, n_obs, n_ch = x.shape
    values, cond_idx = _condition_index(conditions, n_obs)
    n_cond = values.size
    if n_cond < 2:
        raise ValueError(f"conditions must contain at least 2 distinct conditions to form an RDM; got {n_cond}")
    lam = _check_precision(noise, n_ch, n_sub if not single else None)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    # Normalise by powers of two (exact) so that no product under- or overflows; the
    # distances are scaled back in float64 at the end. float64 needs it only at extreme
    # scales; float32 always (its squares leave its range beyond about 1e19).
    wide = dt == torch.float64
    x_in = x
    max_abs = max(abs(x_min), abs(x_max))
    if not wide and method in ("sqeuclidean", "euclidean", "mahalanobis", "crossnobis"):
        # a per-channel shift common to all observations leaves these distances unchanged;
        # removing it in float64 keeps a large offset from eating float32's digits
        x = x - x.mean(axis=-2, keepdims=True)
        max_abs = float(np.max(np.abs(x)))
    s = scale if scale is not None else pow2_scale(max_abs) if (not wide or not 2.0**-200 < max_abs < 2.0**200) else 1.0
    if n_jobs is not None and not single and n_sub > 1:
        if lam is not None and lam.ndim == 3:
            if isinstance(lam, LowRankPrecision):
                per_noise = [LowRankPrecision._trusted(lam.diag[i], lam.factor[i]) for i in range(n_sub)]
            else:
                per_noise = list(lam)
        else:
            per_noise = [lam] * n_sub
        kw = dict(method=method, conditions=conditions, folds=folds, fold_noise=fold_noise,
                  prior_lambda=prior_lambda, prior_weight=prior_weight, remove_mean=remove_mean,
                  device=device, dtype=dtype)
        # every subject is normalised by the batch's power of two: its row then equals the
        # batched pass's bit for bit (tests/rsa/test_rdm_parallel.py)
        return np.stack(parallel_map(_subject_rdm, zip(x_in, per_noise, strict=True), kwargs=dict(kw, scale=s),
                                     n_jobs=n_jobs, desc="subject"))
    if s != 1.0:
        x = x / s
    t = 1.0
    chol = None
    if lam is not None:
        lam_max = float(np.max(lam.diag if isinstance(lam, LowRankPrecision) else np.abs(lam)))
        lam, chol, t = _scaled_precision(lam, not wide or not 2.0**-200 < lam_max < 2.0**200)
    if fold_noise is not None:
        fold_noise, t = _check_fold_noise(fold_noise, n_ch, rescale=not wide)
    factor = 1.0 if method == "correlation" else (s if poisson else s * s * t)
    if poisson:
        prior_lambda = prior_lambda / s

    if method == "crossnobis" and fold_noise is None and dev.type == "cpu" and wide:
        fold_idx, n_folds = _fold_index(folds, cond_idx, n_cond, n_obs)
        if _balanced(fold_idx, cond_idx, n_folds, n_cond):
            res = _crossnobis_balanced_blas(x, cond_idx, fold_idx, n_cond, n_folds, lam, chol, remove_mean)
            return _finish_rdm(res, factor, single)
    xt = to_tensor(x, device=dev, dtype=dt)
    ci = torch.as_tensor(cond_idx, device=dev)
    if isinstance(lam, LowRankPrecision):
        lam_t = _TorchLowRank(to_tensor(lam.diag, device=dev, dtype=dt), to_tensor(lam.factor, device=dev, dtype=dt))
    else:
        lam_t = None if lam is None else to_tensor(lam, device=dev, dtype=dt)
    if lam_t is not None and lam_t.ndim == 3:
        lam_t = lam_t[:, None] if method in _CROSS_VALIDATED else lam_t

    if method in _CROSS_VALIDATED:
        fold_idx, n_folds = _fold_index(folds, cond_idx, n_cond, n_obs)
        if fold_noise is not None:
            out = _crossnobis_fold_noise(xt, ci, torch.as_tensor(fold_idx, device=dev), n_cond, n_folds,
                                         fold_noise, n_ch, remove_mean)
        elif method == "crossnobis" and _balanced(fold_idx, cond_idx, n_folds, n_cond):
            out = _crossnobis_balanced(xt, ci, torch.as_tensor(fold_idx, device=dev), n_cond, n_folds,
                                       lam_t, remove_mean)
        else:
            train, test = _fold_means(xt, ci, torch.as_tensor(fold_idx, device=dev), n_cond, n_folds)
            if method == "crossnobis":
                if remove_mean:
                    train = train - train.mean(-1, keepdim=True)
                    test = test - test.mean(-1, keepdim=True)
                # distances do not change under a shift common to all conditions of a fold
                train = train - train.mean(-2, keepdim=True)
                test = test - test.mean(-2, keepdim=True)
                if lam_t is not None:
                    test = test @ lam_t
                kern = train @ test.transpose(-1, -2)
            else:
                train = _poisson_prior(train, prior_lambda, prior_weight)
                log_test = torch.log(_poisson_prior(test, prior_lambda, prior_weight))
                # (a_i - a_j)(l_i - l_j) does not change under per-channel shifts of a or l
                train = train - train.mean(-2, keepdim=True)
                log_test = log_test - log_test.mean(-2, keepdim=True)
                kern = train @ log_test.transpose(-1, -2)
            diag = torch.diagonal(kern, dim1=-2, dim2=-1)
            d = diag[..., :, None] + diag[..., None, :] - kern - kern.transpose(-1, -2)
            out = _triu(d).mean(1) / n_ch
    else:
        means = _condition_means(xt, ci, n_cond)
        out = _rdm_from_means(means, method, lam_t, remove_mean, prior_lambda, prior_weight)
    return _finish_rdm(to_numpy(out), factor, single)


def _subject_rdm(item: tuple[np.ndarray, Any], **kw: Any) -> np.ndarray:
    """One subject's RDM vector for the parallel path of :func:`compute_rdm`:
    ``item = (patterns_i, noise_i)``."""
    patterns_i, noise_i = item
    return _compute_rdm(patterns_i, kw["method"], kw["conditions"], kw["folds"], noise_i, kw["fold_noise"],
                        kw["prior_lambda"], kw["prior_weight"], kw["remove_mean"], kw["device"],
                        kw["dtype"], None, kw["scale"])


def _finish_rdm(res: np.ndarray, factor: float, single: bool) -> np.ndarray:
    """Scale normalised distances back (float64) and refuse what float64 cannot hold."""
    res = np.asarray(res, dtype=np.float64)
    if factor != 1.0:
        scaled = res * factor
        lost = (res != 0) & (np.abs(scaled) < np.finfo(np.float64).tiny)
        if lost.any():
            raise ValueError("the RDM entries are below the range of float64 (patterns or noise at an extreme "
                             "scale, e.g. below 1e-150); rescale the patterns")
        res = scaled
    if not np.isfinite(res).all():
        raise ValueError("the RDM entries are beyond the range of float64 (patterns or noise at an extreme "
                         "scale); rescale the patterns")
    return res[0] if single else res


def _check_fold_noise(fold_noise: Any, n_ch: int, rescale: bool) -> tuple[list[np.ndarray], float]:
    """Validated per-fold precisions (symmetric positive definite), divided by a common
    power of two ``t`` near their largest diagonal entry (when ``rescale``), and ``t``."""
    if isinstance(fold_noise, np.ndarray) and fold_noise.ndim == 3:
        fold_noise = list(fold_noise)
    if not isinstance(fold_noise, (list, tuple)):
        raise TypeError(f"fold_noise must be a sequence of (n_channels, n_channels) precisions; got "
                        f"{type(fold_noise).__name__}")
    precs = []
    for r, p in enumerate(fold_noise):
        a = check_array(p, f"fold_noise[{r}]", ndim=2, dims="(n_channels, n_channels)")
        check_finite(a, f"fold_noise[{r}]")
        if a.shape != (n_ch, n_ch):
            raise ValueError(f"fold_noise[{r}] must have shape ({n_ch}, {n_ch}); got {a.shape}")
        try:
            np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            _refuse_not_positive_definite(a, f"fold_noise[{r}]")
        if np.abs(a - a.T).max() > 1e-8 * np.abs(a).max():
            check_symmetric(a, f"fold_noise[{r}]", atol=1e-8 * np.abs(a).max())
        precs.append(a)
    big = max(float(np.max(np.diagonal(a))) for a in precs) if precs else 1.0
    t = pow2_scale(big) if (rescale or not 2.0**-200 < big < 2.0**200) else 1.0
    return [a / t for a in precs] if t != 1.0 else precs, t


class _TorchLowRank:
    """Torch twin of :class:`LowRankPrecision`: ``m @ self`` is ``m Lambda`` without forming
    ``Lambda`` (``m * d - (m V) V^T``); ``[:, None]`` inserts a fold axis like a tensor."""

    def __init__(self, diag: torch.Tensor, factor: torch.Tensor):
        self.diag, self.factor = diag, factor

    @property
    def ndim(self) -> int:
        return self.factor.ndim

    def __getitem__(self, idx: Any) -> _TorchLowRank:
        return _TorchLowRank(self.diag[idx], self.factor[idx])

    def __rmatmul__(self, m: torch.Tensor) -> torch.Tensor:
        return m * self.diag.unsqueeze(-2) - (m @ self.factor) @ self.factor.transpose(-1, -2)


def _condition_means(x: torch.Tensor, ci: torch.Tensor, n_cond: int) -> torch.Tensor:
    sums = torch.zeros(x.shape[:-2] + (n_cond, x.shape[-1]), dtype=x.dtype, device=x.device)
    sums.index_add_(-2, ci, x)
    counts = torch.bincount(ci, minlength=n_cond).to(x.dtype)
    return sums / counts[:, None]


def _poisson_prior(m: torch.Tensor, prior_lambda: float, prior_weight: float) -> torch.Tensor:
    out = (m + prior_lambda * prior_weight) / (1 + prior_weight)
    if bool((out <= 0).any()):
        raise ValueError("prior_weight=0 leaves a condition with a zero mean rate in some channel, whose log "
                         "is -inf; use prior_weight > 0 (the prior rate prior_lambda keeps rates positive)")
    return out


def _rdm_from_means(means: torch.Tensor, method: str, lam: torch.Tensor | None, remove_mean: bool,
                    prior_lambda: float, prior_weight: float) -> torch.Tensor:
    n_ch = means.shape[-1]
    if method == "correlation":
        m = means - means.mean(-1, keepdim=True)
        norm = torch.linalg.vector_norm(m, dim=-1, keepdim=True)
        if bool((norm == 0).any()):
            bad = torch.nonzero((norm[..., 0] == 0).reshape(-1)).flatten()[:10].tolist()
            raise ValueError(f"method='correlation' needs condition patterns that vary across channels; "
                             f"got constant pattern(s) at flat (subject, condition) index {bad}")
        m = m / norm
        return _triu(1.0 - m @ m.transpose(-1, -2))
    if method == "poisson":
        m = _poisson_prior(means, prior_lambda, prior_weight)
        log_m = torch.log(m)
        # (m_i - m_j)(l_i - l_j) does not change under per-channel shifts: centring keeps the
        # Gram trick accurate (in float32 too)
        m = m - m.mean(-2, keepdim=True)
        log_m = log_m - log_m.mean(-2, keepdim=True)
        kern = m @ log_m.transpose(-1, -2)
        diag = torch.diagonal(kern, dim1=-2, dim2=-1)
        return _triu(diag[..., :, None] + diag[..., None, :] - kern - kern.transpose(-1, -2)) / n_ch
    m = means
    if remove_mean:
        m = m - m.mean(-1, keepdim=True)
    # distances do not change under a common shift; centring keeps the Gram trick accurate
    m = m - m.mean(-2, keepdim=True)
    mw = m if (lam is None or method == "sqeuclidean" or method == "euclidean") else m @ lam
    kern = mw @ m.transpose(-1, -2)
    diag = torch.diagonal(kern, dim1=-2, dim2=-1)
    return _triu(diag[..., :, None] + diag[..., None, :] - 2 * kern) / n_ch


def _fold_index(folds: Any, cond_idx: np.ndarray, n_cond: int, n_obs: int) -> tuple[np.ndarray, int]:
    if folds is None:
        counts = np.bincount(cond_idx, minlength=n_cond)
        if not np.all(counts == counts[0]):
            raise ValueError("folds is required when conditions have different numbers of observations "
                             f"(counts range {counts.min()}..{counts.max()})")
        fold_idx = np.zeros(n_obs, dtype=np.int64)
        for c in range(n_cond):
            where = np.flatnonzero(cond_idx == c)
            fold_idx[where] = np.arange(where.size)
        n_folds = int(counts[0])
    else:
        f = check_labels(folds, "folds", n_samples=n_obs)
        _, fold_idx = np.unique(f, return_inverse=True)
        fold_idx = fold_idx.ravel()
        n_folds = int(fold_idx.max()) + 1
    if n_folds < 2:
        raise ValueError(f"folds must define at least 2 cross-validation folds; got {n_folds}")
    present = np.zeros((n_folds, n_cond), dtype=bool)
    present[fold_idx, cond_idx] = True
    if not present.all():
        r, c = np.argwhere(~present)[0]
        raise ValueError(f"folds: every fold must contain every condition; fold #{r} lacks condition #{c} "
                         f"({int((~present).sum())} missing fold-condition cells)")
    return fold_idx, n_folds


def _fold_means(x: torch.Tensor, ci: torch.Tensor, fi: torch.Tensor, n_cond: int, n_folds: int):
    """Per-fold condition means (test) and means over all other observations (train)."""
    n_sub, _, n_ch = x.shape
    cell = fi * n_cond + ci
    sums = torch.zeros(n_sub, n_folds * n_cond, n_ch, dtype=x.dtype, device=x.device)
    sums.index_add_(1, cell, x)
    counts = torch.bincount(cell, minlength=n_folds * n_cond).to(x.dtype).reshape(n_folds, n_cond, 1)
    sums = sums.reshape(n_sub, n_folds, n_cond, n_ch)
    total = sums.sum(1, keepdim=True)
    total_counts = counts.sum(0, keepdim=True)
    test = sums / counts
    train = (total - sums) / (total_counts - counts)
    return train, test


def _balanced(fold_idx: np.ndarray, cond_idx: np.ndarray, n_folds: int, n_cond: int) -> bool:
    counts = np.zeros((n_folds, n_cond), dtype=np.int64)
    np.add.at(counts, (fold_idx, cond_idx), 1)
    return bool((counts == counts[:1]).all())


def _crossnobis_balanced(x, ci, fi, n_cond, n_folds, lam, remove_mean):
    """Crossnobis when every condition has the same count in every fold.

    Then the training mean of fold r is ``(S - B_r) / (R - 1)`` with ``S`` the sum of
    the fold means ``B_r``, so the fold-averaged kernel is
    ``[S (sum_r B_r Lambda)^T - sum_r B_r Lambda B_r^T] / (R (R - 1))``: one pass
    over the data and one batched product, no per-fold training means.
    """
    n_sub, _, n_ch = x.shape
    cell = fi * n_cond + ci
    sums = torch.zeros(n_sub, n_folds * n_cond, n_ch, dtype=x.dtype, device=x.device)
    sums.index_add_(1, cell, x)
    counts = torch.bincount(cell, minlength=n_folds * n_cond).to(x.dtype)
    b = (sums / counts[:, None]).reshape(n_sub, n_folds, n_cond, n_ch)
    if remove_mean:
        b = b - b.mean(-1, keepdim=True)
    # distances do not change under a shift common to all conditions of a fold
    b = b - b.mean(-2, keepdim=True)
    w = b if lam is None else b @ lam
    s = b.sum(1)
    kern = s @ w.sum(1).transpose(-1, -2) - (b @ w.transpose(-1, -2)).sum(1)
    kern = kern / (n_folds * (n_folds - 1))
    diag = torch.diagonal(kern, dim1=-2, dim2=-1)
    return _triu(diag[..., :, None] + diag[..., None, :] - kern - kern.transpose(-1, -2)) / n_ch


def _crossnobis_balanced_blas(x, cond_idx, fold_idx, n_cond, n_folds, lam, chol, remove_mean):
    """Balanced crossnobis on the CPU in float64.

    With fold means ``B_r`` (whitened by the Cholesky factor ``L`` of the precision,
    ``Lambda = L L^T``, so that ``B_r Lambda B_s^T = (B_r L)(B_s L)^T``) and their sum
    ``S``, the leave-one-fold-out kernel summed over folds is
    ``[S S^T - sum_r B_r B_r^T] / (R - 1)``: one triangular product per pattern row
    (half the work of a general product), then ``R + 1`` small Gram matrices per
    subject, one subject per thread. ``chol`` is the Cholesky factor of a dense ``Lambda``.
    """

    n_sub, n_obs, n_ch = x.shape
    counts = np.bincount(cond_idx[fold_idx == 0], minlength=n_cond)
    cell = fold_idx * n_cond + cond_idx
    order = np.argsort(cell, kind="stable")
    if np.all(counts == counts[0]):
        c = int(counts[0])
        b = x if np.array_equal(order, np.arange(n_obs)) else x[:, order]
        b = np.ascontiguousarray(b).reshape(n_sub, n_folds, n_cond, c, n_ch)
        b = b[:, :, :, 0] if c == 1 else b.mean(3)
    else:
        cell_counts = np.tile(counts, n_folds)
        starts = np.concatenate(([0], np.cumsum(cell_counts)[:-1]))
        b = np.add.reduceat(x[:, order], starts, axis=1) / cell_counts[:, None]
        b = b.reshape(n_sub, n_folds, n_cond, n_ch)
    if remove_mean:
        b = b - b.mean(-1, keepdims=True)
    b = np.ascontiguousarray(b)
    if isinstance(lam, LowRankPrecision):
        return _crossnobis_low_rank_blas(b, lam)
    iu = np.triu_indices(n_cond, 1)
    chol_c = None if lam is None else np.ascontiguousarray(chol)

    if chol_c is not None and chol_c.ndim == 2 and n_sub > 1:
        # one precision for every subject: whiten a block of subjects in one triangular product
        # on the process's BLAS threads (OpenBLAS's threaded dtrmm is ~1.8x two single-threaded
        # ones side by side), at most _WHITEN_BLOCK_BYTES of fold means at a time, then each
        # subject's Gram matrices on one BLAS thread per worker
        step = max(1, int(_WHITEN_BLOCK_BYTES // b[0].nbytes))
        rows = []
        for lo in range(0, n_sub, step):
            with thread_policy():
                block = _whiten(b[lo:lo + step], chol_c)
            rows += map_blas_workers(lambda ws: _pair_values(_fold_kernel(ws), iu), block,
                                     work=n_folds * n_cond * n_ch * n_cond)
        out = np.stack(rows)
    else:
        def one(s):
            ws = b[s]
            if chol_c is not None:
                ws = _whiten(ws, chol_c if chol_c.ndim == 2 else chol_c[s])
            return _pair_values(_fold_kernel(ws), iu)

        # one subject per thread, whitening included, each on a single-threaded BLAS: no thread
        # of one product waits for another (that wait cost 5-30x beside busy processes)
        work = n_folds * n_cond * n_ch * (n_cond + (0 if chol_c is None else n_ch / 2))  # per subject
        out = np.stack(map_blas_workers(one, range(n_sub), work=work))
    out /= n_folds * (n_folds - 1) * n_ch
    return out


#: fold means whitened at once by the shared-precision crossnobis (bounds its extra memory)
_WHITEN_BLOCK_BYTES = 256 * 2 ** 20


def _whiten(w: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """``w @ L`` for patterns ``w`` (..., P) and a lower Cholesky factor ``L`` (P, P), C-ordered.

    ``(w L)^T = L^T w^T`` on the Fortran views of the row-major patterns and of ``L`` (whose
    Fortran view is the upper triangle ``L^T``): one triangular product, half the work of a
    general one; dtrmm writes a copy.
    """
    from scipy.linalg.blas import dtrmm

    n_ch = w.shape[-1]
    return dtrmm(1.0, chol.T, w.reshape(-1, n_ch).T, side=0, lower=0, trans_a=0).T.reshape(w.shape)


def _fold_kernel(w: np.ndarray) -> np.ndarray:
    """``S S^T - sum_r W_r W_r^T`` for one subject's fold means ``w`` (R, K, P)."""
    total = w.sum(0)
    return total @ total.T - np.matmul(w, w.transpose(0, 2, 1)).sum(0)


def _pair_values(kern: np.ndarray, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``k_ii + k_jj - k_ij - k_ji`` for the condition pairs ``iu`` of a kernel."""
    diag = np.diagonal(kern)
    return diag[iu[0]] + diag[iu[1]] - kern[iu] - kern.T[iu]


def _crossnobis_low_rank_blas(b: np.ndarray, lam: LowRankPrecision) -> np.ndarray:
    """Balanced crossnobis kernel with ``Lambda = diag(d) - V V^T`` (fold means ``b``,
    shape (S, R, K, P)): ``B Lambda B^T = (B d^1/2)(B d^1/2)^T - (B V)(B V)^T``; the
    only dense product is ``B V`` (O(P m) per row instead of O(P^2)). One subject
    per thread, so that its whitened fold means stay in cache."""
    n_sub, n_folds, n_cond, n_ch = b.shape
    root = np.sqrt(lam.diag)
    iu = np.triu_indices(n_cond, 1)

    def one(s):
        rs = root if lam.ndim == 2 else root[s]
        vs = lam.factor if lam.ndim == 2 else lam.factor[s]
        kern = _fold_kernel(b[s] * rs)
        if vs.shape[1] > 0:
            kern -= _fold_kernel((b[s].reshape(-1, n_ch) @ vs).reshape(n_folds, n_cond, -1))
        return _pair_values(kern, iu)

    out = np.stack(map_blas_workers(one, range(n_sub)))
    out /= n_folds * (n_folds - 1) * n_ch
    return out


def _crossnobis_fold_noise(x, ci, fi, n_cond, n_folds, fold_noise, n_ch, remove_mean):
    if len(fold_noise) != n_folds:
        raise ValueError(f"fold_noise must hold one precision per fold ({n_folds}); got {len(fold_noise)}")
    covs = [np.linalg.inv(p) for p in fold_noise]
    _, test = _fold_means(x, ci, fi, n_cond, n_folds)
    if remove_mean:
        test = test - test.mean(-1, keepdim=True)
    total = 0.0
    n_pairs = 0
    # one precision per fold pair: no shared matrix lets the pairs be summed first
    for r in range(n_folds):
        for s in range(r + 1, n_folds):
            lam = to_tensor(np.linalg.inv((covs[r] + covs[s]) / 2), device=x.device, dtype=x.dtype)
            kern = test[:, r] @ lam @ test[:, s].transpose(-1, -2)
            diag = torch.diagonal(kern, dim1=-2, dim2=-1)
            total = total + _triu(diag[..., :, None] + diag[..., None, :] - kern - kern.transpose(-1, -2))
            n_pairs += 1
    return total / n_pairs / n_ch


def compute_rdm_movie(patterns: Any, method: str = "correlation", conditions: Any = None,
                      folds: Any = None, noise: Any = None, time_axis: int = -2,
                      **kwargs: Any) -> np.ndarray:
    """Time-resolved RDMs: one RDM per time point, batched in one pass.

    Parameters
    ----------
    patterns : array-like, shape (n_observations, n_times, n_channels) or (n_subjects, n_observations, n_times, n_channels)
        Patterns over time (``time_axis`` is the time axis, default -2).
    method, conditions, folds, noise, **kwargs
        As in :func:`compute_rdm` (a 2-D ``noise`` is shared by all time points).

    Returns
    -------
    numpy.ndarray, shape (n_times, n_pairs) or (n_subjects, n_times, n_pairs)

    References
    ----------
    Cichy, R. M., Pantazis, D. & Oliva, A. (2014). Resolving human object
    recognition in space and time. Nat. Neurosci. 17:455-462.
    """
    x = check_array(patterns, "patterns", ndim=(3, 4),
                    dims="(n_observations, n_times, n_channels) or (n_subjects, n_observations, n_times, n_channels)")
    time_axis = check_scalar(time_axis, "time_axis", integer=True)
    if not -x.ndim <= time_axis < x.ndim or time_axis % x.ndim == x.ndim - 1:
        raise ValueError(f"time_axis must index a non-channel axis of patterns with shape {x.shape} "
                         f"(-{x.ndim} <= time_axis < {x.ndim - 1}, not the last); got {time_axis}")
    x = np.moveaxis(x, time_axis, 0)  # (T, [S,] n_obs, P)
    single = x.ndim == 3
    n_t = x.shape[0]
    batch = x if single else x.reshape((-1,) + x.shape[2:])
    if noise is not None and np.ndim(noise) == 3:
        raise ValueError("compute_rdm_movie: noise must be one (n_channels, n_channels) precision")
    out = compute_rdm(batch, method=method, conditions=conditions, folds=folds, noise=noise, **kwargs)
    if single:
        return out
    return np.moveaxis(out.reshape(n_t, -1, out.shape[-1]), 0, 1)


# --------------------------------------------------------------------------- interop
def to_rsatoolbox(rdms: Any, dissimilarity_measure: str | None = None, **descriptors: Any):
    """Wrap RDM vectors (or square matrices) as an ``rsatoolbox.rdm.RDMs`` object.

    Needs rsatoolbox (``pip install neurodyn[bench]``).
    """
    try:
        from rsatoolbox.rdm import RDMs
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_rsatoolbox needs the optional package rsatoolbox "
                          "(pip install rsatoolbox)") from exc
    v, _ = as_rdm_vectors(rdms, "rdms")
    return RDMs(v, dissimilarity_measure=dissimilarity_measure, **descriptors)


def from_rsatoolbox(rdms_obj: Any) -> np.ndarray:
    """RDM vectors ``(n_rdms, n_pairs)`` of an ``rsatoolbox.rdm.RDMs`` object."""
    if not hasattr(rdms_obj, "get_vectors"):
        raise TypeError(f"rdms_obj must be an rsatoolbox.rdm.RDMs object; got {type(rdms_obj).__name__}")
    return np.asarray(rdms_obj.get_vectors(), dtype=float).copy()
