"""
Topological RSA on real RDMs: human IT versus models, and AlexNet layer identification
=======================================================================================

Two analyses on the public rsatoolbox demo RDMs (MIT-licensed, shared data
folder ``rsatoolbox_demo``):

1. **Human IT versus models.** Eight hIT fMRI RDMs (4 subjects x 2 sessions,
   Kriegeskorte et al. 2008, 92 images) are compared with eight model RDMs
   (animacy, monkey IT, early visual, HMAX, ...). A bootstrap over subjects and
   images gives error bars; a leave-one-subject-out noise ceiling says how well
   any model could do.
2. **Which AlexNet layer is this?** 55 RDMs of AlexNet conv1-conv5 seen through
   11 simulated fMRI "measurement models" (smoothing, averaging). Each RDM is
   transformed (rank-normalised RDM, geo-topological RGTMs, geodesic RGDM) and a
   leave-one-measurement-model-out nearest-centroid classifier names its layer
   (Lin & Kriegeskorte, tRSA).

Data: the ``rsatoolbox_demo`` folder of the data home (``$NEURODYN_DATA``, else
``~/neurodyn_data``, downloaded there when missing; in a repository checkout the
shared data folder ``../shared/data`` beside it when the home lacks it); figures
go to ``NEURODYN_TUTORIAL_OUT`` (default ``tutorial_out/``).
``NEURODYN_TUTORIAL_QUICK=1`` runs fewer bootstrap draws and noise repetitions.
The table at the end lists every claim with its measured value, baseline and
verdict.
"""

# %%
# Setup
# -----
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.io as sio
from scipy.spatial.distance import squareform

from neurodyn._claims import ClaimTable, tutorial_data_home
from neurodyn.datasets import fetch_dataset_files
from neurodyn.rsa import (
    TopologicalRSA,
    compare_rdms,
    evaluate_models,
    geotopological_grid,
    geotopological_transform,
    graph_geodesic_transform,
    noise_ceiling,
    rank_transform,
)
from neurodyn.rsa.plotting import (
    plot_accuracy_vs_noise,
    plot_confusion,
    plot_lu_heatmap,
    plot_model_comparison,
    plot_rdm_panels,
)
from neurodyn.rsa.trsa import rdm_noise_sweep

DATA = fetch_dataset_files("rsatoolbox_demo", data_home=tutorial_data_home("rsatoolbox_demo"))
OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
N_BOOT = 20 if QUICK else 200
claims = ClaimTable("topological_rsa")

# %%
# 1. Human IT versus models
# -------------------------
# Load the hIT RDMs (session 1 of BE, KO, SN, TI, then session 2) and the model RDMs
# as upper-triangle vectors (row-major, i < j).
b = sio.loadmat(DATA / "92imageData" / "92_brainRDMs.mat")["RDMs"]
brain = np.stack([squareform(b["RDM"][0, s, k].astype(float), checks=False) for k in range(2) for s in range(4)])
m = sio.loadmat(DATA / "92imageData" / "92_modelRDMs.mat")["Models"]
models = np.stack([squareform(m["RDM"][0, i].astype(float), checks=False) for i in range(8)])
names = [str(m["name"][0, i][0]) for i in range(8)]

# Kendall's tau-a handles the tied entries of categorical models (animacy) exactly;
# its noise ceiling is computed with tau-a too (a ceiling is only comparable with
# scores of the same measure). The 8 RDMs come from 4 subjects: sessions are
# grouped by subject.
subject_of_rdm = np.tile(np.arange(4), 2)
tau = compare_rdms(models, brain, "tau-a")
tau_ceiling = noise_ceiling(brain, method="tau-a", groups=subject_of_rdm)
for name, row in zip(names, tau, strict=True):
    print(f"{name:<24} mean tau-a with hIT = {row.mean():.3f}")
print(f"tau-a noise ceiling: [{tau_ceiling[0]:.3f}, {tau_ceiling[1]:.3f}]")

