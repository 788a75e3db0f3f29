"""Benchmark neurodyn.rsa against rsatoolbox on the same inputs (workloads W1-W4).

W1 crossnobis RDMs (identity and shrinkage precision), W5 the same at an everyday
size (8 subjects x 40 conditions x 6 runs x 400 channels, best of 3), W2 all-pairs RDM
comparison (all methods), W3 bootstrap model evaluation with noise ceiling,
W4 tRSA pieces (geo-topological and geodesic transforms; rsatoolbox has no
LOSO classifier, so only the transforms are timed against it).

Outputs are checked equal (float64 rtol 1e-10 / atol 1e-12, rank outputs exact)
before a timing counts. Default sizes run in about a minute on 2 cores;
``--full`` uses the sizes of the spec.

    python benchmarks/rsa.py [--full] [--repeats 5] [--only W5]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from _common import timed


def _sync(dev):
    if str(dev).startswith("cuda"):
        torch.cuda.synchronize()


def _timeit(fn, repeats):
    """(median of ``repeats`` timed calls after a warm-up, output)."""
    out, t = timed(fn, repeat=repeats, warmup=True, reduce=statistics.median)
    return t, out




def _row(name, t_nd, t_ref, note=""):
    ratio = t_ref / t_nd if t_nd > 0 else float("inf")
    print(f"{name:<38} neurodyn {t_nd * 1e3:10.1f} ms   rsatoolbox {t_ref * 1e3:10.1f} ms   "
          f"ratio {ratio:7.1f}x {note}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the spec's workload sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", nargs="+", choices=["W1", "W2", "W3", "W4", "W5"],
                        default=["W1", "W2", "W3", "W4", "W5"],
                        help="run only these workloads")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for neurodyn, also passed as n_threads to the CPU Kendall counts "
                             "of W2 tau-a/tau-b (default: torch's default threads, 1 Kendall worker thread)")
    parser.add_argument("--device", default="cpu",
                        help="device of neurodyn's W1 crossnobis and W2 comparisons (default cpu; rsatoolbox "
                             "always runs on the CPU)")
    args = parser.parse_args()
    dev = args.device
    if args.threads:
        torch.set_num_threads(args.threads)

    try:
        import rsatoolbox  # noqa: F401
        from rsatoolbox.data import Dataset
        from rsatoolbox.data.noise import prec_from_residuals
        from rsatoolbox.inference import eval_bootstrap
        from rsatoolbox.model import ModelFixed
        from rsatoolbox.rdm import RDMs, calc_rdm, compare
        from rsatoolbox.rdm.transform import geodesic_transform as rsa_geodesic
        from rsatoolbox.rdm.transform import geotopological_transform as rsa_gt
    except ImportError as exc:  # pragma: no cover
        raise SystemExit("this benchmark needs rsatoolbox: pip install neurodyn[bench]") from exc
    from neurodyn.rsa import (
        compare_rdms,
        compute_rdm,
        evaluate_models,
        geodesic_transform,
        geotopological_transform,
        noise_precision,
    )

    try:
        from threadpoolctl import threadpool_info

        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        blas = "threadpoolctl not installed"
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, BLAS {blas}, "
          f"neurodyn device {dev}")
    kendall_threads = args.threads or 1
    print(f"neurodyn: torch threads {torch.get_num_threads()}, CPU Kendall worker threads (W2 tau-a/tau-b) "
          f"{kendall_threads}")
    full = args.full
    rep = args.repeats or (5 if full else 3)
    rng = np.random.default_rng(0)
    ratios = {}

    def crossnobis_pair(x, cond, run, datasets, noise, time_ours, time_theirs):
        """Crossnobis RDMs of every subject on both sides (checked equal); their two times."""
        def ours():
            out = compute_rdm(x, "crossnobis", conditions=cond, folds=run, noise=noise, device=dev,
                              dtype="float64")
            _sync(dev)
            return out

        def theirs():
            return np.vstack([calc_rdm(d, method="crossnobis", descriptor="cond", cv_descriptor="run",
                                       noise=noise).get_vectors() for d in datasets])

        t_nd, a = time_ours(ours)
        t_ref, b = time_theirs(theirs)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        return t_nd, t_ref

    # ---------------------------------------------------------------- W1
    if "W1" in args.only:
        s_, k_, r_, p_ = (20, 92, 8, 1000) if full else (4, 92, 8, 300)
        print(f"\nW1 crossnobis: S={s_}, K={k_}, R={r_}, P={p_}")
        x = rng.normal(size=(s_, r_ * k_, p_))
        cond = np.tile(np.arange(k_), r_)
        run = np.repeat(np.arange(r_), k_)
        datasets = [Dataset(x[s], obs_descriptors={"cond": cond, "run": run}) for s in range(s_)]
        resid = rng.normal(size=(200, p_))
        prec = noise_precision(resid, "shrinkage_diag")
        np.testing.assert_allclose(prec, prec_from_residuals(resid, method="shrinkage_diag"), rtol=1e-8)
        for label, noise in (("identity", None), ("shrinkage precision", prec)):
            # with a dense precision both sides are bound by one P x P product per pattern row:
            # a triangular (Cholesky) product here, a general one (twice the FLOPs) in rsatoolbox
            t_nd, t_ref = crossnobis_pair(x, cond, run, datasets, noise,
                                          lambda f: _timeit(f, rep), lambda f: _timeit(f, 1 if full else rep))
            note = "(dense P x P whitening of every fold mean dominates)" if noise is not None else ""
            ratios[f"W1 {label}"] = _row(f"W1 crossnobis ({label})", t_nd, t_ref, note)

        # residuals -> shrinkage precision -> crossnobis RDMs, end to end on both sides; ours keeps
        # the precision as diag - V V^T (Woodbury, V of width n_residuals < P)
        def ours_from_residuals():
            lam = noise_precision(resid, "shrinkage_diag", structured=True)
            out = compute_rdm(x, "crossnobis", conditions=cond, folds=run, noise=lam, device=dev, dtype="float64")
            _sync(dev)
            return out

        def theirs_from_residuals():
            lam = prec_from_residuals(resid.copy(), method="shrinkage_diag")
            return np.vstack([calc_rdm(d, method="crossnobis", descriptor="cond", cv_descriptor="run",
                                       noise=lam).get_vectors() for d in datasets])

        t_nd, a = _timeit(ours_from_residuals, rep)
        t_ref, b = _timeit(theirs_from_residuals, 1 if full else rep)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        ratios["W1 shrinkage precision from residuals"] = _row(
            "W1 shrinkage precision from residuals", t_nd, t_ref, f"({resid.shape[0]} residual rows, low-rank)")

    # ---------------------------------------------------------------- W5
    if "W5" in args.only:
        s_, k_, r_, p_ = 8, 40, 6, 400
        print(f"\nW5 crossnobis at an everyday size: S={s_}, K={k_}, R={r_}, P={p_} (best of 3, both sides)")
        x5 = rng.normal(size=(s_, r_ * k_, p_))
        cond5 = np.tile(np.arange(k_), r_)
        run5 = np.repeat(np.arange(r_), k_)
        datasets5 = [Dataset(x5[s], obs_descriptors={"cond": cond5, "run": run5}) for s in range(s_)]
        resid5 = rng.normal(size=(200, p_))
        prec5 = noise_precision(resid5, "shrinkage_diag")
        for label, noise in (("identity", None), ("shrinkage precision", prec5)):
            def best3(f):
                out, t = timed(f, repeat=3, warmup=True)
                return t, out

            t_nd, t_ref = crossnobis_pair(x5, cond5, run5, datasets5, noise, best3, best3)
            ratios[f"W5 {label}"] = _row(f"W5 crossnobis ({label})", t_nd, t_ref, "(best of 3)")

    # ---------------------------------------------------------------- W2
    if "W2" in args.only:
        n_m = 20 if full else 10
        print(f"\nW2 compare: {n_m} models x {n_m} data RDMs, K=92")
        models = rng.random((n_m, 4186))
        models[: n_m // 4] = np.round(models[: n_m // 4] * 2)  # categorical models: ties
        data = rng.random((n_m, 4186))
        for method in ("cosine", "corr", "spearman", "rho-a", "cosine_cov", "tau-a", "tau-b"):
            def ours(method=method):
                return compare_rdms(models, data, method, device=dev, dtype="float64", n_threads=kendall_threads)

            def theirs(method=method):
                return compare(RDMs(models), RDMs(data), "kendall" if method == "tau-b" else method)

            t_nd, a = _timeit(ours, rep)
            t_ref, b = _timeit(theirs, rep)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
            ratios[f"W2 {method}"] = _row(f"W2 compare {method}", t_nd, t_ref)
        binary = (rng.random((n_m, 4186)) > 0.5).astype(float)  # categorical models, e.g. animacy

        def ours_bin():
            return compare_rdms(binary, data, "tau-a", device=dev, dtype="float64", n_threads=kendall_threads)

        def theirs_bin():
            return compare(RDMs(binary), RDMs(data), "tau-a")

        t_nd, a = _timeit(ours_bin, rep)
        t_ref, b = _timeit(theirs_bin, rep)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        ratios["W2 tau-a binary models"] = _row("W2 compare tau-a (binary models)", t_nd, t_ref)

    # ---------------------------------------------------------------- W3
    if "W3" in args.only:
        n_boot = 100 if full else 20
        n_sub = 20
        print(f"\nW3 bootstrap: 10 models, S={n_sub}, K=92, N={n_boot}, corr, with noise ceiling")
        truth = rng.random(4186)
        data3 = truth + 0.5 * rng.random((n_sub, 4186))
        models3 = np.vstack([truth + 0.3 * rng.random((1, 4186)), rng.random((9, 4186))])
        def theirs3():
            np.random.seed(1)  # noqa: NPY002 - rsatoolbox draws from numpy's global RNG
            return eval_bootstrap([ModelFixed(f"m{i}", RDMs(m)) for i, m in enumerate(models3)], RDMs(data3),
                                  method="corr", N=n_boot)

        def ours3():
            return evaluate_models(models3, data3, "corr", n_bootstrap=n_boot, random_state=1)

        t_ref, res_ref = _timeit(theirs3, 1)
        t_nd, res = _timeit(ours3, 1 if full else rep)
        # different random draws: the means must agree within 3 bootstrap SE
        se = np.sqrt(np.diag(res_ref.variances)[:10])
        ref_mean = np.nanmean(res_ref.evaluations, axis=0).ravel()[:10]
        assert np.all(np.abs(res.mean - ref_mean) <= 3 * np.maximum(se, res.sem)), (res.mean, ref_mean)
        ratios["W3 bootstrap"] = _row(f"W3 eval_bootstrap N={n_boot}", t_nd, t_ref, "(same N; draws differ)")

    # ---------------------------------------------------------------- W4
    if "W4" in args.only:
        print("\nW4 tRSA transforms: 20 RDMs, K=92")
        rdms4 = rng.random((20, 4186)) + 1.0

        def ours_gt():
            return np.vstack([geotopological_transform(r, 0.3, 1.0, rank_first=False) for r in rdms4])

        def theirs_gt():
            return np.vstack([rsa_gt(RDMs(r.copy()), 0.3, 1.0).get_vectors() for r in rdms4])

        t_nd, a = _timeit(ours_gt, rep)
        t_ref, b = _timeit(theirs_gt, rep)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        ratios["W4 GT"] = _row("W4 geotopological_transform", t_nd, t_ref, "(case without rsatoolbox's bug)")
        gt4 = geotopological_transform(rdms4, 0.1, 0.9)

        def ours_geo():
            return geodesic_transform(gt4, disconnected="inf")

        def theirs_geo():
            return rsa_geodesic(RDMs(gt4.copy())).get_vectors()

        t_nd, a = _timeit(ours_geo, rep)
        t_ref, b = _timeit(theirs_geo, 1)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        ratios["W4 geodesic"] = _row("W4 geodesic_transform", t_nd, t_ref)

    print("\nsummary (rsatoolbox time / neurodyn time):")
    for key, val in ratios.items():
        print(f"  {key:<28} {val:8.1f}x")


if __name__ == "__main__":
    main()
