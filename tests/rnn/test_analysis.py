"""Ablation, perturbation, PCA and rich/lazy metrics against explicit references."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from neurodyn.rnn import LeakyRNN, NParity
from neurodyn.rnn import analysis as an


def _copy_net():
    """A hand-built net that reports the current bit (N = 1 parity) through unit 0 only."""
    net = LeakyRNN(n_units=3, tau_init=1.0, train_tau=False, dtype="float64", random_state=0)
    with torch.no_grad():
        net.weight_hh.zero_()
        net.weight_ih.copy_(torch.tensor([[1.0], [0.3], [0.2]], dtype=torch.float64))
        net.bias_hh.zero_()
        net.bias_ih.zero_()
        net.heads[0].weight.copy_(torch.tensor([[0.0, 0, 0], [10.0, 0, 0]], dtype=torch.float64))
        net.heads[0].bias.copy_(torch.tensor([0.0, -5.0], dtype=torch.float64))
    return net


def test_ablate_units_zeroes_rows_columns_inputs_and_readout():
    net = LeakyRNN(n_units=6, n_heads=2, random_state=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = an.ablate_units(net, [1, 4], heads=[1])
    w = out.weight_hh.detach()
    assert (w[[1, 4]] == 0).all() and (w[:, [1, 4]] == 0).all()
    assert (out.weight_ih[[1, 4]] == 0).all()
    assert (out.heads[1].weight[:, [1, 4]] == 0).all()
    assert torch.equal(out.heads[0].weight, net.heads[0].weight)   # other heads untouched
    for k, v in net.state_dict().items():                           # original unchanged
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError, match=r"units must be indices in \[0, 5\]"):
        an.ablate_units(net, [6])


def test_stream_accuracy_and_ablation_of_the_coding_unit():
    net = _copy_net()
    task = NParity(1)
    res = an.ablate(net, task, units=[0], n_timesteps=2000, n_trials=4, random_state=0)
    assert res["baseline"][0] == 1.0
    assert abs(res["accuracy"][0, 0] - 0.5) < 0.03       # constant guess on balanced bits
    res_other = an.ablate(net, task, units=[1, 2], n_timesteps=500, n_trials=2, random_state=0)
    assert res_other["accuracy"][0, 0] == 1.0


def test_accuracy_per_n_retention():
    net = _copy_net()
    acc = an.accuracy_per_n(net, [1, 2], [0, 0], n_batches=4, batch_size=256, random_state=0)
    assert acc[0] == 1.0                  # N = 1 is solved by construction
    assert abs(acc[1] - 0.5) < 0.1        # N = 2 parity is not (chance)
    with pytest.raises(ValueError, match="ns and heads must have the same length"):
        an.accuracy_per_n(net, [1, 2], [0])


def test_perturbation_zero_is_identity_and_large_weight_noise_hurts():
    net = LeakyRNN(n_units=3, tau_init=1.0, dtype="float64", random_state=0)
    net.load_state_dict(_copy_net().state_dict())
    with torch.no_grad():
        net.weight_hh.copy_(torch.tensor([[0, 0.1, 0], [0, 0, 0.1], [0.1, 0, 0]], dtype=torch.float64))
    res = an.perturb(net, NParity(1), target="weights", epsilons=[0.0, 100.0], n_repeats=3,
                     n_timesteps=300, n_trials=2, random_state=0)
    np.testing.assert_array_equal(res["relative"][0], 1.0)
    assert res["relative"][1].mean() < 0.9
    res_tau = an.perturb(net, NParity(1), target="tau", epsilons=[0.0], n_repeats=1,
                         n_timesteps=100, n_trials=1, random_state=0)
    np.testing.assert_array_equal(res_tau["relative"], 1.0)


def test_pca_matches_sklearn_and_dimension_measures():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 50, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    scores, comps, ratio = an.trajectory_pca(x, n_components=3)
    ref = PCA(n_components=3).fit(x.reshape(-1, 6))
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(scores.reshape(-1, 3)), np.abs(ref.transform(x.reshape(-1, 6))), rtol=1e-8,
                               atol=1e-10)
    lam = np.linalg.eigvalsh(np.cov(x.reshape(-1, 6), rowvar=False))
    assert an.participation_ratio(x) == pytest.approx(lam.sum() ** 2 / (lam**2).sum())
    full = PCA().fit(x.reshape(-1, 6)).explained_variance_ratio_
    assert an.variance_dimension(x, 0.9) == int(np.argmax(np.cumsum(full) > 0.9) + 1)


def test_representation_alignment_matches_kernel_definition_and_is_rotation_invariant():
    rng = np.random.default_rng(1)
    a0, at = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    k0, kt = a0 @ a0.T, at @ at.T
    ref = (k0 * kt).sum() / (np.linalg.norm(k0) * np.linalg.norm(kt))
    assert an.representation_alignment(a0, at) == pytest.approx(ref, rel=1e-12)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert an.representation_alignment(a0, at @ q) == pytest.approx(ref, rel=1e-10)
    assert an.representation_alignment(a0, a0) == pytest.approx(1.0)
    assert an.kernel_alignment(k0, kt) == pytest.approx(ref, rel=1e-12)


def test_tangent_kernel_matches_explicit_jacobian_and_self_alignment_is_one():
    net = LeakyRNN(n_units=5, n_inputs=3, n_outputs=3, bias=False, autapses=True, tau_init=1.0,
                   train_tau=False, init="gaussian", gain=1.25, dtype="float64", random_state=0)
    x = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    k = an.tangent_kernel(net, x, chunk_size=7)

    def outputs(w):
        h = torch.zeros(2, 5, dtype=torch.float64)
        ys = []
        for t in range(4):
            h = torch.relu(h @ w.T + x[t] @ net.weight_ih.T)
            ys.append(net.heads[0](h))
        return torch.stack(ys).reshape(-1)

    jac = torch.autograd.functional.jacobian(outputs, net.weight_hh.detach()).reshape(24, -1)
    np.testing.assert_allclose(k, (jac @ jac.T).numpy(), rtol=1e-8, atol=1e-12)
    assert an.kernel_alignment(k, k) == pytest.approx(1.0)


def test_weight_change_and_sign_similarity():
    w0, wt = np.eye(3), np.eye(3) * 2
    assert an.weight_change(w0, wt) == pytest.approx(np.sqrt(3))
    assert an.weight_change(w0, wt, relative=True) == pytest.approx(1.0)
    a0 = np.array([[1.0, -1.0], [0.5, 2.0]])
    assert an.sign_similarity(a0, np.array([[2.0, 1.0], [0.1, 3.0]])) == 0.75
    with pytest.raises(ValueError, match="w0 and wt must have the same shape"):
        an.weight_change(np.eye(2), np.eye(3))


def test_fixed_point_and_jacobian_of_tanh_network():
    # tanh, no bias, no input: h = 0 is a fixed point with Jacobian (1 - a) I + a W (tanh'(0) = 1)
    net = LeakyRNN(n_units=6, nonlinearity="tanh", bias=False, autapses=True, tau_init=2.0,
                   init="gaussian", gain=0.5, dtype="float64", random_state=0)
    start = np.random.default_rng(0).normal(scale=0.3, size=(4, 6))
    points, speed = an.find_fixed_points(net, start, n_iter=800, lr=0.05, tol=1e-10)
    assert speed.max() < 1e-6
    np.testing.assert_allclose(points, 0.0, atol=1e-2)
    w = net.weight_hh.detach().numpy()
    ref = np.linalg.eigvals(0.5 * np.eye(6) + 0.5 * w)
    got = an.jacobian_eigenvalues(net, np.zeros(6))
    np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(ref), atol=1e-10)
    with pytest.raises(ValueError, match="initial_states must have 6 columns"):
        an.find_fixed_points(net, np.zeros((2, 5)))


def test_unit_timescales_accepts_a_recording():
    from neurodyn.rnn.timescales import unit_timescales

    net = LeakyRNN(n_units=4, random_state=0)
    rec = net.record(NParity(2, seq_len=300, random_state=0).sample(3))
    fit = unit_timescales(rec, max_lag=40, fit_lags=20, model="single")
    assert fit.tau.shape == (4,)
