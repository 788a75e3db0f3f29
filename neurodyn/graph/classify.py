"""Leakage-free classification of graph feature maps: mask -> PCA -> LDA, nested CV report.

The voxel mask is a supervised feature selector (:class:`FeatureMask`) inside a
scikit-learn ``Pipeline``, so it is fitted on training rows only in every fold;
:func:`cross_validate_report` wraps the pipeline in an inner ``GridSearchCV``
and an outer split (stratified K-fold, or leave-one-site-out when groups are
given), and reports what a reader of a diagnostic-classification paper needs:
per-fold and mean +- sd accuracy, balanced accuracy, sensitivity, specificity,
confusion matrix, majority-class baseline and a permutation p-value.

References
----------
S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
G. Varoquaux et al. (2017). Assessing and tuning brain decoders: cross-validation,
caveats, and guidelines. NeuroImage 145:166-179.
M. Ojala, G. C. Garriga (2010). Permutation tests for studying classifier
performance. J. Mach. Learn. Res. 11:1833-1863.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import (
    GridSearchCV,
    LeaveOneGroupOut,
    StratifiedKFold,
    permutation_test_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from .._torch import seed_from_random_state
from .._validation import check_in, check_labels, check_positive_int

__all__ = ["FeatureMask", "make_graph_classifier", "cross_validate_report", "CVReport"]


def _two_sample_t(X: np.ndarray, y: np.ndarray, classes: np.ndarray):
    """Pooled-variance two-sample t statistic and two-sided p per column."""
    a, b = X[y == classes[1]], X[y == classes[0]]
    na, nb = a.shape[0], b.shape[0]
    dof = na + nb - 2
    diff = a.mean(axis=0) - b.mean(axis=0)
    pooled = ((na - 1) * a.var(axis=0, ddof=1 if na > 1 else 0)
              + (nb - 1) * b.var(axis=0, ddof=1 if nb > 1 else 0)) / max(dof, 1)
    se = np.sqrt(pooled * (1.0 / na + 1.0 / nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, 0.0)
    p = 2.0 * stats.t.sf(np.abs(t), max(dof, 1))
    return t, p


class FeatureMask(SelectorMixin, BaseEstimator):
    """Keep the columns (voxel features) that best separate the classes in the training rows.

    Parameters
    ----------
    statistic : {"ttest", "f"}, default "ttest"
        Two-sample t-test (two classes; ranked by ``|t|``) or ANOVA F-score
        (any number of classes).
    n_voxels : int or None, default 1000
        Keep the ``n_voxels`` best columns (all columns if there are fewer).
    alpha : float in (0, 1) or None, default None
        Keep instead the columns with uncorrected p < alpha (at least one, the best).
        Exactly one of ``n_voxels`` and ``alpha`` must be set.

    Attributes
    ----------
    scores_ : ndarray (n_features_in_,)
        ``|t|`` or F per column (0 for constant columns).
    pvalues_ : ndarray (n_features_in_,)
    support_ : ndarray of bool
    classes_ : ndarray

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
    """

    def __init__(self, statistic="ttest", n_voxels=1000, alpha=None):
        self.statistic = statistic
        self.n_voxels = n_voxels
        self.alpha = alpha

    def fit(self, X, y):
        check_in(self.statistic, "statistic", ("ttest", "f"))
        if (self.n_voxels is None) == (self.alpha is None):
            raise ValueError("give exactly one of n_voxels (top-k columns) or alpha (p-threshold); "
                             f"got n_voxels={self.n_voxels!r}, alpha={self.alpha!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        y = check_labels(y, "y", n_samples=X.shape[0])
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"y must contain at least 2 classes; got 1 class ({self.classes_.tolist()})")
        if self.statistic == "ttest":
            if self.classes_.size != 2:
                raise ValueError(f"statistic='ttest' needs exactly 2 classes in y; got "
                                 f"{self.classes_.size}; use statistic='f'")
            t, p = _two_sample_t(X, y, self.classes_)
            scores = np.abs(t)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                scores, p = f_classif(X, y)
        scores = np.nan_to_num(scores, nan=0.0, posinf=np.finfo(np.float64).max)
        p = np.nan_to_num(p, nan=1.0)
        self.scores_ = scores
        self.pvalues_ = p
        support = np.zeros(X.shape[1], dtype=bool)
        if self.n_voxels is not None:
            k = min(check_positive_int(self.n_voxels, "n_voxels"), X.shape[1])
            order = np.argsort(-scores, kind="stable")
            support[order[:k]] = True
        else:
            if not 0.0 < float(self.alpha) < 1.0:
                raise ValueError(f"alpha must be in (0, 1); got {self.alpha!r}")
            support = p < self.alpha
            if not support.any():
                support[np.argmax(scores)] = True
        self.support_ = support
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def make_graph_classifier(mask="ttest", n_voxels=1000, alpha=None, n_components=20,
                          scale=True, graph_features=None) -> Pipeline:
    """The PCA-LDA classifier of graph feature maps as a scikit-learn ``Pipeline``.

    Steps: ``[graph_features] -> [scale] -> [mask] -> pca -> lda``. Every step is
    fitted on training rows only, so the pipeline can be cross-validated without
    leakage; tune it with parameters such as ``mask__n_voxels`` and
    ``pca__n_components`` (and ``graph__threshold`` / ``graph__features`` when a
    :class:`GraphFeatures` step is included).

    Parameters
    ----------
    mask : {"ttest", "f"} or None, default "ttest"
        Statistic of the :class:`FeatureMask`; None keeps every column.
    n_voxels, alpha
        Passed to :class:`FeatureMask`.
    n_components : int, default 20
        PCA components (must not exceed the number of training rows or kept columns).
    scale : bool, default True
        Standardise columns (training-fold mean and sd) first.
    graph_features : GraphFeatures, optional
        Prepend the per-subject graph step, so that the pipeline takes raw series.

    Returns
    -------
    sklearn.pipeline.Pipeline

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
    """
    steps = []
    if graph_features is not None:
        steps.append(("graph", graph_features))
    if scale:
        steps.append(("scale", StandardScaler()))
    if mask is not None:
        check_in(mask, "mask", ("ttest", "f"))
        steps.append(("mask", FeatureMask(statistic=mask, n_voxels=n_voxels, alpha=alpha)))
    steps.append(("pca", PCA(n_components=n_components)))
    steps.append(("lda", LinearDiscriminantAnalysis()))
    return Pipeline(steps)


@dataclass
class CVReport:
    """Outcome of :func:`cross_validate_report` (one entry per outer fold and repeat)."""

    classes: np.ndarray
    pos_label: object
    accuracy: np.ndarray
    balanced_accuracy: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    majority_baseline: np.ndarray
    confusion: np.ndarray
    best_params: list
    test_groups: list
    permutation_score: float | None = None
    permutation_pvalue: float | None = None
    permutation_scores: np.ndarray | None = None
    predictions: list = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-friendly mean / sd of every fold metric plus the permutation result."""
        out = {"n_folds": int(self.accuracy.size), "classes": [str(c) for c in self.classes],
               "pos_label": str(self.pos_label)}
        for name in ("accuracy", "balanced_accuracy", "sensitivity", "specificity",
                     "majority_baseline"):
            vals = getattr(self, name)
            out[f"{name}_mean"] = float(np.nanmean(vals))
            out[f"{name}_sd"] = float(np.nanstd(vals))
        out["confusion"] = self.confusion.tolist()
        if self.permutation_pvalue is not None:
            out["permutation_score"] = float(self.permutation_score)
            out["permutation_pvalue"] = float(self.permutation_pvalue)
            out["permutation_null_mean"] = float(np.mean(self.permutation_scores))
        return out

    def __str__(self) -> str:
        s = self.summary()
        lines = [f"nested CV over {s['n_folds']} outer folds"]
        for name in ("accuracy", "balanced_accuracy", "sensitivity", "specificity",
                     "majority_baseline"):
            lines.append(f"  {name:<18} {s[name + '_mean']:.3f} +- {s[name + '_sd']:.3f}")
        if self.permutation_pvalue is not None:
            lines.append(f"  permutation        score {self.permutation_score:.3f}, "
                         f"p = {self.permutation_pvalue:.3f} (null mean {s['permutation_null_mean']:.3f})")
        return "\n".join(lines)


