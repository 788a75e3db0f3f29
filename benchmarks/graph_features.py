"""Node features of a real functional graph: neurodyn vs networkx, bctpy and python-igraph.

Workload: the left-hemisphere fsaverage5 resting-state run of the shared data
(9,354 non-constant vertices), thresholded to a fixed edge density, and
optionally a synthetic whole-brain-sized graph (30,000 nodes by default).

Every library gets the same adjacency. Outputs are checked to agree (degree and
triangle vectors exactly, clustering within 1e-12) before any time is printed.
igraph has no per-vertex triangle count; it is recovered from its local
transitivity as ``C_i d_i (d_i - 1) / 2``.

Usage::

    python benchmarks/graph_features.py            # 4,000-vertex subset (about 1 minute)
    python benchmarks/graph_features.py --full     # whole hemisphere + 30k synthetic graph

The data folder is ``$NEURODYN_DATA`` (default: ``../shared/data`` next to the repository).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time

import numpy as np
from _common import fsa5_series, timed

from neurodyn.graph import correlation_graph, node_features


def _peak_rss_gib(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def _neurodyn(A, device):
    return node_features(A, ("degree", "triangles", "clustering"), device=device)


def _networkx(A):
    import networkx as nx

    G, t_build = timed(nx.from_scipy_sparse_array, A.astype(np.int8))
    n = A.shape[0]
    t0 = time.perf_counter()
    deg = np.array([d for _, d in sorted(G.degree())], dtype=np.int64)
    tri = nx.triangles(G)
    clu = nx.clustering(G)
    t = time.perf_counter() - t0
    return {"degree": deg, "triangles": np.array([tri[i] for i in range(n)]),
            "clustering": np.array([clu[i] for i in range(n)])}, t_build, t


def _bctpy(A):
    import bct

    dense, t_build = timed(lambda: A.toarray().astype(np.float64))
    t0 = time.perf_counter()
    deg = bct.degrees_und(dense)
    clu = bct.clustering_coef_bu(dense)
    t = time.perf_counter() - t0
    return {"degree": deg.astype(np.int64), "clustering": clu}, t_build, t


def _igraph(A):
    import igraph as ig
    import scipy.sparse as sp

    upper = sp.triu(A, k=1, format="coo")
    G, t_build = timed(ig.Graph, n=A.shape[0], edges=np.column_stack([upper.row, upper.col]).tolist())
    t0 = time.perf_counter()
    deg = np.array(G.degree(), dtype=np.int64)
    clu = np.array(G.transitivity_local_undirected(mode="zero"))
    t = time.perf_counter() - t0
    tri = np.rint(clu * deg * (deg - 1) / 2).astype(np.int64)
    return {"degree": deg, "triangles": tri, "clustering": clu}, t_build, t


def _check(name, ours, theirs):
    for key, value in theirs.items():
        if key == "clustering":
            err = float(np.max(np.abs(ours[key] - value))) if value.size else 0.0
            assert err <= 1e-12, f"{name}: clustering differs by {err:g}"
        else:
            assert np.array_equal(ours[key], value), f"{name}: {key} differs"
    print(f"  {name}: outputs agree ({', '.join(theirs)})")


def fsa5_benchmark(n_nodes, density, device, anchors):
    X = fsa5_series()
    varying = np.flatnonzero(X.std(axis=0) > 0)
    X = X[:, varying[:n_nodes]] if n_nodes else X[:, varying]
    # 652 timepoints for 4,000-9,354 vertices: more nodes than timepoints is expected here
    g, t_corr = timed(correlation_graph, X, density=density, device=device, warn_transposed=False)
    A = g.adjacency
    print(f"fsaverage5 lh: {A.shape[0]:,} nodes, density {density:g} -> {g.n_edges:,} edges "
          f"(r > {g.threshold:.4f}); correlation + threshold {t_corr:.2f} s")
    ours, t_ours = timed(_neurodyn, A, device)
    sq, t_sq = timed(node_features, A, ("squares",), device=device)
    print(f"  neurodyn degree + triangles + clustering: {t_ours:.2f} s; 4-cycles: {t_sq:.2f} s "
          f"(total triangles {ours['triangles'].sum() // 3:,}, 4-cycles {sq['squares'].sum() // 4:,})")
    rows = []
    for name in anchors:
        try:
            runner = {"networkx": _networkx, "bctpy": _bctpy, "igraph": _igraph}[name]
            theirs, t_build, t_feat = runner(A)
        except ImportError as exc:
            print(f"  {name}: not installed ({exc})")
            continue
        _check(name, ours, theirs)
        rows.append((name, t_build, t_feat))
    print(f"\n  {'library':<10} {'build (s)':>10} {'features (s)':>13} {'features / neurodyn':>20}")
    print(f"  {'neurodyn':<10} {'-':>10} {t_ours:>13.2f} {1.0:>20.1f}")
    for name, t_build, t_feat in rows:
        print(f"  {name:<10} {t_build:>10.2f} {t_feat:>13.2f} {t_feat / t_ours:>20.1f}")
    print(f"  peak RSS of this process so far: {_peak_rss_gib():.2f} GiB")


def _synthetic_job(n_nodes, n_time, density, device, queue):
    rng = np.random.default_rng(0)
    rank = 20
    latent = rng.standard_normal((n_time, rank)).astype(np.float32)
    loadings = rng.standard_normal((rank, n_nodes)).astype(np.float32) * rng.uniform(0.2, 1.0, n_nodes).astype(np.float32)
    X = latent @ loadings + rng.standard_normal((n_time, n_nodes), dtype=np.float32)
    g, t_corr = timed(correlation_graph, X, density=density, device=device, block_size=1024)
    f, t_feat = timed(node_features, g.adjacency, ("degree", "triangles", "clustering", "squares"),
                       device=device)
    queue.put(dict(n_edges=g.n_edges, threshold=g.threshold, t_corr=t_corr, t_feat=t_feat,
                   triangles=int(f["triangles"].sum() // 3), squares=int(f["squares"].sum() // 4),
                   max_degree=int(f["degree"].max())))


def synthetic_benchmark(n_nodes, n_time, density, device):
    """Run in a child process so that its peak RSS is measured on its own."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_synthetic_job, args=(n_nodes, n_time, density, device, queue))
    proc.start()
    result = queue.get()
    proc.join()
    print(f"\nsynthetic graph: {n_nodes:,} nodes x {n_time} timepoints, density {density:g} -> "
          f"{result['n_edges']:,} edges (r > {result['threshold']:.4f})")
    print(f"  correlation + threshold {result['t_corr']:.1f} s; all four features {result['t_feat']:.1f} s "
          f"(triangles {result['triangles']:,}, 4-cycles {result['squares']:,}, max degree {result['max_degree']})")
    print(f"  peak RSS of the child process: {_peak_rss_gib(resource.RUSAGE_CHILDREN):.2f} GiB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="whole hemisphere (9,354 nodes) and the 30k-node synthetic graph")
    parser.add_argument("--n-nodes", type=int, default=4000, help="fsaverage5 vertices used (default 4000)")
    parser.add_argument("--density", type=float, default=0.02)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--anchors", nargs="*", default=["networkx", "bctpy", "igraph"])
    parser.add_argument("--synthetic-nodes", type=int, default=0)
    parser.add_argument("--synthetic-density", type=float, default=0.005)
    args = parser.parse_args(argv)
    n_nodes = 0 if args.full else args.n_nodes
    synthetic = args.synthetic_nodes or (30000 if args.full else 0)
    import torch

    print(f"threads: torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    fsa5_benchmark(n_nodes, args.density, args.device, args.anchors)
    if synthetic:
        synthetic_benchmark(synthetic, 300, args.synthetic_density, args.device)


if __name__ == "__main__":
    main()
