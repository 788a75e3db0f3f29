"""Figures for neurodyn.rsa: RDM / RGTM / RGDM panels, model comparison, (l, u) heat-map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import as_rdm_vectors
from .rdm import rdm_to_matrix

__all__ = ["plot_rdm", "plot_rdm_panels", "plot_model_comparison", "plot_lu_heatmap", "plot_confusion",
           "plot_accuracy_vs_noise"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
        return fig, ax
    return ax.figure, ax


def plot_rdm(rdm: Any, ax=None, title: str | None = None, cmap: str = "viridis", colorbar: bool = True,
             colorbar_label: str = "dissimilarity"):
    """Show one RDM (vector or symmetric square matrix) as an image; returns the Axes.

    The diagonal is left blank. Raises for several RDMs (a stack is not one image).
    ``colorbar_label`` names the colour scale (e.g. "rank-normalised dissimilarity").
    """
    v, _ = as_rdm_vectors(rdm, "rdm")
    if v.shape[0] != 1:
        raise ValueError(f"rdm must be one RDM, (n_pairs,) or (K, K); got {v.shape[0]} RDMs (shape "
                         f"{np.shape(rdm)}); plot them one by one or with plot_rdm_panels")
    m = rdm_to_matrix(v[0], diagonal=np.nan)
    fig, ax = _axes(ax)
    im = ax.imshow(m, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if colorbar_label:
            cb.set_label(colorbar_label, fontsize=8)
    return ax


def plot_rdm_panels(rdms: Mapping[str, Any], ncols: int = 4, cmap: str = "viridis", colorbar: bool = True,
                    colorbar_label: str = "dissimilarity"):
    """A grid of RDM panels (e.g. RDM, RGTMs and RGDM of one region); returns the Figure.

    Each panel has its own colour bar (the transforms map to different ranges:
    an RGTM is mostly 0 and 1, an RGDM holds path lengths); ``colorbar=False`` omits them.
    """
    import matplotlib.pyplot as plt

    names = list(rdms)
    nrows = int(np.ceil(len(names) / ncols))
    width = 3.6 if colorbar else 3.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3 * nrows), squeeze=False,
                             layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel()[: len(names)], names, strict=True):
        ax.axis("on")
        plot_rdm(rdms[name], ax=ax, title=name, cmap=cmap, colorbar=colorbar, colorbar_label=colorbar_label)
    return fig


def plot_model_comparison(evaluation, model_names: Sequence[str] | None = None, ax=None,
                          ylabel: str | None = None):
    """Bar plot of model evaluations with error bars (SEM) and the noise-ceiling band.

    Parameters
    ----------
    evaluation : neurodyn.rsa.ModelEvaluation
    model_names : names of the models (default "model 0", ...)
    """
    fig, ax = _axes(ax)
    mean = np.asarray(evaluation.mean)
    names = list(model_names) if model_names is not None else [f"model {i}" for i in range(mean.size)]
    x = np.arange(mean.size)
    ax.bar(x, mean, yerr=evaluation.sem, color="tab:blue", alpha=0.8, capsize=3)
    lo, up = evaluation.noise_ceiling
    if np.isfinite(lo) and np.isfinite(up):
        ax.axhspan(lo, up, color="0.7", alpha=0.5, zorder=0, label="noise ceiling")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel or f"RDM similarity ({evaluation.method})")
    ax.axhline(0, color="k", lw=0.5)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    return ax


def plot_lu_heatmap(grid: Mapping[str, Any], ax=None, chance: float | None = None,
                    label: str = "LOSO accuracy"):
    """Accuracy over the (l, u) grid from :func:`neurodyn.rsa.geotopological_grid`.

    ``label`` names the accuracy on the colour bar (say what is left out, e.g.
    "leave-one-measurement-model-out accuracy"); ``chance`` is appended to it.
    """
    fig, ax = _axes(ax)
    acc = np.asarray(grid["accuracy"])
    lo, up = np.asarray(grid["lower"]), np.asarray(grid["upper"])
    im = ax.imshow(acc, origin="lower", aspect="auto", cmap="magma",
                   extent=[up[0] - 0.025, up[-1] + 0.025, lo[0] - 0.025, lo[-1] + 0.025])
    best = grid.get("best")
    if best is not None:
        ax.plot(best[1], best[0], marker="*", color="cyan", ms=12, ls="none",
                label=f"best (l, u) = ({float(best[0]):.2f}, {float(best[1]):.2f})")
        ax.legend(loc="lower right", fontsize=8)
    if np.isnan(acc).any():  # the u < l half of the grid has no transform
        ax.text(0.03, 0.97, "u < l: not defined", transform=ax.transAxes, ha="left", va="top",
                fontsize=8, color="0.4")
    ax.set_xlabel("upper threshold u (quantile)")
    ax.set_ylabel("lower threshold l (quantile)")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(label + (f" (chance {chance:.2f})" if chance else ""))
    return ax


def plot_confusion(confusion: Any, labels: Sequence[str] | None = None, ax=None):
    """Confusion matrix (true x predicted) of a fitted :class:`TopologicalRSA`."""
    fig, ax = _axes(ax)
    c = np.asarray(confusion, dtype=float)
    im = ax.imshow(c / np.maximum(c.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    names = list(labels) if labels is not None else [str(i) for i in range(c.shape[0])]
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    return ax


def plot_accuracy_vs_noise(levels: Sequence[float], accuracy: Mapping[str, Sequence[float]], ax=None,
                           errors: Mapping[str, Sequence[float]] | None = None, chance: float | None = None,
                           xlabel: str = "noise level"):
    """Identification accuracy against noise level, one line per RDM family or transform.

    ``accuracy[label]`` holds one value per level; ``errors[label]`` (optional) the
    error bars (e.g. bootstrap SE; drawn clipped to [0, 1]). ``chance`` draws a
    dashed reference line. The legend sits to the right of the axes. Returns the Axes.
    """
    fig, ax = _axes(ax)
    for label, acc in accuracy.items():
        err = None if errors is None else errors.get(label)
        if err is not None:
            # an accuracy lies in [0, 1]: the bars stop at the bounds instead of passing them
            acc_arr, err_arr = np.asarray(acc, float), np.asarray(err, float)
            err = np.vstack([np.minimum(err_arr, acc_arr), np.minimum(err_arr, 1.0 - acc_arr)])
        ax.errorbar(levels, acc, yerr=err, marker="o", label=label, capsize=2)
    if chance is not None:
        ax.axhline(chance, color="k", ls="--", lw=0.8, label="chance")
    ax.set_xlabel(xlabel)
    ax.set_xticks(list(levels))  # the tested levels, not fractions between them
    ax.set_ylabel("LOSO accuracy")
    ax.set_ylim(top=1.02)
    # beside the axes: inside, it covered the chance line or the low-accuracy curves
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    return ax
