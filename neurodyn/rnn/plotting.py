"""Figures for curricula, timescales, ablations and rich/lazy metrics (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "plot_curriculum",
    "plot_tau_trend",
    "plot_tau_distribution",
    "plot_autocorrelation",
    "plot_retention",
    "plot_rich_lazy",
]


def _axes(ax=None, figsize=(5, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def _integer_x_axis(ax, max_labels: int = 12) -> None:
    """Integer ticks on an x axis of N values, also when only one N was reached.

    With one value the default locator zooms to e.g. 1.9-2.1 and labels
    fractions even with ``integer=True``; here a few distinct values get a
    tick each and a single value gets a +-0.5 margin around its one tick.
    """
    from matplotlib.ticker import MaxNLocator

    # data lines only: axhline (chance) spans the axes in axes coordinates
    xs = [np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()
          if line.get_transform() == ax.transData]
    xs = np.unique(np.concatenate(xs)) if xs else np.zeros(0)
    xs = xs[np.isfinite(xs)]
    if 0 < xs.size <= max_labels and np.all(xs == np.round(xs)):
        ax.set_xticks(xs)
        if xs.size == 1:
            ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_curriculum(histories: Mapping[str, Any], x: str = "steps", ax=None):
    """Largest solved N against training steps (or ``x="epoch"``) for several runs.

    ``histories`` maps a label to a :class:`~neurodyn.rnn.training.CurriculumHistory`.
    """
    fig, ax = _axes(ax)
    styles = ("-", "--", ":", "-.")
    for k, (label, hist) in enumerate(histories.items()):
        xs = [e[x] for e in hist.epochs]
        # several line styles: runs that reach the same N at the same step stay visible
        ax.step(xs, hist.n_reached_, where="post", label=label, ls=styles[k % len(styles)], lw=1.8)
    ax.set_xlabel("training steps" if x == "steps" else x)
    ax.set_ylabel("largest N solved")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    return fig, ax


def plot_tau_trend(histories: Mapping[str, Any], ax=None):
    """Mean single-neuron tau against the N being trained, per run.

    Dots are the epochs (several per N while that N is being learned), the line
    joins the value at the end of each N, so it reads as one point per N instead
    of vertical runs of epochs joined to the next N.
    """
    fig, ax = _axes(ax)
    for label, hist in histories.items():
        n = np.array([max(e["ns"]) for e in hist.epochs])
        tau = np.array([e["tau_mean"] for e in hist.epochs])
        (line,) = ax.plot(n, tau, ".", ms=4, alpha=0.5)
        last = np.r_[n[1:] != n[:-1], True] if n.size else np.zeros(0, bool)
        ax.plot(n[last], tau[last], "o-", color=line.get_color(), ms=4, label=f"{label} (end of each N)")
    if histories:
        ax.plot([], [], ".", color="0.5", label="each epoch")
    ax.set_xlabel("N being trained (newest head)")
    ax.set_ylabel("mean effective tau (steps)")
    _integer_x_axis(ax)
    ax.legend(frameon=False, fontsize=8)
    return fig, ax


def plot_tau_distribution(taus: Mapping[str, Any], bins: int = 30, ax=None, xlabel: str = "tau"):
    """Histograms of timescales (single-neuron or network) for several networks."""
    fig, ax = _axes(ax)
    for label, tau in taus.items():
        tau = np.asarray(tau, dtype=float)
        ax.hist(tau[np.isfinite(tau)], bins=bins, histtype="step", density=True, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    return fig, ax


def plot_autocorrelation(ac: Any, fit: Any = None, units: Sequence[int] = (0,), fit_lags: int = 30, ax=None):
    """Autocorrelation of a few units with their fitted single exponential."""
    fig, ax = _axes(ax)
    ac = np.asarray(ac)
    lags = np.arange(ac.shape[0])
    for u in units:
        line, = ax.plot(lags, ac[:, u], ".", ms=3, label=f"unit {u}")
        if fit is not None and np.isfinite(fit.tau_single[u]):
            t = np.arange(fit_lags + 1)
            ax.plot(t, ac[0, u] * np.exp(-t / fit.tau_single[u]), color=line.get_color(),
                    label=f"exponential fit (lags 0-{fit_lags}): tau = {fit.tau_single[u]:.2f}")
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("autocorrelation")
    ax.legend(frameon=False, fontsize=7)
    return fig, ax


def plot_retention(ns: Sequence[int], accuracies: Mapping[str, Any], ax=None):
    """Accuracy on every earlier N at the end of training (catastrophic forgetting)."""
    fig, ax = _axes(ax)
    for label, acc in accuracies.items():
        ax.plot(ns, acc, marker="o", label=label)
    if not any(line.get_label() == "chance" for line in ax.get_lines()):  # once per Axes
        ax.axhline(0.5, color="0.6", ls="--", lw=1, label="chance")
    ax.set_xlabel("N")
    _integer_x_axis(ax)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.legend(frameon=False, loc="best")
    return fig, ax


def plot_rich_lazy(ranks: Sequence[int], metrics: Mapping[str, Any], axes=None, summary: str = "mean"):
    """Weight change, representation and kernel alignment against the initial rank.

    ``metrics`` maps a metric name to an array (n_seeds, len(ranks)) or (len(ranks),).
    Thin grey lines are the individual seeds, the black line with markers their
    ``summary`` ("mean" or "median": use the one the claims are computed on;
    the legend of the first panel says which).
    """
    if summary not in ("mean", "median"):
        raise ValueError(f"summary must be 'mean' or 'median'; got {summary!r}")
    centre = np.mean if summary == "mean" else np.median
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3))
    else:
        fig = np.ravel(axes)[0].figure
    for ax, (name, vals) in zip(np.ravel(axes), metrics.items(), strict=False):
        vals = np.atleast_2d(np.asarray(vals, float))
        for k, row in enumerate(vals):
            ax.plot(ranks, row, color="0.7", lw=1, label="one seed" if k == 0 and vals.shape[0] > 1 else None)
        ax.plot(ranks, centre(vals, axis=0), marker="o", color="k",
                label=f"{summary} of {vals.shape[0]} seeds" if vals.shape[0] > 1 else None)
        ax.set_xscale("log")
        ax.set_xticks(list(ranks), [str(r) for r in ranks])
        ax.minorticks_off()
        ax.set_xlabel("initial rank")
        ax.set_title(name)
    first = np.ravel(axes)[0]
    if first.get_legend_handles_labels()[0]:
        first.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig, axes
