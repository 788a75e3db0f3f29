import itertools

import numpy as np
import pytest

from neurodyn.glm import adjacency_classes, align_states, state_accuracy


def test_align_states_matches_the_best_permutation_by_enumeration():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 4, size=300)
    perm = np.array([2, 0, 3, 1])
    est = perm[ref]
    noisy = rng.random(300) < 0.3
    est[noisy] = rng.integers(0, 4, size=int(noisy.sum()))
    order = align_states(ref, est)
    best = max(itertools.permutations(range(4)),
               key=lambda p: np.sum(np.argsort(p)[est] == ref))
    np.testing.assert_array_equal(order, best)
    assert state_accuracy(ref, est) == pytest.approx(np.mean(np.argsort(best)[est] == ref))


def test_padding_labels_are_ignored_and_trial_lists_are_flattened():
    ref = [np.array([0, 0, 1, 1]), np.array([1, 0, -1, -1])]
    est = [np.array([1, 1, 0, 0]), np.array([0, 1, -1, -1])]
    np.testing.assert_array_equal(align_states(ref, est), [1, 0])
    assert state_accuracy(ref, est) == 1.0


@pytest.mark.parametrize("fn", [align_states, state_accuracy])
@pytest.mark.parametrize("ref,est,kw,exc,match", [
    ([0, 1, np.nan], [0, 1, 1], {}, ValueError, "reference must be finite"),
    ([0, 1, 2], [0, 1, "a"], {}, TypeError, "states must be a numeric array"),
    ([0, 1.5], [0, 1], {}, ValueError, "reference must hold integer state labels"),
    ([0, 1, 1], [0, 1], {}, ValueError, "same number of bins; got 3 and 2"),
    ([-1, -1], [0, 1], {}, ValueError, "no bin where both are valid"),
    ([0, 1, 3], [0, 1, 1], {"n_states": 2}, ValueError, "n_states=2 is too small for state label 3"),
    ([0, 1], [0, 1], {"n_states": 0}, ValueError, "n_states must be >= 1"),
    ([], [], {}, ValueError, "reference is empty"),
    ([0, 1], [0, 1j], {}, TypeError, "states must be real-valued"),
    ([0, 10 ** 12], [0, 1], {}, MemoryError, "n_states"),
])
def test_bad_state_labels_are_named(fn, ref, est, kw, exc, match):
    with pytest.raises(exc, match=match):
        fn(ref, est, **kw)


def test_adjacency_classes_against_a_loop_and_bad_input():
    w = np.array([[-0.5, 0.1], [0.2, 0.35]])
    ref = [[(-1 if x < -0.2 else 1 if x > 0.2 else 0) for x in row] for row in w]
    np.testing.assert_array_equal(adjacency_classes(w, 0.2), ref)
    with pytest.raises(ValueError, match="coupling must be finite"):
        adjacency_classes(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"threshold must be in \[0, inf\)"):
        adjacency_classes(w, threshold=-1)
    with pytest.raises(TypeError, match="coupling must be real-valued"):
        adjacency_classes(w + 1j)


def test_labels_beyond_int64_are_refused_not_wrapped():
    with pytest.raises(ValueError, match="reference must hold state labels"):
        align_states([0.0, 1e300], [0, 1])
