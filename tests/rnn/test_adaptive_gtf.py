"""Adaptive generalised teacher forcing: Jacobian growth against a hand-computed reference."""

import numpy as np
import pytest
import torch

from neurodyn.rnn import DynamicsRNN, lorenz63


def _model(scale=1.0):
    X = lorenz63(300, random_state=0)
    m = DynamicsRNN(n_units=6, n_epochs=0, seq_len=5, random_state=0, device="cpu", dtype="float64").fit(X)
    with torch.no_grad():
        m.model_.weight_hh.mul_(scale)
    return m, X


def _zero_biases(m):
    with torch.no_grad():
        for p in (m.model_.bias_hh, m.model_.bias_ih, m.model_.heads[0].bias):
            p.zero_()


def _reference_growth(m, seg):
    """G from numpy: J = diag(1 - tanh(pre)^2) (diag(1 - a) + diag(a) W) at h0 = B^+ (x0 - c)."""
    net = m.model_
    B = net.heads[0].weight.detach().numpy()
    c = net.heads[0].bias.detach().numpy()
    a = net.alpha.detach().numpy()
    W = net.masked_weight().detach().numpy()
    U = net.weight_ih.detach().numpy()
    b = (net.bias_hh + net.bias_ih).detach().numpy()
    logs = []
    for k in range(seg.shape[1]):
        h = np.linalg.pinv(B) @ (seg[0, k] - c)
        pre = (1 - a) * h + a * (W @ h + U @ np.zeros(1) + b)
        J = (1 - np.tanh(pre) ** 2)[:, None] * (np.diag(1 - a) + a[:, None] * W)
        logs.append(np.log(np.linalg.norm(J, 2)))
    return float(np.exp(np.mean(logs)))


@pytest.mark.parametrize("scale", [0.2, 8.0])
def test_jacobian_growth_and_gamma_match_the_hand_computed_reference(scale):
    m, X = _model(scale)
    z = (X[:2] - m.mean_) / m.scale_
    seg = np.stack([z, z[::-1]], 1)                      # (L + 1 = 2, batch 2, 3 channels)
    segt = torch.tensor(seg)
    useg = torch.zeros(2, 2, 1, dtype=torch.float64)
    ref = _reference_growth(m, seg)
    assert m.jacobian_growth(segt, useg, 0.0) == pytest.approx(ref, rel=1e-10)
    assert m._adaptive_gamma(segt, useg, 0.0) == pytest.approx(max(0.0, 1 - 1 / ref), rel=1e-10, abs=1e-14)
    # at the fixed point h = 0 (no biases) the Jacobian is diag(1 - a) + diag(a) W: contracting
    # for a small W (gamma = 0), expanding for a large one (0 < gamma = 1 - 1/||J|| < 1)
    _zero_biases(m)
    zero = torch.zeros(2, 1, 3, dtype=torch.float64)
    a = m.model_.alpha.detach().numpy()
    J = np.diag(1 - a) + a[:, None] * m.model_.masked_weight().detach().numpy()
    g_ref = np.linalg.norm(J, 2)
    assert m.jacobian_growth(zero, torch.zeros(2, 1, 1, dtype=torch.float64), 0.0) == pytest.approx(g_ref, rel=1e-10)
    gamma = m._adaptive_gamma(zero, torch.zeros(2, 1, 1, dtype=torch.float64), 0.0)
    assert (gamma == 0.0) if scale < 1 else (0 < gamma == pytest.approx(1 - 1 / g_ref, rel=1e-10))
    assert (g_ref < 1) == (scale < 1)


def test_adaptive_fit_updates_gamma_every_adapt_every_steps():
    X = lorenz63(400, random_state=1)
    m = DynamicsRNN(n_units=8, n_epochs=25, seq_len=10, forcing="adaptive", adapt_every=5,
                    random_state=0, device="cpu").fit(X)
    g = m.forcing_curve_
    assert g.shape == (25,) and np.all((g >= 0) & (g <= 1))
    for start in range(0, 25, 5):
        assert np.all(g[start:start + 5] == g[start])
    fixed = DynamicsRNN(n_units=8, n_epochs=5, seq_len=10, forcing=0.4, forcing_end=0.2, random_state=0,
                        device="cpu").fit(X)
    np.testing.assert_allclose(fixed.forcing_curve_, np.linspace(0.4, 0.2, 5))


def test_adaptive_bad_inputs():
    X = lorenz63(100, random_state=1)
    with pytest.raises(ValueError, match="forcing must be a number in \\[0, 1\\] or 'adaptive'"):
        DynamicsRNN(forcing="auto", n_epochs=1).fit(X)
    with pytest.raises(ValueError, match="adapt_every"):
        DynamicsRNN(forcing="adaptive", adapt_every=0, n_epochs=1).fit(X)
