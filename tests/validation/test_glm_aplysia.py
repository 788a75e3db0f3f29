"""Switching GLMs on the Aplysia pedal-ganglion spike trains (Bruno, Frost & Humphries 2017)."""

import os
from pathlib import Path

import numpy as np
import pytest

from neurodyn.datasets import dataset_status

DATA = Path(os.environ.get("NEURODYN_DATA",
                           Path(__file__).resolve().parents[2].parent / "shared" / "data"))
FOLDER = DATA / "aplysia_pedal_bruno2017" / "Spikes"


def _runs(n_keep=20, bin_width=0.1):
    from scipy.io import loadmat

    status = dataset_status(DATA)["aplysia_pedal_bruno2017"]
    if not status.startswith("found"):
        pytest.skip(f"Aplysia spike data not usable under {DATA}: {status} (set NEURODYN_DATA)")
    runs = []
    for k in (1, 2, 3):
        spks = loadmat(FOLDER / f"Jun0214da0{k}.mat")["spks"]
        ids = spks[:, 0].astype(int) - 1
        n_bins = int(np.ceil(122.8 / bin_width))
        counts = np.zeros((n_bins, ids.max() + 1), np.int64)
        np.add.at(counts, (np.minimum((spks[:, 1] / bin_width).astype(int), n_bins - 1), ids), 1)
        runs.append(counts)
    keep = np.argsort(sum(r.sum(0) for r in runs))[::-1][:n_keep]
    return [r[:, np.sort(keep)] for r in runs]


def test_two_state_glm_separates_spontaneous_from_evoked_activity():
    from neurodyn.glm import PoissonGLM, StateSwitchingGLM

    runs = _runs()
    train, test = runs[:2], runs[2]
    model = StateSwitchingGLM(n_states=2, prior="gaussian", link="softplus", random_state=0,
                              max_iter=40, device="cpu").fit(train)
    glm = PoissonGLM(link="softplus", device="cpu").fit(train)
    # held-out marginal likelihood: switching beats the (unpenalised) single GLM
    assert model.score(test) > glm.score(test)
    decoded = model.predict(test)
    rates = model.intercept_.mean(1)
    quiet = int(np.argmin(rates))
    # the first 25 s of the held-out run (before the evoked burst near 30 s) sit in
    # the quieter state; afterwards the other state takes a large share of the bins
    assert np.mean(decoded[:250] == quiet) > 0.9
    assert np.mean(decoded[300:] != quiet) > 0.3
    # states persist for seconds, not single bins
    assert len(decoded) / (1 + np.count_nonzero(np.diff(decoded))) > 20
