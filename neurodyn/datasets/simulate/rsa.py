"""Simulators for neurodyn.rsa: layer RDMs of random networks with known layer identity."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._torch import check_random_state
from ..._validation import (
    check_allocation,
    check_array,
    check_finite,
    check_positive_int,
    check_scalar,
)

__all__ = ["make_layer_rdms", "add_rdm_noise"]


def add_rdm_noise(rdms: Any, noise_level: float, random_state: Any = None) -> np.ndarray:
    """Gaussian noise on RDM entries, as in the tRSA simulations.

    ``d' = max(d + e, 0)`` with ``e ~ N(0, (noise_level / 10 * std(all RDMs))^2)``
    i.i.d. per entry; ``noise_level`` 0..4 spans the paper's conditions.
    """
    x = check_finite(check_array(rdms, "rdms", ndim=(1, 2, 3)), "rdms")
    noise_level = check_scalar(noise_level, "noise_level", low=0.0)
    if noise_level == 0:
        return x.copy()
    rng = check_random_state(random_state)
    scale = float(np.abs(x).max()) or 1.0  # std of x / scale cannot overflow at 1e300
    sd = noise_level / 10.0 * (x / scale).std() * scale
    return np.maximum(x + rng.normal(0.0, sd, size=x.shape), 0.0)


def make_layer_rdms(n_layers: int = 6, n_subjects: int = 8, n_stimuli: int = 62, n_inputs: int = 32,
                    width: int = 128, n_clusters: int = 6, seed_variability: float = 0.2,
                    noise_level: float = 0.0, random_state: Any = None) -> dict:
    """Correlation-distance RDMs of the layers of random ReLU networks.

    A fixed set of ``n_stimuli`` inputs (drawn around ``n_clusters`` centres, so the
    stimuli have a category structure) is passed through ``n_subjects`` random
    ReLU MLPs (He initialisation). As networks trained from different seeds
    share layer-specific features, each subject's weights mix a shared draw and
    a subject-specific draw: ``W_s = sqrt(1 - v^2) W_shared + v W_own`` with
    ``v = seed_variability`` (0: identical networks, 1: independent random nets).
    Each layer's RDM (1 - Pearson r between stimulus activation patterns) is a
    sample of a layer-specific representational geometry; the ground truth is the
    layer index. Noise on RDM entries follows :func:`add_rdm_noise`.

    Parameters
    ----------
    n_layers, n_subjects, n_stimuli, n_inputs, width, n_clusters : int
    seed_variability : float in [0, 1]
    noise_level : float
        0..4: noise SD in tenths of the standard deviation of all RDM entries.
    random_state : int, Generator or None

    Returns
    -------
    dict with ``rdms`` (n_subjects * n_layers, n_pairs), ``layers`` and ``subjects``
    (n_subjects * n_layers,) integer labels, ``inputs`` (n_stimuli, n_inputs) and
    ``clean_rdms`` (before noise).

    References
    ----------
    Lin, B. & Kriegeskorte, N. (2023). The topology and geometry of neural
    representations. arXiv:2309.11028 (simulation protocol: network layers x
    training seeds, Gaussian noise on RDM entries).
    """
    for name, val in (("n_layers", n_layers), ("n_subjects", n_subjects), ("n_inputs", n_inputs),
                      ("width", width), ("n_clusters", n_clusters)):
        check_positive_int(val, name)
    check_positive_int(n_stimuli, "n_stimuli", minimum=3)
    seed_variability = check_scalar(seed_variability, "seed_variability", low=0.0, high=1.0)
    noise_level = check_scalar(noise_level, "noise_level", low=0.0)
    if n_clusters > n_stimuli:
        raise ValueError(f"n_clusters must be at most n_stimuli={n_stimuli}; got {n_clusters}")
    check_allocation(float(n_subjects) * n_layers * n_stimuli * (n_stimuli - 1) + n_stimuli * (width + n_stimuli),
                     "n_subjects, n_layers, n_stimuli and width", what="layer RDMs")
    rng = check_random_state(random_state)
    centres = rng.normal(0, 1, (n_clusters, n_inputs))
    labels = rng.integers(0, n_clusters, n_stimuli)
    inputs = centres[labels] + 0.7 * rng.normal(0, 1, (n_stimuli, n_inputs))
    iu = np.triu_indices(n_stimuli, 1)
    fan_in = [n_inputs] + [width] * (n_layers - 1)
    shared_w = [rng.normal(0, np.sqrt(2.0 / f), (f, width)) for f in fan_in]
    shared_b = [rng.normal(0, 0.5, width) for _ in fan_in]
    a, v = np.sqrt(1.0 - seed_variability**2), seed_variability
    rdms, layers, subjects = [], [], []
    for s in range(n_subjects):
        h = inputs
        for layer in range(n_layers):
            w = a * shared_w[layer] + v * rng.normal(0, np.sqrt(2.0 / fan_in[layer]), (fan_in[layer], width))
            b = a * shared_b[layer] + v * rng.normal(0, 0.5, width)
            h = np.maximum(h @ w + b, 0.0)
            if np.any(np.ptp(h, axis=1) == 0):  # a stimulus silenced every unit: no correlation
                raise ValueError(f"layer {layer} of subject {s} maps a stimulus to a constant pattern "
                                 f"(all units silent); increase width (got {width}) or n_inputs")
            c = np.corrcoef(h)
            rdms.append(1.0 - c[iu])
            layers.append(layer)
            subjects.append(s)
    clean = np.asarray(rdms)
    noisy = add_rdm_noise(clean, noise_level, rng)
    return {"rdms": noisy, "clean_rdms": clean, "layers": np.asarray(layers),
            "subjects": np.asarray(subjects), "inputs": inputs}
