"""The graph part of ``neurodyn demo`` (quick, simulated data only)."""

import json

from neurodyn.graph._demo import run_demo


def test_quick_demo_recovers_planted_signal(tmp_path):
    result = run_demo(tmp_path, quick=True, data_home=None)
    json.dumps(result)  # serialisable
    assert result["figures"] and all((tmp_path / f).is_file() for f in result["figures"])
    planted = result["planted"]
    assert planted["nested_cv_accuracy"] >= 0.9 > planted["chance"] + 0.3
    assert planted["mask_recall"] >= 0.5
