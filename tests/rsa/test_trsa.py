"""TopologicalRSA: protocol pieces against references, and layer identification in simulation."""

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from neurodyn.datasets.simulate import add_rdm_noise, make_layer_rdms
from neurodyn.rsa import (
    TopologicalRSA,
    draw_thresholds,
    geotopological_grid,
    loso_nearest_centroid,
    sensitivity_specificity,
)


@pytest.fixture(scope="module")
def sim():
    return make_layer_rdms(n_layers=5, n_subjects=8, n_stimuli=30, width=96, random_state=0)


def test_loso_nearest_centroid_vs_sklearn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 6))
    cls = np.tile(np.arange(3), 8)
    subj = np.repeat(np.arange(8), 3)
    x += cls[:, None] * 0.8
    got = loso_nearest_centroid(x[None], cls, subj, 3)[0]
    ref = np.empty(24, dtype=int)
    for s in range(8):
        train = subj != s
        ref[~train] = NearestCentroid().fit(x[train], cls[train]).predict(x[~train])
    np.testing.assert_array_equal(got, ref)


def test_sensitivity_specificity_by_hand():
    c = np.array([[8, 2, 0], [1, 7, 2], [0, 0, 10]])
    sens, spec = sensitivity_specificity(c)
    np.testing.assert_allclose(sens, [0.8, 0.7, 1.0])
    # class 0: false positives 1 of the 20 non-class-0 RDMs
    np.testing.assert_allclose(spec, [1 - 1 / 20, 1 - 2 / 20, 1 - 2 / 20])


def test_draws_lie_in_family_regions():
    for fam in ("local", "global", "geometry", "topology", "intermediate"):
        d = draw_thresholds(fam, 10, random_state=1)
        lo, up = d[:, 0], d[:, 1]
        assert d.shape == (10, 2) and np.all(lo <= up)
        assert np.allclose(d, np.round(d, 2))
        if fam == "topology":
            assert np.all(lo >= 0.4) and np.all(up <= 0.6)
        if fam == "local":
            assert np.all((lo + up) / 2 <= 0.2)
    np.testing.assert_array_equal(draw_thresholds("rdm"), [[0.0, 1.0]])


def test_layer_identification_noise_free_and_reproducible(sim):
    est = TopologicalRSA(family="rdm", n_bootstrap=30, random_state=0).fit(sim["rdms"], sim["layers"], sim["subjects"])
    assert est.accuracy_ >= 0.9
    assert est.confusion_.sum() == len(sim["layers"])
    assert est.ci_[0] <= est.ci_[1] <= 1.0
    assert np.isfinite(est.bootstrap_accuracies_).all() and est.accuracy_se_ > 0
    again = TopologicalRSA(family="rdm", n_bootstrap=30, random_state=0).fit(sim["rdms"], sim["layers"], sim["subjects"])
    np.testing.assert_array_equal(again.bootstrap_accuracies_, est.bootstrap_accuracies_)
    topo = TopologicalRSA(family="topology", n_draws=5, n_bootstrap=0, random_state=0).fit(
        sim["rdms"], sim["layers"], sim["subjects"])
    assert topo.accuracy_ >= 0.8
    assert np.all(est.predict(sim["rdms"][:5]) == sim["layers"][:5])


def test_label_permutation_control_is_at_chance(sim):
    rng = np.random.default_rng(3)
    labels = sim["layers"].copy()
    for s in np.unique(sim["subjects"]):  # shuffle layer labels within each subject
        rows = np.flatnonzero(sim["subjects"] == s)
        labels[rows] = rng.permutation(labels[rows])
    est = TopologicalRSA(family="rdm", n_bootstrap=60, random_state=0).fit(sim["rdms"], labels, sim["subjects"])
    assert abs(est.accuracy_ - 1 / 5) <= 3 * est.accuracy_se_


def test_accuracy_does_not_rise_with_noise(sim):
    accs, ses = [], []
    for k in (0, 2, 4):
        x = add_rdm_noise(sim["clean_rdms"], k, random_state=k)
        est = TopologicalRSA(family="rdm", n_bootstrap=40, random_state=0).fit(x, sim["layers"], sim["subjects"])
        accs.append(est.accuracy_)
        ses.append(est.accuracy_se_)
    assert accs[1] <= accs[0] + 2 * ses[0]
    assert accs[2] <= accs[0] + 2 * ses[0]


