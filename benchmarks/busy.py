"""Slow-down of neurodyn beside other CPU-bound processes ("fast on a busy machine").

Runs the parts of ``neurodyn demo --quick`` and the main kernels (RNN training loop,
GLM EM of the README example, NTF sweep, crossnobis RDMs, Kendall tau-a comparisons)
idle and beside ``--hogs`` CPU-bound processes (``python -c "while True: pass"``) that
it starts and stops itself, and prints each slow-down (busy / idle; the target is at
most 3x beside two such processes on two cores).

Each idle or busy pass runs the parts in a fresh Python process, which sees the thread
settings a user would get (``neurodyn._torch`` imported first: passive OpenMP wait
policy, :func:`neurodyn._torch.thread_policy`); only the work is timed: a demo part as
``neurodyn demo`` reports it, a kernel after one warm-up call. Idle and busy runs alternate (the order flips every
repeat) and the medians over ``--repeats`` are compared, so a drift of the machine's
load hits both sides. On a shared machine the "idle" side is only as idle as the
other users leave it: the spread (min-max) is printed with every median.

    python benchmarks/busy.py [--repeats 3] [--parts rnn glm ... kendall] [--hogs 2]
    python benchmarks/busy.py --env OMP_WAIT_POLICY=ACTIVE    # the behaviour before the policy
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

DEMO_PARTS = ("datasets", "connectome", "glm", "rsa", "graph", "rnn", "compare")
KERNELS = ("rnn_train", "glm_em", "ntf_sweep", "crossnobis", "crossnobis_prec", "kendall")


def _kernel(name: str):
    """Set up kernel ``name``; return a function running it once."""
    import numpy as np

    rng = np.random.default_rng(0)
    if name == "rnn_train":
        from neurodyn.rnn import LeakyRNN, NParity, train_task

        def run():
            net = LeakyRNN(n_units=32, n_heads=1, device="cpu", random_state=0)
            train_task(net, NParity(n=2, random_state=0), n_steps=300, batch_size=64, random_state=0)
        return run
    if name == "glm_em":
        from neurodyn.datasets.simulate import hmm_glm
        from neurodyn.glm import StateSwitchingGLM

        sim = hmm_glm(n_neurons=8, n_states=2, n_timepoints=500, n_trials=6, random_state=0)
        return lambda: StateSwitchingGLM(n_states=2, prior="gaussian", n_lags=5, random_state=0).fit(sim.counts)
    if name == "ntf_sweep":
        from neurodyn.connectome import NonnegativeCP

        n, k, w, r = 60, 79, 6, 4  # size S of benchmarks/connectome_ntf.py
        p = n * (n - 1) // 2
        a = (rng.random((p, r)) < 0.1) * rng.random((p, r))
        b = np.clip(np.sin(np.linspace(0, 3 * np.pi, k)[:, None] * rng.uniform(0.5, 2, r)), 0, None)
        x = np.einsum("pr,kr,wr->pkw", a, b, rng.random((w, r)))
        x = x / x.max() + 0.05 * rng.random(x.shape)
        return lambda: NonnegativeCP(r, max_iter=300, tol=0, device="cpu", random_state=0).fit(x)
    if name in ("crossnobis", "crossnobis_prec"):
        from neurodyn.rsa import compute_rdm, noise_precision

        s_, k_, r_, p_ = 8, 40, 6, 400
        x = rng.normal(size=(s_, r_ * k_, p_))
        cond, run_ = np.tile(np.arange(k_), r_), np.repeat(np.arange(r_), k_)
        noise = noise_precision(rng.normal(size=(200, p_)), "shrinkage_diag") if name == "crossnobis_prec" else None
        reps = 100 if noise is None else 5

        def run():
            for _ in range(reps):
                compute_rdm(x, "crossnobis", conditions=cond, folds=run_, noise=noise, device="cpu", dtype="float64")
        return run
    if name == "kendall":
        from neurodyn.rsa import compare_rdms

        models, data = rng.random((10, 4186)), rng.random((10, 4186))
        models[:2] = np.round(models[:2] * 2)

        def run():
            for _ in range(10):
                compare_rdms(models, data, "tau-a", device="cpu", dtype="float64")
        return run
    raise ValueError(f"unknown kernel {name!r}")


def _time_part(part: str) -> tuple:
    """(wall seconds, CPU seconds of this process) of one run of ``part``."""
    c0 = time.process_time()
    if part in DEMO_PARTS:
        from neurodyn.cli import run_demo

        with tempfile.TemporaryDirectory() as out:
            summary = run_demo(out, quick=True, only=[part])
        result = summary["parts"][part]
        if result["status"] != "ok":
            raise SystemExit(f"demo part {part} failed: {result.get('error')}")
        return float(result["seconds"]), time.process_time() - c0
    fn = _kernel(part)
    fn()  # warm-up (first-call allocations, lazy imports)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _child(parts: list) -> None:
    """Time ``parts`` in this (fresh) process; print ``{part: [wall, cpu]}`` as the last line."""
    import matplotlib

    import neurodyn._torch  # noqa: F401 - first, so that the OpenMP settings precede torch

    matplotlib.use("Agg")
    print(json.dumps({part: _time_part(part) for part in parts}))


def _measure(parts: list, env: dict, timeout: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *parts], env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{parts} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _hogs(n: int) -> list:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _stop(procs: list) -> None:
    for p in procs:  # only the processes started here
        p.kill()
    for p in procs:
        p.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=list(DEMO_PARTS + KERNELS), choices=DEMO_PARTS + KERNELS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=2, help="CPU-bound processes beside the busy runs")
    parser.add_argument("--target", type=float, default=3.0, help="largest acceptable busy/idle ratio")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before one run is abandoned")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="environment of the measured processes (e.g. OMP_WAIT_POLICY=ACTIVE)")
    parser.add_argument("--json", default=None, help="also write the raw times to this file")
    parser.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    env = dict(os.environ, MPLBACKEND="Agg")
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start, {args.hogs} hogs, "
          f"{args.repeats} repeats, env {args.env or 'as shipped'}", flush=True)
    times: dict = {p: {"idle": [], "busy": [], "idle_cpu": [], "busy_cpu": []} for p in args.parts}
    for rep in range(args.repeats):
        for state in (("idle", "busy") if rep % 2 == 0 else ("busy", "idle")):
            procs = _hogs(args.hogs) if state == "busy" else []
            try:
                got = _measure(args.parts, env, args.timeout)
            finally:
                _stop(procs)
            for part in args.parts:
                times[part][state].append(got[part][0])
                times[part][state + "_cpu"].append(got[part][1])
        for part in args.parts:
            print(f"  repeat {rep + 1}: {part:<16} idle {times[part]['idle'][-1]:7.2f} s   "
                  f"busy {times[part]['busy'][-1]:7.2f} s", flush=True)
    # CPU time / wall time: about the threads' share of the cores when they compute; a CPU
    # time that grows when busy means threads that spin (wait actively) for each other
    print(f"\n{'part':<16} {'idle median (min-max)':>24} {'busy median (min-max)':>24} {'slow-down':>10} "
          f"{'CPU s idle/busy':>16}")
    worst = 0.0
    for part in args.parts:
        idle, busy = times[part]["idle"], times[part]["busy"]
        ratio = statistics.median(busy) / statistics.median(idle)
        worst = max(worst, ratio)
        flag = "" if ratio <= args.target else f"  above {args.target:g}x"
        cpu = f"{statistics.median(times[part]['idle_cpu']):.2f}/{statistics.median(times[part]['busy_cpu']):.2f}"
        print(f"{part:<16} {statistics.median(idle):8.2f} s ({min(idle):5.2f}-{max(idle):5.2f}) "
              f"{statistics.median(busy):8.2f} s ({min(busy):5.2f}-{max(busy):5.2f}) {ratio:9.1f}x {cpu:>16}{flag}")
    idle_total = sum(statistics.median(times[p]["idle"]) for p in args.parts if p in DEMO_PARTS)
    busy_total = sum(statistics.median(times[p]["busy"]) for p in args.parts if p in DEMO_PARTS)
    if idle_total:
        print(f"{'demo parts, sum':<16} {idle_total:8.2f} s {'':13} {busy_total:8.2f} s {'':13} "
              f"{busy_total / idle_total:9.1f}x")
    print(f"\nlargest slow-down {worst:.1f}x (target {args.target:g}x); load average {os.getloadavg()[0]:.1f} at end")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"env": args.env, "hogs": args.hogs, "times": times}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
