"""Analyses of trained recurrent networks.

- Ablation of units and perturbation of weights / time constants, scored on long streams
  (Khajehabdollahi et al. 2024, section 5);
- retention of earlier N (catastrophic forgetting);
- PCA of trajectories, participation ratio, dimension at a variance threshold;
- rich/lazy learning metrics of Liu et al. (2024): weight change, representation alignment,
  tangent-kernel alignment, sign similarity.

References
----------
Khajehabdollahi, S., Zeraati, R., Giannakakis, E., Schäfer, T. J., Martius, G., & Levina, A.
(2024). Emergent mechanisms for long timescales depend on training curriculum and affect
performance in memory tasks. ICLR 2024.

Liu, Y. H., Baratin, A., Cornford, J., Mihalas, S., Shea-Brown, E., & Lajoie, G. (2024).
How connectivity structure shapes rich and lazy learning in neural circuits. ICLR 2024.

Li, S., et al. (2020). Neural network robustness via weight perturbation (NeurIPS 2020), eq. 5
(relative weight perturbation).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._torch import check_random_state, make_generator, random_integers, random_normal, to_numpy
from .._validation import (
    LayoutWarning,
    check_array,
    check_finite,
    check_positive_int,
    check_probability,
    check_scalar,
    warn_if_transposed,
)
from .tasks import NParity, Task

__all__ = [
    "ablate_units",
    "stream_accuracy",
    "ablate",
    "single_unit_ablation",
    "perturb",
    "accuracy_per_n",
    "trajectory_pca",
    "participation_ratio",
    "variance_dimension",
    "weight_change",
    "kernel_alignment",
    "representation_alignment",
    "tangent_kernel",
    "sign_similarity",
    "find_fixed_points",
    "jacobian_eigenvalues",
]


# ---------------------------------------------------------------------------- validation
def _check_units(units: Any, net: Any, name: str = "units") -> np.ndarray:
    """Unit indices of ``net`` as a 1-D integer array."""
    if units is None or isinstance(units, (str, bytes)):
        raise TypeError(f"{name} must be integer unit indices; got {units!r}")
    arr = np.atleast_1d(np.asarray(units))
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must be integer unit indices; got {arr.tolist()[:10]}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_units_selected,); got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= net.n_units):
        raise ValueError(f"{name} must be indices in [0, {net.n_units - 1}]; got {arr.tolist()[:10]}")
    return arr.astype(int)


def _check_head_list(heads: Any, net: Any, n_targets: int, name: str = "heads") -> list[int]:
    if isinstance(heads, (str, bytes)) or not isinstance(heads, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of readout-head indices; got {heads!r}")
    out = [check_scalar(h, name, low=0, high=net.n_heads - 1, integer=True) for h in heads]
    if len(out) != n_targets:
        raise ValueError(f"{name} must give one head per N of the task ({n_targets}); got {len(out)}")
    return out


def _unit_scale(a: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """``a / max|a|`` and the factor (scale-free products; refuses an all-zero array)."""
    peak = float(np.max(np.abs(a)))
    if peak == 0.0:
        raise ValueError(f"{name} is all zeros")
    return a / peak, peak


# ---------------------------------------------------------------------------- ablation
def ablate_units(net: Any, units: Any, heads: Sequence[int] | None = None) -> Any:
    """Copy of ``net`` with ``units`` silenced as in the paper.

    Zeroes row and column i of W, the input weights of i and column i of the readout of
    ``heads`` (all heads by default). The original network is not changed.
    """
    units = _check_units(units, net)
    out = net.clone()
    idx = torch.as_tensor(units, device=out.device_, dtype=torch.long)
    heads = range(out.n_heads) if heads is None else heads
    with torch.no_grad():
        out.weight_hh[idx, :] = 0
        out.weight_hh[:, idx] = 0
        out.weight_ih[idx, :] = 0
        for k in heads:
            out.heads[int(k)].weight[:, idx] = 0
    return out


@torch.no_grad()
def stream_accuracy(net: Any, task: Any, heads: Sequence[int] | None = None, n_timesteps: int = 1000,
                    warmup: int = 100, n_trials: int = 10, rate: float = 0.5,
                    random_state: Any = None) -> np.ndarray:
    """Accuracy on long streams classified at every step (the paper's ablation protocol).

    Parameters
    ----------
    net : LeakyRNN or GatedRNN
    task : NParity or NDelayedMatch
        Its ``ns`` are scored, N = ``task.ns[k]`` read out by ``heads[k]`` (default ``k``).
    n_timesteps, warmup : int
        Steps scored, after ``warmup`` unscored steps.
    n_trials : int
        Independent streams (the batch).
    rate : float
        Bernoulli rate of the bits (0.5: chance accuracy 0.5).

    Returns
    -------
    ndarray (len(task.ns),)
    """
    if not hasattr(task, "ns") or not hasattr(task, "sample_stream"):
        raise TypeError(f"task must be an NParity or NDelayedMatch task; got {type(task).__name__}")
    heads = list(range(len(task.ns))) if heads is None else _check_head_list(heads, net, len(task.ns))
    n_timesteps = check_positive_int(n_timesteps, "n_timesteps")
    warmup = check_positive_int(warmup, "warmup", minimum=0)
    n_trials = check_positive_int(n_trials, "n_trials")
    rate = check_probability(rate, "rate")
    gen = make_generator(random_state)
    batch = task.sample_stream(warmup + n_timesteps, n_trials, generator=gen, rate=rate)
    was_training = net.training
    net.eval()
    states, _ = net(batch.inputs.to(net.dtype_))
    net.train(was_training)
    states, targets = states[warmup:], batch.targets[warmup:]
    acc = [(net.readout(states, int(h)).argmax(-1) == targets[..., k]).float().mean().item()
           for k, h in enumerate(heads)]
    return np.asarray(acc)


def ablate(net: Any, task: Any, units: Any = None, fraction: float | None = None,
           n_repeats: int = 20, heads: Sequence[int] | None = None, n_timesteps: int = 1000,
           warmup: int = 100, n_trials: int = 10, random_state: Any = None) -> dict:
    """Accuracy after silencing a given set of units, or random fractions of units.

    Parameters
    ----------
    net, task, heads, n_timesteps, warmup, n_trials
        As :func:`stream_accuracy`.
    units : array-like of int, optional
        Units to silence together (one evaluation).
    fraction : float, optional
        Silence ``round(fraction * n_units)`` random units, ``n_repeats`` times.
    random_state : int, Generator or None

    Returns
    -------
    dict with ``baseline`` (len(ns),), ``accuracy`` (n_repeats, len(ns)), ``drop``
    (baseline - accuracy, averaged over repeats) and ``units`` (list of arrays).
    """
    if (units is None) == (fraction is None):
        raise ValueError("pass exactly one of units or fraction")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    if units is not None:
        units = _check_units(units, net)
    else:
        fraction = check_scalar(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False,
                                high_inclusive=False)
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    kw = dict(heads=heads, n_timesteps=n_timesteps, warmup=warmup, n_trials=n_trials, random_state=seed)
    base = stream_accuracy(net, task, **kw)
    if units is not None:
        sets = [units]
    else:
        k = max(1, int(round(fraction * net.n_units)))
        sets = [rng.choice(net.n_units, size=k, replace=False) for _ in range(n_repeats)]
    acc = np.array([stream_accuracy(ablate_units(net, s, heads), task, **kw) for s in sets])
    return {"baseline": base, "accuracy": acc, "drop": base - acc.mean(0), "units": sets}


def single_unit_ablation(net: Any, task: Any, units: Any, heads: Sequence[int] | None = None,
                         **kwargs: Any) -> np.ndarray:
    """Accuracy with each unit of ``units`` silenced alone: ``(len(units), len(task.ns))``.

    The paper ablates the 20 units of smallest and of largest time constant this way.
    """
    units = _check_units(units, net)
    return np.array([stream_accuracy(ablate_units(net, [u], heads), task, heads=heads, **kwargs)
                     for u in units])


def perturb(net: Any, task: Any, target: str = "weights", epsilons: Sequence[float] | None = None,
            n_repeats: int = 10, heads: Sequence[int] | None = None, n_timesteps: int = 1000,
            warmup: int = 100, n_trials: int = 10, random_state: Any = None) -> dict:
    """Relative accuracy under random perturbations of W or of tau.

    ``W <- W + eps ||W||_F D / ||D||_F`` with ``D ~ N(0, 1)``; ``tau <- tau + eps ||tau|| |D| / || |D| ||``.
    Relative accuracy ``(acc - 0.5) / (acc(eps=0) - 0.5)``.

    Parameters
    ----------
    target : {"weights", "tau"}
    epsilons : sequence of float
        Default ``[0] + geomspace(1e-2, 10, 10)``.

    Returns
    -------
    dict with ``epsilons``, ``accuracy`` (n_eps, n_repeats, len(ns)) and ``relative``.

    Raises
    ------
    ValueError
        When the unperturbed accuracy is at chance (0.5) or below for some N.
    """
    if target not in ("weights", "tau"):
        raise ValueError(f"target must be 'weights' or 'tau'; got {target!r}")
    if target == "tau" and getattr(net, "tau", None) is None:
        raise ValueError("target='tau' needs a network with time constants (LeakyRNN)")
    if epsilons is None:
        eps = np.concatenate([[0.0], np.geomspace(1e-2, 10, 10)])
    else:
        eps = np.atleast_1d(check_array(epsilons, "epsilons", ndim=(0, 1), dims="(n_epsilons,)"))
        if not np.all(np.isfinite(eps)) or np.any(eps < 0) or np.any(eps > 1e6):
            raise ValueError(f"epsilons must be finite relative sizes in [0, 1e6]; got {eps.tolist()[:10]}")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    gen = make_generator(random_state)
    kw = dict(heads=heads, n_timesteps=n_timesteps, warmup=warmup, n_trials=n_trials)
    stream_seed = int(random_integers(0, 2**31 - 1, (1,), gen).item())
    base = stream_accuracy(net, task, random_state=stream_seed, **kw)
    if np.any(base <= 0.5):
        raise ValueError(f"net: the unperturbed accuracy {base.round(4).tolist()} is at or below chance "
                         "(0.5) for some N, so the relative accuracy (acc - 0.5) / (baseline - 0.5) is "
                         "undefined; perturb a trained network")
    acc = np.zeros((eps.size, n_repeats, base.size))
    for i, e in enumerate(eps):
        for r in range(n_repeats):
            pert = net.clone()
            with torch.no_grad():
                if target == "weights":
                    d = random_normal(pert.weight_hh.shape, gen, net.device_, net.dtype_)
                    pert.weight_hh.add_(e * torch.linalg.norm(pert.weight_hh) * d / torch.linalg.norm(d))
                else:
                    d = random_normal(pert.tau.shape, gen, net.device_, net.dtype_).abs()
                    pert.tau.add_(e * torch.linalg.norm(pert.tau) * d / torch.linalg.norm(d))
            acc[i, r] = stream_accuracy(pert, task, random_state=stream_seed, **kw)
    rel = (acc - 0.5) / (base - 0.5)
    return {"epsilons": eps, "accuracy": acc, "relative": rel, "baseline": base}


def accuracy_per_n(net: Any, ns: Sequence[int], heads: Sequence[int], task: Callable[..., Task] = NParity,
                   n_batches: int = 10, batch_size: int = 256, random_state: Any = None) -> np.ndarray:
    """Accuracy on each N of ``ns`` read out by ``heads`` (retention of earlier N).

    Each N is scored on its own task (sequence length drawn for that N).
    """
    from .training import evaluate

    if isinstance(ns, (str, bytes)) or not isinstance(ns, (Sequence, np.ndarray)):
        raise TypeError(f"ns must be a sequence of memory lengths N; got {ns!r}")
    if isinstance(heads, (str, bytes)) or not isinstance(heads, (Sequence, np.ndarray)):
        raise TypeError(f"heads must be a sequence of readout-head indices; got {heads!r}")
    ns = [check_positive_int(n, "ns") for n in ns]
    if len(ns) != len(heads):
        raise ValueError(f"ns and heads must have the same length; got {len(ns)} and {len(heads)}")
    gen = make_generator(random_state)
    return np.array([evaluate(net, task(int(n), device=net.device_), [int(h)], n_batches, batch_size, gen)[0]
                     for n, h in zip(ns, heads, strict=True)])


# ---------------------------------------------------------------------------- geometry
def _samples_by_units(x: Any, name: str = "x", warn_transposed: bool = False) -> np.ndarray:
    if hasattr(x, "states") and not isinstance(x, np.ndarray):
        x = x.states
    arr = check_array(x, name, ndim=(2, 3),
                      dims="(n_samples, n_units) or (n_trials, n_timepoints, n_units)")
    check_finite(arr, name)
    if warn_transposed:
        warn_if_transposed(arr, name, time_axis=-2, unit_axis=-1)
    return arr.reshape(-1, arr.shape[-1]).astype(np.float64)


def trajectory_pca(x: Any, n_components: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of activity pooled over trials and time.

    Parameters
    ----------
    x : array-like, (n_trials, n_timepoints, n_units) or (n_samples, n_units)

    Returns
    -------
    scores : ndarray, same leading shape as ``x`` with ``n_components`` last
    components : ndarray (n_components, n_units)
    explained_variance_ratio : ndarray (n_components,)
    """
    raw = x.states if hasattr(x, "states") and not isinstance(x, np.ndarray) else x
    a = _samples_by_units(raw, warn_transposed=True)
    shape = np.shape(raw)
    a = a - a.mean(0)
    # the decomposition of a / max|a| (no over- or underflow of the squared singular values)
    peak = float(np.max(np.abs(a))) or 1.0
    _, s, vt = np.linalg.svd(a / peak, full_matrices=False)
    var = s**2
    if n_components is None:
        k = vt.shape[0]
    else:
        k = check_scalar(n_components, "n_components", low=1, high=vt.shape[0], integer=True)
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    scores = (a @ vt[:k].T).reshape(*shape[:-1], k)
    return scores, vt[:k], ratio[:k]


def participation_ratio(x: Any) -> float:
    """``(sum lambda)^2 / sum lambda^2`` of the activity covariance eigenvalues."""
    a = _samples_by_units(x, warn_transposed=True)
    if a.shape[0] < 2:
        raise ValueError(f"x needs at least 2 samples for a covariance; got {a.shape[0]}")
    raw = float(np.max(np.abs(a)))
    a = a - a.mean(0)
    peak = float(np.max(np.abs(a)))
    if peak <= 8.0 * np.finfo(float).eps * raw:
        raise ValueError("x has no variance (every sample is the same); the participation ratio "
                         "is undefined")
    # the ratio is scale free: use the covariance of a / max|a|
    lam = np.linalg.eigvalsh(np.cov(a / peak, rowvar=False))
    lam = np.clip(lam, 0, None)
    return float(lam.sum() ** 2 / (lam**2).sum())


def variance_dimension(x: Any, threshold: float = 0.9) -> int:
    """Number of principal components needed to explain more than ``threshold`` of the variance."""
    threshold = check_scalar(threshold, "threshold", low=0.0, high=1.0, low_inclusive=False,
                             high_inclusive=False)
    a = _samples_by_units(x, warn_transposed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayoutWarning)  # warned once above
        _, _, ratio = trajectory_pca(a)
    return int(np.searchsorted(np.cumsum(ratio), threshold, side="right") + 1)


# ---------------------------------------------------------------------------- rich / lazy
def weight_change(w0: Any, wt: Any, relative: bool = False) -> float:
    """``||W_T - W_0||_F`` (divided by ``||W_0||_F`` when ``relative``)."""
    a = check_array(to_numpy(w0), "w0")
    b = check_array(to_numpy(wt), "wt")
    check_finite(a, "w0")
    check_finite(b, "wt")
    if a.shape != b.shape:
        raise ValueError(f"w0 and wt must have the same shape; got {a.shape} and {b.shape}")
    diff = b - a
    peak = float(np.max(np.abs(diff))) if diff.size else 0.0
    # ||d|| = max|d| * ||d / max|d||| (np.linalg.norm squares the entries)
    d = peak * float(np.linalg.norm(diff / peak)) if peak > 0 else 0.0
    if not relative:
        if not np.isfinite(d):
            raise ValueError("the weight change is beyond the float64 range; rescale w0 and wt")
        return d
    ref = float(np.max(np.abs(a)))
    if ref == 0.0:
        raise ValueError("w0 is all zeros: the relative weight change is undefined (use relative=False)")
    return (d / ref) / float(np.linalg.norm(a / ref))


def kernel_alignment(k0: Any, kt: Any) -> float:
    """``<K_0, K_T>_F / (||K_0||_F ||K_T||_F)`` of two kernel (Gram) matrices.

    References
    ----------
    Liu et al. (2024), ICLR (tangent-kernel alignment, higher = lazier); Fort et al. (2020).
    """
    a = check_array(to_numpy(k0), "k0", ndim=2, dims="(n, n)")
    b = check_array(to_numpy(kt), "kt", ndim=2, dims="(n, n)")
    check_finite(a, "k0")
    check_finite(b, "kt")
    if a.shape != b.shape or a.shape[0] != a.shape[1]:
        raise ValueError(f"k0 and kt must be square matrices of the same shape; got {a.shape} and {b.shape}")
    a, _ = _unit_scale(a, "k0")
    b, _ = _unit_scale(b, "kt")
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


def representation_alignment(a0: Any, at: Any) -> float:
    """Alignment of the representation kernels ``K = A A^T`` of two activity matrices.

    ``A`` is (n_samples, n_units) (e.g. decision-step states of fixed trials); computed as
    ``||A_0^T A_T||_F^2 / (||A_0^T A_0||_F ||A_T^T A_T||_F)`` without forming the kernels.
    Invariant to rotations of the hidden units.
    """
    x, y = _samples_by_units(a0, "a0"), _samples_by_units(at, "at")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"a0 and at must have the same number of samples; got {x.shape[0]} and {y.shape[0]}")
    x, _ = _unit_scale(x, "a0")
    y, _ = _unit_scale(y, "at")
    cross = np.linalg.norm(x.T @ y) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def tangent_kernel(net: Any, x: Any, parameter: str = "weight_hh", head: int = 0,
                   chunk_size: int = 256) -> np.ndarray:
    """Empirical tangent kernel ``J J^T`` w.r.t. one parameter tensor.

    ``J[i] = d y_i / d theta`` for every output ``y[t, b, k]`` of readout ``head`` over all steps
    and trials of ``x`` (flattened in that order).

    Parameters
    ----------
    net : LeakyRNN
    x : tensor, array or TaskBatch (n_timesteps, batch, n_inputs)
    parameter : str
        Name of the parameter (Liu et al.: the recurrent weights ``"weight_hh"``).
    chunk_size : int
        Output rows differentiated at once (memory ~ chunk_size x parameter size).

    Returns
    -------
    ndarray (n_outputs, n_outputs), n_outputs = n_timesteps * batch * n_classes
    """
    params = dict(net.named_parameters())
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    head = check_scalar(head, "head", low=0, high=net.n_heads - 1, integer=True)
    if parameter not in params:
        raise ValueError(f"parameter must be one of {sorted(params)}; got {parameter!r}")
    theta = params[parameter]
    xt = net._check_inputs(x)
    was_training = net.training
    net.eval()
    states, _ = net(xt)
    y = net.readout(states, head).reshape(-1)
    rows = []
    eye = torch.eye(y.numel(), device=y.device, dtype=y.dtype)
    for start in range(0, y.numel(), chunk_size):
        basis = eye[start:start + chunk_size]
        (g,) = torch.autograd.grad(y, theta, grad_outputs=basis, is_grads_batched=True, retain_graph=True)
        rows.append(g.reshape(basis.shape[0], -1).detach())
    net.train(was_training)
    j = torch.cat(rows).double()
    return (j @ j.T).cpu().numpy()


