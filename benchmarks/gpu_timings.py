"""CPU vs CUDA timings of neurodyn's heavy kernels, on the same inputs in one process.

Each workload runs with ``device="cpu"`` (torch's default threads) and
``device=GPU``; the outputs are checked to agree before the times count, and
the script prints both times and the ratio. The times include the numpy <->
torch transfers a user pays for. A workload that fails prints its error and the
others go on. Needs a CUDA GPU; ``benchmarks/gpu_check.sh`` runs it.

    python benchmarks/gpu_timings.py [--only NAME ...] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import traceback

import numpy as np
import torch


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timeit(fn, repeats, warmup=True):
    if warmup:
        fn()  # warm-up (CUDA context, kernels, caches)
        _sync()
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _row(name, t_cpu, t_gpu, note=""):
    print(f"{name:<52} cpu {t_cpu * 1e3:10.1f} ms   cuda {t_gpu * 1e3:9.1f} ms   "
          f"cpu/cuda {t_cpu / t_gpu:7.1f}x {note}", flush=True)


def crossnobis(rep):
    from neurodyn.rsa import compute_rdm, noise_precision

    rng = np.random.default_rng(0)
    s_, k_, r_, p_ = 20, 92, 8, 1000
    x = rng.normal(size=(s_, r_ * k_, p_))
    cond = np.tile(np.arange(k_), r_)
    run = np.repeat(np.arange(r_), k_)
    prec = noise_precision(rng.normal(size=(200, p_)), "shrinkage_diag")
    for label, noise in (("identity", None), ("shrinkage precision", prec)):
        t_c, a = _timeit(lambda n=noise: compute_rdm(x, "crossnobis", conditions=cond, folds=run, noise=n,
                                                     device="cpu"), rep)
        t_g, b = _timeit(lambda n=noise: compute_rdm(x, "crossnobis", conditions=cond, folds=run, noise=n,
                                                     device=GPU, dtype="float64"), rep)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
        _row(f"W1 crossnobis float64 ({label}), S=20 K=92 R=8 P=1000", t_c, t_g)


def compare(rep):
    from neurodyn.rsa import compare_rdms

    rng = np.random.default_rng(1)
    models, data = rng.random((20, 4186)), rng.random((20, 4186))
    models[:5] = np.round(models[:5] * 2)
    for method in ("cosine", "spearman", "tau-a", "tau-b"):
        t_c, a = _timeit(lambda m=method: compare_rdms(models, data, method=m, device="cpu"), rep)
        t_g, b = _timeit(lambda m=method: compare_rdms(models, data, method=m, device=GPU,
                                                       dtype="float64"), rep)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
        _row(f"W2 compare_rdms {method}, 20 x 20 RDMs, K=92", t_c, t_g)


def representation(rep):
    from neurodyn.compare import ShapeMetric, linear_cka, ridge_cv

    rng = np.random.default_rng(2)
    n, p, q = 1000, 4096, 20000
    X = rng.standard_normal((n, p))
    Y = X[:, : p // 4] @ (rng.standard_normal((p // 4, q)) / np.sqrt(p)) + rng.standard_normal((n, q))
    t_c, a = _timeit(lambda: linear_cka(X, Y, device="cpu"), rep)
    t_g, b = _timeit(lambda: linear_cka(X, Y, device=GPU, dtype="float64"), rep)
    assert abs(a - b) < 1e-10, (a, b)
    _row("linear CKA float64, 1000 x 4096 vs 1000 x 20000", t_c, t_g)
    alphas = np.logspace(-3, 6, 10)
    t_c, a = _timeit(lambda: ridge_cv(X, Y, alphas=alphas, device="cpu"), 1, warmup=False)
    t_g, b = _timeit(lambda: ridge_cv(X, Y, alphas=alphas, device=GPU, dtype="float64"), rep)
    assert np.array_equal(a["alpha"], b["alpha"])
    np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-6, atol=1e-9)
    _row("ridge_cv per-target alphas float64, same sizes", t_c, t_g)
    t_c, a = _timeit(lambda: ShapeMetric(alpha=1.0, device="cpu").fit(X, Y).distance_, 1, warmup=False)
    t_g, b = _timeit(lambda: ShapeMetric(alpha=1.0, device=GPU, dtype="float64").fit(X, Y).distance_, rep)
    assert abs(a - b) < 1e-8, (a, b)
    _row("Procrustes shape metric float64, same sizes", t_c, t_g)


def glm(rep):
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import StateSwitchingGLM

    data = hmm_glm(n_neurons=20, n_states=5, n_timepoints=2000, n_trials=30, random_state=0)

    def fit(dev):
        return StateSwitchingGLM(n_states=5, link="sigmoid", max_iter=5, tol=0.0, m_step_max_iter=50,
                                 random_state=0, device=dev, dtype="float64").fit(data.counts).log_likelihood_

    t_c, a = _timeit(lambda: fit("cpu"), 1, warmup=False)
    t_g, b = _timeit(lambda: fit(GPU), 1)
    np.testing.assert_allclose(b, a, rtol=1e-6)
    _row("HMM-GLM fit, 5 EM iterations, N=20 S=5 30 x 2000 bins", t_c, t_g)


def rnn(rep):
    from neurodyn.rnn import LeakyRNN

    x = (torch.rand(500, 256, 1, generator=torch.Generator().manual_seed(0)) < 0.5).float()

    def step(dev):
        # same seed -> same weights on both devices; tanh keeps the states bounded
        net = LeakyRNN(n_units=512, n_inputs=1, nonlinearity="tanh", random_state=0, device=dev)
        states, _ = net(x.to(dev))
        states.sum().backward()
        return states[:20].detach().cpu().numpy()

    t_c, a = _timeit(lambda: step("cpu"), 1, warmup=False)
    t_g, b = _timeit(lambda: step(GPU), rep)
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-4)  # first 20 steps, before chaos amplifies rounding
    _row("LeakyRNN forward+backward float32, H=512 B=256 T=500", t_c, t_g)


GPU = "cuda"

WORKLOADS = {"crossnobis": crossnobis, "compare": compare, "representation": representation,
             "glm": glm, "rnn": rnn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dry-run", action="store_true",
                        help="run the 'cuda' side on the CPU (checks the script on a machine without a GPU)")
    args = parser.parse_args()
    global GPU
    if args.dry_run:
        GPU = "cpu"
    elif not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if GPU != 'cpu' else 'dry run on CPU'}, CPU threads {torch.get_num_threads()}")
    for name in args.only:
        try:
            WORKLOADS[name](args.repeats)
        except Exception:  # noqa: BLE001 - report and go on with the next workload
            print(f"{name}: FAILED")
            traceback.print_exc()


if __name__ == "__main__":
    main()
