"""The connectome part of ``neurodyn demo`` (quick mode) recovers the planted truth."""

import json

from neurodyn.connectome._demo import run_demo


def test_quick_demo_recovers_planted_communities(tmp_path):
    result = run_demo(tmp_path, quick=True, data_home=None)
    json.dumps(result)  # JSON-serialisable
    for name in result["figures"]:
        assert (tmp_path / name).stat().st_size > 1000
    assert result["factor_match_score"] >= 0.85
    assert min(result["motif_ari_per_community"]) == 1.0
    assert result["background_component_found"]
