"""Training loops: curricula over the memory length N, and plain task training.

Curricula (Khajehabdollahi et al. 2024): the network starts at ``Ns = [n_start]``; after each
epoch it is tested, and when the mean accuracy over the active heads and the accuracy of the
newest head both exceed ``threshold`` the curriculum advances:

- ``"multi-head"``: ``Ns <- Ns + [max(Ns) + 1]``, head k keeps reading out ``Ns[k]``;
- ``"single-head"``: ``Ns <- [N + 1]`` on head 0 (earlier N are no longer trained);
- ``"sliding"``: drop the ``forget_heads`` oldest N and add as many new ones;
- ``"none"``: train one fixed ``Ns = [n_start]``.

References
----------
Khajehabdollahi, S., Zeraati, R., Giannakakis, E., Schäfer, T. J., Martius, G., & Levina, A.
(2024). Emergent mechanisms for long timescales depend on training curriculum and affect
performance in memory tasks. ICLR 2024.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import make_generator, thread_policy
from .._validation import check_in, check_positive_int, check_scalar
from .tasks import NParity, Task, TaskBatch

__all__ = [
    "train_curriculum",
    "train_task",
    "train_seeds",
    "evaluate",
    "task_loss",
    "make_optimizer",
    "training_preset",
    "CurriculumHistory",
    "TrainingHistory",
    "TRAINING_PRESETS",
]

CURRICULA = ("multi-head", "single-head", "sliding", "none")

TRAINING_PRESETS: dict[str, dict] = {
    # Khajehabdollahi et al. 2024: SGD 0.05, momentum 0.1, Nesterov, clip 2, loss summed over heads.
    "paper_a": dict(optimizer="sgd", lr=0.05, momentum=0.1, nesterov=True, clip=2.0, batch_size=256,
                    steps_per_epoch=600, test_batches=50, loss_reduction="sum", threshold=0.98),
    "paper_a_lstm": dict(optimizer="adam", lr=1e-3, clip=2.0, batch_size=64, steps_per_epoch=300,
                         test_batches=50, loss_reduction="sum", threshold=0.98),
    # Liu et al. 2024: SGD 0.003, momentum 0.9, batch 32, loss on every step.
    "paper_b": dict(optimizer="sgd", lr=0.003, momentum=0.9, nesterov=False, clip=None, batch_size=32),
}


def training_preset(name: str) -> dict:
    """Keyword arguments of a paper's optimiser and schedule (``paper_a``, ``paper_a_lstm``, ``paper_b``)."""
    if name not in TRAINING_PRESETS:
        raise ValueError(f"name must be one of {list(TRAINING_PRESETS)}; got {name!r}")
    return dict(TRAINING_PRESETS[name])


def make_optimizer(net: nn.Module, optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.1,
                   nesterov: bool = True) -> torch.optim.Optimizer:
    """SGD (optionally Nesterov momentum) or Adam over all parameters of ``net``.

    ``lr`` must be a finite positive number (at most 1e6), ``momentum`` in [0, 1).
    """
    check_in(optimizer, "optimizer", ("sgd", "adam"))
    lr = check_scalar(lr, "lr", low=0.0, high=1e6, low_inclusive=False)
    momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    if optimizer == "sgd":
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum,
                               nesterov=bool(nesterov and momentum > 0))
    if optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")


