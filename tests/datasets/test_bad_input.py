"""Bad input to the datasets helpers, fetchers and simulators: clear errors naming the argument."""

import hashlib

import numpy as np
import pytest

import neurodyn.datasets as ds
from neurodyn.datasets import fetchers
from neurodyn.datasets.simulate import (
    add_rdm_noise,
    hmm_glm,
    make_layer_rdms,
    simulate_layers_and_regions,
    simulate_ou_activity,
)

SMALL_HMM = dict(n_neurons=3, n_states=2, n_timepoints=20, n_trials=1, n_lags=2, random_state=0)
SMALL_LAYERS = dict(n_conditions=8, n_layers=2, layer_width=6, n_stimulus_features=3,
                    region_layers=(0, 1), voxels_per_region=4, n_repeats=2, random_state=0)
SMALL_RDMS = dict(n_layers=2, n_subjects=2, n_stimuli=8, n_inputs=4, width=16, n_clusters=2,
                  random_state=0)


# ------------------------------------------------------------------------ simulators
@pytest.mark.parametrize(("param", "value", "match"), [
    ("n_neurons", 0, "n_neurons must be >= 1"),
    ("n_states", 2.5, "n_states must be an integer"),
    ("sparsity", 1.5, r"sparsity must be in \(0, 1\)"),
    ("sparsity", 0.0, "sparsity"),
    ("p_excitatory", -0.1, r"p_excitatory must be in \[0, 1\]"),
    ("stay_prob", 1.5, r"stay_prob must be in \[0, 1\]"),
    ("stay_prob", np.nan, "stay_prob must be a number; got NaN"),
    ("concentration", 0.0, r"concentration must be in \(0"),
    ("decay", np.nan, "decay must be a number; got NaN"),
    ("decay", -1.0, "decay"),
    ("bias_scale", -1.0, "bias_scale"),
    ("bias_scale", np.inf, "bias_scale"),
    ("link", "nope", "link must be one of"),
])
def test_hmm_glm_refuses_bad_parameters(param, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        hmm_glm(**dict(SMALL_HMM, **{param: value}))


def test_hmm_glm_exp_link_overflow_is_refused():
    # before: rng.poisson raised "lam value too large" (or returned garbage counts)
    with pytest.raises(ValueError, match="link='exp': the firing rate overflows"):
        hmm_glm(**dict(SMALL_HMM, link="exp", bias_scale=2000.0))


def test_hmm_glm_valid_counts_are_counts():
    out = hmm_glm(**SMALL_HMM)
    assert out.counts.shape == (1, 20, 3)
    assert out.counts.dtype.kind == "i" and out.counts.min() >= 0
    np.testing.assert_allclose(out.transition_matrix.sum(1), 1.0)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    (dict(taus=np.array([1.0 + 1j])), TypeError, "taus must be real-valued"),
    (dict(taus=["a"]), TypeError, "taus must be a numeric array"),
    (dict(taus=[np.nan]), ValueError, "taus must be finite"),
    (dict(taus=[]), ValueError, "taus is empty"),
    (dict(taus=[[1.0, 2.0]]), ValueError, "taus must be 1-D"),
    (dict(taus=[0.0, 2.0]), ValueError, "taus must be finite and > 0"),
    (dict(taus=[2.0], sigma=-1.0), ValueError, r"sigma must be in \[0"),
    (dict(taus=[2.0], sigma=np.nan), ValueError, "sigma must be a number"),
    (dict(taus=[2.0], dt=0.0), ValueError, r"dt must be in \(0"),
    (dict(taus=[2.0], n_timepoints=1), ValueError, "n_timepoints must be >= 2"),
    (dict(taus=[2.0], n_trials=np.nan), TypeError, "n_trials must be an integer"),
    (dict(taus=[2.0], n_trials=10**9, n_timepoints=10**9), MemoryError, "n_trials, n_timepoints"),
])
def test_simulate_ou_activity_refuses_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate_ou_activity(**kwargs)


