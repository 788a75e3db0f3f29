"""Simulators for neurodyn.graph: cohorts of resting-state series with a planted class difference."""

from __future__ import annotations

import numpy as np

from ..._torch import check_random_state
from ..._validation import check_allocation, check_positive_int, check_scalar

__all__ = ["fmri_cohort"]


def fmri_cohort(n_subjects=40, n_nodes=120, n_timepoints=200, *, n_signal_nodes=12,
                effect=1.0, n_factors=6, factor_scale=0.5, n_sites=1, site_effect=0.0,
                random_state=None) -> dict:
    """Resting-state-like series of a labelled cohort with a known discriminative node set.

    Every subject's nodes share ``n_factors`` latent time courses through loadings
    that are common to the cohort (plus a small subject-specific jitter), which
    gives a realistic, heterogeneous correlation structure; each node adds
    independent unit-variance noise. In subjects of class 1 the ``signal_nodes``
    additionally share one extra time course of amplitude ``effect``, which
    raises their mutual correlations and hence their degree and triangle counts.
    Each site adds a global signal of amplitude ``site_effect`` to all its
    subjects' nodes (a site confound that is independent of the class).

    Parameters
    ----------
    n_subjects : int, default 40
        Half in each class (class 1 gets the extra subject when odd), balanced
        across sites.
    n_nodes : int, default 120
    n_timepoints : int, default 200
    n_signal_nodes : int, default 12
    effect : float >= 0, default 1.0
        Amplitude of the shared component of class-1 signal nodes (noise sd 1).
    n_factors : int, default 6
    factor_scale : float >= 0, default 0.5
        Scale of the cohort loadings on the latent factors.
    n_sites : int, default 1
    site_effect : float >= 0, default 0.0
    random_state : int, Generator or None

    Returns
    -------
    dict with keys
        ``timeseries`` (list of ``(n_timepoints, n_nodes)`` float64 arrays),
        ``y`` (int array, 1 = class with the planted component), ``sites`` (int
        array), ``signal_nodes`` (int array), ``signal_mask`` (bool, n_nodes).

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
    """
    n_subjects = check_positive_int(n_subjects, "n_subjects", minimum=2)
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=3)
    n_timepoints = check_positive_int(n_timepoints, "n_timepoints", minimum=3)
    n_signal_nodes = check_positive_int(n_signal_nodes, "n_signal_nodes", minimum=0)
    n_factors = check_positive_int(n_factors, "n_factors", minimum=0)
    n_sites = check_positive_int(n_sites, "n_sites")
    if n_signal_nodes > n_nodes:
        raise ValueError(f"n_signal_nodes must be <= n_nodes ({n_nodes}); got {n_signal_nodes}")
    for name, value in (("effect", effect), ("factor_scale", factor_scale), ("site_effect", site_effect)):
        check_scalar(value, name, low=0.0)
    check_allocation(float(n_subjects) * n_timepoints * n_nodes, "n_subjects * n_timepoints * n_nodes",
                     what="simulated series")
    rng = check_random_state(random_state)
    signal_nodes = np.sort(rng.choice(n_nodes, size=n_signal_nodes, replace=False))
    signal_mask = np.zeros(n_nodes, dtype=bool)
    signal_mask[signal_nodes] = True
    loadings = factor_scale * rng.standard_normal((n_factors, n_nodes))

    y = np.zeros(n_subjects, dtype=int)
    y[n_subjects // 2:] = 1
    sites = np.empty(n_subjects, dtype=int)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        sites[idx] = np.arange(idx.size) % n_sites
    order = rng.permutation(n_subjects)
    y, sites = y[order], sites[order]
    site_loadings = rng.uniform(0.5, 1.5, size=(n_sites, n_nodes))

    series = []
    for s in range(n_subjects):
        subject_loadings = loadings + 0.1 * factor_scale * rng.standard_normal(loadings.shape)
        latent = rng.standard_normal((n_timepoints, n_factors))
        X = latent @ subject_loadings + rng.standard_normal((n_timepoints, n_nodes))
        if site_effect > 0:
            X += site_effect * rng.standard_normal((n_timepoints, 1)) * site_loadings[sites[s]]
        if y[s] == 1 and n_signal_nodes:
            X[:, signal_nodes] += effect * rng.standard_normal((n_timepoints, 1))
        series.append(X)
    return {"timeseries": series, "y": y, "sites": sites, "signal_nodes": signal_nodes,
            "signal_mask": signal_mask}
