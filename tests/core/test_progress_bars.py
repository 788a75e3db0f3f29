"""Progress bars end at the work that was done (not at a cap the run never reached)."""

from __future__ import annotations

import re

import numpy as np


def _last_counter(text: str) -> tuple[int, int]:
    done, total = re.findall(r"(\d+)/(\d+) \[", text)[-1]
    return int(done), int(total)


def test_curriculum_bar_total_follows_max_steps(capsys):
    from neurodyn.rnn import LeakyRNN, train_curriculum
    from neurodyn.rnn.tasks import NParity

    net = LeakyRNN(n_units=8, random_state=0, device="cpu")
    hist = train_curriculum(net, NParity, n_start=2, max_steps=12, steps_per_epoch=5, verbose=True,
                            random_state=0)
    done, total = _last_counter(capsys.readouterr().err)
    assert hist.n_iter_ == 12 or hist.converged_
    assert done == total == 3  # ceil(12 / 5) epochs, not max_epochs


def test_switching_glm_bar_ends_at_the_iterations_run(capsys):
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import StateSwitchingGLM

    sim = hmm_glm(n_neurons=4, n_states=2, n_timepoints=300, n_trials=2, random_state=0)
    m = StateSwitchingGLM(n_states=2, n_init=1, max_iter=200, verbose=True, random_state=0).fit(sim.counts)
    done, total = _last_counter(capsys.readouterr().err)
    assert m.converged_ and done == total
    assert total == len(m.loss_curve_) < 200
    assert np.isfinite(m.loss_curve_).all()
