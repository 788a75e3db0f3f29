"""The "datasets" demo part without any data folder."""

import json

import numpy as np

from neurodyn.datasets._demo import run_demo


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
