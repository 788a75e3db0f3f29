"""Demo part of ``neurodyn demo``: tRSA identifies network layers across seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FAMILY_LABELS = ("rdm", "topology", "local", "global", "geometry", "rgdm")


def _load_alexnet_conv(data_home: Path):
    import scipy.io as sio

    path = data_home / "rsatoolbox_demo" / "rdms_inferring" / "modelRDMs_A2020.mat"
    if not path.is_file():
        return None
    a = sio.loadmat(path)["modelRDMs"]
    rows = [i for i in range(a.shape[1]) if str(a["reprName"][0, i][0]).startswith("conv")]
    x = np.stack([a["RDM"][0, i].ravel().astype(float) for i in rows])
    layers = np.array([str(a["reprName"][0, i][0]) for i in rows])
    inst = np.array([str(a["measModelName"][0, i][0]) for i in rows])
    return x, layers, inst


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None,
             verbose: bool = False) -> dict:
    """Identify simulated layers by tRSA across noise levels; AlexNet conv layers with the shared data.

    ``verbose`` shows a progress bar (stderr) over the full run's noise-level x family fits.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..datasets.simulate import add_rdm_noise, make_layer_rdms
    from . import (
        TopologicalRSA,
        geotopological_grid,
        geotopological_transform,
        graph_geodesic_transform,
    )
    from .plotting import plot_accuracy_vs_noise, plot_confusion, plot_lu_heatmap, plot_rdm_panels

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_layers, n_subjects, n_stim = (5, 6, 30) if quick else (6, 10, 62)
    n_boot = 0 if quick else 40  # error bars only; the tutorial runs the full protocol
    n_draws = 3 if quick else 10
    sim = make_layer_rdms(n_layers=n_layers, n_subjects=n_subjects, n_stimuli=n_stim, random_state=0)
    figures = []

    one = sim["clean_rdms"][n_layers - 1]
    fig = plot_rdm_panels({
        "RDM (rank)": geotopological_transform(one, 0.0, 1.0),
        "RGTM topology (0.45, 0.55)": geotopological_transform(one, 0.45, 0.55),
        "RGTM local (0, 0.3)": geotopological_transform(one, 0.0, 0.3),
        "RGDM twostep (0.2, 0.8)": graph_geodesic_transform(one, "twostep", lower=0.2, upper=0.8),
    }, ncols=4)
    fig.savefig(out_dir / "rsa_transforms.png", dpi=100)
    plt.close(fig)
    figures.append("rsa_transforms.png")

    noise_levels = (0, 2, 4) if quick else (0, 1, 2, 3, 4)
    families = ("rdm", "topology", "geometry") if quick else FAMILY_LABELS
    acc = {f: [] for f in families}
    se = {f: [] for f in families}
    fitted = None
    from tqdm.auto import tqdm

    bar = tqdm(total=len(noise_levels) * len(families), desc="tRSA noise x family", unit="fit",
               leave=False, disable=quick or not verbose)
    for k in noise_levels:
        x = add_rdm_noise(sim["clean_rdms"], k, random_state=100 + k)
        for fam in families:
            bar.update()
            est = TopologicalRSA(family=fam, n_draws=n_draws, n_bootstrap=n_boot, random_state=0)
            est.fit(x, sim["layers"], sim["subjects"])
            acc[fam].append(float(est.accuracy_))
            se[fam].append(float(est.accuracy_se_) if n_boot else float("nan"))
            if k == 0 and fam == "rdm":
                fitted = est
    bar.close()
    fig, ax = plt.subplots(figsize=(6.2, 4))
    plot_accuracy_vs_noise(noise_levels, acc, ax=ax, errors=None if quick else se, chance=1 / n_layers,
                           xlabel="noise level k (SD = k/10 x std of RDM entries)")
    worst = min(min(v) for v in acc.values())
    ax.set_title(f"layer identification, {n_subjects} simulated subjects:\n"
                 f"lowest accuracy {worst:.2f} (chance {1 / n_layers:.2f})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "rsa_accuracy_vs_noise.png", dpi=100)
    plt.close(fig)
    figures.append("rsa_accuracy_vs_noise.png")

    fig, ax = plt.subplots(figsize=(4, 4))
    plot_confusion(fitted.confusion_, [f"L{i}" for i in fitted.classes_], ax=ax)
    ax.set_title(f"RDM family, no noise: accuracy {fitted.accuracy_:.2f}\n(chance {1 / n_layers:.2f})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "rsa_confusion.png", dpi=100)
    plt.close(fig)
    figures.append("rsa_confusion.png")

    grid = geotopological_grid(sim["clean_rdms"], sim["layers"], sim["subjects"], step=0.1 if quick else 0.05)
    fig, ax = plt.subplots(figsize=(5, 4))
    plot_lu_heatmap(grid, ax=ax, chance=1 / n_layers)
    ax.set_title(f"RGTM (l, u) grid, no noise: best accuracy {grid['best_accuracy']:.2f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "rsa_lu_heatmap.png", dpi=100)
    plt.close(fig)
    figures.append("rsa_lu_heatmap.png")

    result = {
        "figures": figures,
        "simulation": {"n_layers": n_layers, "n_subjects": n_subjects, "n_stimuli": n_stim,
                       "truth": "layer index of each RDM", "chance": 1 / n_layers,
                       "noise_levels": list(noise_levels), "accuracy": acc,
                       "accuracy_se": se if n_boot else None,
                       "best_lu": grid["best"], "best_lu_accuracy": grid["best_accuracy"]},
    }
    if data_home is not None:
        loaded = _load_alexnet_conv(Path(data_home))
        if loaded is not None:
            x, layers, inst = loaded
            real = {}
            for name, kw in {"rdm": {"family": "rdm"}, "topology (.45,.55)": {"lower": .45, "upper": .55},
                             "local (0,.3)": {"lower": 0.0, "upper": .3}, "global (.7,1)": {"lower": .7, "upper": 1.0},
                             "geometry (.05,.95)": {"lower": .05, "upper": .95}}.items():
                real[name] = float(TopologicalRSA(n_bootstrap=0, **kw).fit(x, layers, inst).accuracy_)
            result["alexnet_conv_layer_identification"] = {
                "accuracy": real, "chance": 0.2, "n_instances": int(np.unique(inst).size),
                "reference_noise_free": {"rdm": .909, "topology (.45,.55)": .964, "local (0,.3)": .909,
                                         "global (.7,1)": .927, "geometry (.05,.95)": .909},
            }
    return result
