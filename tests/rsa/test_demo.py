"""The rsa demo part: quick run writes its figures and recovers the layers."""

import json

from neurodyn.rsa._demo import run_demo


def test_quick_demo_recovers_layers(tmp_path):
    res = run_demo(tmp_path, quick=True, data_home=None)
    for name in res["figures"]:
        assert (tmp_path / name).is_file() and (tmp_path / name).stat().st_size > 1000
    sim = res["simulation"]
    assert sim["accuracy"]["rdm"][0] >= 0.9  # noise-free layer identification
    assert sim["accuracy"]["rdm"][0] > sim["chance"] + 0.5
    json.dumps(res)  # JSON-serialisable
