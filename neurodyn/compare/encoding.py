"""Cross-validated linear encoding models (ridge regression from model units to brain targets).

Brain-Score conventions: a ridge map is fitted from model features to every
target (voxel, neuron) on training conditions, with its own regularisation per
target; predictions on held-out conditions are scored by Pearson r per target,
summarised by the median over targets and optionally divided by the noise
ceiling on r, the square root of the targets' split-half reliability
(:func:`r_ceiling`).

All targets are solved at once: one eigendecomposition of the (centred) design's Gram matrix gives
the leave-one-out (generalised cross-validation) error of every target for
every candidate alpha, exactly as scikit-learn's ``RidgeCV(alpha_per_target=True)``
computes it, and the coefficients for every target follow from the same decomposition.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._score import Score
from .._torch import TorchEstimatorMixin, check_random_state, to_tensor
from .._validation import caller_stacklevel, check_array, check_finite, check_positive_int
from ._inputs import as_scaled_batch, refuse_sparse, resolve

__all__ = [
    "EncodingModel",
    "ridge_cv",
    "cross_validated_encoding",
    "split_half_noise_ceiling",
    "pearson_r_columns",
    "r_ceiling",
]

#: the alpha grid used by ``alphas="auto"`` (for z-scored features)
AUTO_ALPHAS = np.logspace(-3, 6, 10)


def _check_alphas(alphas: Any, name: str = "alphas") -> np.ndarray:
    if isinstance(alphas, str):
        if alphas != "auto":
            raise ValueError(f"{name} must be 'auto' or a 1-D array of positive values; got {alphas!r}")
        return AUTO_ALPHAS.copy()
    if alphas is None:
        raise TypeError(f"{name} must be 'auto' or a 1-D array of positive values; got None")
    arr = np.atleast_1d(check_array(np.atleast_1d(alphas) if np.ndim(alphas) == 0 else alphas,
                                    name, ndim=1, dims="(n_alphas,)"))
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and positive; got {arr.tolist()[:10]}")
    return arr


def _gram(A: torch.Tensor, outer: bool) -> torch.Tensor:
    """``A A^T`` (``outer``) or ``A^T A`` of a batch ``(B, n, p)``.

    On the CPU (no autograd) numpy computes each product as a symmetric rank-k
    update, half the flops of torch's general product; the arrays are shared,
    not copied.
    """
    if A.device.type == "cpu" and not A.requires_grad:
        mats = A.numpy()
        return torch.from_numpy(np.stack([m @ m.T if outer else m.T @ m for m in mats]))
    return A @ A.transpose(-1, -2) if outer else A.transpose(-1, -2) @ A


def _spectrum(Xc: torch.Tensor):
    """Eigen-decomposition of the smaller of ``X X^T`` and ``X^T X`` (batched).

    Returns ``U`` (B, n, k), the left singular vectors of ``X_c``, ``lam`` (B, k),
    the squared singular values, and ``XtU = X_c^T U`` (B, p, k). A symmetric
    eigendecomposition of the k x k Gram matrix (k = min(n, p)) is several
    times faster than an SVD of the rectangular data on CPU; directions with
    negligible eigenvalues are masked (their ridge weight is ~0 anyway).
    """
    n, p = Xc.shape[-2], Xc.shape[-1]
    G = _gram(Xc, outer=n <= p)
    if G.device.type == "cpu" and not G.requires_grad:
        # LAPACK through numpy: ~10-15% faster than torch's CPU eigh at k = 300..1000
        lam, vecs = (torch.from_numpy(a) for a in np.linalg.eigh(G.numpy()))
    else:
        lam, vecs = torch.linalg.eigh(G)
    U, V = (vecs, None) if n <= p else (None, vecs)
    tol = lam[..., -1:].clamp_min(0) * max(n, p) * torch.finfo(lam.dtype).eps
    keep = lam > tol
    lam = torch.where(keep, lam, torch.zeros_like(lam))
    if n > p:
        s = torch.sqrt(lam)
        U = (Xc @ V) / torch.where(keep, s, torch.ones_like(s)).unsqueeze(-2)
        U = U * keep.unsqueeze(-2)
    else:
        U = U * keep.unsqueeze(-2)
    return U, lam, Xc.transpose(-1, -2) @ U


def _safe_ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` with 0 where ``den`` is 0 (a null direction with a vanishing penalty)."""
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(den))


def _max_abs_columns(A: np.ndarray) -> np.ndarray:
    """Largest absolute value of every column, 1 where a column is zero."""
    m = np.maximum(A.max(axis=0), -A.min(axis=0))
    return np.where(m > 0, m, 1.0)


