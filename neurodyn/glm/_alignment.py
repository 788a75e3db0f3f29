"""State matching and recovery scores for switching models."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_positive_int,
    check_scalar,
)

__all__ = ["align_states", "state_accuracy", "adjacency_classes"]


def _state_labels(x, name) -> np.ndarray:
    arr = check_array(x, name, dtype=None)
    if arr.dtype.kind not in "iub":
        check_finite(arr, name)
        if not (arr == np.round(arr)).all():
            raise ValueError(f"{name} must hold integer state labels; got non-integer values "
                             f"such as {arr[arr != np.round(arr)].ravel()[0]:g}")
        if np.abs(arr).max() >= 2.0 ** 62:  # would wrap around in the cast to int64
            raise ValueError(f"{name} must hold state labels (small integers); got values up to "
                             f"{np.abs(arr).max():.3g}")
    return arr.astype(np.int64).ravel()


def _flat_states(states, name="states") -> np.ndarray:
    """State labels of every bin, one flat int array (a list of trials is concatenated)."""
    if isinstance(states, (list, tuple)) and len(states) and all(np.ndim(s) >= 1 for s in states):
        return np.concatenate([_state_labels(s, f"{name}[{i}]") for i, s in enumerate(states)])
    return _state_labels(states, name)


def _paired_labels(reference, states, n_states):
    ref = _flat_states(reference, "reference")
    est = _flat_states(states, "states")
    if ref.shape != est.shape:
        raise ValueError(f"reference and states must have the same number of bins; got "
                         f"{ref.shape[0]} and {est.shape[0]}")
    keep = (ref >= 0) & (est >= 0)
    if not keep.any():
        raise ValueError("reference and states have no bin where both are valid (>= 0); "
                         "negative labels mark padding")
    ref, est = ref[keep], est[keep]
    biggest = int(max(ref.max(), est.max())) + 1
    if n_states is None:
        n_states = biggest
    else:
        n_states = check_positive_int(n_states, "n_states")
        if n_states < biggest:
            raise ValueError(f"n_states={n_states} is too small for state label {biggest - 1} "
                             f"(labels must be in range(n_states))")
    check_allocation(float(n_states) ** 2, "n_states (the largest state label)",
                     what="confusion matrix")
    return ref, est, n_states


def align_states(reference, states, n_states: int | None = None) -> np.ndarray:
    """Permutation of model states that best matches reference labels (Hungarian).

    Parameters
    ----------
    reference : array-like of int
        Reference (e.g. true) state per bin; negative values (padding) are ignored.
    states : array-like of int
        Model state per bin, same shape.
    n_states : int, optional
        Number of states (default: the largest label + 1 in either input).

    Returns
    -------
    order : ndarray of shape (n_states,)
        ``order[k]`` is the model state matched to reference state ``k``; reorder
        model parameters with ``param[order]`` and relabel decoded states with
        ``np.argsort(order)[states]``.

    References
    ----------
    H. W. Kuhn. The Hungarian method for the assignment problem. Naval Research
    Logistics Quarterly 2, 83-97 (1955).
    """
    ref, est, n_states = _paired_labels(reference, states, n_states)
    return _hungarian(ref, est, n_states)


def _hungarian(ref, est, n_states):
    confusion = np.zeros((n_states, n_states))
    np.add.at(confusion, (ref, est), 1.0)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    order = np.empty(n_states, dtype=int)
    order[rows] = cols
    return order


def state_accuracy(reference, states, n_states: int | None = None) -> float:
    """Fraction of bins whose state matches the reference after Hungarian matching."""
    ref, est, n_states = _paired_labels(reference, states, n_states)
    relabel = np.argsort(_hungarian(ref, est, n_states))
    return float(np.mean(relabel[est] == ref))


def adjacency_classes(coupling, threshold: float = 0.2) -> np.ndarray:
    """Three-class adjacency {-1, 0, +1}: sign of weights whose magnitude exceeds ``threshold``.

    Parameters
    ----------
    coupling : array-like of real numbers, any shape, finite
    threshold : float
        Non-negative magnitude below which (or at which) a weight counts as absent.
    """
    w = check_array(coupling, "coupling")
    check_finite(w, "coupling")
    threshold = check_scalar(threshold, "threshold", low=0.0)
    return (np.sign(w) * (np.abs(w) > threshold)).astype(int)
