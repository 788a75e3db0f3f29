"""Maximum-likelihood couplings that run off to infinity (separation) are reported, not returned silently."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from neurodyn import DivergenceWarning
from neurodyn.glm import PoissonGLM, StateSwitchingGLM
from neurodyn.glm._common import warn_if_diverged


def separated_counts(T=1500, seed=0):
    """Neuron 0 never fires within 5 bins after neuron 1 fires: its ML weight from 1 is -inf."""
    rng = np.random.default_rng(seed)
    X = np.zeros((T, 3))
    X[:, 1] = rng.random(T) < 0.1
    X[:, 2] = rng.poisson(0.3, T)
    for t in range(T):
        X[t, 0] = 0 if X[max(0, t - 5):t, 1].sum() > 0 else rng.poisson(0.5)
    return X


@pytest.mark.parametrize("make", [lambda a: PoissonGLM(link="exp", alpha=a),
                                  lambda a: StateSwitchingGLM(n_states=2, link="exp", alpha=a, n_init=1,
                                                              random_state=0)])
def test_separation_warns_and_a_penalty_fixes_it(make):
    X = separated_counts()
    with pytest.warns(DivergenceWarning, match=r"alpha=0\).*no finite solution.*Set alpha") as rec:
        m = make(0.0).fit(X)
    assert rec[0].filename == __file__  # points at the user's line
    assert np.abs(m.coupling_[..., 0, 1]).max() > 100  # the weight that ran off
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        m = make(1e-3).fit(X)
    assert np.abs(m.coupling_).max() < 20
    w = m.coupling_[..., 0, 1]
    if w.ndim:  # the state the data occupy (a second state on one-state data is left empty)
        w = w[np.bincount(np.ravel(m.predict(X))).argmax()]
    assert w < -1  # still strongly inhibitory, now finite


def test_warn_if_diverged_counts_saturating_weights_only():
    feats = torch.tensor([[0.0, 2.0], [1.0, -3.0], [0.5, 0.0]], dtype=torch.float64)
    ok = torch.tensor([[29.0, 9.9]], dtype=torch.float64)  # 29 * 1 and 9.9 * 3 stay below 30
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        assert warn_if_diverged(ok, feats, 0.0, "X", "") == 0
    bad = torch.tensor([[31.0, 10.1], [0.0, -10.5]], dtype=torch.float64)
    with pytest.warns(DivergenceWarning, match=r"3 coupling weight\(s\) ran off to \|w\| = 31"):
        assert warn_if_diverged(bad, feats, 0.0, "X", "") == 3