def _ridge_rescaled(Xa: np.ndarray, Ya: np.ndarray, alphas: np.ndarray, fit_intercept: bool,
                    cv: int | None, rng: np.random.Generator, dev: torch.device, dt: torch.dtype,
                    x_centred: bool = False):
    """Ridge for every target on ``X / c_x`` and ``Y / c_y``, exactly equivalent to the raw problem.

    The coefficients of ``(X, y, alpha)`` equal ``c_y / c_x`` times those of
    ``(X / c_x, y / c_y, alpha / c_x^2)``, and each target's error curve is
    scaled by ``c_y^2`` (same minimiser). With ``c_x`` the largest absolute
    (centred) feature value and ``c_y`` each target's, every product in float32
    or float64 stays in range whatever the data's scale; centring runs in
    float64 before the cast, once (``x_centred``: ``Xa`` is a private, already
    centred copy, as EncodingModel's standardised features are). Returns
    float64 numpy ``coef``, ``intercept``, ``best`` (alpha indices) and
    ``errors`` (n_alphas, n_targets).
    """
    # centring makes private copies, which are then divided in place
    if fit_intercept and not x_centred:
        mx = Xa.mean(axis=0)
        Xc = Xa - mx
    else:
        mx, Xc = None, Xa
    if fit_intercept:
        my = Ya.mean(axis=0)
        Yc = Ya - my
    else:
        Yc = Ya
    cx = float(np.max(_max_abs_columns(Xc)))
    cy = _max_abs_columns(Yc)
    Xc = np.divide(Xc, cx, out=Xc if (fit_intercept or x_centred) else None)
    Yc = np.divide(Yc, cy, out=Yc if fit_intercept else None)
    Xt = to_tensor(Xc, device=dev, dtype=dt).unsqueeze(0)
    Yt = to_tensor(Yc, device=dev, dtype=dt).unsqueeze(0)
    with np.errstate(over="ignore", under="ignore"):
        alphas_scaled = alphas / cx / cx
    coef, _, best, errors, (lam, XtU) = _fit_ridge(Xt, Yt, alphas_scaled, fit_intercept, cv, rng,
                                                   return_spectrum=True, centred=True)
    if dt != torch.float64:
        coef = _refine(to_tensor(Xc, device=dev, dtype=torch.float64),
                       to_tensor(Yc, device=dev, dtype=torch.float64), coef[0], lam[0], XtU[0],
                       torch.as_tensor(alphas_scaled, device=dev, dtype=torch.float64)[best[0]])[None]
    del Xt, Yt
    coef = np.asarray(coef[0].cpu().numpy(), dtype=np.float64)
    coef *= cy / cx  # a private array (the solver's output)
    if fit_intercept:
        intercept = my - mx @ coef if mx is not None else my.copy()
    else:
        intercept = np.zeros(Ya.shape[1])
    with np.errstate(over="ignore", under="ignore"):
        errors = errors[:, 0].cpu().numpy().astype(np.float64) * cy ** 2
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(errors))):
        raise ValueError("the ridge solution or its cross-validated errors are beyond the float64 "
                         f"range at this data scale (X up to {cx:.3g}, Y up to {cy.max():.3g}); "
                         "rescale X or Y")
    return coef, intercept, best[0].cpu().numpy(), errors


def _refine(X64: torch.Tensor, Y64: torch.Tensor, coef: torch.Tensor, lam: torch.Tensor,
            XtU: torch.Tensor, alpha: torch.Tensor, steps: int = 2) -> torch.Tensor:
    """Iterative refinement in float64 of ridge coefficients solved in a lower precision.

    The float32 solution from the eigendecomposition of the Gram matrix carries a
    relative error of about ``cond(X)^2 * eps_32``. Each step computes the residual
    of the normal equations ``r_j = X^T (y_j - X b_j) - alpha_j b_j`` in float64 and
    corrects ``b_j`` by ``(X^T X + alpha_j I)^{-1} r_j`` applied through the same
    (float32) spectrum, ``X^T U diag(1 / (lambda (lambda + alpha_j))) U^T X``, which
    multiplies the error by about ``cond(X)^2 * eps_32`` per step (more for the
    smallest directions, whose float32 eigenvectors are less accurate: on a design with
    condition number 100 the relative error goes 6e-5, 1e-5, 1e-9 over two steps).
    Directions outside the data's span stay out (the minimum-norm solution).
    """
    lam64 = lam.to(torch.float64)
    V = XtU.to(torch.float64)  # X^T U = V diag(s)
    kept = (lam64 > 0).unsqueeze(-1)
    den = lam64.unsqueeze(-1) * (lam64.unsqueeze(-1) + alpha.unsqueeze(0))  # (k, m)
    inv = torch.where(kept, 1.0 / torch.where(kept, den, torch.ones_like(den)), torch.zeros_like(den))
    b = coef.to(torch.float64)
    for _ in range(steps):
        r = X64.transpose(-1, -2) @ (Y64 - X64 @ b) - b * alpha.unsqueeze(0)
        b = b + V @ (inv * (V.transpose(-1, -2) @ r))
    return b


