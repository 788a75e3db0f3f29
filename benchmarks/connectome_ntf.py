"""Benchmark: neurodyn NonnegativeCP (torch HALS) vs tensorly non_negative_parafac_hals.

Same tensor, same initial factors, same number of iterations, 5 inner HALS
sweeps in both. Outputs are checked to agree first (final relative error within
1e-4 relative, factor match score >= 0.99), then times are printed as ms per
iteration (median of repeats) with the ratio, plus the time of 10 restarts
(tensorly: 10 sequential fits; neurodyn: one batched fit).

Sizes (pairs P = N(N-1)/2, windows K, animals W, rank R):
  S: N=60  (P=1770),  K=79,   W=6,  R=4   (the shared planted fixture when found)
  M: N=120 (P=7140),  K=159,  W=10, R=10  (synthetic)
  L: N=190 (P=17955), K=1000, W=21, R=20  (synthetic; CUDA only, with --full)

Tensors of other orders (``--orders``, general HALS loop; same checks and timing):
  O2: (4000, 300), R=10 (NMF)
  O4: (60, 40, 30, 12), R=6
  O5: (30, 20, 12, 10, 6), R=5

Usage: python benchmarks/connectome_ntf.py [--full] [--sizes S M] [--orders O2 O4 O5] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import tensorly as tl
import torch
from _common import data_home
from tensorly.cp_tensor import CPTensor
from tensorly.decomposition import non_negative_parafac_hals

from neurodyn.connectome import NonnegativeCP, factor_match_score

SIZES = {"S": (60, 79, 6, 4), "M": (120, 159, 10, 10), "L": (190, 1000, 21, 20)}
ORDERS = {"O2": ((4000, 300), 10), "O4": ((60, 40, 30, 12), 6), "O5": ((30, 20, 12, 10, 6), 5)}




def make_tensor(size: str, dtype=np.float64) -> np.ndarray:
    n, k, w, r = SIZES[size]
    fixture = data_home() / "synthetic_dynamic_connectome" / "planted_default_seed0.npz"
    if size == "S" and fixture.is_file():
        with np.load(fixture) as f:
            return f["affinity_tensor"].astype(dtype)
    rng = np.random.default_rng(0)
    p = n * (n - 1) // 2
    # planted sparse non-negative components plus dense non-negative noise, in [0, ~1]
    a = (rng.random((p, r)) < 0.1) * rng.random((p, r))
    b = np.clip(np.sin(np.linspace(0, 3 * np.pi, k)[:, None] * rng.uniform(0.5, 2, r)), 0, None)
    c = rng.random((w, r))
    x = np.einsum("pr,kr,wr->pkw", a, b, c)
    x = x / x.max() + 0.2 * rng.random(x.shape)
    return x.astype(dtype)


def make_order_tensor(name: str) -> tuple[np.ndarray, int]:
    """A planted non-negative CP tensor of another order plus dense non-negative noise."""
    shape, r = ORDERS[name]
    rng = np.random.default_rng(0)
    factors = [(rng.random((n, r)) < 0.3) * rng.random((n, r)) for n in shape]
    letters = "abcde"[:len(shape)]
    x = np.einsum(",".join(f"{c}r" for c in letters) + "->" + letters, *factors)
    return x / x.max() + 0.2 * rng.random(shape), r


def time_tensorly(x, init, n_iter, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        cp, errors = non_negative_parafac_hals(x, init[0].shape[1],
                                               init=CPTensor((np.ones(init[0].shape[1]), [f.copy() for f in init])),
                                               n_iter_max=n_iter, tol=1e-15, return_errors=True)
        times.append(time.perf_counter() - t0)
        result = (cp, errors)
    return statistics.median(times) / n_iter, result


def time_neurodyn(x, init, n_iter, repeats, device, dtype, n_restarts=1, seed=None):
    times, est = [], None
    for _ in range(repeats):
        est = NonnegativeCP(init[0].shape[1] if init is not None else seed[1],
                            init=init if init is not None else "random",
                            n_restarts=n_restarts, max_iter=n_iter, tol=0, device=device, dtype=dtype,
                            random_state=None if seed is None else seed[0])
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        est.fit(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n_iter, est


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="more iterations; size L on CUDA")
    parser.add_argument("--sizes", nargs="+", default=None, choices=sorted(SIZES))
    parser.add_argument("--orders", nargs="*", default=[], choices=sorted(ORDERS),
                        help="also time tensors of order 2, 4 or 5 (the general loop)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    tl.set_backend("numpy")
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    sizes = args.sizes or (["S", "M", "L"] if args.full and device.startswith("cuda") else ["S", "M"])
    try:
        from threadpoolctl import threadpool_info

        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        blas = "threadpoolctl not installed"
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} device={device}; "
          f"tensorly {tl.__version__} (numpy backend); BLAS pools {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '<unset>')}")
    for size in sizes + list(args.orders):
        if size in ORDERS:
            x, r = make_order_tensor(size)
        else:
            r = SIZES[size][3]
            x = make_tensor(size)
        n_iter = {"S": 30, "M": 8, "L": 3, "O2": 20, "O4": 10, "O5": 10}[size] * (3 if args.full else 1)
        repeats = 3
        rng = np.random.default_rng(1)
        init = [rng.random((dim, r)) for dim in x.shape]
        print(f"\n== size {size}: X {x.shape} ({x.size / 1e6:.2f}M entries), R={r}, "
              f"{n_iter} iterations, median of {repeats}")
        tl_ms, (tl_cp, tl_err) = time_tensorly(x, init, n_iter, repeats)
        rows = []
        for dev, dt in [("cpu", "float64"), ("cpu", "float32")] + (
                [(device, "float64"), (device, "float32")] if device.startswith("cuda") else []):
            ms, est = time_neurodyn(x, init, n_iter, repeats, dev, dt)
            rel = abs(est.reconstruction_error_ - tl_err[-1]) / tl_err[-1]
            fms = factor_match_score(est.to_cptensor(), tl_cp)
            tol_rel = 1e-4 if dt == "float64" else 1e-3
            agree = rel <= tol_rel and fms >= 0.99
            rows.append((dev, dt, ms, rel, fms, agree, est.reconstruction_error_))
        print(f"  tensorly  numpy float64: {1e3 * tl_ms:9.2f} ms/iter   final error {tl_err[-1]:.6f}")
        for dev, dt, ms, rel, fms, agree, err in rows:
            print(f"  neurodyn  {dev:5s} {dt}: {1e3 * ms:9.2f} ms/iter   final error {err:.6f}  "
                  f"(rel. diff {rel:.1e}, FMS {fms:.4f}, {'agree' if agree else 'DISAGREE'})  "
                  f"speed-up x{tl_ms / ms:.1f}")
        if not all(row[5] for row in rows):
            print("  outputs disagree: timings above are not comparable")
        # 10 restarts: tensorly runs them one after another; neurodyn batches them
        n_restarts = 10
        t_tl = n_restarts * tl_ms * n_iter
        if size in ORDERS:
            continue  # the batched-restart comparison is the 3-way one
        ms_b, _ = time_neurodyn(x, None, n_iter, 1, device if device.startswith("cuda") else "cpu",
                                "float32" if device.startswith("cuda") else "float64",
                                n_restarts=n_restarts, seed=(0, r))
        print(f"  10 restarts x {n_iter} iterations: tensorly {t_tl:.2f} s (10 x single), "
              f"neurodyn batched {ms_b * n_iter:.2f} s  -> x{t_tl / (ms_b * n_iter):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
