"""Autocorrelation timescales vs brute-force definitions and known OU time constants (A4)."""

import numpy as np
import pytest
import torch

from neurodyn.datasets.simulate import simulate_ou_activity
from neurodyn.rnn import LeakyRNN
from neurodyn.rnn.timescales import (
    autocorrelation,
    fit_timescales,
    network_timescales,
    population_autocorrelation,
)


def _brute_ac(x, max_lag):
    trials, n, units = x.shape
    out = np.zeros((max_lag + 1, units))
    for u in range(units):
        for k in range(max_lag + 1):
            vals = []
            for tr in range(trials):
                s = x[tr, :, u] - x[tr, :, u].mean()
                vals.append(sum(s[t] * s[t + k] for t in range(n - k)) / (n - k))
            out[k, u] = np.mean(vals)
    return out / out[0]


def test_fft_autocorrelation_equals_direct_sum():
    x = np.random.default_rng(0).normal(size=(3, 40, 2))
    np.testing.assert_allclose(autocorrelation(x, max_lag=10), _brute_ac(x, 10), rtol=1e-10, atol=1e-12)
    assert autocorrelation(x[0], max_lag=5).shape == (6, 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_ou_timescales_recovered_within_ten_percent(seed):
    taus = np.array([2.0, 5.0, 20.0])
    x = simulate_ou_activity(taus, n_timepoints=10_000, n_trials=10, random_state=seed)
    fit = fit_timescales(autocorrelation(x, max_lag=200), fit_lags=30, model="single")
    np.testing.assert_allclose(fit.tau, taus, rtol=0.10)


def test_exact_exponentials_are_fitted_and_model_selected():
    t = np.arange(31.0)
    single = 0.9 * np.exp(-t / 4.0)
    double = 0.5 * np.exp(-t / 1.5) + 0.5 * np.exp(-t / 25.0)
    fit = fit_timescales(np.stack([single, double], 1), fit_lags=30)
    assert fit.tau_single[0] == pytest.approx(4.0, rel=1e-4)
    assert fit.model[1] == "double"
    assert fit.tau[1] == pytest.approx(25.0, rel=1e-3)      # tau_net = max(tau1, tau2)
    assert fit.double_share == pytest.approx(0.5)


def test_population_autocorrelation_of_identical_units():
    x = simulate_ou_activity([5.0], n_timepoints=2000, n_trials=2, random_state=0)
    stacked = np.repeat(x, 3, axis=2)
    np.testing.assert_allclose(population_autocorrelation(stacked, 20), autocorrelation(x, 20)[:, 0])


def test_network_timescale_of_uncoupled_linear_units():
    # W = 0 and positive drive: h_t = (1 - a) h_{t-1} + a (U x_t + b) is AR(1), AC = (1 - a)^k
    taus = np.array([2.0, 4.0, 8.0])
    net = LeakyRNN(n_units=3, tau_init=taus, dtype="float64", random_state=0)
    with torch.no_grad():
        net.weight_hh.zero_()
        net.weight_ih.fill_(1.0)
        net.bias_hh.fill_(0.5)
        net.bias_ih.fill_(0.5)
    fit = network_timescales(net, n_trials=10, n_timesteps=10_000, model="single", rate=0.5, random_state=0)
    expected = -1.0 / np.log(1.0 - 1.0 / taus)
    np.testing.assert_allclose(fit.tau, expected, rtol=0.10)


def test_constant_units_raise_or_give_nan():
    x = np.random.default_rng(0).normal(size=(2, 50, 3))
    x[:, :, 1] = 4.0
    with pytest.raises(ValueError, match=r"x has 1 constant \(zero-variance\) unit\(s\) at index \[1\]"):
        autocorrelation(x)
    ac = autocorrelation(x, allow_constant=True)
    assert np.isnan(ac[:, 1]).all() and np.isfinite(ac[:, 0]).all()
    assert fit_timescales(ac, fit_lags=10).model[1] == "failed"


def test_bad_timescale_inputs():
    with pytest.raises(ValueError, match="x must be finite"):
        autocorrelation(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="x must be 2-D or 3-D"):
        autocorrelation(np.zeros(5))
    with pytest.raises(ValueError, match="fit_lags=30 needs 31"):
        fit_timescales(np.ones((10, 2)))
    with pytest.raises(ValueError, match="taus must be finite and > 0"):
        simulate_ou_activity([1.0, -2.0])
