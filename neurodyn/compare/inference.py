"""Bootstrap confidence intervals and permutation tests for comparison scores.

Any comparison metric ``metric(X, Y) -> float or array`` can be bootstrapped
over conditions (rows shared by X and Y), over subjects (Y given per subject
and averaged over the resampled subjects), or both; and tested against the
null of no correspondence between the conditions of X and Y by permuting
the rows of Y. For CKA the resampling is batched: kernel matrices are formed
once and every bootstrap or permutation sample is a re-indexing of them, so
thousands of samples cost a few batched matrix products.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .._parallel import check_n_jobs, n_workers, parallel_map
from .._torch import check_random_state
from .._validation import check_array, check_finite, check_in, check_positive_int, check_scalar
from ._inputs import as_scaled_batch, resolve
from .cka import _linear_gram, _normalised_flat, _rbf_gram, _transform_gram

__all__ = ["bootstrap_metric", "permutation_test", "FAST_METRICS"]

#: metric names with a batched resampling path
FAST_METRICS = ("linear_cka", "rbf_cka", "debiased_linear_cka", "debiased_rbf_cka")


def _as_array(A: Any, name: str) -> Any:
    """A real, finite, non-empty array (or tensor) with a leading condition axis."""
    if isinstance(A, torch.Tensor):
        if A.is_complex():
            raise TypeError(f"{name} must be real-valued; got a complex tensor")
        shape = tuple(A.shape)
    else:
        A = check_array(A, name, dims="(n_conditions, ...)")
        check_finite(A, name)
        shape = A.shape
    if len(shape) < 1:
        raise ValueError(f"{name} must be an array with conditions on its first axis "
                         f"(n_conditions, ...); got a scalar")
    if 0 in shape:
        raise ValueError(f"{name} is empty; got shape {shape}")
    return A


def _check_confidence(confidence: float) -> float:
    return check_scalar(confidence, "confidence", low=0.0, high=1.0, low_inclusive=False,
                        high_inclusive=False)


def _fast_grams(metric: str, X: Any, Y: Any, device: Any, dtype: Any):
    dev, dt = resolve(device, dtype)
    debiased = metric.startswith("debiased")
    m = 4 if debiased else 2
    Xb, xt, _, _ = as_scaled_batch(X, "X", dev, dt, min_conditions=m, what="CKA")
    Yb, yt, _, _ = as_scaled_batch(Y, "Y", dev, dt, min_conditions=m, what="CKA")
    if xt or yt:
        raise ValueError("the batched CKA path takes 2-D inputs (n_conditions, n_features); "
                         "pass a callable metric for time-resolved data")
    if Xb.shape[1] != Yb.shape[1]:
        raise ValueError(f"X and Y must have the same number of conditions (rows); got "
                         f"{Xb.shape[1]} and {Yb.shape[1]}")
    if "rbf" in metric:
        # the bandwidth is set once from all conditions and kept for every resample
        Kx, Ky = _rbf_gram(Xb, None, 1.0)[0], _rbf_gram(Yb, None, 1.0)[0]
    else:
        Kx, Ky = _linear_gram(Xb)[0], _linear_gram(Yb)[0]
    return Kx, Ky, debiased


def _cka_of_indexed(Kx: torch.Tensor, Ky: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor,
                    debiased: bool) -> torch.Tensor:
    """CKA for a batch of row/column re-indexings of two kernel matrices."""
    n = Kx.shape[0]
    chunk = max(1, int(2e7 // (n * n)))
    out = []
    for start in range(0, ix.shape[0], chunk):
        a, b = ix[start:start + chunk], iy[start:start + chunk]
        Ka = Kx[a[:, :, None], a[:, None, :]]
        Kb = Ky[b[:, :, None], b[:, None, :]]
        Fa = _normalised_flat(_transform_gram(Ka, debiased), "X (a resample)")
        Fb = _normalised_flat(_transform_gram(Kb, debiased), "Y (a resample)")
        out.append((Fa * Fb).sum(-1))
    return torch.cat(out)


def _evaluate(metric: str | Callable, X: Any, Y: Any, device: Any, dtype: Any) -> Any:
    if callable(metric):
        return metric(X, Y)
    Kx, Ky, debiased = _fast_grams(metric, X, Y, device, dtype)
    n = Kx.shape[0]
    idx = torch.arange(n, device=Kx.device).unsqueeze(0)
    return float(_cka_of_indexed(Kx, Ky, idx, idx, debiased)[0])


def _check_metric(metric: Any) -> None:
    if isinstance(metric, str):
        check_in(metric, "metric", FAST_METRICS)
    elif not callable(metric):
        raise TypeError(f"metric must be a callable metric(X, Y) or one of {list(FAST_METRICS)}; "
                        f"got {type(metric).__name__}")


def _index_blocks(n_samples: int, n_jobs: int | None) -> list[slice]:
    """Consecutive blocks of sample indices: one sample per block serially, else about
    eight blocks per worker (a sample's value does not depend on its block)."""
    workers = n_workers(n_jobs)
    step = 1 if workers <= 1 else max(1, -(-n_samples // (8 * workers)))
    return [slice(a, min(a + step, n_samples)) for a in range(0, n_samples, step)]


def _bootstrap_block(block: tuple, metric: Callable, X: Any, Y: Any, device: Any, dtype: Any) -> list:
    """Values of ``metric`` on a block of resamples ``(cond_idx, subj_idx or None)``."""
    cond_idx, subj_idx = block
    vals = []
    for b in range(cond_idx.shape[0]):
        ci = cond_idx[b]
        Yb = Y[subj_idx[b]].mean(0) if subj_idx is not None else Y
        vals.append(np.asarray(_evaluate(metric, X[ci], Yb[ci], device, dtype), dtype=float))
    return vals


def _permutation_block(perms: np.ndarray, metric: Callable, X: Any, Y: Any) -> list:
    """Values of ``metric(X, Y[p])`` for a block of permutations ``p``."""
    return [np.asarray(metric(X, Y[p]), dtype=float) for p in perms]


def bootstrap_interval(estimate: Any, samples: Any, confidence: float = 0.95):
    return _interval(estimate, samples, confidence, allow_nan=False)


def _interval(estimate: Any, samples: Any, confidence: float, allow_nan: bool):
    """Normal-approximation interval ``estimate ± z · SE`` from bootstrap samples.

    Resampling conditions with replacement shifts comparison scores: a
    duplicated condition adds a zero-distance pair and repeated rows, so CKA,
    shape and RDM scores of the resamples are biased relative to the score on
    the original conditions, and a percentile interval of the samples can
    exclude the estimate itself. The bootstrap standard deviation is much less
    affected, so the interval is centred on the estimate and only its width
    comes from the samples (as rsatoolbox and Schuett et al. 2023 do).

    Parameters
    ----------
    estimate : float or array-like
        The metric on all data.
    samples : array-like (n_samples,) + estimate's shape
        Bootstrap samples (finite).
    confidence : float in (0, 1)

    Returns
    -------
    low, high, se : arrays (or floats) with the shape of ``estimate``.
    """
    from scipy.stats import norm

    confidence = _check_confidence(confidence)
    est = check_array(estimate, "estimate")
    check_finite(est, "estimate")
    samples = check_array(samples, "samples", dims="(n_samples, ...)")
    if samples.ndim < 1 or samples.shape[1:] != est.shape:
        raise ValueError(f"samples must have shape (n_samples,) + the estimate's shape "
                         f"{est.shape}; got {samples.shape}")
    if np.isinf(samples).any():
        raise ValueError(f"samples must not contain Inf; got {int(np.isinf(samples).sum())} Inf values")
    if not allow_nan:
        check_finite(samples, "samples")
    n_ok = np.sum(~np.isnan(samples), axis=0)
    if np.any(n_ok < 2):
        raise ValueError("samples needs at least 2 non-NaN bootstrap samples per value to estimate "
                         f"a standard error; got {int(np.min(n_ok))}")
    # the standard deviation of samples / max|samples| (no overflow of the squares)
    peak = np.nanmax(np.abs(samples), axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    se = peak * np.nanstd(samples / peak, axis=0, ddof=1)
    z = norm.ppf(0.5 + confidence / 2.0)
    return est - z * se, est + z * se, se


def bootstrap_metric(metric: str | Callable, X: Any, Y: Any, *, n_bootstrap: int = 1000,
                     resample: str = "conditions", confidence: float = 0.95,
                     random_state: Any = None, device: Any = "auto", dtype: Any = None,
                     n_jobs: int | None = None) -> dict:
    """Bootstrap distribution and confidence interval of a comparison score.

    Parameters
    ----------
    metric : callable or str
        ``metric(X, Y)`` returning a float or an array (e.g. per time point), or
        one of ``"linear_cka"``, ``"rbf_cka"``, ``"debiased_linear_cka"``,
        ``"debiased_rbf_cka"`` for the batched path (RBF bandwidth fixed from
        all conditions).
    X : array-like (n_conditions, ...)
        E.g. model activity.
    Y : array-like (n_conditions, ...) or, for subject resampling,
        (n_subjects, n_conditions, ...)
        E.g. brain activity.
    n_bootstrap : int
    resample : {"conditions", "subjects", "both"}
        What is drawn with replacement. Conditions are drawn jointly for X and
        Y (duplicated conditions appear twice); subjects are drawn and their Y
        averaged, so the interval reflects inter-subject variability.
    confidence : float in (0, 1)
    random_state : None, int or Generator
    device, dtype :
        For the batched CKA path.
    n_jobs : int or None
        Workers scoring the resamples of a callable metric or of subject
        resampling (joblib semantics, any ``joblib.parallel_config`` backend;
        see :func:`neurodyn._parallel.parallel_map`). Every resample is drawn
        here, in the caller, before the samples are scored in blocks, so the
        result is identical for every ``n_jobs`` and backend. The batched CKA
        path of conditions resampling is one batched computation and ignores it.

    Returns
    -------
    dict
        ``"estimate"`` (the metric on all data; with subjects, on the subject
        mean), ``"samples"`` (n_bootstrap, ...), ``"se"`` (standard deviation
        of the samples), ``"ci_low"``, ``"ci_high"`` (the interval of
        :func:`bootstrap_interval`, centred on the estimate; for a named CKA
        metric clipped to its range, [0, 1] or [-1, 1] debiased).

    References
    ----------
    Efron & Tibshirani (1993). An Introduction to the Bootstrap. Schuett et al.
    (2023). Statistical inference on representational geometries. eLife 12:e82566.
    """
    _check_metric(metric)
    n_jobs = check_n_jobs(n_jobs)
    n_bootstrap = check_positive_int(n_bootstrap, "n_bootstrap")
    check_in(resample, "resample", ("conditions", "subjects", "both"))
    confidence = _check_confidence(confidence)
    rng = check_random_state(random_state)
    X = _as_array(X, "X")
    Y = _as_array(Y, "Y")
    by_subject = resample in ("subjects", "both")
    if by_subject:
        if Y.ndim < 3:
            raise ValueError("Y must be (n_subjects, n_conditions, ...) to resample subjects; "
                             f"got shape {tuple(Y.shape)}")
        n_subj = Y.shape[0]
        if n_subj < 2:
            raise ValueError(f"Y needs at least 2 subjects to resample subjects; got {n_subj}")
        n_cond = Y.shape[1]
    else:
        n_cond = Y.shape[0]
    if X.shape[0] != n_cond:
        raise ValueError(f"X and Y must have the same number of conditions; got {X.shape[0]} and {n_cond}")
    Y_all = Y.mean(0) if by_subject else Y
    estimate = _evaluate(metric, X, Y_all, device, dtype)

    cond_idx = (rng.integers(0, n_cond, size=(n_bootstrap, n_cond)) if resample != "subjects"
                else np.tile(np.arange(n_cond), (n_bootstrap, 1)))
    subj_idx = rng.integers(0, Y.shape[0], size=(n_bootstrap, Y.shape[0])) if by_subject else None

    if isinstance(metric, str) and not by_subject:
        Kx, Ky, debiased = _fast_grams(metric, X, Y, device, dtype)
        idx = torch.as_tensor(cond_idx, device=Kx.device)
        samples = _cka_of_indexed(Kx, Ky, idx, idx, debiased).cpu().numpy()
    else:
        blocks = [(cond_idx[s], None if subj_idx is None else subj_idx[s])
                  for s in _index_blocks(n_bootstrap, n_jobs)]
        scored = parallel_map(_bootstrap_block, blocks, args=(metric, X, Y, device, dtype),
                              n_jobs=n_jobs, desc="bootstrap block")
        samples = np.stack([v for block in scored for v in block])
    # a callable metric may return NaN for a degenerate resample: those samples are left out
    low, high, se = _interval(estimate, samples, confidence, allow_nan=True)
    if isinstance(metric, str):
        # the interval of a named CKA stays inside the metric's range
        bounds = (-1.0, 1.0) if metric.startswith("debiased") else (0.0, 1.0)
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    scalar = np.ndim(estimate) == 0
    return {"estimate": float(estimate) if scalar else np.asarray(estimate),
            "samples": samples,
            "se": float(se) if scalar else se,
            "ci_low": float(low) if scalar else low,
            "ci_high": float(high) if scalar else high,
            "confidence": confidence}


def permutation_test(metric: str | Callable, X: Any, Y: Any, *, n_permutations: int = 1000,
                     alternative: str = "greater", random_state: Any = None,
                     device: Any = "auto", dtype: Any = None, n_jobs: int | None = None) -> dict:
    """Permutation test of the correspondence between the conditions of X and Y.

    The rows of ``Y`` are permuted (breaking the condition labels) and the
    metric recomputed; the p-value is ``(1 + #{null >= observed}) / (1 + n_permutations)``
    for ``alternative="greater"`` (similarities) or with ``<=`` for ``"less"``
    (distances).

    Parameters
    ----------
    metric : callable or str
        As in :func:`bootstrap_metric`.
    X, Y : array-like (n_conditions, ...)
    n_permutations : int
    alternative : {"greater", "less"}
    random_state : None, int or Generator
    device, dtype :
    n_jobs : int or None
        Workers scoring the permutations of a callable metric (joblib semantics,
        any ``joblib.parallel_config`` backend). The permutations are drawn here,
        in the caller, so the result is identical for every ``n_jobs`` and
        backend; the batched CKA path is one batched computation and ignores it.

    Returns
    -------
    dict
        ``"statistic"``, ``"null"`` (n_permutations, ...), ``"p_value"``.

    References
    ----------
    Phipson & Smyth (2010). Permutation p-values should never be zero. Stat.
    Appl. Genet. Mol. Biol. 9:39. Kriegeskorte, Mur & Bandettini (2008).
    Representational similarity analysis. Front. Syst. Neurosci. 2:4.
    """
    _check_metric(metric)
    n_jobs = check_n_jobs(n_jobs)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    check_in(alternative, "alternative", ("greater", "less"))
    rng = check_random_state(random_state)
    X = _as_array(X, "X")
    Y = _as_array(Y, "Y")
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(f"X and Y must have the same number of conditions (rows); got {n} and {Y.shape[0]}")
    if n < 3:
        raise ValueError(f"a permutation test needs at least 3 conditions; got {n}")
    observed = _evaluate(metric, X, Y, device, dtype)
    perms = np.stack([rng.permutation(n) for _ in range(n_permutations)])
    if isinstance(metric, str):
        Kx, Ky, debiased = _fast_grams(metric, X, Y, device, dtype)
        ident = torch.arange(n, device=Kx.device).expand(n_permutations, n)
        null = _cka_of_indexed(Kx, Ky, ident, torch.as_tensor(perms, device=Kx.device),
                               debiased).cpu().numpy()
    else:
        scored = parallel_map(_permutation_block, [perms[s] for s in _index_blocks(n_permutations, n_jobs)],
                              args=(metric, X, Y), n_jobs=n_jobs, desc="permutation block")
        null = np.stack([v for block in scored for v in block])
    obs = np.asarray(observed, dtype=float)
    # a small tolerance so that ties with the observed value count as "as extreme"
    tol = 1e-12 * np.maximum(1.0, np.abs(obs))
    extreme = null >= obs - tol if alternative == "greater" else null <= obs + tol
    p = (1.0 + extreme.sum(axis=0)) / (1.0 + n_permutations)
    scalar = np.ndim(observed) == 0
    return {"statistic": float(observed) if scalar else obs, "null": null,
            "p_value": float(p) if scalar else p}