# %%
# A bootstrap over subjects *and* images (duplicated images' self-pairs are masked)
# and the leave-one-subject-out noise ceiling. The 8 RDMs come from 4 subjects, so
# the two sessions are averaged first to resample true subjects.
subjects = brain.reshape(2, 4, -1).mean(0)
result = evaluate_models(models, subjects, method="corr", n_bootstrap=N_BOOT, random_state=0)
fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
plot_model_comparison(result, names, ax=ax, ylabel="RDM similarity with hIT (Pearson r)")
best_i = int(np.argmax(result.mean))
ax.set_title(f"hIT vs models; error bars: bootstrap SE over subjects x images\n"
             f"best {names[best_i]} r = {result.mean[best_i]:.2f}, noise ceiling "
             f"[{result.noise_ceiling[0]:.2f}, {result.noise_ceiling[1]:.2f}]", fontsize=10)
fig.savefig(OUT / "rsa_hit_model_comparison.png", dpi=110, bbox_inches="tight")
plt.close(fig)
order = np.argsort(-result.mean)
print("models ranked by Pearson r with hIT:", [f"{names[i]} {result.mean[i]:.3f}" for i in order])
print(f"Pearson-r noise ceiling: [{result.noise_ceiling[0]:.3f}, {result.noise_ceiling[1]:.3f}]")
p = result.pairwise_tests()
best, second = order[:2]
print(f"{names[best]} vs {names[second]}: p = {p[best, second]:.3g}")
# the upper bound of the ceiling is what a perfect model could reach; the lower
# bound is what the other subjects' average reaches
claims.add(f"best model ({names[best]}) stays below the upper noise ceiling (Pearson r)", result.mean[best],
           result.noise_ceiling[1], "<", 0.0, f"{names[best]} r", "upper ceiling r")
claims.add(f"best model ({names[best]}) reaches the lower noise ceiling (Pearson r)", result.mean[best],
           result.noise_ceiling[0], ">=", 0.0, f"{names[best]} r", "lower ceiling r")
claims.add(f"best model under tau-a ({names[int(np.argmax(tau.mean(1)))]}) stays below the upper tau-a ceiling",
           float(tau.mean(1).max()), tau_ceiling[1], "<", 0.0, "best tau-a", "upper ceiling tau-a")
claims.add(f"{names[best]} and {names[second]} are not reliably different (bootstrap p >= 0.05)",
           p[best, second], 0.05, ">=", 0.0, "bootstrap p", "alpha")

# %%
# 2. AlexNet layer identification across measurement models
# ----------------------------------------------------------
a = sio.loadmat(DATA / "rdms_inferring" / "modelRDMs_A2020.mat")["modelRDMs"]
rows = [i for i in range(a.shape[1]) if str(a["reprName"][0, i][0]).startswith("conv")]
alex = np.stack([a["RDM"][0, i].ravel().astype(float) for i in rows])
layers = np.array([str(a["reprName"][0, i][0]) for i in rows])
instances = np.array([str(a["measModelName"][0, i][0]) for i in rows])
print(alex.shape, "RDMs;", np.unique(layers).size, "layers x", np.unique(instances).size, "measurement models")

# %%
# What the transforms do to one RDM (conv3, complete measurement model).
one = alex[(layers == "conv3") & (instances == "complete")][0]
fig = plot_rdm_panels({
    "RDM (rank-normalised)": geotopological_transform(one, 0.0, 1.0),
    "RGTM topology (.45, .55)": geotopological_transform(one, 0.45, 0.55),
    "RGTM local (0, .3)": geotopological_transform(one, 0.0, 0.3),
    "RGDM (.2, .8)": graph_geodesic_transform(one, "twostep", lower=0.2, upper=0.8),
}, ncols=4)
fig.savefig(OUT / "rsa_alexnet_transforms.png", dpi=110)
plt.close(fig)

# %%
# Leave-one-measurement-model-out layer identification, without and with noise
# on the rank-normalised RDMs: i.i.d. Gaussian noise of SD = level x the SD of
# all entries, clipped at 0, 5 repetitions per level, all drawn from one
# generator seeded 0 (:func:`neurodyn.rsa.trsa.rdm_noise_sweep`); accuracy is the
# mean over repetitions. Chance is 1/5.
settings = {"RDM (rank)": {"family": "rdm"}, "topology (.45,.55)": {"lower": .45, "upper": .55},
            "local (0,.3)": {"lower": 0.0, "upper": .3}, "global (.7,1)": {"lower": .7, "upper": 1.0},
            "geometry (.05,.95)": {"lower": .05, "upper": .95}, "RGDM (.2,.8)": {"family": "rgdm"}}
