"""Leaky recurrent networks with per-unit trainable timescales, and gated baselines.

The leaky RNN (Khajehabdollahi et al. 2024) with Euler step ``dt`` and per-unit time
constants ``tau`` (``alpha = dt / clamp(tau, tau_min, tau_max)``):

- post-leak (paper default):  ``h_t = phi((1 - alpha) h_{t-1} + alpha (W h_{t-1} + b_W + U x_t + b_U))``
- pre-leak (paper's ``mod``): ``h_t = (1 - alpha) h_{t-1} + alpha phi(W h_{t-1} + b_W + U x_t + b_U)``

For post-leak with ReLU or tanh the update is exactly an Elman RNN
``h_t = phi(W_eff h_{t-1} + U_eff x_t + b_eff)`` with ``W_eff = diag(1 - alpha) + diag(alpha) (W * M)``,
``U_eff = diag(alpha) U``, ``b_eff = alpha * (b_W + b_U)`` (``M`` the recurrent mask, no
autapses by default), which runs in PyTorch's fused RNN kernel (cuDNN on GPU) while the
gradients still reach ``W``, ``U`` and ``tau``. Other cases use a reference time loop.

References
----------
Khajehabdollahi, S., Zeraati, R., Giannakakis, E., Schäfer, T. J., Martius, G., & Levina, A.
(2024). Emergent mechanisms for long timescales depend on training curriculum and affect
performance in memory tasks. ICLR 2024.

Liu, Y. H., Baratin, A., Cornford, J., Mihalas, S., Shea-Brown, E., & Lajoie, G. (2024).
How connectivity structure shapes rich and lazy learning in neural circuits. ICLR 2024.

Yang, G. R., & Wang, X.-J. (2020). Artificial neural networks for neuroscientists: a primer.
Neuron 107(6) (continuous-time RNN with alpha = dt / tau).
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import (
    make_generator,
    random_normal,
    random_uniform,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
)
from .._validation import (
    check_array,
    check_finite,
    check_float_range,
    check_positive_int,
    check_probability,
    check_scalar,
    pow2_scale,
)
from .tasks import TaskBatch

__all__ = [
    "LeakyRNN",
    "GatedRNN",
    "Recording",
    "low_rank_matrix",
    "effective_rank",
    "MODEL_PRESETS",
]

_NONLINEARITIES = ("relu", "tanh", "leakyrelu", "sigmoid")

MODEL_PRESETS: dict[str, dict] = {
    # Khajehabdollahi et al. 2024: LeakyReLU(0.01) post-leak, biases, no autapses,
    # random h0 = 0.1 U(0,1) redrawn per call, 100 heads, tau = 1 + U(0,1) clamped at 1.
    "paper_a": dict(nonlinearity="leakyrelu", placement="post", bias=True, autapses=False,
                    h0="paper", n_heads=100, n_outputs=2, tau_init="paper", train_tau=True,
                    init="uniform"),
    # Liu et al. 2024: CTRNN with tau = dt (alpha = 1), ReLU, no biases, W0 = 1.25 N(0, 1/n).
    "paper_b": dict(nonlinearity="relu", placement="post", bias=False, autapses=True,
                    h0="zeros", n_heads=1, n_inputs=3, n_outputs=3, tau_init=1.0,
                    train_tau=False, init="gaussian", gain=1.25),
}


@contextlib.contextmanager
def _ieee_fp32_cudnn_rnn(x: torch.Tensor):
    """Run cuDNN's RNN kernel in full float32 on CUDA.

    PyTorch lets cuDNN RNNs use TF32 (10-bit mantissa products) for float32 inputs
    by default, which moves states by ~1e-3 relative to the time loop over a few
    hundred units; the fused path must give the loop's numbers, so TF32 is switched
    off for the call and the previous setting restored.
    """
    rnn = getattr(torch.backends.cudnn, "rnn", None)
    if x.device.type != "cuda" or x.dtype != torch.float32 or rnn is None or not hasattr(rnn, "fp32_precision"):
        yield
        return
    old = rnn.fp32_precision
    try:
        rnn.fp32_precision = "ieee"
    except RuntimeError:  # the caller set the legacy allow_tf32 flags; leave them as they are
        yield
        return
    try:
        yield
    finally:
        rnn.fp32_precision = old


def _uniform(shape: tuple, bound: float, gen: torch.Generator, device, dtype) -> torch.Tensor:
    return (random_uniform(shape, gen, device, dtype) * 2 - 1) * bound


def low_rank_matrix(w: Any, rank: int, keep_norm: bool = True) -> np.ndarray:
    """Best rank-``rank`` approximation of ``w`` (truncated SVD), rescaled to ``||w||_F``.

    Parameters
    ----------
    w : array-like, shape (n, m)
    rank : int
        Target rank, ``1 <= rank <= min(n, m)``.
    keep_norm : bool
        Rescale the truncation to the Frobenius norm of ``w`` (Liu et al. 2024).

    Returns
    -------
    numpy.ndarray, shape (n, m)

    References
    ----------
    Liu et al. (2024), ICLR, section 3 (initial connectivity of a given rank).
    """
    arr = np.array(check_array(w, "w", ndim=2, dims="(n, m)"), dtype=np.float64)
    check_finite(arr, "w")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= min(arr.shape):
        raise ValueError(f"rank must be an integer in [1, {min(arr.shape)}]; got {rank!r}")
    # the truncation is linear in w: work on w divided by a power of two (exact) so that the
    # SVD and the norms neither overflow nor underflow for entries near 1e+-300
    scale = pow2_scale(float(np.max(np.abs(arr))))
    arr = arr / scale
    u, s, vt = np.linalg.svd(arr, full_matrices=False)
    out = (u[:, :rank] * s[:rank]) @ vt[:rank]
    if keep_norm:
        norm_out = np.linalg.norm(out)
        if norm_out > 0:  # a zero matrix stays zero
            out *= np.linalg.norm(arr) / norm_out
    out = out * scale
    if not np.isfinite(out).all():
        raise ValueError("w is too large: its rank-reduced form overflows float64; rescale w")
    return out


def effective_rank(w: Any) -> float:
    """Effective rank ``exp(H(p))`` with ``p`` the normalised singular values.

    References
    ----------
    Roy, O., & Vetterli, M. (2007). The effective rank: a measure of effective dimensionality.
    EUSIPCO.
    """
    arr = check_array(w, "w", ndim=2, dims="(n, m)")
    check_finite(arr, "w")
    peak = float(np.max(np.abs(arr)))
    if peak == 0.0:
        raise ValueError("w is all zeros; its effective rank is undefined")
    s = np.linalg.svd(arr / peak, compute_uv=False)  # scale-free: no over/underflow
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


@dataclass
class Recording:
    """Activity recorded from a network on a batch of trials (trial-major numpy).

    ``np.asarray(recording)`` gives ``states``, so a Recording can be passed to any
    analysis that takes ``(trials, time, units)`` activity.

    Attributes
    ----------
    states : ndarray, shape (trials, time, units)
    inputs : ndarray, shape (trials, time, n_inputs)
    outputs : ndarray, shape (trials, time, n_heads, n_outputs)
        Logits of the recorded heads at every step.
    targets, mask : ndarray or None
        From the task batch when one was given.
    """

    states: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray
    targets: np.ndarray | None = None
    mask: np.ndarray | None = None

    def __array__(self, dtype=None, copy=None):
        return self.states if dtype is None else self.states.astype(dtype)

    @property
    def shape(self) -> tuple:
        return self.states.shape


class _RecurrentBase(nn.Module):
    """Shared: readout heads, input checks, recording, generator handling."""

    n_inputs: int
    n_units: int
    n_outputs: int
    n_heads: int

    def _init_heads(self, gen: torch.Generator, dev, dt) -> None:
        bound = 1.0 / math.sqrt(self.n_units)
        self.heads = nn.ModuleList()
        for _ in range(self.n_heads):
            lin = nn.Linear(self.n_units, self.n_outputs, device=dev, dtype=dt)
            with torch.no_grad():
                lin.weight.copy_(_uniform(lin.weight.shape, bound, gen, dev, dt))
                lin.bias.copy_(_uniform(lin.bias.shape, bound, gen, dev, dt))
            self.heads.append(lin)

    @property
    def device_(self) -> torch.device:
        return self.heads[0].weight.device

    @property
    def dtype_(self) -> torch.dtype:
        return self.heads[0].weight.dtype

    def _check_inputs(self, x: Any) -> torch.Tensor:
        if isinstance(x, TaskBatch):
            x = x.inputs
        if not isinstance(x, torch.Tensor):
            arr = check_array(x, "x", ndim=3, dims=f"(n_timesteps, batch, n_inputs={self.n_inputs})")
            check_finite(arr, "x")
            check_float_range(arr, "x", str(self.dtype_).replace("torch.", ""))
            x = to_tensor(arr, device=self.device_, dtype=self.dtype_)
        else:
            if x.is_complex():
                raise TypeError("x must be real-valued; got a complex tensor")
            x = x.to(device=self.device_, dtype=self.dtype_)
        if x.ndim != 3 or x.shape[-1] != self.n_inputs:
            raise ValueError(
                f"x must be 3-D (n_timesteps, batch, n_inputs={self.n_inputs}); got shape {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x is empty; got shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x must be finite; got NaN or Inf values")
        return x

    def readout(self, states: torch.Tensor, head: int = 0) -> torch.Tensor:
        """Logits of readout ``head`` for hidden states ``(..., n_units)``."""
        if not 0 <= head < self.n_heads:
            raise ValueError(f"head must be in [0, {self.n_heads - 1}]; got {head}")
        return self.heads[head](states)

    def last_logits(self, x: Any, heads: Any = (0,), h0: Any = None) -> torch.Tensor:
        """Logits at the last time step for each of ``heads``: ``(len(heads), batch, n_outputs)``."""
        states, _ = self(x, h0=h0)
        last = states[-1]
        return torch.stack([self.readout(last, int(k)) for k in heads])

    def record(self, x: Any, heads: Any = None, h0: Any = None) -> Recording:
        """Run without gradients and return trial-major activity, inputs and head outputs.

        Parameters
        ----------
        x : TaskBatch, tensor or array, shape (n_timesteps, batch, n_inputs)
        heads : sequence of int, optional
            Heads whose logits are recorded (default: all of them, up to 8).
        """
        batch = x if isinstance(x, TaskBatch) else None
        xt = self._check_inputs(x)
        heads = tuple(range(min(self.n_heads, 8))) if heads is None else tuple(heads)
        with torch.no_grad():
            states, _ = self(xt, h0=h0)
            outs = torch.stack([self.readout(states, k) for k in heads], dim=2)
        tr = lambda t: np.ascontiguousarray(to_numpy(t).swapaxes(0, 1))  # noqa: E731
        return Recording(
            states=tr(states), inputs=tr(xt), outputs=tr(outs),
            targets=tr(batch.targets) if batch is not None else None,
            mask=tr(batch.mask) if batch is not None else None,
        )

    def clone(self) -> _RecurrentBase:
        """A deep copy (parameters, buffers and generator state)."""
        return copy.deepcopy(self)


class LeakyRNN(_RecurrentBase):
    """Leaky (continuous-time) RNN with per-unit, bounded, trainable time constants.

    Parameters
    ----------
    n_units : int
        Number of recurrent units H.
    n_inputs : int
        Input dimension (1 for the binary memory tasks).
    n_outputs : int
        Classes per readout head.
    n_heads : int
        Number of readout heads (the multi-head curriculum uses one per N).
    nonlinearity : {"relu", "tanh", "leakyrelu", "sigmoid"}
        phi. ``"leakyrelu"`` uses slope 0.01 (paper (a)); only ReLU and tanh post-leak
        run in the fused kernel.
    placement : {"post", "pre"}
        phi after the leak (paper default) or before it (the paper's ``mod``).
    dt : float
        Euler step; ``alpha = dt / tau``.
    tau_init : "paper", float or array-like
        ``"paper"``: ``tau = 1 + U(0, 1)`` per unit; a float: all units equal; an array: per unit.
    tau_min, tau_max : float or None
        Bounds of the effective time constant ``clamp(tau, tau_min, tau_max)``
        (``tau_min`` defaults to ``dt`` so that ``alpha <= 1``).
    train_tau : bool
        Whether tau is a trainable parameter (False freezes it as a buffer).
    bias : bool
        Recurrent and input biases ``b_W``, ``b_U``.
    autapses : bool
        Allow self-connections; False masks the diagonal of W with a constant mask.
    recurrent_mask : array-like (H, H), optional
        Constant 0/1 mask multiplied into W (connectivity structure).
    dale_ratio : float, optional
        Dale's law: the first ``round(dale_ratio * H)`` units are excitatory, the rest
        inhibitory; the recurrent weights used are ``|W| * M * sign`` (sign per presynaptic
        column), so every unit keeps its sign under training (Song, Yang & Wang 2016).
    init : {"uniform", "gaussian"}
        W drawn U(±1/sqrt(H)) (PyTorch Linear default, paper (a)) or ``gain * N(0, 1/H)``.
    gain : float
        Multiplier of the recurrent initialisation.
    init_rank : int, optional
        Truncate the initial W to this rank at unchanged Frobenius norm (Liu et al. 2024).
    h0 : {"zeros", "learned", "paper"}
        Initial state: zeros, a trained vector, or ``0.1 U(0,1)`` redrawn per call from the
        network's seeded generator.
    rec_noise : float
        Standard deviation of Gaussian noise added to the recurrent drive during training
        (loop path only).
    fused : {"auto", True, False}
        Use the fused Elman kernel when the model allows it; True raises if it cannot.
    random_state : int, Generator or None
        Seeds the initialisation and the random initial states.
    device : {"auto", "cpu", "cuda"} or torch.device
    dtype : torch dtype or str
        float32 by default (as PyTorch RNN modules).

    Attributes
    ----------
    weight_hh, weight_ih, bias_hh, bias_ih : torch.nn.Parameter
        W (H, H), U (H, n_inputs), b_W, b_U.
    tau : torch.nn.Parameter or buffer, shape (H,)
        Raw time constants; the effective ones are :attr:`tau_`.
    heads : torch.nn.ModuleList of Linear(H, n_outputs)

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, section 3 and appendix A.
    """

    def __init__(self, n_units: int = 128, n_inputs: int = 1, n_outputs: int = 2, n_heads: int = 1,
                 nonlinearity: str = "relu", placement: str = "post", dt: float = 1.0,
                 tau_init: Any = "paper", tau_min: float | None = None, tau_max: float | None = None,
                 train_tau: bool = True, bias: bool = True, autapses: bool = False,
                 recurrent_mask: Any = None, dale_ratio: float | None = None, init: str = "uniform",
                 gain: float = 1.0, init_rank: int | None = None, h0: str = "zeros", rec_noise: float = 0.0,
                 fused: Any = "auto", random_state: Any = None, device: Any = "auto",
                 dtype: Any = "float32") -> None:
        super().__init__()
        for name, val in (("n_units", n_units), ("n_inputs", n_inputs), ("n_outputs", n_outputs),
                          ("n_heads", n_heads)):
            check_positive_int(val, name)
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {list(_NONLINEARITIES)}; got {nonlinearity!r}")
        if placement not in ("post", "pre"):
            raise ValueError(f"placement must be 'post' or 'pre'; got {placement!r}")
        # time constants and steps must stay finite in the network's dtype (alpha = dt / tau)
        big = float(torch.finfo(resolve_dtype(dtype, resolve_device(device))).max) / 16
        dt = check_scalar(dt, "dt", low=0.0, high=big, low_inclusive=False)
        tau_min = dt if tau_min is None else check_scalar(tau_min, "tau_min", low=0.0, high=big,
                                                          low_inclusive=False)
        tau_max = check_scalar(tau_max, "tau_max", low=0.0, high=big, low_inclusive=False,
                               allow_none=True)
        if tau_max is not None and tau_max < tau_min:
            raise ValueError(f"tau_max must be >= tau_min; got tau_min={tau_min}, tau_max={tau_max}")
        gain = check_scalar(gain, "gain", low=0.0, high=big)
        rec_noise = check_scalar(rec_noise, "rec_noise", low=0.0, high=big)
        if dale_ratio is not None:
            dale_ratio = check_probability(dale_ratio, "dale_ratio")
        if init_rank is not None:
            init_rank = check_scalar(init_rank, "init_rank", low=1, high=n_units, integer=True)
        if init not in ("uniform", "gaussian"):
            raise ValueError(f"init must be 'uniform' or 'gaussian'; got {init!r}")
        if h0 not in ("zeros", "learned", "paper"):
            raise ValueError(f"h0 must be 'zeros', 'learned' or 'paper'; got {h0!r}")
        if fused not in ("auto", True, False):
            raise ValueError(f"fused must be 'auto', True or False; got {fused!r}")

        self.n_units, self.n_inputs = int(n_units), int(n_inputs)
        self.n_outputs, self.n_heads = int(n_outputs), int(n_heads)
        self.nonlinearity, self.placement, self.dt = nonlinearity, placement, float(dt)
        self.tau_min, self.tau_max, self.train_tau = tau_min, tau_max, bool(train_tau)
        self.bias, self.autapses, self.init, self.gain = bool(bias), bool(autapses), init, float(gain)
        self.init_rank, self.h0_mode, self.rec_noise, self.fused = init_rank, h0, float(rec_noise), fused
        self.random_state = random_state
        self.dale_ratio = dale_ratio

        dev = resolve_device(device)
        dt_ = resolve_dtype(dtype, dev)
        gen = make_generator(random_state)
        self._generator = gen
        h = self.n_units

        if init == "uniform":
            w = _uniform((h, h), self.gain / math.sqrt(h), gen, dev, dt_)
        else:
            w = self.gain * random_normal((h, h), gen, dev, dt_) / math.sqrt(h)
        if init_rank is not None:
            w = torch.as_tensor(low_rank_matrix(to_numpy(w), init_rank), device=dev, dtype=dt_)
        self.weight_hh = nn.Parameter(w)
        self.weight_ih = nn.Parameter(_uniform((h, self.n_inputs), 1.0 / math.sqrt(self.n_inputs),
                                               gen, dev, dt_))
        if self.bias:
            self.bias_hh = nn.Parameter(_uniform((h,), 1.0 / math.sqrt(h), gen, dev, dt_))
            self.bias_ih = nn.Parameter(_uniform((h,), 1.0 / math.sqrt(self.n_inputs), gen, dev, dt_))
        else:
            self.register_parameter("bias_hh", None)
            self.register_parameter("bias_ih", None)

        if isinstance(tau_init, str):
            if tau_init != "paper":
                raise ValueError(f"tau_init must be 'paper', a float or an array; got {tau_init!r}")
            tau = 1.0 + random_uniform((h,), gen, dev, dt_)
        else:
            tau_arr = check_array(tau_init, "tau_init", ndim=(0, 1), dims=f"a float or ({h},)")
            if tau_arr.ndim == 0:
                tau_arr = np.full(h, float(tau_arr))
            if tau_arr.shape != (h,):
                raise ValueError(f"tau_init must be a scalar or have shape ({h},); got shape {tau_arr.shape}")
            if not np.all(np.isfinite(tau_arr)) or np.any(tau_arr <= 0) or np.any(tau_arr > big):
                raise ValueError(f"tau_init must be finite and > 0 (and at most {big:.3g}); got values in "
                                 f"[{tau_arr.min():.3g}, {tau_arr.max():.3g}]")
            tau = torch.as_tensor(tau_arr, device=dev, dtype=dt_)
        if self.train_tau:
            self.tau = nn.Parameter(tau)
        else:
            self.register_buffer("tau", tau)

        mask = torch.ones(h, h, device=dev, dtype=dt_)
        if recurrent_mask is not None:
            m = check_array(recurrent_mask, "recurrent_mask", ndim=2, dims=f"({h}, {h})")
            check_finite(m, "recurrent_mask")
            if m.shape != (h, h):
                raise ValueError(f"recurrent_mask must have shape ({h}, {h}); got {m.shape}")
            mask = mask * torch.as_tensor(m, device=dev, dtype=dt_)
        if not self.autapses:
            mask = mask * (1 - torch.eye(h, device=dev, dtype=dt_))
        self.register_buffer("recurrent_mask", mask)
        if dale_ratio is not None:
            n_exc = int(round(dale_ratio * h))
            sign = torch.cat([torch.ones(n_exc), -torch.ones(h - n_exc)]).to(device=dev, dtype=dt_)
            self.register_buffer("dale_sign", sign)
        else:
            self.dale_sign = None
        if h0 == "learned":
            self.h0 = nn.Parameter(torch.zeros(h, device=dev, dtype=dt_))
        else:
            self.register_parameter("h0", None)
        self._init_heads(gen, dev, dt_)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> LeakyRNN:
        """Build a network with a paper's settings (``"paper_a"``, ``"paper_b"``), overridable."""
        if name not in MODEL_PRESETS:
            raise ValueError(f"name must be one of {list(MODEL_PRESETS)}; got {name!r}")
        kwargs = dict(MODEL_PRESETS[name])
        kwargs.update(overrides)
        return cls(**kwargs)

    # ------------------------------------------------------------------ parameters
    def effective_tau(self) -> torch.Tensor:
        """``clamp(tau, tau_min, tau_max)`` (differentiable inside the bounds)."""
        return self.tau.clamp(min=self.tau_min, max=self.tau_max)

    @property
    def tau_(self) -> np.ndarray:
        """Effective single-neuron time constants (numpy, shape (n_units,))."""
        return to_numpy(self.effective_tau()).copy()

    @property
    def alpha(self) -> torch.Tensor:
        return self.dt / self.effective_tau()

    def timescales_(self, x: Any = None) -> np.ndarray:
        """Single-unit timescales ``tau / dt`` in time steps (``x`` is ignored).

        Comparable with the other cells' ``timescales_`` (see :func:`neurodyn.rnn.make_rnn`):
        the leak keeps ``1 - dt/tau`` of the state per step, an e-folding time of
        ``-1 / log(1 - dt/tau) ~ tau/dt`` steps for ``tau >> dt``.
        """
        return self.tau_ / self.dt

    def masked_weight(self) -> torch.Tensor:
        """``W * M`` (``|W| * M * sign`` under Dale's law): the recurrent weights actually used."""
        if self.dale_sign is not None:
            return self.weight_hh.abs() * self.recurrent_mask * self.dale_sign
        return self.weight_hh * self.recurrent_mask

    def _bias_sum(self) -> torch.Tensor | None:
        if not self.bias:
            return None
        return self.bias_hh + self.bias_ih

    def elman_parameters(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(W_eff, U_eff, b_eff)`` of the equivalent Elman RNN (post-leak only)."""
        a = self.alpha
        w_eff = torch.diag(1 - a) + a[:, None] * self.masked_weight()
        u_eff = a[:, None] * self.weight_ih
        b = self._bias_sum()
        return w_eff, u_eff, (a * b if b is not None else None)

    def uses_fused(self) -> bool:
        """Whether :meth:`forward` runs the fused Elman kernel in the current mode."""
        ok = (self.placement == "post" and self.nonlinearity in ("relu", "tanh")
              and not (self.training and self.rec_noise > 0))
        if self.fused is True and not ok:
            raise ValueError(
                "fused=True needs placement='post', nonlinearity 'relu' or 'tanh' and no recurrent "
                f"noise; got placement={self.placement!r}, nonlinearity={self.nonlinearity!r}, "
                f"rec_noise={self.rec_noise}"
            )
        return ok and self.fused is not False

    def initial_state(self, batch_size: int, h0: Any = None) -> torch.Tensor:
        """Initial state ``(batch, n_units)`` following ``h0`` (or the given tensor)."""
        dev, dt_ = self.device_, self.dtype_
        if h0 is not None:
            if isinstance(h0, torch.Tensor):
                if h0.is_complex():
                    raise TypeError("h0 must be real-valued; got a complex tensor")
                h = h0.to(device=dev, dtype=dt_)
            else:
                h = to_tensor(check_array(h0, "h0", ndim=(1, 2), dims=f"(batch, {self.n_units})"),
                              device=dev, dtype=dt_)
            if not bool(torch.isfinite(h).all()):
                raise ValueError("h0 must be finite; got NaN or Inf values")
            if h.ndim == 1:
                h = h.expand(batch_size, -1)
            if h.shape != (batch_size, self.n_units):
                raise ValueError(f"h0 must have shape ({batch_size}, {self.n_units}) or "
                                 f"({self.n_units},); got {tuple(h.shape)}")
            return h
        if self.h0_mode == "learned":
            return self.h0.expand(batch_size, -1)
        if self.h0_mode == "paper":
            return 0.1 * random_uniform((batch_size, self.n_units), self._generator, dev, dt_)
        return torch.zeros(batch_size, self.n_units, device=dev, dtype=dt_)

    def _phi(self, u: torch.Tensor) -> torch.Tensor:
        if self.nonlinearity == "relu":
            return torch.relu(u)
        if self.nonlinearity == "tanh":
            return torch.tanh(u)
        if self.nonlinearity == "leakyrelu":
            return torch.nn.functional.leaky_relu(u, 0.01)
        return torch.sigmoid(u)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network over a sequence.

        Parameters
        ----------
        x : tensor, array or TaskBatch, shape (n_timesteps, batch, n_inputs)
        h0 : tensor, shape (batch, n_units) or (n_units,), optional
            Overrides the initial-state mode.

        Returns
        -------
        states : torch.Tensor, shape (n_timesteps, batch, n_units)
        h_last : torch.Tensor, shape (batch, n_units)
        """
        x = self._check_inputs(x)
        h = self.initial_state(x.shape[1], h0)
        if self.uses_fused():
            return self._forward_fused(x, h)
        return self.forward_loop(x, h)

    def _forward_fused(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w_eff, u_eff, b_eff = self.elman_parameters()
        kernel = torch._VF.rnn_relu if self.nonlinearity == "relu" else torch._VF.rnn_tanh
        if b_eff is not None:
            params = [u_eff, w_eff, b_eff, torch.zeros_like(b_eff)]
        else:
            params = [u_eff, w_eff]
        with warnings.catch_warnings(), _ieee_fp32_cudnn_rnn(x):
            # cuDNN warns that freshly computed weights are not one flat buffer; that is intended.
            warnings.simplefilter("ignore", UserWarning)
            states, h_n = kernel(x, h.unsqueeze(0).contiguous(), params, b_eff is not None, 1, 0.0,
                                 self.training, False, False)
        return states, h_n[0]

    def forward_loop(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference time loop (every placement, nonlinearity and recurrent noise)."""
        x = self._check_inputs(x)
        if h is None:
            h = self.initial_state(x.shape[1])
        a = self.alpha
        w = self.masked_weight()
        drive = x @ self.weight_ih.T
        b = self._bias_sum()
        if b is not None:
            drive = drive + b
        noisy = self.training and self.rec_noise > 0
        out = []
        # The recurrence is nonlinear, so time steps must run in sequence.
        for t in range(x.shape[0]):
            pre = h @ w.T + drive[t]
            if noisy:
                pre = pre + self.rec_noise * random_normal(pre.shape, self._generator, pre.device, pre.dtype)
            if self.placement == "post":
                h = self._phi((1 - a) * h + a * pre)
            else:
                h = (1 - a) * h + a * self._phi(pre)
            out.append(h)
        return torch.stack(out), h

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One noiseless update ``h_t = F(h_{t-1}, x_t)`` for states ``(..., H)`` and inputs ``(..., n_inputs)``."""
        a = self.alpha
        pre = h @ self.masked_weight().T + x @ self.weight_ih.T
        b = self._bias_sum()
        if b is not None:
            pre = pre + b
        if self.placement == "post":
            return self._phi((1 - a) * h + a * pre)
        return (1 - a) * h + a * self._phi(pre)

    def extra_repr(self) -> str:
        return (f"n_units={self.n_units}, n_inputs={self.n_inputs}, n_heads={self.n_heads}, "
                f"nonlinearity={self.nonlinearity!r}, placement={self.placement!r}, "
                f"train_tau={self.train_tau}, autapses={self.autapses}")


class GatedRNN(_RecurrentBase):
    """GRU or LSTM with the same interface as :class:`LeakyRNN` (heads, record, forward).

    Parameters
    ----------
    n_units, n_inputs, n_outputs, n_heads, random_state, device, dtype
        As in :class:`LeakyRNN`.
    cell : {"gru", "lstm"}

    Notes
    -----
    Weights are drawn U(±1/sqrt(H)) from the seeded generator (PyTorch's default law).
    ``tau_`` is None: gated units have no explicit time constant.

    References
    ----------
    Khajehabdollahi et al. (2024), ICLR, appendix (LSTM/GRU with the same heads and curricula).
    """

    tau_ = None

    def __init__(self, n_units: int = 128, n_inputs: int = 1, n_outputs: int = 2, n_heads: int = 1,
                 cell: str = "lstm", random_state: Any = None, device: Any = "auto",
                 dtype: Any = "float32") -> None:
        super().__init__()
        for name, val in (("n_units", n_units), ("n_inputs", n_inputs), ("n_outputs", n_outputs),
                          ("n_heads", n_heads)):
            check_positive_int(val, name)
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm'; got {cell!r}")
        self.n_units, self.n_inputs = int(n_units), int(n_inputs)
        self.n_outputs, self.n_heads, self.cell = int(n_outputs), int(n_heads), cell
        self.random_state = random_state
        dev = resolve_device(device)
        dt_ = resolve_dtype(dtype, dev)
        gen = make_generator(random_state)
        klass = nn.GRU if cell == "gru" else nn.LSTM
        self.core = klass(self.n_inputs, self.n_units, device=dev, dtype=dt_)
        bound = 1.0 / math.sqrt(self.n_units)
        with torch.no_grad():
            for p in self.core.parameters():
                p.copy_(_uniform(p.shape, bound, gen, dev, dt_))
        self._init_heads(gen, dev, dt_)

    def forward(self, x: Any, h0: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``states (T, B, H)`` and the last hidden state ``(B, H)``."""
        x = self._check_inputs(x)
        states, _ = self.core(x) if h0 is None else self.core(x, h0)
        return states, states[-1]

    def _retention_gates(self, x: Any = None) -> torch.Tensor:
        """Retention gate (GRU update gate ``z``, LSTM forget gate ``f``): at rest, or mean over ``x``."""
        h = self.n_units
        blk = slice(h, 2 * h)  # PyTorch gate order: GRU (r, z, n), LSTM (i, f, g, o)
        b = self.core.bias_ih_l0[blk] + self.core.bias_hh_l0[blk]
        if x is None:
            return torch.sigmoid(b)
        xt = self._check_inputs(x)
        states, _ = self(xt)
        prev = torch.cat([torch.zeros_like(states[:1]), states[:-1]])
        pre = xt @ self.core.weight_ih_l0[blk].T + prev @ self.core.weight_hh_l0[blk].T + b
        return torch.sigmoid(pre).mean(dim=(0, 1))

    def timescales_(self, x: Any = None) -> np.ndarray:
        """Effective per-unit timescales from the retention gates, in time steps.

        A GRU unit keeps ``z`` of its state per step (``h_t = (1 - z) n_t + z h_{t-1}``), an
        LSTM cell ``f`` (``c_t = f c_{t-1} + i g``); with ``g`` that gate the timescale is
        ``-1 / log(g)``, the e-folding time of a unit that kept ``g`` fixed (the same
        definition as ``-1 / log|lambda|`` for the SSM).

        Parameters
        ----------
        x : tensor, array or TaskBatch, shape (n_timesteps, batch, n_inputs), optional
            Inputs over which the gate is averaged (over steps and trials) before taking the
            timescale. Default: the gate at rest (zero input, zero state), ``sigmoid(b_i + b_h)``.

        Returns
        -------
        numpy.ndarray, shape (n_units,)
            Infinite where the gate saturates at 1 in the network's dtype.
        """
        with torch.no_grad():
            g = self._retention_gates(x).to(torch.float64)
            return to_numpy(-1.0 / torch.log(g)).astype(float).copy()