def test_simulate_ou_activity_autocorrelation_matches_exp():
    x = simulate_ou_activity([5.0], n_timepoints=20000, n_trials=4, random_state=0)
    z = x - x.mean(1, keepdims=True)
    lag = 5
    r = (z[:, lag:] * z[:, :-lag]).sum() / (z * z).sum()
    assert r == pytest.approx(np.exp(-lag / 5.0), abs=0.03)


@pytest.mark.parametrize(("param", "value", "exc", "match"), [
    ("noise_sd", -1.0, ValueError, r"noise_sd must be in \[0"),
    ("noise_sd", np.nan, ValueError, "noise_sd must be a number"),
    ("voxels_per_region", 0, ValueError, "voxels_per_region must be >= 1"),
    ("n_stimulus_features", -1, ValueError, "n_stimulus_features must be >= 1"),
    ("n_stimulus_features", np.nan, TypeError, "n_stimulus_features must be an integer"),
    ("region_layers", (5,), ValueError, r"region_layers must index layers 0\.\.1; got 5"),
    ("region_layers", (), ValueError, "region_layers is empty"),
    ("region_layers", ("a",), TypeError, "region_layers"),
    ("n_conditions", 2, ValueError, "n_conditions must be >= 4"),
])
def test_simulate_layers_and_regions_refuses_bad_parameters(param, value, exc, match):
    with pytest.raises(exc, match=match):
        simulate_layers_and_regions(**dict(SMALL_LAYERS, **{param: value}))


