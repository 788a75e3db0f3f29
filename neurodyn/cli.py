"""The ``neurodyn`` command line.

``neurodyn info``
    Versions, device, threads and where data is found.
``neurodyn demo [--out DIR] [--quick] [--only CAP ...] [--no-progress]``
    Runs every available capability on its embedded default (simulated data with
    known ground truth, plus real data from ``NEURODYN_DATA`` when present) and
    writes a folder of PNG figures with a ``summary.json`` of recovered
    quantities against the truth.

Progress: a tqdm bar over the demo parts, and in the full demo a bar for every
fit that takes more than a few seconds, are written to stderr; stdout carries
only the ``[neurodyn demo]`` report lines (``--no-progress`` turns the bars off).

Threads: the command loads torch through ``neurodyn._torch`` (idle OpenMP threads
sleep instead of spinning unless ``OMP_WAIT_POLICY`` is set) and runs every part
under :func:`neurodyn._torch.thread_policy` (torch and BLAS threads capped by the
cores, ``OMP_NUM_THREADS`` / ``NEURODYN_NUM_THREADS``), so that a demo beside other
busy processes slows down by about their share of the cores, not 10-100x.

A capability takes part in the demo by providing ``neurodyn/<capability>/_demo.py``
with ``run_demo(out_dir: pathlib.Path, quick: bool, data_home: pathlib.Path | None) -> dict``.
It writes its figures under ``out_dir`` (a folder of its own) and returns a
JSON-serialisable dict whose ``"figures"`` entry lists the PNG files it wrote,
relative to ``out_dir``. A part whose ``run_demo`` also takes ``verbose`` gets
``verbose=True`` when progress is shown, and then passes it to its long fits.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from . import CAPABILITIES, __version__

_DEMO_PARTS = ("datasets",) + CAPABILITIES


def _info() -> dict:
    import numpy as np
    import scipy
    import sklearn
    import torch

    from ._torch import resolve_device, thread_budget
    from .datasets import dataset_status, get_data_home

    info = {
        "neurodyn": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "device_auto": str(resolve_device("auto")),
        "cuda_available": bool(torch.cuda.is_available()),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "torch_threads": torch.get_num_threads(),
        "thread_budget": thread_budget(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "not set"),
        "cpu_count": os.cpu_count(),
        "data_home": str(get_data_home()),
        "datasets": dataset_status(),
    }
    for mod in ("tensorly", "networkx", "nilearn", "nibabel"):
        try:
            info[mod] = importlib.import_module(mod).__version__
        except Exception:  # pragma: no cover - reported, not fatal
            info[mod] = "not installed"
    return info


def _print_info(info: dict) -> None:
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "datasets":
            print(f"{'datasets':<{width}} :")
            for name, state in value.items():
                print(f"  {name:<34} {state}")
        else:
            print(f"{key:<{width}} : {value}")


def run_demo(out: str | Path, quick: bool = False, only: list[str] | None = None,
             data_home: str | Path | None = None, verbose: bool = True) -> dict:
    """Run the demo parts and write ``summary.json``; return the summary dict.

    Parameters
    ----------
    out : str or pathlib.Path
        Output folder (created; one sub-folder per part).
    quick : bool
        Small problem sizes (seconds per part).
    only : list of str, optional
        Parts to run (default: all of ``datasets`` and the capabilities).
    data_home : str or pathlib.Path, optional
        Data folder (default: ``$NEURODYN_DATA``, then ``~/neurodyn_data``).
    verbose : bool
        Progress bars on stderr: one over the parts, and (full demo) one per long fit.

    Returns
    -------
    dict
        The summary also written to ``out/summary.json``.
    """
    from tqdm.auto import tqdm

    from ._torch import thread_policy
    from .datasets import get_data_home

    # every argument is checked before anything is written
    parts = only or list(_DEMO_PARTS)
    if isinstance(parts, str):
        parts = [parts]
    unknown = [p for p in parts if p not in _DEMO_PARTS]
    if unknown:
        raise ValueError(f"--only must name parts among {list(_DEMO_PARTS)}; got {unknown}")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out must be a folder; {str(out_dir)!r} is a file")
    try:
        home = get_data_home(data_home)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--data-home: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {
        "neurodyn": __version__,
        "quick": quick,
        "data_home": str(home) if home.is_dir() else None,
        "parts": {},
    }
    # the bar lives on stderr; report lines go to stdout through tqdm.write, which
    # clears and redraws the bar so the two never share a terminal line
    bar = tqdm(parts, desc="neurodyn demo", unit="part", file=sys.stderr, disable=not verbose,
               dynamic_ncols=True)
    for part in bar:
        bar.set_postfix_str(part)
        try:
            module = importlib.import_module(f"neurodyn.{part}._demo")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"neurodyn.{part}"):
                summary["parts"][part] = {"status": "not available yet"}
                continue
            raise
        part_dir = out_dir / part
        part_dir.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        _report(f"[neurodyn demo] {part} ...")
        kwargs = {"verbose": True} if verbose and "verbose" in inspect.signature(module.run_demo).parameters \
            else {}
        try:
            with thread_policy():
                result = module.run_demo(part_dir, quick=quick, data_home=home if home.is_dir() else None,
                                         **kwargs)
            result = dict(result)
            result["status"] = "ok"
            result["figures"] = [f"{part}/{f}" for f in result.get("figures", [])]
        except Exception as exc:  # a failing part is reported, the others still run
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc(limit=5)}
        result["seconds"] = round(time.perf_counter() - t0, 2)
        summary["parts"][part] = result
        _report(f"[neurodyn demo] {part}: {result['status']} ({result['seconds']} s)")
    bar.close()
    with open(out_dir / "summary.json", "w") as fh:
        json.dump(summary, fh, indent=2, default=_json_default)
    return summary


def _report(line: str) -> None:
    """One report line on stdout, printed around (never inside) a progress bar on stderr."""
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neurodyn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"neurodyn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="versions, device, threads and data location")
    p_info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_demo = sub.add_parser("demo", help="run every capability on its default data and write a report")
    p_demo.add_argument("--out", default="neurodyn_demo", help="output folder (default: neurodyn_demo)")
    p_demo.add_argument("--quick", action="store_true", help="small problem sizes (seconds, for tests)")
    p_demo.add_argument("--only", nargs="+", metavar="PART", help=f"run only these parts of {list(_DEMO_PARTS)}")
    p_demo.add_argument("--data-home", default=None, help="data folder (default: $NEURODYN_DATA)")
    p_demo.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    args = parser.parse_args(argv)
    # before anything loads torch: the OpenMP runtime reads its wait policy once, when it loads
    from . import _torch  # noqa: F401

    if args.command == "info":
        info = _info()
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            _print_info(info)
        return 0
    import matplotlib

    matplotlib.use("Agg")
    summary = run_demo(args.out, quick=args.quick, only=args.only, data_home=args.data_home,
                       verbose=not args.no_progress)
    failed = [k for k, v in summary["parts"].items() if v["status"] == "failed"]
    print(f"[neurodyn demo] report written to {Path(args.out) / 'summary.json'}")
    if failed:
        print(f"[neurodyn demo] failed parts: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