def _rate(num, den):
    return float(num) / den if den else np.nan


def cross_validate_report(estimator, X, y, *, groups=None, param_grid=None, n_splits=5,
                          inner_splits=5, n_repeats=1, n_permutations=0, pos_label=None,
                          random_state=None, n_jobs=None, verbose=False) -> CVReport:
    """Nested cross-validation of a classifier with a complete diagnostic report.

    Parameters
    ----------
    estimator : sklearn classifier
        Usually :func:`make_graph_classifier` (any pipeline whose selection steps
        are inside it, so they see training rows only).
    X : array-like (n_subjects, n_features) or list of subjects
        Feature rows, or raw subjects when the pipeline starts with GraphFeatures.
    y : array-like (n_subjects,)
        Labels (two classes for sensitivity / specificity).
    groups : array-like (n_subjects,), optional
        Site (or other) labels: the outer loop becomes leave-one-group-out and the
        permutation test permutes labels within groups.
    param_grid : dict or list of dict, optional
        Inner ``GridSearchCV`` grid (e.g. ``{"mask__n_voxels": [100, 1000],
        "pca__n_components": [2, 5, 10]}``); without it the estimator is used as is.
    n_splits, inner_splits : int, default 5
        Outer and inner stratified folds.
    n_repeats : int, default 1
        Outer stratified K-fold repeated with different shuffles (ignored with groups).
    n_permutations : int, default 0
        Label permutations for ``permutation_test_score`` on the first outer split
        (0 skips the test). p = (1 + #{null >= score}) / (1 + n_permutations).
    pos_label : label, optional
        The "positive" class for sensitivity (default: the larger of the two sorted labels).
    random_state : int, Generator or None
    n_jobs : int or None
        Passed to the inner grid search and the permutation test.
    verbose : bool
        Progress bar over outer folds.

    Returns
    -------
    CVReport

    References
    ----------
    G. Varoquaux et al. (2017). Assessing and tuning brain decoders. NeuroImage 145:166-179.
    M. Ojala, G. C. Garriga (2010). Permutation tests for studying classifier performance.
    JMLR 11:1833-1863.
    """
    y = check_labels(y, "y", min_classes=2)
    n = y.shape[0]
    n_subjects = len(X)
    if n_subjects != n:
        raise ValueError(f"X has {n_subjects} subjects but y has {n} labels")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},); got {groups.shape}")
    n_splits = check_positive_int(n_splits, "n_splits", minimum=2)
    inner_splits = check_positive_int(inner_splits, "inner_splits", minimum=2)
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    n_permutations = check_positive_int(n_permutations, "n_permutations", minimum=0)
    classes = np.unique(y)
    if pos_label is None:
        pos_label = classes[-1]
    elif pos_label not in classes:
        raise ValueError(f"pos_label must be one of the classes {classes.tolist()}; got {pos_label!r}")
    seed = seed_from_random_state(random_state) % (2**31 - 1)
    X_index = X if not isinstance(X, (list, tuple)) else np.empty(n)  # for splitters only

    def model(rep):
        if param_grid is None:
            return clone(estimator)
        inner = StratifiedKFold(inner_splits, shuffle=True, random_state=seed + 1000 + rep)
        return GridSearchCV(clone(estimator), param_grid, cv=inner, n_jobs=n_jobs)

    splits = []
    if groups is not None:
        for train, test in LeaveOneGroupOut().split(X_index, y, groups):
            splits.append((0, train, test))
    else:
        for rep in range(n_repeats):
            outer = StratifiedKFold(n_splits, shuffle=True, random_state=seed + rep)
            splits.extend((rep, tr, te) for tr, te in outer.split(X_index, y))
    iterable = splits
    if verbose:
        from tqdm.auto import tqdm

        iterable = tqdm(splits, desc="outer folds", unit="fold")

    def take(idx):
        return [X[i] for i in idx] if isinstance(X, (list, tuple)) else np.asarray(X)[idx]

    acc, bacc, sens, spec, base, params, test_groups, preds = [], [], [], [], [], [], [], []
    confusion = np.zeros((classes.size, classes.size), dtype=np.int64)
    for rep, train, test in iterable:
        fitted = model(rep).fit(take(train), y[train])
        pred = np.asarray(fitted.predict(take(test)))
        cm = confusion_matrix(y[test], pred, labels=classes)
        confusion += cm
        acc.append(float(np.mean(pred == y[test])))
        recalls = [_rate(cm[k, k], cm[k].sum()) for k in range(classes.size)]
        bacc.append(float(np.nanmean(recalls)))
        pos = int(np.flatnonzero(classes == pos_label)[0])
        sens.append(recalls[pos])
        spec.append(_rate(np.delete(np.delete(cm, pos, 0), pos, 1).sum(), np.delete(cm, pos, 0).sum()))
        train_classes, counts = np.unique(y[train], return_counts=True)
        majority = train_classes[np.argmax(counts)]
        base.append(float(np.mean(y[test] == majority)))
        params.append(getattr(fitted, "best_params_", {}))
        test_groups.append(np.unique(groups[test]).tolist() if groups is not None else None)
        preds.append((test, pred))

    report = CVReport(classes=classes, pos_label=pos_label, accuracy=np.array(acc),
                      balanced_accuracy=np.array(bacc), sensitivity=np.array(sens),
                      specificity=np.array(spec), majority_baseline=np.array(base),
                      confusion=confusion, best_params=params, test_groups=test_groups,
                      predictions=preds)
    if n_permutations:
        if groups is not None:
            cv = LeaveOneGroupOut()
        else:
            cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        score, null, p = permutation_test_score(
            model(0), X if not isinstance(X, tuple) else list(X), y, groups=groups, cv=cv,
            n_permutations=n_permutations, random_state=seed, n_jobs=n_jobs)
        report.permutation_score = float(score)
        report.permutation_pvalue = float(p)
        report.permutation_scores = np.asarray(null)
    return report
