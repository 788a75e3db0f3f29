"""Curricula and training loop: schedule logic, learning a small N, determinism, errors."""

import numpy as np
import pytest
import torch

from neurodyn.rnn import LeakyRNN, NParity, PerceptualDecision, train_curriculum, train_task
from neurodyn.rnn.training import _next_ns, task_loss, training_preset


def test_curriculum_schedules():
    assert _next_ns([2], "multi-head", 1) == [2, 3]
    assert _next_ns([2, 3, 4], "multi-head", 1) == [2, 3, 4, 5]
    assert _next_ns([5], "single-head", 1) == [6]
    assert _next_ns([2, 3, 4], "sliding", 2) == [4, 5, 6]
    assert _next_ns([2], "sliding", 1) == [3]


def _manual_accuracy(net, n, seed):
    task = NParity(n, random_state=seed)
    correct = total = 0
    for _ in range(4):
        batch = task.sample(128)
        states, _ = net(batch.inputs)
        pred = net.readout(states[-1], 0).argmax(-1).numpy()
        x = batch.inputs[..., 0].numpy().astype(int)
        labels = x[-n:].sum(0) % 2                     # brute-force parity of the last n bits
        correct += (pred == labels).sum()
        total += labels.size
    return correct / total


def test_multi_head_curriculum_solves_n2_and_keeps_checkpoint():
    torch.set_num_threads(1)
    net = LeakyRNN(n_units=24, n_heads=3, random_state=0)
    hist = train_curriculum(net, NParity, "multi-head", n_max=2, steps_per_epoch=60, batch_size=64,
                            test_batches=4, max_epochs=8, loss_reduction="sum", random_state=0)
    assert hist.converged_ and hist.max_n_ == 2 and 2 in hist.solved_
    assert hist.n_iter_ == len(hist.loss_curve_) == hist.epochs[-1]["steps"]
    fresh = LeakyRNN(n_units=24, n_heads=3, random_state=7)
    fresh.load_state_dict(hist.checkpoints_[2])
    with torch.no_grad():
        assert _manual_accuracy(fresh, 2, seed=11) > 0.95
    assert np.all(np.isfinite(hist.tau_mean_)) and hist.epochs_per_n()[2] == hist.solved_[2][0]


def test_training_is_deterministic_per_seed():
    runs = []
    for _ in range(2):
        net = LeakyRNN(n_units=8, n_heads=2, h0="paper", random_state=3)
        hist = train_curriculum(net, NParity, "single-head", steps_per_epoch=5, batch_size=8,
                                test_batches=1, max_epochs=2, random_state=4)
        runs.append((hist.loss_curve_, net.tau_))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_budget_stops_training():
    net = LeakyRNN(n_units=8, n_heads=2, random_state=0)
    hist = train_curriculum(net, NParity, "multi-head", steps_per_epoch=50, batch_size=8,
                            test_batches=1, max_steps=7, random_state=0)
    assert hist.n_iter_ == 7 and hist.stop_reason_ == "budget exhausted"


def test_sum_reduction_is_head_count_times_mean():
    net = LeakyRNN(n_units=8, n_heads=3, random_state=0)
    batch = NParity([2, 3, 4], random_state=0).sample(16)
    mean, _ = task_loss(net, batch, [0, 1, 2], "mean")
    total, _ = task_loss(net, batch, [0, 1, 2], "sum")
    assert torch.allclose(total, 3 * mean)


def test_train_task_learns_perceptual_decision():
    net = LeakyRNN.from_preset("paper_b", n_units=32, random_state=0)
    hist = train_task(net, PerceptualDecision(random_state=0), n_steps=150, lr=0.05, random_state=0)
    assert hist.loss_curve_[-20:].mean() < 0.5 * hist.loss_curve_[:5].mean()


def test_bad_training_arguments():
    net = LeakyRNN(n_units=4, random_state=0)
    with pytest.raises(ValueError, match="curriculum must be one of"):
        train_curriculum(net, NParity, "random")
    with pytest.raises(ValueError, match="threshold must be a fraction"):
        train_curriculum(net, NParity, threshold=98)
    with pytest.raises(ValueError, match="n_max must be >= n_start"):
        train_curriculum(net, NParity, n_start=3, n_max=2)
    with pytest.raises(ValueError, match="name must be one of"):
        training_preset("paper_c")
    assert training_preset("paper_a")["loss_reduction"] == "sum"
