"""The one parallel seam: independent items (subjects, animals, bootstrap blocks) over joblib.

Every per-subject loop of the package goes through :func:`parallel_map`, so that

* any joblib backend works, chosen by the caller with
  ``joblib.parallel_config(backend=...)``: ``"loky"`` (processes, the default for
  ``n_jobs > 1``), ``"threading"``, or ``"dask"`` on a ``dask.distributed``
  cluster (a ``LocalCluster``, or ``dask_jobqueue.SLURMCluster`` / ``PBSCluster``);
* every worker gets its share of the machine's threads (numpy BLAS/OpenMP through
  threadpoolctl, and torch's intra-op pool), so ``n_jobs`` workers do not each
  start one thread per core;
* randomness is derived per item from the caller's ``random_state`` (one
  ``numpy.random.SeedSequence`` child per item index), so a result does not depend
  on ``n_jobs``, the backend, or the order in which workers finish;
* per-item results can be cached on disk with ``memory`` (``joblib.Memory``): a
  run that was killed halfway redoes only the items that had not finished;
* an error inside one item is raised in the caller as the same exception type,
  its message prefixed by the item (``"subject 3: ..."``), and the remaining
  items are cancelled (joblib's abort), so nothing hangs.

Thread policy interface: :func:`limit_threads` (a context, in the caller) and
``_set_worker_threads`` (once per worker process) are the only places that set
threads; both receive the number of threads one worker may use, so
``neurodyn._torch``'s policy can take them over by replacing their bodies.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["parallel_map", "check_n_jobs", "check_memory", "item_seeds", "limit_threads",
           "n_workers", "threads_per_worker"]


def check_n_jobs(n_jobs: Any, name: str = "n_jobs") -> int | None:
    """Validate a joblib ``n_jobs``: None or a non-zero integer (``-1``: all workers)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"{name} must be None or an integer (joblib semantics); got {n_jobs!r} "
                        f"({type(n_jobs).__name__})")
    if int(n_jobs) == 0:
        raise ValueError(f"{name} must be None, a positive integer or a negative integer "
                         "(-1: all workers, joblib semantics); got 0")
    return int(n_jobs)


def check_memory(memory: Any, name: str = "memory"):
    """None, or a ``joblib.Memory`` built from a folder path (a Memory is returned as is)."""
    from joblib import Memory

    if memory is None or isinstance(memory, Memory):
        return memory
    if isinstance(memory, (str, os.PathLike)):
        return Memory(str(Path(memory)), verbose=0)
    raise TypeError(f"{name} must be None, a folder path or a joblib.Memory; got {memory!r} "
                    f"({type(memory).__name__})")


