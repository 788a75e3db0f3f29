"""Task generators against brute-force definitions (Khajehabdollahi et al. 2024, sec. 2)."""

import numpy as np
import pytest
import torch

from neurodyn.rnn import tasks


def _brute_parity(bits, n):
    m = len(bits)
    total = 0
    for i in range(m - n, m):
        total += int(bits[i])
    return total % 2


def _brute_dms(bits, n):
    m = len(bits)
    return int(bits[m - n] == bits[m - 1])


@pytest.mark.parametrize("klass,brute", [(tasks.NParity, _brute_parity),
                                         (tasks.NDelayedMatch, _brute_dms)])
def test_last_step_labels_match_brute_force(klass, brute):
    task = klass([2, 3, 7], random_state=0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        batch = task.sample(16, generator=gen)
        x = batch.inputs[..., 0].numpy()
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert batch.mask[-1].all() and not batch.mask[:-1].any()
        for b in range(16):
            for k, n in enumerate([2, 3, 7]):
                assert batch.targets[-1, b, k].item() == brute(x[:, b], n)


def test_sequence_length_range_is_paper_range():
    task = tasks.NParity([2, 5], random_state=0)
    gen = torch.Generator().manual_seed(0)
    lengths = {task.sample(2, generator=gen).n_timesteps for _ in range(400)}
    # M ~ randint(N_max + 2, 4 N_max + 2), upper bound exclusive: {7, ..., 21}
    assert lengths == set(range(7, 22))


def test_parity_rate_is_uniform_per_sequence_and_dms_balanced():
    gen = torch.Generator().manual_seed(0)
    batch = tasks.NParity(3, seq_len=2000, random_state=0).sample(64, generator=gen)
    p = batch.info["p"].numpy()
    mean_bits = batch.inputs[..., 0].mean(0).numpy()
    np.testing.assert_allclose(mean_bits, p, atol=0.05)    # Bernoulli(p) per sequence
    assert p.min() < 0.2 and p.max() > 0.8                  # p spread over U(0, 1)
    dms = tasks.NDelayedMatch(3, seq_len=2000, random_state=0).sample(64, generator=gen)
    assert abs(dms.inputs.mean().item() - 0.5) < 0.01


@pytest.mark.parametrize("kind,brute", [("parity", _brute_parity), ("dms", _brute_dms)])
def test_stream_labels_match_brute_force(kind, brute):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(50, 3)).astype(np.float32)
    lab = tasks.stream_labels(torch.from_numpy(x), 4, kind).numpy()
    for b in range(3):
        assert (lab[:3, b] == -1).all()
        for t in range(3, 50):
            assert lab[t, b] == brute(x[: t + 1, b], 4)


def test_same_seed_same_batches():
    a = tasks.NParity(4, random_state=3).sample(8)
    b = tasks.NParity(4, random_state=3).sample(8)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


def test_perceptual_decision_structure():
    task = tasks.PerceptualDecision(noise_std=0.0, random_state=0)
    batch = task.sample(32)
    x, y = batch.inputs.numpy(), batch.targets[..., 0].numpy()
    assert x.shape == (8, 32, 3)
    assert (x[:7, :, 0] == 1).all() and (x[7:, :, 0] == 0).all()
    assert (y[:7] == 0).all()
    choice = batch.info["choice"].numpy()
    # the correct side has at least as much evidence (strictly more for coherence > 0)
    ev = x[:7, np.arange(32), 1 + choice] - x[:7, np.arange(32), 2 - choice]
    assert (ev >= 0).all()
    np.testing.assert_array_equal(y[7], 1 + choice)


def test_bad_task_arguments():
    with pytest.raises(ValueError, match="n must be >= 1"):
        tasks.NParity(0)
    with pytest.raises(ValueError, match="rate must be"):
        tasks.NParity(2, rate=1.5)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        tasks.NParity(2).sample(0)
    with pytest.raises(ValueError, match="seq_len must be at least"):
        tasks.NParity(5, seq_len=3).sample(2)
