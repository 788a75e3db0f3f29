"""neurodyn.graph at its boundary: layouts, bad inputs named, scale and float32 invariance."""

import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.utils.estimator_checks import parametrize_with_checks

import neurodyn._validation as validation
from neurodyn._validation import LayoutWarning
from neurodyn.datasets.simulate import fmri_cohort
from neurodyn.graph import (
    FunctionalGraph,
    GraphFeatures,
    correlation_graph,
    correlation_matrix,
    density_to_n_edges,
    node_features,
    strength,
    threshold_matrix,
    zscore_timeseries,
)
from neurodyn.graph.connectivity import VOXEL_LEVEL_NODES


def _series(seed, n_time=80, n_nodes=40):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_time, 3))
    return latent @ rng.standard_normal((3, n_nodes)) + rng.standard_normal((n_time, n_nodes))


def _layout_warnings(record):
    return [w for w in record if issubclass(w.category, LayoutWarning)]


# --- layout --------------------------------------------------------------------------------

def test_fewer_timepoints_than_nodes_warns_with_the_way_out():
    X = _series(0, n_time=20, n_nodes=40)
    for func in (lambda **k: correlation_graph(X, 0.3, **k), lambda **k: correlation_matrix(X, **k),
                 lambda **k: zscore_timeseries(X, **k), lambda **k: FunctionalGraph(**k).fit(X)):
        with pytest.warns(LayoutWarning, match=r"X has 20 timepoints and 40 nodes.*warn_transposed=False"):
            func()
        with warnings.catch_warnings():
            warnings.simplefilter("error", LayoutWarning)
            func(warn_transposed=False)
            func(warn_transposed=np.False_)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        correlation_graph(X.T, 0.3)  # 40 timepoints, 20 nodes: the expected layout
    with pytest.raises(ValueError, match="warn_transposed must be 'auto', True or False; got 'yes'"):
        correlation_graph(X, 0.3, warn_transposed="yes")