def test_rgdm_family_runs_geodesics(sim):
    est = TopologicalRSA(family="rgdm", n_bootstrap=0).fit(sim["rdms"], sim["layers"], sim["subjects"])
    assert est.thresholds_.tolist() == [[0.2, 0.8]]
    assert est.accuracy_ > 1 / 5 + 0.2


def test_grid_heatmap_shape_and_consistency(sim):
    g = geotopological_grid(sim["rdms"], sim["layers"], sim["subjects"], step=0.1)
    assert g["accuracy"].shape == (10, 11)
    assert np.isnan(g["accuracy"][5, 2]) and np.isfinite(g["accuracy"][2, 5])
    one = TopologicalRSA(lower=0.2, upper=0.5, n_bootstrap=0).fit(sim["rdms"], sim["layers"], sim["subjects"])
    assert g["accuracy"][2, 5] == pytest.approx(one.accuracy_)


@pytest.mark.parametrize(
    "params, fit_args, match",
    [
        ({"lower": 0.8, "upper": 0.2}, None, "lower must be <= upper"),
        ({"family": "bogus"}, None, "family must be one of"),
        ({}, "one_region", "regions must contain at least 2 classes"),
        ({}, "nan", "rdms must be finite"),
    ],
)
def test_errors(sim, params, fit_args, match):
    x, reg, sub = sim["rdms"].copy(), sim["layers"], sim["subjects"]
    if fit_args == "one_region":
        reg = np.zeros_like(reg)
    if fit_args == "nan":
        x[0, 0] = np.nan
    with pytest.raises(ValueError, match=match):
        TopologicalRSA(n_bootstrap=0, **params).fit(x, reg, sub)


def test_estimator_contract_by_hand(sim):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    est = TopologicalRSA(family="local", n_draws=3, n_bootstrap=0, random_state=7)
    assert est.get_params()["family"] == "local" and est.get_params()["random_state"] == 7
    with pytest.raises(NotFittedError):
        est.predict(sim["rdms"][:2])
    x = sim["rdms"].copy()
    fitted = est.fit(x, sim["layers"], sim["subjects"])
    assert fitted is est
    np.testing.assert_array_equal(x, sim["rdms"])  # input untouched
    twin = clone(est).fit(x, sim["layers"], sim["subjects"])
    np.testing.assert_array_equal(twin.thresholds_, est.thresholds_)
    assert twin.accuracy_ == est.accuracy_


def test_confidence_interval_is_centred_on_the_point_estimate():
    from neurodyn.datasets.simulate import make_layer_rdms
    from neurodyn.rsa import TopologicalRSA

    sim = make_layer_rdms(n_layers=4, n_subjects=5, n_stimuli=24, noise_level=2.0, random_state=1)
    est = TopologicalRSA(family="topology", n_draws=3, n_bootstrap=40, random_state=0).fit(
        sim["rdms"], sim["layers"], sim["subjects"])
    se = np.nanstd(est.bootstrap_accuracies_, ddof=1)
    assert est.accuracy_se_ == pytest.approx(se)
    expected = np.clip([est.accuracy_ - 1.96 * se, est.accuracy_ + 1.96 * se], 0, 1)
    np.testing.assert_allclose(est.ci_, expected, atol=1e-3 * max(se, 1e-12))
    assert est.ci_[0] <= est.accuracy_ <= est.ci_[1]


def test_rdm_noise_sweep_matches_loop_reference():
    from neurodyn.rsa.trsa import rdm_noise_sweep

    x = np.abs(np.random.default_rng(0).normal(size=(4, 15)))
    keep = x.copy()
    levels = (0.0, 1.5, 3.0)
    got = rdm_noise_sweep(x, levels=levels, n_repetitions=2, random_state=5)
    np.testing.assert_array_equal(x, keep)  # input untouched
    rng = np.random.default_rng(5)
    sd = np.std(x)
    ref = np.array([[np.maximum(x + rng.normal(0.0, lev * sd, x.shape), 0.0) for _ in range(2)] for lev in levels])
    assert got.shape == (3, 2, 4, 15)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got[0], np.broadcast_to(x, (2, 4, 15)))  # level 0: the RDMs themselves
    assert got.min() == 0.0  # heavy noise is clipped at 0


