"""Figures for model-versus-brain comparisons (matplotlib; each function returns its Axes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .table import ComparisonTable

__all__ = ["plot_score_matrix", "plot_score_vs_time", "plot_encoding_scores", "plot_cka_matrix"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def _data_limits(M: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """Colour limits from the finite data (so small differences are visible), unless given."""
    finite = M[np.isfinite(M)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if hi <= lo:  # one value: a symmetric pad so the cell is mid-scale
        pad = max(abs(lo) * 0.05, 1e-12)
        lo, hi = lo - pad, hi + pad
    return (lo if vmin is None else float(vmin)), (hi if vmax is None else float(vmax))


def _annotate(ax, im, M: np.ndarray, fmt: str = "{:.2f}", fontsize: int = 8) -> None:
    """Write every value into its cell, black on light colours and white on dark ones."""
    cmap, norm = im.get_cmap(), im.norm
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            v = M[i, j]
            if not np.isfinite(v):
                ax.text(j, i, "n/a", ha="center", va="center", color="0.3", fontsize=fontsize)
                continue
            r, g, b, _ = cmap(norm(v))
            light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
            ax.text(j, i, fmt.format(v), ha="center", va="center", color="k" if light else "w",
                    fontsize=fontsize)


def plot_score_matrix(table: ComparisonTable, method: str, *, time: Any = None, value: str = "score",
                      annotate: bool = True, ax=None, cmap: str | None = None,
                      vmin: float | None = None, vmax: float | None = None, mark_best: bool = True):
    """Heat map of a (model layer x brain region) score matrix for one method.

    The colour scale spans the data (``vmin``/``vmax`` from the smallest and
    largest score unless given), so differences between layers show even when
    every score is close to 1; a colorbar gives the scale and each cell is
    annotated with its value.

    Parameters
    ----------
    table : ComparisonTable
    method : str
    time : int, optional
        Time point for time-resolved tables.
    value : str
        Column to show (``"score"``, ``"ceiled_score"``, ``"p_value"`` ...).
    annotate : bool
        Write the values into the cells (up to 400 cells).
    ax : matplotlib Axes, optional
    cmap : str, optional
        Default ``"viridis"`` for similarities, ``"viridis_r"`` for distances
        (so "more alike" is always the bright end).
    vmin, vmax : float, optional
        Colour limits (default: the data's range).
    mark_best : bool
        Outline the best model (highest similarity, lowest distance) for every brain.

    Returns
    -------
    matplotlib.axes.Axes
    """
    M, models, brains = table.matrix(method, value=value, time=time)
    kind = table.select(method=method).rows[0]["kind"]
    ax = _axes(ax)
    lo, hi = _data_limits(M, vmin, vmax)
    im = ax.imshow(M, cmap=cmap or ("viridis" if kind == "similarity" else "viridis_r"), aspect="auto",
                   vmin=lo, vmax=hi)
    ax.set_xticks(range(len(brains)), brains, rotation=45, ha="right")
    ax.set_yticks(range(len(models)), models)
    ax.set_xlabel("brain")
    ax.set_ylabel("model")
    ax.set_title(f"{method} ({kind}{'' if time is None else f', t={time}'})")
    if annotate and M.size <= 400:
        _annotate(ax, im, M)
    if mark_best and value == "score" and M.shape[0] > 1:
        from matplotlib.patches import Rectangle

        for j in range(M.shape[1]):
            col = M[:, j]
            if np.isfinite(col).any():
                i = int(np.nanargmin(col) if kind == "distance" else np.nanargmax(col))
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="r", lw=1.5))
    label = value + (" (lower = more alike)" if kind == "distance" and value == "score" else "")
    ax.figure.colorbar(im, ax=ax, label=label)
    return ax


def plot_cka_matrix(K: Any, *, ax=None, labels: Any = None, xlabel: str = "", ylabel: str = "",
                    vmin: float | None = None, vmax: float | None = None, annotate: bool | None = None,
                    cmap: str = "viridis", title: str = "linear CKA"):
    """Heat map of a CKA matrix (e.g. time x time from ``linear_cka(..., pairwise=True)``).

    CKA values between related representations often all lie in a narrow
    band near 1; on a fixed [0, 1] scale the map then looks uniform. The
    colour scale here spans the data (unless ``vmin``/``vmax`` are given), a
    colorbar states it, and small matrices are annotated with their values.

    Parameters
    ----------
    K : array-like (n_rows, n_cols)
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        Tick labels for both axes (square matrices).
    xlabel, ylabel, title : str
    vmin, vmax : float, optional
        Colour limits (default: the data's range).
    annotate : bool, optional
        Write values into cells (default: when there are at most 144 cells).
    cmap : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    M = np.asarray(K, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"K must be a 2-D matrix (n_rows, n_cols); got shape {M.shape}")
    ax = _axes(ax)
    lo, hi = _data_limits(M, vmin, vmax)
    im = ax.imshow(M, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
    if labels is not None:
        ax.set_xticks(range(M.shape[1]), list(labels), rotation=45, ha="right")
        ax.set_yticks(range(M.shape[0]), list(labels))
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if annotate if annotate is not None else M.size <= 144:
        _annotate(ax, im, M)
    ax.figure.colorbar(im, ax=ax, label=f"CKA (colour range {lo:.2f} to {hi:.2f})")
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
    """Histogram of held-out encoding correlations per target, with the median and the ceiling on r.

    Parameters
    ----------
    r : array-like (n_targets,)
        Held-out Pearson r per target.
    noise_ceiling : array-like (n_targets,) or float, optional
        Reliability of the targets (e.g. from
        :func:`~neurodyn.compare.split_half_noise_ceiling`). A reliability is on
        the scale of r squared, so the line is drawn at the ceiling *on r*,
        ``sqrt(median reliability)`` (:func:`~neurodyn.compare.encoding.r_ceiling`),
        the expected r of a model that predicts the noiseless signal exactly.
    ax : matplotlib Axes, optional
    bins : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .encoding import r_ceiling

    r = np.asarray(r, dtype=float)
    ax = _axes(ax)
    counts, _, _ = ax.hist(r[np.isfinite(r)], bins=bins, color="0.6", label="targets")
    # the data fill the lower 1/headroom of the axes and the legend the band above;
    # the vertical lines stop at the top of the data so they never cross the legend
    headroom = 1.6
    top = 1.0 / headroom
    ax.axvline(np.nanmedian(r), ymax=top, color="C0", label=f"median r = {np.nanmedian(r):.2f}")
    if noise_ceiling is not None:
        rel = float(np.nanmedian(np.asarray(noise_ceiling, dtype=float)))
        c = r_ceiling(rel)
        ax.axvline(c, ymax=top, color="C3", ls="--",
                   label=f"noise ceiling on r = sqrt({rel:.2f}) = {c:.2f}")
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, max(hi, c + 0.05 * (hi - lo)))
    ax.set_xlabel("held-out Pearson r")
    ax.set_ylabel("targets")
    ax.yaxis.get_major_locator().set_params(integer=True)  # counts
    ax.set_ylim(0, headroom * max(float(np.max(counts, initial=0.0)), 1.0))
    ax.legend(fontsize=8, loc="upper left")
    return ax
