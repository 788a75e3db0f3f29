"""Topological RSA (tRSA): which geo-topological transform best identifies a region?

The model-selection protocol of Lin & Kriegeskorte: every RDM (one per
subject/instance and region/layer) is transformed (rank-normalised RDM, RGTM
for (l, u) drawn from a family of the (l, u) square, or RGDM), and a
leave-one-subject-out nearest-centroid classifier (Euclidean) names its region.
Accuracy, the confusion matrix and per-class sensitivity/specificity summarise
how region-specific the transformed representations are; a bootstrap over
subjects and stimuli gives their uncertainty.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._parallel import check_n_jobs, n_workers, parallel_map
from .._score import Score
from .._torch import check_random_state
from .._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_in,
    check_labels,
    check_positive_int,
    check_scalar,
    pow2_scale,
)
from ._checks import as_rdm_vectors, check_bool, restore_form
from .rdm import n_conditions_from_pairs
from .transforms import _graph_geodesic_vectors, _rank01

__all__ = ["TopologicalRSA", "FAMILIES", "draw_thresholds", "geotopological_grid",
           "loso_nearest_centroid", "rdm_noise_sweep", "sensitivity_specificity"]

FAMILIES = ("rdm", "local", "global", "geometry", "topology", "intermediate", "rgdm")


def _in_family(lo: np.ndarray, up: np.ndarray, family: str) -> np.ndarray:
    mean = (lo + up) / 2
    local = mean <= 0.2
    glob = mean >= 0.8
    geom = (up - lo) >= 0.8
    topo = (lo >= 0.4) & (up <= 0.6)
    if family == "local":
        return local
    if family == "global":
        return glob
    if family == "geometry":
        return geom
    if family == "topology":
        return topo
    return ~(local | glob | geom | topo)


def draw_thresholds(family: str, n_draws: int = 10, random_state: Any = None) -> np.ndarray:
    """Seeded (l, u) draws from a region of the (l, u) square (``l <= u``).

    Regions (quantile units): ``"local"`` mean(l, u) <= 0.2; ``"global"``
    mean(l, u) >= 0.8; ``"geometry"`` u - l >= 0.8; ``"topology"`` l >= 0.4 and
    u <= 0.6; ``"intermediate"`` none of these; ``"rdm"`` the single pair (0, 1).
    Pairs are drawn uniformly on ``l <= u``, rounded to 2 decimals; pairs with
    ``l + u <= 0.01`` or ``>= 1.99`` are rejected, as in the authors' code.

    Returns
    -------
    numpy.ndarray, shape (n_draws, 2)
    """
    check_in(family, "family", ("rdm", "local", "global", "geometry", "topology", "intermediate"))
    n_draws = check_positive_int(n_draws, "n_draws")
    if family == "rdm":
        return np.array([[0.0, 1.0]])
    check_allocation(8.0 * n_draws, "n_draws", what="(l, u) candidates")
    rng = check_random_state(random_state)
    out: list[tuple[float, float]] = []
    while len(out) < n_draws:
        cand = np.round(np.sort(rng.uniform(0, 1, size=(4 * n_draws, 2)), axis=1), 2)
        lo, up = cand[:, 0], cand[:, 1]
        ok = _in_family(lo, up, family) & (lo + up > 0.01) & (lo + up < 1.99)
        out.extend(map(tuple, cand[ok]))
    return np.asarray(out[:n_draws], dtype=float)


def rdm_noise_sweep(rdms: Any, levels: Any = (0.0, 0.5, 1.0, 2.0, 4.0), n_repetitions: int = 5,
                    random_state: Any = 0, clip: bool = True) -> np.ndarray:
    """Noisy copies of RDMs over a sweep of noise levels and repetitions.

    Each copy is ``d' = max(d + e, 0)`` with ``e`` i.i.d. Gaussian per entry,
    ``e ~ N(0, (level * std(rdms))^2)``, where ``std`` is the standard deviation
    of all entries of all RDMs together. Every draw comes from one generator
    seeded by ``random_state``, levels in the outer loop and repetitions in the
    inner one, and a level of 0 consumes its draws too: the draws of the
    ``i``-th level depend only on the seed and on ``i``, not on the values of the
    other levels.

    This is the protocol of the AlexNet layer-identification check of
    neurodyn's tRSA (noise on rank-normalised RDMs, levels 0, 0.5, 1, 2, 4 in
    units of their SD, 5 repetitions, seed 0; accuracy averaged over
    repetitions). The authors' simulations add noise of SD ``N/10 * std`` to raw
    RDMs (``N = 0..4``), i.e. levels ``N / 10`` here.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
        RDM vectors (e.g. rank-normalised with
        :func:`neurodyn.rsa.rank_transform`); finite. Not modified.
    levels : sequence of float >= 0
        Noise SDs in units of the SD of all entries of ``rdms``.
    n_repetitions : int
        Independent noise draws per level.
    random_state : int, numpy Generator or None
        Seed of the single generator all draws come from.
    clip : bool
        Clip noisy entries at 0 (dissimilarities stay non-negative), as the authors.

    Returns
    -------
    numpy.ndarray, shape (n_levels, n_repetitions) + rdms.shape
        Float64; memory ``n_levels * n_repetitions`` times that of ``rdms``
        (square RDMs come back square, with symmetric noise and a zero diagonal).

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.
    """
    x, form = as_rdm_vectors(rdms, "rdms", allow_nan=False)
    lev = check_finite(check_array(levels, "levels", ndim=1, dims="(n_levels,)"), "levels")
    if np.any(lev < 0):
        raise ValueError(f"levels must be >= 0; got {lev.tolist()}")
    n_rep = check_positive_int(n_repetitions, "n_repetitions")
    clip = check_bool(clip, "clip")
    rng = check_random_state(random_state)
    scale = pow2_scale(float(np.max(np.abs(x))))
    sd = float((x / scale).std()) * scale  # no overflow of the squares near float64's limit
    check_allocation(float(lev.size) * n_rep * x.size, "levels, n_repetitions", what="noisy RDMs")
    out = np.empty((lev.size, n_rep) + x.shape)
    for i, level in enumerate(lev):
        for r in range(n_rep):
            out[i, r] = x + rng.normal(0.0, level * sd, size=x.shape)
    if clip:
        np.maximum(out, 0.0, out=out)
    if not np.isfinite(out).all():
        raise ValueError("levels: the noisy RDMs overflow float64; use smaller levels or rescale rdms")
    return restore_form(out, form)


def _gt_many(ranked: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """GT of rank-normalised vectors (n_rdms, n) for many (l, u): (n_pairs_lu, n_rdms, n)."""
    q = np.quantile(ranked, np.concatenate([pairs[:, 0], pairs[:, 1]]), axis=1)  # (2P, n_rdms)
    lo = q[: len(pairs)][:, :, None]
    hi = q[len(pairs):][:, :, None]
    span = hi - lo
    graded = np.clip((ranked[None] - lo) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return np.where(span > 0, graded, (ranked[None] > lo).astype(float))


def loso_nearest_centroid(features: np.ndarray, classes: np.ndarray, subjects: np.ndarray,
                          n_classes: int) -> np.ndarray:
    """Leave-one-subject-out nearest-centroid predictions (Euclidean), batched.

    Parameters
    ----------
    features : ndarray, shape (n_batch, n_rdms, n_features)
        Several feature sets (e.g. one per (l, u) draw) classified at once.
    classes : ndarray of int, shape (n_rdms,)
        Class index in ``[0, n_classes)``.
    subjects : ndarray of int, shape (n_rdms,)
        Subject index; all RDMs of a subject are held out together.

    Returns
    -------
    ndarray of int, shape (n_batch, n_rdms); -1 where a class has no training RDM.
    """
    features = check_array(features, "features", ndim=3, dims="(n_batch, n_rdms, n_features)")
    check_finite(features, "features")
    nb, n, p = features.shape
    n_classes = check_positive_int(n_classes, "n_classes")
    classes = _int_labels(classes, "classes", n, n_classes)
    subjects = _int_labels(subjects, "subjects", n, None)
    n_sub = int(subjects.max()) + 1
    cell = subjects * n_classes + classes
    onehot = np.zeros((n, n_sub * n_classes))
    onehot[np.arange(n), cell] = 1.0
    sums = np.einsum("nk,bnp->bkp", onehot, features)
    counts = np.bincount(cell, minlength=n_sub * n_classes).reshape(n_sub, n_classes)
    sums = sums.reshape(nb, n_sub, n_classes, p)
    total = sums.sum(1)
    total_n = counts.sum(0)
    pred = np.empty((nb, n), dtype=np.int64)
    for s in range(n_sub):
        rows = np.flatnonzero(subjects == s)
        if rows.size == 0:
            continue
        n_train = total_n - counts[s]
        cent = (total - sums[:, s]) / np.maximum(n_train, 1)[None, :, None]
        x = features[:, rows]
        d2 = (np.einsum("brp,brp->br", x, x)[:, :, None] - 2 * np.einsum("brp,bcp->brc", x, cent)
              + np.einsum("bcp,bcp->bc", cent, cent)[:, None, :])
        d2[:, :, n_train == 0] = np.inf
        best = np.argmin(d2, axis=-1)
        best[:, ~np.isfinite(d2.min(-1)).all(0)] = -1
        pred[:, rows] = best
    return pred


def _int_labels(labels: Any, name: str, n: int, n_values: int | None) -> np.ndarray:
    """Integer labels ``(n,)`` in ``[0, n_values)`` (``n_values`` None: any non-negative)."""
    arr = check_array(labels, name, ndim=1, dims="(n_rdms,)", dtype=None)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer indices; got dtype {arr.dtype}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries to match features; got {arr.shape[0]}")
    hi = n_values if n_values is not None else np.iinfo(np.int64).max
    if arr.min() < 0 or arr.max() >= hi:
        bound = f"n_classes={hi}" if name == "classes" else f"{hi}"
        raise ValueError(f"{name} must hold indices in [0, {hi}) ({bound}); got range "
                         f"[{arr.min()}, {arr.max()}]" + (
                             "; n_classes is smaller than the number of classes"
                             if name == "classes" and arr.max() >= hi else ""))
    return arr.astype(np.int64)


def sensitivity_specificity(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sensitivity ``C_cc / sum_j C_cj`` and specificity
    ``1 - sum_{t != c} C_tc / sum_{t != c} sum_j C_tj`` of a (true x predicted) confusion matrix.

    ``confusion`` holds finite non-negative counts, square ``(n_classes, n_classes)``.
    A class without any true sample has an undefined (NaN) sensitivity, and a
    specificity that is NaN when no other class has samples either.
    """
    c = check_array(confusion, "confusion", ndim=2, dims="(n_classes, n_classes)")
    check_finite(c, "confusion")
    if c.shape[0] != c.shape[1]:
        raise ValueError(f"confusion must be square (n_classes, n_classes); got shape {c.shape}")
    if np.any(c < 0):
        raise ValueError(f"confusion must hold non-negative counts; got min {float(c.min()):g}")
    if c.sum() == 0:
        raise ValueError("confusion holds no counts (all zero)")
    row = c.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.diag(c) / row
        false_pos = c.sum(0) - np.diag(c)
        negatives = row.sum() - row
        spec = 1.0 - false_pos / negatives
    return sens, spec


