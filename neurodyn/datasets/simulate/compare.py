"""Ground truth for model-versus-brain comparison: brain regions driven by known model layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._torch import check_random_state
from ..._validation import check_allocation, check_positive_int, check_scalar

__all__ = ["simulate_layers_and_regions"]


def simulate_layers_and_regions(n_conditions: int = 120, n_layers: int = 5, layer_width: int = 64,
                                n_stimulus_features: int = 16, region_layers: Any = (0, 2, 4),
                                voxels_per_region: int = 150, n_repeats: int = 4,
                                noise_sd: float = 1.0, random_state: Any = None) -> dict:
    """A random deep network ("model") and brain regions that are noisy linear read-outs of its layers.

    Stimuli ``s`` (``n_conditions x n_stimulus_features``, Gaussian) pass
    through ``n_layers`` random ReLU layers, ``h_0 = relu(s W_0)``,
    ``h_l = relu(h_{l-1} W_l)`` (weights ``N(0, 2 / fan_in)``, so the layers'
    geometries drift apart with depth). Region ``r`` responds as
    ``y = h_{L_r} A_r`` plus independent Gaussian noise on every repeat, with
    ``A_r ~ N(0, 1 / width)``; its signal is scaled to unit variance per voxel,
    so ``noise_sd`` sets the per-repeat noise relative to signal.

    Parameters
    ----------
    n_conditions, n_layers, layer_width, n_stimulus_features : int
    region_layers : sequence of int
        The layer driving each region (the ground truth to recover).
    voxels_per_region, n_repeats : int
    noise_sd : float
        Per-repeat noise standard deviation (signal variance 1 per voxel).
    random_state : None, int or Generator

    Returns
    -------
    dict
        ``"layers"``: {"layer0": (n_conditions, width), ...};
        ``"regions"``: {"region0": (n_conditions, voxels)} repeat means;
        ``"repeats"``: {"region0": (n_repeats, n_conditions, voxels)};
        ``"signal"``: noiseless region responses; ``"true_layer"``: {"region0": "layer0", ...};
        ``"reliability"``: the expected reliability of the repeat mean,
        ``1 / (1 + noise_sd^2 / n_repeats)``.
    """
    n_conditions = check_positive_int(n_conditions, "n_conditions", minimum=4)
    n_layers = check_positive_int(n_layers, "n_layers")
    layer_width = check_positive_int(layer_width, "layer_width")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    n_stimulus_features = check_positive_int(n_stimulus_features, "n_stimulus_features")
    voxels_per_region = check_positive_int(voxels_per_region, "voxels_per_region")
    if isinstance(region_layers, (int, np.integer)):
        region_layers = [region_layers]
    try:
        region_layers = [check_positive_int(v, "region_layers", minimum=0) for v in region_layers]
    except TypeError as exc:
        raise TypeError(f"region_layers must be a sequence of layer indices; got {region_layers!r}") from exc
    if not region_layers:
        raise ValueError("region_layers is empty; give the layer driving each region")
    for v in region_layers:
        if not 0 <= v < n_layers:
            raise ValueError(f"region_layers must index layers 0..{n_layers - 1}; got {v}")
    noise_sd = check_scalar(noise_sd, "noise_sd", low=0.0)
    check_allocation(float(n_conditions) * (n_layers * layer_width + len(region_layers) * voxels_per_region
                                            * (n_repeats + 2)),
                     "n_conditions, layer_width, voxels_per_region and n_repeats", what="layers and regions")
    rng = check_random_state(random_state)
    s = rng.standard_normal((n_conditions, n_stimulus_features))
    layers = {}
    h = s
    for layer in range(n_layers):
        W = rng.standard_normal((h.shape[1], layer_width)) * np.sqrt(2.0 / h.shape[1])
        h = np.maximum(h @ W, 0.0)
        layers[f"layer{layer}"] = h
    regions, repeats, signal, truth = {}, {}, {}, {}
    for r, layer in enumerate(region_layers):
        name = f"region{r}"
        A = rng.standard_normal((layer_width, voxels_per_region)) / np.sqrt(layer_width)
        sig = layers[f"layer{layer}"] @ A
        sig = (sig - sig.mean(0)) / np.where(sig.std(0) > 0, sig.std(0), 1.0)
        reps = sig[None] + noise_sd * rng.standard_normal((n_repeats, n_conditions, voxels_per_region))
        signal[name], repeats[name], regions[name] = sig, reps, reps.mean(0)
        truth[name] = f"layer{layer}"
    return {"layers": layers, "regions": regions, "repeats": repeats, "signal": signal,
            "true_layer": truth, "reliability": 1.0 / (1.0 + noise_sd ** 2 / n_repeats)}
