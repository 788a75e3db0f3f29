"""alignment_loss equals the package's CKA / RDM-correlation and is differentiable; train_aligned."""

import numpy as np
import pytest
import torch

from neurodyn.compare import linear_cka
from neurodyn.compare.alignment import alignment_loss
from neurodyn.rsa import compare_rdms, compute_rdm

F64 = torch.float64


def _reps(n=12, p=7, q=5, t=None, seed=0):
    rng = np.random.default_rng(seed)
    shape_x = (n, p) if t is None else (n, t, p)
    shape_y = (n, q) if t is None else (n, t, q)
    x = rng.normal(size=shape_x)
    y = rng.normal(size=shape_y) + 0.5 * (x[..., :q] if q <= p else 0)
    return x, y


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("shape", [(12, 7, 5), (9, 3, 20), (30, 40, 2)])
def test_cka_loss_equals_one_minus_linear_cka(debiased, shape):
    x, y = _reps(*shape)
    got = alignment_loss(torch.tensor(x), y, "cka", debiased=debiased)
    ref = 1 - linear_cka(x, y, debiased=debiased, device="cpu", dtype="float64")
    assert abs(float(got) - ref) < 1e-10


def test_cka_loss_time_resolved_is_the_mean_over_time_points():
    x, y = _reps(10, 6, 4, t=5)
    ref = 1 - np.mean(linear_cka(x, y, device="cpu", dtype="float64"))
    assert abs(float(alignment_loss(torch.tensor(x), y)) - ref) < 1e-10
    # a 2-D target is compared with every time point
    ref2 = 1 - np.mean([linear_cka(x[:, k], y[:, 0], device="cpu", dtype="float64") for k in range(5)])
    assert abs(float(alignment_loss(torch.tensor(x), y[:, 0])) - ref2) < 1e-10


@pytest.mark.parametrize("rdm_method", ["correlation", "sqeuclidean"])
def test_rdm_corr_loss_equals_rsa_functions(rdm_method):
    x, y = _reps(11, 6, 9, seed=3)
    ref = 1 - compare_rdms(compute_rdm(x, rdm_method, device="cpu", dtype="float64"),
                           compute_rdm(y, rdm_method, device="cpu", dtype="float64"), "corr",
                           device="cpu", dtype="float64")
    got = alignment_loss(torch.tensor(x), torch.tensor(y), "rdm_corr", rdm_method=rdm_method)
    assert abs(float(got) - float(np.asarray(ref).ravel()[0])) < 1e-10


@pytest.mark.parametrize("metric,kw", [("cka", {}), ("cka", {"debiased": True}),
                                       ("rdm_corr", {}), ("rdm_corr", {"rdm_method": "sqeuclidean"})])
def test_gradcheck(metric, kw):
    x, y = _reps(6, 4, 3, seed=1)
    xt = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: alignment_loss(a, y, metric, **kw), (xt,), eps=1e-6, atol=1e-8)


def test_identical_geometry_gives_zero_and_scale_invariance():
    x, _ = _reps(8, 5, 3)
    rot = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 5)))[0]
    for metric in ("cka", "rdm_corr"):
        assert abs(float(alignment_loss(torch.tensor(x), x @ rot * 3.0, metric, rdm_method="sqeuclidean"))) < 1e-12
    base = float(alignment_loss(torch.tensor(x), x[:, :3] ** 2))
    for scale in (1e-15, 1e15):
        got = float(alignment_loss(torch.tensor(x * scale), x[:, :3] ** 2 / scale))
        assert abs(got - base) < 1e-10
        g32 = float(alignment_loss(torch.tensor(x * scale, dtype=torch.float32), x[:, :3] ** 2 / scale))
        assert abs(g32 - base) < 1e-5


def test_inputs_not_modified():
    x, y = _reps()
    x0, y0 = x.copy(), y.copy()
    xt = torch.tensor(x, requires_grad=True)
    alignment_loss(xt, y).backward()
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(xt.detach().numpy(), x0)


