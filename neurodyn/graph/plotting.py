"""Figures for neurodyn.graph: feature maps (brain volume or fsaverage surface), masks, CV reports."""

from __future__ import annotations

import numpy as np

__all__ = [
    "plot_feature_map",
    "plot_surface_feature_map",
    "plot_degree_triangles",
    "plot_mask_recovery",
    "plot_cv_report",
]


def _figure(ax=None, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_feature_map(image, kind="glass", title=None, threshold=None, **kwargs):
    """A voxel feature map (Nifti image, e.g. from ``GraphFeatures.to_nifti``) with nilearn.

    Parameters
    ----------
    image : Nifti-like
    kind : {"glass", "stat"}
        ``plot_glass_brain`` or ``plot_stat_map``.
    Returns
    -------
    nilearn display object (its ``.frame_axes.figure`` is the matplotlib Figure).
    """
    from nilearn import plotting

    if kind == "glass":
        return plotting.plot_glass_brain(image, title=title, threshold=threshold, colorbar=True,
                                         plot_abs=False, **kwargs)
    if kind == "stat":
        return plotting.plot_stat_map(image, title=title, threshold=threshold, colorbar=True, **kwargs)
    raise ValueError(f"kind must be 'glass' or 'stat'; got {kind!r}")


def plot_surface_feature_map(values, hemi="left", mesh="fsaverage5", title=None, views=("lateral", "medial"),
                             cmap="inferno", vmax=None, colorbar_label=None):
    """A per-vertex feature map on the inflated fsaverage surface (nilearn, offline meshes).

    Parameters
    ----------
    values : array-like of shape (n_vertices,)
        One value per vertex of the hemisphere (10,242 for fsaverage5). NaN
        vertices are not coloured (the sulcal depth shows through): use NaN for
        excluded vertices such as the medial wall, since 0 would read as a
        measured zero.
    hemi : {"left", "right"}
    mesh : str
        nilearn fsaverage mesh name.
    title : str, optional
    views : sequence of str
        One panel per view.
    cmap : str
    vmax : float, optional
        Upper colour limit (default: the 99th percentile of the finite values).
    colorbar_label : str, optional
        What the colour scale measures, with its units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from nilearn import datasets, plotting

    values = np.asarray(values, dtype=np.float64)
    fsaverage = datasets.fetch_surf_fsaverage(mesh)
    side = "left" if hemi == "left" else "right"
    fig, axes = plt.subplots(1, len(views), subplot_kw={"projection": "3d"},
                             figsize=(4.5 * len(views), 3.3))
    axes = np.atleast_1d(axes)
    vmax = float(np.nanpercentile(values, 99)) if vmax is None else vmax
    for ax, view in zip(axes, views, strict=True):
        plotting.plot_surf_stat_map(fsaverage[f"infl_{side}"], values, hemi=side, view=view,
                                    bg_map=fsaverage[f"sulc_{side}"], cmap=cmap, vmin=0, vmax=vmax,
                                    colorbar=(ax is axes[-1]), axes=ax, figure=fig, engine="matplotlib")
    if colorbar_label:
        for cax in fig.axes:
            if cax.get_label() == "<colorbar>":
                cax.set_ylabel(colorbar_label)
    if title:
        fig.suptitle(title)
    return fig


def _plain_log_ticks(ax) -> None:
    """Log-axis tick labels as plain numbers ("2", "30", "1000"), not "2 x 10^0" mathtext.

    Minor ticks keep matplotlib's choice of which ones to label (only when an
    axis spans few decades), just in the plain format.
    """
    from matplotlib.ticker import LogFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(LogFormatter(labelOnlyBase=False))
        axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1.5, 0.5)))


def plot_degree_triangles(features, ax=None, title=None):
    """Triangles against degree per node (log-log), with the complete-neighbourhood bound."""
    own = ax is None
    fig, ax = _figure(ax)
    d = np.asarray(features["degree"], dtype=np.float64)
    t = np.asarray(features["triangles"], dtype=np.float64)
    ok = (d > 1) & (t > 0)
    ax.loglog(d[ok], t[ok], ".", ms=2, alpha=0.4, label="nodes")
    grid = np.geomspace(2, max(d.max(), 3), 50)
    ax.loglog(grid, grid * (grid - 1) / 2, "k--", lw=1, label="d(d-1)/2 (clique)")
    ax.set_xlabel("degree")
    ax.set_ylabel("triangles (3-cycles)")
    _plain_log_ticks(ax)
    ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    if own:  # keep the axis labels inside the saved figure
        fig.tight_layout()
    return fig


def plot_mask_recovery(scores, n_nodes, truth_mask=None, support=None, ax=None, title=None):
    """Per-node mask statistic (max over features), selected nodes and the planted truth."""
    fig, ax = _figure(ax, figsize=(8, 3))
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, n_nodes).max(axis=0)
    nodes = np.arange(n_nodes)
    ax.bar(nodes, scores, color="0.7", width=1.0, label="|t| (max over features)")
    if support is not None:
        chosen = np.unique(np.flatnonzero(np.asarray(support)) % n_nodes)
        ax.bar(chosen, scores[chosen], color="C1", width=1.0, label="selected")
    if truth_mask is not None:
        truth = np.flatnonzero(truth_mask)
        ax.plot(truth, np.full(truth.size, scores.max() * 1.06), "v", color="C3", ls="none", label="planted")
    ax.set_xlabel("node")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("|t| (max over features)")
    # the legend sits in a band above the markers (it covered them at 1.25 x max)
    ax.set_ylim(0, scores.max() * 1.4 if scores.max() > 0 else 1)
    ax.legend(frameon=False, ncol=3, fontsize=8, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_cv_report(report, title=None, class_names=None):
    """Fold accuracies vs the majority baseline, the confusion matrix and the permutation null.

    Parameters
    ----------
    report : CVReport
        From :func:`~neurodyn.graph.cross_validate_report`.
    title : str, optional
    class_names : sequence of str, optional
        Names of ``report.classes`` for the confusion matrix (e.g. "control", "ADHD").

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    n_panels = 3 if report.permutation_scores is not None else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.6))
    ax = axes[0]
    metrics = ("accuracy", "balanced_accuracy", "sensitivity", "specificity")
    for k, name in enumerate(metrics):
        vals = getattr(report, name)
        ax.plot(np.full(vals.size, k) + np.linspace(-0.15, 0.15, vals.size), vals, "o", ms=3, alpha=0.6,
                color=f"C{k}", label="one outer fold" if k == 0 else None)
        ax.errorbar(k + 0.3, np.nanmean(vals), yerr=np.nanstd(vals), fmt="ks", ms=4,
                    label="mean +/- SD" if k == 0 else None)
    majority = float(np.mean(report.majority_baseline))
    ax.axhline(majority, color="C3", ls="--", lw=1, label="majority class")
    ax.set_xticks(range(len(metrics)), ["acc", "bal. acc", "sens", "spec"])
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("fraction correct")
    # below the axes: inside, the legend covered fold points wherever it was put
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title(f"outer folds: accuracy {np.nanmean(report.accuracy):.2f} +/- "
                 f"{np.nanstd(report.accuracy):.2f} (majority {majority:.2f})", fontsize=10)
    ax = axes[1]
    cm = report.confusion
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > 0.6 * cm.max() else "black")
    if class_names is not None and len(class_names) != len(report.classes):
        raise ValueError(f"class_names must name the {len(report.classes)} classes "
                         f"{[str(c) for c in report.classes]}; got {list(class_names)}")
    labels = [str(c) for c in (report.classes if class_names is None else class_names)]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion (all folds)")
    if n_panels == 3:
        ax = axes[2]
        n_perm = len(report.permutation_scores)
        ax.hist(report.permutation_scores, bins=20, color="0.7", label="shuffled labels")
        ax.axvline(report.permutation_score, color="C3", label="observed")
        ax.set_xlabel("accuracy")
        ax.set_ylabel("permutations")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25))
        # with n permutations the smallest attainable p is 1 / (n + 1): say so when it is reached
        floor = 1.0 / (n_perm + 1)
        ax.set_title(f"permutation null ({n_perm} shuffles)\np = {report.permutation_pvalue:.3f}"
                     + (", the smallest possible" if report.permutation_pvalue <= floor + 1e-12 else ""),
                     fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