def _gcv_errors(Xc: torch.Tensor, Yc: torch.Tensor, alphas: np.ndarray, fit_intercept: bool):
    """Leave-one-out squared error for every alpha and target, batched ``(B, n, p)``, ``(B, n, m)``.

    With the hat matrix ``H = 11^T / n + X_c (X_c^T X_c + alpha I)^{-1} X_c^T``
    the leave-one-out residual is ``(y_i - yhat_i) / (1 - H_ii)`` (Allen's PRESS).
    Both ``y - yhat`` and ``1 - H_ii`` are formed without subtracting nearly equal
    numbers: in the eigenbasis ``U`` of the centred data they are
    ``U diag(g) U^T y + P y`` and ``(U * U) g + diag(P)`` with the shrinkages
    ``g = alpha / (lambda + alpha)`` and ``P`` the projector onto the directions
    outside the data's span (and the constant). When there are no such directions
    (as many or more features than samples) ``P`` is exactly 0 and both parts are
    proportional to alpha; they are divided by the largest ``g`` first, so a
    vanishing alpha gives the finite limit (the interpolating fit's leave-one-out
    error) instead of 0 / 0, as scikit-learn's ``RidgeCV`` does.
    Returns errors ``(n_alphas, B, m)`` and the spectral factors for the coefficients.
    """
    n = Xc.shape[-2]
    U, lam, XtU = _spectrum(Xc)
    UtY = U.transpose(-1, -2) @ Yc
    U2 = U * U
    kept = lam > 0  # (B, k); dropped directions have zero columns in U
    n_outside = n - kept.sum(-1) - (1 if fit_intercept else 0)  # (B,)
    outside = (n_outside > 0).to(Yc.dtype)
    # components outside the span of U (and of the constant when there is an intercept)
    # (one more product of the data's size, skipped when no direction lies outside the span)
    PY = (Yc - U @ UtY) * outside[:, None, None] if bool((n_outside > 0).any()) else None
    diagP = (1.0 - U2.sum(-1) - (1.0 / n if fit_intercept else 0.0)).clamp_min(0.0) * outside[:, None]
    lam_min = torch.where(kept, lam, torch.full_like(lam, float("inf"))).amin(-1, keepdim=True)
    lam_min = torch.where(torch.isfinite(lam_min), lam_min, torch.zeros_like(lam_min))
    # one (B, n, m) buffer for every alpha: the residuals, already divided by 1 - h, are
    # (U diag(g) / (1 - h)) U^T y, so the shrinkage and the division act on the (B, n, k)
    # factor and the data-sized work per alpha is one product and one squared mean
    resid = torch.empty(Yc.shape, dtype=Yc.dtype, device=Yc.device)
    errors = torch.empty((len(alphas),) + Yc.shape[:-2] + Yc.shape[-1:], dtype=Yc.dtype,
                         device=Yc.device)
    outside_b = outside[:, None] > 0
    for i, a in enumerate(alphas):
        a = float(a)
        # g / g_max = (lam_min + alpha) / (lam + alpha) where nothing lies outside the span
        # (the ratio of residual to 1 - h is unchanged); g itself where something does
        ratio = (lam_min + a) / (lam + a)
        g = torch.where(outside_b, a / (lam + a), ratio)
        g = torch.where(kept, g, torch.zeros_like(g))
        inv_one_minus_h = 1.0 / (U2 @ g.unsqueeze(-1) + diagP.unsqueeze(-1))  # (B, n, 1)
        torch.matmul(U * g.unsqueeze(-2) * inv_one_minus_h, UtY, out=resid)
        if PY is not None:
            resid.addcmul_(PY, inv_one_minus_h)
        torch.mean(resid.mul_(resid), dim=-2, out=errors[i])
    return errors, (lam, XtU, UtY)


def _kfold_errors(X: torch.Tensor, Y: torch.Tensor, alphas: np.ndarray, fit_intercept: bool,
                  folds: list[np.ndarray]):
    """Mean held-out squared error per alpha and target over K folds."""
    n = X.shape[-2]
    total = None
    for te in folds:
        mask = np.ones(n, dtype=bool)
        mask[te] = False
        tr_idx = torch.as_tensor(np.flatnonzero(mask), device=X.device)
        te_idx = torch.as_tensor(np.sort(te), device=X.device)
        Xtr, Ytr = X[..., tr_idx, :], Y[..., tr_idx, :]
        Xte, Yte = X[..., te_idx, :], Y[..., te_idx, :]
        if fit_intercept:
            mx, my = Xtr.mean(-2, keepdim=True), Ytr.mean(-2, keepdim=True)
        else:
            mx, my = torch.zeros_like(Xtr[..., :1, :]), torch.zeros_like(Ytr[..., :1, :])
        U, lam, XtU = _spectrum(Xtr - mx)
        UtY = U.transpose(-1, -2) @ (Ytr - my)
        XteXtU = (Xte - mx) @ XtU
        errs = []
        for a in alphas:
            d = _safe_ratio(torch.ones_like(lam), lam + float(a))
            pred = XteXtU @ (d.unsqueeze(-1) * UtY) + my
            errs.append(((Yte - pred) ** 2).mean(dim=-2))
        errs = torch.stack(errs) * len(te)
        total = errs if total is None else total + errs
    return total / n


def _coefficients(lam: torch.Tensor, XtU: torch.Tensor, UtY: torch.Tensor, alphas: np.ndarray,
                  best: torch.Tensor) -> torch.Tensor:
    """Ridge coefficients ``X^T U diag(1 / (lambda + alpha_j)) U^T y_j``, each target with its alpha."""
    alpha_t = torch.as_tensor(alphas, dtype=lam.dtype, device=lam.device)[best]  # (B, m)
    den = lam.unsqueeze(-1) + alpha_t.unsqueeze(-2)  # (B, k, m)
    if bool((alpha_t > 0).all()):
        shrunk = torch.div(UtY, den, out=den)
    else:
        # a penalty that underflowed to 0 on a null direction (lambda = 0): weight 0
        shrunk = _safe_ratio(torch.ones_like(den), den).mul_(UtY)
    return XtU @ shrunk