def gradient_step(net: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor,
                  clip: float | None = None) -> None:
    """One optimiser step on ``loss``, with the gradient norm clipped to ``clip`` if given."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        nn.utils.clip_grad_norm_(net.parameters(), clip)
    opt.step()


def _check_clip(clip: Any) -> float | None:
    return check_scalar(clip, "clip", low=0.0, high=1e30, low_inclusive=False, allow_none=True)


def _check_heads(heads: Any, net: nn.Module, n_targets: int | None = None) -> list[int]:
    """A sequence of readout-head indices of ``net`` (one per target column of the task)."""
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence | np.ndarray):
        raise TypeError(f"heads must be a sequence of head indices; got {heads!r}")
    out = [check_scalar(h, "heads", low=0, high=net.n_heads - 1, integer=True) for h in heads]
    if not out:
        raise ValueError("heads is empty")
    if n_targets is not None and len(out) > n_targets:
        raise ValueError(f"heads has {len(out)} entries but the task has {n_targets} target column(s)")
    return out


def task_loss(net: nn.Module, batch: TaskBatch, heads: Sequence[int] = (0,),
              reduction: str = "mean", extra_loss: Callable | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of ``heads`` on the masked steps of ``batch``.

    Target column k of the batch is read out by ``heads[k]``. The per-head losses are
    averaged (``"mean"``) or summed (``"sum"``, the paper's choice). ``extra_loss(net, batch,
    states)``, if given, returns a differentiable scalar tensor added to the loss (``states``:
    the network's ``(n_timesteps, batch, n_units)`` states on the batch).

    Returns
    -------
    loss : scalar tensor
    correct : tensor (len(heads),), fraction of correct masked predictions per head
    """
    states, _ = net(batch.inputs)
    sel = states[batch.mask]                 # (n_selected, H)
    tgt = batch.targets[batch.mask]          # (n_selected, n_targets)
    losses, correct = [], []
    for k, head in enumerate(heads):
        logits = net.readout(sel, int(head))
        losses.append(nn.functional.cross_entropy(logits, tgt[:, k]))
        correct.append((logits.argmax(-1) == tgt[:, k]).float().mean())
    loss = torch.stack(losses)
    loss = loss.sum() if reduction == "sum" else loss.mean()
    if extra_loss is not None:
        loss = loss + _extra_term(extra_loss(net, batch, states))
    return loss, torch.stack(correct).detach()


def _check_extra_loss(extra_loss: Any) -> Callable | None:
    if extra_loss is not None and not callable(extra_loss):
        raise TypeError(f"extra_loss must be a callable (net, batch, states) -> scalar tensor or None; "
                        f"got {type(extra_loss).__name__}")
    return extra_loss


def _extra_term(value: Any) -> torch.Tensor:
    """The extra loss term as a scalar tensor (no device sync: finiteness shows in the loss curve)."""
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.is_complex():
        raise TypeError("extra_loss must return a real scalar torch tensor; got "
                        f"{type(value).__name__}{tuple(value.shape) if isinstance(value, torch.Tensor) else ''}")
    return value.reshape(())


@torch.no_grad()
def evaluate(net: nn.Module, task: Task, heads: Sequence[int] | None = None, n_batches: int = 10,
             batch_size: int = 256, generator: torch.Generator | None = None) -> np.ndarray:
    """Accuracy of each head on fresh batches of ``task`` (target column k ↔ ``heads[k]``)."""
    heads = list(range(task.n_targets)) if heads is None else _check_heads(heads, net, task.n_targets)
    n_batches = check_positive_int(n_batches, "n_batches")
    batch_size = check_positive_int(batch_size, "batch_size")
    was_training = net.training
    net.eval()
    acc = torch.zeros(len(heads), device=net.device_)
    for _ in range(n_batches):
        _, correct = task_loss(net, task.sample(batch_size, generator=generator), heads)
        acc += correct
    net.train(was_training)
    return (acc / n_batches).cpu().numpy().astype(float)


