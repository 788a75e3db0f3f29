"""``neurodyn demo`` part for neurodyn.graph.

Simulated cohort with a planted class difference (known discriminative nodes):
graph features -> nested-CV PCA-LDA accuracy and the recovered mask against
the truth. With the shared data: the labelled frontal2D ADHD set (nested CV,
against the reference values of the specification) and, in the full version,
3-cycle maps of the real fsaverage5 hemisphere with its reference counts.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# Reference values of the specification (independent float64 re-implementation).
FSA5_REFERENCE_TAU_05 = {"n_edges": 1_410_836, "n_triangles": 107_647_328, "max_degree": 1378,
                         "mean_clustering": 0.527038}
FRONTAL2D_REFERENCE = {"edges_accuracy": 0.632, "edges_sd": 0.125, "majority": 0.521}


def _planted(out_dir: Path, quick: bool, verbose: bool = False) -> tuple[dict, list]:
    import matplotlib.pyplot as plt

    from ..datasets.simulate import fmri_cohort
    from . import FeatureMask, GraphFeatures, cross_validate_report, make_graph_classifier
    from .plotting import plot_cv_report, plot_degree_triangles, plot_mask_recovery

    n_subjects, n_nodes, n_time = (40, 80, 150) if quick else (80, 150, 250)
    n_signal = 10 if quick else 15
    data = fmri_cohort(n_subjects, n_nodes, n_time, n_signal_nodes=n_signal, effect=1.2,
                       random_state=0)
    feats = GraphFeatures(density=0.1, features=("degree", "triangles"))
    X = feats.fit_transform(data["timeseries"])
    clf = make_graph_classifier(n_voxels=20, n_components=5)
    grid = {"pca__n_components": [3, 5]} if quick else {"mask__n_voxels": [10, 40],
                                                        "pca__n_components": [3, 5]}
    report = cross_validate_report(clf, X, data["y"], param_grid=grid, inner_splits=3,
                                   n_repeats=1 if quick else 2, n_permutations=0 if quick else 19,
                                   random_state=0, verbose=verbose and not quick)
    mask = FeatureMask(n_voxels=2 * n_signal).fit(X, data["y"])
    chosen = np.unique(np.flatnonzero(mask.get_support()) % n_nodes)
    truth = data["signal_nodes"]
    hits = np.isin(chosen, truth)
    precision = float(hits.mean()) if chosen.size else 0.0
    recall = float(np.isin(truth, chosen).mean())
    figures = []
    fig = plot_cv_report(report, title="planted cohort: nested CV of mask -> PCA -> LDA")
    fig.savefig(out_dir / "planted_cv_report.png", dpi=100)
    figures.append("planted_cv_report.png")
    fig = plot_mask_recovery(mask.scores_, n_nodes, data["signal_mask"], mask.get_support(),
                             title=f"t-test mask (all subjects) vs {truth.size} planted nodes:\n"
                                   f"precision {precision:.2f}, recall {recall:.2f} "
                                   f"(chance precision {truth.size / n_nodes:.2f})")
    fig.savefig(out_dir / "planted_mask.png", dpi=100)
    figures.append("planted_mask.png")
    maps = feats.feature_maps(X[int(np.flatnonzero(data["y"] == 1)[0])])
    fig = plot_degree_triangles(maps, title="one class-1 subject, 10 % density: triangles per node vs degree")
    fig.savefig(out_dir / "planted_degree_triangles.png", dpi=100)
    figures.append("planted_degree_triangles.png")
    plt.close("all")
    s = report.summary()
    result = {
        "nested_cv_accuracy": s["accuracy_mean"], "nested_cv_accuracy_sd": s["accuracy_sd"],
        "balanced_accuracy": s["balanced_accuracy_mean"], "chance": s["majority_baseline_mean"],
        "permutation_pvalue": s.get("permutation_pvalue"),
        "mask_precision": precision,
        "mask_recall": recall,
        "truth_signal_nodes": truth.tolist(), "n_subjects": n_subjects, "n_nodes": n_nodes,
    }
    return result, figures


def _frontal2d(out_dir: Path, data_home: Path, quick: bool, verbose: bool = False) -> tuple[dict, list]:
    import matplotlib.pyplot as plt

    from ..datasets import load_frontal2d_adhd
    from . import cross_validate_report, make_graph_classifier
    from .plotting import plot_cv_report

    data = load_frontal2d_adhd(data_home=data_home, download_if_missing=False)
    clf = make_graph_classifier(mask=None, n_components=5)
    grid = {"pca__n_components": [2, 5, 10] if quick else [2, 5, 10, 20]}
    report = cross_validate_report(clf, data.X, data.y, param_grid=grid, n_repeats=1 if quick else 5,
                                   random_state=0, verbose=verbose and not quick)
    fig = plot_cv_report(report, title="frontal2D ADHD vs control: edges, nested CV PCA-LDA",
                         class_names=["control", "ADHD"])
    fig.savefig(out_dir / "frontal2d_cv_report.png", dpi=100)
    plt.close("all")
    s = report.summary()
    out = {"accuracy": s["accuracy_mean"], "accuracy_sd": s["accuracy_sd"],
           "chance": s["majority_baseline_mean"], "reference": FRONTAL2D_REFERENCE}
    if not quick:
        # permutation test of the fixed PCA(5) pipeline: cheap enough for 100 permutations
        perm = cross_validate_report(clf, data.X, data.y, n_permutations=100, random_state=0,
                                     verbose=verbose)
        out["permutation_pvalue_pca5"] = perm.permutation_pvalue
        out["permutation_score_pca5"] = perm.permutation_score
    return out, ["frontal2d_cv_report.png"]


def _fsa5(out_dir: Path, data_home: Path) -> tuple[dict, list]:
    import matplotlib.pyplot as plt

    from ..datasets import load_fsa5_rest
    from . import correlation_graph, node_features
    from .plotting import plot_surface_feature_map

    data = load_fsa5_rest(data_home=data_home, download_if_missing=False)
    t0 = time.perf_counter()
    g = correlation_graph(data.timeseries, 0.5, zero_variance="isolate")
    f = node_features(g.adjacency, ("degree", "triangles", "clustering"))
    seconds = time.perf_counter() - t0
    varying = ~data.constant_mask
    measured = {"n_edges": g.n_edges, "n_triangles": int(f["triangles"].sum() // 3),
                "max_degree": int(f["degree"].max()),
                "mean_clustering": float(f["clustering"][varying].mean())}
    same = measured["n_triangles"] == FSA5_REFERENCE_TAU_05["n_triangles"]
    shown = np.where(data.constant_mask, np.nan, np.log10(1 + f["triangles"]))  # medial wall: not drawn
    fig = plot_surface_feature_map(shown, colorbar_label="log10(1 + triangles)",
                                   title=f"fsaverage5 lh, r > 0.5: 3-cycles per vertex (total "
                                         f"{measured['n_triangles']:,}, {'=' if same else '!='} reference); "
                                         f"medial wall grey")
    fig.savefig(out_dir / "fsa5_triangle_map.png", dpi=90)
    plt.close("all")
    return {"measured": measured, "truth": FSA5_REFERENCE_TAU_05, "seconds": seconds,
            "exact_match": all(measured[k] == FSA5_REFERENCE_TAU_05[k] for k in
                               ("n_edges", "n_triangles", "max_degree"))
            and abs(measured["mean_clustering"] - FSA5_REFERENCE_TAU_05["mean_clustering"]) < 5e-7}, \
        ["fsa5_triangle_map.png"]


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None,
             verbose: bool = False) -> dict:
    """Run the graph demo; write PNG figures into ``out_dir`` and return the numbers.

    ``verbose`` shows the full run's cross-validation progress bars (on stderr).
    """
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result, figures = _planted(out_dir, quick, verbose)
    summary = {"planted": result}
    if data_home is not None:
        from neurodyn.datasets import dataset_status

        data_home = Path(data_home)
        # complete data sets only: a partial folder must not turn the part into a failure
        found = {name for name, status in dataset_status(data_home).items() if status.startswith("found")}
        if "nbr_frontal2d_adhd" in found:
            res, figs = _frontal2d(out_dir, data_home, quick, verbose)
            summary["frontal2d"] = res
            figures += figs
        if not quick and "brainspace_fsa5_rest" in found:
            res, figs = _fsa5(out_dir, data_home)
            summary["fsa5"] = res
            figures += figs
    summary["figures"] = figures
    return summary
