"""LeakyRNN: hand-computed step, fused path vs reference loop (A6), contract checks."""

import numpy as np
import pytest
import torch

from neurodyn.rnn import GatedRNN, LeakyRNN, effective_rank, low_rank_matrix
from neurodyn.rnn.tasks import NParity


def _small_net(**kw):
    net = LeakyRNN(n_units=2, n_inputs=1, tau_init=[1.0, 2.0], dtype="float64", random_state=0, **kw)
    f64 = torch.float64
    with torch.no_grad():
        net.weight_hh.copy_(torch.tensor([[9.0, 0.5], [-1.0, 9.0]], dtype=f64))  # diagonal ignored
        net.weight_ih.copy_(torch.tensor([[1.0], [2.0]], dtype=f64))
        net.bias_hh.copy_(torch.tensor([0.1, -0.2], dtype=f64))
        net.bias_ih.copy_(torch.tensor([0.0, -3.0], dtype=f64))
    return net


@pytest.mark.parametrize("placement", ["post", "pre"])
def test_loop_reproduces_hand_computed_step(placement):
    net = _small_net(nonlinearity="leakyrelu", placement=placement)
    h0 = torch.tensor([[0.5, 0.2]], dtype=torch.float64)
    x = torch.tensor([[[1.0]]], dtype=torch.float64)
    states, _ = net(x, h0=h0)
    # recurrent drive without autapses: W h = [0.5*0.2, -1*0.5]; + b_W + U x + b_U
    u = np.array([0.5 * 0.2 + 0.1 + 1.0 + 0.0, -1.0 * 0.5 - 0.2 + 2.0 - 3.0])  # [1.2, -1.7]
    alpha = np.array([1.0, 0.5])
    lrelu = lambda v: np.where(v > 0, v, 0.01 * v)  # noqa: E731
    h = np.array([0.5, 0.2])
    if placement == "post":
        expected = lrelu((1 - alpha) * h + alpha * u)          # [1.2, 0.1 - 0.85 -> -0.0075]
    else:
        expected = (1 - alpha) * h + alpha * lrelu(u)          # [1.2, 0.1 - 0.0085]
    np.testing.assert_allclose(states[0, 0].detach().numpy(), expected, rtol=1e-12)


def test_tau_is_clamped_in_forward():
    net = LeakyRNN(n_units=3, tau_init=[0.2, 1.5, 50.0], tau_max=10.0, random_state=0)
    np.testing.assert_allclose(net.tau_, [1.0, 1.5, 10.0])
    np.testing.assert_allclose(net.alpha.detach().numpy(), [1.0, 1 / 1.5, 0.1], rtol=1e-6)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
@pytest.mark.parametrize("autapses", [False, True])
def test_fused_equals_loop_outputs_and_gradients(nonlinearity, autapses):
    torch.manual_seed(0)
    net = LeakyRNN(n_units=32, n_inputs=2, nonlinearity=nonlinearity, autapses=autapses,
                   tau_init=np.linspace(1.2, 4.0, 32), gain=1.5, random_state=1)
    assert net.uses_fused()
    x = torch.randn(25, 6, 2, generator=torch.Generator().manual_seed(2))
    target = torch.randn(25, 6, 32, generator=torch.Generator().manual_seed(3))
    grads = []
    outs = []
    for fused in (True, False):
        net.zero_grad()
        states, _ = net(x) if fused else net.forward_loop(x)
        ((states - target) ** 2).sum().backward()
        outs.append(states.detach())
        grads.append([p.grad.clone() for p in (net.weight_hh, net.weight_ih, net.tau, net.bias_hh)])
    assert (outs[0] - outs[1]).abs().max() < 1e-5
    for gf, gl in zip(*grads, strict=True):
        assert torch.linalg.norm(gf - gl) / torch.linalg.norm(gl) < 1e-4
    if not autapses:  # the masked diagonal gets no gradient on either path
        assert torch.all(grads[0][0].diagonal() == 0) and torch.all(grads[1][0].diagonal() == 0)


def test_leakyrelu_and_pre_leak_do_not_use_fused_kernel():
    assert not LeakyRNN(4, nonlinearity="leakyrelu").uses_fused()
    assert not LeakyRNN(4, placement="pre").uses_fused()
    with pytest.raises(ValueError, match="fused=True needs placement='post'"):
        LeakyRNN(4, nonlinearity="leakyrelu", fused=True).uses_fused()


