"""Benchmark: LeakyRNN (fused leaky-as-Elman path) vs its eager time loop vs torch.nn.RNN.

One process, same workload, interleaved repeats, median of ``--repeats`` timings after one
warm-up. First checks that the three agree (fused == loop to 1e-5; nn.RNN loaded with the
equivalent Elman weights == LeakyRNN to 1e-5), then prints training-step (forward + backward +
SGD step) and no-grad forward times, steps/s and the ratios.

    python benchmarks/rnn_step.py            # (256, 128, 100) and (500, 128, 100), CPU
    python benchmarks/rnn_step.py --full     # adds the spec grid (128,64,50), (500,256,50), (500,10,2000)
    python benchmarks/rnn_step.py --compile  # also time torch.compile of the eager loop
    python benchmarks/rnn_step.py --grid "128,64,50" --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from neurodyn.rnn import LeakyRNN


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def _make(h: int, dev: torch.device):
    net = LeakyRNN(n_units=h, n_inputs=1, nonlinearity="relu", random_state=0, device=dev)
    ref = torch.nn.RNN(1, h, nonlinearity="relu", device=dev)
    with torch.no_grad():
        w_eff, u_eff, b_eff = net.elman_parameters()
        ref.weight_hh_l0.copy_(w_eff)
        ref.weight_ih_l0.copy_(u_eff)
        ref.bias_ih_l0.copy_(b_eff)
        ref.bias_hh_l0.zero_()
    head = torch.nn.Linear(h, 2, device=dev)
    return net, ref, head


def _check(net, ref, x) -> None:
    with torch.no_grad():
        fused, _ = net(x)
        loop, _ = net.forward_loop(x)
        elman, _ = ref(x, torch.zeros(1, x.shape[1], net.n_units, device=x.device))
    e1 = (fused - loop).abs().max().item()
    e2 = (fused - elman).abs().max().item()
    scale = max(loop.abs().max().item(), 1.0)
    print(f"  agreement: |fused - loop| = {e1:.2e}, |LeakyRNN - nn.RNN| = {e2:.2e} (max |state| {scale:.1f})")
    assert e1 < 1e-5 * scale and e2 < 1e-5 * scale, "implementations disagree"


def _runners(net, ref, head, x, y, compiled=None):
    opt_net = torch.optim.SGD(list(net.parameters()) + list(head.parameters()), lr=1e-3)
    opt_ref = torch.optim.SGD(list(ref.parameters()) + list(head.parameters()), lr=1e-3)
    loss_fn = torch.nn.functional.cross_entropy

    def train(forward, opt):
        def run():
            states = forward()
            loss = loss_fn(head(states[-1]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return run

    def nograd(forward):
        def run():
            with torch.no_grad():
                forward()
        return run

    fused = lambda: net(x)[0]  # noqa: E731
    loop = lambda: net.forward_loop(x)[0]  # noqa: E731
    elman = lambda: ref(x)[0]  # noqa: E731
    out = {
        "train": {"LeakyRNN fused": train(fused, opt_net), "eager loop": train(loop, opt_net),
                  "nn.RNN": train(elman, opt_ref)},
        "no-grad": {"LeakyRNN fused": nograd(fused), "eager loop": nograd(loop), "nn.RNN": nograd(elman)},
    }
    if compiled is not None:
        out["train"]["compiled loop"] = train(lambda: compiled(x)[0], opt_net)
        out["no-grad"]["compiled loop"] = nograd(lambda: compiled(x)[0])
    return out


def bench(h: int, b: int, t: int, repeats: int, dev: torch.device, use_compile: bool) -> dict:
    print(f"\n(H, B, T) = ({h}, {b}, {t})  device={dev}  threads={torch.get_num_threads()}")
    net, ref, head = _make(h, dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    x = (torch.rand(t, b, 1, generator=gen, device=dev) < 0.5).float()
    y = torch.randint(0, 2, (b,), generator=gen, device=dev)
    _check(net, ref, x)
    compiled = None
    first_call = {}
    if use_compile:
        compiled = torch.compile(net.forward_loop)
        t0 = time.perf_counter()
        compiled(x)
        _sync(dev)
        first_call["compiled loop"] = time.perf_counter() - t0
    results = {}
    for mode, runs in _runners(net, ref, head, x, y, compiled).items():
        times = {name: [] for name in runs}
        for fn in runs.values():   # warm-up
            fn()
        _sync(dev)
        for _ in range(repeats):    # interleaved
            for name, fn in runs.items():
                _sync(dev)
                t0 = time.perf_counter()
                fn()
                _sync(dev)
                times[name].append(time.perf_counter() - t0)
        med = {name: statistics.median(v) for name, v in times.items()}
        results[mode] = med
        print(f"  {mode}:")
        for name, s in med.items():
            print(f"    {name:<16} {s * 1e3:9.2f} ms   {t / s:10.0f} timesteps/s   {b * t / s:12.0f} B*T/s")
        print(f"    ratio eager loop / fused = {med['eager loop'] / med['LeakyRNN fused']:.2f}x ;"
              f" fused / nn.RNN = {med['LeakyRNN fused'] / med['nn.RNN']:.2f}x")
    for name, s in first_call.items():
        print(f"  first_call_s {name}: {s:.2f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also run the spec's grid")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the loop")
    parser.add_argument("--grid", default=None, help="sizes as 'H,B,T;H,B,T' (overrides the defaults)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from neurodyn._torch import resolve_device

    dev = resolve_device(args.device)
    rnn_flags = getattr(torch.backends.cudnn, "rnn", None)
    if dev.type == "cuda" and rnn_flags is not None and hasattr(rnn_flags, "fp32_precision"):
        # LeakyRNN runs cuDNN in full float32; give nn.RNN the same precision (PyTorch's default is TF32)
        rnn_flags.fp32_precision = "ieee"
        print("cuDNN RNN float32 precision: ieee (no TF32) for both LeakyRNN and nn.RNN")
    grid = [(256, 128, 100), (500, 128, 100)]
    if args.full:
        grid += [(128, 64, 50), (500, 256, 50), (500, 10, 2000)]
    if args.grid:
        grid = [tuple(int(v) for v in item.split(",")) for item in args.grid.split(";")]
    for h, b, t in grid:
        bench(h, b, t, args.repeats, dev, args.compile)


if __name__ == "__main__":
    main()
