"""Inference on model-RDM comparisons: bootstrap over subjects and conditions,
analytic SEM over subjects, leave-one-subject-out noise ceiling, pairwise tests.

Conventions follow rsatoolbox (Schütt et al. 2023) so results can be compared:
a bootstrap sample draws data RDMs (subjects) and conditions with replacement;
conditions are re-indexed in sorted order and the self-pairs of a duplicated
condition become NaN (they are not dissimilarities), masked jointly in every
comparison of that sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .._parallel import check_n_jobs, n_workers, parallel_map
from .._torch import check_random_state, numpy_blas_single_thread
from .._validation import check_allocation, check_array, check_in, check_labels, check_positive_int
from ._checks import RDMForm, as_rdm_vectors, check_bool, normalise_rows, restore_form
from .compare import COMPARE_METHODS, compare_rdms
from .rdm import n_conditions_from_pairs

__all__ = ["ModelEvaluation", "bootstrap_indices", "subsample_patterns", "pool_rdms",
           "noise_ceiling", "evaluate_fixed", "evaluate_models"]


def bootstrap_indices(n_rdms: int, n_conditions: int, n_bootstrap: int, kind: str = "both",
                      random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Resampling indices for ``n_bootstrap`` samples.

    Parameters
    ----------
    kind : {"both", "rdm", "pattern"}
        Resample data RDMs (subjects), conditions, or both; what is not resampled
        keeps the identity order.

    Returns
    -------
    rdm_idx : ndarray (n_bootstrap, n_rdms)
    pattern_idx : ndarray (n_bootstrap, n_conditions), sorted within each sample
    """
    check_in(kind, "kind", ("both", "rdm", "pattern"))
    n_rdms = check_positive_int(n_rdms, "n_rdms")
    n_conditions = check_positive_int(n_conditions, "n_conditions", minimum=2)
    n_bootstrap = check_positive_int(n_bootstrap, "n_bootstrap")
    check_allocation(float(n_bootstrap) * (n_rdms + n_conditions), "n_bootstrap", what="resampling indices")
    rng = check_random_state(random_state)
    rdm_idx = (rng.integers(0, n_rdms, (n_bootstrap, n_rdms)) if kind in ("both", "rdm")
               else np.tile(np.arange(n_rdms), (n_bootstrap, 1)))
    pattern_idx = (np.sort(rng.integers(0, n_conditions, (n_bootstrap, n_conditions)), axis=1)
                   if kind in ("both", "pattern") else np.tile(np.arange(n_conditions), (n_bootstrap, 1)))
    return rdm_idx, pattern_idx


def subsample_patterns(rdms: Any, pattern_idx: Any) -> np.ndarray:
    """RDM vectors re-indexed by (possibly repeated) conditions.

    The result is the upper triangle of ``D[pattern_idx][:, pattern_idx]``; pairs
    of two copies of the same condition are NaN.

    Parameters
    ----------
    rdms : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
    pattern_idx : array-like of int, shape (n_selected,)

    Returns
    -------
    numpy.ndarray, shape (n_rdms, n_selected (n_selected - 1) / 2) (1-D for 1-D input)
    """
    v, form = as_rdm_vectors(rdms, "rdms")
    k = n_conditions_from_pairs(v.shape[1])
    idx = _check_index(pattern_idx, "pattern_idx", k)
    if idx.ndim != 1 or idx.size < 2:
        raise ValueError(f"pattern_idx must be 1-D with at least 2 entries; got shape {idx.shape}")
    iu = np.triu_indices(k, 1)
    lookup = np.full((k, k), -1, dtype=np.int64)
    lookup[iu] = np.arange(iu[0].size)
    lookup[iu[1], iu[0]] = lookup[iu]
    ju = np.triu_indices(idx.size, 1)
    pos = lookup[idx[ju[0]], idx[ju[1]]]
    out = v[:, np.where(pos < 0, 0, pos)]
    out[:, pos < 0] = np.nan
    return restore_form(out, form)