@pytest.mark.parametrize(("param", "value", "match"), [
    ("n_clusters", 20, "n_clusters must be at most n_stimuli=8; got 20"),
    ("seed_variability", 1.5, r"seed_variability must be in \[0, 1\]"),
    ("noise_level", -1.0, r"noise_level must be in \[0"),
    ("noise_level", np.nan, "noise_level must be a number"),
    ("n_stimuli", 2, "n_stimuli must be >= 3"),
    ("width", 0, "width must be >= 1"),
])
def test_make_layer_rdms_refuses_bad_parameters(param, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_layer_rdms(**dict(SMALL_RDMS, **{param: value}))


def test_make_layer_rdms_refuses_silent_layers_instead_of_nan_rdms():
    # one ReLU unit: stimuli with a silent unit have no correlation -> NaN RDMs before
    with pytest.raises(ValueError, match="increase width"):
        make_layer_rdms(**dict(SMALL_RDMS, width=1))


def test_make_layer_rdms_valid_rdms_are_finite_correlation_distances():
    out = make_layer_rdms(**SMALL_RDMS)
    assert np.isfinite(out["rdms"]).all()
    assert out["rdms"].min() >= 0 and out["rdms"].max() <= 2


@pytest.mark.parametrize(("rdms", "noise_level", "exc", "match"), [
    (np.array([[0.1, np.nan, 0.3]]), 1.0, ValueError, "rdms must be finite"),
    (np.array([[0.1, 0.2, 0.3]]) + 1j, 1.0, TypeError, "rdms must be real-valued"),
    (np.zeros((0, 3)), 1.0, ValueError, "rdms is empty"),
    (np.array([["a", "b", "c"]]), 1.0, TypeError, "rdms must be a numeric array"),
    (np.array([[0.1, 0.2, 0.3]]), np.nan, ValueError, "noise_level must be a number"),
    (np.array([[0.1, 0.2, 0.3]]), -1.0, ValueError, r"noise_level must be in \[0"),
])
def test_add_rdm_noise_refuses_bad_input(rdms, noise_level, exc, match):
    with pytest.raises(exc, match=match):
        add_rdm_noise(rdms, noise_level, random_state=0)


def test_add_rdm_noise_keeps_input_and_non_negativity():
    rdms = np.random.default_rng(0).random((3, 15))
    before = rdms.copy()
    out = add_rdm_noise(rdms, 4.0, random_state=0)
    np.testing.assert_array_equal(rdms, before)
    assert out.min() >= 0 and out.shape == rdms.shape
    np.testing.assert_array_equal(add_rdm_noise(rdms, 0.0), rdms)


# ---------------------------------------------------------------------- nilearn fetchers
@pytest.fixture
def no_network(monkeypatch):
    def refuse(name, **kwargs):
        raise AssertionError(f"{name} reached nilearn: the arguments should have been refused first")
    monkeypatch.setattr(fetchers, "_call_nilearn", refuse)


@pytest.mark.parametrize("fetch", [ds.fetch_adhd, ds.fetch_development_fmri])
@pytest.mark.parametrize(("value", "exc", "match"), [
    (0, ValueError, "n_subjects must be >= 1; got 0"),
    (-1, ValueError, "n_subjects must be >= 1"),
    (2.5, TypeError, "n_subjects must be an integer"),
    ("3", TypeError, "n_subjects must be an integer"),
    (10**6, ValueError, "n_subjects must be at most"),
])
def test_fetchers_refuse_bad_n_subjects_before_downloading(no_network, fetch, value, exc, match):
    with pytest.raises(exc, match=match):
        fetch(n_subjects=value, data_dir="/dev/null/nowhere")


@pytest.mark.parametrize(("value", "exc", "match"), [
    (0, ValueError, "subjects must be >= 1"),
    (7, ValueError, "subjects must be at most 6"),
    ([7], ValueError, r"subjects must be numbers among 1\.\.6; got \[7\]"),
    ([], ValueError, "subjects is empty"),
    ("abc", TypeError, "subjects must be None, an int or a sequence"),
    ([1.5], TypeError, "subjects must be an integer"),
])
def test_fetch_haxby_refuses_bad_subjects_before_downloading(no_network, value, exc, match):
    with pytest.raises(exc, match=match):
        ds.fetch_haxby(subjects=value, data_dir="/dev/null/nowhere")


# ----------------------------------------------------------------------- data home, files
def test_file_sha256_matches_hashlib_with_any_chunk_size(tmp_path):
    f = tmp_path / "a.bin"
    payload = bytes(range(256)) * 7
    f.write_bytes(payload)
    ref = hashlib.sha256(payload).hexdigest()
    assert ds.file_sha256(f, chunk_size=3) == ref
    assert ds.file_sha256(str(f)) == ref


@pytest.mark.parametrize(("chunk_size", "match"), [(0, "chunk_size must be a positive number of bytes"),
                                                   (-1, "chunk_size"), (2.5, "chunk_size"),
                                                   (np.nan, "chunk_size")])
def test_file_sha256_refuses_bad_chunk_size(tmp_path, chunk_size, match):
    f = tmp_path / "a.bin"
    f.write_bytes(b"abc")
    with pytest.raises(ValueError, match=match):
        ds.file_sha256(f, chunk_size=chunk_size)


def test_file_sha256_names_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="path .*nope.bin.* does not exist"):
        ds.file_sha256(tmp_path / "nope.bin")
    with pytest.raises(ValueError, match="path must be a file; got the folder"):
        ds.file_sha256(tmp_path)
    with pytest.raises(TypeError, match="path must be a file path"):
        ds.file_sha256(3)


def test_get_data_home_refuses_a_file_and_non_paths(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="data_home must be a folder; .* is a file"):
        ds.get_data_home(f)
    with pytest.raises(TypeError, match="data_home must be a folder path; got 3"):
        ds.get_data_home(3)
    missing = tmp_path / "later"
    assert ds.get_data_home(missing) == missing and not missing.exists()  # not created


def test_fetch_dataset_files_refuses_unregistered_files_and_names(tmp_path):
    with pytest.raises(ValueError, match="files must be among the registered files of 'rsatoolbox_demo'"):
        ds.fetch_dataset_files("rsatoolbox_demo", files=["nope.txt"], data_home=tmp_path,
                               download_if_missing=False)
    with pytest.raises(ValueError, match="name must be one of the registered data sets"):
        ds.fetch_dataset_files("nope", data_home=tmp_path, download_if_missing=False)
    with pytest.raises(ValueError, match="name must be one of the registered data sets"):
        ds.fetch_dataset_files(3, data_home=tmp_path, download_if_missing=False)


