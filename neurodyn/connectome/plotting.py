"""Figures for :class:`~neurodyn.connectome.DynamicConnectome` (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from .communities import component_graph

__all__ = ["plot_component", "plot_components", "plot_rank_sweep", "plot_community_graph"]


def _community_order(labels: np.ndarray, motif: np.ndarray | None) -> np.ndarray:
    """Neurons sorted motif first, then by community label, then by index."""
    motif_key = np.zeros(labels.size) if motif is None else (~motif).astype(int)
    return np.lexsort((np.arange(labels.size), labels, motif_key))


def _window_times(dc, fs: float | None) -> tuple[np.ndarray, str]:
    starts = getattr(dc, "window_starts_", None)
    n_windows = dc.time_factors_.shape[0]
    if starts is None:
        return np.arange(n_windows), "window"
    centres = starts + (dc.window - 1) / 2.0
    if fs:
        return centres / fs, "time (s)"
    return centres, "time (samples)"


def plot_component(dc, component: int, *, schedule: Sequence[Sequence[float]] | None = None,
                   fs: float | None = None, animal_labels: Sequence[str] | None = None,
                   axes: Sequence[Any] | None = None, unit_label: str = "neuron",
                   recording_label: str = "animal", schedule_label: str = "stimulus"):
    """One component: community-sorted motif matrix, time course, animal bars.

    Parameters
    ----------
    dc : fitted DynamicConnectome
    component : int
    schedule : sequence of (start, stop), optional
        Stimulus (or condition) intervals shaded on the time course, in samples
        (seconds when ``fs`` is given).
    fs : float, optional
        Sampling rate; the time axis is then in seconds.
    animal_labels : sequence of str, optional
        Tick labels of the recordings.
    axes : three matplotlib Axes, optional
    unit_label : str
        What a node is, for the motif axes ("neuron"; "region" for BOLD).
    recording_label : str
        What a recording is, for the loading axis ("animal"; "subject" for BOLD).
    schedule_label : str
        What the shaded intervals are (named in the time-course title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    own_figure = axes is None
    if own_figure:
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 1.6, 1]})
    else:
        fig = axes[0].figure
    mat = dc.component_matrix(component)
    order = _community_order(dc.communities_[component], dc.motif_nodes_[component])
    ax = axes[0]
    im = ax.imshow(mat[np.ix_(order, order)], cmap="magma", interpolation="nearest")
    ax.set_title(f"component {component}: motif" + (" (background)" if dc.background_[component] else ""))
    ax.set_xlabel(f"{unit_label} (sorted by community)")
    ax.set_ylabel(unit_label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="affinity")
    ax = axes[1]
    times, label = _window_times(dc, fs)
    for start, stop in schedule or ():
        ax.axvspan(start, stop, color="tab:orange", alpha=0.2, lw=0)
    ax.plot(times, dc.time_factors_[:, component], color="k")
    ax.set_xlabel(label)
    ax.set_ylabel("time factor")
    ax.set_title(f"component weight {dc.weights_[component]:.3g}"
                 + (f"; shaded: {schedule_label}" if schedule else ""), fontsize=10)
    ax = axes[2]
    n_animals = dc.animal_factors_.shape[0]
    ax.bar(np.arange(n_animals), dc.animal_factors_[:, component], color="tab:blue")
    ax.set_xticks(np.arange(n_animals))
    if animal_labels is not None:
        ax.set_xticklabels(animal_labels, rotation=90)
    ax.set_xlabel(recording_label)
    ax.set_ylabel(f"{recording_label} factor")
    if own_figure:
        fig.tight_layout()
    return fig


def plot_components(dc, components: Sequence[int] | None = None, **kwargs):
    """All (or the given) components, one row each; see :func:`plot_component`."""
    comps = list(range(dc.weights_.size)) if components is None else list(components)
    fig, axes = plt.subplots(len(comps), 3, figsize=(11, 3.0 * len(comps)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.6, 1]})
    for row, r in zip(axes, comps, strict=True):
        plot_component(dc, r, axes=row, **kwargs)
    fig.tight_layout()
    return fig


def plot_rank_sweep(sweep: dict, axes: Sequence[Any] | None = None):
    """Error and restart stability against rank (Williams et al. 2018 style).

    Parameters
    ----------
    sweep : dict returned by ``rank_sweep``
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    else:
        fig = axes[0].figure
    ranks = np.asarray(sweep["ranks"])
    errors = np.asarray(sweep["errors"])
    ax = axes[0]
    jitter = np.linspace(-0.08, 0.08, errors.shape[1])
    for i, r in enumerate(ranks):
        ax.scatter(r + jitter, errors[i], s=10, color="0.6", zorder=1,
                   label=f"each of {errors.shape[1]} restarts" if i == 0 else None)
    ax.plot(ranks, sweep["best_errors"], "o-", color="k", zorder=2, label="best restart")
    if sweep.get("elbow_rank") is not None:
        ax.axvline(sweep["elbow_rank"], color="tab:red", ls="--", label=f"elbow R={sweep['elbow_rank']}")
    ax.set_xlabel("rank")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("relative error")
    ax.legend(frameon=False)
    ax = axes[1]
    ax.plot(ranks, sweep["stability"], "o-", color="tab:blue")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("rank")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("stability (mean FMS vs best)")
    fig.tight_layout()
    return fig


def plot_community_graph(dc, component: int, threshold: float = 0.3, ax=None, random_state: int = 0):
    """Spring layout of a component graph, nodes coloured by community.

    Edges below ``threshold * max`` are not drawn (nor used for the layout).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    graph = component_graph(dc.component_matrix(component), threshold=threshold)
    pos = nx.spring_layout(graph, weight="weight", seed=random_state)
    labels = dc.communities_[component]
    weights = np.array([d["weight"] for _, _, d in graph.edges(data=True)])
    widths = 2.5 * weights / weights.max() if weights.size else 1.0
    nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, alpha=0.4)
    sizes = np.where(dc.motif_nodes_[component], 80, 25)
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=labels, cmap="tab10", node_size=sizes)
    ax.set_title(f"component {component}: communities\n(edges >= {threshold:.0%} of the strongest; "
                 f"large nodes: motif)", fontsize=10)
    ax.set_axis_off()
    return fig
