"""train_seeds: one network per seed over joblib workers, identical to a serial loop."""

import sys

import numpy as np
import pytest
import torch
from joblib import parallel_config

from neurodyn.rnn import LeakyRNN, NParity, train_curriculum, train_seeds, train_task

try:  # joblib's loky pickles with the installed cloudpickle, or with its vendored copy
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle

# make_net travels to loky's worker processes by value (this file is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SEEDS = [3, 0, 11]
KW = dict(n_steps=6, batch_size=8, optimizer="adam", lr=0.02)


def _make_net(seed):
    return LeakyRNN(n_units=6, n_inputs=1, n_outputs=2, n_heads=2, random_state=seed, device="cpu")


def _state(net):
    return {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def _assert_same_net(a, b):
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def _serial_loop(seeds):
    task = NParity(n=2, random_state=0)
    out = []
    for s in seeds:
        net = _make_net(s)
        out.append((net, train_task(net, task, random_state=s, **KW)))
    return out


@pytest.mark.parametrize("backend,n_jobs", [(None, None), ("loky", 2), ("threading", 2)])
def test_train_seeds_equals_a_serial_loop(backend, n_jobs):
    ref = _serial_loop(SEEDS)
    task = NParity(n=2, random_state=0)
    if backend is None:
        got = train_seeds(_make_net, task, SEEDS, n_jobs=n_jobs, **KW)
    else:
        with parallel_config(backend=backend):
            got = train_seeds(_make_net, task, SEEDS, n_jobs=n_jobs, **KW)
    assert len(got) == len(SEEDS)
    for (net_r, hist_r), (net_g, hist_g) in zip(ref, got, strict=True):
        _assert_same_net(net_r, net_g)
        np.testing.assert_array_equal(hist_g.loss_curve_, hist_r.loss_curve_)
        np.testing.assert_array_equal(hist_g.accuracy_curve_, hist_r.accuracy_curve_)
    # different seeds give different networks (the seeds reach the training)
    assert not np.array_equal(got[0][1].loss_curve_, got[1][1].loss_curve_)


def test_train_seeds_curriculum_loky_equals_serial_loop():
    kw = dict(n_max=2, max_epochs=2, steps_per_epoch=3, batch_size=8, test_batches=1)
    ref = []
    for s in SEEDS[:2]:
        net = _make_net(s)
        ref.append((net, train_curriculum(net, NParity, random_state=s, **kw)))
    with parallel_config(backend="loky"):
        got = train_seeds(_make_net, NParity, SEEDS[:2], method="curriculum", n_jobs=2, **kw)
    for (net_r, hist_r), (net_g, hist_g) in zip(ref, got, strict=True):
        _assert_same_net(net_r, net_g)
        np.testing.assert_array_equal(hist_g.loss_curve_, hist_r.loss_curve_)
        assert [e["accuracy"] for e in hist_g.epochs] == [e["accuracy"] for e in hist_r.epochs]


def test_a_module_is_copied_for_every_seed_and_left_untouched():
    base = _make_net(0)
    before = _state(base)
    got = train_seeds(base, NParity(n=2, random_state=0), [1, 2], **KW)
    for k, v in _state(base).items():
        np.testing.assert_array_equal(v, before[k])
    ref = train_task(_make_net(0), NParity(n=2, random_state=0), random_state=2, **KW)
    np.testing.assert_array_equal(got[1][1].loss_curve_, ref.loss_curve_)
    assert got[0][0] is not got[1][0] and got[0][0] is not base


def test_train_seeds_bad_arguments_name_the_argument():
    task = NParity(n=2, random_state=0)
    with pytest.raises(ValueError, match=r"seeds\[1\]"):
        train_seeds(_make_net, task, [0, -1], **KW)
    with pytest.raises(ValueError, match="seeds is empty"):
        train_seeds(_make_net, task, [], **KW)
    with pytest.raises(TypeError, match="seeds must be a sequence"):
        train_seeds(_make_net, task, 3, **KW)
    with pytest.raises(TypeError, match="random_state"):
        train_seeds(_make_net, task, [0], random_state=1, **KW)
    with pytest.raises(ValueError, match="method must be one of"):
        train_seeds(_make_net, task, [0], method="nope", **KW)
    with pytest.raises(TypeError, match="make_net must be a callable"):
        train_seeds(5, task, [0], **KW)
    with pytest.raises(ValueError, match="n_jobs must be None"):
        train_seeds(_make_net, task, [0], n_jobs=0, **KW)
    # an error inside one seed's training names the seed's position and keeps its type
    with pytest.raises(ValueError, match=r"seed 0: .*batch_size"):
        train_seeds(_make_net, task, [0], n_steps=2, batch_size=0)
    with pytest.raises(TypeError, match=r"seed 1: make_net\(seed\) must return a torch.nn.Module"):
        train_seeds(lambda s: _make_net(s) if s == 0 else torch.zeros(1), task, [0, 1], **KW)