def item_seeds(random_state: Any, n_items: int) -> list[int]:
    """One independent 63-bit seed per item, derived from ``random_state``.

    ``random_state`` (None, an int, a numpy Generator or RandomState) gives the
    root entropy (a Generator is advanced by one draw, in the caller); item ``i``
    gets the ``i``-th ``SeedSequence`` child, so its seed does not depend on the
    number of workers or on which worker runs it.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        entropy = int(random_state)
    elif random_state is None:
        entropy = None
    elif isinstance(random_state, np.random.Generator):
        entropy = int(random_state.integers(0, 2**63 - 1))
    elif isinstance(random_state, np.random.RandomState):
        entropy = int(random_state.randint(0, 2**31 - 1))
    else:
        raise TypeError("random_state must be None, an int, a numpy Generator or RandomState; "
                        f"got {type(random_state).__name__}")
    children = np.random.SeedSequence(entropy).spawn(int(n_items))
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def n_workers(n_jobs: int | None) -> int:
    """Workers joblib will use for ``n_jobs`` under the active ``parallel_config``."""
    from joblib import effective_n_jobs

    try:
        return max(1, int(effective_n_jobs(n_jobs)))
    except Exception:  # e.g. the dask backend without a client
        return 1


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(n_jobs: int | None) -> int:
    """This machine's threads divided among the workers of ``n_jobs`` (at least 1)."""
    return max(1, _cpu_count() // n_workers(n_jobs))


def _dask_worker_threads() -> int | None:
    """Threads one task may use inside a dask worker process, None outside dask.

    dask's nanny starts its worker processes with ``OMP_NUM_THREADS=1`` (its own
    policy against oversubscription); without that variable a worker's machine is
    shared among the worker's task threads.
    """
    import sys

    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    nthreads = getattr(getattr(worker, "state", worker), "nthreads", 1) or 1
    return max(1, _cpu_count() // int(nthreads))


@contextlib.contextmanager
def limit_threads(n_threads: int):
    """Run the block with at most ``n_threads`` BLAS/OpenMP threads and torch threads.

    Restores the previous limits afterwards. Process wide (threadpoolctl and
    ``torch.set_num_threads`` act on the process): call it in a worker process
    around a task, or once in the caller around a threaded map.
    """
    n_threads = max(1, int(n_threads))
    stack = contextlib.ExitStack()
    try:
        from threadpoolctl import threadpool_limits

        stack.enter_context(threadpool_limits(limits=n_threads))
    except ImportError:  # pragma: no cover - installed with scikit-learn
        pass
    import torch

    previous = torch.get_num_threads()
    if previous != n_threads:
        torch.set_num_threads(n_threads)
    try:
        with stack:
            yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


_WORKER_THREADS: list = []


def _set_worker_threads(n_threads: int) -> None:
    """Set a worker process's BLAS/OpenMP and torch threads to ``n_threads`` (kept, not restored:
    the process is a worker; checked once per process and value, so a task pays nothing)."""
    n_threads = max(1, int(n_threads))
    if _WORKER_THREADS and _WORKER_THREADS[0] == n_threads:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n_threads)
    except ImportError:  # pragma: no cover - installed with scikit-learn
        pass
    import torch

    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    _WORKER_THREADS[:] = [n_threads]


def _prefixed(exc: BaseException, prefix: str) -> BaseException:
    """``exc`` of the same type with ``prefix`` before its message (RuntimeError if the type
    cannot be rebuilt from one message)."""
    message = f"{prefix}: {exc}"
    try:
        new = type(exc)(message)
        rebuilt = str(new) == message or isinstance(exc, KeyError)
    except Exception:
        rebuilt = False
    if not rebuilt:
        new = RuntimeError(f"{prefix}: {type(exc).__name__}: {exc}")
    return new


def _run_item(boxed, args, kwargs, fn, index, seed, memory, n_threads, caller_pid, desc):
    """One task: thread limits (in a worker process), the cache, and the item's name on errors."""
    (item,) = boxed
    call = fn if memory is None else memory.cache(fn)
    if seed is not None:
        kwargs = {**kwargs, "random_state": seed}
    # inside the caller's process (sequential or threading backend) the caller set the limits
    if os.getpid() != caller_pid:
        dask_threads = _dask_worker_threads()
        _set_worker_threads(dask_threads if dask_threads is not None else n_threads)
    try:
        return call(item, *args, **kwargs)
    except Exception as exc:
        prefix = f"{desc} {index}"
        if str(exc).startswith(prefix + ":"):
            raise
        raise _prefixed(exc, prefix) from exc


def parallel_map(fn: Callable, items: Iterable, *, args: Sequence = (), kwargs: dict | None = None,
                 n_jobs: int | None = None, memory: Any = None, desc: str = "item",
                 verbose: bool = False, random_state: Any = None) -> list:
    """``[fn(item, *args, **kwargs) for item in items]`` over joblib workers.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to worker processes, and named in
        the cache). Called as ``fn(item, *args, **kwargs)``, plus
        ``random_state=<int seed>`` when ``random_state`` is not None.
    items : iterable
        The independent pieces of work, e.g. one array per subject.
    args, kwargs :
        Shared arguments of every call, sent with each task (joblib memory-maps
        large arrays for loky). On dask nothing is scattered: a task carries its
        data, so a worker lost mid-run loses nothing that cannot be recomputed.
    n_jobs : int or None
        joblib semantics: None means the active ``parallel_config`` (1 outside
        one), ``-1`` all workers (all cores, or all threads of the dask cluster).
        With one worker the items run in the calling process, in order.
    memory : None, str, path or joblib.Memory
        Cache of per-item results. Keyed on the item, ``args``, ``kwargs``, the
        item's seed and ``fn``'s code, so a rerun after a crash computes only the
        items whose results are not on disk. On a cluster it must be a folder the
        workers share.
    desc : str
        What an item is, for messages and the progress bar (``"subject"``).
    verbose : bool
        tqdm progress bar over finished items.
    random_state : None, int, numpy Generator or RandomState
        When given, item ``i`` receives the seed ``item_seeds(random_state, n)[i]``:
        the results are the same for every ``n_jobs`` and backend.

    Returns
    -------
    list
        The results, in the order of ``items``.

    Raises
    ------
    Exception
        The first error of an item, same type, message prefixed by ``"<desc> <index>: "``;
        the other items are cancelled.

    Notes
    -----
    Threads: a worker process is set, at its first task, to the machine's cores
    divided by the number of workers (in a dask worker, to the worker's
    ``OMP_NUM_THREADS``, which dask's nanny sets to 1), for BLAS/OpenMP through
    threadpoolctl and for torch; it is set once per process and value, since
    threadpoolctl's look-up of the loaded libraries costs about 6 ms, more than
    many tasks. With the threading backend the caller's process is limited
    once around the map (:func:`limit_threads`) and restored afterwards.
    """
    from joblib import Parallel, delayed

    n_jobs = check_n_jobs(n_jobs)
    memory = check_memory(memory)
    kwargs = dict(kwargs or {})
    items = list(items)
    seeds = item_seeds(random_state, len(items)) if random_state is not None else [None] * len(items)
    workers = min(n_workers(n_jobs), max(1, len(items)))
    n_threads = max(1, _cpu_count() // workers)
    pid = os.getpid()
    # The item travels boxed in a tuple (as do args and kwargs): joblib's dask backend
    # scatters large top-level arguments to a single worker, and data scattered to a
    # worker that dies is lost for good (the run fails with "already forgotten"); inside
    # the task it is kept by the scheduler and the task is recomputed elsewhere.
    args = tuple(args)
    tasks = (delayed(_run_item)((item,), args, kwargs, fn, i, seeds[i], memory, n_threads, pid, desc)
             for i, item in enumerate(items))
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=desc, unit=desc)
    # a threaded map shares this process: limit it once, around the whole map
    threaded = workers > 1 and _active_backend_is_threading()
    outer = limit_threads(n_threads) if threaded else contextlib.nullcontext()
    try:
        with outer:
            if workers <= 1 and n_jobs in (None, 1):
                results = []
                for task in tasks:
                    func, fargs, fkwargs = task
                    results.append(func(*fargs, **fkwargs))
                    if bar is not None:
                        bar.update()
                return results
            parallel = Parallel(n_jobs=n_jobs, return_as="generator" if bar is not None else "list")
            if bar is None:
                return list(parallel(tasks))
            results = []
            for r in parallel(tasks):
                results.append(r)
                bar.update()
            return results
    finally:
        if bar is not None:
            bar.close()


def _active_backend_is_threading() -> bool:
    try:
        from joblib._parallel_backends import ThreadingBackend
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend()
        return isinstance(backend, ThreadingBackend)
    except Exception:  # pragma: no cover - joblib internals moved
        return False
