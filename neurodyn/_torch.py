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
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

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


_BLAS_CONTROLLER: list = []


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
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return contextlib.nullcontext()
    if not _BLAS_CONTROLLER:
        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def map_blas_workers(fn, items: Sequence, n_workers: int | None = None) -> list:
    """``[fn(item) for item in items]`` on ``n_workers`` threads (default: torch's
    thread count), each with a single-threaded numpy BLAS.

    For many small independent products (per-subject Gram matrices of ~100 x 1000
    blocks) one BLAS call per core beats multi-threaded BLAS inside each call,
    which barely speeds up products that small (measured 1.5-1.7x on 2 cores).
    ``fn`` must release the GIL in its heavy part (numpy's ``matmul`` does).
    With one worker or one item it is a plain loop with BLAS left as it is.
    """
    items = list(items)
    n = min(int(n_workers or torch.get_num_threads()), len(items))
    if n <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with _one_blas_thread(), ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))