def test_voxel_level_graphs_do_not_warn_by_default():
    # a voxel/vertex graph (more nodes than timepoints is the norm) is not a transposed array
    rng = np.random.default_rng(1)
    voxels = rng.standard_normal((4, VOXEL_LEVEL_NODES + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        Z = zscore_timeseries(voxels)
    np.testing.assert_allclose(Z.mean(axis=1), 0, atol=1e-12)
    with pytest.warns(LayoutWarning, match="5001 nodes"):
        zscore_timeseries(voxels, warn_transposed=True)
    with pytest.warns(LayoutWarning, match="5000 nodes"):
        zscore_timeseries(voxels[:, :VOXEL_LEVEL_NODES])


def test_functional_graph_one_recording_and_n_features_in():
    X = _series(2, n_nodes=12)
    X[:, 3] = 2.0
    fg = FunctionalGraph(threshold=0.2).fit(X, None)
    assert fg.n_features_in_ == 12 and fg.n_nodes_ == 11
    assert FunctionalGraph(threshold=0.2, zero_variance="isolate").fit(X).n_features_in_ == 12
    with pytest.raises(ValueError, match=r"X must be one recording \(n_timepoints, n_nodes\); got a "
                                         r"stack of 2 recordings.*GraphFeatures"):
        FunctionalGraph().fit(np.stack([X, X]))
    with pytest.raises(ValueError, match="got a stack of 2 recordings"):
        FunctionalGraph().fit([X, X])
    with pytest.raises(TypeError, match="absolute must be True or False; got 'no'"):
        FunctionalGraph(absolute="no").fit(X)


def test_graph_features_cohort_layouts():
    data = fmri_cohort(4, 20, 50, n_signal_nodes=3, random_state=0)
    subjects = data["timeseries"]
    gf = GraphFeatures(threshold=0.3)
    rows = gf.fit_transform(subjects)
    assert gf.n_features_in_ == 20 and rows.shape == (4, 40)
    np.testing.assert_array_equal(GraphFeatures(threshold=0.3).fit_transform(np.stack(subjects)), rows)
    # one 2-D array is ambiguous: refused, with the way to pass one subject
    with pytest.raises(ValueError, match=r"X must be a cohort.*got one 2-D array of shape \(50, 20\)"
                                         r".*pass X\[None\] or \[X\]"):
        gf.fit_transform(subjects[0])
    with pytest.raises(ValueError, match=r"pass X\[None\]"):
        GraphFeatures(threshold=0.3).fit(subjects[0])
    np.testing.assert_array_equal(GraphFeatures(threshold=0.3).fit_transform(subjects[0][None]), rows[:1])
    with pytest.raises(ValueError, match=r"pass X\[None\]"):
        gf.transform(subjects[0])
    with pytest.raises(TypeError, match="X must be a cohort .*got one str: wrap a single image"):
        gf.fit("sub-01_bold.nii.gz")
    with pytest.raises(TypeError, match="X must be a 3-D array .* got int"):
        gf.fit(3)


def test_graph_features_transposed_cohort_warns_once():
    subjects = fmri_cohort(3, 20, 50, n_signal_nodes=3, random_state=0)["timeseries"]
    transposed = [s.T for s in subjects]  # (20 "timepoints", 50 "nodes")
    with pytest.warns(LayoutWarning) as record:
        GraphFeatures(threshold=0.3).fit_transform(transposed)
    msgs = [str(w.message) for w in _layout_warnings(record)]
    assert len(msgs) == 1
    assert "X[0] (and 2 other subjects) has 20 timepoints and 50 nodes" in msgs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        GraphFeatures(threshold=0.3, warn_transposed=False).fit_transform(transposed)
        GraphFeatures(threshold=0.3).fit_transform(subjects)
    with pytest.raises(ValueError, match="warn_transposed must be"):
        GraphFeatures(warn_transposed=None).fit(subjects)


# --- scale and precision --------------------------------------------------------------------

@settings(max_examples=8, deadline=None)
@given(exponent=st.integers(-15, 15), seed=st.integers(0, 2**16))
def test_correlation_matrix_scale_invariant(exponent, seed):
    X = _series(seed, n_time=30, n_nodes=8)
    ref = np.corrcoef(X.T)
    np.testing.assert_allclose(correlation_matrix(X * 10.0**exponent), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_extreme_scales_give_the_same_correlations_and_graph(scale):
    X = _series(3, n_nodes=25)
    ref = np.corrcoef(X.T)
    R = correlation_matrix(X * scale)  # was all NaN at 1e-200 and all 0 at 1e300
    np.testing.assert_allclose(R, ref, rtol=0, atol=1e-12)
    g = correlation_graph(X * scale, 0.2)
    assert (g.adjacency != correlation_graph(X, 0.2).adjacency).nnz == 0
    np.testing.assert_allclose(zscore_timeseries(X * scale), zscore_timeseries(X), rtol=0, atol=1e-12)


def test_float32_input_is_used_exactly_and_agrees_with_float64_away_from_ties():
    X = _series(4, n_time=120, n_nodes=60)
    X32 = X.astype(np.float32)
    tau = 0.25
    g32 = correlation_graph(X32, tau)
    # the graph of the float32 values themselves, decided in float64
    R32 = np.corrcoef(X32.astype(np.float64).T)
    ref = np.triu(R32 > tau, 1)
    assert np.array_equal(g32.adjacency.toarray(), ref | ref.T)
    # against the float64 data: only pairs within 1e-5 of the threshold may differ (stated tolerance)
    R = np.corrcoef(X.T)
    differ = np.triu(g32.adjacency.toarray() != correlation_graph(X, tau).adjacency.toarray(), 1)
    assert np.all(np.abs(R[differ] - tau) < 1e-5)
    f32 = node_features(g32.adjacency)
    f64 = node_features(correlation_graph(X, tau).adjacency)
    if not differ.any():
        assert all(np.array_equal(f32[k], f64[k]) for k in f64)
    np.testing.assert_allclose(correlation_matrix(X32), R32, rtol=0, atol=1e-12)
    np.testing.assert_allclose(correlation_matrix(X32), R, rtol=0, atol=1e-5)


def test_graph_features_float32_equal_float64():
    subjects = fmri_cohort(3, 20, 60, n_signal_nodes=3, random_state=1)["timeseries"]
    rows64 = GraphFeatures(density=0.2, features=("degree", "clustering")).fit_transform(subjects)
    rows32 = GraphFeatures(density=0.2, features=("degree", "clustering")).fit_transform(
        [s.astype(np.float32).astype(np.float64) for s in subjects])
    rows32b = GraphFeatures(density=0.2, features=("degree", "clustering")).fit_transform(
        [s.astype(np.float32) for s in subjects])
    np.testing.assert_array_equal(rows32, rows32b)
    np.testing.assert_array_equal(rows64[:, :20], rows32[:, :20])  # no tie at 1e-6 in this cohort


# --- parameters and bad inputs ----------------------------------------------------------------

def test_density_to_n_edges_checks_its_arguments():
    assert density_to_n_edges(0.5, 10) == round(0.5 * 45)
    assert density_to_n_edges(1, 1) == 0
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]; got 2.0"):
        density_to_n_edges(2, 10)
    with pytest.raises(ValueError, match="density must be a number; got NaN"):
        density_to_n_edges(np.nan, 10)
    with pytest.raises(TypeError, match="density must be a real number; got 'a'"):
        density_to_n_edges("a", 10)
    with pytest.raises(ValueError, match="n_nodes must be >= 1; got -3"):
        density_to_n_edges(0.5, -3)
    with pytest.raises(TypeError, match="n_nodes must be an integer"):
        density_to_n_edges(0.5, 10.5)


def test_timeseries_inputs_are_refused_by_name():
    X = _series(0, n_nodes=6)
    for func in (correlation_matrix, zscore_timeseries, lambda x: correlation_graph(x, 0.3)):
        with pytest.raises(TypeError, match="X must be real-valued; got a complex array"):
            func(X + 1j)
        with pytest.raises(TypeError, match="X must be a numeric array; got strings"):
            func(X.astype(str))
        with pytest.raises(ValueError, match=r"X must be 2-D \(n_timepoints, n_nodes\); got shape \(80,\)"):
            func(X[:, 0])
        with pytest.raises(ValueError, match="X must be finite; got 0 NaN and 80 Inf"):
            func(np.where(np.arange(6) == 2, np.inf, X))
        with pytest.raises(ValueError, match="X is empty"):
            func(np.empty((0, 3)))
    with pytest.raises(ValueError, match=r"X has 1 constant \(zero-variance\) channel"):
        correlation_matrix(np.c_[X, np.ones(80)])
    with pytest.raises(ValueError, match="X must be finite"):  # beyond float64 after the cast
        correlation_matrix([[1e300, 2.0], [3.0, 1e309], [1.0, 0.0]])
    with pytest.raises(TypeError, match="block_size must be an integer"):
        correlation_graph(X, 0.3, block_size=2.5)


def test_sizes_beyond_memory_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(validation, "_available_memory", lambda: 1000)
    X = _series(0, n_nodes=30)
    with pytest.raises(MemoryError, match="X with 30 nodes would need .* dense correlation matrix"):
        correlation_matrix(X)
    with pytest.raises(MemoryError, match="block_size would need .* float32 correlation blocks"):
        correlation_graph(X, 0.3)
    with pytest.raises(MemoryError, match="matrix with 30 nodes would need .* upper-triangle pairs"):
        threshold_matrix(np.eye(30), 0.5)
    A = nx.to_numpy_array(nx.cycle_graph(40), dtype=int)
    with pytest.raises(MemoryError, match=r"adjacency would need .*\(torch engine; use engine='sparse'\)"):
        node_features(A, engine="torch", device="cpu")
    assert node_features(A, ("degree",), engine="torch")["degree"].sum() == 80  # nothing allocated


def test_threshold_matrix_symmetry_tolerance_is_relative():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((10, 10))
    M = (M + M.T) / 2
    tiny = M * 1e-15
    bad = tiny.copy()
    bad[0, 1] += 1e-15  # asymmetry as large as the entries: refused at any scale
    with pytest.raises(ValueError, match="matrix must be symmetric"):
        threshold_matrix(bad, 0.0)
    big = M * 1e15
    big[0, 1] *= 1 + 1e-15  # last-bit asymmetry: tolerated at any scale
    ref = np.triu(big > 0.0, 1)
    assert np.array_equal(threshold_matrix(big, 0.0).adjacency.toarray(), ref | ref.T)
    with pytest.raises(TypeError, match="absolute must be True or False"):
        threshold_matrix(M, 0.1, absolute="yes")
    with pytest.raises(TypeError, match="threshold must be a finite real number; got 'a'"):
        threshold_matrix(M, "a")
    with pytest.raises(TypeError, match="matrix must be real-valued"):
        threshold_matrix(M + 0j, 0.1)
    with pytest.raises(ValueError, match=r"matrix must be 2-D \(n, n\)"):
        threshold_matrix(M[None], 0.1)


def test_strength_refuses_what_it_cannot_sum():
    W = np.array([[0.0, 2.0], [2.0, 0.0]])
    with pytest.raises(TypeError, match="weights must be real-valued; got a complex sparse matrix"):
        strength(sp.csr_array(W + 1j))  # was silently cast to its real part
    with pytest.raises(ValueError, match="weights is empty"):
        strength(sp.csr_array((0, 0)))
    with pytest.raises(ValueError, match=r"weights must be symmetric .* largest \|w_ij - w_ji\| is 1e-15"):
        strength(np.triu(np.ones((3, 3)), 1) * 1e-15)  # was accepted: the tolerance was absolute
    bad = W.copy()
    bad[0, 1] = np.inf
    with pytest.raises(ValueError, match="weights must be finite; got 1 NaN/Inf"):
        strength(bad)
    with pytest.raises(ValueError, match="weights must be finite; got 1 NaN/Inf"):
        strength(sp.csr_array(bad))
    np.testing.assert_array_equal(strength(W * 1e-300), [2e-300, 2e-300])
    np.testing.assert_array_equal(strength(-W), [-2.0, -2.0])  # signed strength, documented


def test_node_features_checked_flag():
    A = nx.to_numpy_array(nx.complete_graph(4), dtype=int)
    with pytest.raises(TypeError, match="checked=True needs the int32 csr_array returned by check_adjacency"):
        node_features(A, checked=True)  # was AttributeError: 'numpy.ndarray' object has no attribute 'indptr'
    with pytest.raises(TypeError, match="checked must be True or False; got 'yes'"):
        node_features(A, checked="yes")


# --- classification ---------------------------------------------------------------------------

def _two_class(n=30, p=20, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = np.repeat([0, 1], n // 2)
    X[y == 1, :3] += shift
    return X, y


def test_feature_mask_refuses_continuous_targets_and_tiny_classes():
    from neurodyn.graph import FeatureMask

    X, y = _two_class()
    rng = np.random.default_rng(0)
    # was: every sample its own class, columns chosen from NaN scores
    with pytest.raises(ValueError, match=r"y must hold class labels .* got continuous \(non-integer\) values"):
        FeatureMask(n_voxels=2).fit(X, rng.standard_normal(30))
    with pytest.raises(ValueError, match=r"y must hold class labels"):
        FeatureMask(statistic="f", n_voxels=2).fit(X, rng.standard_normal(30))
    with pytest.raises(ValueError, match=r"needs at least 2 samples of each class in y .* classes \[1\] have 1"):
        FeatureMask(n_voxels=2).fit(X[:16], y[:16])
    with pytest.raises(ValueError, match="statistic='f' needs more samples than classes in y; got 3 samples"):
        FeatureMask(statistic="f", n_voxels=2).fit(X[:3], [0, 1, 2])
    with pytest.raises(ValueError, match="FeatureMask requires y to be passed"):
        FeatureMask(n_voxels=2).fit(X)
    with pytest.raises(TypeError, match="alpha must be a real number; got 'x'"):
        FeatureMask(n_voxels=None, alpha="x").fit(X, y)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\); got 1.0"):
        FeatureMask(n_voxels=None, alpha=1.0).fit(X, y)
    with pytest.raises(ValueError, match="n_voxels must be >= 1; got 0"):
        FeatureMask(n_voxels=0).fit(X, y)
    # integer-valued floats are class labels
    np.testing.assert_array_equal(FeatureMask(n_voxels=3).fit(X, y.astype(float)).get_support(),
                                  FeatureMask(n_voxels=3).fit(X, y).get_support())


@pytest.mark.parametrize("statistic", ["ttest", "f"])
def test_feature_mask_scores_are_never_nan_and_scale_free(statistic):
    from neurodyn.graph import FeatureMask

    X, y = _two_class(shift=1.5)
    X[:, 5] = 3.0  # constant: score 0, p = 1, chosen last
    X[:, 6] = np.where(y == 1, 2.0, -1.0)  # constant within classes, different means: perfect
    m = FeatureMask(statistic, n_voxels=4).fit(X, y)
    assert np.isfinite(m.scores_).all() and np.isfinite(m.pvalues_).all()
    assert m.scores_[5] == 0 and m.pvalues_[5] == 1
    assert m.scores_[6] == np.finfo(np.float64).max and m.pvalues_[6] == 0
    assert m.get_support()[6] and not m.get_support()[5]
    ref = stats.ttest_ind(X[y == 1][:, :5], X[y == 0][:, :5]) if statistic == "ttest" else None
    if ref is not None:
        np.testing.assert_allclose(m.scores_[:5], np.abs(ref.statistic), rtol=1e-10)
    # per-column rescaling changes nothing, even at extreme magnitudes (var of 1e200 overflows)
    scales = np.logspace(-200, 200, X.shape[1])
    m2 = FeatureMask(statistic, n_voxels=4).fit(X * scales, y)
    np.testing.assert_array_equal(m2.get_support(), m.get_support())
    np.testing.assert_allclose(m2.scores_[:5], m.scores_[:5], rtol=1e-10)
    # float32 input gives the float64 mask
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(FeatureMask(statistic, n_voxels=4).fit(X32, y).get_support(),
                                  FeatureMask(statistic, n_voxels=4).fit(X32.astype(np.float64), y).get_support())


def test_make_graph_classifier_parameter_ranges():
    from neurodyn.graph import make_graph_classifier

    with pytest.raises(ValueError, match="n_voxels must be >= 1; got -1"):
        make_graph_classifier(n_voxels=-1)
    with pytest.raises(TypeError, match="n_voxels must be an integer"):
        make_graph_classifier(n_voxels="all")
    with pytest.raises(ValueError, match=r"exactly one of n_voxels .* \(pass n_voxels=None with alpha\)"):
        make_graph_classifier(alpha=0.05)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        make_graph_classifier(n_voxels=None, alpha=2.0)
    with pytest.raises(ValueError, match="n_components must be >= 1; got 0"):
        make_graph_classifier(n_components=0)
    with pytest.raises(ValueError, match=r"n_components must be in \(0, 1\); got 1.5"):
        make_graph_classifier(n_components=1.5)
    with pytest.raises(TypeError, match="scale must be True or False"):
        make_graph_classifier(scale="yes")
    with pytest.raises(TypeError, match="graph_features must be a transformer"):
        make_graph_classifier(graph_features=GraphFeatures)
    with pytest.raises(ValueError, match="mask must be one of"):
        make_graph_classifier(mask="wilcoxon")
    pipe = make_graph_classifier(n_voxels=None, alpha=0.05, n_components=0.9)
    assert pipe.named_steps["mask"].alpha == 0.05 and pipe.named_steps["pca"].n_components == 0.9


def test_cross_validate_report_parameter_ranges():
    from neurodyn.graph import cross_validate_report, make_graph_classifier

    X, y = _two_class(n=30, p=6)
    clf = make_graph_classifier(mask=None, n_components=2)
    with pytest.raises(TypeError, match="estimator must be a scikit-learn classifier"):
        cross_validate_report(None, X, y)
    with pytest.raises(ValueError, match="y must hold class labels"):
        cross_validate_report(clf, X, np.random.default_rng(0).standard_normal(30))
    with pytest.raises(ValueError, match=r"y: class 1 has 3 subjects, fewer than n_splits=5"):
        cross_validate_report(clf, X[:18], y[:18])  # was: folds without class 1, NaN sensitivities
    with pytest.raises(ValueError, match="inner_splits=5 is more than the 4 subjects of class 1"):
        cross_validate_report(clf, X[:20], y[:20], param_grid={"pca__n_components": [1, 2]})
    with pytest.raises(ValueError, match="n_splits must be >= 2; got 1"):
        cross_validate_report(clf, X, y, n_splits=1)
    with pytest.raises(ValueError, match="n_repeats must be >= 1; got 0"):
        cross_validate_report(clf, X, y, n_repeats=0)
    with pytest.raises(ValueError, match="n_permutations must be >= 0; got -1"):
        cross_validate_report(clf, X, y, n_permutations=-1)
    with pytest.raises(TypeError, match="n_splits must be an integer"):
        cross_validate_report(clf, X, y, n_splits=2.5)
    with pytest.raises(ValueError, match="groups must contain at least 2 different groups"):
        cross_validate_report(clf, X, y, groups=np.zeros(30))
    with pytest.raises(TypeError, match="X must be an array or a list of subjects; got int"):
        cross_validate_report(clf, 5, y)


def test_feature_mask_dtype_and_shape_messages_name_the_argument():
    from neurodyn.graph import FeatureMask, cross_validate_report, make_graph_classifier

    X, y = _two_class(n=12, p=8)
    m = FeatureMask(n_voxels=3).fit(X, y)
    for call in (lambda Z: FeatureMask(n_voxels=3).fit(Z, y), m.transform):
        with pytest.raises(ValueError, match="Complex data not supported: X must be real-valued"):
            call(X + 1j)
        with pytest.raises(TypeError, match="X must be a numeric array; got strings"):
            call(X.astype(str))  # numeric strings were parsed silently
        obj = X.astype(object)
        obj[0, 0] = None
        with pytest.raises(ValueError, match="X must be finite|Input X contains NaN"):
            call(obj)  # numpy reads None as NaN
        with pytest.raises(ValueError, match=r"X must be 2-D \(n_samples, n_features\); got shape \(96,\)"):
            call(X.ravel())
        with pytest.raises(ValueError, match=r"X is empty; got shape \(0, 8\)"):
            call(X[:0])
    with pytest.raises(ValueError, match="Complex data not supported: y must hold class labels"):
        FeatureMask(n_voxels=3).fit(X, y + 1j)
    with pytest.raises(ValueError, match=r"y must be 1-D \(n_samples,\) class labels; got shape \(1, 12, 1\)"):
        FeatureMask(n_voxels=3).fit(X, y[None, :, None])
    with pytest.raises(ValueError, match=r"y must have one label per row of X \(12\); got 0"):
        FeatureMask(n_voxels=3).fit(X, y[:0])
    # string class labels are labels: the same mask as integers
    np.testing.assert_array_equal(FeatureMask(n_voxels=3).fit(X, np.where(y, "ADHD", "control")).get_support(),
                                  m.get_support())
    with pytest.raises(ValueError, match="Complex data not supported: X must be real-valued"):
        cross_validate_report(make_graph_classifier(mask=None, n_components=2), X + 1j, y, n_splits=2)
    with pytest.raises(TypeError, match="X must be a numeric array; got strings"):
        cross_validate_report(make_graph_classifier(mask=None, n_components=2), X.astype(str), y, n_splits=2)


def test_threshold_matrix_refuses_thresholds_outside_a_correlation_range():
    R = np.corrcoef(_series(0, n_nodes=8).T)
    with pytest.raises(ValueError, match=r"threshold must be in \[-1, 1\] for a correlation matrix .* "
                                         r"got 2.0, which keeps no pair"):
        threshold_matrix(R, 2.0)
    with pytest.raises(ValueError, match="got -1.5, which keeps every pair"):
        threshold_matrix(R, -1.5)
    M = R * 3.0  # not a correlation matrix: any finite threshold is meaningful
    ref = np.triu(M > 2.0, 1)
    assert np.array_equal(threshold_matrix(M, 2.0).adjacency.toarray(), ref | ref.T)


def test_fmri_cohort_parameter_checks():
    with pytest.raises(TypeError, match="effect must be a real number; got 'a'"):
        fmri_cohort(effect="a")  # was a numpy ufunc TypeError
    with pytest.raises(ValueError, match=r"factor_scale must be in \[0, inf\); got inf"):
        fmri_cohort(factor_scale=np.inf)
    with pytest.raises(ValueError, match=r"site_effect must be in \[0, inf\); got nan|site_effect must be a number"):
        fmri_cohort(site_effect=np.nan)
    with pytest.raises(TypeError, match="n_nodes must be an integer"):
        fmri_cohort(n_nodes=2.5)
    with pytest.raises(MemoryError, match="n_subjects \\* n_timepoints \\* n_nodes would need"):
        fmri_cohort(n_subjects=10**6, n_nodes=10**5, n_timepoints=10**3)


def test_density_ties_are_reported():
    A = nx.to_numpy_array(nx.cycle_graph(10))  # 10 pairs at 1, 35 at 0: every cut is a tie
    with pytest.warns(UserWarning, match=r"density=0.1 asks for 4 edges but pairs tie at the cut value 1"
                                         r".*so 0 edges are kept"):
        g = threshold_matrix(A, density=0.1)
    assert g.n_edges == 0
    X = _series(5, n_nodes=6)
    X = np.c_[X, X[:, 0], X[:, 0]]  # three identical columns: r = 1 exactly, tied
    with pytest.warns(UserWarning, match="ties are all left out"):
        correlation_graph(X, density=1 / 28)  # asks for 1 edge; the top 3 pairs tie
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert correlation_graph(_series(5, n_nodes=6), density=0.2).n_edges == density_to_n_edges(0.2, 6)
    with pytest.warns(UserWarning, match=r"density=1e-09 keeps no edge: round\(density \* n_pairs\) is 0"):
        assert correlation_graph(_series(5, n_nodes=6), density=1e-9).n_edges == 0


def test_graph_features_n_jobs_named():
    subjects = fmri_cohort(2, 8, 30, n_signal_nodes=2, random_state=0)["timeseries"]
    with pytest.raises(TypeError, match=r"n_jobs must be None or an integer .*got \(2, 2\)"):
        GraphFeatures(density=0.3, n_jobs=(2, 2)).fit(subjects)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")
def test_adjacency_dtypes_and_torch_layouts_agree():
    G = nx.gnp_random_graph(25, 0.3, seed=3)
    A = nx.to_numpy_array(G, dtype=int)
    ref = node_features(A)
    import torch

    for form in (A.astype(np.float16), A.astype(np.longdouble), torch.tensor(A).to_sparse(),
                 torch.tensor(A, dtype=torch.float32).to_sparse_csr()):
        got = node_features(form)
        assert all(np.array_equal(got[k], ref[k]) for k in ref)
    np.testing.assert_array_equal(strength(torch.tensor(A * 0.5).to_sparse()), A.sum(axis=1) * 0.5)
    with pytest.raises(TypeError, match=r"matrix must be a dense array \(n, n\); got a sparse csr_array"):
        threshold_matrix(sp.csr_array(A), 0.5)


def test_feature_maps_refuse_complex_and_nonfinite_rows():
    subjects = fmri_cohort(3, 10, 40, n_signal_nodes=2, random_state=0)["timeseries"]
    gf = GraphFeatures(density=0.3).fit(subjects)
    row = gf.transform(subjects)[0]
    maps = gf.feature_maps(row)
    np.testing.assert_array_equal(np.concatenate([maps["degree"], maps["triangles"]]), row)
    with pytest.raises(TypeError, match="row must be real-valued"):
        gf.feature_maps(row + 1j)  # was cast to its real part with a ComplexWarning
    with pytest.raises(ValueError, match="row must be finite; got 1 NaN/Inf"):
        gf.feature_maps(np.where(np.arange(row.size) == 0, np.nan, row))
    with pytest.raises(ValueError, match=r"row must have shape \(20,\); got \(19,\)"):
        gf.feature_maps(row[:-1])


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), exponent=st.integers(-15, 15))
def test_graph_and_features_permutation_and_scale_invariant(seed, exponent):
    X = _series(seed, n_time=60, n_nodes=15)
    perm = np.random.default_rng(seed).permutation(15)
    g = correlation_graph(X, 0.2)
    gp = correlation_graph(X[:, perm] * 10.0**exponent, 0.2)
    A = g.adjacency.toarray()
    assert np.array_equal(gp.adjacency.toarray(), A[np.ix_(perm, perm)])
    f, fp = node_features(A), node_features(gp.adjacency)
    assert all(np.array_equal(fp[k], f[k][perm]) for k in f)


@parametrize_with_checks([FunctionalGraph(threshold=0.2, device="cpu"),
                          FunctionalGraph(density=0.3, zero_variance="isolate", device="cpu")])
def test_functional_graph_sklearn_contract(estimator, check):
    # a recording (n_timepoints, n_nodes) is a 2-D (n_samples, n_features) array: the common
    # checks apply; GraphFeatures takes 3-D cohorts and is checked by hand in test_estimators.py
    with warnings.catch_warnings():
        # the checks' small arrays are wide (LayoutWarning) and have 0-3 node pairs ("keeps no edge")
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_graph_features_memory_parameter_named():
    subjects = fmri_cohort(2, 8, 30, n_signal_nodes=2, random_state=0)["timeseries"]
    with pytest.raises(TypeError, match="memory must be None, a folder path or a joblib.Memory; got 5"):
        GraphFeatures(density=0.3, memory=5).fit(subjects)  # was a pathlib TypeError in transform


def test_gpu_allocations_checked_against_device_memory(monkeypatch):
    import torch

    from neurodyn.graph._checks import check_device_allocation

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1000, 4000))
    with pytest.raises(MemoryError, match=r"adjacency would need .* of cuda memory for the dense .*9.31e-07 GiB free"):
        check_device_allocation(1e4, "adjacency", "dense float32 copy", torch.device("cuda"))
    check_device_allocation(500, "adjacency", "dense float32 copy", torch.device("cuda"))  # fits
