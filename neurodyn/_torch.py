"""The one place where neurodyn decides devices, dtypes, conversions and seeds.

Every estimator resolves its ``device`` / ``dtype`` / ``random_state`` parameters
through this module, so that "auto" means the same thing everywhere:

- ``device="auto"`` selects CUDA when a GPU is visible, otherwise the CPU.
- ``dtype=None`` means float64 on the CPU (reference-grade numerics, results
  comparable to numpy/scipy to ~1e-12) and float32 on CUDA (where float64 is
  slow on most cards). An explicit dtype always wins.
- ``random_state`` (None, int, numpy ``Generator``/``RandomState``) becomes a
  seeded ``torch.Generator`` on the requested device, so the same seed gives the
  same result on the same device.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
from collections.abc import Sequence
from typing import Any

from ._openmp import apply_default_wait_policy  # torch-free, before torch

#: whether neurodyn set ``OMP_WAIT_POLICY=PASSIVE`` (before torch loaded)
OPENMP_WAIT_POLICY_SET = apply_default_wait_policy()

import numpy as np  # noqa: E402 - after the OpenMP settings, which must precede torch
import torch  # noqa: E402

__all__ = [
    "resolve_device",
    "resolve_dtype",
    "to_tensor",
    "to_numpy",
    "make_generator",
    "random_uniform",
    "random_normal",
    "random_integers",
    "check_random_state",
    "seed_from_random_state",
    "TorchEstimatorMixin",
    "thread_budget",
    "thread_policy",
    "SMALL_WORK",
]

_DTYPE_ALIASES = {
    "float64": torch.float64,
    "double": torch.float64,
    "float32": torch.float32,
    "float": torch.float32,
    "single": torch.float32,
    "float16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
}


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn a user's ``device`` argument into a ``torch.device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"}, torch.device or None
        ``"auto"`` and ``None`` pick CUDA when available, else CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If CUDA is requested but not available, or the string is not a device.
    """
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device.lower())
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device; got {device!r}"
            ) from exc
    else:
        raise TypeError(
            f"device must be a string or torch.device; got {type(device).__name__}"
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "use device='auto' or device='cpu'"
        )
    return dev


def resolve_dtype(dtype: Any = None, device: torch.device | str | None = None) -> torch.dtype:
    """Resolve ``dtype`` for a computation on ``device``.

    ``None`` gives float64 on the CPU and float32 on CUDA. Strings ("float32",
    "float64", ...), numpy dtypes and torch dtypes are accepted.
    """
    if dtype is None:
        dev = resolve_device(device) if not isinstance(device, torch.device) else device
        return torch.float32 if dev.type == "cuda" else torch.float64
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        key = dtype.lower()
        if key not in _DTYPE_ALIASES:
            raise ValueError(
                f"dtype must be one of {sorted(_DTYPE_ALIASES)} or a torch/numpy dtype; got {dtype!r}"
            )
        return _DTYPE_ALIASES[key]
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a torch or numpy dtype or a string; got {dtype!r}") from exc
    mapping = {
        np.dtype(np.float64): torch.float64,
        np.dtype(np.float32): torch.float32,
        np.dtype(np.float16): torch.float16,
    }
    if np_dtype not in mapping:
        raise ValueError(f"dtype must be a floating type; got {np_dtype}")
    return mapping[np_dtype]


