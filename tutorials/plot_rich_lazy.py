"""
Initial connectivity rank and rich vs lazy learning
===================================================

Reduced CPU reproduction of Liu, Baratin, Cornford, Mihalas, Shea-Brown & Lajoie (ICLR 2024),
"How connectivity structure shapes rich and lazy learning in neural circuits".

A ReLU RNN (tau = dt, no biases) starts from recurrent weights ``W0 = 1.25 N(0, 1/n)``
truncated to rank r and rescaled to the same Frobenius norm (the same W0 for every r), and
learns a two-alternative perceptual decision (8 steps, batch 32, SGD 0.003 / momentum 0.9).

The paper's claim: **lower initial rank -> richer learning** (larger weight change, lower
alignment between the initial and final tangent kernels and representations); higher rank ->
lazier. Measured here: weight change ``||W_T - W_0||_F``, tangent-kernel alignment (KA, w.r.t. the
recurrent weights, all steps and outputs of 32 fixed trials), representation alignment (RA,
decision-step states of 320 fixed trials) and sign similarity.

Environment: ``NEURODYN_TUTORIAL_OUT`` (default ``tutorial_out/``), ``NEURODYN_RL_UNITS`` (300),
``NEURODYN_RL_STEPS`` (3000), ``NEURODYN_RL_SEEDS`` ("0,1,2"), ``NEURODYN_RL_RANKS`` ("1,30,100,300").
The table at the end lists every claim with its measured value (seed median),
baseline and verdict; the figure's title repeats the verdicts.
"""

# %%
# Setup
# -----
import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from neurodyn._claims import ClaimTable  # noqa: E402
from neurodyn.rnn import (  # noqa: E402
    LeakyRNN,
    PerceptualDecision,
    effective_rank,
    kernel_alignment,
    representation_alignment,
    sign_similarity,
    tangent_kernel,
    train_task,
    training_preset,
    weight_change,
)
from neurodyn.rnn.plotting import plot_rich_lazy  # noqa: E402

OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out")) / "rich_lazy"
OUT.mkdir(parents=True, exist_ok=True)
N_UNITS = int(os.environ.get("NEURODYN_RL_UNITS", "300"))
STEPS = int(os.environ.get("NEURODYN_RL_STEPS", "3000"))
SEEDS = [int(s) for s in os.environ.get("NEURODYN_RL_SEEDS", "0,1,2").split(",")]
RANKS = sorted({min(int(r), N_UNITS) for r in os.environ.get("NEURODYN_RL_RANKS", f"1,30,100,{N_UNITS}").split(",")})
torch.set_num_threads(int(os.environ.get("NEURODYN_THREADS", "1")))

schedule = training_preset("paper_b")
claims = ClaimTable("rich_lazy")
task = PerceptualDecision(noise_std=0.1)

# %%
# Train one network per (seed, rank) and measure how much it moved
# ----------------------------------------------------------------
metrics = {name: np.zeros((len(SEEDS), len(RANKS))) for name in
           ("weight change", "kernel alignment", "representation alignment", "sign similarity",
            "final loss")}
for i, seed in enumerate(SEEDS):
    fixed = task.sample(320, generator=torch.Generator().manual_seed(1000 + seed))
    ntk_x = fixed.inputs[:, :32]
    for j, rank in enumerate(RANKS):
        t0 = time.perf_counter()
        net = LeakyRNN.from_preset("paper_b", n_units=N_UNITS, init_rank=rank if rank < N_UNITS else None,
                                   random_state=seed)
        w0 = net.weight_hh.detach().clone()
        with torch.no_grad():
            a0 = net(fixed.inputs)[0][-1].numpy()
        k0 = tangent_kernel(net, ntk_x)
        hist = train_task(net, task, n_steps=STEPS, batch_size=schedule["batch_size"], lr=schedule["lr"],
                          momentum=schedule["momentum"], random_state=seed, verbose=True)
        with torch.no_grad():
            at = net(fixed.inputs)[0][-1].numpy()
        kt = tangent_kernel(net, ntk_x)
        metrics["weight change"][i, j] = weight_change(w0, net.weight_hh)
        metrics["kernel alignment"][i, j] = kernel_alignment(k0, kt)
        metrics["representation alignment"][i, j] = representation_alignment(a0, at)
        metrics["sign similarity"][i, j] = sign_similarity(a0, at)
        metrics["final loss"][i, j] = float(hist.loss_curve_[-100:].mean())
        print(f"seed {seed} rank {rank:>4} (effective {effective_rank(w0.numpy()):6.1f}): "
              + ", ".join(f"{k} {v[i, j]:.3f}" for k, v in metrics.items())
              + f"  [{time.perf_counter() - t0:.0f} s]")

lo, hi = 0, len(RANKS) - 1
ka, dw, ra = (metrics[k] for k in ("kernel alignment", "weight change", "representation alignment"))
med = lambda a, j: float(np.median(a[:, j]))  # noqa: E731
c_ka = claims.add(f"lower rank -> lower kernel alignment: KA(rank {RANKS[lo]}) < 0.5 KA(rank {RANKS[hi]})",
                  med(ka, lo), 0.5 * med(ka, hi), "<", 0.0, f"KA rank {RANKS[lo]}", f"0.5 x KA rank {RANKS[hi]}")
c_dw = claims.add(f"lower rank -> larger weight change: dW(rank {RANKS[lo]}) > 1.05 dW(rank {RANKS[hi]})",
                  med(dw, lo), 1.05 * med(dw, hi), ">", 0.0, f"dW rank {RANKS[lo]}", f"1.05 x dW rank {RANKS[hi]}")
c_ra = claims.add(f"lower rank -> lower representation alignment: RA(rank {RANKS[lo]}) < RA(rank {RANKS[hi]})",
                  med(ra, lo), med(ra, hi), "<", 0.0, f"RA rank {RANKS[lo]}", f"RA rank {RANKS[hi]}")
claims.add("both extreme ranks learn the task (largest final loss < 0.05)",
           float(np.max(metrics["final loss"][:, [lo, hi]])), 0.05, "<", 0.0, "largest final loss", "0.05")
if len(RANKS) > 2:
    claims.add("KA grows with rank (smallest step between seed medians > 0)",
               float(np.min(np.diff(np.median(ka, 0)))), 0.0, ">", 0.0, "smallest KA step", "0")

fig, axes = plot_rich_lazy(RANKS, {k: v for k, v in metrics.items() if k != "final loss"},
                           summary="median")  # the claims compare seed medians
fig.suptitle(f"lower initial rank -> richer? weight change {c_dw.verdict}, kernel alignment {c_ka.verdict}, "
             f"representation alignment {c_ra.verdict}", fontsize=8, y=1.02)
fig.savefig(OUT / "rank_vs_laziness.png", dpi=110, bbox_inches="tight")
plt.close(fig)

with open(OUT / "results.json", "w") as fh:
    json.dump({"ranks": RANKS, "seeds": SEEDS, "n_units": N_UNITS, "steps": STEPS,
               "metrics": {k: v.tolist() for k, v in metrics.items()}, "claims": claims.rows()}, fh, indent=1)
print("Results written to", OUT / "results.json")
claims.report(OUT)
