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

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
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
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .._torch import seed_from_random_state
from .._validation import check_in, check_labels, check_positive_int, check_scalar

__all__ = ["FeatureMask", "make_graph_classifier", "cross_validate_report", "CVReport"]


def _check_class_labels(y, name: str = "y") -> None:
    """Refuse continuous or multi-output targets: a class test needs class labels."""
    try:
        kind = type_of_target(y, input_name=name)
    except ValueError as exc:
        raise ValueError(f"{name} must be a 1-D vector of class labels; {exc}") from exc
    if kind == "unknown":
        raise ValueError(f"Unknown label type: {name} must be a 1-D vector of class labels "
                         "(integers or strings)")
    if kind not in ("binary", "multiclass"):
        what = {"continuous": "continuous (non-integer) values",
                "continuous-multioutput": "a 2-D array of continuous values"}.get(kind, f"a {kind} target")
        raise ValueError(f"{name} must hold class labels (e.g. 0/1 or strings); got {what}. "
                         "Continuous scores are not classes: bin them first if that is what you mean")


def _check_numeric_dtype(X, name: str = "X") -> None:
    """Refuse complex, string and unconvertible object arrays without copying numeric ones.

    The complex message carries scikit-learn's wording ("Complex data not
    supported") so that its estimator checks recognise it.
    """
    if isinstance(X, (list, tuple)) or sp.issparse(X):
        return  # lists of subjects are checked by their pipeline (GraphFeatures names X[i])
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is None:
        if isinstance(X, (str, bytes)):
            raise TypeError(f"{name} must be a numeric array; got a {type(X).__name__}")
        return
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} must be real-valued; got a complex array")
    if kind in ("U", "S"):
        raise TypeError(f"{name} must be a numeric array; got strings (convert them explicitly)")
    if kind == "O":
        try:
            np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array; {exc}") from exc


def _check_targets(y, n_samples: int, name: str = "y") -> None:
    """Shape and dtype of a label vector, before scikit-learn's generic messages."""
    arr = np.asarray(y)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must hold class labels; got complex values")
    if arr.ndim == 0 or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 1):
        raise ValueError(f"{name} must be 1-D (n_samples,) class labels; got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} must have one label per row of X ({n_samples}); got {arr.shape[0]}")


def _num_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        if len(shape) != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {tuple(shape)}. "
                             "Reshape your data (X[None] for one sample, X[:, None] for one feature)")
        if shape[0] == 0:
            raise ValueError(f"X is empty; got shape {tuple(shape)}")
        return int(shape[0])
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be a numeric array; {exc}") from exc
    return _num_rows(arr)


def _column_scales(X: np.ndarray) -> np.ndarray:
    """Largest magnitude of each column (1 for all-zero columns), to make statistics scale-proof."""
    peak = np.max(np.abs(X), axis=0)
    return np.where(peak > 0, peak, 1.0)


