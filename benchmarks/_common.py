"""Helpers shared by the benchmark scripts (not a benchmark itself: ``make bench`` skips it)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np


def data_home() -> Path:
    """``$NEURODYN_DATA``, or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("NEURODYN_DATA",
                               Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def fsa5_series() -> np.ndarray:
    """The fsaverage5 rest run, (time, vertices), through the package's loader."""
    from neurodyn.datasets import load_fsa5_rest

    try:
        return load_fsa5_rest(data_home=data_home(), download_if_missing=False).timeseries
    except (FileNotFoundError, OSError) as exc:
        sys.exit(f"fsaverage5 run not usable under {data_home()}: {exc}; set NEURODYN_DATA")


def timed(func, *args, repeat: int = 1, warmup: bool = False, reduce=min, **kwargs):
    """``(func(*args, **kwargs), reduce(wall times in s))`` over ``repeat`` calls (the best
    by default; ``reduce=statistics.median`` for the median), optionally after one untimed
    warm-up call; the output is the last call's."""
    if warmup:
        func(*args, **kwargs)
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return out, float(reduce(times))
