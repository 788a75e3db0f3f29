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

Data are found through ``NEURODYN_DATA`` (default ``../shared/data`` next to the
repository); figures go to ``NEURODYN_TUTORIAL_OUT`` (default ``tutorial_out/``).
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

from neurodyn.rsa import (
    TopologicalRSA,
    compare_rdms,
    evaluate_models,
    geotopological_grid,
    geotopological_transform,
    graph_geodesic_transform,
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

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DATA = Path(os.environ.get("NEURODYN_DATA", here.parents[0].parent / "shared" / "data")) / "rsatoolbox_demo"
OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
if not DATA.is_dir():
    raise SystemExit(f"rsatoolbox demo data not found in {DATA}; set NEURODYN_DATA")

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

# Kendall's tau-a handles the tied entries of categorical models (animacy) exactly.
tau = compare_rdms(models, brain, "tau-a")
for name, row in zip(names, tau, strict=True):
    print(f"{name:<24} mean tau-a with hIT = {row.mean():.4f}")

# %%
# A bootstrap over subjects *and* images (duplicated images' self-pairs are masked)
# and the leave-one-subject-out noise ceiling. The 8 RDMs come from 4 subjects, so
# the two sessions are averaged first to resample true subjects.
subjects = brain.reshape(2, 4, -1).mean(0)
result = evaluate_models(models, subjects, method="corr", n_bootstrap=200, random_state=0)
fig, ax = plt.subplots(figsize=(6, 4))
plot_model_comparison(result, names, ax=ax)
ax.set_title("hIT vs models (bootstrap: subjects x images)", fontsize=10)
fig.savefig(OUT / "rsa_hit_model_comparison.png", dpi=110)
plt.close(fig)
order = np.argsort(-result.mean)
print("models ranked by correlation with hIT:", [names[i] for i in order])
print(f"noise ceiling: [{result.noise_ceiling[0]:.3f}, {result.noise_ceiling[1]:.3f}]")
p = result.pairwise_tests()
best, second = order[:2]
print(f"{names[best]} vs {names[second]}: p = {p[best, second]:.3g}")

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
noisy = rdm_noise_sweep(rank_transform(alex, normalize=True), levels=levels, n_repetitions=5, random_state=0)
table = {}
for i, level in enumerate(levels):
    for label, kw in settings.items():
        accs = [TopologicalRSA(n_bootstrap=0, **kw).fit(rep, layers, instances).accuracy_ for rep in noisy[i]]
        table[(level, label)] = float(np.mean(accs))
print("noise  " + "  ".join(f"{lab:>18}" for lab in settings))
for level in levels:
    print(f"{level:>5}  " + "  ".join(f"{table[(level, lab)]:>18.3f}" for lab in settings))
fig, ax = plt.subplots(figsize=(5.5, 3.5))
plot_accuracy_vs_noise(levels, {label: [table[(level, label)] for level in levels] for label in settings},
                       ax=ax, chance=0.2, xlabel="noise SD (x SD of the rank-normalised entries)")
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_accuracy_vs_noise.png", dpi=110)
plt.close(fig)

# %%
# Bootstrap over measurement models and images for the topology-sensitive RGTM,
# and the confusion matrix of the noise-free rank RDM.
topo = TopologicalRSA(lower=0.45, upper=0.55, n_bootstrap=200, random_state=0).fit(alex, layers, instances)
print(f"topology RGTM accuracy {topo.accuracy_:.3f}, bootstrap 95% interval "
      f"[{topo.ci_[0]:.3f}, {topo.ci_[1]:.3f}]")
print("sensitivity per layer:", np.round(topo.sensitivity_, 3), "specificity:", np.round(topo.specificity_, 3))
fig, ax = plt.subplots(figsize=(4, 4))
plot_confusion(topo.confusion_, topo.classes_, ax=ax)
ax.set_title("topology RGTM (.45, .55)")
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_confusion.png", dpi=110)
plt.close(fig)

# %%
# The full (l, u) accuracy map.
grid = geotopological_grid(alex, layers, instances, step=0.05)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
plot_lu_heatmap(grid, ax=ax, chance=0.2)
ax.set_title("AlexNet conv-layer identification")
fig.tight_layout()
fig.savefig(OUT / "rsa_alexnet_lu_heatmap.png", dpi=110)
plt.close(fig)
print(f"best (l, u) = {grid['best']} with accuracy {grid['best_accuracy']:.3f}")

# %%
# What we found
# -------------
# - Animacy is the best-matching model of human IT under tau-a (0.179) and
#   correlation, closely followed by monkey IT; the two are not reliably different
#   under the bootstrap over subjects and images (p ~ 0.4), and every model stays
#   below the upper noise ceiling (~0.73 under corr): human IT holds structure no model explains.
# - Without noise, the layer of an AlexNet RDM is identified across measurement
#   models far above chance (1/5) by every transform; the topology-sensitive RGTM
#   (.45, .55) does best (53 of 55 RDMs, as do a band of (l, u) around the middle
#   of the map).
# - With noise on the rank-normalised entries, accuracy holds up to 1 SD and then
#   falls: at 4 SD the rank RDM and the geometry-sensitive RGTM (.05, .95) keep
#   0.716, the topology, local and global RGTMs 0.63-0.64, and the RGDM drops to
#   chance (0.22). The topology-sensitive RGTM's noise-free lead (0.964 vs 0.909)
#   is gone at 2 SD (0.844 vs 0.895): on these RDMs, whose measurement models
#   mostly differ by smoothing, the full rank geometry is the more noise-robust
#   layer signature.
