"""
Five recurrent architectures on one memory task, their timescales, and the brain
=================================================================================

:func:`neurodyn.rnn.make_rnn` builds five cells with one interface: the leaky RNN with
trainable time constants, GRU and LSTM (PyTorch's fused kernels), a diagonal linear state
space with a nonlinear readout (S4D/LRU-style, run as a parallel scan) and causal linear
attention computed as a recurrence. Here each is trained on the same memory task (N-parity:
the parity of the last N bits of a binary stream) with the same training loop, and then

1. their ``timescales_()`` (tau for the leaky cell, ``-1/log|lambda|`` for the SSM and the
   attention memory, ``-1/log(gate)`` for GRU/LSTM) are set against a timescale measured
   the same way for every cell: the decay time of the states' autocorrelation under the
   task's input stream;
2. their representations of the same probe trials are compared with linear CKA
   (:func:`neurodyn.compare.linear_cka`), trained against untrained;
3. each cell is driven by a binary stream made from *Aplysia* pedal-ganglion population
   activity (the ``aplysia_pedal_bruno2017`` data set, skipped when absent) and its states
   are compared with the recorded population over the same time bins (CKA over time
   bins, against the recording shifted in time);
4. the cell that learns the task worst alone is trained again with representational
   alignment (:func:`neurodyn.compare.train_aligned`) toward the representation of the
   cell that learned it best, against the same training alone and against the same
   guidance by an untrained network of the teacher's architecture.

Every statement is a computed claim with a baseline and a verdict, listed at the end.
Environment: ``NEURODYN_TUTORIAL_OUT`` (figure folder, default ``tutorial_out/``),
``NEURODYN_TUTORIAL_QUICK=1`` (fewer training steps, for the test suite),
``NEURODYN_ARCH_STEPS`` (training steps per network, default 500).

Data: the ``aplysia_pedal_bruno2017`` folder of the data home (``$NEURODYN_DATA``, else
``~/neurodyn_data``; in a repository checkout ``../shared/data`` beside it).
"""

# %%
# Setup
# -----
import itertools
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from neurodyn._claims import ClaimTable, tutorial_data_home  # noqa: E402
from neurodyn.compare import linear_cka, train_aligned  # noqa: E402
from neurodyn.rnn import CELLS, NParity, evaluate, make_rnn, train_task  # noqa: E402

OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out")) / "architectures"
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
STEPS = int(os.environ.get("NEURODYN_ARCH_STEPS", "250" if QUICK else "500"))
torch.set_num_threads(1)
claims = ClaimTable("architectures")
t_start = time.perf_counter()

N = 3            # memory span of the task
UNITS = 32
task = NParity(N, seq_len=(N + 2, 4 * N + 2))
test_gen = lambda: torch.Generator().manual_seed(777)  # noqa: E731
fit_kw = dict(batch_size=64, optimizer="adam", lr=3e-3, clip=1.0)

# %%
# Train the five cells on the same task
# -------------------------------------
# Same width, optimiser, steps and task batches for every cell.
nets, untrained, acc = {}, {}, {}
for cell in CELLS:
    untrained[cell] = make_rnn(cell, n_units=UNITS, random_state=0, device="cpu")
    net = make_rnn(cell, n_units=UNITS, random_state=0, device="cpu")
    t0 = time.perf_counter()
    train_task(net, task, n_steps=STEPS, random_state=0, verbose=True, **fit_kw)  # bar on stderr
    nets[cell] = net
    acc[cell] = float(evaluate(net, task, n_batches=8, batch_size=256, generator=test_gen())[0])
    print(f"{cell:16s} test accuracy on {N}-parity after {STEPS} steps: {acc[cell]:.3f} "
          f"({time.perf_counter() - t0:.1f} s)")
for cell in CELLS:
    claims.add(f"{cell} learns {N}-parity above chance", acc[cell], 0.5, ">", 0.1,
               "test accuracy", "chance")

# %%
# Timescales: the cells' own definition against a measured one
# ------------------------------------------------------------
# ``timescales_(x)`` with the task's input (GRU/LSTM gates averaged over it). The measured
# timescale is the lag at which the units' mean autocorrelation under a long input stream
# (p = 0.5 bits, 2000 steps) falls below 1/e. If the definitions are comparable across cells,
# the cells with longer ``timescales_`` should have slower states.
stream = (torch.rand(2000, 4, 1, generator=torch.Generator().manual_seed(1)) < 0.5).float()


def autocorrelation_time(states, max_lag=60):
    """Lag (steps) where the mean autocorrelation of the units falls below 1/e."""
    z = states - states.mean(0)
    var = (z ** 2).mean(0)
    keep = var > 1e-12
    z, var = z[:, keep], var[keep]
    ac = np.array([1.0] + [((z[:-k] * z[k:]).mean(0) / var).mean() for k in range(1, max_lag + 1)])
    below = np.nonzero(ac < np.exp(-1))[0]
    if len(below) == 0:
        return float(max_lag)
    k = below[0]  # linear interpolation between lags k - 1 and k
    return float(k - 1 + (ac[k - 1] - np.exp(-1)) / (ac[k - 1] - ac[k]))