def _fit_ridge(X: torch.Tensor, Y: torch.Tensor, alphas: np.ndarray, fit_intercept: bool,
               cv: int | None, rng: np.random.Generator | None, return_spectrum: bool = False,
               centred: bool = False):
    """Ridge for every target of a batch; ``centred``: X and Y are already centred (intercept 0)."""
    if fit_intercept and not centred:
        mx, my = X.mean(-2, keepdim=True), Y.mean(-2, keepdim=True)
    else:
        mx, my = torch.zeros_like(X[..., :1, :]), torch.zeros_like(Y[..., :1, :])
    Xc, Yc = (X, Y) if centred else (X - mx, Y - my)
    if cv is None:
        errors, (lam, XtU, UtY) = _gcv_errors(Xc, Yc, alphas, fit_intercept)
    else:
        order = rng.permutation(X.shape[-2])
        errors = _kfold_errors(X, Y, alphas, fit_intercept, np.array_split(order, cv))
        U, lam, XtU = _spectrum(Xc)
        UtY = U.transpose(-1, -2) @ Yc
    # the first alpha wins ties, as a strict "better than" scan over the grid does
    best = torch.argmin(errors, dim=0)
    coef = _coefficients(lam, XtU, UtY, alphas, best)
    intercept = (my - mx @ coef)[..., 0, :]
    if return_spectrum:
        return coef, intercept, best, errors, (lam, XtU)
    return coef, intercept, best, errors


def ridge_cv(X: Any, Y: Any, *, alphas: Any = "auto", fit_intercept: bool = True,
             cv: int | None = None, random_state: Any = None, device: Any = "auto",
             dtype: Any = None) -> dict:
    """Ridge regression with a per-target alpha chosen by cross-validation, all targets at once.

    Parameters
    ----------
    X : array-like (n_samples, n_features)
    Y : array-like (n_samples, n_targets) or (n_samples,)
    alphas : "auto" or array-like of positive floats
        Candidate penalties (``"auto"``: ``logspace(-3, 6, 10)``).
    fit_intercept : bool
    cv : None or int
        None: exact leave-one-out error from one eigendecomposition (the same selection as
        ``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)``);
        int: K-fold cross-validation over samples.
    random_state : None, int or Generator
        Shuffles samples for K-fold.
    device, dtype :
        Computation device and dtype. In float32 the alpha selection runs in float32
        and the coefficients are then refined in float64 (two steps of iterative
        refinement of the normal equations), so they match the float64 solution to
        about float32's resolution of the inputs.

    Returns
    -------
    dict
        ``coef`` (n_features, n_targets), ``intercept`` (n_targets,),
        ``alpha`` (n_targets,), ``cv_errors`` (n_alphas, n_targets).

    References
    ----------
    Hoerl & Kennard (1970). Ridge regression. Technometrics 12:55-67.
    Golub, Heath & Wahba (1979). Generalized cross-validation as a method for
    choosing a good ridge parameter. Technometrics 21:215-223.
    """
    alphas_arr = _check_alphas(alphas)
    dev, dt = resolve(device, dtype)
    Xa = check_array(X, "X", ndim=2, dims="(n_samples, n_features)")
    check_finite(Xa, "X")
    Ya = check_array(Y, "Y", ndim=(1, 2), dims="(n_samples,) or (n_samples, n_targets)")
    check_finite(Ya, "Y")
    one_d = Ya.ndim == 1
    Ya = Ya[:, None] if one_d else Ya
    if Xa.shape[0] != Ya.shape[0]:
        raise ValueError(f"X and Y must have the same number of samples; got {Xa.shape[0]} and {Ya.shape[0]}")
    _check_enough(Xa.shape[0], cv)
    coef, intercept, best, errors = _ridge_rescaled(Xa, Ya, alphas_arr, bool(fit_intercept), cv,
                                                    check_random_state(random_state), dev, dt)
    out = {"coef": coef, "intercept": intercept, "alpha": alphas_arr[best], "cv_errors": errors}
    if one_d:
        out = {"coef": out["coef"][:, 0], "intercept": float(out["intercept"][0]),
               "alpha": float(out["alpha"][0]), "cv_errors": out["cv_errors"][:, 0]}
    return out


def _check_enough(n: int, cv: int | None, name: str = "cv") -> None:
    if cv is None:
        if n < 3:
            raise ValueError(f"too few conditions for leave-one-out cross-validation: need at least 3; got {n}")
    else:
        cv = check_positive_int(cv, name, minimum=2)
        if n < 2 * cv:
            raise ValueError(f"too few conditions for {name}={cv}: need at least {2 * cv} "
                             f"(two per fold); got {n}")


class ConstantColumnWarning(RuntimeWarning):
    """A correlation was requested for a constant column; it is undefined (NaN)."""


