"""The "datasets" demo part: its result depends only on ``data_home``, and it always writes a figure.

Data homes are built in tmp folders: absent, empty, partial (some files of a data set),
broken (all files present but unreadable) and, where the shared data folder exists,
complete copies of single data sets (the home a user has after loading one data set).
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurodyn.datasets import load_registry
from neurodyn.datasets._demo import run_demo

SHARED = Path(os.environ.get("NEURODYN_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def test_demo_without_data_simulates_and_recovers_rates(tmp_path):
    result = run_demo(tmp_path, quick=True, data_home=None)
    assert result["source"] == "simulated"
    assert result["figures"] == ["simulated_rates.png"]
    assert (tmp_path / "simulated_rates.png").stat().st_size > 1000
    # Poisson rates 0.5-5 Hz over 60 s: binned counts recover them closely
    assert result["checks"]["rate_correlation"] > 0.95
    assert result["checks"]["rate_max_abs_error_hz"] < 1.0
    assert len(result["checks"]["truth_rates_hz"]) == 20
    assert result["shapes"]["simulated_counts"] == [600, 20]
    json.dumps(result)  # the CLI writes it to summary.json


def test_demo_with_empty_data_home_reports_missing(tmp_path):
    home = tmp_path / "empty"
    result = run_demo(tmp_path / "out", quick=True, data_home=home)  # folder does not exist
    assert result["source"] == "simulated"
    assert all(s.startswith("missing") for s in result["datasets"].values())
    assert np.isfinite(result["checks"]["rate_correlation"])


def test_demo_does_not_read_the_users_home(tmp_path, monkeypatch):
    # a home with a (broken) data set in ~/neurodyn_data and $NEURODYN_DATA must not change the result
    reg = load_registry()
    for var_home in (tmp_path / "home" / "neurodyn_data", tmp_path / "env"):
        folder = var_home / reg["rsatoolbox_demo"]["folder"]
        for f in reg["rsatoolbox_demo"]["files"]:
            (folder / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / f["path"]).write_text("not a mat file")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEURODYN_DATA", str(tmp_path / "env"))
    result = run_demo(tmp_path / "out", quick=True, data_home=None)
    assert result["source"] == "simulated" and result["datasets"] == {}
    assert result["figures"] == ["simulated_rates.png"]


def test_demo_with_partial_data_set_still_writes_a_figure(tmp_path):
    reg = load_registry()
    entry = reg["brainspace_hcp_group_fc"]
    folder = tmp_path / "home" / entry["folder"]
    folder.mkdir(parents=True)
    (folder / entry["files"][0]["path"]).write_text("x")  # 1 of 6 files
    result = run_demo(tmp_path / "out", quick=True, data_home=tmp_path / "home")
    assert result["datasets"]["brainspace_hcp_group_fc"].startswith("missing 5 of 6 files")
    assert result["source"] == "simulated"
    assert result["figures"] == ["simulated_rates.png"]
    assert (tmp_path / "out" / "simulated_rates.png").stat().st_size > 1000


def test_demo_reports_a_broken_data_set_as_a_failed_check(tmp_path):
    reg = load_registry()
    entry = reg["rsatoolbox_demo"]
    folder = tmp_path / "home" / entry["folder"]
    for f in entry["files"]:
        (folder / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        (folder / f["path"]).write_text("not a mat file")
    result = run_demo(tmp_path / "out", quick=True, data_home=tmp_path / "home")
    assert result["datasets"]["rsatoolbox_demo"] == f"found at {folder}"
    bad = result["checks"]["rsatoolbox_demo_loads"]
    assert bad["ok"] is False and "Error" in bad["measured"]
    assert result["n_checks_ok"] < result["n_checks"]
    assert result["source"] == "shared data + simulated"
    assert result["figures"] == ["simulated_rates.png"]
    json.dumps(result)


@pytest.mark.parametrize("name, real_figures", [
    ("rsatoolbox_demo", []),                       # loaded, no figure of its own: the simulation draws one
    ("brainspace_hcp_group_fc", ["hcp_schaefer100_fc.png"]),
])
def test_demo_with_one_complete_data_set(tmp_path, name, real_figures):
    entry = load_registry()[name]
    src = SHARED / entry["folder"]
    if not all((src / f["path"]).is_file() for f in entry["files"] if not f.get("optional")):
        pytest.skip(f"shared copy of {name} not found under {SHARED}")
    home = tmp_path / "home"
    shutil.copytree(src, home / entry["folder"])
    result = run_demo(tmp_path / "out", quick=True, data_home=home)
    assert result["datasets"][name] == f"found at {home / entry['folder']}"
    assert sum(s.startswith("found") for s in result["datasets"].values()) == 1
    assert result["n_checks"] >= 1
    real = {k: v for k, v in result["checks"].items() if isinstance(v, dict)}
    assert real and all(v["ok"] for v in real.values()), real
    assert result["figures"] == (real_figures or ["simulated_rates.png"])
    assert result["source"] == ("shared data" if real_figures else "shared data + simulated")
    for fig in result["figures"]:
        assert (tmp_path / "out" / fig).stat().st_size > 1000
