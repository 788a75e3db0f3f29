"""FunctionalGraph and GraphFeatures: scikit-learn contract and agreement with networkx."""

import networkx as nx
import numpy as np
import pytest
from joblib import Memory, parallel_config
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from neurodyn.datasets.simulate import fmri_cohort
from neurodyn.graph import FunctionalGraph, GraphFeatures


def _cohort(n_subjects=6, n_nodes=30, seed=0):
    return fmri_cohort(n_subjects, n_nodes, 60, n_signal_nodes=5, random_state=seed)


def _nx_graph(X, tau):
    R = np.corrcoef(X.T)
    A = np.triu(R > tau, 1)
    return nx.from_numpy_array((A | A.T).astype(int))


def test_functional_graph_matches_networkx():
    X = _cohort()["timeseries"][0]
    X[:, 4] = 1.0  # a constant node is dropped by default
    fg = FunctionalGraph(threshold=0.2)
    assert fg.fit(X) is fg
    G_ref = _nx_graph(np.delete(X, 4, axis=1), 0.2)
    assert np.array_equal(fg.nodes_, np.delete(np.arange(30), 4))
    assert fg.n_edges_ == G_ref.number_of_edges()
    G = fg.to_networkx()
    assert sorted(G.nodes) == sorted(G_ref.nodes)
    assert {frozenset(e) for e in G.edges} == {frozenset(e) for e in G_ref.edges}
    f = fg.node_features(("degree", "triangles"))
    assert np.array_equal(f["triangles"], [nx.triangles(G_ref)[i] for i in range(29)])
    assert fg.density_ == pytest.approx(2 * fg.n_edges_ / (29 * 28))


def test_functional_graph_params_untouched_and_unfitted_error():
    fg = FunctionalGraph(density=0.1, block_size=5)
    assert clone(fg).get_params() == fg.get_params()
    assert fg.threshold is None and fg.density == 0.1
    with pytest.raises(NotFittedError):
        fg.node_features()


def test_graph_features_layout_equals_per_subject_networkx():
    data = _cohort()
    subjects = data["timeseries"]
    subjects[2][:, 7] = -3.0  # constant node: kept with every feature 0
    gf = GraphFeatures(threshold=0.25, features=("degree", "triangles", "clustering"))
    X = gf.fit_transform(subjects)
    assert X.shape == (6, 3 * 30)
    assert gf.feature_names_[31] == "triangles_1"
    for s, series in enumerate(subjects):
        keep = np.setdiff1d(np.arange(30), [7] if s == 2 else [])
        G = _nx_graph(series[:, keep], 0.25)
        maps = gf.feature_maps(X[s])
        deg = np.zeros(30)
        tri = np.zeros(30)
        clu = np.zeros(30)
        deg[keep] = [G.degree(i) for i in range(keep.size)]
        tri[keep] = [nx.triangles(G)[i] for i in range(keep.size)]
        clu[keep] = [nx.clustering(G)[i] for i in range(keep.size)]
        assert np.array_equal(maps["degree"], deg)
        assert np.array_equal(maps["triangles"], tri)
        np.testing.assert_allclose(maps["clustering"], clu, rtol=0, atol=1e-12)


def test_graph_features_density_equal_edges_per_subject():
    subjects = _cohort()["timeseries"]
    gf = GraphFeatures(density=0.1, features=("degree",))
    X = gf.fit_transform(subjects)
    expected = round(0.1 * 30 * 29 / 2)
    assert np.all(X.sum(axis=1) == 2 * expected)
    assert gf.thresholds_.shape == (6,)


def test_parallel_and_cached_results_identical(tmp_path):
    subjects = _cohort()["timeseries"]
    before = [s.copy() for s in subjects]
    ref = GraphFeatures(threshold=0.3, features=("triangles", "squares")).fit_transform(subjects)
    with parallel_config(backend="threading"):  # the joblib path, without process start-up
        par = GraphFeatures(threshold=0.3, features=("triangles", "squares"),
                            n_jobs=2).fit_transform(subjects)
    memory = Memory(str(tmp_path), verbose=0)
    cached = GraphFeatures(threshold=0.3, features=("triangles", "squares"), memory=memory)
    first = cached.fit_transform(subjects)
    second = cached.transform(subjects)
    assert np.array_equal(ref, par) and np.array_equal(ref, first) and np.array_equal(ref, second)
    assert any(tmp_path.rglob("output.pkl"))  # results were written to the cache
    assert all(np.array_equal(a, b) for a, b in zip(subjects, before, strict=True))