@dataclass
class CurriculumHistory:
    """What happened during :func:`train_curriculum`.

    Attributes
    ----------
    epochs : list of dict
        Per epoch: ``ns`` trained, ``accuracy`` per N, ``loss``, ``tau_mean``, ``tau_std``,
        ``steps`` (cumulative), ``seconds`` (cumulative), ``advanced``.
    n_reached_ : ndarray (n_epochs,)
        Largest N solved at the end of each epoch (``n_start - 1`` before the first success).
    solved_ : dict N -> (epoch, step, seconds)
    checkpoints_ : dict N -> state_dict (CPU copies) saved when N was solved
    loss_curve_ : ndarray (n_iter_,), loss per step
    n_iter_ : int, training steps taken
    converged_ : bool, whether ``n_max`` was solved
    stop_reason_ : str
    """

    curriculum: str
    epochs: list = field(default_factory=list)
    solved_: dict = field(default_factory=dict)
    checkpoints_: dict = field(default_factory=dict)
    loss_curve_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_iter_: int = 0
    converged_: bool = False
    stop_reason_: str = ""

    @property
    def n_reached_(self) -> np.ndarray:
        return np.array([e["n_reached"] for e in self.epochs], dtype=int)

    @property
    def max_n_(self) -> int:
        """Largest N solved (``n_start - 1`` if none)."""
        return int(self.n_reached_[-1]) if self.epochs else 0

    @property
    def tau_mean_(self) -> np.ndarray:
        return np.array([e["tau_mean"] for e in self.epochs], dtype=float)

    def epochs_per_n(self) -> dict:
        """Epochs spent on each solved N (from the previous success to this one)."""
        out, prev = {}, 0
        for n, (epoch, _, _) in sorted(self.solved_.items()):
            out[n] = epoch - prev
            prev = epoch
        return out


@dataclass
class TrainingHistory:
    """History of :func:`train_task`: ``loss_curve_``, ``accuracy_curve_``, ``n_iter_``, ``converged_``."""

    loss_curve_: np.ndarray
    accuracy_curve_: np.ndarray
    n_iter_: int
    converged_: bool


def _tau_stats(net: nn.Module) -> tuple[float, float]:
    tau = getattr(net, "tau_", None)
    if tau is None:
        return float("nan"), float("nan")
    return float(np.mean(tau)), float(np.std(tau))


def _next_ns(ns: list[int], curriculum: str, forget_heads: int) -> list[int]:
    top = max(ns)
    if curriculum == "multi-head":
        return ns + [top + 1]
    if curriculum == "single-head":
        return [top + 1]
    if curriculum == "sliding":
        keep = ns[forget_heads:] if len(ns) > forget_heads else []
        return keep + list(range(top + 1, top + 1 + max(1, len(ns) - len(keep))))
    return ns


def _step_thread_policy(train):
    """Run a training loop under the thread policy sized by one step's recurrent product.

    A step of a small network (batch x units^2 multiply-adds below ``SMALL_WORK``) runs
    on one thread: on two threads each of its many small operations pays a thread
    hand-off, which beside busy processes turns into spin-waiting.
    """
    signature = inspect.signature(train)

    @functools.wraps(train)
    def wrapped(*args, **kwargs):
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:  # let the function itself report the bad call
            bound = {}
        batch = bound.get("batch_size", signature.parameters["batch_size"].default)
        units = getattr(bound.get("net"), "n_units", 0)
        units = units if isinstance(units, int) and not isinstance(units, bool) else 0
        batch = batch if isinstance(batch, int) and not isinstance(batch, bool) else 0
        with thread_policy(work=float(batch) * units * units if units and batch > 0 else None):
            return train(*args, **kwargs)
    return wrapped


