"""The command line: `neurodyn info` and `neurodyn demo --quick` write what they promise."""

import json
import subprocess
import sys

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


def test_demo_quick_writes_report_and_figures(tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
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
