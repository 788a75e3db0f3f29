"""Lorenz-63 against scipy's integrator; D_stsp and the power-spectrum distance against references."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.signal import periodogram
from scipy.stats import entropy

from neurodyn.rnn import lorenz63, power_spectrum_distance, state_space_divergence


def test_lorenz63_matches_scipy_over_a_short_horizon():
    x0 = np.array([1.0, 2.0, 20.0])

    def rhs(_, s):
        return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    errs = []
    for dt in (0.004, 0.002, 0.001):  # one time unit
        n = round(1 / dt)
        ours = lorenz63(n, dt=dt, x0=x0, burn_in=0)
        t = dt * np.arange(1, n + 1)
        ref = solve_ivp(rhs, (0, 1), x0, t_eval=t, rtol=1e-12, atol=1e-12, method="DOP853").y.T
        errs.append(np.abs(ours - ref).max())
    assert errs[-1] < 1e-7
    assert 12 < errs[0] / errs[1] < 20 and 12 < errs[1] / errs[2] < 20  # fourth order
    long = lorenz63(20000, random_state=0)
    assert 35 < long[:, 2].max() < 50 and long[:, 0].min() < -10 and long[:, 0].max() > 10  # both wings
    np.testing.assert_array_equal(lorenz63(50, random_state=3), lorenz63(50, random_state=3))


def test_state_space_divergence_equals_kl_of_histograms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3000, 2))
    b = rng.normal(size=(2000, 2)) * 1.3 + 0.2
    got = state_space_divergence(a, b, n_bins=10, smoothing=1e-4)
    za, zb = (a - a.mean(0)) / a.std(0), (b - a.mean(0)) / a.std(0)
    edges = [np.linspace(za[:, k].min(), za[:, k].max(), 11) for k in range(2)]
    clipped = np.clip(zb, [e[0] for e in edges], [e[-1] for e in edges])
    p = np.histogramdd(za, bins=edges)[0].ravel()
    q = np.histogramdd(clipped, bins=edges)[0].ravel()
    p, q = p / p.sum(), q / q.sum()
    q = (q + 1e-4) / (1 + 1e-4 * q.size)
    np.testing.assert_allclose(got, entropy(p, q), rtol=1e-10)
    assert state_space_divergence(a, a, n_bins=10, smoothing=1e-10) < 1e-7
    assert state_space_divergence(a * 1e12, b * 1e12, n_bins=10) == pytest.approx(got, rel=1e-10)


def test_power_spectrum_distance_against_periodogram():
    t = np.arange(1024)
    rng = np.random.default_rng(1)
    a = np.sin(2 * np.pi * 0.05 * t)[:, None] + 0.1 * rng.normal(size=(1024, 1))
    b = np.sin(2 * np.pi * 0.11 * t)[:, None] + 0.1 * rng.normal(size=(1024, 1))
    p = periodogram(a[:, 0], detrend="constant", scaling="spectrum", return_onesided=True)[1]
    q = periodogram(b[:, 0], detrend="constant", scaling="spectrum", return_onesided=True)[1]
    # scipy's one-sided spectrum doubles the interior bins; undo that to compare shapes of |FFT|^2
    for s in (p, q):
        s[1:-1] /= 2
    p, q = p / p.sum(), q / q.sum()
    ref = np.sqrt(1 - np.sqrt(p * q).sum())
    np.testing.assert_allclose(power_spectrum_distance(a, b, smoothing=0), ref, rtol=1e-8)
    assert power_spectrum_distance(a, a) == pytest.approx(0.0, abs=1e-7)
    assert power_spectrum_distance(a, b) > 0.8
    assert power_spectrum_distance(a * 1e-15, b * 1e15) == pytest.approx(power_spectrum_distance(a, b), rel=1e-9)


def test_bad_inputs():
    a = np.random.default_rng(0).normal(size=(100, 3))
    with pytest.raises(ValueError, match="x_gen must have the channels of x_true"):
        state_space_divergence(a, a[:, :2])
    bad = a.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x_gen"):
        power_spectrum_distance(a, bad)
    with pytest.raises(ValueError, match="too many"):
        state_space_divergence(np.ones((10, 8)) + np.arange(80).reshape(10, 8), np.ones((10, 8)), n_bins=30)
    with pytest.raises(ValueError, match="n_bins"):
        state_space_divergence(a, a, n_bins=1)
    with pytest.raises(ValueError, match="x_gen has constant channels"):
        power_spectrum_distance(a, np.ones((100, 3)))
    with pytest.raises(ValueError, match="dt"):
        lorenz63(10, dt=0.0)
    with pytest.raises(ValueError, match="diverged"):
        lorenz63(1000, dt=0.9, burn_in=0, x0=[1.0, 1.0, 1.0])
