"""Benchmark neurodyn.compare against its anchors on one workload, in one process.

Workload: model activity (n_conditions x n_units) vs brain activity
(n_conditions x n_voxels), with the brain a noisy linear read-out of the model.

- encoding: ``neurodyn.compare.ridge_cv`` (one SVD, all targets) vs
  ``sklearn.linear_model.RidgeCV(alpha_per_target=True)`` on the same alpha grid;
- linear CKA (biased and debiased): neurodyn vs direct numpy formulas;
- shape metric (Procrustes, alpha = 1, and partial whitening alpha = 0.5):
  neurodyn's thin-SVD form vs the published full-feature-space algorithm
  (netrep's ``LinearMetric`` procedure, written in numpy; netrep itself is used
  when it is installed).

Outputs are checked to agree before any time is reported. Each neurodyn call and
its anchor are timed alternately, so load from other processes falls on both.

Usage: ``python benchmarks/compare.py`` (default size, < 2 min on 2 cores) or
``python benchmarks/compare.py --full`` (1,000 conditions x 4,096 units vs
20,000 voxels; the full-space shape reference is skipped there because it needs
a 20,000 x 20,000 eigendecomposition).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from neurodyn.compare import ShapeMetric, linear_cka, ridge_cv

ALPHAS = np.logspace(-3, 6, 10)


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def paired_times(fn_nd, fn_ref, repeats):
    """Median wall times of neurodyn and its anchor, run alternately so that a change in the
    machine's load during the run falls on both; returns each one's first output too."""
    t_nd, t_ref, outs = [], [], {}
    for _ in range(repeats):
        for key, fn, times in (("nd", fn_nd, t_nd), ("ref", fn_ref, t_ref)):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
            outs.setdefault(key, out)
    return float(np.median(t_nd)), outs["nd"], float(np.median(t_ref)), outs["ref"]


def numpy_cka(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Kx, Ky = Xc @ Xc.T, Yc @ Yc.T
    return np.sum(Kx * Ky) / (np.linalg.norm(Kx) * np.linalg.norm(Ky))


def numpy_debiased_cka(X, Y):
    def hsic_u(K, L):
        n = K.shape[0]
        K = K - np.diag(np.diag(K))
        L = L - np.diag(np.diag(L))
        one = np.ones(n)
        return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * (one @ K @ L @ one)) / (n * (n - 3))
    Kx, Ky = X @ X.T, Y @ Y.T
    return hsic_u(Kx, Ky) / np.sqrt(hsic_u(Kx, Kx) * hsic_u(Ky, Ky))


def numpy_shape(X, Y, alpha):
    """The published procedure in full feature space (Williams et al. 2021)."""
    def whiten(A):
        lam, V = np.linalg.eigh(A.T @ A)
        lam = np.maximum(lam, 1e-7)
        d = alpha + (1 - alpha) * lam ** -0.5
        d = d * np.sqrt(lam.sum() / np.sum((alpha * lam ** 0.5 + 1 - alpha) ** 2))
        return (V * d) @ V.T
    p = max(X.shape[1], Y.shape[1])
    X = np.pad(X - X.mean(0), ((0, 0), (0, p - X.shape[1])))
    Y = np.pad(Y - Y.mean(0), ((0, 0), (0, p - Y.shape[1])))
    Xw, Yw = X @ whiten(X), Y @ whiten(Y)
    U, _, Vt = np.linalg.svd(Xw.T @ Yw)
    A, B = Xw @ U, Yw @ Vt.T
    return np.arccos(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the spec size: 1000 x 4096 vs 1000 x 20000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # numpy's BLAS (the anchors, and neurodyn's numpy products) on the same number of threads
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):
    n, p, q = (1000, 4096, 20000) if args.full else (300, 512, 1000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p // 4, q)) / np.sqrt(p)
    Y = X[:, : p // 4] @ W + rng.standard_normal((n, q))
    Xs = (X - X.mean(0)) / X.std(0)
    print(f"workload: {n} conditions x {p} units vs {q} voxels; torch threads {args.threads}; "
          f"median of {args.repeats}, neurodyn and anchor alternating; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    results = []

    def add(name, t_nd, t_ref):
        results.append((name, t_nd, t_ref))
        print(f"  {name}: neurodyn {t_nd:.3f} s, anchor {t_ref:.3f} s, speed-up {t_ref / t_nd:.1f}x",
              flush=True)

    # --- encoding ---------------------------------------------------------------
    from sklearn.linear_model import RidgeCV
    t_nd, ours, t_ref, ref = paired_times(
        lambda: ridge_cv(Xs, Y, alphas=ALPHAS),
        lambda: RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(Xs, Y), args.repeats)
    assert np.array_equal(ours["alpha"], ref.alpha_), "per-target alphas differ from RidgeCV"
    np.testing.assert_allclose(ours["coef"], ref.coef_.T, rtol=1e-6, atol=1e-9)
    add("ridge per-target alphas (vs sklearn RidgeCV)", t_nd, t_ref)
    del ref, ours

    # --- CKA -----------------------------------------------------------------------
    t_nd, c_nd, t_ref, c_ref = paired_times(lambda: linear_cka(X, Y), lambda: numpy_cka(X, Y),
                                            args.repeats)
    assert abs(c_ref - c_nd) < 1e-10, (c_ref, c_nd)
    add("linear CKA (vs numpy Gram formula)", t_nd, t_ref)
    t_nd, c_nd, t_ref, c_ref = paired_times(lambda: linear_cka(X, Y, debiased=True),
                                            lambda: numpy_debiased_cka(X, Y), args.repeats)
    assert abs(c_ref - c_nd) < 1e-10, (c_ref, c_nd)
    add("debiased linear CKA (vs numpy Song et al. formula)", t_nd, t_ref)

    # --- shape metric --------------------------------------------------------------
    try:
        from netrep.metrics import LinearMetric  # optional anchor
    except ImportError:
        LinearMetric = None
    for alpha in (1.0, 0.5):
        t_nd, d_nd = median_time(lambda a=alpha: ShapeMetric(alpha=a).fit(X, Y).distance_, args.repeats)
        if LinearMetric is not None:
            t_ref, d_ref = median_time(
                lambda a=alpha: LinearMetric(alpha=a, score_method="angular").fit(X, Y).score(X, Y),
                1)
            label = "netrep LinearMetric"
        elif not args.full:
            t_ref, d_ref = median_time(lambda a=alpha: numpy_shape(X, Y, a), 1)
            label = "full-space numpy algorithm"
        else:
            print(f"shape metric alpha={alpha}: neurodyn {t_nd:.2f} s (full-space reference skipped)")
            continue
        if alpha == 1.0:
            assert abs(d_nd - d_ref) < 1e-6, (d_nd, d_ref)
        else:
            # full rank deficiency (n < p): the reference clips null eigenvalues at 1e-7,
            # neurodyn leaves the null space out; report both values
            print(f"  alpha={alpha}: neurodyn {d_nd:.6f} vs reference {d_ref:.6f} (rank-deficient data)")
        add(f"shape metric alpha={alpha} (vs {label})", t_nd, t_ref)

    print(f"{'task':58s} {'neurodyn s':>11s} {'anchor s':>10s} {'speed-up':>9s}")
    for name, t_nd, t_ref in results:
        print(f"{name:58s} {t_nd:11.3f} {t_ref:10.3f} {t_ref / t_nd:8.1f}x")


if __name__ == "__main__":
    main()
