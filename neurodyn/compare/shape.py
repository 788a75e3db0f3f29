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

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._score import as_score
from .._torch import TorchEstimatorMixin, check_random_state
from .._validation import check_array, check_in, check_positive_int, check_scalar
from ._inputs import as_scaled_batch, check_pair, finish, resolve
from ._inputs import scaled_distance as _scaled_distance

__all__ = [
    "ShapeMetric",
    "shape_distance",
    "pairwise_shape_distances",
    "cross_validated_shape_distance",
]

_SCORE_METHODS = ("angular", "euclidean")


def _check_alpha(alpha: Any, name: str = "alpha") -> float:
    """Partial-whitening strength in [0, 1] (1: Procrustes, 0: CCA)."""
    return check_scalar(alpha, name, low=0.0, high=1.0)


def _whiten(X: torch.Tensor, scale: torch.Tensor, alpha: float, name: str):
    """Thin-SVD form of the partial whitening of a centred, rescaled batch ``(B, n, p)``.

    ``X`` is the centred data divided by ``scale`` (n_batch,) (see
    :func:`~neurodyn.compare._inputs.as_scaled_batch`), so its entries lie in
    [-1, 1]. Returns ``R = U diag(w)`` (the whitened data in the coordinates of
    its own row space, ``X_w = scale * R V^T``), ``V^T``, the scale-free map
    ``g = w / s`` (``X_w = X_c V diag(g)`` for centred data in the training span)
    and ``w`` (float64), all in the units of the rescaled data.
    """
    U, s, Vh = torch.linalg.svd(X, full_matrices=False)
    n, p = X.shape[-2], X.shape[-1]
    tol = s[..., :1] * max(n, p) * torch.finfo(s.dtype).eps
    support = s > tol
    if bool((~support.any(dim=-1)).any()):
        raise ValueError(f"{name} has no variance across conditions; the shape metric is undefined")
    # the partial whitening alpha * s + (1 - alpha) is not homogeneous in the data's scale:
    # evaluate it in float64 for the true singular values scale * s, normalised by its largest
    # entry, then rescale it so that the total variance is kept (sum w^2 = sum s^2)
    s64 = torch.where(support, s, torch.zeros_like(s)).to(torch.float64)
    if alpha == 1.0:
        w = s64
    else:
        w = torch.where(support, alpha * s64 + (1.0 - alpha) / scale.to(s64.device)[:, None],
                        torch.zeros_like(s64))
        w = w / w.amax(dim=-1, keepdim=True)
        w = w * torch.sqrt((s64 ** 2).sum(-1, keepdim=True) / (w ** 2).sum(-1, keepdim=True))
    s_safe = torch.where(support, s64, torch.ones_like(s64))
    g = torch.where(support, w / s_safe, torch.zeros_like(s64)).to(s.dtype)
    return U * w.to(s.dtype).unsqueeze(-2), Vh, g, w


