"""Recurrent cells beyond the leaky RNN, and one constructor for all of them.

:func:`make_rnn` builds any of the module's cells with the same interface (time-major
``forward(x, h0=None) -> (states, h_last)``, ``record``, ``readout`` heads), so the tasks,
curricula and training loops of :mod:`neurodyn.rnn` run unchanged on each:

- ``"leaky"``: :class:`~neurodyn.rnn.LeakyRNN` (trainable per-unit time constants);
- ``"gru"``, ``"lstm"``: :class:`~neurodyn.rnn.GatedRNN` (PyTorch's fused kernels);
- ``"ssm"``: :class:`DiagonalSSM`, a diagonal linear state space with a nonlinear readout
  (S4D/LRU-style), run as a chunked parallel scan over time (:func:`diagonal_scan`);
- ``"linear_attention"``: :class:`LinearAttentionRNN`, causal linear attention computed as a
  recurrence over a key-value memory (a cumulative sum, or a decaying scan).

Every cell has ``timescales_(x=None)``, in units of time steps, comparable across cells:
``tau / dt`` for the leaky cell, ``-1 / log|lambda|`` for the SSM and the decaying attention
memory, and ``-1 / log(g)`` for GRU/LSTM with ``g`` the retention gate (update gate ``z``,
forget gate ``f``); for a linear unit ``h_t = g h_{t-1} + ...`` each is the e-folding time of
its memory.

References
----------
Gu, A., Goel, K., Gupta, A. & Ré, C. (2022). On the parameterization and initialization of
diagonal state space models (S4D). NeurIPS.

Orvieto, A. et al. (2023). Resurrecting recurrent neural networks for long sequences (LRU).
ICML.

Katharopoulos, A., Vyas, A., Pappas, N. & Fleuret, F. (2020). Transformers are RNNs: fast
autoregressive transformers with linear attention. ICML.

Blelloch, G. E. (1990). Prefix sums and their applications. CMU-CS-90-190.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import make_generator, random_uniform, resolve_device, resolve_dtype, to_numpy
from .._validation import check_in, check_positive_int, check_scalar
from .models import GatedRNN, LeakyRNN, _RecurrentBase, _uniform

__all__ = ["CELLS", "make_rnn", "DiagonalSSM", "LinearAttentionRNN", "diagonal_scan"]

CELLS = ("leaky", "gru", "lstm", "ssm", "linear_attention")
_READOUTS = ("tanh", "relu", "gelu")


def diagonal_scan(decay: torch.Tensor, inputs: torch.Tensor, h0: torch.Tensor | None = None,
                  chunk: int | None = None) -> torch.Tensor:
    """All states of ``h_t = decay_t * h_{t-1} + inputs_t`` (time axis 0), as a chunked scan.

    The sequence is cut into chunks of ``chunk`` steps (about ``sqrt(T)``). One vectorised
    pass over the chunk positions runs the recursion inside every chunk at once from a zero
    start (``chunk`` operations, each over all chunks), the chunk-end states are carried
    across chunks by a Hillis-Steele doubling of the associative operator
    ``(a1, b1) o (a2, b2) = (a2 a1, a2 b1 + b2)`` (``ceil(log2(T / chunk))`` passes over the
    chunk ends), and one vectorised update adds each chunk's start state times the
    cumulative decay ``decay^(j + 1)`` (cumulative products, no logarithms, no division).
    The ``T mod chunk`` trailing steps continue from the last chunk end. The Python loops run
    ``O(sqrt(T))`` times over whole-sequence slices, never once per time step; the data is
    read about twice, so the forward pass is bounded by memory bandwidth rather than by
    per-step overhead. Only products of decays and sums of the inputs' terms occur (no
    growing powers, no division), so the result is as accurate as the sequential recursion
    for any ``|decay| <= 1``, including decays near 0 and near 1, in float32 and float64.

    Gradients come from the adjoint recursion (a reverse scan of the same kind, through
    :func:`diagonal_scan` itself, so higher derivatives work too):
    ``r_t = g_t + decay_{t+1} r_{t+1}``, ``d/d inputs_t = r_t``, ``d/d decay_t = r_t h_{t-1}``,
    ``d/d h0 = decay_0 r_0``.

    Parameters
    ----------
    decay : tensor, shape (), (D,), or broadcastable to ``inputs.shape`` with a time axis
        Per-coordinate decay ``lambda`` (``D = inputs.shape[-1]``): time-invariant when its
        shape is () or (D,), time-varying when it has as many axes as ``inputs``.
    inputs : tensor, shape (T, ..., D)
    h0 : tensor, broadcastable to ``inputs.shape[1:]``, optional
        State before the first step (zeros by default).
    chunk : int, optional
        Chunk length (default: chosen near ``sqrt(T)`` to minimise the number of passes).

    Returns
    -------
    tensor, shape ``inputs.shape``

    References
    ----------
    Blelloch, G. E. (1990). Prefix sums and their applications. CMU-CS-90-190.
    """
    if inputs.ndim < 1:
        raise ValueError(f"inputs must have a time axis (T, ..., D); got shape {tuple(inputs.shape)}")
    n_t = inputs.shape[0]
    dtype = torch.promote_types(decay.dtype, inputs.dtype)
    if h0 is not None:
        dtype = torch.promote_types(dtype, h0.dtype)
    decay, inputs = decay.to(dtype), inputs.to(dtype)
    d = inputs.shape[-1] if inputs.ndim > 1 else 1
    if _is_varying(decay, inputs):
        try:
            torch.broadcast_shapes(decay.shape, inputs.shape)
        except RuntimeError:
            raise ValueError(f"a time-varying decay must broadcast to {tuple(inputs.shape)}; "
                             f"got {tuple(decay.shape)}") from None
        if torch.broadcast_shapes(decay.shape, inputs.shape) != inputs.shape:
            raise ValueError(f"a time-varying decay must broadcast to {tuple(inputs.shape)}; "
                             f"got {tuple(decay.shape)}")
    elif decay.numel() != 1 and tuple(decay.shape) != (d,):
        raise ValueError(f"decay must have shape (), ({d},) or {tuple(inputs.shape)}; got {tuple(decay.shape)}")
    if h0 is not None:
        h0 = h0.to(dtype)
        try:
            ok = torch.broadcast_shapes(h0.shape, inputs.shape[1:]) == inputs.shape[1:]
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError(f"h0 must broadcast to {tuple(inputs.shape[1:])}; got {tuple(h0.shape)}")
    if chunk is None:
        chunk = _chunk_length(n_t)
    chunk = max(1, min(check_positive_int(chunk, "chunk"), max(n_t, 1)))
    if n_t == 0:
        return inputs.clone()
    tensors = (decay, inputs) if h0 is None else (decay, inputs, h0)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _DiagonalScan.apply(decay, inputs, h0, chunk)
    return _chunked_scan(decay, inputs, h0, chunk)


def _is_varying(decay: torch.Tensor, inputs: torch.Tensor) -> bool:
    """Whether ``decay`` has a time axis (as many axes as ``inputs``, not a single value)."""
    return decay.ndim == inputs.ndim and (inputs.ndim > 1 or decay.numel() > 1)


def _chunk_length(n_t: int) -> int:
    """Chunk length near ``sqrt(T)`` with the fewest passes (loop + tail + doubling)."""
    if n_t <= 2:
        return max(n_t, 1)
    root = math.isqrt(n_t)
    best, best_cost = 1, math.inf
    for c in range(max(1, root // 2), min(n_t, 2 * root + 1) + 1):
        cost = c + n_t % c + 4 * math.ceil(math.log2(max(n_t // c, 1)))
        if cost < best_cost:
            best, best_cost = c, cost
    return best


def _chunked_scan(decay: torch.Tensor, inputs: torch.Tensor, h0: torch.Tensor | None, c: int) -> torch.Tensor:
    """The forward pass of :func:`diagonal_scan` (no autograd: writes into one output)."""
    shape = inputs.shape
    n_t, d = shape[0], (shape[-1] if inputs.ndim > 1 else 1)
    u = inputs.reshape(n_t, -1, d)
    m = u.shape[1]
    varying = _is_varying(decay, inputs)
    if varying:
        a = decay.expand(shape).reshape(n_t, m, d)
    else:
        lam = decay.reshape(-1).expand(d)
    start0 = None if h0 is None else h0.expand(shape[1:]).reshape(m, d)
    out = torch.empty(u.shape, dtype=u.dtype, device=u.device)   # dense, whatever u's strides
    n_k = n_t // c
    main = n_k * c
    h = start0
    if n_k:
        u3 = u[:main].reshape(n_k, c, m, d)
        loc = out[:main].view(n_k, c, m, d)
        loc[:, 0] = u3[:, 0]
        if varying:
            a3 = a[:main].reshape(n_k, c, m, d)
            cum = torch.empty_like(loc)            # decay products inside each chunk
            cum[:, 0] = a3[:, 0]
        prev = loc[:, 0]
        for j in range(1, c):  # chunk positions (O(sqrt T)), each step over all chunks at once
            prev = torch.addcmul(u3[:, j], a3[:, j] if varying else lam, prev, out=loc[:, j])
            if varying:
                torch.mul(a3[:, j], cum[:, j - 1], out=cum[:, j])
        if varying:
            end_decay = cum[:, -1]
        else:
            cum = torch.cumprod(lam.expand(c, d), 0)[None, :, None, :]   # lam^1 .. lam^c
            end_decay = cum[:, -1]                                        # (1, 1, D)
        ends = _doubling_scan(end_decay, loc[:, -1], start0)   # state at each chunk end
        if start0 is None:
            if n_k > 1:
                loc[1:].addcmul_(cum[1:] if varying else cum, ends[:-1, None])
        else:
            loc.addcmul_(cum, torch.cat([start0[None], ends[:-1]])[:, None])
        h = ends[-1]
    if h is None:
        h = torch.zeros_like(u[0])
    for t in range(main, n_t):  # the T mod c trailing steps (fewer than c)
        h = torch.addcmul(u[t], a[t] if varying else lam, h, out=out[t])
    return out.reshape(shape)


class _DiagonalScan(torch.autograd.Function):
    """:func:`diagonal_scan` with its adjoint (a reverse scan) as the backward pass."""

    @staticmethod
    def forward(ctx, decay, inputs, h0, chunk):
        states = _chunked_scan(decay, inputs, h0, chunk)
        ctx.chunk = chunk
        ctx.save_for_backward(decay, states, h0)
        return states

    @staticmethod
    def backward(ctx, grad):
        decay, states, h0 = ctx.saved_tensors
        varying = _is_varying(decay, states)
        if varying:
            a = decay.expand(states.shape)
            a_next = torch.cat([a[1:], torch.zeros_like(a[:1])])
            adj = diagonal_scan(a_next.flip(0), grad.flip(0), chunk=ctx.chunk).flip(0)
        else:
            adj = diagonal_scan(decay, grad.flip(0), chunk=ctx.chunk).flip(0)
        g_decay = g_h0 = None
        if ctx.needs_input_grad[0]:
            first = torch.zeros_like(states[:1]) if h0 is None else h0.expand(states.shape[1:])[None]
            g_a = adj * torch.cat([first, states[:-1]])
            if varying:
                g_decay = g_a.sum_to_size(decay.shape)
            else:
                g_decay = g_a.reshape(-1, g_a.shape[-1] if g_a.ndim > 1 else 1).sum(0).sum_to_size(decay.shape)
        if h0 is not None and ctx.needs_input_grad[2]:
            a0 = decay.expand(states.shape)[0] if varying else decay
            g_h0 = (a0 * adj[0]).sum_to_size(h0.shape)
        return g_decay, adj if ctx.needs_input_grad[1] else None, g_h0, None


def _doubling_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """Hillis-Steele scan of ``h_t = a_t h_{t-1} + b_t`` (``a`` broadcastable to ``b``)."""
    n_t = b.shape[0]
    a = a.expand((n_t,) + tuple(a.shape[1:]))
    if h0 is not None:
        b = torch.cat([(b[0] + a[0] * h0).unsqueeze(0), b[1:]])
    d = 1
    while d < n_t:  # log2(T) passes, each over the whole sequence
        b = torch.cat([b[:d], b[d:] + a[d:] * b[:-d]])
        if 2 * d < n_t:
            a = torch.cat([a[:d], a[d:] * a[:-d]])
        d *= 2
    return b


def _loop_scan(decay: torch.Tensor, inputs: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """Sequential reference of :func:`diagonal_scan` (a linear recursion, one step at a time)."""
    h = torch.zeros_like(inputs[0]) if h0 is None else h0
    out = []
    for t in range(inputs.shape[0]):  # reference only: the fast path is diagonal_scan
        h = decay * h + inputs[t]
        out.append(h)
    return torch.stack(out)


def _readout_fn(name: str):
    if name == "tanh":
        return torch.tanh
    if name == "relu":
        return torch.relu
    return nn.functional.gelu


def _log_tau_init(n: int, tau_range: Any, gen: torch.Generator, dev, dt_) -> torch.Tensor:
    """``log tau`` drawn log-uniformly in ``tau_range`` (time steps)."""
    if (not isinstance(tau_range, (tuple, list)) or len(tau_range) != 2):
        raise ValueError(f"tau_range must be a pair (tau_low, tau_high); got {tau_range!r}")
    lo = check_scalar(tau_range[0], "tau_range[0]", low=0.0, high=1e12, low_inclusive=False)
    hi = check_scalar(tau_range[1], "tau_range[1]", low=lo, high=1e12)
    u = random_uniform((n,), gen, dev, dt_)
    return math.log(lo) + u * (math.log(hi) - math.log(lo))


def _check_common(n_units, n_inputs, n_outputs, n_heads) -> None:
    for name, val in (("n_units", n_units), ("n_inputs", n_inputs), ("n_outputs", n_outputs),
                      ("n_heads", n_heads)):
        check_positive_int(val, name)


def _check_h0(h0: Any, shape: tuple, dev, dt_) -> torch.Tensor:
    if not isinstance(h0, torch.Tensor):
        h0 = torch.as_tensor(np.asarray(h0, dtype=np.float64))
    if h0.is_complex():
        raise TypeError("h0 must be real-valued; got a complex tensor")
    h0 = h0.to(device=dev, dtype=dt_)
    if h0.ndim == 1:
        h0 = h0.expand(shape)
    if tuple(h0.shape) != shape:
        raise ValueError(f"h0 must have shape {shape} or ({shape[-1]},); got {tuple(h0.shape)}")
    if not bool(torch.isfinite(h0).all()):
        raise ValueError("h0 must be finite; got NaN or Inf values")
    return h0


class DiagonalSSM(_RecurrentBase):
    """Diagonal linear state-space layer with a nonlinear readout (S4D/LRU-style).

    ``s_t = lambda * s_{t-1} + sqrt(1 - lambda^2) * (B x_t + b_B)`` (elementwise, real diagonal
    ``lambda = exp(-1 / tau)`` in (0, 1)), and the recorded states are
    ``h_t = phi(C s_t + D x_t + b)``. The input scale ``sqrt(1 - lambda^2)`` keeps the state's
    variance independent of ``tau`` (Orvieto et al. 2023). The linear recurrence runs as a
    chunked parallel scan (:func:`diagonal_scan`: ``O(sqrt(T))`` vectorised passes, no
    Python loop over time steps).

    Parameters
    ----------
    n_units : int
        Size of the state ``s`` and of the readout ``h``.
    n_inputs, n_outputs, n_heads, random_state, device, dtype
        As in :class:`~neurodyn.rnn.LeakyRNN`.
    readout : {"tanh", "relu", "gelu"}
        phi.
    tau_range : (float, float)
        Initial timescales drawn log-uniformly in this range (time steps).
    train_tau : bool
        Whether ``log tau`` is trained.

    Attributes
    ----------
    log_tau : Parameter (n_units,)
    weight_in (B), bias_in, weight_out (C), weight_skip (D), bias_out : Parameters
    heads : ModuleList of Linear(n_units, n_outputs)
    """

    def __init__(self, n_units: int = 128, n_inputs: int = 1, n_outputs: int = 2, n_heads: int = 1,
                 readout: str = "tanh", tau_range: Any = (1.0, 50.0), train_tau: bool = True,
                 random_state: Any = None, device: Any = "auto", dtype: Any = "float32") -> None:
        super().__init__()
        _check_common(n_units, n_inputs, n_outputs, n_heads)
        check_in(readout, "readout", _READOUTS)
        self.n_units, self.n_inputs = int(n_units), int(n_inputs)
        self.n_outputs, self.n_heads = int(n_outputs), int(n_heads)
        self.readout_fn, self.random_state, self.train_tau = readout, random_state, bool(train_tau)
        dev = resolve_device(device)
        dt_ = resolve_dtype(dtype, dev)
        gen = make_generator(random_state)
        h, i = self.n_units, self.n_inputs
        log_tau = _log_tau_init(h, tau_range, gen, dev, dt_)
        if self.train_tau:
            self.log_tau = nn.Parameter(log_tau)
        else:
            self.register_buffer("log_tau", log_tau)
        self.weight_in = nn.Parameter(_uniform((h, i), 1.0 / math.sqrt(i), gen, dev, dt_))
        self.bias_in = nn.Parameter(_uniform((h,), 1.0 / math.sqrt(i), gen, dev, dt_))
        self.weight_out = nn.Parameter(_uniform((h, h), math.sqrt(3.0 / h), gen, dev, dt_))
        self.weight_skip = nn.Parameter(_uniform((h, i), 1.0 / math.sqrt(i), gen, dev, dt_))
        self.bias_out = nn.Parameter(_uniform((h,), 1.0 / math.sqrt(h), gen, dev, dt_))
        self._init_heads(gen, dev, dt_)

    @property
    def decay(self) -> torch.Tensor:
        """``lambda = exp(-1 / tau)``, shape (n_units,)."""
        return torch.exp(-torch.exp(-self.log_tau))

    def timescales_(self, x: Any = None) -> np.ndarray:
        """``-1 / log(lambda) = tau`` per state coordinate, in time steps (``x`` is ignored)."""
        return to_numpy(torch.exp(self.log_tau)).astype(float).copy()

    @property
    def tau_(self) -> np.ndarray:
        return self.timescales_()

    def _drive(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam = self.decay
        return lam, torch.sqrt(1 - lam * lam) * (x @ self.weight_in.T + self.bias_in)

    def _finish(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return _readout_fn(self.readout_fn)(s @ self.weight_out.T + x @ self.weight_skip.T + self.bias_out)

    def forward(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run over a sequence.

        Parameters
        ----------
        x : tensor, array or TaskBatch, shape (n_timesteps, batch, n_inputs)
        h0 : tensor, shape (batch, n_units) or (n_units,), optional
            Linear state ``s`` before the first step (zeros by default).

        Returns
        -------
        states : tensor, shape (n_timesteps, batch, n_units)
            The readout ``h_t``.
        s_last : tensor, shape (batch, n_units)
            The last linear state (pass it as ``h0`` to continue the sequence).
        """
        x = self._check_inputs(x)
        if h0 is not None:
            h0 = _check_h0(h0, (x.shape[1], self.n_units), self.device_, self.dtype_)
        lam, u = self._drive(x)
        s = diagonal_scan(lam, u, h0)
        return self._finish(s, x), s[-1]

    def forward_loop(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sequential reference of :meth:`forward` (same numbers, one step at a time)."""
        x = self._check_inputs(x)
        if h0 is not None:
            h0 = _check_h0(h0, (x.shape[1], self.n_units), self.device_, self.dtype_)
        lam, u = self._drive(x)
        s = _loop_scan(lam, u, h0)
        return self._finish(s, x), s[-1]

    def extra_repr(self) -> str:
        return f"n_units={self.n_units}, n_inputs={self.n_inputs}, n_heads={self.n_heads}, readout={self.readout_fn!r}"


class LinearAttentionRNN(_RecurrentBase):
    """Causal linear attention computed as a recurrence (attention as an RNN).

    With feature map ``f(u) = elu(u) + 1`` (positive), queries ``q_t = f(W_q x_t + b_q)``, keys
    ``k_t = f(W_k x_t + b_k)`` and values ``v_t = W_v x_t + b_v`` of size ``n_features``, the
    memory is ``S_t = gamma * S_{t-1} + k_t v_t^T`` and ``z_t = gamma * z_{t-1} + k_t`` (decay
    ``gamma = exp(-1/tau)`` per key feature, or ``gamma = 1`` with ``decay=False``: plain causal
    linear attention, a cumulative sum), the attention output is
    ``o_t = S_t^T q_t / (z_t . q_t + eps)`` and the recorded states are
    ``h_t = phi(W_o o_t + U x_t + b)``. Equal to softmax-free causal attention
    ``sum_{s<=t} gamma^{t-s} (q_t . k_s) v_s / sum_{s<=t} gamma^{t-s} (q_t . k_s)``.

    Parameters
    ----------
    n_units : int
        Size of the recorded state ``h``.
    n_features : int
        Key/query/value size (the memory holds ``n_features * (n_features + 1)`` numbers).
    decay : bool
        Trainable per-feature forgetting (True) or a perfect integrator (False).
    tau_range : (float, float)
        Initial memory timescales, log-uniform (time steps), with ``decay``.
    readout : {"tanh", "relu", "gelu"}
    n_inputs, n_outputs, n_heads, random_state, device, dtype
        As in :class:`~neurodyn.rnn.LeakyRNN`.
    """

    eps = 1e-6

    def __init__(self, n_units: int = 128, n_inputs: int = 1, n_outputs: int = 2, n_heads: int = 1,
                 n_features: int = 8, decay: bool = True, tau_range: Any = (1.0, 50.0),
                 readout: str = "tanh", random_state: Any = None, device: Any = "auto",
                 dtype: Any = "float32") -> None:
        super().__init__()
        _check_common(n_units, n_inputs, n_outputs, n_heads)
        check_positive_int(n_features, "n_features")
        check_in(readout, "readout", _READOUTS)
        self.n_units, self.n_inputs = int(n_units), int(n_inputs)
        self.n_outputs, self.n_heads, self.n_features = int(n_outputs), int(n_heads), int(n_features)
        self.decay, self.readout_fn, self.random_state = bool(decay), readout, random_state
        dev = resolve_device(device)
        dt_ = resolve_dtype(dtype, dev)
        gen = make_generator(random_state)
        h, i, f = self.n_units, self.n_inputs, self.n_features
        bi = 1.0 / math.sqrt(i)
        self.weight_qkv = nn.Parameter(_uniform((3 * f, i), bi, gen, dev, dt_))
        self.bias_qkv = nn.Parameter(_uniform((3 * f,), bi, gen, dev, dt_))
        self.weight_out = nn.Parameter(_uniform((h, f), math.sqrt(3.0 / f), gen, dev, dt_))
        self.weight_skip = nn.Parameter(_uniform((h, i), bi, gen, dev, dt_))
        self.bias_out = nn.Parameter(_uniform((h,), 1.0 / math.sqrt(h), gen, dev, dt_))
        if self.decay:
            self.log_tau = nn.Parameter(_log_tau_init(f, tau_range, gen, dev, dt_))
        else:
            self.register_parameter("log_tau", None)
        self._init_heads(gen, dev, dt_)

    @property
    def state_size(self) -> int:
        """Numbers in the recurrent memory ``(S, z)``: ``n_features * (n_features + 1)``."""
        return self.n_features * (self.n_features + 1)

    def timescales_(self, x: Any = None) -> np.ndarray:
        """``-1 / log(gamma) = tau`` per key feature, in time steps (inf without decay)."""
        if self.log_tau is None:
            return np.full(self.n_features, np.inf)
        return to_numpy(torch.exp(self.log_tau)).astype(float).copy()

    @property
    def tau_(self) -> np.ndarray:
        return self.timescales_()

    def _qkv(self, x: torch.Tensor):
        f = self.n_features
        p = x @ self.weight_qkv.T + self.bias_qkv
        q = nn.functional.elu(p[..., :f]) + 1
        k = nn.functional.elu(p[..., f:2 * f]) + 1
        v = p[..., 2 * f:]
        # memory increments: [k v^T | k], shape (T, B, f, f + 1)
        inc = k.unsqueeze(-1) * torch.cat([v, torch.ones_like(k[..., :1])], -1).unsqueeze(-2)
        return q, inc

    def _finish(self, q: torch.Tensor, mem: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        num = (q.unsqueeze(-1) * mem).sum(-2)            # (T, B, f + 1)
        o = num[..., :-1] / (num[..., -1:] + self.eps)
        return _readout_fn(self.readout_fn)(o @ self.weight_out.T + x @ self.weight_skip.T + self.bias_out)

    def _prepare(self, x: Any, h0: Any):
        x = self._check_inputs(x)
        m0 = None
        if h0 is not None:
            m0 = _check_h0(h0, (x.shape[1], self.state_size), self.device_, self.dtype_)
            m0 = m0.reshape(x.shape[1], self.n_features, self.n_features + 1)
        q, inc = self._qkv(x)
        return x, m0, q, inc

    def _gamma(self) -> torch.Tensor:
        """Decay of each memory entry, flattened: row ``j`` of ``[S | z]`` decays by ``gamma_j``."""
        g = torch.exp(-torch.exp(-self.log_tau))
        return g.unsqueeze(-1).expand(self.n_features, self.n_features + 1).reshape(-1)

    def forward(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run over a sequence.

        Parameters
        ----------
        x : tensor, array or TaskBatch, shape (n_timesteps, batch, n_inputs)
        h0 : tensor, shape (batch, state_size) or (state_size,), optional
            Flattened memory ``(S, z)`` before the first step (zeros by default).

        Returns
        -------
        states : tensor, shape (n_timesteps, batch, n_units)
        memory_last : tensor, shape (batch, state_size)
        """
        x, m0, q, inc = self._prepare(x, h0)
        flat = inc.reshape(inc.shape[0], inc.shape[1], -1)
        # without decay the memory is a cumulative sum: the scan with decay 1 (faster than
        # torch.cumsum over the time axis, the same sums)
        gamma = inc.new_ones(()) if self.log_tau is None else self._gamma()
        mem = diagonal_scan(gamma, flat, None if m0 is None else m0.reshape(x.shape[1], -1))
        mem = mem.reshape(inc.shape)
        return self._finish(q, mem, x), mem[-1].reshape(x.shape[1], -1)

    def forward_loop(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sequential reference of :meth:`forward` (the recurrence one step at a time)."""
        x, m0, q, inc = self._prepare(x, h0)
        if self.log_tau is None:
            gamma = torch.ones((), dtype=inc.dtype, device=inc.device)
        else:
            gamma = self._gamma().reshape(self.n_features, self.n_features + 1)
        mem = _loop_scan(gamma, inc, m0)
        return self._finish(q, mem, x), mem[-1].reshape(x.shape[1], -1)

    def extra_repr(self) -> str:
        return (f"n_units={self.n_units}, n_inputs={self.n_inputs}, n_heads={self.n_heads}, "
                f"n_features={self.n_features}, decay={self.decay}")


def make_rnn(cell: str = "leaky", n_units: int = 128, n_inputs: int = 1, n_outputs: int = 2,
             n_heads: int = 1, random_state: Any = None, device: Any = "auto", dtype: Any = "float32",
             **kwargs: Any) -> nn.Module:
    """Build a recurrent network of any of the module's cells with one interface.

    Parameters
    ----------
    cell : {"leaky", "gru", "lstm", "ssm", "linear_attention"}
        ``"leaky"``: :class:`~neurodyn.rnn.LeakyRNN`; ``"gru"``/``"lstm"``:
        :class:`~neurodyn.rnn.GatedRNN` (fused kernels); ``"ssm"``: :class:`DiagonalSSM`;
        ``"linear_attention"``: :class:`LinearAttentionRNN`.
    n_units, n_inputs, n_outputs, n_heads : int
        State size, input size, classes per head, readout heads.
    random_state : int, Generator or None
        Seeds the initialisation.
    device : {"auto", "cpu", "cuda"} or torch.device
    dtype : torch dtype or str
    **kwargs
        Cell-specific options, passed to the class (e.g. ``nonlinearity`` for ``"leaky"``,
        ``tau_range`` for ``"ssm"``, ``n_features`` for ``"linear_attention"``).

    Returns
    -------
    torch.nn.Module
        ``forward(x, h0=None) -> (states (T, B, n_units), h_last)``, ``record``, ``readout``,
        ``timescales_(x=None)`` (time steps, see :mod:`neurodyn.rnn.cells`).
    """
    if not isinstance(cell, str) or cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}; got {cell!r}")
    common = dict(n_units=n_units, n_inputs=n_inputs, n_outputs=n_outputs, n_heads=n_heads,
                  random_state=random_state, device=device, dtype=dtype)
    if cell == "leaky":
        return LeakyRNN(**common, **kwargs)
    if cell in ("gru", "lstm"):
        return GatedRNN(cell=cell, **common, **kwargs)
    if cell == "ssm":
        return DiagonalSSM(**common, **kwargs)
    return LinearAttentionRNN(**common, **kwargs)