def _check_index(idx: Any, name: str, upper: int, what: str = "conditions") -> np.ndarray:
    """Integer indices in ``[0, upper)`` (integral floats accepted)."""
    arr = check_array(idx, name, ndim=None, dtype=None)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must hold integer indices; got non-integer values")
        if arr.min() < 0 or arr.max() >= upper:
            raise ValueError(f"{name} must index {what} in [0, {upper}); got range [{arr.min():g}, {arr.max():g}]")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer indices; got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= upper:
        raise ValueError(f"{name} must index {what} in [0, {upper}); got range [{arr.min()}, {arr.max()}]")
    return arr


def _pool_terms(x: np.ndarray, method: str) -> np.ndarray:
    """Per-RDM terms whose average is the pooled RDM for ``method`` (NaN-free input).

    An all-zero RDM (cosine) or a constant one (corr) has no direction and contributes 0.
    """
    if method in ("cosine", "cosine_cov"):
        x = normalise_rows(x)
        rms = np.sqrt(np.mean(x**2, axis=1, keepdims=True))
        return np.divide(x, rms, out=np.zeros_like(x), where=rms > 0)
    if method in ("corr", "corr_cov"):
        x = normalise_rows(x - x.mean(1, keepdims=True))
        sd = x.std(1, keepdims=True)
        return np.divide(x, sd, out=np.zeros_like(x), where=sd > 0)
    return stats.rankdata(x, axis=1)


def _finish_pool(pooled: np.ndarray, method: str) -> np.ndarray:
    if method in ("corr", "corr_cov"):
        return pooled - pooled.min(-1, keepdims=True) + 0.01
    return pooled


def pool_rdms(rdms: Any, method: str = "cosine") -> np.ndarray:
    """The average data RDM that suits ``method`` (for the upper noise ceiling).

    cosine and cosine_cov: RDMs scaled to unit root-mean-square then averaged;
    corr and corr_cov: z-scored then averaged (shifted to a positive minimum);
    spearman, rho-a, tau-a, tau-b: average ranks. NaN positions must be shared
    by all RDMs and stay NaN; NaN in some RDMs only is refused.
    """
    check_in(method, "method", COMPARE_METHODS)
    v, form = as_rdm_vectors(rdms, "rdms")
    nan = np.isnan(v)
    keep = ~nan.any(0)
    partial = nan.any(0) & ~nan.all(0)
    if partial.any():
        j = int(np.flatnonzero(partial)[0])
        i = int(np.flatnonzero(nan[:, j])[0])
        raise ValueError(
            f"rdms must have their missing (NaN) entries at the same positions in every RDM to be "
            f"pooled; entry {j} is NaN in RDM {i} but not in all {v.shape[0]} RDMs "
            f"({int(partial.sum())} such entries)")
    if keep.sum() < 2:
        raise ValueError(f"rdms need at least 2 entries that are not NaN in every RDM; got {int(keep.sum())}")
    out = np.full(v.shape[1], np.nan)
    if keep.any():
        out[keep] = _finish_pool(_pool_terms(v[:, keep], method).mean(0), method)
    return restore_form(out[None], RDMForm(square=form.square, single=True))


