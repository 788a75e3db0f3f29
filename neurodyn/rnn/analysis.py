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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._torch import check_random_state, make_generator, random_integers, random_normal, to_numpy
from .._validation import check_array, check_finite
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


# ---------------------------------------------------------------------------- ablation
def ablate_units(net: Any, units: Any, heads: Sequence[int] | None = None) -> Any:
    """Copy of ``net`` with ``units`` silenced as in the paper.

    Zeroes row and column i of W, the input weights of i and column i of the readout of
    ``heads`` (all heads by default). The original network is not changed.
    """
    units = np.atleast_1d(np.asarray(units, dtype=int))
    if units.size and (units.min() < 0 or units.max() >= net.n_units):
        raise ValueError(f"units must be indices in [0, {net.n_units - 1}]; got {units.tolist()}")
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
    heads = list(range(len(task.ns))) if heads is None else list(heads)
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
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    kw = dict(heads=heads, n_timesteps=n_timesteps, warmup=warmup, n_trials=n_trials, random_state=seed)
    base = stream_accuracy(net, task, **kw)
    if units is not None:
        sets = [np.atleast_1d(np.asarray(units, dtype=int))]
    else:
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be in (0, 1); got {fraction}")
        k = max(1, int(round(fraction * net.n_units)))
        sets = [rng.choice(net.n_units, size=k, replace=False) for _ in range(n_repeats)]
    acc = np.array([stream_accuracy(ablate_units(net, s, heads), task, **kw) for s in sets])
    return {"baseline": base, "accuracy": acc, "drop": base - acc.mean(0), "units": sets}


def single_unit_ablation(net: Any, task: Any, units: Any, heads: Sequence[int] | None = None,
                         **kwargs: Any) -> np.ndarray:
    """Accuracy with each unit of ``units`` silenced alone: ``(len(units), len(task.ns))``.

    The paper ablates the 20 units of smallest and of largest time constant this way.
    """
    units = np.atleast_1d(np.asarray(units, dtype=int))
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
    """
    if target not in ("weights", "tau"):
        raise ValueError(f"target must be 'weights' or 'tau'; got {target!r}")
    eps = np.concatenate([[0.0], np.geomspace(1e-2, 10, 10)]) if epsilons is None else np.asarray(epsilons, float)
    gen = make_generator(random_state)
    kw = dict(heads=heads, n_timesteps=n_timesteps, warmup=warmup, n_trials=n_trials)
    stream_seed = int(random_integers(0, 2**31 - 1, (1,), gen).item())
    base = stream_accuracy(net, task, random_state=stream_seed, **kw)
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
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (acc - 0.5) / (base - 0.5)
    return {"epsilons": eps, "accuracy": acc, "relative": rel, "baseline": base}


def accuracy_per_n(net: Any, ns: Sequence[int], heads: Sequence[int], task: Callable[..., Task] = NParity,
                   n_batches: int = 10, batch_size: int = 256, random_state: Any = None) -> np.ndarray:
    """Accuracy on each N of ``ns`` read out by ``heads`` (retention of earlier N).

    Each N is scored on its own task (sequence length drawn for that N).
    """
    from .training import evaluate

    if len(ns) != len(heads):
        raise ValueError(f"ns and heads must have the same length; got {len(ns)} and {len(heads)}")
    gen = make_generator(random_state)
    return np.array([evaluate(net, task(int(n), device=net.device_), [int(h)], n_batches, batch_size, gen)[0]
                     for n, h in zip(ns, heads, strict=True)])


# ---------------------------------------------------------------------------- geometry
def _samples_by_units(x: Any, name: str = "x") -> np.ndarray:
    if hasattr(x, "states"):
        x = x.states
    arr = check_array(np.asarray(x), name, ndim=(2, 3),
                      dims="(n_samples, n_units) or (n_trials, n_timepoints, n_units)")
    check_finite(arr, name)
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
    raw = np.asarray(x.states if hasattr(x, "states") else x)
    a = _samples_by_units(raw)
    a = a - a.mean(0)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    var = s**2
    k = vt.shape[0] if n_components is None else int(n_components)
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    scores = (a @ vt[:k].T).reshape(*raw.shape[:-1], k)
    return scores, vt[:k], ratio[:k]


def participation_ratio(x: Any) -> float:
    """``(sum lambda)^2 / sum lambda^2`` of the activity covariance eigenvalues."""
    a = _samples_by_units(x)
    lam = np.linalg.eigvalsh(np.cov(a, rowvar=False))
    lam = np.clip(lam, 0, None)
    return float(lam.sum() ** 2 / (lam**2).sum())


def variance_dimension(x: Any, threshold: float = 0.9) -> int:
    """Number of principal components needed to explain more than ``threshold`` of the variance."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1); got {threshold}")
    _, _, ratio = trajectory_pca(x)
    return int(np.searchsorted(np.cumsum(ratio), threshold, side="right") + 1)


# ---------------------------------------------------------------------------- rich / lazy
def weight_change(w0: Any, wt: Any, relative: bool = False) -> float:
    """``||W_T - W_0||_F`` (divided by ``||W_0||_F`` when ``relative``)."""
    a, b = np.asarray(to_numpy(w0), np.float64), np.asarray(to_numpy(wt), np.float64)
    if a.shape != b.shape:
        raise ValueError(f"w0 and wt must have the same shape; got {a.shape} and {b.shape}")
    d = float(np.linalg.norm(b - a))
    return d / float(np.linalg.norm(a)) if relative else d


def kernel_alignment(k0: Any, kt: Any) -> float:
    """``<K_0, K_T>_F / (||K_0||_F ||K_T||_F)`` of two kernel (Gram) matrices.

    References
    ----------
    Liu et al. (2024), ICLR (tangent-kernel alignment, higher = lazier); Fort et al. (2020).
    """
    a, b = np.asarray(to_numpy(k0), np.float64), np.asarray(to_numpy(kt), np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"k0 and kt must be square matrices of the same shape; got {a.shape} and {b.shape}")
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
    h0 = check_array(np.asarray(initial_states), "initial_states", ndim=2, dims="(n_points, n_units)")
    check_finite(h0, "initial_states")
    if h0.shape[1] != net.n_units:
        raise ValueError(f"initial_states must have {net.n_units} columns; got {h0.shape[1]}")
    x = torch.zeros(net.n_inputs, device=net.device_, dtype=net.dtype_) if inputs is None else \
        torch.as_tensor(np.asarray(inputs, dtype=np.float64), device=net.device_, dtype=net.dtype_)
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
    h = torch.as_tensor(np.asarray(state, dtype=np.float64), device=net.device_, dtype=net.dtype_)
    if h.shape != (net.n_units,):
        raise ValueError(f"state must have shape ({net.n_units},); got {tuple(h.shape)}")
    x = torch.zeros(net.n_inputs, device=net.device_, dtype=net.dtype_) if inputs is None else \
        torch.as_tensor(np.asarray(inputs, dtype=np.float64), device=net.device_, dtype=net.dtype_)
    jac = torch.autograd.functional.jacobian(lambda v: net.step(v, x), h)
    return np.linalg.eigvals(to_numpy(jac).astype(np.float64))
