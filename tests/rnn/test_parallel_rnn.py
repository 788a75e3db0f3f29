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


# ------------------------------------------------------------------ memory: crash and resume

def _logged_net(log_dir, crash_seed=None):
    """make_net that logs every network it builds, and fails once at ``crash_seed``."""
    import os
    import uuid

    def make_net(seed):
        marker = os.path.join(log_dir, "crashed")
        if seed == crash_seed and not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("simulated crash")
        open(os.path.join(log_dir, f"built-{seed}-{uuid.uuid4().hex}"), "w").close()
        return _make_net(seed)

    return make_net


def _built(log_dir):
    return sorted(int(p.name.split("-")[1]) for p in log_dir.iterdir() if p.name.startswith("built-"))


def test_cached_run_interrupted_then_resumed_retrains_only_the_missing_seeds(tmp_path):
    ref = _serial_loop(SEEDS)
    log = tmp_path / "log"
    log.mkdir()
    make_net = _logged_net(str(log), crash_seed=SEEDS[2])
    task = NParity(n=2, random_state=0)
    with pytest.raises(RuntimeError, match=r"^seed 2: simulated crash$"):
        train_seeds(make_net, task, SEEDS, memory=tmp_path / "cache", **KW)
    assert _built(log) == sorted(SEEDS[:2])
    with parallel_config(backend="loky"):  # resumed in other processes
        got = train_seeds(make_net, task, SEEDS, n_jobs=2, memory=str(tmp_path / "cache"), **KW)
    assert _built(log) == sorted(SEEDS)  # every seed trained exactly once over both runs
    for (net_r, hist_r), (net_g, hist_g) in zip(ref, got, strict=True):
        _assert_same_net(net_r, net_g)
        np.testing.assert_array_equal(hist_g.loss_curve_, hist_r.loss_curve_)
        np.testing.assert_array_equal(hist_g.accuracy_curve_, hist_r.accuracy_curve_)
    # other training arguments, or another task, are other entries: nothing stale is loaded
    longer = train_seeds(make_net, task, SEEDS[:1], memory=tmp_path / "cache", **{**KW, "n_steps": 7})
    assert len(longer[0][1].loss_curve_) == 7
    train_seeds(make_net, NParity(n=2, random_state=1), SEEDS[:1], memory=tmp_path / "cache", **KW)
    assert _built(log) == sorted(SEEDS + [SEEDS[0], SEEDS[0]])  # both trained, not loaded


@pytest.mark.slow
def test_cached_module_template_is_found_again_by_a_new_process(tmp_path):
    # a module's own pickle differs between processes; the cache key must not
    import subprocess
    import textwrap

    from neurodyn.rnn.training import _content_digest

    script = textwrap.dedent("""
        from neurodyn.rnn import LeakyRNN, NParity
        from neurodyn.rnn.training import _content_digest
        net = LeakyRNN(n_units=6, n_inputs=1, n_outputs=2, n_heads=2, random_state=3, device="cpu")
        print(_content_digest((net, NParity(n=2, random_state=0), "task", {"n_steps": 6})))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         timeout=120)
    here = _content_digest((_make_net(3), NParity(n=2, random_state=0), "task", {"n_steps": 6}))
    assert out.stdout.strip() == here
    assert _content_digest((_make_net(4), NParity(n=2, random_state=0), "task", {"n_steps": 6})) != here

    # and a module template trained through the cache is loaded, not retrained
    base = _make_net(0)
    first = train_seeds(base, NParity(n=2, random_state=0), [1, 2], memory=tmp_path, **KW)
    outputs = sorted(tmp_path.rglob("output.pkl"))
    stamps = [p.stat().st_mtime_ns for p in outputs]
    again = train_seeds(_make_net(0), NParity(n=2, random_state=0), [1, 2], memory=tmp_path, **KW)
    assert len(outputs) == 2 and [p.stat().st_mtime_ns for p in outputs] == stamps
    for (a, ha), (b, hb) in zip(first, again, strict=True):
        _assert_same_net(a, b)
        np.testing.assert_array_equal(ha.loss_curve_, hb.loss_curve_)


def test_train_seeds_memory_arguments_are_checked():
    import threading

    task = NParity(n=2, random_state=0)
    with pytest.raises(TypeError, match="memory must be None, a folder path or a joblib.Memory"):
        train_seeds(_make_net, task, [0], memory=3, **KW)
    with pytest.raises(TypeError, match="memory: make_net, task and the training arguments must be picklable"):
        train_seeds(_make_net, task, [0], memory="unused-cache", callback=threading.Lock(), **KW)