def test_bad_inputs():
    x, y = _reps(6, 4, 3)
    xt = torch.tensor(x)
    with pytest.raises(ValueError, match=r"target must have the same number of conditions.*\(6, 4\).*\(5, 3\)"):
        alignment_loss(xt, y[:5])
    with pytest.raises(ValueError, match="target has 3 conditions; debiased CKA needs at least 4"):
        alignment_loss(xt[:3], y[:3], debiased=True)
    with pytest.raises(ValueError, match="target has 1 conditions; CKA needs at least 2"):
        alignment_loss(xt[:1], y[:1])
    with pytest.raises(ValueError, match="an RDM correlation needs at least 3"):
        alignment_loss(xt[:2], y[:2], "rdm_corr")
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="target must be finite"):
        alignment_loss(xt, bad)
    with pytest.raises(ValueError, match="states must be finite"):
        alignment_loss(torch.full((6, 4), float("nan")), y)
    with pytest.raises(ValueError, match="metric must be one of"):
        alignment_loss(xt, y, "procrustes")
    with pytest.raises(ValueError, match="states has no variance across conditions"):
        alignment_loss(torch.ones(6, 4, dtype=F64), y)
    with pytest.raises(ValueError, match="target has a condition whose pattern is constant"):
        alignment_loss(xt, np.ones((6, 3)), "rdm_corr")
    with pytest.raises(ValueError, match="same number of time points"):
        alignment_loss(torch.rand(6, 3, 4, dtype=F64), np.random.default_rng(0).normal(size=(6, 2, 3)))
    with pytest.raises(TypeError, match="states must be real-valued"):
        alignment_loss(torch.ones(6, 4, dtype=torch.complex128), y)


# ---------------------------------------------------------------- training with alignment
from neurodyn.compare import train_aligned  # noqa: E402
from neurodyn.rnn import NParity, make_rnn, train_task  # noqa: E402


def _setup(seed=0):
    task = NParity(2, seq_len=(4, 6))
    probe = task.sample(16, generator=torch.Generator().manual_seed(5))
    teacher = make_rnn("leaky", n_units=8, random_state=10 + seed, device="cpu")
    return task, probe, teacher.record(probe).states


def test_extra_loss_hook_adds_its_value_to_every_step():
    task, _, _ = _setup()
    seen = []

    def const(net, batch, states):
        seen.append(tuple(states.shape) == (batch.n_timesteps, batch.batch_size, net.n_units))
        return torch.tensor(2.5)

    runs = []
    for extra in (None, const):
        net = make_rnn("leaky", n_units=8, random_state=0, device="cpu")
        runs.append(train_task(net, task, n_steps=5, batch_size=8, random_state=1, extra_loss=extra).loss_curve_)
    np.testing.assert_allclose(runs[1] - runs[0], 2.5, rtol=1e-6)
    assert seen == [True] * 5
    net = make_rnn("leaky", n_units=8, random_state=0, device="cpu")
    with pytest.raises(TypeError, match="extra_loss must be a callable"):
        train_task(net, task, n_steps=2, extra_loss=3.0)
    with pytest.raises(TypeError, match="extra_loss must return a real scalar torch tensor"):
        train_task(net, task, n_steps=2, extra_loss=lambda n, b, s: s)


def test_train_aligned_moves_the_student_toward_the_target():
    task, probe, target = _setup()
    plain = train_task(make_rnn("leaky", n_units=8, random_state=0, device="cpu"), task, n_steps=40,
                       batch_size=16, optimizer="adam", lr=1e-2, random_state=2)
    zero = train_aligned(make_rnn("leaky", n_units=8, random_state=0, device="cpu"), task, target, probe=probe,
                         weight=0.0, n_steps=40, batch_size=16, optimizer="adam", lr=1e-2, random_state=2)
    np.testing.assert_array_equal(zero.loss_curve_, plain.loss_curve_)  # weight 0: plain training
    student = make_rnn("ssm", n_units=8, random_state=0, device="cpu")
    with torch.no_grad():
        start = float(alignment_loss(student(probe.inputs)[0].transpose(0, 1), target))
    hist = train_aligned(student, task, target, probe=probe, weight=10.0, n_steps=40, batch_size=16,
                         optimizer="adam", lr=1e-2, random_state=2)
    with torch.no_grad():
        end = float(alignment_loss(student(probe.inputs)[0].transpose(0, 1), target))
    assert hist.alignment_curve_.shape == (40,)
    assert end < 0.5 * start


def test_train_aligned_bad_inputs():
    task, probe, target = _setup()
    net = make_rnn("leaky", n_units=8, random_state=0, device="cpu")
    with pytest.raises(ValueError, match="target must have the same number of conditions"):
        train_aligned(net, task, target[:10], probe=probe, n_steps=1)
    with pytest.raises(ValueError, match="target must have one time point per probe step"):
        train_aligned(net, task, target[:, :-1], probe=probe, n_steps=1)
    bad = target.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="target must be finite"):
        train_aligned(net, task, bad, probe=probe, n_steps=1)
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        train_aligned(net, task, target, probe=probe, weight=-1.0, n_steps=1)
    with pytest.raises(ValueError, match="target has 2 conditions; an RDM correlation needs at least 3"):
        train_aligned(net, task, target[:2], probe=probe.inputs[:, :2], metric="rdm_corr", n_steps=1)
