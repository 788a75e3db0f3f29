"""State matching and recovery scores for switching models."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["align_states", "state_accuracy", "adjacency_classes"]


def _flat_states(states) -> np.ndarray:
    if isinstance(states, (list, tuple)):
        return np.concatenate([np.asarray(s).ravel() for s in states])
    return np.asarray(states).ravel()


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
    ref = _flat_states(reference).astype(int)
    est = _flat_states(states).astype(int)
    if ref.shape != est.shape:
        raise ValueError(f"reference and states must have the same number of bins; got "
                         f"{ref.shape[0]} and {est.shape[0]}")
    keep = (ref >= 0) & (est >= 0)
    ref, est = ref[keep], est[keep]
    if n_states is None:
        n_states = int(max(ref.max(initial=0), est.max(initial=0))) + 1
    confusion = np.zeros((n_states, n_states))
    np.add.at(confusion, (ref, est), 1.0)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    order = np.empty(n_states, dtype=int)
    order[rows] = cols
    return order


def state_accuracy(reference, states, n_states: int | None = None) -> float:
    """Fraction of bins whose state matches the reference after Hungarian matching."""
    order = align_states(reference, states, n_states)
    ref = _flat_states(reference).astype(int)
    est = _flat_states(states).astype(int)
    keep = (ref >= 0) & (est >= 0)
    relabel = np.argsort(order)
    return float(np.mean(relabel[est[keep]] == ref[keep]))


def adjacency_classes(coupling, threshold: float = 0.2) -> np.ndarray:
    """Three-class adjacency {-1, 0, +1}: sign of weights whose magnitude exceeds ``threshold``."""
    w = np.asarray(coupling)
    return (np.sign(w) * (np.abs(w) > threshold)).astype(int)
