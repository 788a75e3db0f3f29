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

__all__ = ["alignment_loss"]

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
