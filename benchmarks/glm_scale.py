"""State-switching GLMs at recording scale (issue 19): EM cost against one GEMM, default fits.

Workload: the paper's generator (capped-sigmoid link, 20 neurons, 3 states, 5
history lags), 12 trials of 20,000 bins: 8 to train (160k bins), 4 held out. The
model is ``StateSwitchingGLM(n_states=3, prior="none", n_lags=5)`` (softplus link).

Figures, all measured in one process:

1. the emission GEMM ``(160k x D) @ (D x S*N)`` at the model's D (= 20) and at the
   issue's reference size D = 100 (best of 5);
2. a fit with ``n_init=1`` to convergence: mean time per EM iteration (everything
   after the single-GLM initialisation: emissions, forward-backward, transitions,
   M-step), and its ratio to each GEMM;
3. the default fit (``n_init="auto"``) to convergence: time, held-out state accuracy
   (Viterbi, Hungarian-matched) and held-out log-likelihood per bin and neuron, with
   the generating parameters' accuracy for reference;
4. ``--big``: 1,000,000 bins x 50 neurons x 4 states (4 trials of 250,000 bins),
   default fit, time and peak RSS (run in a child process so that its peak is its own);
5. ``--baseline PATH``: the same figures 2-3 from another checkout of neurodyn (a
   child process with ``PYTHONPATH=PATH``), e.g. the previous commit via
   ``git archive HEAD~1 neurodyn | tar -x -C /tmp/base``.

Usage::

    python benchmarks/glm_scale.py [--device cpu|cuda] [--threads 1] [--big] [--baseline PATH]

With ``--device cuda`` the fits use ``scan=True`` (parallel-scan E-step) and the
GEMMs run on the card, whose name is reported. dynamax is not compared here
(see benchmarks/glm_hmm.py for the E-step comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings


def _gemm(n_rows, dim, n_out, device, dtype, repeat=5):
    import torch

    a = torch.randn(n_rows, dim, dtype=dtype, device=device)
    b = torch.randn(dim, n_out, dtype=dtype, device=device)
    best = float("inf")
    for _ in range(repeat):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def run_main(device, threads):
    import torch

    torch.set_num_threads(threads)
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import StateSwitchingGLM, _switching, state_accuracy

    d = hmm_glm(n_neurons=20, n_states=3, n_timepoints=20000, n_trials=12, random_state=0)
    train, test = d.counts[:8], d.counts[8:]
    out = {"device": device, "threads": threads,
           "card": torch.cuda.get_device_name() if device == "cuda" else "cpu"}
    out["gemm_d20_s"] = _gemm(160000, 20, 60, device, torch.float64)
    out["gemm_d100_s"] = _gemm(160000, 100, 60, device, torch.float64)

    # single-GLM initialisation timed apart from the EM iterations
    init = {"t": 0.0}
    single = getattr(_switching.StateSwitchingGLM, "_single_glm", None)
    if single is not None:
        def timed_single(self, *a, **k):
            t0 = time.perf_counter()
            r = single(self, *a, **k)
            init["t"] += time.perf_counter() - t0
            return r
        _switching.StateSwitchingGLM._single_glm = timed_single
    else:  # older versions initialise with fit_glm_parameters
        fgp = _switching.fit_glm_parameters

        def timed_fgp(*a, **k):
            t0 = time.perf_counter()
            r = fgp(*a, **k)
            init["t"] += time.perf_counter() - t0
            return r
        _switching.fit_glm_parameters = timed_fgp

    # on a GPU the E-step uses the parallel scan (the sequential recursion is launch-bound)
    scan = {"scan": True} if device != "cpu" else {}
    kw = dict(n_states=3, prior="none", n_lags=5, random_state=0, device=device,
              dtype="float64", **scan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        one = StateSwitchingGLM(n_init=1, **kw).fit(train)
        total = time.perf_counter() - t0
    per_iter = (total - init["t"]) / max(1, len(one.loss_curve_))
    out["n_init1"] = {"fit_s": total, "init_s": init["t"], "em_iterations": len(one.loss_curve_),
                      "per_iteration_s": per_iter,
                      "ratio_gemm_d20": per_iter / out["gemm_d20_s"],
                      "ratio_gemm_d100": per_iter / out["gemm_d100_s"],
                      "test_ll": one.score(test),
                      "test_acc": state_accuracy(d.states[8:], one.predict(test))}

    truth = StateSwitchingGLM(n_states=3, link="sigmoid", device=device).set_parameters(
        d.coupling, d.bias, d.transition_matrix)
    out["truth_test_acc"] = state_accuracy(d.states[8:], truth.predict(test))
    if StateSwitchingGLM().n_init == 1:  # an older version: its default fit is the one above
        out["default"] = {"fit_s": total, "test_acc": out["n_init1"]["test_acc"],
                          "test_ll": out["n_init1"]["test_ll"], "n_iter": one.n_iter_,
                          "converged": bool(one.converged_)}
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        default = StateSwitchingGLM(n_states=3, prior="none", n_lags=5, random_state=0,
                                    device=device, **scan).fit(train)
        out["default"] = {"fit_s": time.perf_counter() - t0,
                          "test_acc": state_accuracy(d.states[8:], default.predict(test)),
                          "test_ll": default.score(test), "n_iter": default.n_iter_,
                          "converged": bool(default.converged_)}
    return out


def run_big(device, threads):
    import torch

    torch.set_num_threads(threads)
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import StateSwitchingGLM, state_accuracy

    t0 = time.perf_counter()
    d = hmm_glm(n_neurons=50, n_states=4, n_timepoints=250_000, n_trials=4, random_state=0)
    sim = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = StateSwitchingGLM(n_states=4, prior="none", n_lags=5, random_state=0,
                              device=device, scan=device != "cpu").fit(d.counts)
    fit = time.perf_counter() - t0
    acc = state_accuracy(d.states, m.predict(d.counts))
    return {"bins": 1_000_000, "neurons": 50, "states": 4, "simulate_s": sim, "fit_s": fit,
            "n_iter": m.n_iter_, "converged": bool(m.converged_), "train_state_acc": acc,
            "peak_rss_gib_after_simulation": rss_data,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def _child(args, part, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, __file__, "--child", part, "--device", args.device,
           "--threads", str(args.threads)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"error": res.stderr[-2000:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--big", action="store_true", help="also the 1e6-bin fit (minutes)")
    p.add_argument("--baseline", default=None, help="path holding another neurodyn package")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help="write the results as JSON")
    args = p.parse_args()
    if args.child:
        fn = {"main": run_main, "big": run_big}[args.child]
        print(json.dumps(fn(args.device, args.threads)))
        return
    results = {}
    if args.baseline:
        results["baseline"] = _child(args, "main", args.baseline)
        print("baseline", json.dumps(results["baseline"], indent=1), flush=True)
    results["current"] = _child(args, "main")
    print("current", json.dumps(results["current"], indent=1), flush=True)
    if args.big:
        results["big"] = _child(args, "big")
        print("big", json.dumps(results["big"], indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