def test_graph_features_bad_inputs():
    subjects = _cohort(n_subjects=3)["timeseries"]
    gf = GraphFeatures(threshold=0.3)
    bad = [s.copy() for s in subjects]
    bad[1][5, 2] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] must be finite; got 1 NaN"):
        gf.fit_transform(bad)
    with pytest.raises(ValueError, match=r"different lengths \[50, 60\].*Use density="):
        gf.fit_transform([subjects[0], subjects[1][:50]])
    with pytest.raises(ValueError, match="all recordings must have the same number of units"):
        gf.fit_transform([subjects[0], subjects[1][:, :20]])
    with pytest.raises(ValueError, match=r"threshold must be in \[-1, 1\]"):
        GraphFeatures(threshold=2.0).fit(subjects)
    with pytest.raises(ValueError, match="exactly one of threshold"):
        GraphFeatures(threshold=0.3, density=0.1).fit(subjects)
    with pytest.raises(ValueError, match="features must be one of"):
        GraphFeatures(features=("betweenness",)).fit(subjects)
    with pytest.raises(ValueError, match="X is empty"):
        gf.fit([])
    with pytest.raises(ValueError, match="X holds images; pass masker="):
        gf.fit(["sub-01_bold.nii.gz"])
    fitted = GraphFeatures(threshold=0.3).fit(subjects)
    with pytest.raises(ValueError, match="X has 20 nodes per subject; this GraphFeatures was fitted with 30"):
        fitted.transform([s[:, :20] for s in subjects])
    with pytest.raises(NotFittedError):
        GraphFeatures().transform(subjects)


def test_to_nifti_round_trip():
    nib = pytest.importorskip("nibabel")
    from nilearn.maskers import NiftiMasker

    mask = np.zeros((4, 5, 3), dtype=np.int8)
    mask[1:3, 1:4, 1] = 1  # 6 voxels
    affine = np.eye(4)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 5, 3, 40))
    img = nib.Nifti1Image(data, affine)
    masker = NiftiMasker(nib.Nifti1Image(mask, affine), standardize=None).fit()
    gf = GraphFeatures(threshold=0.0, features=("degree", "triangles"), masker=masker)
    X = gf.fit_transform([img, img])
    series = data[mask.astype(bool)].T  # (time, voxels) in the masker's order
    G = _nx_graph(series, 0.0)
    assert np.array_equal(X[0, :6], [G.degree(i) for i in range(6)])
    maps = gf.to_nifti(X[0])
    deg_img = maps["degree"].get_fdata()
    assert deg_img.shape == (4, 5, 3)
    assert np.array_equal(deg_img[mask.astype(bool)], X[0, :6])
    assert np.all(deg_img[~mask.astype(bool)] == 0)
    # an unfitted masker is fitted on a copy: the parameter stays untouched
    unfitted = NiftiMasker(nib.Nifti1Image(mask, affine), standardize=None)
    gf2 = GraphFeatures(threshold=0.0, features=("degree", "triangles"), masker=unfitted)
    assert np.array_equal(gf2.fit_transform([img, img]), X)
    assert not hasattr(unfitted, "mask_img_") and hasattr(gf2.masker_, "mask_img_")
    assert np.array_equal(gf2.to_nifti(X[0])["degree"].get_fdata(), deg_img)


def test_graph_features_estimator_contract():
    subjects = _cohort(n_subjects=3)["timeseries"]
    params = dict(threshold=None, density=0.2, absolute=True, features=["triangles", "degree"],
                  block_size=7, engine="sparse", device="cpu", n_jobs=None, memory=None,
                  masker=None, verbose=False, warn_transposed="auto", rounding="half_even")
    gf = GraphFeatures(**params)
    assert gf.get_params() == params  # stored unchanged, no validation in __init__
    assert gf.fit(subjects) is gf
    assert gf.get_params() == params and gf.features == ["triangles", "degree"]
    assert not hasattr(clone(gf), "n_nodes_")
    X1 = gf.transform(subjects)
    X2 = clone(gf).set_params(density=0.4).fit_transform(subjects)
    assert X1.shape == X2.shape == (3, 60)
    # denser graphs: every subject gets twice the edges, so degree sums double
    assert np.array_equal(X2[:, 30:].sum(axis=1), 2 * X1[:, 30:].sum(axis=1))
    assert list(gf.get_feature_names_out()[:2]) == ["triangles_0", "triangles_1"]


def test_transform_leaves_the_estimator_unchanged_and_density_allows_unequal_lengths():
    subjects = _cohort()["timeseries"]
    gf = GraphFeatures(density=0.1, features=("degree",)).fit(subjects)
    before = dict(vars(gf))
    rows, thr = gf.transform(subjects, return_thresholds=True)
    assert vars(gf).keys() == before.keys()  # transform sets no attribute
    np.testing.assert_array_equal(rows, gf.transform(subjects))
    # density: each subject keeps the same number of edges whatever its length
    short = [s[: s.shape[0] // 2 + 3] if i % 2 else s for i, s in enumerate(subjects)]
    X = GraphFeatures(density=0.1, features=("degree",)).fit_transform(short)
    assert np.all(X.sum(axis=1) == 2 * round(0.1 * 30 * 29 / 2))
    # a fixed threshold refuses different lengths, naming the fix
    with pytest.raises(ValueError, match="different lengths.*density="):
        GraphFeatures(threshold=0.3).fit_transform(short)
    # the threshold of a density graph is the correlation at the kept-edge boundary
    r = np.corrcoef(subjects[0].T)[np.triu_indices(30, 1)]
    # (the first pair left out), up to the rounding of np.corrcoef against neurodyn's z-scores
    m = round(0.1 * 30 * 29 / 2)
    assert np.sum(r > thr[0] + 1e-12) == m and np.sum(r > thr[0] - 1e-12) == m + 1