def pearson_r_columns(A: Any, B: Any) -> np.ndarray:
    """Pearson correlation between matching columns of ``A`` and ``B``.

    A constant column has no correlation: its entry is NaN and a
    :class:`ConstantColumnWarning` lists the columns (as scipy's ``pearsonr`` does).

    Parameters
    ----------
    A, B : array-like or tensor (n_samples, n_columns)
        Finite real values, at least 2 samples, the same shape.

    Returns
    -------
    numpy.ndarray (n_columns,)
    """
    ts = []
    for M, name in ((A, "A"), (B, "B")):
        if isinstance(M, torch.Tensor):
            if M.is_complex():
                raise TypeError(f"{name} must be real-valued; got a complex tensor")
            M = M.detach().cpu().numpy()
        arr = check_array(M, name, ndim=2, dims="(n_samples, n_columns)")
        check_finite(arr, name)
        ts.append(arr)
    if ts[0].shape != ts[1].shape:
        raise ValueError(f"A and B must have the same shape; got {ts[0].shape} and {ts[1].shape}")
    if ts[0].shape[0] < 2:
        raise ValueError(f"A and B need at least 2 samples (rows); got {ts[0].shape[0]}")
    r = _pearson(to_tensor(ts[0]), to_tensor(ts[1])).cpu().numpy()
    undefined = np.isnan(r)
    if undefined.any():
        cols = np.flatnonzero(undefined)
        shown = ", ".join(str(int(c)) for c in cols[:10]) + (", ..." if cols.size > 10 else "")
        warnings.warn(f"pearson_r_columns: {cols.size} column(s) of A or B are constant "
                      f"(columns [{shown}]); their correlation is undefined and returned as NaN",
                      ConstantColumnWarning, stacklevel=caller_stacklevel())
    return r


