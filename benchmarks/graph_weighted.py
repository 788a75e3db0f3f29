"""Weighted (Onnela) and signed clustering: neurodyn's sparse kernel vs bctpy's dense one.

Workloads:

1. a random weighted graph of 5,000 nodes at 2 % edge density (weights uniform in
   (0, 1], and a signed copy with weights in [-1, 1]); neurodyn and bctpy
   (``clustering_coef_wu``, ``clustering_coef_wu_sign``) run on the same
   matrix in this process, the outputs are checked equal (1e-10) before any
   time is printed, and the ratio is printed;
2. the left fsaverage5 hemisphere of the shared resting-state run (9,354
   non-constant vertices), its correlation graph at 2 % density weighted by
   ``r`` (``correlation_graph(..., weighted=True)``); weighted and signed
   clustering run in a fresh child process whose peak RSS is reported (with
   the RSS it had before computing, after its imports and the graph).

Usage::

    python benchmarks/graph_weighted.py               # both workloads (about 1 minute)
    python benchmarks/graph_weighted.py --bctpy-fsa5  # also time bctpy on the hemisphere (minutes)

The data folder is ``$NEURODYN_DATA`` (default: ``../shared/data`` next to the repository).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource

import numpy as np
import scipy.sparse as sp
from _common import fsa5_series, timed

from neurodyn.graph import clustering, correlation_graph


def _status_gib(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**20  # kB
    return float("nan")


def _rss_gib() -> float:
    return _status_gib("VmRSS")


def _peak_rss_gib() -> float:
    # VmHWM belongs to the address space, which exec replaces; ru_maxrss would carry over the
    # peak of the parent that forked this spawned child
    peak = _status_gib("VmHWM")
    return peak if peak == peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def random_weights(n_nodes: int, density: float, signed: bool, seed: int = 0) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    n_pairs = n_nodes * (n_nodes - 1) // 2
    m = int(round(density * n_pairs))
    flat = rng.choice(n_pairs, size=m, replace=False)
    i, j = np.triu_indices(n_nodes, 1)
    w = rng.uniform(-1.0, 1.0, m) if signed else rng.uniform(0.0, 1.0, m)
    w[w == 0] = 0.5
    W = sp.coo_array((w, (i[flat], j[flat])), shape=(n_nodes, n_nodes))
    return sp.csr_array(W + W.T)


def random_benchmark(n_nodes: int, density: float):
    import bct

    for signed in (False, True):
        W = random_weights(n_nodes, density, signed)
        kind = "signed weights in [-1, 1]" if signed else "weights in (0, 1]"
        print(f"random graph: {n_nodes:,} nodes, density {density:g} ({W.nnz // 2:,} edges), {kind}")
        dense, t_dense = timed(lambda m: m.toarray() / np.abs(m.data).max(), W)
        if signed:
            ours, t_ours = timed(clustering, W, weighted=True, signed=True)
            theirs, t_bct = timed(bct.clustering_coef_wu_sign, dense)
            err = max(float(np.abs(ours[0] - theirs[0]).max()), float(np.abs(ours[1] - theirs[1]).max()))
            name = "clustering_coef_wu_sign"
        else:
            ours, t_ours = timed(clustering, W, weighted=True)
            theirs, t_bct = timed(bct.clustering_coef_wu, dense)
            err = float(np.abs(ours - theirs).max())
            name = "clustering_coef_wu"
        assert err <= 1e-10, f"neurodyn and bctpy {name} differ by {err:g}"
        print(f"  outputs agree (max |difference| {err:.1e})")
        print(f"  neurodyn clustering(weighted=True{', signed=True' if signed else ''}): {t_ours:.3f} s")
        print(f"  bctpy {name} (dense, after a {t_dense:.2f} s densification): {t_bct:.3f} s")
        print(f"  bctpy / neurodyn: {t_bct / t_ours:.1f}x\n")


def _fsa5_child(weights, queue):
    rss_before = _rss_gib()
    c, t_w = timed(clustering, weights, weighted=True)
    (pos, neg), t_s = timed(clustering, weights, weighted=True, signed=True)
    queue.put(dict(t_weighted=t_w, t_signed=t_s, rss_before=rss_before, peak=_peak_rss_gib(),
                   mean_c=float(c.mean()), mean_pos=float(pos.mean()), mean_neg=float(neg.mean())))


def fsa5_benchmark(density: float, with_bctpy: bool):
    X = fsa5_series()
    varying = np.flatnonzero(X.std(axis=0) > 0)
    X = X[:, varying]
    # 652 timepoints, 9,354 vertices: more nodes than timepoints is the norm here
    g, t_corr = timed(correlation_graph, X, density=density, absolute=True, weighted=True,
                       warn_transposed=False)
    W = g.weights
    print(f"fsaverage5 lh: {W.shape[0]:,} vertices x {X.shape[0]} timepoints, |r| density {density:g} "
          f"-> {g.n_edges:,} edges ({int((W.data < 0).sum()) // 2:,} negative); correlation graph "
          f"{t_corr:.2f} s")
    ctx = mp.get_context("spawn")  # a fresh process: its peak RSS is the clustering's alone
    queue = ctx.Queue()
    proc = ctx.Process(target=_fsa5_child, args=(W, queue))
    proc.start()
    r = queue.get()
    proc.join()
    print(f"  weighted clustering {r['t_weighted']:.2f} s (mean {r['mean_c']:.4f}); signed clustering "
          f"{r['t_signed']:.2f} s (mean positive {r['mean_pos']:.4f}, negative {r['mean_neg']:.4f})")
    print(f"  child process RSS: {r['rss_before']:.2f} GiB after imports and the graph, peak "
          f"{r['peak']:.2f} GiB (the dense n x n float64 matrix bctpy needs is "
          f"{W.shape[0] ** 2 * 8 / 2**30:.2f} GiB)")
    if with_bctpy:
        import bct

        dense = W.toarray() / np.abs(W.data).max()
        theirs, t_bct = timed(bct.clustering_coef_wu, dense)
        ours, t_ours = timed(clustering, W, weighted=True)
        err = float(np.abs(ours - theirs).max())
        assert err <= 1e-10, f"neurodyn and bctpy differ by {err:g} on fsaverage5"
        print(f"  bctpy clustering_coef_wu {t_bct:.1f} s vs neurodyn {t_ours:.2f} s: {t_bct / t_ours:.1f}x "
              f"(outputs agree, max |difference| {err:.1e})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-nodes", type=int, default=5000)
    parser.add_argument("--density", type=float, default=0.02)
    parser.add_argument("--skip-fsa5", action="store_true")
    parser.add_argument("--bctpy-fsa5", action="store_true", help="also run bctpy on the hemisphere")
    args = parser.parse_args(argv)
    import torch

    print(f"threads: torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n")
    random_benchmark(args.n_nodes, args.density)
    if not args.skip_fsa5:
        fsa5_benchmark(args.density, args.bctpy_fsa5)


if __name__ == "__main__":
    main()
