"""Generalised shape metrics (Williams et al., 2021): Procrustes to CCA by partial whitening.

Each representation ``X`` (conditions x features) is column-centred and partially
whitened, ``X_w = X Z`` with ``Z = V diag(alpha + (1 - alpha) lambda^{-1/2}) V^T``
from ``X^T X = V diag(lambda) V^T``, rescaled so that the total variance is
kept. ``alpha = 1`` leaves ``X`` as it is (Procrustes shape distance), ``alpha = 0``
whitens it fully (a CCA-like distance invariant to any invertible linear map).
The two whitened representations are then aligned by the orthogonal
transformations that maximise ``tr(Wx^T X_w^T Y_w Wy)`` (an SVD), and scored by

- ``"angular"``: ``arccos(<X_w Wx, Y_w Wy>_F / (||X_w||_F ||Y_w||_F))`` (radians), or
- ``"euclidean"``: ``||X_w Wx - Y_w Wy||_F / sqrt(n_conditions)`` (root-mean-square
  distance per condition).

Both are metrics (symmetric, zero between equivalent representations,
triangle inequality) on the equivalence classes the whitening defines.

Implementation notes. Everything is computed from the thin SVD of the centred
data, so features may vastly outnumber conditions (4,096 units vs 20,000
voxels) without forming feature-by-feature matrices. Directions outside the
span of the training data (zero singular values, e.g. when conditions are
fewer than features) are left out of the whitening and of the variance
rescaling; netrep instead clips their eigenvalues at 1e-7, which only changes
results for rank-deficient data. Test data are mapped through the training
alignment; their components outside the training span are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._torch import TorchEstimatorMixin, check_random_state
from .._validation import check_in, check_positive_int
from ._inputs import as_batch, check_pair, finish, resolve

__all__ = [
    "ShapeMetric",
    "shape_distance",
    "pairwise_shape_distances",
    "cross_validated_shape_distance",
]

_SCORE_METHODS = ("angular", "euclidean")


def _check_alpha(alpha: Any) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"alpha must be a number in [0, 1]; got {alpha!r}") from exc
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (1: Procrustes, 0: CCA); got {alpha!r}")
    return a


def _whiten(X: torch.Tensor, alpha: float, center: bool, name: str):
    """Thin-SVD form of the partial whitening of a batch ``(B, n, p)``.

    Returns the column means, ``R = U diag(w)`` (the whitened data in the
    coordinates of its own row space, ``X_w = R V^T``), ``V^T`` and the scaling
    ``g`` such that ``X_w = X_c V diag(g)`` for any data in the training span.
    """
    mean = X.mean(dim=-2, keepdim=True) if center else torch.zeros_like(X[..., :1, :])
    Xc = X - mean
    U, s, Vh = torch.linalg.svd(Xc, full_matrices=False)
    n, p = X.shape[-2], X.shape[-1]
    tol = s[..., :1] * max(n, p) * torch.finfo(s.dtype).eps
    support = s > tol
    if bool((~support.any(dim=-1)).any()):
        raise ValueError(f"{name} has no variance across conditions; the shape metric is undefined")
    s_safe = torch.where(support, s, torch.ones_like(s))
    w = torch.where(support, alpha * s + (1.0 - alpha), torch.zeros_like(s))
    lam_total = (torch.where(support, s, torch.zeros_like(s)) ** 2).sum(-1, keepdim=True)
    w = w * torch.sqrt(lam_total / (w ** 2).sum(-1, keepdim=True))
    g = torch.where(support, w / s_safe, torch.zeros_like(s))
    return mean, U * w.unsqueeze(-2), Vh, g, w


def _distance_from_parts(nuc: torch.Tensor, nx2: torch.Tensor, ny2: torch.Tensor, n: int,
                         score_method: str) -> torch.Tensor:
    if score_method == "angular":
        cos = nuc / torch.sqrt(nx2 * ny2)
        return torch.arccos(cos.clamp(-1.0, 1.0))
    return torch.sqrt((nx2 + ny2 - 2.0 * nuc).clamp_min(0.0) / n)


def _pad_cols(A: torch.Tensor, k: int) -> torch.Tensor:
    if A.shape[-1] == k:
        return A
    return torch.nn.functional.pad(A, (0, k - A.shape[-1]))


def shape_distance(X: Any, Y: Any, *, alpha: float = 1.0, score_method: str = "angular",
                   center_columns: bool = True, pairwise: bool = False,
                   device: Any = "auto", dtype: Any = None):
    """Generalised shape distance between two representations, fitted and scored on the same data.

    Parameters
    ----------
    X : array-like or tensor, (n_conditions, n_features_x) or (n_conditions, n_timepoints, n_features_x)
    Y : array-like or tensor, (n_conditions, n_features_y) or (n_conditions, n_timepoints, n_features_y)
        Widths may differ (the smaller is implicitly zero-padded).
    alpha : float in [0, 1]
        Partial-whitening strength: 1 = Procrustes, 0 = CCA-like (invariant to
        invertible linear maps; degenerate when conditions <= features).
    score_method : {"angular", "euclidean"}
    center_columns : bool
        Remove each feature's mean over conditions first.
    pairwise : bool
        For time-resolved inputs, every time point of X against every time point of Y.
    device, dtype :
        As in :func:`neurodyn.compare.linear_cka`.

    Returns
    -------
    float or numpy.ndarray
        A distance (radians for ``"angular"``); per time point for 3-D input.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on
    neural representations. NeurIPS.
    """
    alpha = _check_alpha(alpha)
    check_in(score_method, "score_method", _SCORE_METHODS)
    dev, dt = resolve(device, dtype)
    Xb, xt = as_batch(X, "X", dev, dt)
    Yb, yt = as_batch(Y, "Y", dev, dt)
    check_pair(Xb, Yb, pairwise=pairwise)
    n = Xb.shape[1]
    _, Rx, _, _, wx = _whiten(Xb, alpha, center_columns, "X")
    _, Ry, _, _, wy = _whiten(Yb, alpha, center_columns, "Y")
    nx2 = (wx ** 2).sum(-1)
    ny2 = (wy ** 2).sum(-1)
    if pairwise:
        cross = Rx.transpose(-1, -2).unsqueeze(1) @ Ry.unsqueeze(0)
        nuc = torch.linalg.svdvals(cross).sum(-1)
        vals = _distance_from_parts(nuc, nx2[:, None], ny2[None, :], n, score_method)
    else:
        nuc = torch.linalg.svdvals(Rx.transpose(-1, -2) @ Ry).sum(-1)
        vals = _distance_from_parts(nuc, nx2, ny2, n, score_method)
    return finish(vals, xt, yt, pairwise)


def _list_items(reps: Any, name: str) -> list:
    if isinstance(reps, dict):
        return list(reps.items())
    if isinstance(reps, (list, tuple)):
        return list(enumerate(reps))
    raise TypeError(f"{name} must be a list or dict of (n_conditions, n_features) arrays; "
                    f"got {type(reps).__name__}")


def pairwise_shape_distances(Xs: Sequence[Any] | dict, Ys: Sequence[Any] | dict | None = None, *,
                             alpha: float = 1.0, score_method: str = "angular",
                             center_columns: bool = True, device: Any = "auto",
                             dtype: Any = None) -> np.ndarray:
    """Shape distances between every representation in ``Xs`` and every one in ``Ys``.

    Each representation is whitened once; all pairs are then scored by one
    batched singular-value computation on condition-by-condition matrices.

    Parameters
    ----------
    Xs, Ys : list or dict of array-like (n_conditions, n_features_i)
        ``Ys`` defaults to ``Xs``.
    alpha, score_method, center_columns, device, dtype :
        As in :func:`shape_distance`.

    Returns
    -------
    numpy.ndarray of shape (len(Xs), len(Ys))

    References
    ----------
    Williams et al. (2021), NeurIPS.
    """
    alpha = _check_alpha(alpha)
    check_in(score_method, "score_method", _SCORE_METHODS)
    dev, dt = resolve(device, dtype)

    def prepare(reps, name):
        items = _list_items(reps, name)
        if not items:
            raise ValueError(f"{name} is empty")
        out = []
        for key, rep in items:
            label = f"{name}[{key!r}]"
            t, time_resolved = as_batch(rep, label, dev, dt)
            if time_resolved:
                raise ValueError(f"{label} must be 2-D (n_conditions, n_features); got a 3-D array")
            _, R, _, _, w = _whiten(t, alpha, center_columns, label)
            out.append((label, R[0], (w[0] ** 2).sum()))
        return out

    px = prepare(Xs, "Xs")
    py = px if Ys is None else prepare(Ys, "Ys")
    n = px[0][1].shape[0]
    for label, R, _ in px + py:
        if R.shape[0] != n:
            raise ValueError(f"{label} has {R.shape[0]} conditions but {px[0][0]} has {n}; "
                             "all representations must describe the same conditions")
    k = max(R.shape[1] for _, R, _ in px + py)
    Rx = torch.stack([_pad_cols(R, k) for _, R, _ in px])
    Ry = torch.stack([_pad_cols(R, k) for _, R, _ in py])
    nx2 = torch.stack([v for _, _, v in px])
    ny2 = torch.stack([v for _, _, v in py])
    nuc = torch.linalg.svdvals(Rx.transpose(-1, -2).unsqueeze(1) @ Ry.unsqueeze(0)).sum(-1)
    D = _distance_from_parts(nuc, nx2[:, None], ny2[None, :], n, score_method)
    if Ys is None:
        D = 0.5 * (D + D.T)
        D.fill_diagonal_(0.0)
    return D.cpu().numpy()


class ShapeMetric(TorchEstimatorMixin, BaseEstimator):
    """Generalised shape metric with a fit/score split for cross-validation.

    ``fit(X, Y)`` learns the column means, partial-whitening maps and the
    optimal orthogonal alignment on training conditions; ``score(X, Y)``
    returns the distance between held-out conditions mapped through them.

    Parameters
    ----------
    alpha : float in [0, 1]
        1 = Procrustes (rotations and isotropic scaling are ignored), 0 = CCA-like.
    score_method : {"angular", "euclidean"}
        Angular distance in radians, or root-mean-square Euclidean distance per condition.
    center_columns : bool
        Subtract the training means of each feature.
    device, dtype :
        Computation device and dtype (see :mod:`neurodyn._torch`).

    Attributes
    ----------
    mean_x_, mean_y_ : ndarray of shape (n_features,) or (n_timepoints, n_features)
        Training column means.
    Wx_, Wy_ : ndarray of shape (n_features, k) or (n_timepoints, n_features, k)
        Linear maps (whitening then rotation) taking centred data to the common
        aligned space (``k`` = the larger training rank; the other side is
        zero-padded).
    distance_ : float or ndarray
        The distance on the training data.

    Notes
    -----
    Unlike scikit-learn's convention, ``score`` returns a distance (lower =
    more similar), as netrep's metrics do.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on
    neural representations. NeurIPS.
    """

    def __init__(self, alpha: float = 1.0, score_method: str = "angular",
                 center_columns: bool = True, device: Any = "auto", dtype: Any = None):
        self.alpha = alpha
        self.score_method = score_method
        self.center_columns = center_columns
        self.device = device
        self.dtype = dtype

    def fit(self, X: Any, Y: Any) -> ShapeMetric:
        """Learn whitening and alignment from training conditions ``X`` and ``Y``."""
        alpha = _check_alpha(self.alpha)
        check_in(self.score_method, "score_method", _SCORE_METHODS)
        self._setup_torch()
        Xb, xt = as_batch(X, "X", self.device_, self.dtype_)
        Yb, yt = as_batch(Y, "Y", self.device_, self.dtype_)
        check_pair(Xb, Yb)
        mx, Rx, Vhx, gx, wx = _whiten(Xb, alpha, self.center_columns, "X")
        my, Ry, Vhy, gy, wy = _whiten(Yb, alpha, self.center_columns, "Y")
        P, sig, Qh = torch.linalg.svd(Rx.transpose(-1, -2) @ Ry, full_matrices=True)
        k = max(P.shape[-1], Qh.shape[-1])
        Wx = Vhx.transpose(-1, -2) @ (gx.unsqueeze(-1) * P)
        Wy = Vhy.transpose(-1, -2) @ (gy.unsqueeze(-1) * Qh.transpose(-1, -2))
        self._Wx = _pad_cols(Wx, k)
        self._Wy = _pad_cols(Wy, k)
        self._mx, self._my = mx, my
        self._time_resolved = (xt, yt)
        self.n_features_x_ = Xb.shape[-1]
        self.n_features_y_ = Yb.shape[-1]
        squeeze = (lambda a: a[0]) if not (xt or yt) else (lambda a: a)
        self.mean_x_ = squeeze(self._numpy(mx[..., 0, :]))
        self.mean_y_ = squeeze(self._numpy(my[..., 0, :]))
        self.Wx_ = squeeze(self._numpy(self._Wx))
        self.Wy_ = squeeze(self._numpy(self._Wy))
        nuc = sig.sum(-1)
        vals = _distance_from_parts(nuc, (wx ** 2).sum(-1), (wy ** 2).sum(-1), Xb.shape[1],
                                    self.score_method)
        self.distance_ = finish(vals, xt, yt, False)
        return self

    def _aligned(self, X: Any, Y: Any):
        check_is_fitted(self, "Wx_")
        Xb, xt = as_batch(X, "X", self.device_, self.dtype_, min_conditions=1)
        Yb, yt = as_batch(Y, "Y", self.device_, self.dtype_, min_conditions=1)
        check_pair(Xb, Yb)
        if (xt, yt) != self._time_resolved:
            raise ValueError("X and Y must have the same layout (2-D or 3-D) as the data given to fit")
        for t, nf, name in ((Xb, self.n_features_x_, "X"), (Yb, self.n_features_y_, "Y")):
            if t.shape[-1] != nf:
                raise ValueError(f"{name} has {t.shape[-1]} features; the metric was fitted with {nf}")
        Xa = (Xb - self._mx) @ self._Wx
        Ya = (Yb - self._my) @ self._Wy
        return Xa, Ya, xt, yt

    def transform(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Map ``X`` and ``Y`` into the common aligned space (same shape, comparable entries)."""
        Xa, Ya, xt, yt = self._aligned(X, Y)
        if not (xt or yt):
            return self._numpy(Xa[0]), self._numpy(Ya[0])
        return self._numpy(Xa.permute(1, 0, 2)), self._numpy(Ya.permute(1, 0, 2))

    def score(self, X: Any, Y: Any):
        """Distance between ``X`` and ``Y`` after the training alignment (lower = more similar)."""
        Xa, Ya, xt, yt = self._aligned(X, Y)
        nx2 = (Xa ** 2).sum(dim=(-1, -2))
        ny2 = (Ya ** 2).sum(dim=(-1, -2))
        inner = (Xa * Ya).sum(dim=(-1, -2))
        if self.score_method == "angular" and bool(((nx2 <= 0) | (ny2 <= 0)).any()):
            raise ValueError("the held-out data have no component in the training span; "
                             "the angular distance is undefined")
        vals = _distance_from_parts(inner, nx2, ny2, Xa.shape[1], self.score_method)
        return finish(vals, xt, yt, False)

    def fit_score(self, X: Any, Y: Any):
        """Fit on ``X``, ``Y`` and return the training distance."""
        return self.fit(X, Y).distance_