def to_tensor(
    x: Any,
    device: torch.device | str | None = "cpu",
    dtype: torch.dtype | None = None,
    copy: bool = False,
) -> torch.Tensor:
    """Convert ``x`` to a tensor on ``device`` with ``dtype``, avoiding needless copies.

    A C-contiguous numpy array of the right dtype on the CPU is wrapped without a
    copy (``torch.from_numpy`` shares memory); pass ``copy=True`` when the result
    will be modified in place, so the caller's array is never changed.
    Non-writeable numpy arrays are copied (torch cannot share them safely).
    """
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    if isinstance(x, torch.Tensor):
        out = x.to(device=dev, dtype=dtype if dtype is not None else x.dtype)
        if copy and out.data_ptr() == x.data_ptr():
            out = out.clone()
        return out
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError("cannot convert an object array to a tensor; pass a numeric array")
    if not arr.flags.writeable or arr.dtype.byteorder not in ("=", "|", "<" if np.little_endian else ">"):
        arr = np.array(arr, copy=True, order="C")
        copy = False  # already a private copy
    t = torch.from_numpy(arr)
    shared = True
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
        shared = False
    if t.device != dev:
        t = t.to(dev)
        shared = False
    if copy and shared:
        t = t.clone()
    return t


def to_numpy(t: Any) -> np.ndarray:
    """Return a numpy array for a tensor (detached, on the CPU) or array-like."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy()
    return np.asarray(t)


def check_random_state(random_state: Any) -> np.random.Generator:
    """Return a numpy ``Generator`` from None, an int, a Generator or a RandomState."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {type(random_state).__name__}"
    )


def seed_from_random_state(random_state: Any) -> int:
    """Draw a 63-bit seed from ``random_state`` (an int seed is used as is)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).integers(0, 2**63 - 1))


def make_generator(random_state: Any = None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``random_state``.

    Random numbers are drawn on the CPU and then moved (:func:`random_uniform`,
    :func:`random_normal`, :func:`random_integers`), so one seed gives the same
    initialisation and the same samples on the CPU and on a GPU: a fit seeded on a
    laptop is reproduced on a CUDA machine. (CUDA generators give a different
    stream from the CPU one for the same seed.) A numpy Generator is advanced by
    one draw to produce the seed.
    """
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed_from_random_state(random_state))
    return gen


def _draw(fn, args, generator, device, dtype):
    gdev = generator.device if generator is not None else (device if device is not None else "cpu")
    out = fn(*args, generator=generator, device=gdev, dtype=dtype)
    return out if device is None else out.to(device)


def random_uniform(shape: tuple, generator: torch.Generator | None, device: Any = None,
                   dtype: torch.dtype | None = None) -> torch.Tensor:
    """Uniform [0, 1) draws made on ``generator``'s device and moved to ``device``."""
    return _draw(torch.rand, (tuple(shape),), generator, device, dtype)


