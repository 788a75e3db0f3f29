"""Memory and decision tasks for recurrent networks, generated in torch on any device.

Every task returns a :class:`TaskBatch` with time-major tensors:

- ``inputs``  ``(n_timesteps, batch, n_inputs)`` float,
- ``targets`` ``(n_timesteps, batch, n_targets)`` long class labels, one column per
  readout head (for N-parity with several ``N`` the column ``k`` is the label for ``ns[k]``),
- ``mask``    ``(n_timesteps, batch)`` bool, the time steps that enter the loss.

A new task only needs a ``sample(batch_size, generator=None)`` method that returns a
:class:`TaskBatch` and the attributes ``n_inputs``, ``n_classes`` and ``n_targets``.

References
----------
Khajehabdollahi, S., Zeraati, R., Giannakakis, E., Schäfer, T. J., Martius, G., & Levina, A.
(2024). Emergent mechanisms for long timescales depend on training curriculum and affect
performance in memory tasks. ICLR 2024.

Liu, Y. H., Baratin, A., Cornford, J., Mihalas, S., Shea-Brown, E., & Lajoie, G. (2024).
How connectivity structure shapes rich and lazy learning in neural circuits. ICLR 2024.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._torch import make_generator, random_integers, random_normal, random_uniform, resolve_device
from .._validation import check_array, check_positive_int, check_probability, check_scalar

__all__ = [
    "TaskBatch",
    "Task",
    "NParity",
    "NDelayedMatch",
    "PerceptualDecision",
    "parity_labels",
    "delayed_match_labels",
    "stream_labels",
]


@dataclass
class TaskBatch:
    """One batch of trials (time-major tensors).

    Attributes
    ----------
    inputs : torch.Tensor, shape (n_timesteps, batch, n_inputs)
    targets : torch.Tensor (long), shape (n_timesteps, batch, n_targets)
        Class label per time step and readout head; only meaningful where ``mask``.
    mask : torch.Tensor (bool), shape (n_timesteps, batch)
        Time steps that enter the loss and the accuracy.
    info : dict
        Trial metadata (e.g. ``"p"`` the Bernoulli rate per trial, ``"ns"``, ``"choice"``).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    info: dict = field(default_factory=dict)

    @property
    def n_timesteps(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[1])

    def to(self, device: Any) -> TaskBatch:
        return TaskBatch(self.inputs.to(device), self.targets.to(device), self.mask.to(device),
                         dict(self.info))


def _as_ns(n: int | Sequence[int], name: str = "n") -> tuple[int, ...]:
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        ns = (int(n),)
    else:
        try:
            ns = tuple(n)
        except TypeError:
            raise TypeError(f"{name} must be a positive integer or a sequence of them; got {n!r}") from None
        if len(ns) == 0:
            raise ValueError(f"{name} must not be empty")
    for v in ns:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must hold integers; got {v!r}")
        if v < 1:
            raise ValueError(f"{name} must be >= 1; got {int(v)}")
    return tuple(int(v) for v in ns)


def parity_labels(x: torch.Tensor, n: int, end: int | None = None) -> torch.Tensor:
    """N-parity label of the ``n`` bits ending at time ``end - 1`` (default: the last step).

    ``x`` is ``(n_timesteps, batch)`` or ``(n_timesteps, batch, 1)`` of 0/1 values.
    """
    x = x.reshape(x.shape[0], x.shape[1]) if x.ndim == 3 else x
    end = x.shape[0] if end is None else end
    return (x[end - n:end].sum(0).round().long() % 2)


def delayed_match_labels(x: torch.Tensor, n: int, end: int | None = None) -> torch.Tensor:
    """N-DMS label: 1 when the bit ``n - 1`` steps back equals the bit at ``end - 1``."""
    x = x.reshape(x.shape[0], x.shape[1]) if x.ndim == 3 else x
    end = x.shape[0] if end is None else end
    return (x[end - n] == x[end - 1]).long()