tau_def, tau_meas = {}, {}
probe_for_gates = task.sample(64, generator=torch.Generator().manual_seed(2))
for cell, net in nets.items():
    tau = np.asarray(net.timescales_(probe_for_gates.inputs) if cell in ("gru", "lstm") else net.timescales_())
    tau_def[cell] = float(np.median(tau[np.isfinite(tau)]))
    with torch.no_grad():
        states = net(stream)[0].numpy()
    tau_meas[cell] = float(np.mean([autocorrelation_time(states[:, b]) for b in range(states.shape[1])]))
    print(f"{cell:16s} median timescales_() {tau_def[cell]:6.2f} steps; measured autocorrelation time "
          f"{tau_meas[cell]:6.2f} steps")
# Five cells give a coarse rank correlation: the baseline is the 95th percentile of rho over
# all 120 orderings of the measured timescales (what chance ordering reaches).
rho = float(spearmanr([tau_def[c] for c in CELLS], [tau_meas[c] for c in CELLS])[0])
null = [spearmanr([tau_def[c] for c in CELLS], perm)[0]
        for perm in itertools.permutations([tau_meas[c] for c in CELLS])]
rho_95 = float(np.percentile(null, 95))
claims.add("cells with longer timescales_() have slower states (Spearman rho over the 5 cells)",
           rho, rho_95, ">", 0.0, "rho", "95th percentile over orderings")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].bar(range(len(CELLS)), [acc[c] for c in CELLS], color="0.4")
axes[0].axhline(0.5, color="k", ls=":", lw=1)
axes[0].set_xticks(range(len(CELLS)), CELLS, rotation=20, fontsize=8)
axes[0].set_ylabel(f"test accuracy, {N}-parity")
axes[0].set_ylim(0, 1.05)
for c in CELLS:
    axes[1].scatter(tau_def[c], tau_meas[c])
    axes[1].annotate(c, (tau_def[c], tau_meas[c]), fontsize=8)
axes[1].set_xscale("log")
axes[1].set_xlabel("median timescales_() (steps)")
axes[1].set_ylabel("measured autocorrelation time (steps)")
axes[1].set_title(f"Spearman rho {rho:.2f} (chance orderings' 95th percentile {rho_95:.2f})", fontsize=9)
fig.tight_layout()
fig.savefig(OUT / "accuracy_timescales.png", dpi=110)
plt.close(fig)

# %%
# Representations compared across cells (CKA)
# -------------------------------------------
# The states at the last step of 256 probe trials (conditions), trained and untrained.
probe = task.sample(256, generator=torch.Generator().manual_seed(3))


def last_states(net):
    return net.record(probe).states[:, -1]


def cka_matrix(models):
    reps = [last_states(models[c]) for c in CELLS]
    return np.array([[linear_cka(a, b, device="cpu") for b in reps] for a in reps])


cka_trained, cka_untrained = cka_matrix(nets), cka_matrix(untrained)
off = ~np.eye(len(CELLS), dtype=bool)
mean_trained, mean_untrained = float(cka_trained[off].mean()), float(cka_untrained[off].mean())
print(f"mean CKA between different cells: trained {mean_trained:.3f}, untrained {mean_untrained:.3f}")
claims.add("training on the same task makes the cells' representations more alike (mean pairwise CKA)",
           mean_trained, mean_untrained, ">", 0.0, "trained", "untrained")

fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4))
for ax, mat, title in ((axes[0], cka_untrained, "untrained"), (axes[1], cka_trained, "trained")):
    im = ax.imshow(mat, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(CELLS)), CELLS, rotation=45, fontsize=7)
    ax.set_yticks(range(len(CELLS)), CELLS, fontsize=7)
    ax.set_title(f"{title}: mean off-diagonal CKA {mat[off].mean():.2f}", fontsize=9)
fig.colorbar(im, ax=axes, shrink=0.8, label="linear CKA")
fig.savefig(OUT / "cka_between_cells.png", dpi=110)
plt.close(fig)

# %%
# Against recorded population activity (Aplysia)
# ----------------------------------------------
# The recording is binned at 0.2 s; the input bit of each bin says whether the population
# fired more than its median. Each cell (trained on parity) reads this stream, and its
# states are compared with the neurons' square-root rates over the same bins: linear CKA
# with the time bins as conditions. Baseline: the same recording shifted by half its length
# (circularly), which keeps each signal's own statistics but breaks the correspondence in
# time. The input is made from the recording itself, so this asks how much of the
# population's state each architecture's memory of that drive carries.
brain = {}
try:
    from neurodyn.datasets import load_aplysia

    apl = load_aplysia(preparation="Jun0214", run=1, bin_width=0.2,
                       data_home=tutorial_data_home("aplysia_pedal_bruno2017"), download_if_missing=False)