def random_normal(shape: tuple, generator: torch.Generator | None, device: Any = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Standard normal draws made on ``generator``'s device and moved to ``device``."""
    return _draw(torch.randn, (tuple(shape),), generator, device, dtype)


def random_integers(low: int, high: int, shape: tuple, generator: torch.Generator | None,
                    device: Any = None) -> torch.Tensor:
    """Integers in [low, high) drawn on ``generator``'s device and moved to ``device``."""
    return _draw(torch.randint, (int(low), int(high), tuple(shape)), generator, device, torch.long)


class TorchEstimatorMixin:
    """Shared handling of ``device``, ``dtype`` and ``random_state`` for estimators.

    Estimators store these parameters unchanged in ``__init__`` (scikit-learn
    contract) and call :meth:`_setup_torch` at the start of ``fit``; afterwards
    ``self.device_`` / ``self.dtype_`` hold the resolved values and
    ``self._generator`` a freshly seeded CPU generator (see :func:`make_generator`).
    """

    def _setup_torch(self) -> None:
        self.device_ = resolve_device(getattr(self, "device", "auto"))
        self.dtype_ = resolve_dtype(getattr(self, "dtype", None), self.device_)
        self._generator = make_generator(getattr(self, "random_state", None))

    def _tensor(self, x: Any, copy: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
        return to_tensor(x, device=self.device_, dtype=dtype or self.dtype_, copy=copy)

    @staticmethod
    def _numpy(t: Any) -> np.ndarray:
        return to_numpy(t)


# --------------------------------------------------------------------------- threads
#: Work per operation (multiply-adds, or elements for element-wise work) below which
#: one thread is used: about 2-5 ms on one core, where waking and joining a second
#: thread costs more than it gives, and far more on a busy machine.
SMALL_WORK = 1e7

_BLAS_CONTROLLER: list = []


def _env_threads(name: str) -> int | None:
    """A positive thread count from environment variable ``name`` (first of a list), else None."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        n = int(value.split(",")[0])
    except ValueError:
        return None
    return n if n >= 1 else None


@functools.lru_cache(maxsize=1)
def _cpu_count() -> int:
    """Cores this process may run on: affinity mask and cgroup quota (joblib's count)."""
    try:
        from joblib import cpu_count

        return max(1, int(cpu_count()))
    except ImportError:  # pragma: no cover - joblib comes with scikit-learn
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:
            return max(1, os.cpu_count() or 1)


def thread_budget(n_jobs: int | None = None) -> int:
    """Threads one computation of this process may use on the CPU.

    The smallest of: the cores this process may run on (affinity mask, cgroup quota),
    ``NEURODYN_NUM_THREADS`` and ``OMP_NUM_THREADS`` when set (joblib's loky workers
    get ``OMP_NUM_THREADS = cores // n_jobs``, so a worker uses its share), and the
    threads torch is currently allowed (``torch.set_num_threads`` or a threadpoolctl
    limit on OpenMP lower it). With ``n_jobs`` parallel jobs in this process (a
    thread pool), each gets ``budget // n_jobs`` (at least one).

    Parameters
    ----------
    n_jobs : int, optional
        Number of computations that run at the same time in this process.

    Returns
    -------
    int
        At least 1.
    """
    n = min(_cpu_count(), torch.get_num_threads())
    for var in ("NEURODYN_NUM_THREADS", "OMP_NUM_THREADS"):
        cap = _env_threads(var)
        if cap is not None:
            n = min(n, cap)
    if n_jobs is not None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive integer; got {n_jobs!r}")
        n = n // int(n_jobs)
    return max(1, n)


def _blas_limit(n: int):
    """Context limiting numpy's BLAS to ``n`` threads (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=int(n), user_api="blas")


class thread_policy(contextlib.ContextDecorator):
    """Context manager (and decorator) running torch and numpy's BLAS on a fair number of threads.

    Inside, torch's intra-op threads and numpy's BLAS threads are both set to
    :func:`thread_budget` (never more than torch had on entry), or to one thread
    when ``work`` is below ``small``. Both are restored on exit, also after an
    exception. Every capability calls it around its CPU hot loops::

        with thread_policy(work=batch_size * n_units**2):   # one RNN step's product
            for step in range(n_steps):
                ...

        @thread_policy()                    # a whole fit at the process's share
        def fit(self, X, y=None): ...

    It is a no-op for work on a GPU only in that the GPU kernels ignore it; the CPU
    side of the loop (data preparation, small reductions) still follows it.

    Parameters
    ----------
    work : float, optional
        Multiply-adds (or elements) of the typical operation inside; below ``small``
        one thread is used.
    n_threads : int, optional
        Upper bound on the threads (the budget still applies).
    n_jobs : int, optional
        Parallel jobs of this process sharing the cores (threads of a pool): each
        gets ``budget // n_jobs``.
    small : float, default SMALL_WORK
        Threshold on ``work``.

    Notes
    -----
    ``torch.set_num_threads`` acts on the whole process; do not run two policies
    with different counts in threads of the same process at the same time (use
    ``n_jobs`` in the thread that starts the pool instead).
    """

    def __init__(self, work: float | None = None, n_threads: int | None = None,
                 n_jobs: int | None = None, small: float = SMALL_WORK):
        if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral)
                                      or n_threads < 1):
            raise ValueError(f"n_threads must be a positive integer or None; got {n_threads!r}")
        if work is not None and not (isinstance(work, numbers.Real) and work >= 0):
            raise ValueError(f"work must be a non-negative number or None; got {work!r}")
        self.work, self.n_threads, self.n_jobs, self.small = work, n_threads, n_jobs, small
        thread_budget(n_jobs)  # validates n_jobs now, not on entry
        self._stack: list = []

    def _recreate_cm(self):
        # a fresh context for every decorated call (recursion and re-entry stay correct)
        return type(self)(self.work, self.n_threads, self.n_jobs, self.small)

    def resolve(self) -> int:
        """The number of threads the policy gives now."""
        if self.work is not None and self.work < self.small:
            return 1
        n = thread_budget(self.n_jobs)
        if self.n_threads is not None:
            n = min(n, int(self.n_threads))
        return n

    def __enter__(self) -> int:
        n = self.resolve()
        previous = torch.get_num_threads()
        if n != previous:
            torch.set_num_threads(n)
        blas = _blas_limit(n)
        try:
            blas.__enter__()
        except BaseException:
            torch.set_num_threads(previous)
            raise
        self._stack.append((previous, blas))
        return n

    def __exit__(self, *exc) -> bool:
        previous, blas = self._stack.pop()
        try:
            blas.__exit__(*exc)
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)
        return False


def numpy_blas_single_thread(n_mac: float, limit: float = 5e8):
    """Context that runs numpy's BLAS on one thread for a product of ``n_mac`` multiply-adds
    below ``limit`` (a few ms of work).

    Between torch operations, numpy's BLAS threads and torch's OpenMP threads compete for
    the same cores; for small products that costs several times the work itself (measured
    3-5x on a 2-core machine), while one BLAS thread loses little. Larger products keep
    their threads.
    """
    if n_mac > limit:
        return contextlib.nullcontext()
    return _one_blas_thread()


def _one_blas_thread():
    """Context limiting numpy's BLAS to one thread (a no-op without threadpoolctl)."""
    return _blas_limit(1)


def map_blas_workers(fn, items: Sequence, n_workers: int | None = None, work: float | None = None) -> list:
    """``[fn(item) for item in items]`` on ``n_workers`` threads (default: the process's
    :func:`thread_budget`), each with a single-threaded numpy BLAS and one torch thread.

    With ``work`` (multiply-adds per item) below :data:`SMALL_WORK` the items run in a
    plain loop on one BLAS thread: starting and joining pool threads costs more than
    items that small take (beside busy processes, 4x the work for ~2 ms calls).

    For many small independent products (per-subject Gram matrices of ~100 x 1000
    blocks) one BLAS call per core beats multi-threaded BLAS inside each call,
    which barely speeds up products that small (measured 1.5-1.7x on 2 cores).
    ``fn`` must release the GIL in its heavy part (numpy's ``matmul`` does).
    With one worker or one item it is a plain loop; BLAS is left as it is unless ``work``
    is between SMALL_WORK and 5e8 multiply-adds per item (a few ms), where the loop runs on one BLAS
    thread: an ``fn`` that alternates two BLAS libraries (scipy's ``dtrmm``, then numpy's
    ``matmul``) otherwise makes each library's idle threads spin against the other's
    (crossnobis whitening of 8 subjects x 240 x 400: 64 ms with two threads each, 8 ms on one).
    """
    items = list(items)
    n = min(int(n_workers or thread_budget()), len(items))
    if work is not None and work < SMALL_WORK and n > 1:
        with thread_policy(n_threads=1):
            return [fn(item) for item in items]
    if n <= 1:
        # (below SMALL_WORK OpenBLAS keeps small products on the calling thread by itself,
        # and the thread policy's own cost would show: ~0.15 ms per call)
        if work is not None and SMALL_WORK <= work < 5e8:
            with thread_policy(n_threads=1):
                return [fn(item) for item in items]
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with thread_policy(n_threads=1), ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))
