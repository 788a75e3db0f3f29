"""The quick demo runs, writes its figures and recovers the OU ground truth."""

import json

from neurodyn.rnn._demo import run_demo


def test_quick_demo(tmp_path):
    summary = run_demo(tmp_path, quick=True)
    json.dumps(summary)
    for name in summary["figures"]:
        assert (tmp_path / name).is_file()
    assert summary["ou_timescales"]["max_relative_error"] < 0.15
    assert summary["n_reached"] >= 2          # N = 2 parity is solved within the quick budget
