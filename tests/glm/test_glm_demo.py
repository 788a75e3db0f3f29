import json

from neurodyn.glm._demo import run_demo


def test_quick_demo_recovers_states_above_chance(tmp_path):
    result = run_demo(tmp_path, quick=True)
    json.dumps(result)
    for name in result["figures"]:
        assert (tmp_path / name).stat().st_size > 1000
    fitted = result["prior_none"]
    assert fitted["state_accuracy"] > result["chance"]["state_accuracy"] + 0.2
    assert fitted["adjacency_accuracy"] > result["chance"]["adjacency_accuracy"]
    assert fitted["test_log_likelihood"] > result["single_glm"]["test_log_likelihood"]