levels = (0.0, 0.5, 1.0, 2.0, 4.0)
noisy = rdm_noise_sweep(rank_transform(alex, normalize=True), levels=levels, n_repetitions=2 if QUICK else 5,
                        random_state=0)
table = {}
for i, level in enumerate(levels):
    for label, kw in settings.items():
        accs = [TopologicalRSA(n_bootstrap=0, **kw).fit(rep, layers, instances).accuracy_ for rep in noisy[i]]
        table[(level, label)] = float(np.mean(accs))
print("noise  " + "  ".join(f"{lab:>18}" for lab in settings))
for level in levels:
    print(f"{level:>5}  " + "  ".join(f"{table[(level, lab)]:>18.3f}" for lab in settings))
fig, ax = plt.subplots(figsize=(6.5, 3.8))
plot_accuracy_vs_noise(levels, {label: [table[(level, label)] for level in levels] for label in settings},
                       ax=ax, chance=0.2, xlabel="noise SD (x SD of the rank-normalised entries)")
ax.set_ylabel("leave-one-measurement-model-out\naccuracy", fontsize=9)
ax.set_title(f"at 4 SD: rank RDM {table[(4.0, 'RDM (rank)')]:.2f}, topology "
             f"{table[(4.0, 'topology (.45,.55)')]:.2f}, RGDM {table[(4.0, 'RGDM (.2,.8)')]:.2f} (chance 0.20)",
             fontsize=9)
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_accuracy_vs_noise.png", dpi=110)
plt.close(fig)

# %%
# Bootstrap over measurement models and images for the topology-sensitive RGTM,
# and the confusion matrix of the noise-free rank RDM.
topo = TopologicalRSA(lower=0.45, upper=0.55, n_bootstrap=N_BOOT, random_state=0).fit(alex, layers, instances)
print(f"topology RGTM accuracy {topo.accuracy_:.3f}, bootstrap 95% interval "
      f"[{topo.ci_[0]:.3f}, {topo.ci_[1]:.3f}]")
print("sensitivity per layer:", np.round(topo.sensitivity_, 3), "specificity:", np.round(topo.specificity_, 3))
fig, ax = plt.subplots(figsize=(4, 4))
plot_confusion(topo.confusion_, topo.classes_, ax=ax)
ax.set_title(f"topology RGTM (.45, .55): accuracy {topo.accuracy_:.2f}\n(chance 0.20)", fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_confusion.png", dpi=110)
plt.close(fig)

# %%
# The full (l, u) accuracy map.
grid = geotopological_grid(alex, layers, instances, step=0.1 if QUICK else 0.05)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
plot_lu_heatmap(grid, ax=ax, chance=0.2, label="leave-one-measurement-model-out accuracy")
ax.set_title(f"AlexNet conv-layer identification: best {grid['best_accuracy']:.2f}", fontsize=10)
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_lu_heatmap.png", dpi=110)
plt.close(fig)
print(f"best (l, u) = {grid['best']} with accuracy {grid['best_accuracy']:.3f}")

# %%
# What we found
# -------------
# Each statement below is computed from this run's numbers and judged against
# the baseline in its row (chance is 1/5 for the layer identification).
claims.add("AlexNet layer identified far above chance without noise (topology RGTM)", topo.accuracy_, 0.2,
           ">", 0.3, "LOMO accuracy", "chance")
claims.add("topology RGTM beats the rank RDM without noise", table[(0.0, "topology (.45,.55)")],
           table[(0.0, "RDM (rank)")], ">", 0.0, "topology accuracy", "rank-RDM accuracy")
claims.add("at 4 SD of noise the rank RDM is more robust than the topology RGTM", table[(4.0, "RDM (rank)")],
           table[(4.0, "topology (.45,.55)")], ">", 0.0, "rank-RDM accuracy", "topology accuracy")
claims.add("at 4 SD of noise the RGDM falls to chance (within 0.1)", table[(4.0, "RGDM (.2,.8)")], 0.2,
           "within", 0.1, "RGDM accuracy", "chance")
claims.report(OUT)
