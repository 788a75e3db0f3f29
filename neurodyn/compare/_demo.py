"""``neurodyn demo`` part for model-versus-brain comparison.

Simulated ground truth: brain regions that are noisy linear read-outs of known
layers of a random deep network. Every method should name the driving layer
for every region; the split-half noise ceiling should match the reliability
set by the simulation; the encoding model's held-out r should approach, and
not pass, the ceiling on r, the square root of that reliability, so its ceiled
score (r / sqrt(reliability)) is at most 1 up to sampling noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None,
             verbose: bool = False) -> dict:
    """Compare simulated layers with simulated regions by every method; figures and numbers.

    ``verbose`` shows progress bars (stderr) over the full run's comparisons.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..datasets.simulate.compare import simulate_layers_and_regions
    from .encoding import cross_validated_encoding, split_half_noise_ceiling
    from .plotting import plot_encoding_scores, plot_score_matrix
    from .table import compare_representations

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sim = simulate_layers_and_regions(
        n_conditions=45 if quick else 200, n_layers=5, layer_width=24 if quick else 64,
        region_layers=(0, 2, 4), voxels_per_region=40 if quick else 300, n_repeats=4,
        noise_sd=1.0, random_state=0)
    methods = ("rsa", "cka", "procrustes", "encoding")
    table = compare_representations(sim["layers"], sim["regions"], methods=methods, cv=5, random_state=0,
                                    verbose=verbose and not quick)
    # permutation p-values of linear CKA for the true (layer, region) pairs
    p_values = {}
    for reg, layer in sim["true_layer"].items():
        t = compare_representations({layer: sim["layers"][layer]}, {reg: sim["regions"][reg]},
                                    methods=("cka",), cv=None, n_permutations=49 if quick else 500,
                                    random_state=0)  # one task each: a bar would only say 1/1
        p_values[reg] = t.rows[0]["p_value"]
    accuracy = {}
    chosen = {}
    for method in methods:
        M, layers, regions = table.matrix(method)
        best = np.argmin(M, axis=0) if method == "procrustes" else np.argmax(M, axis=0)
        chosen[method] = {reg: layers[b] for reg, b in zip(regions, best, strict=True)}
        accuracy[method] = float(np.mean([chosen[method][reg] == sim["true_layer"][reg] for reg in regions]))

    ceilings = {reg: split_half_noise_ceiling(rep, n_splits=20, random_state=0)
                for reg, rep in sim["repeats"].items()}
    enc = {}
    for reg, Y in sim["regions"].items():
        res = cross_validated_encoding(sim["layers"][sim["true_layer"][reg]], Y, cv=5,
                                       noise_ceiling=ceilings[reg], random_state=0)
        enc[reg] = res

    figures = []
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.8))
    for ax, method in zip(axes, methods, strict=True):
        plot_score_matrix(table, method, ax=ax)
    truth = ", ".join(f"{reg}<-{layer}" for reg, layer in sim["true_layer"].items())
    found = "; ".join(f"{m} {round(accuracy[m] * len(sim['regions']))}/{len(sim['regions'])}" for m in methods)
    fig.suptitle(f"layer x region scores; red box = best layer per region (truth: {truth})\n"
                 f"true layer found: {found} (chance {1 / len(sim['layers']):.0%} per region)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "compare_layer_region_scores.png", dpi=90)
    plt.close(fig)
    figures.append("compare_layer_region_scores.png")

    fig, axes = plt.subplots(1, len(enc), figsize=(4 * len(enc), 3.2))
    for ax, (reg, res) in zip(np.atleast_1d(axes), enc.items(), strict=True):
        plot_encoding_scores(res["r"], ceilings[reg], ax=ax)
        ax.set_title(f"{reg} from {sim['true_layer'][reg]}: {res['ceiled_score']:.0%} of the ceiling",
                     fontsize=10)
    fig.tight_layout()
    fig.savefig(out_dir / "compare_encoding_vs_ceiling.png", dpi=90)
    plt.close(fig)
    figures.append("compare_encoding_vs_ceiling.png")

    return {
        "figures": figures,
        "layer_identification_accuracy": accuracy,
        "chance": 1.0 / len(sim["layers"]),
        "chosen_layer": chosen,
        "truth": sim["true_layer"],
        "cka_permutation_p_true_pairs": p_values,
        "noise_ceiling_median": {reg: float(np.median(c)) for reg, c in ceilings.items()},
        "noise_ceiling_truth": sim["reliability"],
        "encoding_median_r": {reg: float(r["score"]) for reg, r in enc.items()},
        "encoding_r_ceiling": {reg: float(r["r_ceiling"]) for reg, r in enc.items()},
        "encoding_ceiled": {reg: float(r["ceiled_score"]) for reg, r in enc.items()},
        "encoding_r_upper_bound": float(np.sqrt(sim["reliability"])),
    }