def _pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Column-wise Pearson r; each centred column is divided by its largest magnitude first,
    so the products cannot over- or underflow. A column whose centred values are at the
    level of rounding errors of its raw values counts as constant (NaN)."""
    eps = torch.finfo(a.dtype).eps * 8.0 * max(a.shape[-2], 1) ** 0.5
    out = []
    for m in (a, b):
        raw = torch.maximum(m.amax(dim=-2), -m.amin(dim=-2))
        m = m - m.mean(dim=-2, keepdim=True)
        peak = torch.maximum(m.amax(dim=-2), -m.amin(dim=-2))
        const = peak <= eps * raw
        m = m / torch.where(peak > 0, peak, torch.ones_like(peak)).unsqueeze(-2)
        out.append((m, const | (peak == 0)))
    (a, ca), (b, cb) = out
    num = (a * b).sum(-2)
    den = torch.sqrt((a * a).sum(-2) * (b * b).sum(-2))
    r = (num / torch.where(den > 0, den, torch.ones_like(den))).clamp(-1.0, 1.0)
    return torch.where(ca | cb, torch.full_like(num, float("nan")), r)


class EncodingModel(TorchEstimatorMixin, RegressorMixin, BaseEstimator):
    """Ridge encoding model from model features to brain targets with per-target alphas.

    Parameters
    ----------
    alphas : "auto" or array-like of positive floats
        Candidate penalties; ``"auto"`` = ``logspace(-3, 6, 10)`` (features are
        z-scored by default, so the grid is on a fixed scale).
    cv : None or int
        Alpha selection: None = exact leave-one-out (generalised CV, equal to
        scikit-learn's ``RidgeCV(alpha_per_target=True)``); int = K-fold over
        training conditions.
    fit_intercept : bool
    standardize : bool
        z-score every feature with the training mean and standard deviation
        (constant features are left at zero).
    random_state : None, int or Generator
        Fold assignment when ``cv`` is an int.
    device, dtype :
        Computation device and dtype.

    Attributes
    ----------
    alpha_ : ndarray (n_targets,)
        Selected penalty per target.
    coef_ : ndarray (n_features, n_targets)
        Coefficients on the (standardised) features.
    intercept_ : ndarray (n_targets,)
    cv_errors_ : ndarray (n_alphas, n_targets)
        Cross-validated mean squared error for every alpha and target.
    x_mean_, x_scale_ : ndarray (n_features,)
        Standardisation applied to features before ``coef_``.
    n_features_in_ : int

    References
    ----------
    Schrimpf et al. (2018). Brain-Score: which artificial neural network for
    object recognition is most brain-like? bioRxiv 407007. Yamins et al. (2014).
    Performance-optimized hierarchical models predict neural responses in
    higher visual cortex. PNAS 111:8619-8624.

    Examples
    --------
    >>> from neurodyn.compare import EncodingModel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 6))  # model features (n_conditions, n_features)
    >>> y = X @ rng.standard_normal((6, 3)) + 0.5 * rng.standard_normal((100, 3))  # 3 targets
    >>> enc = EncodingModel(random_state=0, device="cpu").fit(X[:70], y[:70])
    >>> enc.coef_.shape, enc.alpha_.shape, enc.predict(X[70:]).shape
    ((6, 3), (3,), (30, 3))
    >>> round(enc.score(X[70:], y[70:]), 2)  # median held-out Pearson r
    0.99
    """

    def __init__(self, alphas: Any = "auto", cv: int | None = None, fit_intercept: bool = True,
                 standardize: bool = True, random_state: Any = None, device: Any = "auto",
                 dtype: Any = None):
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.random_state = random_state
        self.device = device
        self.dtype = dtype

    def _validate(self, X: Any, y: Any | None, fitting: bool):
        refuse_sparse(X, "X")
        Xa = check_array(X, "X", ndim=2, dims="(n_conditions, n_features)")
        check_finite(Xa, "X")
        if not fitting and Xa.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {Xa.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        if y is None:
            return Xa, None
        refuse_sparse(y, "y")
        Ya = check_array(y, "y", ndim=(1, 2), dims="(n_conditions,) or (n_conditions, n_targets)")
        self._y_ndim = Ya.ndim
        check_finite(Ya, "y")
        if Ya.ndim == 1:
            Ya = Ya[:, None]
        if Xa.shape[0] != Ya.shape[0]:
            raise ValueError(f"X and y must have the same number of conditions (rows); got "
                             f"{Xa.shape[0]} and {Ya.shape[0]}")
        return Xa, Ya

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may hold many targets (voxels, neurons)
        return tags

    def fit(self, X: Any, y: Any = None) -> EncodingModel:
        """Fit the ridge map from features ``X`` (n_conditions, n_features) to targets ``y``.

        ``y`` (n_conditions, n_targets) or (n_conditions,) is required: the model is supervised.
        """
        if y is None:
            raise TypeError("y must be an array of targets (n_conditions, n_targets) or "
                            "(n_conditions,): EncodingModel is supervised; got None")
        alphas = _check_alphas(self.alphas)
        self._setup_torch()
        Xa, Ya = self._validate(X, y, fitting=True)
        _check_enough(Xa.shape[0], self.cv)
        self.n_features_in_ = Xa.shape[1]
        self._single_target = self._y_ndim == 1
        if self.standardize:
            mean = Xa.mean(axis=0)
            centred = Xa - mean
            # the standard deviation of X / max|X| (no overflow of the squares at any scale);
            # a column whose spread is at the level of rounding errors counts as constant
            peak = _max_abs_columns(centred)
            scale = peak * (centred / peak).std(axis=0)
            level = np.maximum(np.abs(mean), peak) * (8.0 * np.sqrt(Xa.shape[0]) * np.finfo(float).eps)
            scale = np.where(scale > level, scale, 1.0)
            features = np.divide(centred, scale, out=centred)  # a private copy, centred once
        else:
            mean = np.zeros(Xa.shape[1])
            scale = np.ones(Xa.shape[1])
            features = Xa
        self.x_mean_, self.x_scale_ = mean, scale
        coef, intercept, best, errors = _ridge_rescaled(
            features, Ya, alphas, bool(self.fit_intercept), self.cv,
            check_random_state(self.random_state), self.device_, self.dtype_,
            x_centred=bool(self.standardize))
        self.coef_ = coef
        self.intercept_ = intercept
        self.alpha_ = alphas[best]
        self.cv_errors_ = errors
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets (n_conditions, n_targets)."""
        check_is_fitted(self, "coef_")
        Xa, _ = self._validate(X, None, fitting=False)
        pred = ((Xa - self.x_mean_) / self.x_scale_) @ self.coef_ + self.intercept_
        return pred[:, 0] if self._single_target else pred

    def score_targets(self, X: Any, y: Any) -> np.ndarray:
        """Pearson r between predicted and measured responses, per target (NaN for constant targets)."""
        check_is_fitted(self, "coef_")
        Xa, Ya = self._validate(X, y, fitting=False)
        if Ya.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"y has {Ya.shape[1]} targets; the model was fitted with {self.coef_.shape[1]}")
        if Xa.shape[0] < 3:
            raise ValueError(f"scoring needs at least 3 held-out conditions; got {Xa.shape[0]}")
        pred = ((Xa - self.x_mean_) / self.x_scale_) @ self.coef_ + self.intercept_
        return pearson_r_columns(pred, Ya)

    def score(self, X: Any, y: Any, noise_ceiling: Any = None) -> float:
        """Median over targets of the held-out Pearson r (divided by ``noise_ceiling`` if given).

        Parameters
        ----------
        X, y : array-like
            Held-out conditions (features and targets).
        noise_ceiling : float or array-like (n_targets,), optional
            Per-target (or one) reliability of the measured targets, e.g. from
            :func:`split_half_noise_ceiling`. The score is then the median r divided
            by the ceiling *on r*, ``sqrt(median reliability)`` (see :func:`r_ceiling`),
            so a model that predicts the noiseless signal exactly scores 1 up to
            sampling noise.

        Returns
        -------
        Score
            Median held-out Pearson r over targets (unitless, in [-1, 1]), or that
            median as a fraction of the noise ceiling on r; a float whose repr
            names which of the two it is.
        """
        r = self.score_targets(X, y)
        med = float(np.nanmedian(r)) if np.isfinite(r).any() else float("nan")
        if noise_ceiling is None:
            return Score(med, "Pearson r", "median held-out r over targets")
        return Score(med / r_ceiling(_ceiling_value(noise_ceiling, r.size)),
                     "fraction of the noise ceiling on r", "median held-out r / sqrt(reliability)")


