"""compare_representations: entries equal the single metrics, planted structure is found."""

import numpy as np
import pytest

from neurodyn.compare import ComparisonTable, compare_representations, linear_cka, shape_distance

rsa = pytest.importorskip("neurodyn.rsa.rdm")
from neurodyn.rsa.compare import compare_rdms  # noqa: E402
from neurodyn.rsa.rdm import compute_rdm  # noqa: E402
from neurodyn.rsa.transforms import geotopological_transform  # noqa: E402


def _data(rng, n=24):
    latent = rng.standard_normal((n, 4))
    brain = latent @ rng.standard_normal((4, 15)) + 0.3 * rng.standard_normal((n, 15))
    layers = {"aligned": np.tanh(latent @ rng.standard_normal((4, 10))),
              "random": rng.standard_normal((n, 10))}
    return layers, {"V1": brain}


def test_table_entries_equal_direct_metrics_and_rank_planted_layer_first():
    rng = np.random.default_rng(0)
    layers, brains = _data(rng)
    table = compare_representations(layers, brains, methods=("rsa", "trsa", "cka", "procrustes", "encoding"),
                                     cv=None, random_state=0)
    assert isinstance(table, ComparisonTable)
    assert len(table) == 2 * 1 * 5
    X, Y = layers["aligned"], brains["V1"]
    row = table.select(model="aligned", method="cka").rows[0]
    assert row["score"] == pytest.approx(linear_cka(X, Y), rel=1e-12)
    assert table.select(model="aligned", method="procrustes").rows[0]["score"] == pytest.approx(
        shape_distance(X, Y), rel=1e-12)
    rx, ry = compute_rdm(X), compute_rdm(Y)
    assert table.select(model="aligned", method="rsa").rows[0]["score"] == pytest.approx(
        compare_rdms(rx, ry, method="spearman")[0, 0], rel=1e-12)
    gt = compare_rdms(geotopological_transform(rx, 0.2, 0.8), geotopological_transform(ry, 0.2, 0.8),
                      method="corr")[0, 0]
    assert table.select(model="aligned", method="trsa").rows[0]["score"] == pytest.approx(gt, rel=1e-12)
    for method in ("rsa", "trsa", "cka", "encoding"):
        M, models, _ = table.matrix(method)
        assert models == ["aligned", "random"]
        assert M[0, 0] > M[1, 0] + 0.2, method
    D, _, _ = table.matrix("procrustes")
    assert D[0, 0] < D[1, 0]
    cols = table.to_dict()
    assert set(cols) == set(table.columns) and len(cols["score"]) == 10


def test_bootstrap_and_permutation_columns():
    rng = np.random.default_rng(1)
    layers, brains = _data(rng, n=20)
    table = compare_representations(layers, brains, methods=("rsa", "cka"), cv=None,
                                     n_bootstrap=30, n_permutations=49, random_state=2)
    for r in table:
        assert r["ci_low"] <= r["ci_high"]
        assert 0 < r["p_value"] <= 1
    assert table.select(model="aligned", method="cka").rows[0]["p_value"] == pytest.approx(1 / 50)
    assert table.select(model="aligned", method="rsa").rows[0]["p_value"] == pytest.approx(1 / 50)
    assert table.select(model="random", method="cka").rows[0]["p_value"] > 0.05


def test_time_resolved_rows_and_condition_averaging():
    rng = np.random.default_rng(3)
    n, T = 16, 3
    latent = rng.standard_normal((n, T, 3))
    model = latent @ rng.standard_normal((3, 6))
    brain = latent * np.array([1.0, 0.5, 0.0])[None, :, None] @ rng.standard_normal((3, 8))
    brain = brain + 0.5 * rng.standard_normal((n, T, 8))
    table = compare_representations(model, brain, methods=("cka", "rsa"), cv=None)
    assert len(table) == 2 * T
    cka = table.select(method="cka")
    assert [r["time"] for r in cka] == [0, 1, 2]
    np.testing.assert_allclose(cka["score"], linear_cka(model, brain), rtol=1e-12)
    assert cka["score"][0] > cka["score"][2]
    # repeated observations are averaged by condition label
    obs = np.repeat(np.arange(8), 2)
    X = rng.standard_normal((16, 4))
    Y = rng.standard_normal((16, 5))
    t2 = compare_representations(X, Y, methods=("cka",), conditions=obs, cv=None)
    Xm = X.reshape(8, 2, 4).mean(1)
    Ym = Y.reshape(8, 2, 5).mean(1)
    assert t2.rows[0]["score"] == pytest.approx(linear_cka(Xm, Ym), rel=1e-12)
    assert t2.rows[0]["n_conditions"] == 8


def test_compare_representations_errors():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((11, 3))
    with pytest.raises(ValueError, match="same number of conditions"):
        compare_representations(X, Y, methods=("cka",))
    with pytest.raises(ValueError, match="methods must be one of"):
        compare_representations(X, X, methods=("svcca",))
    with pytest.raises(ValueError, match="too few conditions for cv=5"):
        compare_representations(X, X, methods=("encoding",), cv=5)
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"brain_activity\['V1'\] must be finite"):
        compare_representations(X, {"V1": Xn}, methods=("cka",))
    with pytest.raises(ValueError, match="conditions has 5 labels"):
        compare_representations(X, X, methods=("cka",), conditions=np.arange(5))


@pytest.mark.parametrize("cv, must_cross", [(None, False), (4, True)])
def test_bootstrap_intervals_stay_inside_each_method_range(cv, must_cross):
    from scipy.stats import norm

    from neurodyn.compare import method_range

    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 5))
    # similar representations: CKA and encoding r near 1, Procrustes near 0, so the normal
    # interval score +- z se can cross the bound (it does for the held-out encoding r here)
    Y = X + 0.2 * rng.standard_normal((20, 5))
    table = compare_representations(X, Y, methods=("cka", "procrustes", "encoding"), cv=cv,
                                    n_bootstrap=40, random_state=0, device="cpu")
    z = norm.ppf(0.975)
    crossed = 0
    for row in table:
        lo, hi = method_range(row["method"], cv=cv)
        assert lo <= row["ci_low"] <= row["score"] <= row["ci_high"] <= hi
        assert row["ci_high"] == pytest.approx(min(row["score"] + z * row["se"], hi), abs=1e-12)
        assert row["ci_low"] == pytest.approx(max(row["score"] - z * row["se"], lo), abs=1e-12)
        crossed += (row["score"] + z * row["se"] > hi) + (row["score"] - z * row["se"] < lo)
    assert crossed >= 1 or not must_cross  # the case the clipping is for did occur
    assert method_range("procrustes") == (0.0, np.pi / 2)
    with pytest.raises(ValueError, match="method must be one of"):
        method_range("mse")
