"""FeatureMask, the mask -> PCA -> LDA pipeline and the nested cross-validation report."""

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.feature_selection import f_classif
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodyn.datasets.simulate import fmri_cohort
from neurodyn.graph import FeatureMask, GraphFeatures, cross_validate_report, make_graph_classifier


@parametrize_with_checks([FeatureMask(statistic="f", n_voxels=2), FeatureMask(statistic="f", n_voxels=None, alpha=0.5)])
def test_sklearn_contract(estimator, check):
    check(estimator)


def _two_class(n=30, p=50, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = np.repeat([0, 1], n // 2)
    X[y == 1, :5] += shift
    return X, y


def test_ttest_mask_matches_scipy():
    X, y = _two_class(shift=1.0)
    X[:, 7] = 2.0  # constant column: t = 0, p = 1, never preferred
    m = FeatureMask("ttest", n_voxels=5).fit(X, y)
    ok = np.arange(50) != 7
    t = np.zeros(50)
    p = np.ones(50)
    t[ok], p[ok] = stats.ttest_ind(X[y == 1][:, ok], X[y == 0][:, ok])
    np.testing.assert_allclose(m.scores_, np.abs(t), rtol=1e-10)
    np.testing.assert_allclose(m.pvalues_, p, rtol=1e-8)
    assert np.array_equal(np.flatnonzero(m.get_support()), np.sort(np.argsort(-np.abs(t))[:5]))
    assert m.transform(X).shape == (30, 5)


def test_alpha_mask_and_f_statistic():
    X, y = _two_class(shift=1.5, seed=1)
    m = FeatureMask("f", n_voxels=None, alpha=0.01).fit(X, y)
    F, p = f_classif(X, y)
    np.testing.assert_allclose(m.scores_, F, rtol=1e-10)
    assert np.array_equal(m.get_support(), p < 0.01)
    few = FeatureMask("ttest", n_voxels=500).fit(X, y)  # more than available: keep all
    assert few.get_support().all()


def test_mask_errors():
    X, y = _two_class()
    with pytest.raises(ValueError, match="exactly one of n_voxels"):
        FeatureMask(n_voxels=None).fit(X, y)
    with pytest.raises(ValueError, match="exactly one of n_voxels"):
        FeatureMask(n_voxels=3, alpha=0.05).fit(X, y)
    with pytest.raises(ValueError, match="statistic='ttest' needs exactly 2 classes in y; got 3"):
        FeatureMask("ttest", n_voxels=3).fit(X, np.arange(30) % 3)
    with pytest.raises(ValueError, match="statistic must be one of"):
        FeatureMask("wilcoxon").fit(X, y)
    with pytest.raises(ValueError, match="y must contain at least 2 classes"):
        FeatureMask(n_voxels=3).fit(X, np.zeros(30))


def test_pipeline_mask_sees_training_rows_only():
    X, y = _two_class(shift=1.0, seed=2)
    clf = make_graph_classifier(n_voxels=10, n_components=3)
    assert [name for name, _ in clf.steps] == ["scale", "mask", "pca", "lda"]
    train = np.r_[0:10, 15:25]
    clf.fit(X[train], y[train])
    Xs = (X[train] - X[train].mean(0)) / X[train].std(0)
    t, _ = stats.ttest_ind(Xs[y[train] == 1], Xs[y[train] == 0])
    np.testing.assert_allclose(clf.named_steps["mask"].scores_, np.abs(t), rtol=1e-10)


def test_report_metrics_match_manual_folds():
    X, y = _two_class(n=40, p=6, shift=0.8, seed=3)
    est = LinearDiscriminantAnalysis()
    rep = cross_validate_report(est, X, y, n_splits=4, random_state=7)
    folds = StratifiedKFold(4, shuffle=True, random_state=7).split(X, y)
    accs, baccs, sens, spec = [], [], [], []
    for train, test in folds:
        pred = clone(est).fit(X[train], y[train]).predict(X[test])
        accs.append(np.mean(pred == y[test]))
        baccs.append(balanced_accuracy_score(y[test], pred))
        sens.append(recall_score(y[test], pred, pos_label=1))
        spec.append(recall_score(y[test], pred, pos_label=0))
    np.testing.assert_allclose(rep.accuracy, accs)
    np.testing.assert_allclose(rep.balanced_accuracy, baccs)
    np.testing.assert_allclose(rep.sensitivity, sens)
    np.testing.assert_allclose(rep.specificity, spec)
    assert rep.confusion.sum() == 40
    np.testing.assert_allclose(rep.majority_baseline, 0.5)
    s = rep.summary()
    assert s["accuracy_mean"] == pytest.approx(np.mean(accs))
    assert s["accuracy_sd"] == pytest.approx(np.std(accs))


def test_leave_site_out_and_permutation_p():
    X, y = _two_class(n=36, p=8, shift=1.2, seed=4)
    sites = np.tile([0, 1, 2], 12)
    rep = cross_validate_report(LinearDiscriminantAnalysis(), X, y, groups=sites,
                                n_permutations=19, random_state=0)
    assert rep.accuracy.size == 3
    assert sorted(g[0] for g in rep.test_groups) == [0, 1, 2]
    null = rep.permutation_scores
    assert null.shape == (19,)
    expected_p = (1 + np.sum(null >= rep.permutation_score)) / 20
    assert rep.permutation_pvalue == pytest.approx(expected_p)
    assert rep.permutation_pvalue <= 0.1  # a strong effect is detected


def test_report_input_errors():
    X, y = _two_class(n=20, p=4)
    est = LinearDiscriminantAnalysis()
    with pytest.raises(ValueError, match="X has 19 subjects but y has 20 labels"):
        cross_validate_report(est, X[:19], y)
    with pytest.raises(ValueError, match="y must contain at least 2 classes"):
        cross_validate_report(est, X, np.zeros(20))
    with pytest.raises(ValueError, match="pos_label must be one of the classes"):
        cross_validate_report(est, X, y, pos_label=3)
    with pytest.raises(ValueError, match=r"groups must have shape \(20,\)"):
        cross_validate_report(est, X, y, groups=np.zeros(5))


def test_planted_signal_nested_cv_accuracy():
    data = fmri_cohort(60, 80, 150, n_signal_nodes=10, effect=1.5, random_state=0)
    X = GraphFeatures(density=0.1, features=("degree", "triangles")).fit_transform(data["timeseries"])
    clf = make_graph_classifier(n_voxels=20, n_components=5)
    rep = cross_validate_report(clf, X, data["y"], param_grid={"mask__n_voxels": [10, 40]},
                                inner_splits=3, random_state=0)
    assert rep.summary()["accuracy_mean"] >= 0.9
    # the mask fitted on everyone points at the planted nodes
    mask = FeatureMask(n_voxels=20).fit(X, data["y"])
    chosen_nodes = np.flatnonzero(mask.get_support()) % 80
    assert np.mean(np.isin(chosen_nodes, data["signal_nodes"])) >= 0.8


def test_no_leakage_on_noise_but_leaky_variant_overfits():
    # p >> n pure noise: nested CV must stay near chance; selecting the mask on all
    # subjects before cross-validating (the classic leak) looks far better than chance.
    rng = np.random.default_rng(0)
    n, p = 40, 3000
    X = rng.standard_normal((n, p))
    y = np.repeat([0, 1], n // 2)
    se = np.sqrt(0.25 / n)
    honest = cross_validate_report(make_graph_classifier(n_voxels=50, n_components=5), X, y,
                                   n_repeats=3, random_state=1)
    assert abs(honest.summary()["accuracy_mean"] - 0.5) <= 2 * se
    leaked_cols = FeatureMask(n_voxels=50).fit(X, y).get_support()
    leaky = cross_val_score(make_pipeline(PCA(5), LinearDiscriminantAnalysis()), X[:, leaked_cols], y,
                            cv=StratifiedKFold(5, shuffle=True, random_state=1))
    assert leaky.mean() > 0.5 + 2 * se


def test_graph_parameters_tuned_inside_nested_cv():
    # raw series in, GraphFeatures as the first pipeline step: density and feature set
    # are chosen by the inner grid search on training subjects only
    data = fmri_cohort(30, 40, 100, n_signal_nodes=8, effect=1.5, random_state=2)
    clf = make_graph_classifier(n_voxels=10, n_components=3,
                                graph_features=GraphFeatures(density=0.1, features=("degree",)))
    assert [name for name, _ in clf.steps][0] == "graph"
    grid = {"graph__density": [0.05, 0.15], "graph__features": [("degree",), ("triangles",)]}
    rep = cross_validate_report(clf, data["timeseries"], data["y"], param_grid=grid, n_splits=3,
                                inner_splits=3, random_state=0)
    assert rep.accuracy.size == 3
    assert all(set(p) == {"graph__density", "graph__features"} for p in rep.best_params)
    assert rep.summary()["accuracy_mean"] >= 0.8
