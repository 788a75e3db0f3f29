"""
An RNN fitted to Aplysia population activity, compared through GLM couplings and geometry
==========================================================================================

Pedal-ganglion neurons of *Aplysia* were imaged while fictive locomotion
was evoked three times in the same preparation (Bruno, Frost & Humphries
2017). We fit a leaky RNN to the smoothed firing rates of the most active
neurons in runs 1 and 2 with generalised teacher forcing, let it run freely,
draw Poisson spikes from its rates, and put model and data through the same
estimators:

- a state-switching (HMM) Poisson GLM, whose per-state coupling matrices
  summarise who drives whom, fitted separately to data and model spikes;
- the representational geometry of the neurons' correlation profiles (RSA
  and CKA with neurons as "conditions"), against run 3, which the model
  never saw.

Baselines: the same model spikes with the neuron labels shuffled (same
dynamics, no neuron identity) and, as the level a perfect model could reach,
the data compared with itself (GLM couplings of runs 1-2 against run 3; the
geometry of runs 1-2 against run 3). The table at the end lists every claim
with its measured value, baseline and verdict.

Data: the ``aplysia_pedal_bruno2017`` folder of the data home
(``$NEURODYN_DATA``, else ``~/neurodyn_data``; in a repository checkout the
shared data folder ``../shared/data`` beside it when the home lacks it).
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
from scipy.ndimage import gaussian_filter1d

from neurodyn._claims import ClaimTable, tutorial_data_home
from neurodyn.compare import compare_representations
from neurodyn.datasets import load_aplysia
from neurodyn.glm import StateSwitchingGLM
from neurodyn.rnn.fit_dynamics import DynamicsRNN

DATA = tutorial_data_home("aplysia_pedal_bruno2017")
OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
torch.set_num_threads(1)
rng = np.random.default_rng(0)
claims = ClaimTable("model_vs_brain_spikes")

# %%
# Data: one preparation, three runs, the 24 most active neurons
# -------------------------------------------------------------
apl = load_aplysia(preparation="Jun0214", bin_width=0.2, data_home=DATA)
counts = [c.astype(float) for c in apl.counts]
active = np.argsort(counts[0].sum(0) + counts[1].sum(0))[::-1][:24]
counts = [c[:, active] for c in counts]
print(f"runs {apl.recordings}: {counts[0].shape[0]} bins of 0.2 s x {counts[0].shape[1]} neurons")
# rates on a square-root scale (variance-stabilised), smoothed over 2 bins
rates = [gaussian_filter1d(np.sqrt(c), 2.0, axis=0) for c in counts]
train, test = rates[:2], rates[2]

# %%
# Fit and simulate
# ----------------
model = DynamicsRNN(n_units=48, n_epochs=50 if QUICK else 200, seq_len=20, batch_size=32, lr=5e-3,
                    forcing=0.5, forcing_end=0.2, random_state=0, verbose=True).fit(train)
print(f"forced one-step error on run 3 (z units^2): {model.score(test):.3f}")
n_bins = counts[0].shape[0]
sim_rates = [np.clip(model.simulate(n_bins, x0=r[0], noise_std=0.3, random_state=i), 0, None)
             for i, r in enumerate(rates)]
# back from the smoothed square-root scale to counts per bin
model_counts = [rng.poisson(r ** 2).astype(float) for r in sim_rates]
shuffled_counts = [c[:, rng.permutation(c.shape[1])] for c in model_counts]
print("mean spikes/bin: data %.3f, model %.3f" % (np.mean(counts), np.mean(model_counts)))

# %%
# State-switching GLM couplings
# -----------------------------
def fit_glm(runs):
    return StateSwitchingGLM(n_states=2, n_lags=3, max_iter=15 if QUICK else 300, random_state=0,
                             verbose=True).fit(
        [r.astype(np.int64) for r in runs])


def coupling_similarity(a, b):
    """Best Pearson r of off-diagonal couplings over the two state matchings."""
    off = ~np.eye(a.shape[-1], dtype=bool)
    best = -np.inf
    for order in ([0, 1], [1, 0]):
        r = np.mean([np.corrcoef(a[s][off], b[order[s]][off])[0, 1] for s in range(2)])
        best = max(best, r)
    return float(best)


glm_data = fit_glm(counts)
glm_model = fit_glm(model_counts)
glm_shuffled = fit_glm(shuffled_counts)
W = {name: g.coupling_.reshape(g.coupling_.shape[:3] + (-1,)).sum(-1)
     for name, g in (("data", glm_data), ("model", glm_model), ("shuffled", glm_shuffled))}
sim_model = coupling_similarity(W["data"], W["model"])
sim_shuffled = coupling_similarity(W["data"], W["shuffled"])
# the attainable level: couplings of the data's runs 1-2 against those of its run 3
def summed_coupling(g):
    return g.coupling_.reshape(g.coupling_.shape[:3] + (-1,)).sum(-1)


sim_data = coupling_similarity(summed_coupling(fit_glm(counts[:2])), summed_coupling(fit_glm(counts[2:])))
print(f"GLM coupling similarity with data (Pearson r of off-diagonal couplings): model {sim_model:.3f}, "
      f"shuffled model {sim_shuffled:.3f}; data runs 1-2 vs run 3 {sim_data:.3f}")

# %%
# Geometry of correlation profiles against the held-out run
# ---------------------------------------------------------
def corr_profile(c):
    return np.corrcoef(gaussian_filter1d(c, 2.0, axis=0).T)


profiles = {"model": np.mean([corr_profile(c) for c in model_counts], 0),
            "shuffled model": np.mean([corr_profile(c) for c in shuffled_counts], 0),
            "runs 1-2 (data)": np.mean([corr_profile(c) for c in counts[:2]], 0)}
table = compare_representations(profiles, {"run 3": corr_profile(counts[2])}, methods=("rsa", "cka"),
                                cv=None, n_permutations=50 if QUICK else 200, random_state=0)
print(table)

# %%
# Figures
# -------
fig, axes = plt.subplots(2, 3, figsize=(12.5, 7.4), layout="constrained")
# one symmetric scale for the three coupling panels, so that their colours compare
lim = max(np.abs(W[name][0]).max() for name in W)
coupling_titles = {"data": "data (runs 1-3)", "model": f"model: r = {sim_model:.2f} with data",
                   "shuffled": f"shuffled model: r = {sim_shuffled:.2f}"}
for ax, name in zip(axes[0], ("data", "model", "shuffled"), strict=True):
    im = ax.imshow(W[name][0], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title(f"GLM coupling, state 0, {coupling_titles[name]}", fontsize=9)
    ax.set_xlabel("presynaptic neuron")
    ax.set_ylabel("postsynaptic neuron")
fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="summed coupling weight")
t = np.arange(n_bins) * 0.2
vmax_counts = max(counts[2].max(), model_counts[2].max())
for ax, c, title in ((axes[1, 0], counts[2], "run 3 (data, held out)"),
                     (axes[1, 1], model_counts[2], "free-running model")):
    raster = ax.imshow(c.T, aspect="auto", cmap="Greys", extent=(0, t[-1], 24, 0), vmin=0, vmax=vmax_counts,
                       interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron (by activity)")
fig.colorbar(raster, ax=list(axes[1, :2]), shrink=0.8, label="spikes per 0.2 s bin")
M, names, _ = table.matrix("rsa")
axes[1, 2].bar(range(len(names)), M[:, 0], color=["C0", "C7", "C2"])
axes[1, 2].set_xticks(range(len(names)), names, rotation=20)
axes[1, 2].set_ylabel("RSA with run 3 (Spearman r)")
p_rsa = table.select(method="rsa", model="model").rows[0]["p_value"]
axes[1, 2].set_title(f"correlation-profile geometry: model p = {p_rsa:.3f}\n"
                     "grey: shuffled baseline; green: the data's own runs", fontsize=9)
fig.savefig(OUT / "spikes_model_vs_data.png", dpi=90)

# %%
# What we found
# -------------
rsa = {r["model"]: (r["score"], r["p_value"]) for r in table.select(method="rsa")}
claims.add("model geometry resembles the held-out run more than the label-shuffled model's",
           rsa["model"][0], rsa["shuffled model"][0], ">", 0.1, "model RSA", "shuffled RSA")
claims.add("model geometry reaches the data's own level (runs 1-2 vs run 3)", rsa["model"][0],
           rsa["runs 1-2 (data)"][0], ">=", 0.0, "model RSA", "data runs 1-2 RSA")
claims.add("model RSA with the held-out run is significant", rsa["model"][1], 0.05, "<", 0.0,
           "permutation p", "alpha")
claims.add("model GLM couplings resemble the data's more than the label-shuffled model's", sim_model,
           sim_shuffled, ">", 0.1, "model coupling r", "shuffled coupling r")
claims.add("model GLM couplings match the data's as well as the data's own runs match each other",
           sim_model, sim_data, ">=", 0.0, "model coupling r", "data runs 1-2 vs 3 r")
claims.report(OUT)
