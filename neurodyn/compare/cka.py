"""Centered kernel alignment (CKA) between representations, biased and debiased.

CKA compares two representations of the same conditions through their
condition-by-condition kernel (Gram) matrices ``K`` and ``L``:

``CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``

with the biased estimator ``HSIC(K, L) = tr(K H L H) / (n - 1)^2``
(``H = I - 11^T / n``), or the unbiased estimator of Song et al. (2012), which
removes the positive bias CKA has when conditions are few relative to
features (Murphy, Zylberberg & Fyshe, 2024). Linear CKA uses ``K = X X^T``;
RBF CKA uses a Gaussian kernel whose bandwidth is a multiple of the median
pairwise distance.

Both estimators are inner products of transformed kernel matrices (double
centering for the biased, U-centering for the unbiased one), so all pairs of
layers, regions or time points are scored with a single matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._score import as_score
from .._torch import TorchEstimatorMixin
from .._validation import check_in, check_scalar
from ._inputs import as_scaled_batch, check_pair, finish, resolve

__all__ = [
    "linear_cka",
    "rbf_cka",
    "cka_matrix",
    "hsic",
    "LinearCKA",
    "RBFCKA",
]


# ---------------------------------------------------------------------------
# kernels and centering (batched over the leading axis)
# ---------------------------------------------------------------------------

def _center_columns(X: torch.Tensor) -> torch.Tensor:
    return X - X.mean(dim=-2, keepdim=True)


def _linear_gram(X: torch.Tensor) -> torch.Tensor:
    Xc = _center_columns(X)
    if Xc.device.type == "cpu" and not Xc.requires_grad:
        # numpy dispatches A @ A.T to a symmetric rank-k update (half the flops of a GEMM)
        a = Xc.numpy()
        return torch.from_numpy(np.stack([m @ m.T for m in a]))
    return Xc @ Xc.transpose(-1, -2)


def _squared_distances(X: torch.Tensor) -> torch.Tensor:
    Xc = _center_columns(X)  # translation does not change distances; improves rounding
    sq = (Xc * Xc).sum(-1)
    d2 = sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2.0 * (Xc @ Xc.transpose(-1, -2))
    d2 = d2.clamp_min(0.0)
    n = X.shape[-2]
    return d2 * (1 - torch.eye(n, dtype=X.dtype, device=X.device))


def _median_offdiag(d2: torch.Tensor) -> torch.Tensor:
    n = d2.shape[-1]
    iu = torch.triu_indices(n, n, offset=1, device=d2.device)
    vals = d2[..., iu[0], iu[1]].sort(dim=-1).values
    m = vals.shape[-1]
    # the mean of the two middle values for an even count, as numpy.median
    return 0.5 * (vals[..., (m - 1) // 2] + vals[..., m // 2])


def _rbf_gram(X: torch.Tensor, sigma: float | None, sigma_scale: float,
              scale: torch.Tensor | None = None) -> torch.Tensor:
    """Gaussian kernel of a batch; ``scale`` (n_batch,) is the factor ``X`` was divided by."""
    d2 = _squared_distances(X)
    if sigma is None:
        med = _median_offdiag(d2)
        if bool((med <= 0).any()):
            raise ValueError("the median pairwise distance is zero (more than half of the conditions "
                             "are identical); pass an explicit sigma")
        bw2 = (med * sigma_scale * sigma_scale).clamp(max=torch.finfo(med.dtype).max)
    else:
        rel = torch.full(d2.shape[:-2], float(sigma), dtype=torch.float64, device=d2.device)
        if scale is not None:
            rel = rel / scale.to(rel.device)
        tiny = torch.finfo(d2.dtype).tiny
        bw2 = (rel ** 2).clamp(min=tiny, max=torch.finfo(d2.dtype).max).to(d2.dtype)
    return torch.exp(-d2 / (2.0 * bw2[..., None, None]))


def _double_center(K: torch.Tensor) -> torch.Tensor:
    row = K.mean(dim=-1, keepdim=True)
    col = K.mean(dim=-2, keepdim=True)
    return K - row - col + K.mean(dim=(-1, -2), keepdim=True)


def _u_center(K: torch.Tensor) -> torch.Tensor:
    """U-centering (Szekely & Rizzo 2014): <U(K), U(L)> / (n (n - 3)) is the unbiased HSIC."""
    n = K.shape[-1]
    if n < 4:
        raise ValueError(f"the debiased estimator needs at least 4 conditions; got {n}")
    eye = torch.eye(n, dtype=K.dtype, device=K.device)
    K = K * (1 - eye)
    row = K.sum(dim=-1, keepdim=True) / (n - 2)
    col = K.sum(dim=-2, keepdim=True) / (n - 2)
    tot = K.sum(dim=(-1, -2), keepdim=True) / ((n - 1) * (n - 2))
    return (K - row - col + tot) * (1 - eye)


def _transform_gram(K: torch.Tensor, debiased: bool, centered: bool = False) -> torch.Tensor:
    if debiased:
        return _u_center(K)
    return K if centered else _double_center(K)


def hsic(K: Any, L: Any, unbiased: bool = False) -> float:
    """Hilbert-Schmidt independence criterion between two kernel matrices.

    Parameters
    ----------
    K, L : array-like of shape (n, n)
        Symmetric kernel (Gram) matrices over the same ``n`` conditions.
    unbiased : bool
        False: the biased estimator ``tr(K H L H) / (n - 1)^2``. True: the
        unbiased estimator of Song et al. (2012), which needs ``n >= 4``.

    Returns
    -------
    float

    References
    ----------
    Gretton et al. (2005). Measuring statistical dependence with Hilbert-Schmidt
    norms. ALT. Song et al. (2012). Feature selection via dependence
    maximization. JMLR 13:1393-1434.
    """
    from .._validation import check_square_matrix

    Kn = check_square_matrix(K, "K")
    Ln = check_square_matrix(L, "L")
    if Kn.shape != Ln.shape:
        raise ValueError(f"K and L must have the same shape; got {Kn.shape} and {Ln.shape}")
    n = Kn.shape[0]
    if n < (4 if unbiased else 2):
        raise ValueError(f"K must be at least {'4 x 4 for the unbiased estimator' if unbiased else '2 x 2'}; "
                         f"got shape {Kn.shape}")
    # HSIC is bilinear: compute it on K / max|K| and L / max|L| (no over- or underflow in
    # the products) and multiply the two factors back at the end
    mk, ml = float(np.max(np.abs(Kn))), float(np.max(np.abs(Ln)))
    if mk == 0.0 or ml == 0.0:
        return 0.0
    Kt = torch.as_tensor(Kn / mk, dtype=torch.float64)
    Lt = torch.as_tensor(Ln / ml, dtype=torch.float64)
    if unbiased:
        val = (_u_center(Kt) * _u_center(Lt)).sum() / (n * (n - 3))
    else:
        val = (_double_center(Kt) * _double_center(Lt)).sum() / (n - 1) ** 2
    out = float(val) * mk * ml
    if not np.isfinite(out):
        raise ValueError(f"HSIC of K and L ({float(val):.3g} x {mk:.3g} x {ml:.3g}) is beyond the "
                         "float64 range; rescale the kernels")
    return out


def _normalised_flat(Kt: torch.Tensor, what: str) -> torch.Tensor:
    """Flatten transformed Gram matrices and scale them to unit Frobenius norm."""
    flat = Kt.reshape(Kt.shape[0], -1)
    norm = torch.linalg.vector_norm(flat, dim=-1)
    bad = norm <= torch.finfo(flat.dtype).tiny
    if bool(bad.any()):
        idx = int(torch.nonzero(bad)[0])
        raise ValueError(f"{what} has no variance across conditions (its centered kernel is zero"
                         f"{'' if Kt.shape[0] == 1 else f' at time point/layer {idx}'}; for an RBF "
                         "kernel, sigma or sigma_scale may be far too large for the distances between "
                         "conditions); "
                         "CKA is undefined")
    return flat / norm.unsqueeze(-1)


def _cka_grams(Kx: torch.Tensor, Ky: torch.Tensor, debiased: bool, pairwise: bool,
               centered: bool, x_name: str, y_name: str) -> torch.Tensor:
    Fx = _normalised_flat(_transform_gram(Kx, debiased, centered), x_name)
    Fy = _normalised_flat(_transform_gram(Ky, debiased, centered), y_name)
    if pairwise:
        return Fx @ Fy.T
    return (Fx * Fy).sum(-1)


def _linear_cka_features(X: torch.Tensor, Y: torch.Tensor, x_name: str, y_name: str) -> torch.Tensor:
    """Biased linear CKA in feature space: cheaper than Grams when n >> p, q."""
    Xc = _center_columns(X)
    Yc = _center_columns(Y)
    cross = torch.linalg.matrix_norm(Xc.transpose(-1, -2) @ Yc) ** 2
    nx = torch.linalg.matrix_norm(Xc.transpose(-1, -2) @ Xc)
    ny = torch.linalg.matrix_norm(Yc.transpose(-1, -2) @ Yc)
    for norm, name in ((nx, x_name), (ny, y_name)):
        if bool((norm <= torch.finfo(norm.dtype).tiny).any()):
            raise ValueError(f"{name} has no variance across conditions; CKA is undefined")
    return cross / (nx * ny)


def _linear_cka_numpy(X: np.ndarray, Y: np.ndarray, debiased: bool) -> float:
    """Linear CKA of one pair of centred float64 arrays, in numpy (same estimators as the torch path)."""
    Xc, Yc = X, Y
    n, p, q = Xc.shape[0], Xc.shape[1], Yc.shape[1]
    if not debiased and n * n * (p + q) > n * (p * q + p * p + q * q):
        cross = np.linalg.norm(Xc.T @ Yc) ** 2
        norms = [np.linalg.norm(Xc.T @ Xc), np.linalg.norm(Yc.T @ Yc)]
        for norm, name in zip(norms, ("X", "Y"), strict=True):
            if norm <= np.finfo(float).tiny:
                raise ValueError(f"{name} has no variance across conditions; CKA is undefined")
        return float(cross / (norms[0] * norms[1]))
    grams, norms = [], []
    for A, name in ((Xc, "X"), (Yc, "Y")):
        K = A @ A.T
        if debiased:
            np.fill_diagonal(K, 0.0)
            tot = K.sum() / ((n - 1) * (n - 2))
            rows = K.sum(1) / (n - 2)
            K -= rows[:, None]
            K -= rows[None, :]
            K += tot
            np.fill_diagonal(K, 0.0)
        norm = np.linalg.norm(K)
        if norm <= np.finfo(float).tiny:
            raise ValueError(f"{name} has no variance across conditions (its centered kernel is "
                             "zero); CKA is undefined")
        grams.append(K.ravel())
        norms.append(norm)
    # <K, L> / (|K| |L|) as one dot product (no normalised copies)
    return float(np.dot(grams[0], grams[1]) / norms[0] / norms[1])


#: centred float64 data whose largest magnitude lies in this range needs no rescaling for linear
#: CKA: Gram entries stay below p 2^256 and their squares (the Frobenius norms) above 2^-512
_SAFE_SPREAD = (2.0 ** -128, 2.0 ** 128)


def _centred_float64(X: Any, min_conditions: int) -> np.ndarray | None:
    """Centred copy of a plain 2-D float64 numpy array for the numpy linear-CKA path, or None.

    One pass for the mean, one for the centring and one for the extremes, which also
    catch NaN/Inf (they propagate into the extremes); the data are divided by their
    largest magnitude only outside :data:`_SAFE_SPREAD` (CKA is scale-free, so the
    two give the same value up to rounding). Anything unusual (other types, NaN/Inf,
    too few rows, no variance) returns None and goes through
    :func:`~neurodyn.compare._inputs.as_scaled_batch`, which raises the error.
    """
    if not (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
            and X.shape[0] >= min_conditions and X.shape[1] > 0):
        return None
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf are caught just below
        mean = X.mean(axis=0)
        Xc = X - mean
    spread = max(float(Xc.max()), -float(Xc.min()))
    if not np.isfinite(spread):
        return None
    # the same no-variance rule as as_scaled_batch: a centred spread at the level of
    # rounding errors of the raw magnitude is noise
    raw = spread + max(float(mean.max()), -float(mean.min()))
    if spread == 0.0 or spread <= raw * (8.0 * X.shape[0] ** 0.5 * np.finfo(np.float64).eps):
        return None
    if not _SAFE_SPREAD[0] <= spread <= _SAFE_SPREAD[1]:
        Xc /= spread
    return Xc


def linear_cka(X: Any, Y: Any, *, debiased: bool = False, pairwise: bool = False,
               device: Any = "auto", dtype: Any = None):
    """Linear centered kernel alignment between two representations.

    Parameters
    ----------
    X : array-like or tensor, shape (n_conditions, n_features_x) or (n_conditions, n_timepoints, n_features_x)
        First representation (e.g. model units). A 3-D input is scored per time point.
    Y : array-like or tensor, shape (n_conditions, n_features_y) or (n_conditions, n_timepoints, n_features_y)
        Second representation of the same conditions (e.g. voxels or neurons).
    debiased : bool
        Use the unbiased HSIC estimator (needs at least 4 conditions). The biased
        estimator is inflated when conditions are few relative to features.
    pairwise : bool
        For time-resolved inputs, score every time point of ``X`` against every
        time point of ``Y`` (a time-generalisation matrix) instead of matching them.
    device, dtype :
        Computation device (``"auto"``: CUDA when available) and dtype
        (None: float64 on the CPU, float32 on CUDA).

    Returns
    -------
    float or numpy.ndarray
        A float for 2-D inputs; shape (n_timepoints,) when either input is
        time-resolved; shape (n_timepoints_x, n_timepoints_y) with ``pairwise``.
        Values lie in [0, 1] for the biased estimator; the debiased one can be
        slightly negative.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
    representations revisited. ICML. Song et al. (2012), JMLR 13:1393-1434.
    Murphy, Zylberberg & Fyshe (2024). Correcting biased centered kernel
    alignment measures in biological and artificial neural networks. ICLR
    Re-Align workshop.
    """
    dev, dt = resolve(device, dtype)
    m = 4 if debiased else 2
    if dev.type == "cpu" and dt == torch.float64:
        # plain float64 matrices: validated, centred and (only if needed) rescaled in numpy
        Xc = _centred_float64(X, m)
        Yc = _centred_float64(Y, m) if Xc is not None else None
        if Yc is not None and Xc.shape[0] == Yc.shape[0]:
            return _linear_cka_numpy(Xc, Yc, debiased)
    Xb, xt, _, _ = as_scaled_batch(X, "X", dev, dt, min_conditions=m, what="CKA")
    Yb, yt, _, _ = as_scaled_batch(Y, "Y", dev, dt, min_conditions=m, what="CKA")
    check_pair(Xb, Yb, pairwise=pairwise)
    n, p, q = Xb.shape[1], Xb.shape[2], Yb.shape[2]
    if Xb.device.type == "cpu" and Xb.dtype == torch.float64 and not (xt or yt or Xb.requires_grad
                                                                      or Yb.requires_grad):
        # one pair of float64 matrices: numpy end to end (no switching between torch's and
        # numpy's thread pools, which costs more than the products at these sizes)
        return _linear_cka_numpy(Xb[0].numpy(), Yb[0].numpy(), debiased)
    if not debiased and not pairwise and n * n * (p + q) > n * (p * q + p * p + q * q):
        vals = _linear_cka_features(Xb, Yb, "X", "Y")
    else:
        vals = _cka_grams(_linear_gram(Xb), _linear_gram(Yb), debiased, pairwise,
                          centered=True, x_name="X", y_name="Y")
    return finish(vals, xt, yt, pairwise)


def rbf_cka(X: Any, Y: Any, *, sigma: float | None = None, sigma_scale: float = 1.0,
            debiased: bool = False, pairwise: bool = False, device: Any = "auto", dtype: Any = None):
    """CKA with Gaussian (RBF) kernels.

    The kernel is ``k(x_i, x_j) = exp(-||x_i - x_j||^2 / (2 s^2))`` with
    ``s^2 = sigma^2`` when ``sigma`` is given, otherwise
    ``s^2 = sigma_scale^2 * median_{i<j} ||x_i - x_j||^2`` computed separately
    for each representation (and time point), which makes the score invariant
    to isotropic scaling of either representation.

    Parameters
    ----------
    X, Y, debiased, pairwise, device, dtype :
        As in :func:`linear_cka`.
    sigma : float, optional
        Fixed bandwidth shared by both representations.
    sigma_scale : float
        Multiple of the median distance used when ``sigma`` is None.

    Returns
    -------
    float or numpy.ndarray
        As in :func:`linear_cka`.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
    representations revisited. ICML.
    """
    sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False, allow_none=True)
    sigma_scale = check_scalar(sigma_scale, "sigma_scale", low=0.0, low_inclusive=False)
    dev, dt = resolve(device, dtype)
    m = 4 if debiased else 2
    Xb, xt, _, sx = as_scaled_batch(X, "X", dev, dt, min_conditions=m, what="CKA")
    Yb, yt, _, sy = as_scaled_batch(Y, "Y", dev, dt, min_conditions=m, what="CKA")
    check_pair(Xb, Yb, pairwise=pairwise)
    vals = _cka_grams(_rbf_gram(Xb, sigma, sigma_scale, sx), _rbf_gram(Yb, sigma, sigma_scale, sy),
                      debiased, pairwise, centered=False, x_name="X", y_name="Y")
    return finish(vals, xt, yt, pairwise)


def _grams_of_list(reps: Any, name: str, kernel: str, debiased: bool, sigma_scale: float,
                   dev: torch.device, dt: torch.dtype) -> torch.Tensor:
    if isinstance(reps, dict):
        items = list(reps.items())
    elif isinstance(reps, (list, tuple)):
        items = [(i, r) for i, r in enumerate(reps)]
    else:
        raise TypeError(f"{name} must be a list or dict of (n_conditions, n_features) arrays; "
                        f"got {type(reps).__name__}")
    if not items:
        raise ValueError(f"{name} is empty")
    grams = []
    n_cond = None
    for key, rep in items:
        label = f"{name}[{key!r}]"
        t, time_resolved, _, _ = as_scaled_batch(rep, label, dev, dt,
                                                 min_conditions=4 if debiased else 2, what="CKA")
        if time_resolved:
            raise ValueError(f"{label} must be 2-D (n_conditions, n_features); got a 3-D array "
                             "(score time points with linear_cka(..., pairwise=True))")
        if n_cond is None:
            n_cond = t.shape[1]
        elif t.shape[1] != n_cond:
            raise ValueError(f"{label} has {t.shape[1]} conditions but {name}[{items[0][0]!r}] has "
                             f"{n_cond}; all representations must describe the same conditions")
        K = _linear_gram(t) if kernel == "linear" else _rbf_gram(t, None, sigma_scale)
        Kt = _transform_gram(K, debiased, centered=kernel == "linear")
        grams.append(_normalised_flat(Kt, label))
    return torch.cat(grams, dim=0)


def cka_matrix(Xs: Sequence[Any] | dict, Ys: Sequence[Any] | dict | None = None, *,
               kernel: str = "linear", debiased: bool = False, sigma_scale: float = 1.0,
               device: Any = "auto", dtype: Any = None) -> np.ndarray:
    """CKA between every representation in ``Xs`` and every one in ``Ys``.

    Parameters
    ----------
    Xs : list or dict of array-like, each (n_conditions, n_features_i)
        E.g. the layers of a model; widths may differ.
    Ys : list or dict of array-like, optional
        E.g. brain regions. Defaults to ``Xs`` (a symmetric layer-by-layer matrix).
    kernel : {"linear", "rbf"}
    debiased, sigma_scale, device, dtype :
        As in :func:`linear_cka` / :func:`rbf_cka`.

    Returns
    -------
    numpy.ndarray of shape (len(Xs), len(Ys))
        Computed as one product of the normalised, centered kernel matrices.
    """
    check_in(kernel, "kernel", ("linear", "rbf"))
    sigma_scale = check_scalar(sigma_scale, "sigma_scale", low=0.0, low_inclusive=False)
    dev, dt = resolve(device, dtype)
    Fx = _grams_of_list(Xs, "Xs", kernel, debiased, sigma_scale, dev, dt)
    Fy = Fx if Ys is None else _grams_of_list(Ys, "Ys", kernel, debiased, sigma_scale, dev, dt)
    if Fx.shape[1] != Fy.shape[1]:
        raise ValueError("Xs and Ys must describe the same number of conditions; got "
                         f"{int(round(Fx.shape[1] ** 0.5))} and {int(round(Fy.shape[1] ** 0.5))}")
    return (Fx @ Fy.T).cpu().numpy()


# ---------------------------------------------------------------------------
# estimator-style wrappers
# ---------------------------------------------------------------------------

class _CKABase(TorchEstimatorMixin, BaseEstimator):
    _kernel = "linear"

    def _compute(self, X, Y):
        if self._kernel == "linear":
            return linear_cka(X, Y, debiased=self.debiased, device=self.device_, dtype=self.dtype_)
        return rbf_cka(X, Y, sigma=self.sigma, sigma_scale=self.sigma_scale,
                       debiased=self.debiased, device=self.device_, dtype=self.dtype_)

    def fit(self, X, Y):
        """Compute CKA between ``X`` and ``Y``; sets ``similarity_``, ``distance_``, ``n_features_in_``.

        ``Y`` is the second representation (required): CKA compares two
        representations of the same conditions.
        """
        if Y is None:
            raise TypeError("Y must be an array: CKA compares X with a second representation Y of "
                            "the same conditions; got None")
        self._setup_torch()
        self.similarity_ = self._compute(X, Y)
        self.distance_ = np.arccos(np.clip(self.similarity_, -1.0, 1.0))
        self.n_features_in_ = int(np.shape(X)[-1])
        return self

    def score(self, X, Y):
        """CKA similarity of ``X`` and ``Y`` (unitless, 1 = same up to rotation and scale).

        Returns
        -------
        Score or numpy.ndarray
            A float whose repr names the measure (higher is more similar); an
            array for time-resolved inputs. No learned state is used.
        """
        check_is_fitted(self, "similarity_")
        if Y is None:
            raise TypeError("Y must be an array (the second representation); got None")
        return as_score(self._compute(X, Y), "CKA (unitless, <= 1)",
                        f"{self._kernel} CKA similarity")


class LinearCKA(_CKABase):
    """Linear CKA as an estimator (see :func:`linear_cka`).

    Parameters
    ----------
    debiased : bool
        Unbiased HSIC estimator.
    device, dtype :
        As in :func:`linear_cka`.

    Attributes
    ----------
    similarity_ : float or ndarray
        CKA of the data given to ``fit`` (per time point for 3-D input).
    distance_ : float or ndarray
        ``arccos(similarity_)``, the angular form used by netrep's ``LinearCKA``.
    n_features_in_ : int
        Number of features of ``X`` seen in ``fit``.

    References
    ----------
    Kornblith et al. (2019), ICML. Williams et al. (2021), Generalized shape
    metrics on neural representations, NeurIPS.

    Examples
    --------
    >>> from neurodyn.compare import LinearCKA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 8))  # (n_conditions, n_units)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))  # a random rotation
    >>> cka = LinearCKA(device="cpu").fit(X, 3.0 * X @ Q)
    >>> round(float(cka.similarity_), 2)  # blind to rotation and scale
    1.0
    >>> bool(cka.score(X, rng.standard_normal((50, 8))) < 0.3)  # an unrelated representation
    True
    """

    _kernel = "linear"

    def __init__(self, debiased: bool = False, device: Any = "auto", dtype: Any = None):
        self.debiased = debiased
        self.device = device
        self.dtype = dtype


class RBFCKA(_CKABase):
    """Gaussian-kernel CKA as an estimator (see :func:`rbf_cka`).

    Parameters
    ----------
    sigma : float, optional
        Fixed bandwidth; None uses ``sigma_scale`` times the median distance.
    sigma_scale : float
    debiased : bool
    device, dtype :

    Attributes
    ----------
    similarity_, distance_ :
        As in :class:`LinearCKA`.

    References
    ----------
    Kornblith et al. (2019), ICML.

    Examples
    --------
    >>> from neurodyn.compare import RBFCKA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 8))  # (n_conditions, n_units)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))  # a random rotation
    >>> cka = RBFCKA(device="cpu").fit(X, 3.0 * X @ Q)  # bandwidth: the median distance
    >>> round(float(cka.similarity_), 2)  # blind to rotation and scale
    1.0
    >>> bool(cka.score(X, rng.standard_normal((50, 8))) < 0.5)  # an unrelated representation
    True
    """

    _kernel = "rbf"

    def __init__(self, sigma: float | None = None, sigma_scale: float = 1.0, debiased: bool = False,
                 device: Any = "auto", dtype: Any = None):
        self.sigma = sigma
        self.sigma_scale = sigma_scale
        self.debiased = debiased
        self.device = device
        self.dtype = dtype