def stream_labels(x: torch.Tensor, n: int, kind: str = "parity") -> torch.Tensor:
    """Labels at every time step of a stream (``-1`` for the first ``n - 1`` steps).

    Used to classify a long stream step by step (the paper's ablation protocol).
    """
    x = x.reshape(x.shape[0], x.shape[1]) if x.ndim == 3 else x
    t_len = x.shape[0]
    out = torch.full(x.shape, -1, dtype=torch.long, device=x.device)
    if t_len < n:
        return out
    if kind == "parity":
        csum = torch.cat([torch.zeros_like(x[:1]), x.cumsum(0)], 0)
        window = csum[n:] - csum[:-n]          # sum of x[t-n+1 .. t] for t = n-1 .. T-1
        out[n - 1:] = window.round().long() % 2
    elif kind == "dms":
        out[n - 1:] = (x[: t_len - n + 1] == x[n - 1:]).long()
    else:
        raise ValueError(f"kind must be 'parity' or 'dms'; got {kind!r}")
    return out


class Task:
    """Base class: a task draws batches of trials with :meth:`sample`.

    Subclasses set ``n_inputs``, ``n_classes`` and ``n_targets`` and implement
    ``sample(batch_size, generator=None)``. ``device`` and ``random_state`` are used
    when no generator is passed.
    """

    n_inputs: int = 1
    n_classes: int = 2
    n_targets: int = 1

    def __init__(self, device: Any = "cpu", dtype: torch.dtype = torch.float32,
                 random_state: Any = None) -> None:
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self._device = resolve_device(device)
        self._generator: torch.Generator | None = None

    def _gen(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is not None:
            return generator
        if self._generator is None:
            self._generator = make_generator(self.random_state)
        return self._generator

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> TaskBatch:
        raise NotImplementedError


def _check_rate(rate: Any, name: str = "rate") -> None:
    if isinstance(rate, str):
        if rate != "uniform":
            raise ValueError(f"{name} must be 'uniform' or a probability in [0, 1]; got {rate!r}")
    else:
        check_probability(rate, name)


class _BinaryMemoryTask(Task):
    """Shared machinery of N-parity and N-DMS: binary streams, labels at the last step."""

    kind = "parity"

    def __init__(self, n: int | Sequence[int] = 2, rate: str | float = "uniform",
                 seq_len: int | tuple[int, int] | None = None, device: Any = "cpu",
                 dtype: torch.dtype = torch.float32, random_state: Any = None) -> None:
        super().__init__(device=device, dtype=dtype, random_state=random_state)
        self.ns = _as_ns(n)
        self.n = self.ns[0] if len(self.ns) == 1 else self.ns
        self.rate = rate
        self.seq_len = seq_len
        self.n_targets = len(self.ns)
        _check_rate(rate)
        if seq_len is not None:
            if isinstance(seq_len, (tuple, list)):
                if len(seq_len) != 2:
                    raise ValueError(f"seq_len must be an int or a pair (low, high); got {seq_len!r}")
                low = check_positive_int(seq_len[0], "seq_len[0]")
                high = check_positive_int(seq_len[1], "seq_len[1]")
                if high <= low:
                    raise ValueError(f"seq_len must be a half-open range (low, high) with low < high; "
                                     f"got {seq_len!r}")
            else:
                low = check_positive_int(seq_len, "seq_len")
            if low < self.n_max:
                raise ValueError(f"seq_len must be at least max(n) = {self.n_max}; got {low}")

    @property
    def n_max(self) -> int:
        return max(self.ns)

    def seq_len_range(self) -> tuple[int, int]:
        """Half-open range ``[low, high)`` of the sequence length M drawn per batch."""
        if self.seq_len is None:
            return self.n_max + 2, 4 * self.n_max + 2
        if isinstance(self.seq_len, (int, np.integer)):
            return int(self.seq_len), int(self.seq_len) + 1
        low, high = self.seq_len
        return int(low), int(high)

    def _length_generator(self, gen: torch.Generator) -> torch.Generator:
        # The length is needed on the host: on CUDA draw it from a CPU generator seeded from
        # the device one, so sampling does not synchronise with the GPU at every batch.
        if gen.device.type == "cpu":
            return gen
        cached = getattr(self, "_cpu_len_gen", None)
        if cached is None or cached[0] is not gen:
            self._cpu_len_gen = (gen, torch.Generator().manual_seed(gen.initial_seed() + 1))
        return self._cpu_len_gen[1]

    def draw_stream(self, n_timesteps: int, batch_size: int, generator: torch.Generator,
                    rate: str | float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary stream ``(n_timesteps, batch)`` and the Bernoulli rate of each trial."""
        rate = self.rate if rate is None else rate
        _check_rate(rate)
        n_timesteps = check_positive_int(n_timesteps, "n_timesteps")
        batch_size = check_positive_int(batch_size, "batch_size")
        dev = self._device
        if isinstance(rate, str):
            p = random_uniform((batch_size,), generator, dev, self.dtype)
        else:
            p = torch.full((batch_size,), float(rate), device=dev, dtype=self.dtype)
        u = random_uniform((n_timesteps, batch_size), generator, dev, self.dtype)
        return (u < p).to(self.dtype), p

    def labels(self, x: torch.Tensor, n: int) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> TaskBatch:
        """Draw ``batch_size`` sequences of one length M ~ U{low, ..., high - 1}.

        Returns
        -------
        TaskBatch
            ``targets[-1, :, k]`` is the label for ``ns[k]``; ``mask`` is True at the last step.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        gen = self._gen(generator)
        low, high = self.seq_len_range()
        if low < self.n_max:
            raise ValueError(f"seq_len must be at least max(n) = {self.n_max}; got {low}")
        m = int(torch.randint(low, high, (1,), generator=self._length_generator(gen)).item())
        x, p = self.draw_stream(m, batch_size, gen)
        targets = torch.zeros(m, batch_size, len(self.ns), dtype=torch.long, device=self._device)
        for k, n in enumerate(self.ns):
            targets[-1, :, k] = self.labels(x, n)
        mask = torch.zeros(m, batch_size, dtype=torch.bool, device=self._device)
        mask[-1] = True
        return TaskBatch(x.unsqueeze(-1), targets, mask, {"p": p, "ns": self.ns})

    def sample_stream(self, n_timesteps: int, batch_size: int = 1,
                      generator: torch.Generator | None = None, rate: str | float = 0.5) -> TaskBatch:
        """A long stream labelled at every step (targets ``-1`` and mask False before step n)."""
        gen = self._gen(generator)
        x, p = self.draw_stream(n_timesteps, batch_size, gen, rate=rate)
        targets = torch.stack([stream_labels(x, n, self.kind) for n in self.ns], dim=-1)
        mask = (targets >= 0).all(-1)
        return TaskBatch(x.unsqueeze(-1), targets.clamp_min(0), mask, {"p": p, "ns": self.ns})


class NParity(_BinaryMemoryTask):
    """N-parity: report the parity of the sum of the last N bits of a binary stream.

    Per sequence a rate p ~ U(0, 1) is drawn and bits x_t ~ Bernoulli(p); per batch
    the length M ~ U{N_max + 2, ..., 4 N_max + 1}; the label at the last step is
    ``(x_{M-N} + ... + x_{M-1}) mod 2`` for every N in ``n``.

    Parameters
    ----------
    n : int or sequence of int
        The memory length(s) N; several N give one target column per N (multi-head).
    rate : "uniform" or float
        Bernoulli rate of the bits: drawn per sequence from U(0, 1), or fixed.
    seq_len : int or (low, high), optional
        Override the sequence length (fixed, or drawn from ``[low, high)``).
    device, dtype, random_state
        Where and how batches are generated when no generator is passed to ``sample``.

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, section 2 (N-parity task).
    """

    kind = "parity"

    def labels(self, x: torch.Tensor, n: int) -> torch.Tensor:
        return parity_labels(x, n)


class NDelayedMatch(_BinaryMemoryTask):
    """N-delayed match to sample: is the bit N - 1 steps back equal to the current bit?

    Bits are Bernoulli(0.5) (balanced classes); label at the last step M - 1 is
    ``[x_{M-N} == x_{M-1}]``. Parameters as in :class:`NParity` (``rate`` defaults to 0.5).

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, section 2 (N-DMS task).
    """

    kind = "dms"

    def __init__(self, n: int | Sequence[int] = 2, rate: str | float = 0.5,
                 seq_len: int | tuple[int, int] | None = None, device: Any = "cpu",
                 dtype: torch.dtype = torch.float32, random_state: Any = None) -> None:
        super().__init__(n=n, rate=rate, seq_len=seq_len, device=device, dtype=dtype,
                         random_state=random_state)

    def labels(self, x: torch.Tensor, n: int) -> torch.Tensor:
        return delayed_match_labels(x, n)


class PerceptualDecision(Task):
    """Two-alternative perceptual decision (random-dots-like), neurogym-free.

    Observation channels: fixation (1 during the stimulus, 0 at the decision), and two
    evidence channels ``0.5 ± coherence / 200`` plus Gaussian noise during the stimulus.
    Actions: 0 = fixate (during the stimulus), 1 + choice at the decision steps.
    The loss covers every step (mask all True), as in Liu et al. (2024).

    Parameters
    ----------
    stimulus_steps, decision_steps : int
        Period lengths in steps (dt = 100 ms: 7 + 1 steps as PerceptualDecisionMaking-v0).
    coherences : sequence of float
        Coherences (percent) drawn uniformly per trial.
    noise_std : float
        Standard deviation of the evidence noise.

    References
    ----------
    Liu et al. (2024), ICLR, tasks section; Molano-Mazon et al. (2022), NeuroGym.
    """

    n_inputs = 3
    n_classes = 3
    n_targets = 1

    def __init__(self, stimulus_steps: int = 7, decision_steps: int = 1,
                 coherences: Sequence[float] = (0.0, 6.4, 12.8, 25.6, 51.2), noise_std: float = 0.1,
                 device: Any = "cpu", dtype: torch.dtype = torch.float32, random_state: Any = None) -> None:
        super().__init__(device=device, dtype=dtype, random_state=random_state)
        self.stimulus_steps = check_positive_int(stimulus_steps, "stimulus_steps")
        self.decision_steps = check_positive_int(decision_steps, "decision_steps")
        coh = check_array(coherences, "coherences", ndim=1, dims="(n_coherences,)")
        if not np.all(np.isfinite(coh)) or np.any(coh < 0) or np.any(coh > 100):
            raise ValueError(f"coherences must be percentages in [0, 100]; got {coh.tolist()[:10]}")
        self.coherences = tuple(float(c) for c in coh)
        self.noise_std = check_scalar(noise_std, "noise_std", low=0.0, high=1e6)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> TaskBatch:
        """Draw ``batch_size`` trials of ``stimulus_steps + decision_steps`` steps."""
        batch_size = check_positive_int(batch_size, "batch_size")
        gen = self._gen(generator)
        dev = self._device
        ts, td = self.stimulus_steps, self.decision_steps
        t_len = ts + td
        coh = torch.tensor(self.coherences, device=dev, dtype=self.dtype)
        ci = random_integers(0, len(self.coherences), (batch_size,), gen, dev)
        choice = random_integers(0, 2, (batch_size,), gen, dev)
        sign = torch.stack([1.0 - 2.0 * choice, 2.0 * choice - 1.0], -1).to(self.dtype)  # +1 on the correct side
        x = torch.zeros(t_len, batch_size, 3, device=dev, dtype=self.dtype)
        x[:ts, :, 0] = 1.0
        evidence = 0.5 + (coh[ci] / 200.0)[:, None] * sign
        noise = random_normal((ts, batch_size, 2), gen, dev, self.dtype)
        x[:ts, :, 1:] = evidence[None] + self.noise_std * noise
        targets = torch.zeros(t_len, batch_size, 1, dtype=torch.long, device=dev)
        targets[ts:, :, 0] = 1 + choice
        mask = torch.ones(t_len, batch_size, dtype=torch.bool, device=dev)
        return TaskBatch(x, targets, mask, {"choice": choice, "coherence": coh[ci]})
