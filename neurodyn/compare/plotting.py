"""Figures for model-versus-brain comparisons (matplotlib; each function returns its Axes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .table import ComparisonTable

__all__ = ["plot_score_matrix", "plot_score_vs_time", "plot_encoding_scores"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_score_matrix(table: ComparisonTable, method: str, *, time: Any = None, value: str = "score",
                      annotate: bool = True, ax=None, cmap: str | None = None):
    """Heat map of a (model layer x brain region) score matrix for one method.

    Parameters
    ----------
    table : ComparisonTable
    method : str
    time : int, optional
        Time point for time-resolved tables.
    value : str
        Column to show (``"score"``, ``"ceiled_score"``, ``"p_value"`` ...).
    annotate : bool
        Write the values into the cells.
    ax : matplotlib Axes, optional
    cmap : str, optional
        Default ``"viridis"`` for similarities, ``"viridis_r"`` for distances.

    Returns
    -------
    matplotlib.axes.Axes
    """
    M, models, brains = table.matrix(method, value=value, time=time)
    kind = table.select(method=method).rows[0]["kind"]
    ax = _axes(ax)
    im = ax.imshow(M, cmap=cmap or ("viridis" if kind == "similarity" else "viridis_r"), aspect="auto")
    ax.set_xticks(range(len(brains)), brains, rotation=45, ha="right")
    ax.set_yticks(range(len(models)), models)
    ax.set_xlabel("brain")
    ax.set_ylabel("model")
    ax.set_title(f"{method} ({kind}{'' if time is None else f', t={time}'})")
    if annotate and M.size <= 400:
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
    ax.figure.colorbar(im, ax=ax, label=value)
    return ax


def plot_score_vs_time(table: ComparisonTable, method: str, *, times: Any = None, ax=None,
                       show_ci: bool = True):
    """Score against time for every (model, brain) pair of a time-resolved table.

    Parameters
    ----------
    table : ComparisonTable
    method : str
    times : array-like, optional
        Time values for the time indices (default: the indices).
    ax : matplotlib Axes, optional
    show_ci : bool
        Shade the bootstrap interval when present.

    Returns
    -------
    matplotlib.axes.Axes
    """
    sub = table.select(method=method)
    rows = [r for r in sub if r["time"] is not None]
    if not rows:
        raise ValueError(f"no time-resolved rows for method={method!r}")
    ax = _axes(ax)
    pairs = list(dict.fromkeys((r["model"], r["brain"]) for r in rows))
    for m, b in pairs:
        rr = sorted((r for r in rows if r["model"] == m and r["brain"] == b), key=lambda r: r["time"])
        t = np.array([r["time"] for r in rr])
        x = np.asarray(times)[t] if times is not None else t
        y = np.array([r["score"] for r in rr])
        (line,) = ax.plot(x, y, label=f"{m} vs {b}")
        lo = np.array([r["ci_low"] for r in rr])
        hi = np.array([r["ci_high"] for r in rr])
        if show_ci and np.isfinite(lo).all():
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("time")
    ax.set_ylabel(f"{method} ({rows[0]['kind']})")
    ax.legend(fontsize=8)
    return ax


def plot_encoding_scores(r: Any, noise_ceiling: Any = None, *, ax=None, bins: int = 30):
    """Histogram of held-out encoding correlations per target, with the median (and ceiling).

    Parameters
    ----------
    r : array-like (n_targets,)
        Held-out Pearson r per target.
    noise_ceiling : array-like (n_targets,) or float, optional
    ax : matplotlib Axes, optional
    bins : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    r = np.asarray(r, dtype=float)
    ax = _axes(ax)
    ax.hist(r[np.isfinite(r)], bins=bins, color="0.6", label="targets")
    ax.axvline(np.nanmedian(r), color="C0", label=f"median r = {np.nanmedian(r):.2f}")
    if noise_ceiling is not None:
        c = float(np.nanmedian(np.asarray(noise_ceiling, dtype=float)))
        ax.axvline(c, color="C3", ls="--", label=f"noise ceiling = {c:.2f}")
    ax.set_xlabel("held-out Pearson r")
    ax.set_ylabel("targets")
    ax.legend(fontsize=8)
    return ax
