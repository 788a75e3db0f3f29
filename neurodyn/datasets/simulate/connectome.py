"""Simulators for neurodyn.connectome: planted dynamic communities.

Calcium-like traces of ``n_neurons`` identified neurons in ``n_animals`` animals,
returned as ``(n_animals, n_timepoints, n_neurons)``.
Each planted community shares a common slow driver, but only inside its active
time window and only in its subset of animals; everywhere else every neuron
follows its own private signal. The ground truth is therefore a set of
(neuron group, time window, animal subset) triples, which is what a rank-R
non-negative CP of the affinity tensor should recover (plus one flat
"background" component).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..._torch import check_random_state
from ..._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_positive_int,
    check_probability,
    check_scalar,
)

__all__ = ["dynamic_connectome", "planted_connectome_factors"]


def _ar1(rng: np.random.Generator, n: int, n_time: int, a: float) -> np.ndarray:
    """Unit-variance AR(1) signals, (n, n_time); innovations drawn before x_0."""
    eps = rng.standard_normal((n, n_time))
    x = np.empty((n, n_time))
    x[:, 0] = rng.standard_normal(n)
    scale = np.sqrt(1.0 - a * a)
    for t in range(1, n_time):  # a linear recurrence of a few thousand steps; cheap
        x[:, t] = a * x[:, t - 1] + scale * eps[:, t]
    return x


def dynamic_connectome(n_animals: int = 6, n_neurons: int = 60, n_timepoints: int = 1600, *,
                       fs: float = 4.0,
                       community_sizes: Sequence[int] = (12, 12, 10),
                       windows: Sequence[Sequence[int]] = ((200, 600), (700, 1100), (1200, 1500)),
                       animals: Sequence[Sequence[int]] | None = None,
                       rho: float = 0.8, noise: float = 0.3, tau: float = 3.0,
                       random_state: Any = 0) -> dict:
    """Traces with planted communities active in planted windows and animal subsets.

    For each animal: private AR(1) signals ``u_i`` (time constant ``tau`` s); for
    each community active in that animal a shared AR(1) driver ``z_c``; a mixing
    weight ``m_i(t) = rho`` inside the community's window (Gaussian-smoothed,
    sigma 0.5 s) and 0 elsewhere; latent ``l = sqrt(m) z_c + sqrt(1 - m) u``;
    trace ``softplus(1.5 l) + noise * N(0, 1)``. With the defaults and
    ``random_state=0`` this is the generator of the shared
    ``synthetic_dynamic_connectome`` fixture.

    Parameters
    ----------
    n_animals, n_neurons, n_timepoints : int
    fs : float
        Sampling rate (Hz).
    community_sizes : sequence of int
        Communities are consecutive neuron blocks from neuron 0; the rest is
        background.
    windows : sequence of (t0, t1)
        Active interval ``[t0, t1)`` of each community, in samples.
    animals : sequence of sequences of int, optional
        Animals in which each community is active; default for 6 animals and
        3 communities: {0,1,2,3}, {2,3,4,5}, {0,1,4,5}; otherwise all animals.
    rho : float in [0, 1]
        Share of variance from the common driver inside the window.
    noise : float
        Standard deviation of the additive observation noise.
    tau : float
        AR(1) time constant in seconds.
    random_state : int, Generator or None

    Returns
    -------
    dict with ``traces`` (n_animals, n_timepoints, n_neurons) (the package
    layout; before this release it was (n_animals, n_neurons, n_timepoints)),
    ``membership`` (n_neurons,) community index or -1, ``windows`` (C, 2),
    ``animals`` (C, n_animals) bool, ``fs``.
    """
    n_animals = check_positive_int(n_animals, "n_animals")
    n_neurons = check_positive_int(n_neurons, "n_neurons", minimum=2)
    n_timepoints = check_positive_int(n_timepoints, "n_timepoints", minimum=3)
    # the traces, plus four working arrays of one animal's size
    check_allocation(float(n_animals) * n_neurons * n_timepoints + 4.0 * n_neurons * n_timepoints,
                     "n_animals, n_neurons and n_timepoints", what="simulated traces")
    sizes = [check_positive_int(s, "community_sizes") for s in community_sizes]
    if sum(sizes) > n_neurons:
        raise ValueError(f"community_sizes sum to {sum(sizes)} > n_neurons={n_neurons}")
    win = np.asarray(windows, dtype=int).reshape(-1, 2)
    if win.shape[0] != len(sizes):
        raise ValueError(f"windows must give one (t0, t1) per community ({len(sizes)}); got {win.shape[0]}")
    if (win[:, 0] < 0).any() or (win[:, 1] > n_timepoints).any() or (win[:, 0] >= win[:, 1]).any():
        raise ValueError(f"windows must satisfy 0 <= t0 < t1 <= n_timepoints; got {win.tolist()}")
    rho = check_probability(rho, "rho")
    fs = check_scalar(fs, "fs", low=0.0, low_inclusive=False)
    tau = check_scalar(tau, "tau", low=0.0, low_inclusive=False)
    noise = check_scalar(noise, "noise", low=0.0)
    for name, value in (("fs", fs), ("tau", tau), ("noise", noise)):
        if np.isinf(value):
            raise ValueError(f"{name} must be finite; got inf")
    if animals is None:
        if n_animals == 6 and len(sizes) == 3:
            animals = ((0, 1, 2, 3), (2, 3, 4, 5), (0, 1, 4, 5))
        else:
            animals = [tuple(range(n_animals))] * len(sizes)
    if len(animals) != len(sizes):
        raise ValueError(f"animals must give one subset per community ({len(sizes)}); got {len(animals)}")
    in_animal = np.zeros((len(sizes), n_animals), dtype=bool)
    for c, subset in enumerate(animals):
        idx = [check_scalar(a, f"animals[{c}]", low=0, high=n_animals - 1, integer=True) for a in subset]
        in_animal[c, idx] = True
    membership = np.full(n_neurons, -1, dtype=int)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for c in range(len(sizes)):
        membership[bounds[c]:bounds[c + 1]] = c

    rng = check_random_state(random_state)
    a = float(np.exp(-1.0 / (tau * fs)))
    traces = np.empty((n_animals, n_neurons, n_timepoints))
    for w in range(n_animals):
        private = _ar1(rng, n_neurons, n_timepoints, a)
        mix = np.zeros((n_neurons, n_timepoints))
        driver = np.zeros((n_neurons, n_timepoints))
        for c in range(len(sizes)):
            if not in_animal[c, w]:
                continue
            z = _ar1(rng, 1, n_timepoints, a)[0]
            members = membership == c
            mix[members, win[c, 0]:win[c, 1]] = rho
            driver[members] = z
        mix = gaussian_filter1d(mix, 2.0 * fs / 4.0, axis=1)
        latent = np.sqrt(mix) * driver + np.sqrt(1.0 - mix) * private
        traces[w] = np.logaddexp(0.0, 1.5 * latent) + noise * rng.standard_normal((n_neurons, n_timepoints))
    # generated neuron-major (the draws keep the fixture's order), returned time-major
    traces = np.ascontiguousarray(np.swapaxes(traces, 1, 2))
    return {"traces": traces, "membership": membership, "windows": win,
            "animals": in_animal, "fs": float(fs)}


def planted_connectome_factors(membership: Any, windows: Any, animals: Any, n_timepoints: int,
                               window: int = 40, step: int = 20) -> list[np.ndarray]:
    """Ground-truth CP factors of planted communities (one column per community).

    Pair factor: 1 when both neurons are in the community (``np.triu_indices``
    order); time factor: the fraction of analysis window ``k`` that overlaps the
    active interval; animal factor: 1 in the community's animals.

    Parameters
    ----------
    membership : array-like of int, shape (N,)
        Community of each neuron (0 ... C-1), -1 for none.
    windows : array-like, shape (C, 2)
        Active interval ``[t0, t1)`` of each community, in samples.
    animals : array-like of bool or 0/1, shape (C, W)
        Animals in which each community is active.
    n_timepoints, window, step : int
        Recording length and the analysis windows (``1 <= window <= n_timepoints``).

    Returns
    -------
    [pairs (P, C), windows (K, C), animals (W, C)]
    """
    n_timepoints = check_positive_int(n_timepoints, "n_timepoints")
    window = check_scalar(window, "window", low=1, high=n_timepoints, integer=True)
    step = check_positive_int(step, "step")
    membership = check_array(membership, "membership", ndim=1, dims="(n_neurons,)", dtype=None)
    if membership.dtype.kind == "f":
        check_finite(membership, "membership")
    if membership.dtype.kind not in "iuf" or not np.all(membership == np.round(membership)):
        raise ValueError("membership must hold integer community labels (-1 for none)")
    if membership.size < 2:
        raise ValueError(f"membership needs at least 2 neurons; got {membership.size}")
    win = check_array(windows, "windows", ndim=(1, 2), dims="(n_communities, 2)")
    check_finite(win, "windows")
    win = win.reshape(-1, 2)
    anim = check_array(animals, "animals", ndim=2, dims="(n_communities, n_animals)")
    check_finite(anim, "animals")
    if not np.isin(anim, (0, 1)).all():
        raise ValueError("animals must be boolean (or 0/1), one row per community")
    anim = anim.astype(bool)
    n_pairs = membership.size * (membership.size - 1) // 2
    check_allocation(float(n_pairs) * (win.shape[0] + 2), "membership", what="pair factor")
    if anim.shape[0] != win.shape[0]:
        raise ValueError(f"animals must have one row per community in windows ({win.shape[0]}); "
                         f"got shape {anim.shape}")
    rows, cols = np.triu_indices(membership.size, 1)
    starts = np.arange((n_timepoints - window) // step + 1) * step
    pair_f, time_f = [], []
    for c in range(win.shape[0]):
        pair_f.append(((membership[rows] == c) & (membership[cols] == c)).astype(float))
        overlap = np.minimum(starts + window, win[c, 1]) - np.maximum(starts, win[c, 0])
        time_f.append(np.clip(overlap, 0, None) / window)
    return [np.array(pair_f).T, np.array(time_f).T, anim.T.astype(float)]
