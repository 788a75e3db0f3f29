"""The "datasets" demo part on the shared data: every check against the provenance values passes."""

import json
import os
from pathlib import Path

import pytest

from neurodyn.datasets._demo import run_demo

DATA = Path(os.environ.get("NEURODYN_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "README.md").is_file(),
                    reason=f"shared data folder not found at {DATA} (set NEURODYN_DATA)")
def test_demo_on_shared_data(tmp_path):
    result = run_demo(tmp_path, quick=True, data_home=DATA)
    assert result["source"] == "shared data"
    assert all(s.startswith("found") for s in result["datasets"].values())
    assert result["figures"] == ["hcp_schaefer100_fc.png", "aplysia_raster.png"]
    for f in result["figures"]:
        assert (tmp_path / f).stat().st_size > 1000
    failed = {k: v for k, v in result["checks"].items() if not v["ok"]}
    assert not failed
    assert result["n_checks"] == result["n_checks_ok"] == 10  # fsa5 is skipped in quick mode
    json.dumps(result)