def cross_validated_shape_distance(X: Any, Y: Any, *, alpha: float = 1.0,
                                   score_method: str = "angular", cv: int = 5,
                                   random_state: Any = None, center_columns: bool = True,
                                   device: Any = "auto", dtype: Any = None) -> dict:
    """Shape distance on held-out conditions (K-fold over conditions).

    Parameters
    ----------
    X, Y : array-like
        As in :func:`shape_distance`.
    alpha, score_method, center_columns, device, dtype :
        As in :class:`ShapeMetric`.
    cv : int
        Number of folds (at least 2); every fold must hold at least 2 conditions.
    random_state : None, int or numpy Generator
        Shuffles the conditions before splitting.

    Returns
    -------
    dict
        ``"distance"``: mean held-out distance (float, or per time point);
        ``"fold_distances"``: ndarray of shape (cv,) or (cv, n_timepoints);
        ``"train_distance"``: the mean in-sample distance (for the overfitting gap).

    References
    ----------
    Williams et al. (2021), NeurIPS.
    """
    cv = check_positive_int(cv, "cv", minimum=2)
    X = X if isinstance(X, torch.Tensor) else np.asarray(X)
    Y = Y if isinstance(Y, torch.Tensor) else np.asarray(Y)
    n = int(np.shape(X)[0]) if not isinstance(X, torch.Tensor) else int(X.shape[0])
    n_y = int(np.shape(Y)[0]) if not isinstance(Y, torch.Tensor) else int(Y.shape[0])
    if n != n_y:
        raise ValueError(f"X and Y must have the same number of conditions (rows); got {n} and {n_y}")
    if n < 2 * cv:
        raise ValueError(f"too few conditions for cv={cv}: each fold needs at least 2 held-out "
                         f"conditions, so at least {2 * cv} are required; got {n}")
    rng = check_random_state(random_state)
    order = rng.permutation(n)
    folds = np.array_split(order, cv)
    metric = ShapeMetric(alpha=alpha, score_method=score_method, center_columns=center_columns,
                         device=device, dtype=dtype)
    test, train = [], []
    for k in range(cv):
        te = np.sort(folds[k])
        tr = np.sort(np.concatenate([folds[j] for j in range(cv) if j != k]))
        metric.fit(X[tr], Y[tr])
        train.append(metric.distance_)
        test.append(metric.score(X[te], Y[te]))
    test_arr = np.asarray(test, dtype=float)
    mean = test_arr.mean(axis=0)
    return {"distance": float(mean) if np.ndim(mean) == 0 else mean,
            "fold_distances": test_arr,
            "train_distance": np.asarray(train, dtype=float).mean(axis=0)}