def test_tau_stays_in_bounds_under_training():
    net = LeakyRNN(n_units=16, tau_init=np.linspace(1.0, 3.0, 16), tau_max=2.5, random_state=0)
    opt = torch.optim.SGD([net.tau], lr=200.0)
    task = NParity(3, random_state=0)
    for _ in range(30):
        batch = task.sample(16)
        states, _ = net(batch)
        loss = torch.nn.functional.cross_entropy(net.readout(states[-1]), batch.targets[-1, :, 0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    raw = net.tau.detach().numpy()
    assert raw.min() < 1.0 or raw.max() > 2.5      # the raw parameter did leave the bounds
    assert net.tau_.min() >= 1.0 and net.tau_.max() <= 2.5
    assert np.isfinite(net.tau_).all()


def test_frozen_tau_is_a_buffer_and_unchanged():
    net = LeakyRNN(n_units=8, tau_init=2.0, train_tau=False, random_state=0)
    assert "tau" not in dict(net.named_parameters())
    np.testing.assert_array_equal(net.tau_, np.full(8, 2.0))


def test_state_dict_round_trip_is_exact(tmp_path):
    net = LeakyRNN(n_units=12, n_heads=3, h0="learned", random_state=0)
    with torch.no_grad():
        net.h0.add_(0.3)
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    other = LeakyRNN(n_units=12, n_heads=3, h0="learned", random_state=99)
    other.load_state_dict(torch.load(path))
    x = NParity(2, random_state=0).sample(4).inputs
    assert torch.equal(net(x)[0], other(x)[0])
    assert torch.equal(net.last_logits(x, heads=[2]), other.last_logits(x, heads=[2]))


def test_same_seed_same_network_and_random_h0():
    a = LeakyRNN(n_units=10, h0="paper", random_state=5)
    b = LeakyRNN(n_units=10, h0="paper", random_state=5)
    c = LeakyRNN(n_units=10, h0="paper", random_state=6)
    x = NParity(2, random_state=0).sample(3).inputs
    assert torch.equal(a(x)[0], b(x)[0])
    assert not torch.equal(a.weight_hh, c.weight_hh)


def test_low_rank_init_has_requested_rank_and_norm():
    full = LeakyRNN(n_units=40, init="gaussian", gain=1.25, autapses=True, random_state=0)
    low = LeakyRNN(n_units=40, init="gaussian", gain=1.25, autapses=True, init_rank=3, random_state=0)
    w_full, w_low = full.weight_hh.detach().double().numpy(), low.weight_hh.detach().double().numpy()
    assert np.linalg.matrix_rank(w_low, tol=1e-4) == 3
    np.testing.assert_allclose(np.linalg.norm(w_low), np.linalg.norm(w_full), rtol=1e-5)
    # same base draw: the truncation of the full-rank matrix
    np.testing.assert_allclose(w_low, low_rank_matrix(w_full, 3), atol=1e-5)
    s = np.linalg.svd(np.random.default_rng(0).normal(size=(300, 300)), compute_uv=False)
    p = s / s.sum()
    assert abs(effective_rank(np.diag(s)) - np.exp(-(p * np.log(p)).sum())) < 1e-9
    assert effective_rank(np.eye(5)) == pytest.approx(5.0)


def test_record_is_trial_major_numpy():
    net = LeakyRNN(n_units=6, n_heads=2, random_state=0)
    batch = NParity([2, 3], random_state=0).sample(5)
    rec = net.record(batch)
    states, _ = net(batch)
    assert rec.states.shape == (5, batch.n_timesteps, 6)
    np.testing.assert_allclose(rec.states, states.detach().numpy().transpose(1, 0, 2))
    assert np.asarray(rec).shape == rec.states.shape
    assert rec.outputs.shape == (5, batch.n_timesteps, 2, 2)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_rnn_same_interface_and_deterministic(cell):
    a = GatedRNN(n_units=8, n_heads=2, cell=cell, random_state=0)
    b = GatedRNN(n_units=8, n_heads=2, cell=cell, random_state=0)
    x = NParity(2, random_state=0).sample(3).inputs
    assert torch.equal(a.last_logits(x, heads=[0, 1]), b.last_logits(x, heads=[0, 1]))
    assert a.record(x).states.shape == (3, x.shape[0], 8)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="n_units must be >= 1"):
        LeakyRNN(n_units=0)
    with pytest.raises(ValueError, match="tau_max must be >= tau_min"):
        LeakyRNN(n_units=4, tau_min=2.0, tau_max=1.0)
    net = LeakyRNN(n_units=4, random_state=0)
    with pytest.raises(ValueError, match=r"x must be 3-D \(n_timesteps, batch, n_inputs=1\)"):
        net(torch.zeros(5, 2, 3))
    bad = torch.zeros(5, 2, 1)
    bad[2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="x must be finite"):
        net(bad)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        LeakyRNN(n_units=4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"init_rank must be in \[1, 4\]"):
        LeakyRNN(n_units=4, init_rank=5)


def test_dale_law_signs_and_fused_equals_loop():
    net = LeakyRNN(n_units=10, dale_ratio=0.8, random_state=0)
    w = net.masked_weight().detach()
    assert (w[:, :8] >= 0).all() and (w[:, 8:] <= 0).all()
    assert (w.diagonal() == 0).all()
    x = torch.rand(12, 3, 1, generator=torch.Generator().manual_seed(0))
    fused, _ = net(x)
    loop, _ = net.forward_loop(x)
    assert (fused - loop).abs().max() < 1e-5
    with pytest.raises(ValueError, match="dale_ratio must be in"):
        LeakyRNN(n_units=4, dale_ratio=1.5)