def test_rdm_noise_sweep_draw_positions_and_noise_scale():
    from neurodyn.rsa.trsa import rdm_noise_sweep

    x = np.random.default_rng(1).uniform(size=(3, 2016))  # K = 64 conditions
    a = rdm_noise_sweep(x, levels=(0.0, 2.0), n_repetitions=2, random_state=0, clip=False)
    b = rdm_noise_sweep(x, levels=(7.0, 2.0), n_repetitions=2, random_state=0, clip=False)
    np.testing.assert_array_equal(a[1], b[1])  # a level's draws do not depend on the other levels' values
    e = (a[1] - x) / (2.0 * x.std())
    assert abs(e.std() - 1.0) < 0.02 and abs(e.mean()) < 0.02  # unit-variance noise after scaling
    assert not np.array_equal(a[1, 0], a[1, 1])  # repetitions are independent draws
    # 1-D input keeps its shape
    assert rdm_noise_sweep(x[0], levels=(1.0,), n_repetitions=3, random_state=0).shape == (1, 3, 2016)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"levels": (1.0, -0.5)}, "levels must be >= 0"),
        ({"levels": (1.0, np.nan)}, "levels must be finite"),
        ({"n_repetitions": 0}, "n_repetitions must be >= 1"),
        ({"rdms": "nan"}, "rdms must be finite"),
        ({"rdms": "3d"}, r"rdms must be .*a 3-D array is a stack of square RDMs"),
        ({"rdms": "width"}, r"rdms: an RDM vector must have K\(K-1\)/2 entries .* got 7 entries"),
    ],
)
def test_rdm_noise_sweep_errors(kwargs, match):
    from neurodyn.rsa.trsa import rdm_noise_sweep

    x = np.ones((2, 6))
    if kwargs.get("rdms") == "nan":
        x[1, 2] = np.nan
    elif kwargs.get("rdms") == "3d":
        x = np.ones((2, 2, 6))
    elif kwargs.get("rdms") == "width":
        x = np.ones((2, 7))
    kwargs = {k: v for k, v in kwargs.items() if k != "rdms"}
    with pytest.raises(ValueError, match=match):
        rdm_noise_sweep(x, **kwargs)


def test_plot_accuracy_vs_noise_draws_one_line_per_family_and_the_chance_level():
    import matplotlib

    matplotlib.use("Agg")
    from neurodyn.rsa.plotting import plot_accuracy_vs_noise

    levels = [0.0, 0.5, 1.0]
    acc = {"rdm": [1.0, 0.8, 0.4], "topology": [1.0, 0.9, 0.7]}
    ax = plot_accuracy_vs_noise(levels, acc, errors={"rdm": [0.0, 0.1, 0.1]}, chance=0.2)
    series = {c.get_label(): c.lines[0] for c in ax.containers}  # errorbar containers: data line first
    assert sorted(series) == ["rdm", "topology"]
    for label, values in acc.items():
        np.testing.assert_array_equal(series[label].get_xdata(), levels)
        np.testing.assert_array_equal(series[label].get_ydata(), values)
    assert ax.containers[0].has_yerr and not ax.containers[1].has_yerr
    chance = [line for line in ax.get_lines() if line.get_label() == "chance"]
    np.testing.assert_array_equal(chance[0].get_ydata(), [0.2, 0.2])
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["chance", "rdm", "topology"]


def test_loso_nearest_centroid_names_n_classes_when_too_small():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5))
    cls = np.tile([0, 1, 2], 4)
    subj = np.repeat(np.arange(4), 3)
    with pytest.raises(ValueError, match=r"classes must hold indices in \[0, 2\) \(n_classes=2\).*"
                                         r"n_classes is smaller than the number of classes"):
        loso_nearest_centroid(x[None], cls, subj, 2)