def r_ceiling(reliability: Any) -> Any:
    """The noise ceiling on a Pearson r, from the reliability of the measured targets.

    A target measured as ``y = s + e`` (signal ``s``, independent noise ``e``)
    has reliability ``rho = var(s) / (var(s) + var(e))``: the correlation
    between two independent measurements of the same conditions, which is what
    :func:`split_half_noise_ceiling` estimates. The best any prediction can
    do is predict ``s`` exactly, and ``corr(s, y) = sqrt(var(s) / var(y)) =
    sqrt(rho)``. So the ceiling on the held-out Pearson r is ``sqrt(rho)``
    (0.894 for a reliability of 0.80), and a ceiled score is ``r / sqrt(rho)``:
    1 for a perfect model, up to the sampling noise of r and of ``rho``.
    Dividing r by ``rho`` itself mixes units (r against r squared) and
    inflates the ceiled score by ``1 / sqrt(rho)``.

    Parameters
    ----------
    reliability : float or array-like
        Reliability in [0, 1] (NaN passes through).

    Returns
    -------
    float or numpy.ndarray
        ``sqrt(reliability)``, the highest expected Pearson r.

    References
    ----------
    Spearman (1904). The proof and measurement of association between two
    things. Am. J. Psychol. 15:72-101 (correction for attenuation).
    """
    arr = np.asarray(reliability, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise ValueError(f"reliability must be in [0, 1]; got values in [{finite.min():g}, {finite.max():g}]")
    out = np.sqrt(arr)
    return float(out) if out.ndim == 0 else out


def _ceiling_value(noise_ceiling: Any, n_targets: int, name: str = "noise_ceiling") -> float:
    c = check_array(noise_ceiling, name, ndim=(0, 1), dims="(n_targets,) or a float")
    if c.ndim == 1 and c.size != n_targets:
        raise ValueError(f"{name} must be a float or have one value per target ({n_targets}); "
                         f"got {c.size}")
    if np.isinf(c).any() or np.isnan(c).all():
        raise ValueError(f"{name} must be finite (NaN allowed for some targets); got {c.ravel()[:10].tolist()}")
    value = float(np.nanmedian(c))
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be a reliability in (0, 1]; got median {value:g}")
    return value


def split_half_noise_ceiling(repeats: Any, *, n_splits: int = 100, spearman_brown: bool = True,
                             random_state: Any = None, device: Any = "auto",
                             dtype: Any = None) -> np.ndarray:
    """Split-half reliability of every target across repeated measurements.

    The repetitions are split at random into two halves; the Pearson r between
    the two half-averaged response profiles (over conditions) is computed per
    target, corrected to the full number of repetitions by the Spearman-Brown
    formula ``2 r / (1 + r)``, and averaged over splits.

    Parameters
    ----------
    repeats : array-like (n_repeats, n_conditions, n_targets)
        Repeated measurements (trials, sessions or subjects) of the same conditions.
    n_splits : int
        Random half splits to average.
    spearman_brown : bool
        Correct the half-data correlation to the full data.
    random_state : None, int or Generator
    device, dtype :

    Returns
    -------
    numpy.ndarray (n_targets,)
        The reliability of the across-repetition mean; the expected value is
        ``var_signal / (var_signal + var_noise / n_repeats)``. NaN for a target
        that is constant across conditions (an error if every target is).
        This is on the scale of a squared correlation: the ceiling on a
        Pearson r between a prediction and the repetition mean is its square
        root (:func:`r_ceiling`), which is what :meth:`EncodingModel.score`,
        :func:`cross_validated_encoding` and
        :func:`~neurodyn.compare.compare_representations` divide by when they
        are given this reliability as ``noise_ceiling``.

    References
    ----------
    Schrimpf et al. (2018), Brain-Score, bioRxiv 407007. Spearman (1910),
    Brown (1910), Br. J. Psychol. 3.
    """
    arr = check_array(repeats, "repeats", ndim=3, dims="(n_repeats, n_conditions, n_targets)")
    check_finite(arr, "repeats")
    n_rep, n_cond = arr.shape[0], arr.shape[1]
    if n_rep < 2:
        raise ValueError(f"repeats needs at least 2 repetitions for a split-half ceiling; got {n_rep}")
    if n_cond < 3:
        raise ValueError(f"repeats needs at least 3 conditions; got {n_cond}")
    n_splits = check_positive_int(n_splits, "n_splits")
    rng = check_random_state(random_state)
    dev, dt = resolve(device, dtype)
    # r is unchanged by each target's offset and scale: remove them in float64 before the cast
    centred = arr - arr.mean(axis=(0, 1))
    peak = np.maximum(centred.max(axis=(0, 1)), -centred.min(axis=(0, 1)))
    R = to_tensor(centred / np.where(peak > 0, peak, 1.0), device=dev, dtype=dt)
    half = n_rep // 2
    total = torch.zeros(arr.shape[2], dtype=dt, device=dev)
    for _ in range(n_splits):
        perm = torch.as_tensor(rng.permutation(n_rep), device=dev)
        a = R[perm[:half]].mean(0)
        b = R[perm[half:2 * half]].mean(0)
        r = _pearson(a, b)
        if spearman_brown:
            r = 2 * r / (1 + r)
        total = total + r
    out = (total / n_splits).cpu().numpy()
    if np.isnan(out).all():
        raise ValueError("repeats: every target is constant across conditions (within rounding "
                         "errors), so no split-half reliability is defined")
    return out


def cross_validated_encoding(X: Any, Y: Any, *, alphas: Any = "auto", cv: int = 5,
                             alpha_cv: int | None = None, groups: Any = None,
                             noise_ceiling: Any = None, standardize: bool = True,
                             random_state: Any = None, device: Any = "auto",
                             dtype: Any = None) -> dict:
    """Held-out encoding performance over K folds of conditions (Brain-Score style).

    Parameters
    ----------
    X : array-like (n_conditions, n_features) or (n_conditions, n_timepoints, n_features)
        Model features; a 3-D input is encoded separately at every time point.
    Y : array-like (n_conditions, n_targets) or (n_conditions, n_timepoints, n_targets)
    alphas, standardize, device, dtype :
        As in :class:`EncodingModel`.
    cv : int
        Outer folds over conditions.
    alpha_cv : None or int
        Inner alpha selection (None: leave-one-out).
    groups : array-like (n_conditions,), optional
        Conditions sharing a group (e.g. time bins of one trial) stay in one fold,
        so autocorrelated samples do not leak between training and test.
    noise_ceiling : float or array-like (n_targets,), optional
        Reliability of the targets (e.g. :func:`split_half_noise_ceiling`); the
        score is divided by the ceiling on r, ``sqrt(median reliability)``
        (:func:`r_ceiling`).
    random_state : None, int or Generator

    Returns
    -------
    dict
        ``"r"``: held-out Pearson r per target (mean over folds), shape
        (n_targets,) or (n_timepoints, n_targets); ``"score"``: median over
        targets (per time point for 3-D input); with a ceiling,
        ``"noise_ceiling"`` (the median reliability), ``"r_ceiling"`` (its
        square root, the highest expected r) and ``"ceiled_score"`` (score /
        r_ceiling); ``"fold_r"``: per fold; ``"alpha"``: alphas chosen per fold
        and target.
    """
    dev, dt = resolve(device, dtype)
    # held-out r is unchanged by centring X (with an intercept) and by one positive factor on Y,
    # so both are centred and rescaled in the input precision before the cast; without
    # standardisation X keeps one factor for all time points and the penalties follow it
    Xb, xt, _, cx = as_scaled_batch(X, "X", dev, dt, min_conditions=1, what="encoding")
    Yb, yt, _, _ = as_scaled_batch(Y, "Y", dev, dt, min_conditions=1, what="encoding")
    alpha_factor = 1.0
    if not standardize:
        c_max = float(cx.max())
        Xb = Xb * (cx / c_max).to(device=Xb.device, dtype=Xb.dtype)[:, None, None]
        alpha_factor = c_max
    if Xb.shape[1] != Yb.shape[1]:
        raise ValueError(f"X and Y must have the same number of conditions (rows); got "
                         f"{Xb.shape[1]} and {Yb.shape[1]}")
    if xt != yt or Xb.shape[0] != Yb.shape[0]:
        raise ValueError("X and Y must both be 2-D, or both 3-D with the same number of time points")
    cv = check_positive_int(cv, "cv", minimum=2)
    n = Xb.shape[1]
    rng = check_random_state(random_state)
    if groups is None:
        _check_enough(n, cv)
        folds = np.array_split(rng.permutation(n), cv)
    else:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise ValueError(f"groups must have one entry per condition ({n}); got shape {g.shape}")
        uniq = np.unique(g)
        if uniq.size < cv:
            raise ValueError(f"too few groups for cv={cv}: got {uniq.size} distinct groups")
        gfolds = np.array_split(rng.permutation(uniq), cv)
        folds = [np.flatnonzero(np.isin(g, gf)) for gf in gfolds]
    alphas_arr = _check_alphas(alphas)
    with np.errstate(over="ignore", under="ignore"):
        alphas_fit = alphas_arr / alpha_factor / alpha_factor
    fold_r, fold_alpha = [], []
    for te in folds:
        mask = np.ones(n, dtype=bool)
        mask[te] = False
        tr = np.flatnonzero(mask)
        if tr.size < 3 or te.size < 3:
            raise ValueError(f"too few conditions for cv={cv}: a fold has {te.size} test and "
                             f"{tr.size} training conditions (need at least 3 each)")
        _check_enough(tr.size, alpha_cv, "alpha_cv")
        Xtr, Xte = Xb[:, tr], Xb[:, te]
        if standardize:
            mean = Xtr.mean(-2, keepdim=True)
            scale = Xtr.std(-2, keepdim=True, unbiased=False)
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            Xtr, Xte = (Xtr - mean) / scale, (Xte - mean) / scale
        coef, intercept, best, _ = _fit_ridge(Xtr, Yb[:, tr], alphas_fit, True, alpha_cv, rng)
        pred = Xte @ coef + intercept.unsqueeze(-2)
        fold_r.append(_pearson(pred, Yb[:, te]).cpu().numpy())
        fold_alpha.append(alphas_arr[best.cpu().numpy()])
    fold_r = np.stack(fold_r)  # (cv, B, m)
    r = np.nanmean(fold_r, axis=0)
    score = np.nanmedian(r, axis=-1)
    out = {"r": r if xt else r[0], "score": score if xt else float(score[0]),
           "fold_r": fold_r if xt else fold_r[:, 0], "alpha": np.stack(fold_alpha) if xt
           else np.stack(fold_alpha)[:, 0]}
    if noise_ceiling is not None:
        c = _ceiling_value(noise_ceiling, Yb.shape[-1])
        out["ceiled_score"] = out["score"] / r_ceiling(c)
        out["noise_ceiling"] = c
        out["r_ceiling"] = r_ceiling(c)
    return out
