"""Figures for every fitted neurodyn estimator, gathered in one namespace.

Each capability keeps its plot functions in ``neurodyn/<capability>/plotting.py``;
this module exposes them all lazily (importing it does not import torch-heavy
subpackages until a function is used)::

    from neurodyn import plotting
    plotting.plot_rdm(rdm)                 # neurodyn.rsa.plotting.plot_rdm
    plotting.plot_rank_sweep(sweep)        # neurodyn.connectome.plotting.plot_rank_sweep

Every function returns the matplotlib Figure or Axes it drew on.
"""

from __future__ import annotations

import importlib

_SOURCES = {
    "compare": ("plot_score_matrix", "plot_score_vs_time", "plot_encoding_scores", "plot_cka_matrix"),
    "connectome": ("plot_component", "plot_components", "plot_rank_sweep", "plot_community_graph"),
    "glm": ("plot_states", "plot_coupling", "plot_model_selection"),
    "graph": ("plot_feature_map", "plot_surface_feature_map", "plot_degree_triangles",
              "plot_mask_recovery", "plot_cv_report"),
    "rnn": ("plot_curriculum", "plot_tau_trend", "plot_tau_distribution", "plot_autocorrelation",
            "plot_retention", "plot_rich_lazy"),
    "rsa": ("plot_rdm", "plot_rdm_panels", "plot_model_comparison", "plot_lu_heatmap",
            "plot_confusion"),
}
_WHERE = {name: cap for cap, names in _SOURCES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'neurodyn.plotting' has no attribute {name!r}")
    module = importlib.import_module(f"neurodyn.{_WHERE[name]}.plotting")
    return getattr(module, name)


def __dir__():
    return __all__
