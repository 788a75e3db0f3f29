"""Bad input to neurodyn.rnn gets an error naming the argument; analyses hold at any data scale."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import neurodyn.rnn as R
from neurodyn._validation import LayoutWarning


def _net(**kw):
    return R.LeakyRNN(**{"n_units": 8, "random_state": 0, "device": "cpu", **kw})


TASK = R.NParity(2)
rng = np.random.default_rng(0)
TS = np.cumsum(rng.standard_normal((60, 4)), axis=0)

CASES = [
    ("n_units 0", lambda: _net(n_units=0), ValueError, "n_units must be >= 1"),
    ("dt <= 0", lambda: _net(dt=0.0), ValueError, r"dt must be in \(0"),
    ("dt str", lambda: _net(dt="fast"), TypeError, "dt must be a real number"),
    ("dt overflow", lambda: _net(dt=1e300), ValueError, "dt must be in"),
    ("tau_min nan", lambda: _net(tau_min=np.nan), ValueError, "tau_min must be a number"),
    ("tau_max < tau_min", lambda: _net(tau_min=2.0, tau_max=1.0), ValueError, "tau_max must be >= tau_min"),
    ("tau_init <= 0", lambda: _net(tau_init=-1.0), ValueError, "tau_init must be finite and > 0"),
    ("tau_init complex", lambda: _net(tau_init=1 + 1j), TypeError, "tau_init must be real-valued"),
    ("gain inf", lambda: _net(gain=np.inf), ValueError, "gain must be in"),
    ("rec_noise < 0", lambda: _net(rec_noise=-0.1), ValueError, "rec_noise must be in"),
    ("dale_ratio", lambda: _net(dale_ratio=1.5), ValueError, "dale_ratio must be in"),
    ("init_rank", lambda: _net(init_rank=2.5), TypeError, "init_rank must be an integer"),
    ("recurrent_mask", lambda: _net(recurrent_mask=np.ones((3, 3))), ValueError,
     r"recurrent_mask must have shape \(8, 8\)"),
    ("x strings", lambda: _net()(np.full((5, 2, 1), "a")), TypeError, "x must be a numeric array"),
    ("x complex", lambda: _net()(np.ones((5, 2, 1)) + 1j), TypeError, "x must be real-valued"),
    ("x float32 overflow", lambda: _net()(np.full((5, 2, 1), 1e300)), ValueError, "x has values up to"),
    ("h0 nan", lambda: _net()(torch.ones(5, 2, 1), h0=np.full(8, np.nan)), ValueError, "h0 must be finite"),
    ("h0 strings", lambda: _net()(torch.ones(5, 2, 1), h0="zeros"), TypeError, "h0 must be a numeric array"),
    ("low_rank nan", lambda: R.low_rank_matrix(np.full((3, 3), np.nan), 1), ValueError, "w must be finite"),
    ("effective_rank zeros", lambda: R.effective_rank(np.zeros((3, 3))), ValueError, "w is all zeros"),
    ("seq_len pair", lambda: R.NParity(2, seq_len=(5, 3)), ValueError, "seq_len must be a half-open range"),
    ("seq_len float", lambda: R.NParity(2, seq_len=4.5), TypeError, "seq_len must be an integer"),
    ("stream n_timesteps", lambda: TASK.sample_stream(-1, 2), ValueError, "n_timesteps must be >= 1"),
    ("stream rate", lambda: TASK.sample_stream(10, 2, rate=np.nan), ValueError, "rate must be a number"),
    ("decision steps", lambda: R.PerceptualDecision(decision_steps=-1), ValueError, "decision_steps must be >= 1"),
    ("coherences", lambda: R.PerceptualDecision(coherences=[10, 200]), ValueError,
     r"coherences must be percentages in \[0, 100\]"),
    ("noise_std", lambda: R.PerceptualDecision(noise_std=np.inf), ValueError, "noise_std must be in"),
    ("decision batch", lambda: R.PerceptualDecision().sample(0), ValueError, "batch_size must be >= 1"),
    ("lr negative", lambda: R.train_task(_net(), TASK, n_steps=1, lr=-0.1), ValueError, "lr must be in"),
    ("lr huge", lambda: R.train_task(_net(), TASK, n_steps=1, lr=1e300), ValueError, "lr must be in"),
    ("momentum", lambda: R.train_task(_net(), TASK, n_steps=1, momentum=1.0), ValueError, "momentum must be in"),
    ("clip nan", lambda: R.train_task(_net(), TASK, n_steps=1, clip=np.nan), ValueError, "clip must be a number"),
    ("heads int", lambda: R.train_task(_net(), TASK, n_steps=1, heads=0), TypeError, "heads must be a sequence"),
    ("heads range", lambda: R.train_task(_net(), TASK, n_steps=1, heads=[3]), ValueError, "heads must be in"),
    ("curriculum steps", lambda: R.train_curriculum(_net(n_heads=2), steps_per_epoch=0), ValueError,
     "steps_per_epoch must be >= 1"),
    ("curriculum test_batches", lambda: R.train_curriculum(_net(n_heads=2), test_batches=0), ValueError,
     "test_batches must be >= 1"),
    ("evaluate n_batches", lambda: R.evaluate(_net(), TASK, n_batches=0), ValueError, "n_batches must be >= 1"),
    ("autocorrelation strings", lambda: R.autocorrelation(TS.astype(str)), TypeError, "x must be a numeric array"),
    ("autocorrelation short", lambda: R.autocorrelation(TS[:2]), ValueError, "x is too short"),
    ("autocorrelation max_lag", lambda: R.autocorrelation(TS, max_lag=0), ValueError, "max_lag must be >= 1"),
    ("autocorrelation max_lag beyond", lambda: R.autocorrelation(TS, max_lag=100), ValueError,
     "max_lag must be at most n_timepoints - 1 = 59"),
    ("network_timescales max_lag", lambda: R.network_timescales(_net(), n_timesteps=50), ValueError,
     "max_lag must be at most n_timesteps - 1 = 49"),
    ("fit_timescales partial nan", lambda: R.fit_timescales(np.where(np.eye(40, 2) > 0, np.nan, 0.5)),
     ValueError, "ac has NaN inside the column"),
    ("perturb at chance", lambda: R.perturb(_net(), TASK, n_timesteps=50, warmup=5, n_repeats=1, random_state=0),
     ValueError,
     "net: the unperturbed accuracy .* is at or below chance"),
    ("fit_timescales inf", lambda: R.fit_timescales(np.full((40, 2), np.inf)), ValueError, "ac must not contain Inf"),
    ("fit_timescales tau_max", lambda: R.fit_timescales(np.ones((40, 2)), tau_max=-1.0), ValueError,
     "tau_max must be in"),
    ("unit_timescales model", lambda: R.unit_timescales(TS, model="triple"), ValueError, "model must be one of"),
    ("network_timescales units", lambda: R.network_timescales(_net(), n_trials=1, n_timesteps=50, max_lag=20,
                                                                   units=[9]),
     ValueError, r"units must be integer indices in \[0, 7\]"),
    ("network_timescales rate", lambda: R.network_timescales(_net(), rate=2.0), ValueError, "rate must be in"),
    ("fixed points lr", lambda: R.find_fixed_points(_net(), np.zeros((2, 8)), lr=np.nan), ValueError,
     "lr must be a number"),
    ("fixed points inputs", lambda: R.find_fixed_points(_net(), np.zeros((2, 8)), inputs=np.ones(3)), ValueError,
     r"inputs must have shape \(1,\)"),
    ("jacobian state", lambda: R.jacobian_eigenvalues(_net(), "a"), TypeError, "state must be a numeric array"),
    ("ablate_units", lambda: R.ablate_units(_net(), "a"), TypeError, "units must be integer unit indices"),
    ("ablate_units range", lambda: R.ablate_units(_net(), [9]), ValueError, r"units must be indices in \[0, 7\]"),
    ("ablate fraction", lambda: R.ablate(_net(), TASK, fraction=1.5), ValueError, "fraction must be in"),
    ("ablate n_repeats", lambda: R.ablate(_net(), TASK, fraction=0.5, n_repeats=0), ValueError,
     "n_repeats must be >= 1"),
    ("stream warmup", lambda: R.stream_accuracy(_net(), TASK, warmup=-1), ValueError, "warmup must be >= 0"),
    ("stream n_trials", lambda: R.stream_accuracy(_net(), TASK, n_trials=0), ValueError, "n_trials must be >= 1"),
    ("stream heads", lambda: R.stream_accuracy(_net(), TASK, heads=[0, 0]), ValueError,
     "heads must give one head per N"),
    ("perturb epsilons", lambda: R.perturb(_net(), TASK, epsilons=[-1.0]), ValueError,
     "epsilons must be finite relative sizes"),
    ("accuracy_per_n ns", lambda: R.accuracy_per_n(_net(), ns=[0], heads=[0]), ValueError, "ns must be >= 1"),
    ("pca n_components", lambda: R.trajectory_pca(TS, n_components=9), ValueError, "n_components must be in"),
    ("participation constant", lambda: R.participation_ratio(np.ones((10, 3))), ValueError, "x has no variance"),
    ("variance threshold", lambda: R.variance_dimension(TS, threshold="90%"), TypeError,
     "threshold must be a real number"),
    ("weight_change nan", lambda: R.weight_change(np.full((2, 2), np.nan), np.ones((2, 2))), ValueError,
     "w0 must be finite"),
    ("weight_change relative", lambda: R.weight_change(np.zeros((2, 2)), np.ones((2, 2)), relative=True),
     ValueError, "w0 is all zeros"),
    ("kernel_alignment strings", lambda: R.kernel_alignment(np.full((2, 2), "a"), np.eye(2)), TypeError,
     "k0 must be a numeric array"),
    ("tangent chunk", lambda: R.tangent_kernel(_net(), torch.ones(3, 2, 1), chunk_size=0), ValueError,
     "chunk_size must be >= 1"),
    ("dynamics lr", lambda: R.DynamicsRNN(lr=-1.0).fit(TS), ValueError, "lr must be in"),
    ("dynamics tau_init", lambda: R.DynamicsRNN(tau_init=0.0).fit(TS), ValueError, "tau_init must be in"),
    ("dynamics forcing", lambda: R.DynamicsRNN(forcing=np.nan).fit(TS), ValueError, "forcing must be a number"),
    ("dynamics complex", lambda: R.DynamicsRNN().fit(TS + 1j), TypeError, r"X\[0\] must be real-valued"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_the_argument_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dynamics_rnn_simulate_and_score_refuse_bad_values():
    m = R.DynamicsRNN(n_units=6, n_epochs=2, seq_len=8, random_state=0, device="cpu").fit(TS)
    with pytest.raises(ValueError, match="noise_std must be in"):
        m.simulate(5, noise_std=1e300)
    with pytest.raises(ValueError, match="x0 must be finite"):
        m.simulate(5, x0=np.full(4, np.nan))
    with pytest.raises(ValueError, match="standardised with the training mean and sd"):
        m.score(TS * 1e300)
    # no gradient clipping is allowed
    assert R.DynamicsRNN(n_units=6, n_epochs=2, seq_len=8, grad_clip=None).fit(TS).n_iter_ == 2


@pytest.mark.parametrize("call", [
    lambda x: R.autocorrelation(x),
    lambda x: R.unit_timescales(x),
    lambda x: R.DynamicsRNN(n_units=70, n_epochs=1, seq_len=5, device="cpu").fit(x),
], ids=["autocorrelation", "unit_timescales", "DynamicsRNN"])
def test_fewer_timepoints_than_units_warns_layout(call):
    x = np.random.default_rng(1).standard_normal((40, 60))  # probably (units, time) passed transposed
    with pytest.warns(LayoutWarning, match="40 timepoints and 60 units"):
        call(x)
    stack = np.random.default_rng(2).standard_normal((2, 40, 60))
    with pytest.warns(LayoutWarning, match="40 timepoints and 60 units"):
        call(stack)


def test_time_first_layout_does_not_warn():
    import warnings

    x = np.random.default_rng(3).standard_normal((200, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        R.autocorrelation(x)
        R.unit_timescales(x, max_lag=40)


def ref_autocorrelation(x, max_lag):
    """Direct lag products of a (trials, time, units) array, trial-averaged, normalised at lag 0."""
    n = x.shape[1]
    c = x - x.mean(axis=1, keepdims=True)
    acov = np.stack([np.mean([(c[tr, : n - k] * c[tr, k:]).sum(0) / (n - k) for tr in range(len(x))], 0)
                     for k in range(max_lag + 1)])
    return acov / acov[:1]


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.integers(-300, 300))
def test_autocorrelation_is_scale_invariant_against_a_direct_reference(seed, exponent):
    r = np.random.default_rng(seed)
    x = np.cumsum(r.standard_normal((3, 80, 4)), axis=1) + 5.0
    ref = ref_autocorrelation(x, 20)
    got = R.autocorrelation(x * 10.0 ** exponent, max_lag=20)
    np.testing.assert_allclose(got, ref, atol=1e-10)
    # permuting the units permutes the columns
    perm = r.permutation(4)
    np.testing.assert_allclose(R.autocorrelation(x[:, :, perm] * 10.0 ** exponent, max_lag=20),
                               ref[:, perm], atol=1e-10)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.integers(-300, 300))
def test_geometry_metrics_are_scale_invariant(seed, exponent):
    r = np.random.default_rng(seed)
    a = r.standard_normal((50, 6)) @ r.standard_normal((6, 6))
    b = a + 0.5 * r.standard_normal((50, 6))
    s = 10.0 ** exponent
    lam = np.linalg.eigvalsh(np.cov(a, rowvar=False))
    assert R.participation_ratio(a * s) == pytest.approx(lam.sum() ** 2 / (lam ** 2).sum(), rel=1e-9)
    _, _, ratio = R.trajectory_pca(a * s)
    np.testing.assert_allclose(ratio, np.sort(lam)[::-1] / lam.sum(), rtol=1e-9)
    ref = np.linalg.norm(a.T @ b) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b))
    assert R.representation_alignment(a * s, b / s) == pytest.approx(ref, rel=1e-9)
    assert R.weight_change(a * s, b * s, relative=True) == pytest.approx(
        np.linalg.norm(b - a) / np.linalg.norm(a), rel=1e-9)
    assert R.effective_rank(a * s) == pytest.approx(R.effective_rank(a), rel=1e-9)


def test_low_rank_matrix_is_scale_equivariant_at_extreme_scales():
    """Entries near 1e+-300 used to give NaN (the SVD and norms overflowed)."""
    from neurodyn.rnn import low_rank_matrix

    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 5))
    ref = low_rank_matrix(w, 2)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    trunc = (u[:, :2] * s[:2]) @ vt[:2]
    np.testing.assert_allclose(ref, trunc * np.linalg.norm(w) / np.linalg.norm(trunc), rtol=1e-12)
    for scale in (1e-300, 1e300):
        np.testing.assert_allclose(low_rank_matrix(w * scale, 2), ref * scale, rtol=1e-12)


def test_find_fixed_points_refuses_states_whose_speed_overflows():
    from neurodyn.rnn import LeakyRNN, find_fixed_points

    net = LeakyRNN(n_units=8, n_inputs=1, random_state=0, device="cpu")
    h0 = np.full((3, 8), 1e300)
    with pytest.raises(ValueError, match=r"initial_states\[0\] is too large .* overflows"):
        find_fixed_points(net, h0, n_iter=5)