def _two_sample_t(X: np.ndarray, y: np.ndarray, classes: np.ndarray):
    """Pooled-variance two-sample t statistic and two-sided p per column.

    Each class needs at least 2 rows (checked by the caller). A column constant
    in both classes gets t = 0 (p = 1); a column constant within each class but
    with different class means separates them perfectly: t = +-inf (p = 0).
    """
    a, b = X[y == classes[1]], X[y == classes[0]]
    na, nb = a.shape[0], b.shape[0]
    dof = na + nb - 2
    diff = a.mean(axis=0) - b.mean(axis=0)
    pooled = ((na - 1) * a.var(axis=0, ddof=1) + (nb - 1) * b.var(axis=0, ddof=1)) / dof
    se = np.sqrt(pooled * (1.0 / na + 1.0 / nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)))
    p = 2.0 * stats.t.sf(np.abs(t), dof)
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

    Notes
    -----
    ``y`` must hold class labels: a continuous target is refused (every value
    would be its own class). The t-test needs two classes of at least 2 rows
    each; the F-test more rows than classes. Scores never come from NaN:
    constant columns score 0 (p = 1) and are chosen last; a column constant
    within each class but different between classes separates them perfectly
    and scores the largest float (p = 0). Statistics are computed on columns
    divided by their largest magnitude, so any data scale gives the same mask.

    Attributes
    ----------
    n_features_in_ : int
    scores_ : ndarray of shape ``(n_features_in_,)``
        ``|t|`` or F per column (0 for constant columns).
    pvalues_ : ndarray of shape ``(n_features_in_,)``
    support_ : ndarray of bool
    classes_ : ndarray

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.

    Examples
    --------
    >>> from neurodyn.graph import FeatureMask
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)  # two classes of 20 rows
    >>> X = rng.standard_normal((40, 10))
    >>> X[:, [2, 7]] += 2.0 * y[:, None]  # columns 2 and 7 separate the classes
    >>> mask = FeatureMask(n_voxels=2).fit(X, y)
    >>> np.flatnonzero(mask.get_support()).tolist(), mask.transform(X).shape
    ([2, 7], (40, 2))
    """

    def __init__(self, statistic="ttest", n_voxels=1000, alpha=None):
        self.statistic = statistic
        self.n_voxels = n_voxels
        self.alpha = alpha

    def fit(self, X, y=None):
        """Score every column on the training rows and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (required: the mask is supervised).

        Returns
        -------
        self
        """
        check_in(self.statistic, "statistic", ("ttest", "f"))
        if (self.n_voxels is None) == (self.alpha is None):
            raise ValueError("give exactly one of n_voxels (top-k columns) or alpha (p-threshold); "
                             f"got n_voxels={self.n_voxels!r}, alpha={self.alpha!r}")
        if self.n_voxels is not None:
            n_voxels = check_positive_int(self.n_voxels, "n_voxels")
        else:
            alpha = check_scalar(self.alpha, "alpha", low=0.0, high=1.0, low_inclusive=False,
                                 high_inclusive=False)
        if y is None:
            raise ValueError("FeatureMask requires y to be passed, but the target y is None: it "
                             "selects columns by a class test, fit(X, y) with the class labels")
        _check_numeric_dtype(X)
        n_rows = _num_rows(X)
        _check_targets(y, n_rows)
        X, y = validate_data(self, X, y, dtype=np.float64)
        _check_class_labels(y)
        y = check_labels(y, "y", n_samples=X.shape[0])
        self.classes_, counts = np.unique(y, return_counts=True)
        if self.classes_.size < 2:
            raise ValueError(f"y must contain at least 2 classes; got 1 class ({self.classes_.tolist()})")
        Xs = X / _column_scales(X)
        if self.statistic == "ttest":
            if self.classes_.size != 2:
                raise ValueError(f"statistic='ttest' needs exactly 2 classes in y; got "
                                 f"{self.classes_.size}; use statistic='f'")
            if counts.min() < 2:
                small = self.classes_[counts < 2].tolist()
                raise ValueError(f"statistic='ttest' needs at least 2 samples of each class in y "
                                 f"(a variance per class); classes {small} have 1")
            t, p = _two_sample_t(Xs, y, self.classes_)
            scores = np.abs(t)
        else:
            if X.shape[0] <= self.classes_.size:
                raise ValueError(f"statistic='f' needs more samples than classes in y; got "
                                 f"{X.shape[0]} samples of {self.classes_.size} classes")
            constant = np.all(Xs == Xs[:1], axis=0)
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "constant features": handled here
                scores, p = f_classif(Xs, y)
            # constant columns: F = 0/0; constant within classes but not overall: F = +inf
            scores = np.where(constant, 0.0, scores)
            p = np.where(constant, 1.0, p)
        scores = np.nan_to_num(scores, nan=0.0, posinf=np.finfo(np.float64).max)
        p = np.where(np.isnan(p), 1.0, p)
        self.scores_ = scores
        self.pvalues_ = p
        support = np.zeros(X.shape[1], dtype=bool)
        if self.n_voxels is not None:
            k = min(n_voxels, X.shape[1])
            order = np.argsort(-scores, kind="stable")
            support[order[:k]] = True
        else:
            support = p < alpha
            if not support.any():
                support[np.argmax(scores)] = True
        self.support_ = support
        return self

    def transform(self, X):
        """Keep the selected columns of ``X`` ``(n_samples, n_features_in_)``."""
        check_is_fitted(self, "support_")
        _check_numeric_dtype(X)
        if not sp.issparse(X):
            _num_rows(X)
            values = np.asarray(X, dtype=np.float64)  # object arrays: None becomes NaN here
            if not np.isfinite(values).all():
                raise ValueError(f"X must be finite; got {int(np.isnan(values).sum())} NaN and "
                                 f"{int(np.isinf(values).sum())} Inf values")
        return super().transform(X)

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
    n_voxels : int >= 1 or None, default 1000
        Columns kept by the mask; pass ``n_voxels=None`` to select by ``alpha``.
    alpha : float in (0, 1) or None, default None
        p-value threshold of the mask (with ``n_voxels=None``).
    n_components : int >= 1, float in (0, 1) or None, default 20
        PCA components (must not exceed the number of training rows or kept
        columns); a float keeps that fraction of the variance, None all.
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
    if mask is not None:
        check_in(mask, "mask", ("ttest", "f"))
        if (n_voxels is None) == (alpha is None):
            raise ValueError("give exactly one of n_voxels (top-k columns) or alpha (p-threshold) for "
                             f"the mask; got n_voxels={n_voxels!r}, alpha={alpha!r} (pass "
                             "n_voxels=None with alpha)")
        if n_voxels is not None:
            check_positive_int(n_voxels, "n_voxels")
        else:
            check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if n_components is not None:
        if isinstance(n_components, (float, np.floating)):
            check_scalar(n_components, "n_components", low=0.0, high=1.0, low_inclusive=False,
                         high_inclusive=False)
        else:
            check_positive_int(n_components, "n_components")
    if not isinstance(scale, (bool, np.bool_)):
        raise TypeError(f"scale must be True or False; got {scale!r}")
    if graph_features is not None and (isinstance(graph_features, type) or not (
            hasattr(graph_features, "fit") and hasattr(graph_features, "transform"))):
        raise TypeError("graph_features must be a transformer such as GraphFeatures (with fit and "
                        f"transform) instance; got {graph_features!r}")
    steps = []
    if graph_features is not None:
        steps.append(("graph", graph_features))
    if scale:
        steps.append(("scale", StandardScaler()))
    if mask is not None:
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
    n_splits, inner_splits : int >= 2, default 5
        Outer and inner stratified folds; every class of ``y`` needs at least
        ``n_splits`` subjects (and ``inner_splits`` in each outer training set
        when ``param_grid`` is given).
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
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise TypeError("estimator must be a scikit-learn classifier (with fit and predict), e.g. "
                        f"make_graph_classifier(); got {type(estimator).__name__}")
    y = np.asarray(y)
    _check_class_labels(y)
    y = check_labels(y, "y", min_classes=2)
    n = y.shape[0]
    _check_numeric_dtype(X)
    try:
        n_subjects = len(X)
    except TypeError:
        raise TypeError(f"X must be an array or a list of subjects; got {type(X).__name__}") from None
    if n_subjects != n:
        raise ValueError(f"X has {n_subjects} subjects but y has {n} labels")
    n_splits = check_positive_int(n_splits, "n_splits", minimum=2)
    inner_splits = check_positive_int(inner_splits, "inner_splits", minimum=2)
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    n_permutations = check_positive_int(n_permutations, "n_permutations", minimum=0)
    classes, counts = np.unique(y, return_counts=True)
    smallest = int(counts.min())
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},); got {groups.shape}")
        if np.unique(groups).size < 2:
            raise ValueError("groups must contain at least 2 different groups for leave-one-group-out; "
                             f"got {np.unique(groups).tolist()}")
    else:
        if smallest < n_splits:
            raise ValueError(f"y: class {classes[np.argmin(counts)].tolist()!r} has {smallest} subjects, fewer "
                             f"than n_splits={n_splits}; every test fold needs each class: lower n_splits")
        train_smallest = smallest - -(-smallest // n_splits)
        if param_grid is not None and train_smallest < inner_splits:
            raise ValueError(f"inner_splits={inner_splits} is more than the {train_smallest} subjects "
                             f"of class {classes[np.argmin(counts)].tolist()!r} in an outer training set; "
                             "lower inner_splits")
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