except (OSError, ValueError, RuntimeError) as err:
    print(f"Aplysia data not available ({type(err).__name__}: {str(err)[:120]}); brain comparison skipped")
    apl = None
if apl is not None:
    counts = apl.counts[0].astype(float)
    counts = counts[:, counts.sum(0) > 0]
    rates = np.sqrt(counts)
    pop = counts.sum(1)
    bits = torch.tensor((pop > np.median(pop)).astype(np.float32)).reshape(-1, 1, 1)
    shifted = np.roll(rates, rates.shape[0] // 2, axis=0)
    print(f"Aplysia {apl.recordings[0]}: {rates.shape[0]} bins x {rates.shape[1]} neurons")
    for cell, net in nets.items():
        with torch.no_grad():
            states = net(bits)[0][:, 0].numpy().astype(float)
        brain[cell] = (linear_cka(states, rates, device="cpu"), linear_cka(states, shifted, device="cpu"))
        print(f"{cell:16s} CKA with the population {brain[cell][0]:.3f}; with the shifted recording "
              f"{brain[cell][1]:.3f}")
        claims.add(f"{cell} states driven by the population's drive align with the Aplysia population (CKA)",
                   brain[cell][0], brain[cell][1], ">", 0.0, "CKA", "CKA, recording shifted in time")

# %%
# Alignment-guided training of the weakest learner
# ------------------------------------------------
# The cell with the lowest accuracy above (the student) is trained again from a fresh
# initialisation for the same steps: alone, guided toward the representation of 64 probe
# trials (all time steps, 1 - linear CKA, weight 2) of the cell with the highest accuracy
# (the teacher), and guided toward an untrained network of the teacher's architecture
# (control: is it the teacher's learned representation that helps, or any alignment term?).
teacher_cell = max(CELLS, key=lambda c: acc[c])
student_cell = min((c for c in CELLS if c != teacher_cell), key=lambda c: acc[c])
align_probe = task.sample(64, generator=torch.Generator().manual_seed(4))
teacher_states = nets[teacher_cell].record(align_probe).states
control_states = make_rnn(teacher_cell, n_units=UNITS, random_state=5, device="cpu").record(align_probe).states
targets = {"alone": (teacher_states, 0.0), "guided by the teacher": (teacher_states, 2.0),
           "guided by an untrained net": (control_states, 2.0)}
acc_aligned, curves = {}, {}
for label, (target, weight) in targets.items():
    student = make_rnn(student_cell, n_units=UNITS, random_state=1, device="cpu")  # same init for all three
    hist = train_aligned(student, task, target, probe=align_probe, weight=weight, n_steps=STEPS,
                         random_state=1, verbose=True, **fit_kw)
    acc_aligned[label] = float(evaluate(student, task, n_batches=8, batch_size=256, generator=test_gen())[0])
    curves[label] = hist.loss_curve_
    print(f"{student_cell} student, teacher {teacher_cell} ({acc[teacher_cell]:.3f}), {label:27s}: "
          f"test accuracy {acc_aligned[label]:.3f}")
claims.add(f"guidance by the trained {teacher_cell} raises the {student_cell} student's accuracy over "
           f"training alone", acc_aligned["guided by the teacher"], acc_aligned["alone"], ">", 0.0,
           "teacher-guided", "alone")
claims.add(f"the trained {teacher_cell} helps the {student_cell} student more than an untrained "
           f"{teacher_cell}", acc_aligned["guided by the teacher"], acc_aligned["guided by an untrained net"],
           ">", 0.0, "teacher-guided", "untrained-guided")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
if brain:
    x = np.arange(len(brain))
    axes[0].bar(x - 0.2, [brain[c][0] for c in brain], 0.4, label="recording")
    axes[0].bar(x + 0.2, [brain[c][1] for c in brain], 0.4, label="shifted in time")
    axes[0].set_xticks(x, list(brain), rotation=20, fontsize=8)
    axes[0].set_ylabel("CKA with Aplysia population")
    axes[0].legend(frameon=False, fontsize=8)
else:
    axes[0].text(0.5, 0.5, "Aplysia data not available", ha="center", va="center")
    axes[0].set_axis_off()
for label, curve in curves.items():
    k = max(1, len(curve) // 50)
    axes[1].plot(np.convolve(curve, np.ones(k) / k, mode="valid"), label=f"{label} ({acc_aligned[label]:.2f})")
axes[1].set_xlabel("training step")
axes[1].set_ylabel("training loss (task + alignment)")
axes[1].set_title(f"{student_cell} student, {teacher_cell} teacher (test accuracy in brackets)", fontsize=9)
axes[1].legend(frameon=False, fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "brain_and_alignment.png", dpi=110)
plt.close(fig)

# %%
# What this run shows
# -------------------
print(f"total {time.perf_counter() - t_start:.0f} s")
claims.report(OUT)