def _confusions(pred: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    nb = pred.shape[0]
    conf = np.zeros((nb, n_classes, n_classes), dtype=np.int64)
    valid = pred >= 0
    b_idx = np.broadcast_to(np.arange(nb)[:, None], pred.shape)
    np.add.at(conf, (b_idx[valid], np.broadcast_to(classes, pred.shape)[valid], pred[valid]), 1)
    return conf


def _resample_rdms(rdms: np.ndarray, pattern_idx: np.ndarray, handle_duplicates: str) -> np.ndarray:
    """Re-index RDM vectors by resampled conditions; self-pairs of duplicates are
    dropped (same positions for every RDM) or replaced by each RDM's mean."""
    k = n_conditions_from_pairs(rdms.shape[1])
    iu = np.triu_indices(k, 1)
    lookup = np.full((k, k), -1, dtype=np.int64)
    lookup[iu] = np.arange(iu[0].size)
    lookup[iu[1], iu[0]] = lookup[iu]
    a, b = pattern_idx[iu[0]], pattern_idx[iu[1]]
    pos = lookup[a, b]
    dup = pos < 0
    out = rdms[:, np.where(dup, 0, pos)]
    if handle_duplicates == "drop":
        return out[:, ~dup]
    if dup.any():
        out[:, dup] = out[:, ~dup].mean(1, keepdims=True)
    return out


class TopologicalRSA(BaseEstimator):
    """Topological RSA model selection: leave-one-subject-out region identification.

    Parameters
    ----------
    family : {"topology", "local", "global", "geometry", "intermediate", "rdm", "rgdm"}
        Which transform: a region of the (l, u) square (``n_draws`` seeded RGTM
        draws, see :func:`draw_thresholds`), ``"rdm"`` (the rank-normalised RDM,
        i.e. GT(0, 1)) or ``"rgdm"`` (geo-topological transform then geodesic
        shortest paths, rank-normalised; the paper's RGDM). Ignored when
        ``lower`` and ``upper`` are given.
    lower, upper : float, optional
        One explicit (l, u) pair (quantile units) instead of a family; with
        ``family="rgdm"`` they set the RGDM's thresholds (default 0.2, 0.8).
    n_draws : int
        Number of (l, u) draws for a family; accuracy is averaged over draws.
    n_bootstrap : int
        Bootstrap samples for the uncertainty of the accuracy (0 for none).
    bootstrap : {"subjects_stimuli", "subjects", "stimuli", "rows"}
        What is resampled with replacement. ``"rows"`` reproduces the authors'
        code (RDM rows, i.e. "n_sess"). Resampled subjects are held out by their
        original identity, so a duplicated subject never trains on itself.
    handle_duplicates : {"drop", "mean"}
        Self-pairs of duplicated stimuli are undefined: drop these entries (for
        every RDM) or replace them by each RDM's mean.
    zero_edges : {"drop", "keep"}
        RGDM only; see :func:`neurodyn.rsa.geodesic_transform`.
    random_state : int, numpy Generator or None
        Seeds the (l, u) draws and the bootstrap.
    verbose : bool
        Show a progress bar over bootstrap samples (over blocks of samples with
        ``n_jobs``).
    n_jobs : int or None
        Bootstrap samples scored in parallel (joblib semantics; any backend of
        ``joblib.parallel_config``, e.g. ``"dask"``). Every resampling is drawn
        in the calling process first, in the serial order, so the results do not
        depend on ``n_jobs`` or the backend.

    Attributes
    ----------
    classes_ : ndarray, region labels.
    n_features_in_ : int, entries per RDM vector (n_pairs) seen in fit.
    subjects_ : ndarray, subject labels.
    thresholds_ : ndarray (n_draws, 2), the (l, u) pairs used.
    predictions_ : ndarray (n_draws, n_rdms), LOSO predicted class index.
    accuracies_ : ndarray (n_draws,), accuracy per draw.
    accuracy_ : float, mean accuracy over draws (chance = 1 / n_classes).
    confusion_ : ndarray (n_classes, n_classes), true x predicted, summed over draws.
    sensitivity_, specificity_ : ndarray (n_classes,), from ``confusion_``.
    bootstrap_accuracies_ : ndarray (n_bootstrap,), draw-averaged accuracy per sample.
    accuracy_se_ : float, bootstrap standard deviation of the accuracy.
    ci_ : ndarray (2,), 95% interval ``accuracy_ ± 1.96 · accuracy_se_`` clipped to [0, 1].
        The bootstrap distribution itself is shifted below the point estimate
        (a resample holds fewer distinct subjects and stimuli, so the
        leave-one-subject-out classifier sees less), which can put its
        percentiles entirely below ``accuracy_``; the authors therefore report
        the bootstrap SD as the error bar, and so does this interval.
        ``bootstrap_accuracies_`` keeps the raw samples.

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.

    Examples
    --------
    >>> from neurodyn.rsa import TopologicalRSA
    >>> from neurodyn.datasets.simulate import make_layer_rdms
    >>> sim = make_layer_rdms(n_layers=3, n_subjects=4, n_stimuli=12, random_state=0)
    >>> sim["rdms"].shape  # (n_rdms, n_pairs): 3 layers x 4 subjects, 12 stimuli
    (12, 66)
    >>> trsa = TopologicalRSA(n_draws=5, n_bootstrap=0, random_state=0)
    >>> trsa = trsa.fit(sim["rdms"], sim["layers"], sim["subjects"])
    >>> round(trsa.accuracy_, 2), trsa.classes_.tolist()  # LOSO accuracy; chance is 1/3
    (1.0, [0, 1, 2])
    >>> trsa.predict(sim["rdms"][:3]).tolist()  # the layers of subject 0's RDMs
    [0, 1, 2]
    """

    def __init__(self, family: str = "topology", lower: float | None = None, upper: float | None = None,
                 n_draws: int = 10, n_bootstrap: int = 1000, bootstrap: str = "subjects_stimuli",
                 handle_duplicates: str = "drop", zero_edges: str = "drop", random_state: Any = None,
                 verbose: bool = False, n_jobs: int | None = None):
        self.family = family
        self.lower = lower
        self.upper = upper
        self.n_draws = n_draws
        self.n_bootstrap = n_bootstrap
        self.bootstrap = bootstrap
        self.handle_duplicates = handle_duplicates
        self.zero_edges = zero_edges
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ helpers
    def _thresholds(self, rng: np.random.Generator) -> np.ndarray:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("lower and upper must be given together")
        if self.lower is not None:
            lo, up = check_scalar(self.lower, "lower"), check_scalar(self.upper, "upper")
            if lo > up:
                raise ValueError(f"lower must be <= upper; got lower={lo} > upper={up}")
            if not (0.0 <= lo <= 1.0 and 0.0 <= up <= 1.0):
                raise ValueError(f"lower and upper must lie in [0, 1]; got ({lo}, {up})")
            return np.array([[lo, up]])
        if self.family == "rgdm":
            return np.array([[0.2, 0.8]])
        return draw_thresholds(self.family, self.n_draws, rng)

    def _features(self, rdms: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return _transform_features(rdms, thresholds, self.family, self.zero_edges)

    def _score(self, rdms, cls, subj, thresholds):
        feats = self._features(rdms, thresholds)
        pred = loso_nearest_centroid(feats, cls, subj, len(self.classes_))
        return pred, (pred == cls[None]).mean(1)

    # ------------------------------------------------------------------ API
    def fit(self, rdms: Any, regions: Any, subjects: Any) -> TopologicalRSA:
        """Run the LOSO classification (and the bootstrap).

        The signature follows scikit-learn's ``fit(X, y, groups)``: the RDMs are
        the samples, the regions the targets and the subjects the groups.

        Parameters
        ----------
        rdms : array-like, shape (n_rdms, n_pairs) or (n_rdms, K, K)
            One RDM per (subject, region), as vectors or squares; finite.
        regions : array-like, shape (n_rdms,)
            Region / layer label of each RDM (at least 2 classes).
        subjects : array-like, shape (n_rdms,)
            Subject / instance label of each RDM (at least 2 subjects).

        Returns
        -------
        self
        """
        check_in(self.family, "family", FAMILIES)
        check_in(self.bootstrap, "bootstrap", ("subjects_stimuli", "subjects", "stimuli", "rows"))
        check_in(self.handle_duplicates, "handle_duplicates", ("drop", "mean"))
        check_in(self.zero_edges, "zero_edges", ("drop", "keep"))
        if self.zero_edges != "drop" and self.family != "rgdm":
            raise ValueError(f"zero_edges is only used by family='rgdm'; got family={self.family!r}")
        n_boot = check_positive_int(self.n_bootstrap, "n_bootstrap", minimum=0)
        check_positive_int(self.n_draws, "n_draws")
        check_bool(self.verbose, "verbose")
        check_n_jobs(self.n_jobs)
        x, _ = as_rdm_vectors(rdms, "rdms", allow_nan=False)
        k = n_conditions_from_pairs(x.shape[1])
        if k < 3:
            raise ValueError(f"rdms must have at least 3 conditions; got {k}")
        reg = check_labels(regions, "regions", n_samples=x.shape[0], min_classes=2)
        sub = check_labels(subjects, "subjects", n_samples=x.shape[0], min_classes=2)
        self.classes_, cls = np.unique(reg, return_inverse=True)
        self.subjects_, subj = np.unique(sub, return_inverse=True)
        cls, subj = cls.ravel(), subj.ravel()
        rng = check_random_state(self.random_state)
        self.thresholds_ = self._thresholds(rng)
        feats = self._features(x, self.thresholds_)
        pred = loso_nearest_centroid(feats, cls, subj, len(self.classes_))
        acc = (pred == cls[None]).mean(1)
        onehot = np.eye(len(self.classes_))[cls]
        self._centroids = np.einsum("nc,bnp->bcp", onehot / onehot.sum(0), feats)
        self.n_features_in_ = x.shape[1]
        self.predictions_ = pred
        self.accuracies_ = acc
        self.accuracy_ = float(acc.mean())
        self.confusion_ = _confusions(pred, cls, len(self.classes_)).sum(0)
        self.sensitivity_, self.specificity_ = sensitivity_specificity(self.confusion_)
        self.chance_ = 1.0 / len(self.classes_)
        # every draw is made here, in the order of the serial loop, so that the samples
        # (and the results) do not depend on n_jobs; the samples are then scored in blocks
        n_sub = len(self.subjects_)
        draws = []
        for _ in range(n_boot):
            rows = pidx = None
            if self.bootstrap in ("subjects_stimuli", "subjects"):
                chosen = rng.integers(0, n_sub, n_sub)
                rows = np.concatenate([np.flatnonzero(subj == s) for s in chosen])
            elif self.bootstrap == "rows":
                rows = rng.integers(0, x.shape[0], x.shape[0])
            if self.bootstrap in ("subjects_stimuli", "stimuli", "rows"):
                pidx = rng.integers(0, k, k)
            draws.append((rows, pidx))
        n_blocks = n_boot if n_workers(self.n_jobs) <= 1 else min(n_boot, 8 * n_workers(self.n_jobs))
        bounds = np.linspace(0, n_boot, n_blocks + 1).astype(int) if n_boot else np.zeros(1, int)
        blocks = [draws[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        # geodesics need every entry of the matrix: RGDM always mean-imputes
        handle = "mean" if self.family == "rgdm" else self.handle_duplicates
        scored = parallel_map(_bootstrap_block, blocks,
                              args=(x, cls, subj, self.thresholds_, self.family, handle,
                                    self.zero_edges, len(self.classes_)),
                              n_jobs=self.n_jobs, desc="bootstrap block", verbose=self.verbose)
        boots = np.concatenate(scored) if scored else np.full(0, np.nan)
        self.bootstrap_accuracies_ = boots
        ok = boots[np.isfinite(boots)]
        self.accuracy_se_ = float(ok.std(ddof=1)) if ok.size > 1 else float("nan")
        half = 1.959963984540054 * self.accuracy_se_
        self.ci_ = np.clip(np.array([self.accuracy_ - half, self.accuracy_ + half]), 0.0, 1.0)
        return self

    def _check_new_rdms(self, rdms: Any) -> np.ndarray:
        """New RDMs validated like those of :meth:`fit` (finite, the fitted size)."""
        check_is_fitted(self, "thresholds_")
        x, _ = as_rdm_vectors(rdms, "rdms", allow_nan=False)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"rdms must have {self.n_features_in_} entries per RDM (as in fit, "
                             f"{n_conditions_from_pairs(self.n_features_in_)} conditions); got {x.shape[1]}")
        return x

    def predict(self, rdms: Any) -> np.ndarray:
        """Region of new RDMs: nearest centroid of all training subjects (Euclidean
        distance summed over the (l, u) draws).

        Parameters
        ----------
        rdms : array-like, shape (n_pairs,), (n_rdms, n_pairs), (K, K) or (n_rdms, K, K)
            Finite RDMs of the size seen in :meth:`fit`.

        Returns
        -------
        numpy.ndarray, shape (n_rdms,): region labels.
        """
        x = self._check_new_rdms(rdms)
        feats = self._features(x, self.thresholds_)
        d2 = ((feats[:, :, None, :] - self._centroids[:, None]) ** 2).sum(-1).sum(0)
        return self.classes_[np.argmin(d2, axis=1)]

    def score(self, rdms: Any, regions: Any) -> float:
        """Accuracy of :meth:`predict` on labelled RDMs (fraction of RDMs assigned their region).

        Returns
        -------
        Score
            A float in [0, 1] whose repr names its units (higher is better).
        """
        x = self._check_new_rdms(rdms)
        reg = check_labels(regions, "regions", n_samples=x.shape[0])
        return Score(np.mean(self.predict(x) == reg), "fraction correct",
                     "region identification accuracy")


def geotopological_grid(rdms: Any, regions: Any, subjects: Any, step: float = 0.05) -> dict:
    """LOSO nearest-centroid accuracy over the full (l, u) grid of RGTMs.

    ``l`` runs over ``0, step, ..., 1 - step`` and ``u`` over ``l, ..., 1``.

    Returns
    -------
    dict with ``lower`` (n_l,), ``upper`` (n_u,), ``accuracy`` (n_l, n_u) (NaN where
    ``u < l``), ``best`` (l, u) and ``best_accuracy``.

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028.
    """
    x, _ = as_rdm_vectors(rdms, "rdms", allow_nan=False)
    step = check_scalar(step, "step", low=0.0, high=0.5, low_inclusive=False)
    if n_conditions_from_pairs(x.shape[1]) < 3:
        raise ValueError(f"rdms must have at least 3 conditions; got {n_conditions_from_pairs(x.shape[1])}")
    reg = check_labels(regions, "regions", n_samples=x.shape[0], min_classes=2)
    sub = check_labels(subjects, "subjects", n_samples=x.shape[0], min_classes=2)
    _, cls = np.unique(reg, return_inverse=True)
    _, subj = np.unique(sub, return_inverse=True)
    n_steps = int(round(1 / step))
    grid = np.round(np.arange(n_steps + 1) * step, 10)
    lowers, uppers = grid[:-1], grid
    pairs = np.array([(lo, up) for lo in lowers for up in uppers if up >= lo])
    ranked = _rank01(x)
    acc = np.full((lowers.size, uppers.size), np.nan)
    n_cls = int(cls.max()) + 1
    for start in range(0, len(pairs), 40):
        chunk = pairs[start:start + 40]
        pred = loso_nearest_centroid(_gt_many(ranked, chunk), cls.ravel(), subj.ravel(), n_cls)
        a = (pred == cls.ravel()[None]).mean(1)
        for (lo, up), val in zip(chunk, a, strict=True):
            acc[np.searchsorted(lowers, lo - 1e-12), np.searchsorted(uppers, up - 1e-12)] = val
    best = np.unravel_index(np.nanargmax(acc), acc.shape)
    return {"lower": lowers, "upper": uppers, "accuracy": acc,
            "best": (float(lowers[best[0]]), float(uppers[best[1]])), "best_accuracy": float(acc[best])}


def _transform_features(rdms: np.ndarray, thresholds: np.ndarray, family: str,
                        zero_edges: str) -> np.ndarray:
    """Transformed RDMs ``(n_draws, n_rdms, n_pairs)``, one per (l, u) pair."""
    if family == "rgdm":
        return np.stack([_graph_geodesic_vectors(rdms, "twostep", lower=lo, upper=up,
                                                 zero_edges=zero_edges)
                         for lo, up in thresholds])
    return _gt_many(_rank01(rdms), thresholds)


def _bootstrap_block(draws, x, cls, subj, thresholds, family, handle, zero_edges, n_classes):
    """Draw-averaged LOSO accuracy of each bootstrap sample ``(rows, pattern_idx)`` of a block
    (NaN where a sample has fewer than 3 distinct conditions or 2 subjects)."""
    out = np.full(len(draws), np.nan)
    for i, (rows, pidx) in enumerate(draws):
        if rows is None:
            rows = np.arange(x.shape[0])
        xb, bsubj = x[rows], subj[rows]
        if pidx is not None:
            if np.unique(pidx).size < 3:
                continue
            xb = _resample_rdms(xb, pidx, handle)
        if np.unique(bsubj).size < 2:
            continue
        _, bsub_idx = np.unique(bsubj, return_inverse=True)
        feats = _transform_features(xb, thresholds, family, zero_edges)
        pred = loso_nearest_centroid(feats, cls[rows], bsub_idx.ravel(), n_classes)
        out[i] = (pred == cls[rows][None]).mean(1).mean()
    return out
