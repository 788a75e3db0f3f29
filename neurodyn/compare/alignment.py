"""Representational alignment as a training signal.

:func:`alignment_loss` is a differentiable torch dissimilarity between a network's
representation and a target representation of the same conditions (a trained network's
states, or a brain region's responses), equal in value to the package's comparison functions:

- ``metric="cka"``: ``1 - linear_cka(states, target)`` (:func:`neurodyn.compare.linear_cka`,
  biased or debiased);
- ``metric="rdm_corr"``: ``1 - r``, ``r`` the Pearson correlation of the two RDMs
  (:func:`neurodyn.rsa.compute_rdm` with ``"correlation"`` or ``"sqeuclidean"`` distances,
  compared by :func:`neurodyn.rsa.compare_rdms` with ``"corr"``).

:func:`train_aligned` adds ``weight * alignment_loss`` to the task loss of
:func:`neurodyn.rnn.train_task` through its ``extra_loss`` hook ("Training the untrainable",
Subramaniam et al. 2024: a trained network's representation guides a network that does not
learn the task on its own).

References
----------
Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural network
representations revisited. ICML.

Kriegeskorte, N., Mur, M. & Bandettini, P. (2008). Representational similarity analysis.
Front. Syst. Neurosci. 2:4.

Subramaniam, V., Mayo, D., Conwell, C., Poggio, T., Katz, B., Cheung, B. & Barbu, A. (2024).
Training the untrainable: introducing inductive bias via representational alignment.
arXiv:2410.20035.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import check_array, check_in

__all__ = ["alignment_loss", "train_aligned"]

METRICS = ("cka", "rdm_corr")
RDM_METHODS = ("correlation", "sqeuclidean", "euclidean")


def _as_rep(x: Any, name: str, dtype: torch.dtype | None, device: Any) -> torch.Tensor:
    """A real, finite 2-D/3-D torch tensor (kept in the graph when it is one)."""
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor")
        t = x.to(dtype=dtype or (x.dtype if x.is_floating_point() else torch.float64), device=device)
    else:
        arr = check_array(x, name, ndim=(2, 3),
                          dims="(n_conditions, n_features) or (n_conditions, n_timepoints, n_features)")
        t = torch.as_tensor(np.asarray(arr), dtype=dtype or torch.float64, device=device)
    if t.ndim not in (2, 3):
        raise ValueError(f"{name} must be 2-D (n_conditions, n_features) or 3-D (n_conditions, "
                         f"n_timepoints, n_features); got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty; got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{name} must be finite; got NaN or Inf values")
    return t


def _batch(t: torch.Tensor) -> torch.Tensor:
    """``(n_times, n_conditions, n_features)``; a 2-D representation is one time point."""
    return t.unsqueeze(0) if t.ndim == 2 else t.transpose(0, 1)


def _rescale(t: torch.Tensor) -> torch.Tensor:
    """Divide each time point by its largest magnitude (a constant: every metric here is
    scale-invariant, so the value and the gradient are unchanged, and no product under/overflows)."""
    peak = t.detach().abs().amax(dim=(-2, -1), keepdim=True)
    return t / torch.where(peak > 0, peak, torch.ones_like(peak))


def _unit(v: torch.Tensor, name: str, what: str) -> torch.Tensor:
    """``v / ||v||`` over the last axis; refuses a zero vector (the metric would be undefined)."""
    norm = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    if bool((norm.detach() <= torch.finfo(v.dtype).tiny).any()):
        raise ValueError(f"{name} has {what}; the alignment is undefined")
    return v / norm


def _cka_batch(x: torch.Tensor, y: torch.Tensor, debiased: bool, x_name: str, y_name: str) -> torch.Tensor:
    n = x.shape[-2]
    grams = []
    for a, name in ((x, x_name), (y, y_name)):
        a = a - a.mean(dim=-2, keepdim=True)
        k = a @ a.transpose(-1, -2)
        if debiased:
            eye = torch.eye(n, dtype=k.dtype, device=k.device)
            k = k * (1 - eye)
            tot = k.sum(dim=(-2, -1), keepdim=True) / ((n - 1) * (n - 2))
            rows = k.sum(-1, keepdim=True) / (n - 2)
            k = (k - rows - rows.transpose(-1, -2) + tot) * (1 - eye)
        grams.append(_unit(k.flatten(-2), name, "no variance across conditions (a zero centered kernel)"))
    return (grams[0] * grams[1]).sum(-1)


def _rdm_batch(a: torch.Tensor, method: str, name: str) -> torch.Tensor:
    n, p = a.shape[-2], a.shape[-1]
    iu = torch.triu_indices(n, n, 1, device=a.device)
    if method == "correlation":
        z = _unit(a - a.mean(-1, keepdim=True), name,
                  "a condition whose pattern is constant across features (no correlation distance)")
        d = 1 - z @ z.transpose(-1, -2)
    else:
        sq = (a * a).sum(-1)
        d = (sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2 * a @ a.transpose(-1, -2)).clamp(min=0) / p
    return d[..., iu[0], iu[1]]


def alignment_loss(states: Any, target: Any, metric: str = "cka", *, debiased: bool = False,
                   rdm_method: str = "correlation") -> torch.Tensor:
    """Differentiable dissimilarity between a representation and a target one.

    Parameters
    ----------
    states : tensor or array-like, shape (n_conditions, n_features) or (n_conditions, n_timepoints, n_features)
        The trained representation (e.g. a network's states for ``n_conditions`` probe inputs);
        gradients flow through it. Its dtype (float64 for arrays) is the computation's.
    target : tensor or array-like, shape (n_conditions, n_target_features) or (n_conditions, n_timepoints, n_target_features)
        The representation to align to (treated as a constant). The feature counts may differ.
        With time-resolved inputs the metric is taken per time point and averaged; a 2-D
        input is compared with every time point of a 3-D one.
    metric : {"cka", "rdm_corr"}
        ``1 - linear CKA`` (equal to ``1 - neurodyn.compare.linear_cka``), or ``1 - r`` with
        ``r`` the Pearson correlation of the RDMs (equal to ``1 - compare_rdms(compute_rdm(states,
        rdm_method), compute_rdm(target, rdm_method), "corr")``).
    debiased : bool
        The debiased CKA estimator (needs at least 4 conditions).
    rdm_method : {"correlation", "sqeuclidean", "euclidean"}
        RDM distance for ``"rdm_corr"`` (``"euclidean"`` is :func:`~neurodyn.rsa.compute_rdm`'s
        alias of ``"sqeuclidean"``).

    Returns
    -------
    torch.Tensor
        A scalar in [0, 1] for biased CKA, [0, 2] for ``"rdm_corr"``; 0 means identical
        representational geometry.

    Raises
    ------
    ValueError
        Mismatched condition counts, too few conditions (2 for CKA, 4 debiased, 3 for
        ``"rdm_corr"``), NaN/Inf, mismatched time points, a representation without variance.
    """
    check_in(metric, "metric", METRICS)
    check_in(rdm_method, "rdm_method", RDM_METHODS)
    if not isinstance(debiased, (bool, np.bool_)):
        raise TypeError(f"debiased must be a bool; got {debiased!r}")
    x = _as_rep(states, "states", None, None)
    if not x.is_floating_point() or x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float64)
    y = _as_rep(target.detach() if isinstance(target, torch.Tensor) else target, "target", x.dtype,
                x.device)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"target must have the same number of conditions as states (axis 0); got "
                         f"states {tuple(x.shape)} and target {tuple(y.shape)}")
    n = x.shape[0]
    need = (4 if debiased else 2) if metric == "cka" else 3
    what = "debiased CKA" if (metric == "cka" and debiased) else ("CKA" if metric == "cka" else "an RDM correlation")
    if n < need:
        raise ValueError(f"target has {n} conditions; {what} needs at least {need}")
    xb, yb = _batch(x), _batch(y)
    if xb.shape[0] != yb.shape[0] and 1 not in (xb.shape[0], yb.shape[0]):
        raise ValueError(f"states and target must have the same number of time points (axis 1) or "
                         f"one of them be 2-D; got states {tuple(x.shape)} and target {tuple(y.shape)}")
    xb, yb = _rescale(xb), _rescale(yb)
    if metric == "cka":
        sim = _cka_batch(xb, yb, bool(debiased), "states", "target")
    else:
        rx = _rdm_batch(xb, rdm_method, "states")
        ry = _rdm_batch(yb, rdm_method, "target")
        rx = _unit(rx - rx.mean(-1, keepdim=True), "states", "a constant RDM")
        ry = _unit(ry - ry.mean(-1, keepdim=True), "target", "a constant RDM")
        sim = (rx * ry).sum(-1)
    return 1 - sim.mean()


def _student_representation(states: torch.Tensor, time_index: Any) -> torch.Tensor:
    """Trial-major representation of time-major ``states (T, K, H)``: ``(K, T, H)`` or ``(K, H)``."""
    if time_index is None:
        return states.transpose(0, 1)
    return states[time_index]


def train_aligned(net: Any, task: Any, target: Any, *, probe: Any, weight: float = 1.0,
                  metric: str = "cka", time_index: int | None = None, debiased: bool = False,
                  rdm_method: str = "correlation", n_steps: int = 1000, **train_kwargs: Any):
    """Train ``net`` on ``task`` with a representational-alignment term added to the loss.

    Every step minimises ``task loss + weight * alignment_loss(R(probe), target)``, where
    ``R(probe)`` is the network's representation of the ``n_conditions`` probe trials, through
    the ``extra_loss`` hook of :func:`neurodyn.rnn.train_task` (Subramaniam et al. 2024).

    Parameters
    ----------
    net : a :func:`neurodyn.rnn.make_rnn` network
        Trained in place.
    task : Task
        E.g. :class:`neurodyn.rnn.NParity`.
    target : array-like or Recording, shape (n_conditions, n_timepoints, n_features) or (n_conditions, n_features)
        The representation to align to, one row per probe trial (e.g. a trained teacher's
        ``teacher.record(probe).states``, or recorded responses to the same stimuli).
    probe : TaskBatch or tensor, shape (n_timesteps, n_conditions, n_inputs)
        The inputs whose representation is aligned (fixed for the whole training).
    weight : float
        Weight of the alignment term (``0``: plain task training, the same steps).
    metric, debiased, rdm_method
        As in :func:`alignment_loss`.
    time_index : int, optional
        Align the states at this time step only (default: every time step, time-resolved
        ``target`` of ``n_timesteps`` points, or a 2-D ``target`` compared with each step).
    n_steps : int
        Training steps.
    **train_kwargs
        Passed to :func:`neurodyn.rnn.train_task` (``batch_size``, ``optimizer``, ``lr``,
        ``clip``, ``random_state``...).

    Returns
    -------
    TrainingHistory
        Of :func:`neurodyn.rnn.train_task` (its ``loss_curve_`` includes the alignment term),
        with ``alignment_curve_`` (the alignment loss per step, numpy) added.
    """
    from ..rnn import train_task
    from ..rnn.tasks import TaskBatch

    if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, (int, float, np.integer, np.floating)) \
            or not np.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a finite number >= 0; got {weight!r}")
    if "extra_loss" in train_kwargs:
        raise TypeError("train_aligned sets extra_loss itself; do not pass it")
    if time_index is not None and (isinstance(time_index, bool) or not isinstance(time_index, (int, np.integer))):
        raise TypeError(f"time_index must be an int or None; got {time_index!r}")
    probe_x = probe.inputs if isinstance(probe, TaskBatch) else probe
    probe_x = net._check_inputs(probe_x)
    if time_index is not None and not -probe_x.shape[0] <= time_index < probe_x.shape[0]:
        raise ValueError(f"time_index must index the probe's {probe_x.shape[0]} time steps; got {time_index}")
    tgt = target.detach() if isinstance(target, torch.Tensor) else np.asarray(target)
    tgt = _as_rep(tgt, "target", net.dtype_, net.device_)
    with torch.no_grad():  # errors (mismatched conditions or time points, NaN) before training
        states, _ = net(probe_x)
        rep = _student_representation(states, time_index)
        if rep.ndim == 3 and tgt.ndim == 3 and rep.shape[1] != tgt.shape[1]:
            raise ValueError(f"target must have one time point per probe step ({rep.shape[1]}); got "
                             f"target of shape {tuple(tgt.shape)}")
        alignment_loss(rep, tgt, metric, debiased=debiased, rdm_method=rdm_method)
    curve: list[torch.Tensor] = []

    def extra(model, batch, _states):
        s, _ = model(probe_x)
        value = alignment_loss(_student_representation(s, time_index), tgt, metric, debiased=debiased,
                               rdm_method=rdm_method)
        curve.append(value.detach())
        return weight * value

    hist = train_task(net, task, n_steps=n_steps, extra_loss=extra if weight > 0 else None, **train_kwargs)
    hist.alignment_curve_ = torch.stack(curve).cpu().numpy() if curve else np.zeros(0)
    return hist
