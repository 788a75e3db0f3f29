"""fit_dynamics: teacher-forcing operator, recovery of a recorded oscillation, input errors."""

import numpy as np
import pytest
import torch

from neurodyn.rnn.fit_dynamics import DynamicsRNN, _force, fit_dynamics


def test_full_forcing_makes_the_readout_equal_the_data():
    gen = torch.Generator().manual_seed(0)
    B = torch.randn(3, 8, generator=gen, dtype=torch.float64)
    c = torch.randn(3, generator=gen, dtype=torch.float64)
    h = torch.randn(5, 8, generator=gen, dtype=torch.float64)
    x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    Bp = torch.linalg.pinv(B)
    forced = _force(h, x, B, c, Bp, 1.0)
    np.testing.assert_allclose((forced @ B.T + c).numpy(), x.numpy(), atol=1e-12)
    # gamma interpolates the observed part linearly and leaves the unobserved part alone
    half = _force(h, x, B, c, Bp, 0.5)
    np.testing.assert_allclose((half @ B.T + c).numpy(), (0.5 * (h @ B.T + c) + 0.5 * x).numpy(), atol=1e-12)
    null = torch.eye(8, dtype=torch.float64) - Bp @ B
    np.testing.assert_allclose((half @ null.T).numpy(), (h @ null.T).numpy(), atol=1e-12)


def test_recovers_a_recorded_oscillation_when_running_freely():
    rng = np.random.default_rng(0)
    T, period = 300, 25
    t = np.arange(T)
    X = 2 * np.c_[np.sin(2 * np.pi * t / period), np.cos(2 * np.pi * t / period)] + 3
    X = X + 0.05 * rng.standard_normal((T, 2))
    model = fit_dynamics(X, n_units=16, n_epochs=150, seq_len=25, batch_size=16, random_state=0)
    assert model.n_iter_ == 150 and model.loss_curve_.shape == (150,)
    assert model.loss_curve_[-10:].mean() < 0.1 * model.loss_curve_[:10].mean()
    sim = model.simulate(300, x0=X[0])
    tail = sim[100:] - sim[100:].mean(0)
    freqs = np.fft.rfftfreq(tail.shape[0])
    peak = freqs[np.argmax(np.abs(np.fft.rfft(tail[:, 0])))]
    assert peak == pytest.approx(1 / period, rel=0.1)
    np.testing.assert_allclose(sim[100:].std(0), X.std(0), rtol=0.25)
    np.testing.assert_allclose(sim[100:].mean(0), X.mean(0), atol=0.3)
    # an untrained network of the same kind does not oscillate (the check is not vacuous)
    untrained = DynamicsRNN(n_units=16, n_epochs=0, seq_len=25, random_state=0).fit(X)
    assert untrained.simulate(300, x0=X[0])[100:].std(0).max() < 0.2 * X.std(0).min()
    assert model.score(X) < 0.1 * untrained.score(X)


def test_fit_dynamics_input_errors():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3))
    with pytest.raises(ValueError, match=r"X\[0\] is too short"):
        DynamicsRNN(seq_len=60).fit(X)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[0\] must be finite"):
        DynamicsRNN(n_epochs=1, seq_len=10).fit(Xn)
    Xc = X.copy()
    Xc[:, 2] = 1.0
    with pytest.raises(ValueError, match="constant"):
        DynamicsRNN(n_epochs=1, seq_len=10).fit(Xc)
    with pytest.raises(ValueError, match="n_units must be at least the number of channels"):
        DynamicsRNN(n_units=2, n_epochs=1, seq_len=10).fit(X)
    with pytest.raises(ValueError, match=r"inputs\[0\] has 40 time steps"):
        DynamicsRNN(n_epochs=1, seq_len=10).fit(X, inputs=np.zeros((40, 1)))
    with pytest.raises(ValueError, match="forcing must be in"):
        DynamicsRNN(forcing=2.0).fit(X)
    m = DynamicsRNN(n_units=4, n_epochs=2, seq_len=10, random_state=0).fit(X, inputs=rng.standard_normal((50, 2)))
    with pytest.raises(ValueError, match="inputs is required"):
        m.simulate(10)
    assert m.simulate(10, inputs=np.zeros((10, 2))).shape == (10, 3)
