"""The command line: `neurodyn info` and `neurodyn demo --quick` write what they promise.

Every test that runs the demo sets ``HOME`` and ``NEURODYN_DATA`` to tmp folders, so the
result does not depend on what the user keeps in ``~/neurodyn_data``.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neurodyn import CAPABILITIES
from neurodyn.cli import main


def test_info_json_reports_versions_and_device(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    import torch

    assert info["torch"] == torch.__version__
    assert info["device_auto"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert isinstance(info["datasets"], dict) and info["datasets"]


def test_demo_no_progress_leaves_stderr_empty(tmp_path, capfd):
    assert main(["demo", "--quick", "--no-progress", "--out", str(tmp_path / "out"),
                 "--only", "datasets", "--data-home", str(tmp_path / "none")]) == 0
    captured = capfd.readouterr()
    assert "%|" not in captured.err and "%|" not in captured.out
    assert "[neurodyn demo] datasets: ok" in captured.out


def test_demo_unknown_part_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="--only must name parts among"):
        main(["demo", "--out", str(tmp_path), "--only", "telepathy"])


@pytest.mark.slow
def test_demo_bad_arguments_are_refused_before_writing(tmp_path):
    out = tmp_path / "report"
    with pytest.raises(ValueError, match="--only must name parts among"):
        main(["demo", "--out", str(out), "--only", "telepathy"])
    assert not out.exists()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="--out must be a folder; .* is a file"):
        main(["demo", "--out", str(a_file), "--only", "datasets"])
    with pytest.raises(ValueError, match="--data-home: data_home must be a folder"):
        main(["demo", "--out", str(out), "--only", "datasets", "--data-home", str(a_file)])
    assert not out.exists()


def _hermetic_env(tmp_path, data=None):
    env = dict(os.environ)
    env["HOME"] = str(tmp_path / "home")
    env.pop("NEURODYN_DATA", None)
    if data is not None:
        env["NEURODYN_DATA"] = str(data)
    return env


def test_demo_quick_writes_report_and_figures(tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env=_hermetic_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # long work is not silent: a tqdm bar over the parts on stderr, ending at all parts done
    # and naming the part being run; stdout holds only the report lines
    n_parts = 1 + len(CAPABILITIES)
    assert re.search(rf"neurodyn demo:\s+100%\|.*\| {n_parts}/{n_parts} ", proc.stderr), proc.stderr[-2000:]
    assert re.search(r"neurodyn demo:\s+\d+%\|.*rnn\]", proc.stderr), proc.stderr[-2000:]
    assert "%|" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith("[neurodyn demo] ") for line in lines), proc.stdout[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] is True
    assert set(summary["parts"]) == {"datasets", *CAPABILITIES}
    for part, result in summary["parts"].items():
        # every capability ships its demo part, so each one must run
        assert result["status"] == "ok", (part, result)
        assert result["figures"], f"demo part {part} wrote no figure"
        for fig in result["figures"]:
            path = out / fig
            assert path.is_file() and path.stat().st_size > 1000, fig
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig


def _partial_home(home: Path) -> None:
    """A data home as a user may have it: one data set with one file, another complete but unreadable."""
    from neurodyn.datasets import load_registry

    reg = load_registry()
    hcp = reg["brainspace_hcp_group_fc"]
    (home / hcp["folder"]).mkdir(parents=True)
    (home / hcp["folder"] / hcp["files"][0]["path"]).write_text("x")
    rsa = reg["rsatoolbox_demo"]
    for f in rsa["files"]:
        (home / rsa["folder"] / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        (home / rsa["folder"] / f["path"]).write_text("not a mat file")


@pytest.mark.parametrize("where", ["default_home", "env", "argument"])
@pytest.mark.parametrize("content", ["absent", "partial"])
def test_demo_datasets_part_follows_the_lookup_and_always_draws(tmp_path, monkeypatch, where, content):
    home = tmp_path / "data"
    if content == "partial":
        _partial_home(home)
    monkeypatch.delenv("NEURODYN_DATA", raising=False)
    args = ["demo", "--quick", "--out", str(tmp_path / "out"), "--only", "datasets"]
    if where == "default_home":
        monkeypatch.setenv("HOME", str(tmp_path / "user"))
        home_link = tmp_path / "user" / "neurodyn_data"
        home_link.parent.mkdir()
        if content == "partial":
            home.rename(home_link)
        home = home_link
    else:
        monkeypatch.setenv("HOME", str(tmp_path / "user"))  # an empty home: must not be used
        if where == "env":
            monkeypatch.setenv("NEURODYN_DATA", str(home))
        else:
            args += ["--data-home", str(home)]
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    part = summary["parts"]["datasets"]
    assert part["status"] == "ok", part
    assert part["figures"] == ["datasets/simulated_rates.png"]
    assert (tmp_path / "out" / "datasets" / "simulated_rates.png").stat().st_size > 1000
    if content == "absent":
        assert summary["data_home"] is None and part["source"] == "simulated"
    else:
        assert summary["data_home"] == str(home)
        assert part["datasets"]["brainspace_hcp_group_fc"].startswith(
            f"missing 5 of 6 files (put the files in {home / 'brainspace_hcp_group_fc'}")
        assert part["datasets"]["rsatoolbox_demo"] == f"found at {home / 'rsatoolbox_demo'}"
        assert part["checks"]["rsatoolbox_demo_loads"]["ok"] is False
        assert part["source"] == "shared data + simulated"