def sign_similarity(a0: Any, at: Any) -> float:
    """Share of activity entries whose sign (positive vs not) is the same before and after training."""
    x, y = _samples_by_units(a0, "a0"), _samples_by_units(at, "at")
    if x.shape != y.shape:
        raise ValueError(f"a0 and at must have the same shape; got {x.shape} and {y.shape}")
    return float(np.mean((x > 0) == (y > 0)))


# ---------------------------------------------------------------------------- dynamics
def _constant_input(net: Any, inputs: Any) -> torch.Tensor:
    """A constant input vector ``(n_inputs,)`` (zeros when None)."""
    if inputs is None:
        return torch.zeros(net.n_inputs, device=net.device_, dtype=net.dtype_)
    u = check_array(to_numpy(inputs), "inputs", ndim=1, dims=f"({net.n_inputs},)")
    check_finite(u, "inputs")
    if u.shape != (net.n_inputs,):
        raise ValueError(f"inputs must have shape ({net.n_inputs},); got {u.shape}")
    return torch.as_tensor(u, device=net.device_, dtype=net.dtype_)


def find_fixed_points(net: Any, initial_states: Any, inputs: Any = None, n_iter: int = 2000,
                      lr: float = 1e-2, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (slow) points of a frozen network under constant input.

    Minimises ``q(h) = 0.5 ||F(h, x) - h||^2`` with Adam from a batch of initial states
    (Sussillo & Barak 2013; the optimiser of Yang's nn-brain).

    Parameters
    ----------
    net : LeakyRNN
    initial_states : array-like (n_points, n_units)
        Starting points, e.g. states sampled from trajectories.
    inputs : array-like (n_inputs,), optional
        Constant input (zeros by default).
    n_iter, lr : int, float
        Adam iterations and learning rate.
    tol : float
        Stop once every point has ``q < tol``.

    Returns
    -------
    points : ndarray (n_points, n_units)
    speed : ndarray (n_points,), final ``q`` per point

    References
    ----------
    Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
    high-dimensional recurrent neural networks. Neural Computation 25(3), 626-649.
    """
    h0 = check_array(initial_states, "initial_states", ndim=2, dims="(n_points, n_units)")
    check_finite(h0, "initial_states")
    if h0.shape[1] != net.n_units:
        raise ValueError(f"initial_states must have {net.n_units} columns; got {h0.shape[1]}")
    n_iter = check_positive_int(n_iter, "n_iter")
    lr = check_scalar(lr, "lr", low=0.0, high=1e6, low_inclusive=False)
    tol = check_scalar(tol, "tol", low=0.0)
    x = _constant_input(net, inputs)
    h = torch.tensor(h0, device=net.device_, dtype=net.dtype_, requires_grad=True)
    xb = x.expand(h.shape[0], -1)
    # Adam written out: torch.optim.Adam's first step imports the compiler stack (seconds on CPU).
    m = torch.zeros_like(h)
    v = torch.zeros_like(h)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    frozen = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            q0 = 0.5 * ((net.step(h, xb) - h) ** 2).sum(-1)
        if not bool(torch.isfinite(q0).all()):
            bad = int(torch.nonzero(~torch.isfinite(q0))[0, 0])
            raise ValueError(
                f"initial_states[{bad}] is too large for the network in {net.dtype_}: the speed "
                f"0.5 ||F(h) - h||^2 overflows (max |h| = {float(np.abs(h0).max()):.3g}); start from "
                f"states the network visits, e.g. recorded states")
        for it in range(1, n_iter + 1):
            q = 0.5 * ((net.step(h, xb) - h) ** 2).sum(-1)
            if bool((q < tol).all()):
                break
            (g,) = torch.autograd.grad(q.sum(), h)
            with torch.no_grad():
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                step = lr * (m / (1 - beta1**it)) / ((v / (1 - beta2**it)).sqrt() + eps)
                h.sub_(step)
        with torch.no_grad():
            q = 0.5 * ((net.step(h, xb) - h) ** 2).sum(-1)
    finally:
        for p, flag in zip(net.parameters(), frozen, strict=True):
            p.requires_grad_(flag)
    return to_numpy(h).copy(), to_numpy(q).copy()


def jacobian_eigenvalues(net: Any, state: Any, inputs: Any = None) -> np.ndarray:
    """Eigenvalues of the one-step Jacobian ``dF/dh`` at ``state`` (complex, shape (n_units,)).

    Moduli above 1 are unstable directions of the discrete-time map.
    """
    st = check_array(to_numpy(state), "state", ndim=1, dims=f"({net.n_units},)")
    check_finite(st, "state")
    if st.shape != (net.n_units,):
        raise ValueError(f"state must have shape ({net.n_units},); got {st.shape}")
    h = torch.as_tensor(st, device=net.device_, dtype=net.dtype_)
    x = _constant_input(net, inputs)
    jac = torch.autograd.functional.jacobian(lambda v: net.step(v, x), h)
    return np.linalg.eigvals(to_numpy(jac).astype(np.float64))