def noise_ceiling(rdms: Any, method: str = "cosine", groups: Any = None) -> tuple[float, float]:
    """Leave-one-subject-out noise ceiling of a set of data RDMs.

    Lower bound: mean over subjects of ``compare(pool(others), subject)``; upper
    bound: mean of ``compare(pool(all), subject)``. All leave-one-out pools are
    formed at once from the pooled sum.

    Parameters
    ----------
    rdms : array-like (n_rdms, n_pairs)
    method : str
    groups : array-like (n_rdms,), optional
        Subject identity of each row. The rows of one group (e.g. the sessions of
        a subject, or copies of a subject drawn twice by a bootstrap) are left out
        together; every row of the held-out group is compared with the pool of the
        other groups' rows and these values are averaged within the group, then
        across groups (rsatoolbox's ``boot_noise_ceiling(rdm_descriptor=...)``).

    Returns
    -------
    lower, upper : float

    References
    ----------
    Nili, H. et al. (2014). A toolbox for representational similarity analysis.
    PLoS Comput. Biol. 10:e1003553.
    """
    check_in(method, "method", COMPARE_METHODS)
    v, _ = as_rdm_vectors(rdms, "rdms")
    n = v.shape[0]
    g = np.arange(n) if groups is None else check_labels(groups, "groups", n_samples=n)
    uniq, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if uniq.size < 2:
        raise ValueError(f"noise_ceiling needs RDMs of at least 2 subjects; got {uniq.size}")
    keep = ~np.isnan(v).any(0)
    if keep.sum() < 2:
        raise ValueError(f"rdms need at least 2 entries that are not NaN in every RDM; got {int(keep.sum())}")
    terms = _pool_terms(v[:, keep], method)
    total = terms.sum(0)
    upper_pool = np.full(v.shape[1], np.nan)
    upper_pool[keep] = _finish_pool(total / n, method)
    group_sum = np.zeros((uniq.size, terms.shape[1]))
    np.add.at(group_sum, inverse, terms)
    loo = np.full((uniq.size, v.shape[1]), np.nan)
    loo[:, keep] = _finish_pool((total[None] - group_sum) / (n - counts)[:, None], method)
    upper_rows = compare_rdms(upper_pool, v, method, device="cpu")[0]
    if method in ("tau-a", "tau-b", "kendall"):  # one count per row and its own pool only
        lower_rows = np.empty(n)
        for i in range(uniq.size):
            rows = np.flatnonzero(inverse == i)
            lower_rows[rows] = compare_rdms(loo[i], v[rows], method, device="cpu")[0]
    else:
        lower_rows = compare_rdms(loo, v, method, device="cpu")[inverse, np.arange(n)]
    # average the rows of each group, then the groups (each subject counts once)
    lower = np.mean(np.bincount(inverse, lower_rows, minlength=uniq.size) / counts)
    upper = np.mean(np.bincount(inverse, upper_rows, minlength=uniq.size) / counts)
    return float(lower), float(upper)


_FAST_METHODS = ("cosine", "corr", "spearman", "rho-a")
_MOMENT_METHODS = ("cosine", "corr")