def test_fetch_dataset_files_accepts_one_file_name_as_a_string(tmp_path):
    entry = ds.load_registry()["rsatoolbox_demo"]
    first = entry["files"][0]["path"]
    with pytest.raises(FileNotFoundError, match=first.split("/")[-1]):
        ds.fetch_dataset_files("rsatoolbox_demo", files=first, data_home=tmp_path,
                               download_if_missing=False)


@pytest.mark.parametrize(("loader", "kwargs"), [
    (ds.load_hcp_group_fc, {}), (ds.load_frontal2d_adhd, {}), (ds.load_rsatoolbox_demo, {}),
    (ds.load_rsatoolbox_reference, {}), (ds.load_mni152_coords, {}), (ds.load_aal2_bold, {}),
    (ds.load_fsa5_rest, {}), (ds.load_synthetic_connectome, {}),
])
def test_loaders_with_an_empty_data_home_say_where_to_put_the_files(tmp_path, loader, kwargs):
    with pytest.raises(FileNotFoundError, match="data_home="):
        loader(data_home=tmp_path / "empty", download_if_missing=False, **kwargs)


@pytest.mark.parametrize(("loader", "kwargs", "match"), [
    (ds.load_hcp_group_fc, dict(name="nope"), "name must be one of"),
    (ds.load_aal2_bold, dict(source="nope"), "source must be one of"),
    (ds.load_aplysia, dict(preparation="nope"), "preparation must be among"),
    (ds.load_aplysia, dict(run=7), "run must be 1, 2, 3"),
    (ds.load_aplysia, dict(bin_width=0.0), "bin_width must be a positive number"),
    (ds.load_synthetic_connectome, dict(scenario="nope"), "scenario must be one of"),
])
def test_loaders_name_a_wrong_choice(tmp_path, loader, kwargs, match):
    with pytest.raises(ValueError, match=match):
        loader(data_home=tmp_path, download_if_missing=False, **kwargs)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    (dict(run=np.nan), TypeError, "run must be 1, 2, 3 or a list of them"),
    (dict(run=[1.5]), ValueError, "run must be 1, 2, 3 or a list of them"),
    (dict(run=True), ValueError, "run must be 1, 2, 3"),
    (dict(bin_width=np.nan), ValueError, "bin_width must be a positive number"),
    (dict(bin_width="0.05"), TypeError, "bin_width must be a real number"),
    (dict(t_stop=-1.0), ValueError, r"t_stop must be in \(0"),
    (dict(t_stop="10"), TypeError, "t_stop must be a real number"),
])
def test_load_aplysia_refuses_bad_run_bin_width_t_stop(tmp_path, kwargs, exc, match):
    # refused before looking for any file
    with pytest.raises(exc, match=match):
        ds.load_aplysia(preparation="Jun0214", data_home=tmp_path, download_if_missing=False, **kwargs)


@pytest.mark.parametrize(("dtype", "exc", "match"), [
    ("nope", TypeError, "dtype must be a floating-point numpy dtype; got 'nope'"),
    (np.int8, ValueError, "dtype must be a floating-point numpy dtype .*; got int8"),
])
def test_load_fsa5_rest_refuses_a_non_float_dtype(tmp_path, dtype, exc, match):
    with pytest.raises(exc, match=match):
        ds.load_fsa5_rest(data_home=tmp_path, dtype=dtype, download_if_missing=False)


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e300])
def test_add_rdm_noise_is_scale_equivariant(scale):
    # before: x.std() overflowed at 1e300 and every entry came back NaN
    rdms = np.random.default_rng(1).random((2, 10))
    ref = add_rdm_noise(rdms, 2.0, random_state=0)
    out = add_rdm_noise(rdms * scale, 2.0, random_state=0)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out / scale, ref, rtol=1e-12)


def test_hmm_glm_zero_decay_is_a_flat_kernel():
    out = hmm_glm(**dict(SMALL_HMM, decay=0.0))
    np.testing.assert_allclose(out.basis, np.full((1, 2), out.basis[0, 0]))
    assert np.isclose(out.basis.sum(), 1.0)  # normalised: sum(k) * dt = 1 with dt = 1
