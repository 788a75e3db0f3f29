"""The connectome part of ``neurodyn demo``: planted dynamic communities, recovered vs true."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _per_component_fms(truth, factors, match):
    out = []
    for c in range(truth[0].shape[1]):
        prod = 1.0
        for t, f in zip(truth, factors, strict=True):
            prod *= abs(t[:, c] @ f[:, match[c]]) / (np.linalg.norm(t[:, c]) * np.linalg.norm(f[:, match[c]]))
        out.append(float(prod))
    return out


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None,
             verbose: bool = False) -> dict:
    """Fit a DynamicConnectome to planted data and compare with the truth.

    Uses the shared planted fixture when ``data_home`` holds it (full run), or
    the simulator otherwise (and always when ``quick``). ``verbose`` shows the
    NTF progress bars of the full run (on stderr).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import adjusted_rand_score

    from ..datasets.simulate import dynamic_connectome, planted_connectome_factors
    from . import DynamicConnectome, factor_match_score
    from .plotting import plot_components, plot_rank_sweep

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fixture = None if data_home is None else Path(data_home) / "synthetic_dynamic_connectome" / "planted_default_seed0.npz"
    if quick:
        sim = dynamic_connectome(6, 36, 1000, community_sizes=(8, 8, 6),
                                 windows=((100, 350), (450, 700), (750, 950)), random_state=0)
        traces, membership, windows, animals = sim["traces"], sim["membership"], sim["windows"], sim["animals"]
        source, rank, ranks, restarts = "simulated (quick: 6 animals, 36 neurons)", 4, range(1, 7), 3
    elif fixture is not None and fixture.is_file():
        with np.load(fixture, allow_pickle=False) as f:
            # the file stores (animals, neurons, time); the package layout is (animals, time, neurons)
            traces = np.swapaxes(f["traces"], 1, 2)
            membership, windows, animals = f["membership"], f["windows"], f["worms"]
        source, rank, ranks, restarts = "shared planted fixture (rho = 0.8)", 4, range(1, 8), 6
    else:
        sim = dynamic_connectome(random_state=0)
        traces, membership, windows, animals = sim["traces"], sim["membership"], sim["windows"], sim["animals"]
        source, rank, ranks, restarts = "simulated (fixture generator, seed 0)", 4, range(1, 8), 6

    dc = DynamicConnectome(rank, n_restarts=restarts if quick else 10, max_iter=200 if quick else 300,
                           tol=1e-6 if quick else 1e-7, random_state=0,
                           verbose=verbose and not quick).fit(traces)
    sweep = dc.rank_sweep(ranks, n_restarts=restarts, max_iter=100 if quick else 300)
    truth = planted_connectome_factors(membership, windows, animals, traces.shape[1])
    factors = [dc.pair_factors_, dc.time_factors_, dc.animal_factors_]
    overall, match = factor_match_score(truth, factors, return_permutation=True)
    per_fms = _per_component_fms(truth, factors, match)
    ari_motif = [float(adjusted_rand_score(membership == c, dc.motif_nodes_[match[c]]))
                 for c in range(len(windows))]
    ari_louvain = [float(adjusted_rand_score(membership == c, dc.communities_[match[c]]))
                   for c in range(len(windows))]

    figures = []
    fig = plot_components(dc, schedule=[tuple(w) for w in windows], schedule_label="planted windows")
    fig.suptitle(f"{source}: factor match score with the planted factors {overall:.2f} (1 = exact); "
                 f"motif ARI {min(ari_motif):.2f}-{max(ari_motif):.2f} (chance 0)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "connectome_components.png", dpi=80)
    plt.close(fig)
    figures.append("connectome_components.png")
    fig = plot_rank_sweep(sweep)
    planted = len(windows) + 1
    fig.suptitle(f"rank sweep: elbow at R = {sweep['elbow_rank']}, planted R = {planted} "
                 f"({len(windows)} communities + background)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "connectome_rank_sweep.png", dpi=80)
    plt.close(fig)
    figures.append("connectome_rank_sweep.png")

    return {
        "figures": figures,
        "data": source,
        "n_components": rank,
        "reconstruction_error": dc.reconstruction_error_,
        "factor_match_score": float(overall),
        "factor_match_score_per_community": per_fms,
        "motif_ari_per_community": ari_motif,
        "louvain_ari_per_community": ari_louvain,
        "background_component_found": bool(dc.background_.any()),
        "rank_sweep_best_errors": sweep["best_errors"].tolist(),
        "rank_sweep_stability": [float(s) for s in sweep["stability"]],
        "elbow_rank": sweep["elbow_rank"],
        "truth": {"n_communities": int(len(windows)), "rank_with_background": int(len(windows)) + 1},
        "chance": {"motif_ari": 0.0},
    }