def _bootstrap_moments(m: np.ndarray, d: np.ndarray, rdm_idx: np.ndarray, pattern_idx: np.ndarray,
                       method: str, with_noise_ceiling: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample evaluations and noise ceilings of ``corr``/``cosine`` for a batch of samples.

    A sample that draws condition ``i`` ``c_i`` times holds pair ``(i, j)`` ``c_i c_j``
    times (the self-pairs of copies are NaN and dropped), so every statistic of the
    re-indexed RDM vectors is a weighted sum over the original pairs with weights
    ``W[b, p] = c_i c_j``: sums, cross-products and scatter matrices of all model and
    data RDMs for all samples come from one matrix product ``W @ products``.
    Data RDMs drawn twice are the same subject, so a sample's mean over its drawn
    RDMs is a count-weighted mean over subjects, and the leave-one-subject-out pools
    of the noise ceiling follow from the pooled sum minus the left-out subject's terms.
    """
    n_b = rdm_idx.shape[0]
    n_models, n_pairs = m.shape
    n_rdms = d.shape[0]
    k = n_conditions_from_pairs(n_pairs)
    cond_counts = np.zeros((n_b, k))
    np.add.at(cond_counts, (np.repeat(np.arange(n_b), pattern_idx.shape[1]), pattern_idx.ravel()), 1.0)
    iu = np.triu_indices(k, 1)
    w = cond_counts[:, iu[0]] * cond_counts[:, iu[1]]  # (n_b, n_pairs)
    valid = (cond_counts > 0).sum(1) >= 3
    center = method == "corr"
    if center:  # correlations are shift invariant: centring first keeps the moments well conditioned
        # (a constant RDM becomes exactly 0, not rounding noise: its similarity is 0)
        m = np.where(np.ptp(m, axis=1, keepdims=True) > 0, m - m.mean(1, keepdims=True), 0.0)
        d = np.where(np.ptp(d, axis=1, keepdims=True) > 0, d - d.mean(1, keepdims=True), 0.0)
    sw = w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_sw = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
    iu_d = np.triu_indices(n_rdms)
    pairwise = (n_models * n_rdms + iu_d[0].size) * n_pairs <= 2**23
    # one matrix product for all samples and all sums: the RDMs, their squares and (if
    # the table stays below 64 MB) the product of every model/data and data/data pair
    terms = [m, d, m * m]
    if pairwise:
        terms += [(m[:, None, :] * d[None, :, :]).reshape(-1, n_pairs), d[iu_d[0]] * d[iu_d[1]]]
    table = np.concatenate(terms)
    with numpy_blas_single_thread(float(n_b) * table.shape[0] * n_pairs):
        sums = w @ table.T
    s_m, s_d, s_mm = np.split(sums[:, :2 * n_models + n_rdms], [n_models, n_models + n_rdms], axis=1)
    if pairwise:
        rest = sums[:, 2 * n_models + n_rdms:]
        s_md = rest[:, :n_models * n_rdms].reshape(n_b, n_models, n_rdms)
        s_dd = np.empty((n_b, n_rdms, n_rdms))
        s_dd[:, iu_d[0], iu_d[1]] = rest[:, n_models * n_rdms:]
        s_dd[:, iu_d[1], iu_d[0]] = rest[:, n_models * n_rdms:]
    else:  # many RDMs: weighted Gram matrices sample by sample
        s_md = np.empty((n_b, n_models, n_rdms))
        s_dd = np.empty((n_b, n_rdms, n_rdms))
        for b in range(n_b):
            dw = d * w[b]
            s_md[b] = m @ dw.T
            s_dd[b] = d @ dw.T
    if center:  # scatter about each sample's weighted mean
        s_mm = s_mm - s_m**2 * inv_sw[:, None]
        s_md = s_md - s_m[:, :, None] * s_d[:, None, :] * inv_sw[:, None, None]
        s_dd = s_dd - s_d[:, :, None] * s_d[:, None, :] * inv_sw[:, None, None]
    var_d = np.einsum("bss->bs", s_dd)
    scale = np.sqrt(np.clip(s_mm, 0, None))[:, :, None] * np.sqrt(np.clip(var_d, 0, None))[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(scale > 0, s_md / np.where(scale > 0, scale, 1.0), 0.0)  # (n_b, n_models, n_rdms)
    draws = np.zeros((n_b, n_rdms))
    np.add.at(draws, (np.repeat(np.arange(n_b), rdm_idx.shape[1]), rdm_idx.ravel()), 1.0)
    ev = np.einsum("bms,bs->bm", sim, draws) / rdm_idx.shape[1]
    ev[~valid] = np.nan
    ncs = np.full((n_b, 2), np.nan)
    if not with_noise_ceiling:
        return ev, ncs
    with np.errstate(invalid="ignore", divide="ignore"):
        # pooled terms: each RDM divided by its (weighted) SD (corr) or RMS (cosine)
        sd = np.sqrt(var_d * inv_sw[:, None])
        varies = sd > 0  # a constant RDM has no direction: it adds 0 to a pool and compares as 0
        inv_sd = np.where(varies, 1.0 / np.where(varies, sd, 1.0), 0.0)
        a = draws * inv_sd  # weight of each subject's RDM in the pooled sum
        cov_total = np.einsum("bt,bts->bs", a, s_dd)  # scatter of the pooled sum with each subject
        var_total = np.einsum("bs,bs->b", a, cov_total)
        den = np.sqrt(np.clip(var_total[:, None] * var_d, 0.0, None))
        upper_s = np.where(den > 0, cov_total / np.where(den > 0, den, 1.0), 0.0)
        # leaving subject s out removes draws_s copies of its term (scatter sw with itself)
        cov_loo = cov_total - draws * var_d * inv_sd
        var_loo = var_total[:, None] - 2 * draws * cov_total * inv_sd + draws**2 * sw[:, None] * varies
        den = np.sqrt(np.clip(var_loo * var_d, 0.0, None))
        lower_s = np.where(den > 0, cov_loo / np.where(den > 0, den, 1.0), 0.0)
    present = draws > 0
    n_present = present.sum(1)
    ok = valid & (n_present > 1)
    ncs[ok, 0] = np.where(present, lower_s, 0.0)[ok].sum(1) / n_present[ok]
    ncs[ok, 1] = np.where(present, upper_s, 0.0)[ok].sum(1) / n_present[ok]
    return ev, ncs


def _pair_lookup(k: int) -> np.ndarray:
    iu = np.triu_indices(k, 1)
    lookup = np.full((k, k), -1, dtype=np.int64)
    lookup[iu] = np.arange(iu[0].size)
    lookup[iu[1], iu[0]] = lookup[iu]
    return lookup


def _prep(x: np.ndarray, method: str) -> np.ndarray:
    """Rows scaled so that ``_prep(a) @ _prep(b).T`` is the similarity (NaN-free input)."""
    if method in ("spearman", "rho-a"):
        x = stats.rankdata(x, axis=1)
    if method != "cosine":
        x = x - x.mean(1, keepdims=True)
    if method == "rho-a":
        n = x.shape[1]
        return x * np.sqrt(12.0 / (float(n) ** 3 - n))
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def _noise_ceiling_fast(x: np.ndarray, prep_x: np.ndarray, method: str, groups: np.ndarray):
    n = x.shape[0]
    uniq, first, inverse, counts = np.unique(groups, return_index=True, return_inverse=True, return_counts=True)
    if uniq.size < 2:
        return np.nan, np.nan
    terms = _pool_terms(x, method)
    total = terms.sum(0)
    # rows of one group are copies of one subject: their sum is a multiple of one row
    group_sum = terms[first] * counts[:, None]
    reps = prep_x[first]
    upper = float((_prep(_finish_pool(total[None] / n, method), method) @ reps.T).mean())
    loo = _prep(_finish_pool((total[None] - group_sum) / (n - counts)[:, None], method), method)
    lower = float(np.einsum("ij,ij->i", loo, reps).mean())
    return lower, upper


@dataclass
class ModelEvaluation:
    """Result of :func:`evaluate_models` / :func:`evaluate_fixed`.

    Attributes
    ----------
    evaluations : ndarray, (n_bootstrap, n_models) bootstrap samples, or
        (n_models, n_rdms) per-subject values for the fixed evaluation.
    mean : ndarray (n_models,)
    sem : ndarray (n_models,), standard error (bootstrap SD, or analytic SEM).
    covariance : ndarray (n_models, n_models) sampling covariance of the means.
    noise_ceiling : ndarray (2,), lower and upper bound (means over samples).
    method : str
    dof : int, degrees of freedom of the t tests.
    """

    evaluations: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    covariance: np.ndarray
    noise_ceiling: np.ndarray
    method: str
    dof: int
    noise_ceiling_samples: np.ndarray | None = field(default=None)

    def pairwise_tests(self) -> np.ndarray:
        """Two-sided p-values of t tests of every model difference (n_models, n_models)."""
        c = self.covariance
        var = np.diag(c)[:, None] + np.diag(c)[None, :] - 2 * c
        diff = self.mean[:, None] - self.mean[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = diff / np.sqrt(var)
        p = 2 * stats.t.sf(np.abs(t), self.dof)
        np.fill_diagonal(p, 1.0)
        return p

    def zero_tests(self) -> np.ndarray:
        """One-sided p-values of ``mean > 0`` for each model."""
        return stats.t.sf(self.mean / self.sem, self.dof)

    def noise_tests(self) -> np.ndarray:
        """Two-sided p-values of ``mean`` against the lower noise ceiling."""
        return 2 * stats.t.sf(np.abs((self.mean - self.noise_ceiling[0]) / self.sem), self.dof)


def _check_models_data(models: Any, data: Any, method: str) -> tuple[np.ndarray, np.ndarray]:
    check_in(method, "method", COMPARE_METHODS)
    m, _ = as_rdm_vectors(models, "models")
    d, _ = as_rdm_vectors(data, "data")
    if m.shape[1] != d.shape[1]:
        raise ValueError(f"models and data must be RDMs of the same size; got {m.shape[1]} and {d.shape[1]} entries")
    # every comparison is invariant to a positive scale of each RDM: rows near 1 keep the
    # products below from under- or overflowing (a no-op at ordinary scales)
    return normalise_rows(m), normalise_rows(d)


def evaluate_fixed(models: Any, data: Any, method: str = "corr") -> ModelEvaluation:
    """Evaluate fixed model RDMs against each data RDM; SEM across subjects.

    ``covariance = cov(evaluations, ddof=1) / n_rdms`` and ``sem`` its diagonal's
    square root (the usual standard error of a mean; rsatoolbox's ``eval_fixed``
    after its ``n / (n - 1)`` correction), with ``n_rdms - 1`` degrees of freedom.
    """
    m, d = _check_models_data(models, data, method)
    n = d.shape[0]
    if n < 2:
        raise ValueError(f"data needs RDMs of at least 2 subjects for a standard error across subjects; got {n}")
    ev = compare_rdms(m, d, method)
    cov = np.atleast_2d(np.cov(ev, ddof=1)) / n
    nc = np.array(noise_ceiling(d, method))
    return ModelEvaluation(ev, ev.mean(1), np.sqrt(np.diag(cov)), cov, nc, method, n - 1)


def evaluate_models(models: Any, data: Any, method: str = "corr", n_bootstrap: int = 1000,
                    kind: str = "both", with_noise_ceiling: bool = True, random_state: Any = None,
                    indices: tuple[np.ndarray, np.ndarray] | None = None,
                    verbose: bool = False, n_jobs: int | None = None) -> ModelEvaluation:
    """Bootstrap evaluation of model RDMs over subjects and/or conditions.

    Each sample draws data RDMs and conditions with replacement (see
    :func:`bootstrap_indices`), re-indexes all RDMs (:func:`subsample_patterns`),
    and records the mean comparison of each model with the sampled data RDMs and
    the sample's noise ceiling. Samples with fewer than 3 distinct conditions are
    NaN and ignored.

    Parameters
    ----------
    models : array-like (n_models, n_pairs)
    data : array-like (n_rdms, n_pairs)
    method : str, see :func:`neurodyn.rsa.compare_rdms`
    n_bootstrap : int
    kind : {"both", "rdm", "pattern"}
    with_noise_ceiling : bool
    random_state : int, Generator or None
    indices : (rdm_idx, pattern_idx), optional
        Precomputed resampling indices (e.g. to reproduce another tool's draws).
    verbose : bool
        tqdm progress bar (over blocks of samples).
    n_jobs : int or None
        Blocks of bootstrap samples evaluated in parallel (joblib semantics; any
        backend of ``joblib.parallel_config``, e.g. ``"dask"``). The indices are
        drawn in the calling process and the blocks do not change any sample's
        value, so the result does not depend on ``n_jobs`` or the backend.

    Returns
    -------
    ModelEvaluation
        ``covariance`` is the covariance over samples times ``n / (n - 1)``
        (``n`` = number of resampled units: ``min(n_rdms, n_conditions)`` for
        ``kind="both"``, as rsatoolbox), ``sem`` its diagonal's square root,
        ``dof = min(n_rdms, n_conditions) - 1``.

    Notes
    -----
    For ``corr`` and ``cosine`` (NaN-free inputs) no sample is built: a sample is a
    weighting ``c_i c_j`` of the original pairs (``c``: draw counts of the
    conditions) and a count weighting of the subjects, so all per-sample
    similarities and noise ceilings follow from weighted sums and scatter matrices
    obtained by matrix products over all samples at once.

    References
    ----------
    Schütt, H. H., Kipnis, A. D., Diedrichsen, J. & Kriegeskorte, N. (2023).
    Statistical inference on representational geometries. eLife 12:e82566.
    """
    m, d = _check_models_data(models, data, method)
    check_in(kind, "kind", ("both", "rdm", "pattern"))
    n_jobs = check_n_jobs(n_jobs)
    with_noise_ceiling = check_bool(with_noise_ceiling, "with_noise_ceiling")
    k = n_conditions_from_pairs(m.shape[1])
    if d.shape[0] < 2:
        raise ValueError(f"data holds {d.shape[0]} RDM: resampling subjects and the noise ceiling need RDMs of "
                         f"at least 2 subjects")
    if k < 3:
        raise ValueError(f"models and data must have at least 3 conditions to bootstrap conditions; got {k}")
    if indices is None:
        rdm_idx, pattern_idx = bootstrap_indices(d.shape[0], k, n_bootstrap, kind, random_state)
    else:
        if not isinstance(indices, (tuple, list)) or len(indices) != 2:
            raise TypeError("indices must be a pair (rdm_idx, pattern_idx) of integer arrays")
        rdm_idx = _check_index(indices[0], "indices[0] (rdm_idx)", d.shape[0], "data RDMs")
        pattern_idx = _check_index(indices[1], "indices[1] (pattern_idx)", k)
        if rdm_idx.ndim != 2 or pattern_idx.ndim != 2 or rdm_idx.shape[0] != pattern_idx.shape[0]:
            raise ValueError(f"indices must be (rdm_idx (n_bootstrap, n_drawn), pattern_idx (n_bootstrap, "
                             f"n_drawn)) with the same n_bootstrap; got shapes {rdm_idx.shape} and "
                             f"{pattern_idx.shape}")
    n_b = rdm_idx.shape[0]
    fast = method in _FAST_METHODS and not (np.isnan(m).any() or np.isnan(d).any())
    moments = fast and method in _MOMENT_METHODS
    if moments:  # all samples at once, in batches bounding memory to about 32 MB
        step = max(1, int(2**22 // (m.shape[1] + m.shape[0] * d.shape[0] + d.shape[0] ** 2)))
        func, args = _bootstrap_moments_block, (m, d, method, with_noise_ceiling)
    else:  # sample by sample; a sample's values do not depend on the blocks
        workers = n_workers(n_jobs)
        step = 1 if workers <= 1 else max(1, -(-n_b // (8 * workers)))
        func, args = _bootstrap_loop_block, (m, d, method, with_noise_ceiling, fast)
    blocks = [(rdm_idx[b0:b0 + step], pattern_idx[b0:b0 + step]) for b0 in range(0, n_b, step)]
    results = parallel_map(func, blocks, args=args, n_jobs=n_jobs, desc="bootstrap block",
                           verbose=verbose)
    ev = np.concatenate([r[0] for r in results]) if results else np.full((0, m.shape[0]), np.nan)
    ncs = np.concatenate([r[1] for r in results]) if results else np.full((0, 2), np.nan)
    ok = np.isfinite(ev[:, 0])
    if ok.sum() < 2:
        raise ValueError(f"only {int(ok.sum())} of the {n_b} bootstrap samples drew at least 3 distinct conditions; "
                         f"increase n_bootstrap (or use more conditions)")
    # the bootstrap variance underestimates by (n - 1) / n for n resampled units
    n_units = {"both": min(d.shape[0], k), "rdm": d.shape[0], "pattern": k}[kind]
    cov = np.atleast_2d(np.cov(ev[ok].T)) * n_units / (n_units - 1)
    nc = np.nanmean(ncs, axis=0) if with_noise_ceiling else np.array(noise_ceiling(d, method))
    dof = min(d.shape[0], k) - 1
    return ModelEvaluation(ev, np.nanmean(ev, axis=0), np.sqrt(np.diag(cov)), cov, nc, method, dof, ncs)


def _bootstrap_moments_block(block, m, d, method, with_noise_ceiling):
    """:func:`_bootstrap_moments` of one batch ``(rdm_idx, pattern_idx)`` of samples."""
    rdm_idx, pattern_idx = block
    return _bootstrap_moments(m, d, rdm_idx, pattern_idx, method, with_noise_ceiling)


def _bootstrap_loop_block(block, m, d, method, with_noise_ceiling, fast):
    """Evaluations ``(n, n_models)`` and noise ceilings ``(n, 2)`` of a block of samples, one by one
    (NaN for a sample with fewer than 3 distinct conditions)."""
    rdm_idx, pattern_idx = block
    n_b = rdm_idx.shape[0]
    ev = np.full((n_b, m.shape[0]), np.nan)
    ncs = np.full((n_b, 2), np.nan)
    lookup = _pair_lookup(n_conditions_from_pairs(m.shape[1]))
    for b in range(n_b):
        pidx = pattern_idx[b]
        if np.unique(pidx).size < 3:
            continue
        if fast:
            # all RDMs of a sample share their NaN (duplicate) positions: drop them once
            ju = np.triu_indices(pidx.size, 1)
            pos = lookup[pidx[ju[0]], pidx[ju[1]]]
            pos = pos[pos >= 0]
            sample = d[rdm_idx[b]][:, pos]
            prep_d = _prep(sample, method)
            ev[b] = (_prep(m[:, pos], method) @ prep_d.T).mean(1)
            if with_noise_ceiling:
                ncs[b] = _noise_ceiling_fast(sample, prep_d, method, rdm_idx[b])
            continue
        sample = subsample_patterns(d[rdm_idx[b]], pidx)
        msub = subsample_patterns(m, pidx)
        ev[b] = compare_rdms(msub, sample, method, device="cpu").mean(1)
        if with_noise_ceiling and np.unique(rdm_idx[b]).size > 1:
            ncs[b] = noise_ceiling(sample, method, groups=rdm_idx[b])
    return ev, ncs
