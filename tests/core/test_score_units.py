"""Every estimator's ``score`` says its units in its repr and is still a plain number."""

from __future__ import annotations

import copy
import doctest
import json
import pickle

import numpy as np
import pytest
from scipy.special import gammaln

import neurodyn._score as score_mod
from neurodyn._score import Score, as_score


def test_module_doctest():
    result = doctest.testmod(score_mod)
    assert result.attempted >= 3 and result.failed == 0


def test_score_is_a_float_with_units():
    s = Score(-0.5, "nats/bin/neuron", "log-likelihood")
    assert isinstance(s, float) and s == -0.5
    assert repr(s) == "-0.5 nats/bin/neuron (log-likelihood; higher is better)"
    assert str(s) == "-0.5" and f"{s}" == "-0.5" and f"{s:.2f}" == "-0.50"
    assert type(s * 2) is float and s * 2 == -1.0
    assert json.loads(json.dumps({"s": s})) == {"s": -0.5}
    for back in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        assert back == s and back.units == "nats/bin/neuron" and repr(back) == repr(s)
    low = Score(2.0, "radians", "distance", higher_is_better=False)
    assert "lower is better" in repr(low)
    assert float(np.float64(s)) == -0.5


def test_as_score_passes_arrays():
    arr = np.arange(3.0)
    assert as_score(arr, "u", "m") is arr
    assert isinstance(as_score(1.5, "u", "m"), Score)
    assert as_score(True, "u", "m") is True


def test_glm_scores_have_units_and_reference_values():
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import PoissonGLM, StateSwitchingGLM

    sim = hmm_glm(n_neurons=5, n_states=2, n_timepoints=300, n_trials=2, random_state=0)
    X = sim.counts
    bins_neurons = X.shape[0] * X.shape[1] * X.shape[2]
    glm = PoissonGLM().fit(X)
    s = glm.score(X)
    assert isinstance(s, Score) and "nats/bin/neuron" in repr(s)
    assert s == pytest.approx(glm.log_likelihood(X) / bins_neurons, rel=1e-12)
    hmm = StateSwitchingGLM(n_states=2, n_init=1, max_iter=5, random_state=0).set_parameters(
        sim.coupling, sim.bias, sim.transition_matrix)
    s2 = hmm.score(X)
    assert isinstance(s2, Score) and s2.units == "nats/bin/neuron"
    assert s2 == pytest.approx(hmm.log_likelihood(X) / bins_neurons, rel=1e-12)
    hmm.mean_rate_ = X.reshape(-1, X.shape[-1]).mean(0)
    for est in (glm, hmm):
        ll, bps = est.log_likelihood(X), est.bits_per_spike(X)
        assert isinstance(ll, Score) and ll.units == "nats"
        assert isinstance(bps, Score) and bps.units == "bits/spike"
        # bits per spike = (LL - homogeneous Poisson LL) / (n_spikes ln 2), from scratch
        flat = X.reshape(-1, X.shape[-1])
        lam = est.mean_rate_
        ll0 = float(np.sum(flat * np.log(lam) - lam - gammaln(flat + 1)))
        expect = (ll - ll0) / (flat.sum() * np.log(2))
        assert bps == pytest.approx(expect, rel=1e-9)


def test_sklearn_model_selection_accepts_scores():
    from sklearn.model_selection import cross_val_score

    from neurodyn.compare import EncodingModel

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X @ rng.normal(size=(4, 3)) + 0.1 * rng.normal(size=(60, 3))
    scores = cross_val_score(EncodingModel(), X, y, cv=3)
    assert scores.dtype == np.float64 and scores.shape == (3,)
    enc = EncodingModel().fit(X[:40], y[:40])
    s = enc.score(X[40:], y[40:])
    assert isinstance(s, Score) and s.units == "Pearson r"
    assert s == pytest.approx(float(np.nanmedian(enc.score_targets(X[40:], y[40:]))), rel=1e-12)
    ceiled = enc.score(X[40:], y[40:], noise_ceiling=0.64)
    assert ceiled.units == "fraction of the noise ceiling on r"
    assert ceiled == pytest.approx(s / 0.8, rel=1e-12)


def test_compare_and_rsa_scores_name_their_measure():
    from neurodyn.compare import LinearCKA, ShapeMetric, linear_cka

    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(30, 4))
    cka = LinearCKA().fit(X, Y).score(X, Y)
    assert isinstance(cka, Score) and "CKA" in repr(cka)
    assert cka == pytest.approx(linear_cka(X, Y), rel=1e-12)
    sm = ShapeMetric().fit(X, rng.normal(size=(30, 5)))
    d = sm.score(X, rng.normal(size=(30, 5)))
    assert isinstance(d, Score) and d.units == "radians" and "lower is better" in repr(d)
    assert 0.0 <= d <= np.pi  # arccos of a held-out correlation


def test_trsa_and_dynamics_scores():
    from neurodyn.rnn import DynamicsRNN
    from neurodyn.rsa import TopologicalRSA
    from tests.core._api_registry import labels_rsa, series

    rdms, regions, subjects = labels_rsa()
    t = TopologicalRSA(n_draws=2, n_bootstrap=3, random_state=0).fit(rdms, regions, subjects)
    acc = t.score(rdms, regions)
    assert isinstance(acc, Score) and acc.units == "fraction correct"
    assert acc == float(np.mean(t.predict(rdms) == regions))
    X = series(40, 3)
    d = DynamicsRNN(n_units=4, n_epochs=2, random_state=0, device="cpu").fit(X)
    mse = d.score(X)
    assert isinstance(mse, Score) and not mse.higher_is_better and mse >= 0.0