@_step_thread_policy
def train_curriculum(net: nn.Module, task: Callable[..., Task] = NParity,
                     curriculum: str = "multi-head", n_start: int = 2, n_max: int | None = None,
                     threshold: float = 0.98, max_epochs: int = 1000, steps_per_epoch: int = 600,
                     batch_size: int = 256, test_batches: int = 50, optimizer: str = "sgd",
                     lr: float = 0.05, momentum: float = 0.1, nesterov: bool = True,
                     clip: float | None = 2.0, loss_reduction: str = "mean", forget_heads: int = 1,
                     max_steps: int | None = None, max_seconds: float | None = None,
                     checkpoint_dir: str | Path | None = None, keep_checkpoints: bool = True,
                     task_kwargs: dict | None = None, random_state: Any = None,
                     verbose: bool = False, extra_loss: Callable | None = None) -> CurriculumHistory:
    """Train ``net`` on a curriculum of growing memory length N.

    Parameters
    ----------
    net : LeakyRNN or GatedRNN
        Trained in place; needs at least as many heads as N values trained at once.
    task : callable
        Task class (or factory) called as ``task(ns, device=..., **task_kwargs)``, e.g.
        :class:`~neurodyn.rnn.tasks.NParity` or :class:`~neurodyn.rnn.tasks.NDelayedMatch`.
    curriculum : {"multi-head", "single-head", "sliding", "none"}
    n_start : int
        First N.
    n_max : int, optional
        Stop once this N is solved.
    threshold : float
        Accuracy (fraction) to exceed, for the mean over active heads and the newest head.
    max_epochs, steps_per_epoch, batch_size, test_batches : int
        Schedule; an epoch is ``steps_per_epoch`` updates followed by a test.
    optimizer, lr, momentum, nesterov, clip
        SGD/Adam settings; ``clip`` is the gradient-norm bound (None: no clipping).
    loss_reduction : {"mean", "sum"}
        Mean over heads (default) or the paper's sum (higher effective rate with more heads).
    forget_heads : int
        Heads dropped per advance for ``"sliding"``.
    max_steps, max_seconds : optional
        Budgets in updates or wall-clock seconds (the test time is included).
    checkpoint_dir : path, optional
        Also write ``N{n}.pt`` state dicts there when N is solved.
    keep_checkpoints : bool
        Keep CPU copies of the state dict per solved N in ``checkpoints_``.
    random_state : int, Generator or None
        Seeds the task batches.
    verbose : bool
        Show a progress bar over epochs.
    extra_loss : callable(net, batch, states) -> scalar tensor, optional
        A differentiable term added to every training step's loss (e.g. representational
        alignment, :func:`neurodyn.compare.train_aligned`).

    Returns
    -------
    CurriculumHistory

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, section 3 (curricula).
    """
    if curriculum not in CURRICULA:
        raise ValueError(f"curriculum must be one of {list(CURRICULA)}; got {curriculum!r}")
    threshold = check_scalar(threshold, "threshold")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a fraction in (0, 1]; got {threshold}")
    if isinstance(n_start, bool) or not isinstance(n_start, (int, np.integer)) or n_start < 1:
        raise ValueError(f"n_start must be a positive integer; got {n_start!r}")
    if n_max is not None:
        n_max = check_scalar(n_max, "n_max", integer=True)
        if n_max < n_start:
            raise ValueError(f"n_max must be >= n_start; got n_start={n_start}, n_max={n_max}")
    if loss_reduction not in ("mean", "sum"):
        raise ValueError(f"loss_reduction must be 'mean' or 'sum'; got {loss_reduction!r}")
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    steps_per_epoch = check_positive_int(steps_per_epoch, "steps_per_epoch")
    batch_size = check_positive_int(batch_size, "batch_size")
    test_batches = check_positive_int(test_batches, "test_batches")
    forget_heads = check_positive_int(forget_heads, "forget_heads")
    max_steps = None if max_steps is None else check_positive_int(max_steps, "max_steps")
    max_seconds = check_scalar(max_seconds, "max_seconds", low=0.0, low_inclusive=False, allow_none=True)
    clip = _check_clip(clip)
    extra_loss = _check_extra_loss(extra_loss)
    task_kwargs = dict(task_kwargs or {})
    dev = net.device_
    gen = make_generator(random_state)
    opt = make_optimizer(net, optimizer, lr, momentum, nesterov)
    hist = CurriculumHistory(curriculum=curriculum)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)

    ns = [int(n_start)]
    solved_top = n_start - 1
    losses: list[torch.Tensor] = []
    t0 = time.perf_counter()
    steps = 0
    bar = None
    if verbose:
        from tqdm.auto import tqdm
        # a run capped by max_steps ends after ceil(max_steps / steps_per_epoch) epochs
        total = max_epochs if max_steps is None else min(max_epochs, -(-max_steps // steps_per_epoch))
        bar = tqdm(total=total, desc=f"{curriculum} curriculum", unit="epoch")
    net.train()
    for epoch in range(1, max_epochs + 1):
        heads = list(range(len(ns))) if curriculum in ("multi-head", "sliding") else [0] * len(ns)
        if max(heads) >= net.n_heads:
            hist.stop_reason_ = f"out of readout heads ({net.n_heads})"
            break
        current = task(ns if len(ns) > 1 else ns[0], device=dev, **task_kwargs)
        out_of_budget = False
        epoch_losses = []
        for _ in range(steps_per_epoch):
            loss, _ = task_loss(net, current.sample(batch_size, generator=gen), heads, loss_reduction,
                                extra_loss)
            gradient_step(net, opt, loss, clip)
            epoch_losses.append(loss.detach())
            steps += 1
            if (max_steps is not None and steps >= max_steps) or (
                    max_seconds is not None and time.perf_counter() - t0 >= max_seconds):
                out_of_budget = True
                break
        losses.extend(epoch_losses)
        acc = evaluate(net, current, heads, test_batches, batch_size, gen)
        advanced = bool(acc.mean() > threshold and acc[-1] > threshold)
        tau_mean, tau_std = _tau_stats(net)
        seconds = time.perf_counter() - t0
        if advanced:
            solved_top = max(ns)
            hist.solved_[solved_top] = (epoch, steps, seconds)
            if keep_checkpoints or ckpt_dir is not None:
                state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
                if keep_checkpoints:
                    hist.checkpoints_[solved_top] = state
                if ckpt_dir is not None:
                    torch.save(state, ckpt_dir / f"N{solved_top}.pt")
        hist.epochs.append({
            "epoch": epoch, "ns": list(ns), "accuracy": dict(zip(ns, acc.tolist(), strict=True)),
            "loss": float(torch.stack(epoch_losses).mean()) if epoch_losses else float("nan"),
            "tau_mean": tau_mean, "tau_std": tau_std, "steps": steps, "seconds": seconds,
            "advanced": advanced, "n_reached": solved_top,
        })
        if bar is not None:
            bar.update(1)
            bar.set_postfix(N=solved_top, acc=f"{acc.mean():.3f}")
        if n_max is not None and solved_top >= n_max:
            hist.converged_ = True
            hist.stop_reason_ = f"solved n_max={n_max}"
            break
        if out_of_budget:
            hist.stop_reason_ = "budget exhausted"
            break
        if advanced and curriculum != "none":
            ns = _next_ns(ns, curriculum, forget_heads)
        elif advanced:
            hist.converged_ = True
            hist.stop_reason_ = "solved"
            break
    else:
        hist.stop_reason_ = "max_epochs reached"
    if bar is not None:  # solved early: the bar ends at the epochs that ran
        bar.total = bar.n
        bar.refresh()
        bar.close()
    hist.n_iter_ = steps
    hist.loss_curve_ = torch.stack(losses).cpu().numpy() if losses else np.zeros(0)
    return hist


@_step_thread_policy
def train_task(net: nn.Module, task: Task, n_steps: int = 1000, batch_size: int = 32,
               heads: Sequence[int] = (0,), optimizer: str = "sgd", lr: float = 0.003,
               momentum: float = 0.9, nesterov: bool = False, clip: float | None = None,
               loss_reduction: str = "mean", tol: float | None = None, random_state: Any = None,
               callback: Callable[[int, nn.Module], None] | None = None,
               verbose: bool = False, extra_loss: Callable | None = None) -> TrainingHistory:
    """Train ``net`` on one task for ``n_steps`` updates (loss on the task's masked steps).

    Parameters
    ----------
    net : LeakyRNN or GatedRNN
    task : Task
    n_steps, batch_size : int
    heads : sequence of int
        Head reading out each target column of the task.
    optimizer, lr, momentum, nesterov, clip
        As :func:`make_optimizer`; defaults are Liu et al. (2024)'s SGD 0.003, momentum 0.9.
    tol : float, optional
        Stop early once the loss of a step falls below ``tol`` (``converged_`` True).
    callback : callable(step, net), optional
        Called after every update.
    extra_loss : callable(net, batch, states) -> scalar tensor, optional
        A differentiable term added to every step's loss (``states``: the network's
        ``(n_timesteps, batch, n_units)`` states on the batch); ``loss_curve_`` includes it.

    Returns
    -------
    TrainingHistory

    References
    ----------
    Liu et al. (2024), ICLR, section 4 (training protocol).
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}")
    batch_size = check_positive_int(batch_size, "batch_size")
    heads = _check_heads(heads, net, getattr(task, "n_targets", None))
    clip = _check_clip(clip)
    tol = check_scalar(tol, "tol", low=0.0, allow_none=True)
    check_in(loss_reduction, "loss_reduction", ("mean", "sum"))
    extra_loss = _check_extra_loss(extra_loss)
    gen = make_generator(random_state)
    opt = make_optimizer(net, optimizer, lr, momentum, nesterov)
    losses, accs = [], []
    iterator = range(n_steps)
    if verbose:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="train", unit="step")
    net.train()
    converged = False
    step = 0
    for step in iterator:
        loss, correct = task_loss(net, task.sample(batch_size, generator=gen), heads, loss_reduction,
                                  extra_loss)
        gradient_step(net, opt, loss, clip)
        losses.append(loss.detach())
        accs.append(correct.mean())
        if callback is not None:
            callback(step, net)
        if tol is not None and float(loss) < tol:
            converged = True
            break
    return TrainingHistory(torch.stack(losses).cpu().numpy(), torch.stack(accs).cpu().numpy(),
                           step + 1, converged)


def _train_one_seed(seed: int, make_net: Any, task: Any, method: str, train_kwargs: dict) -> tuple:
    """One seed of :func:`train_seeds`: a fresh network (and a private copy of the task,
    so that no seed sees another's task state) trained with ``random_state=seed``."""
    import copy

    net = copy.deepcopy(make_net) if isinstance(make_net, nn.Module) else make_net(seed)
    if not isinstance(net, nn.Module):
        raise TypeError(f"make_net(seed) must return a torch.nn.Module; got {type(net).__name__}")
    trainer = train_task if method == "task" else train_curriculum
    own_task = task if isinstance(task, type) else copy.deepcopy(task)
    history = trainer(net, own_task, random_state=seed, **train_kwargs)
    return net, history


def _train_keyed_seed(seed: int, key: str, make_net: Any, task: Any, method: str,
                      train_kwargs: dict) -> tuple:
    """:func:`_train_one_seed`, cached on ``(seed, key)`` only (``key`` stands for the rest)."""
    return _train_one_seed(seed, make_net, task, method, train_kwargs)


def _train_one_seed_cached(seed: int, key: str, make_net: Any, task: Any, method: str,
                           train_kwargs: dict, memory: Any) -> tuple:
    """One seed of :func:`train_seeds` through ``memory``: a stored result is loaded, not retrained."""
    cached = memory.cache(_train_keyed_seed, ignore=["make_net", "task", "method", "train_kwargs"])
    return cached(seed, key, make_net, task, method, train_kwargs)


def _content_digest(obj: Any) -> str:
    """A digest of ``obj`` that is the same in every process: pickled by value (cloudpickle:
    lambdas, closures, ``__main__`` functions, modules, tasks), every tensor by its contents
    (a tensor's own pickle differs between processes)."""
    import hashlib
    import io

    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - joblib vendors a copy
        from joblib.externals import cloudpickle

    class _ByContents(cloudpickle.CloudPickler):
        def persistent_id(self, value):
            if not isinstance(value, torch.Tensor):
                return None
            t = value.detach().cpu()
            if t.layout != torch.strided:
                t = t.to_dense()
            data = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
            return ("tensor", type(value).__name__, str(t.dtype), tuple(t.shape),
                    bool(value.requires_grad), data)

    buffer = io.BytesIO()
    _ByContents(buffer, protocol=4).dump(obj)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def train_seeds(make_net: Callable[[int], nn.Module] | nn.Module, task: Any, seeds: Sequence[int], *,
                method: str = "task", n_jobs: int | None = None, memory: Any = None,
                **train_kwargs: Any) -> list[tuple]:
    """Train one network per seed, over joblib workers, identical to a serial loop.

    For each seed ``s`` (in order) this is ``net = make_net(s)`` followed by
    ``train_task(net, task, random_state=s, **train_kwargs)`` (``method="task"``)
    or ``train_curriculum(net, task, random_state=s, **train_kwargs)``
    (``method="curriculum"``). Each seed gets its own copy of ``task``, so the
    result of a seed depends only on the seed, not on ``n_jobs``, the joblib
    backend or the other seeds.

    Parameters
    ----------
    make_net : callable(seed) -> torch.nn.Module, or torch.nn.Module
        Builds the seed's untrained network (e.g. ``lambda s: LeakyRNN(n_units=64,
        random_state=s)``); it must be picklable for process backends
        (cloudpickle handles lambdas defined in ``__main__``). A module is
        copied for every seed (the same initial weights, seed-dependent data).
    task : Task or callable
        A :class:`~neurodyn.rnn.tasks.Task` for ``"task"``; a task class or
        factory for ``"curriculum"``.
    seeds : sequence of int
        Non-negative integer seeds, one network each.
    method : {"task", "curriculum"}
        The training function: :func:`train_task` or :func:`train_curriculum`.
    n_jobs : int or None
        Workers (joblib semantics, any ``joblib.parallel_config`` backend; see
        :func:`neurodyn._parallel.parallel_map`); each worker process gets its
        share of the machine's torch and BLAS threads.
    memory : None, str, path or joblib.Memory
        Cache of the trained networks, one entry per seed: a run that was killed
        halfway retrains only the seeds whose results are not on disk. An entry is
        keyed on the seed and on a digest, computed in the caller, of ``make_net``,
        ``task``, ``method`` and ``train_kwargs`` pickled by value (tensors by their
        contents), so changing any of them, or a lambda's code, trains afresh.
        Functions importable from a module are pickled by name: after editing one
        (or neurodyn), clear the cache. On a cluster, a folder the workers share.
    **train_kwargs
        Passed to the training function (not ``random_state``: the seeds are the
        random states).

    Returns
    -------
    list of (torch.nn.Module, history)
        The trained network and its :class:`TrainingHistory` or
        :class:`CurriculumHistory`, in the order of ``seeds``.

    Raises
    ------
    Exception
        An error while training one seed is raised with its type and the seed's
        position (``"seed 2: ..."``).
    """
    from .._parallel import check_memory, check_n_jobs, parallel_map

    check_in(method, "method", ("task", "curriculum"))
    n_jobs = check_n_jobs(n_jobs)
    if not callable(make_net):
        raise TypeError(f"make_net must be a callable(seed) returning a torch.nn.Module, or a module; "
                        f"got {type(make_net).__name__}")
    if "random_state" in train_kwargs:
        raise TypeError("train_seeds takes no random_state: each network is trained with its seed "
                        "as random_state; pass the seeds as seeds")
    if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds must be a sequence of non-negative integers; got {type(seeds).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    for i, s in enumerate(seeds):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be non-negative integers; got seeds[{i}] = {s!r}")
    seeds = [int(s) for s in seeds]
    memory = check_memory(memory)
    train_kwargs = dict(train_kwargs)
    if memory is None:
        return parallel_map(_train_one_seed, seeds, args=(make_net, task, method, train_kwargs),
                            n_jobs=n_jobs, desc="seed")
    # joblib's own hash of a module or a lambda differs between processes (or fails), so the
    # cache is keyed on a digest fixed here, and the objects travel beside it, unhashed
    try:
        key = _content_digest((make_net, task, method, train_kwargs))
    except Exception as exc:
        raise TypeError("memory: make_net, task and the training arguments must be picklable to key "
                        f"the cache; {type(exc).__name__}: {exc}") from exc
    return parallel_map(_train_one_seed_cached, seeds,
                        args=(key, make_net, task, method, train_kwargs, memory),
                        n_jobs=n_jobs, desc="seed")