def _distance_from_parts(nuc: torch.Tensor, nx2: torch.Tensor, ny2: torch.Tensor, n: int,
                         score_method: str, cx: torch.Tensor | None = None,
                         cy: torch.Tensor | None = None) -> torch.Tensor:
    """Angular or Euclidean distance from ``<X, Y>``, ``||X||^2`` and ``||Y||^2`` of rescaled data.

    ``cx`` and ``cy`` are the factors the two sides were divided by; the angular
    distance does not depend on them, the Euclidean one is computed in float64
    from the scale-free parts without forming squares of the data's magnitude.
    """
    nuc, nx2, ny2 = nuc.to(torch.float64), nx2.to(torch.float64), ny2.to(torch.float64)
    den = torch.sqrt(nx2 * ny2)
    cos = torch.where(den > 0, nuc / torch.where(den > 0, den, torch.ones_like(den)),
                      torch.zeros_like(den))
    if score_method == "angular":
        return torch.arccos(cos.clamp(-1.0, 1.0))
    one = torch.ones((), dtype=torch.float64, device=nuc.device)
    a = torch.sqrt(nx2) * (one if cx is None else cx.to(nuc.device))
    b = torch.sqrt(ny2) * (one if cy is None else cy.to(nuc.device))
    out = _scaled_distance(cos, a, b) / math.sqrt(n)
    if not bool(torch.isfinite(out).all()):
        raise ValueError("the Euclidean shape distance is beyond the float64 range at this data "
                         "scale; rescale the data or use score_method='angular'")
    return out


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
    center = bool(center_columns)
    Xb, xt, _, cx = as_scaled_batch(X, "X", dev, dt, center=center, what="the shape metric")
    Yb, yt, _, cy = as_scaled_batch(Y, "Y", dev, dt, center=center, what="the shape metric")
    check_pair(Xb, Yb, pairwise=pairwise)
    n = Xb.shape[1]
    Rx, _, _, wx = _whiten(Xb, cx, alpha, "X")
    Ry, _, _, wy = _whiten(Yb, cy, alpha, "Y")
    nx2 = (wx ** 2).sum(-1)
    ny2 = (wy ** 2).sum(-1)
    if pairwise:
        cross = Rx.transpose(-1, -2).unsqueeze(1) @ Ry.unsqueeze(0)
        nuc = torch.linalg.svdvals(cross).sum(-1)
        vals = _distance_from_parts(nuc, nx2[:, None], ny2[None, :], n, score_method,
                                    cx[:, None], cy[None, :])
    else:
        nuc = torch.linalg.svdvals(Rx.transpose(-1, -2) @ Ry).sum(-1)
        vals = _distance_from_parts(nuc, nx2, ny2, n, score_method, cx, cy)
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
            t, time_resolved, _, c = as_scaled_batch(rep, label, dev, dt, center=bool(center_columns),
                                                     what="the shape metric")
            if time_resolved:
                raise ValueError(f"{label} must be 2-D (n_conditions, n_features); got a 3-D array")
            R, _, _, w = _whiten(t, c, alpha, label)
            out.append((label, R[0], (w[0] ** 2).sum(), c[0]))
        return out

    px = prepare(Xs, "Xs")
    py = px if Ys is None else prepare(Ys, "Ys")
    n = px[0][1].shape[0]
    for label, R, _, _ in px + py:
        if R.shape[0] != n:
            raise ValueError(f"{label} has {R.shape[0]} conditions but {px[0][0]} has {n}; "
                             "all representations must describe the same conditions")
    k = max(R.shape[1] for _, R, _, _ in px + py)
    Rx = torch.stack([_pad_cols(R, k) for _, R, _, _ in px])
    Ry = torch.stack([_pad_cols(R, k) for _, R, _, _ in py])
    nx2 = torch.stack([v for _, _, v, _ in px])
    ny2 = torch.stack([v for _, _, v, _ in py])
    cx = torch.stack([c for _, _, _, c in px])
    cy = torch.stack([c for _, _, _, c in py])
    nuc = torch.linalg.svdvals(Rx.transpose(-1, -2).unsqueeze(1) @ Ry.unsqueeze(0)).sum(-1)
    D = _distance_from_parts(nuc, nx2[:, None], ny2[None, :], n, score_method, cx[:, None], cy[None, :])
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

    n_features_in_ : int
        Number of features of ``X`` seen in ``fit`` (``n_features_x_``; ``n_features_y_`` for ``Y``).

    Notes
    -----
    Unlike scikit-learn's convention, ``score`` returns a distance (lower =
    more similar), as netrep's metrics do. ``fit``, ``score`` and :meth:`align`
    take two representations ``(X, Y)``; the metric is not a transformer
    (``transform(X, Y)`` was renamed :meth:`align`; calling it raises an
    ``AttributeError`` that says so).

    Numerics: the data are centred and divided by their largest magnitude in
    float64 before any product, so float32 gives the float64 distance within
    about 1e-3 rad (angular) at any data scale from 1e-15 to 1e15.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on
    neural representations. NeurIPS.

    Examples
    --------
    >>> from neurodyn.compare import ShapeMetric
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 5))  # (n_conditions, n_units)
    >>> Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))  # a random rotation
    >>> Y = X @ Q + 0.05 * rng.standard_normal((60, 5))
    >>> metric = ShapeMetric(alpha=1.0, device="cpu").fit(X[:40], Y[:40])  # train conditions
    >>> round(float(metric.score(X[40:], Y[40:])), 2)  # held-out angular distance (radians)
    0.04
    >>> bool(metric.score(X[40:], rng.standard_normal((20, 5))) > 1.0)  # unrelated: near pi/2
    True
    """

    def __init__(self, alpha: float = 1.0, score_method: str = "angular",
                 center_columns: bool = True, device: Any = "auto", dtype: Any = None):
        self.alpha = alpha
        self.score_method = score_method
        self.center_columns = center_columns
        self.device = device
        self.dtype = dtype

    def fit(self, X: Any, Y: Any) -> ShapeMetric:
        """Learn whitening and alignment from training conditions ``X`` and ``Y``.

        ``Y`` (required) is the second representation of the same conditions.
        """
        alpha = _check_alpha(self.alpha)
        check_in(self.score_method, "score_method", _SCORE_METHODS)
        if Y is None:
            raise TypeError("Y must be an array: a shape metric compares X with a second "
                            "representation Y of the same conditions; got None")
        self._setup_torch()
        center = bool(self.center_columns)
        what = "the shape metric"
        Xb, xt, mx, cx = as_scaled_batch(X, "X", self.device_, self.dtype_, center=center, what=what)
        Yb, yt, my, cy = as_scaled_batch(Y, "Y", self.device_, self.dtype_, center=center, what=what)
        check_pair(Xb, Yb)
        Rx, Vhx, gx, wx = _whiten(Xb, cx, alpha, "X")
        Ry, Vhy, gy, wy = _whiten(Yb, cy, alpha, "Y")
        P, sig, Qh = torch.linalg.svd(Rx.transpose(-1, -2) @ Ry, full_matrices=True)
        k = max(P.shape[-1], Qh.shape[-1])
        # g = w / s is free of the data's scale, so these maps act on centred data in its own units
        Wx = Vhx.transpose(-1, -2) @ (gx.unsqueeze(-1) * P)
        Wy = Vhy.transpose(-1, -2) @ (gy.unsqueeze(-1) * Qh.transpose(-1, -2))
        self._Wx = _pad_cols(Wx, k)
        self._Wy = _pad_cols(Wy, k)
        self._mx, self._my = mx, my
        self._cx, self._cy = cx, cy
        self._time_resolved = (xt, yt)
        self._n_batch = (Xb.shape[0], Yb.shape[0])
        self.n_features_x_ = Xb.shape[-1]
        self.n_features_y_ = Yb.shape[-1]
        self.n_features_in_ = Xb.shape[-1]
        squeeze = (lambda a: a[0]) if not (xt or yt) else (lambda a: a)

        def means(m, t):
            return np.zeros(t.shape[::2]) if m is None else self._numpy(m[..., 0, :]).astype(float)

        self.mean_x_ = squeeze(means(mx, Xb))
        self.mean_y_ = squeeze(means(my, Yb))
        self.Wx_ = squeeze(self._numpy(self._Wx))
        self.Wy_ = squeeze(self._numpy(self._Wy))
        nuc = sig.sum(-1)
        vals = _distance_from_parts(nuc, (wx ** 2).sum(-1), (wy ** 2).sum(-1), Xb.shape[1],
                                    self.score_method, cx, cy)
        self.distance_ = finish(vals, xt, yt, False)
        return self

    def _aligned(self, X: Any, Y: Any):
        """Held-out data in the aligned space, each side divided by its training scale."""
        check_is_fitted(self, "Wx_")
        if Y is None:
            raise TypeError("Y must be an array (the second representation); got None")
        out = []
        for A, name, m, c, nf, nb, tr in (
                (X, "X", self._mx, self._cx, self.n_features_x_, self._n_batch[0], self._time_resolved[0]),
                (Y, "Y", self._my, self._cy, self.n_features_y_, self._n_batch[1], self._time_resolved[1])):
            t, time_resolved, _, _ = as_scaled_batch(
                A, name, self.device_, self.dtype_, min_conditions=1,
                center=m if m is not None else False, scale=c,
                expect=(nb, nf, tr))
            out.append((t, time_resolved))
        (Xb, xt), (Yb, yt) = out
        check_pair(Xb, Yb)
        return Xb @ self._Wx, Yb @ self._Wy, xt, yt

    def align(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Map ``X`` and ``Y`` into the common aligned space (same shape, comparable entries).

        Parameters
        ----------
        X, Y : array-like
            Conditions of the two representations, in the layout given to ``fit``.

        Returns
        -------
        X_aligned, Y_aligned : ndarray (n_conditions, k) or (n_conditions, n_timepoints, k)
            ``(X - mean_x_) @ Wx_`` and ``(Y - mean_y_) @ Wy_`` (float64).
        """
        Xa, Ya, xt, yt = self._aligned(X, Y)
        Xa = Xa.to(torch.float64) * self._cx.to(Xa.device)[:, None, None]
        Ya = Ya.to(torch.float64) * self._cy.to(Ya.device)[:, None, None]
        if not (xt or yt):
            return self._numpy(Xa[0]), self._numpy(Ya[0])
        return self._numpy(Xa.permute(1, 0, 2)), self._numpy(Ya.permute(1, 0, 2))

    def __getattr__(self, name: str):
        # ``transform(X, Y)`` was renamed: a metric that takes two arrays is not a scikit-learn
        # transformer, and having a ``transform`` made scikit-learn treat it as one
        if name == "transform":
            raise AttributeError("ShapeMetric.transform(X, Y) was renamed ShapeMetric.align(X, Y): it "
                                 "takes two arrays, so it is not a scikit-learn transform")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def score(self, X: Any, Y: Any):
        """Distance between ``X`` and ``Y`` after the training alignment (lower = more similar).

        Returns
        -------
        Score or numpy.ndarray
            The distance (radians for ``score_method="angular"``, else Euclidean
            units of the data) as a float whose repr names its units; an array for
            time-resolved inputs.
        """
        Xa, Ya, xt, yt = self._aligned(X, Y)
        nx2 = (Xa.to(torch.float64) ** 2).sum(dim=(-1, -2))
        ny2 = (Ya.to(torch.float64) ** 2).sum(dim=(-1, -2))
        inner = (Xa.to(torch.float64) * Ya.to(torch.float64)).sum(dim=(-1, -2))
        if self.score_method == "angular" and bool(((nx2 <= 0) | (ny2 <= 0)).any()):
            raise ValueError("the held-out data have no component in the training span; "
                             "the angular distance is undefined")
        vals = _distance_from_parts(inner, nx2, ny2, Xa.shape[1], self.score_method,
                                    self._cx, self._cy)
        units = "radians" if self.score_method == "angular" else "data units"
        return as_score(finish(vals, xt, yt, False), units,
                        f"{self.score_method} shape distance after alignment", higher_is_better=False)

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
    dims = "(n_conditions, n_features) or (n_conditions, n_timepoints, n_features)"
    X = X if isinstance(X, torch.Tensor) else check_array(X, "X", ndim=(2, 3), dims=dims)
    Y = Y if isinstance(Y, torch.Tensor) else check_array(Y, "Y", ndim=(2, 3), dims=dims)
    n, n_y = int(X.shape[0]), int(Y.shape[0])
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
