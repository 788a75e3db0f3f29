"""Bootstrap, noise ceiling and fixed evaluation against explicit references."""

import numpy as np
import pytest
from scipy.spatial.distance import squareform

from neurodyn.rsa import (
    bootstrap_indices,
    compare_rdms,
    evaluate_fixed,
    evaluate_models,
    noise_ceiling,
    pool_rdms,
    subsample_patterns,
)


def _data(seed=0, k=8, n_data=5, n_models=3):
    rng = np.random.default_rng(seed)
    truth = rng.random(k * (k - 1) // 2)
    data = truth + 0.3 * rng.random((n_data, truth.size))
    models = np.vstack([truth + 0.2 * rng.random((1, truth.size)), rng.random((n_models - 1, truth.size))])
    return models, data


def test_subsample_patterns_matches_matrix_indexing():
    rng = np.random.default_rng(1)
    v = rng.random(15)
    idx = np.array([0, 0, 2, 3, 3, 5])
    m = squareform(v)
    np.fill_diagonal(m, np.nan)
    ref = m[idx][:, idx][np.triu_indices(6, 1)]
    got = subsample_patterns(v, idx)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(got[~np.isnan(got)], ref[~np.isnan(ref)])
    with pytest.raises(ValueError, match="pattern_idx must index conditions"):
        subsample_patterns(v, [0, 6])


def test_noise_ceiling_leave_one_out_by_hand():
    _, data = _data(2)
    lower, upper = noise_ceiling(data, "corr")
    z = (data - data.mean(1, keepdims=True)) / data.std(1, keepdims=True)
    up = np.mean([np.corrcoef(z.mean(0), d)[0, 1] for d in data])
    lo = np.mean([np.corrcoef(np.delete(z, s, 0).mean(0), data[s])[0, 1] for s in range(len(data))])
    assert upper == pytest.approx(up, abs=1e-12)
    assert lower == pytest.approx(lo, abs=1e-12)
    assert lower <= upper


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman", "tau-a"])
def test_noise_ceiling_groups_score_every_row_of_the_held_out_group(method):
    # three distinct sessions per subject: every session of the held-out subject is
    # compared with the pool of the other subjects' sessions (was: only the first one)
    rng = np.random.default_rng(5)
    truth = rng.random(36)
    subject = np.repeat([3, 0, 7, 1], 3)
    data = truth + 0.8 * rng.random((12, 36))
    data = data[rng.permutation(12)]  # groups need not be contiguous
    subject = subject[rng.permutation(12)]
    lower, upper = noise_ceiling(data, method, groups=subject)
    ranks = np.argsort(np.argsort(data, axis=1), axis=1).astype(float)  # no ties in random data
    z = (data - data.mean(1, keepdims=True)) / data.std(1, keepdims=True)
    unit = data / np.sqrt(np.mean(data**2, axis=1, keepdims=True))
    terms = {"corr": z, "cosine": unit, "spearman": ranks, "tau-a": ranks}[method]

    def sim(pool, d):
        if method == "cosine":
            return pool @ d / np.linalg.norm(pool) / np.linalg.norm(d)
        if method == "corr":
            return np.corrcoef(pool, d)[0, 1]
        from scipy import stats

        if method == "spearman":
            return stats.spearmanr(pool, d)[0]
        i, j = np.triu_indices(d.size, 1)  # tau-a: (concordant - discordant) / all pairs
        return np.mean(np.sign(pool[i] - pool[j]) * np.sign(d[i] - d[j]))

    lo_s, up_s = [], []
    for s in np.unique(subject):
        rows = np.flatnonzero(subject == s)
        pool = terms[subject != s].mean(0)
        lo_s.append(np.mean([sim(pool, data[r]) for r in rows]))
        up_s.append(np.mean([sim(terms.mean(0), data[r]) for r in rows]))
    assert lower == pytest.approx(np.mean(lo_s), abs=1e-12)
    assert upper == pytest.approx(np.mean(up_s), abs=1e-12)
    # one row per subject: the same as the ungrouped ceiling
    first = np.array([np.flatnonzero(subject == s)[0] for s in np.unique(subject)])
    np.testing.assert_allclose(noise_ceiling(data[first], method, groups=subject[first]),
                               noise_ceiling(data[first], method), rtol=0, atol=1e-14)


def test_evaluate_fixed_sem_formula():
    models, data = _data(3)
    res = evaluate_fixed(models, data, "spearman")
    ev = compare_rdms(models, data, "spearman")
    np.testing.assert_allclose(res.evaluations, ev, atol=1e-15)
    np.testing.assert_allclose(res.sem, np.std(ev, axis=1, ddof=1) / np.sqrt(data.shape[0]), atol=1e-15)
    assert res.dof == data.shape[0] - 1


def test_bootstrap_per_sample_values_and_reproducibility():
    models, data = _data(4)
    rdm_idx, pat_idx = bootstrap_indices(data.shape[0], 8, 20, random_state=0)
    res = evaluate_models(models, data, "corr", indices=(rdm_idx, pat_idx), with_noise_ceiling=False)
    for b in (0, 7, 19):
        sample = subsample_patterns(data[rdm_idx[b]], pat_idx[b])
        msub = subsample_patterns(models, pat_idx[b])
        keep = ~np.isnan(sample[0])
        ref = [np.mean([np.corrcoef(mm[keep], s[keep])[0, 1] for s in sample]) for mm in msub]
        np.testing.assert_allclose(res.evaluations[b], ref, atol=1e-12)
    again = evaluate_models(models, data, "corr", n_bootstrap=20, random_state=0, with_noise_ceiling=False)
    np.testing.assert_array_equal(again.evaluations, res.evaluations)
    # the true model wins the pairwise tests
    models, data = _data(4, n_data=10)
    full = evaluate_models(models, data, "corr", n_bootstrap=100, random_state=1)
    assert np.argmax(full.mean) == 0
    assert full.pairwise_tests()[0, 1] < 0.05
    assert full.noise_ceiling[0] <= full.noise_ceiling[1]


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman", "rho-a"])
def test_fast_bootstrap_path_equals_general_path(method):
    models, data = _data(7)
    idx = bootstrap_indices(data.shape[0], 8, 6, random_state=2)
    fast = evaluate_models(models, data, method, indices=idx)
    for b in range(6):
        sample = subsample_patterns(data[idx[0][b]], idx[1][b])
        msub = subsample_patterns(models, idx[1][b])
        np.testing.assert_allclose(fast.evaluations[b], compare_rdms(msub, sample, method).mean(1), atol=1e-12)
        np.testing.assert_allclose(fast.noise_ceiling_samples[b], noise_ceiling(sample, method, groups=idx[0][b]),
                                   atol=1e-12)


def test_pool_rdms_rank_methods_average_ranks():
    _, data = _data(5)
    from scipy.stats import rankdata

    np.testing.assert_allclose(pool_rdms(data, "spearman"), np.mean([rankdata(d) for d in data], axis=0))


def test_bootstrap_matches_rsatoolbox_with_same_indices():
    pytest.importorskip("rsatoolbox", reason="rsatoolbox (bench extra) not installed")
    from rsatoolbox.inference import bootstrap_sample
    from rsatoolbox.rdm import RDMs, compare

    models, data = _data(6)
    rd = RDMs(data)
    n_b = 8
    rdm_idx = np.empty((n_b, data.shape[0]), dtype=int)
    pat_idx = np.empty((n_b, 8), dtype=int)
    ref = np.empty((n_b, models.shape[0]))
    np.random.seed(0)  # noqa: NPY002 - rsatoolbox draws from numpy's global RNG
    for b in range(n_b):
        sample, ri, pi = bootstrap_sample(rd)
        rdm_idx[b], pat_idx[b] = ri, np.sort(pi)
        ref[b] = [np.mean(compare(RDMs(mm).subsample_pattern("index", pi), sample, "corr")) for mm in models]
    res = evaluate_models(models, data, "corr", indices=(rdm_idx, pat_idx), with_noise_ceiling=False)
    np.testing.assert_allclose(res.evaluations, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_vectorised_bootstrap_vs_explicit_samples(method):
    # the all-samples-at-once path (weighted moments) against each sample built
    # explicitly: duplicated conditions and subjects, a sample with 2 distinct
    # conditions (NaN), one with a single subject (no noise ceiling), a constant model
    k, n_data = 23, 6
    models, data = _data(8, k=k, n_data=n_data, n_models=3)
    models = np.vstack([models, np.full(models.shape[1], 0.4)])
    rdm_idx, pat_idx = bootstrap_indices(n_data, k, 12, random_state=3)
    pat_idx[4] = np.sort(np.r_[np.zeros(k - 3, int), [5, 5, 5]])
    rdm_idx[7] = 2
    res = evaluate_models(models, data, method, indices=(rdm_idx, pat_idx))
    sim = (lambda a, b: np.corrcoef(a, b)[0, 1]) if method == "corr" else (
        lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    for b in range(12):
        sample = subsample_patterns(data[rdm_idx[b]], pat_idx[b])
        msub = subsample_patterns(models, pat_idx[b])
        keep = ~np.isnan(sample[0])
        if b == 4:
            assert np.isnan(res.evaluations[b]).all() and np.isnan(res.noise_ceiling_samples[b]).all()
            continue
        ref = [np.mean([0.0 if np.ptp(mm[keep]) == 0 and method == "corr" else sim(mm[keep], s[keep])
                        for s in sample]) for mm in msub]
        np.testing.assert_allclose(res.evaluations[b], ref, rtol=0, atol=1e-12)
        if b == 7:
            assert np.isnan(res.noise_ceiling_samples[b]).all()
            continue
        # noise ceiling by hand: pool = mean of z-scored (corr) or RMS-scaled (cosine) drawn RDMs
        x = sample[:, keep]
        if method == "corr":
            terms = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
        else:
            terms = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True))
        subjects = np.unique(rdm_idx[b])
        up = np.mean([sim(terms.mean(0), x[rdm_idx[b] == s][0]) for s in subjects])
        lo = np.mean([sim(terms[rdm_idx[b] != s].mean(0), x[rdm_idx[b] == s][0]) for s in subjects])
        np.testing.assert_allclose(res.noise_ceiling_samples[b], [lo, up], rtol=0, atol=1e-12)


def test_vectorised_bootstrap_many_rdms_path_matches():
    # more data RDMs than the table of pairwise products allows: the sample-by-sample
    # Gram path gives the same values as the product path
    import neurodyn.rsa.inference as inference

    k = 16
    models, data = _data(9, k=k, n_data=7, n_models=2)
    rdm_idx, pat_idx = bootstrap_indices(7, k, 5, random_state=4)
    ev, nc = inference._bootstrap_moments(models, data, rdm_idx, pat_idx, "corr", True)
    many = np.vstack([data] * 60)  # row 7 c + j is a copy of subject j
    n_pairs = models.shape[1]
    assert (2 * 7 + 28) * n_pairs <= 2**23 < (2 * 420 + 420 * 421 // 2) * n_pairs
    shifted = rdm_idx + 7 * np.arange(5)[:, None]  # sample b draws from copy b
    ev_many, nc_many = inference._bootstrap_moments(models, many, shifted, pat_idx, "corr", True)
    np.testing.assert_allclose(ev_many, ev, rtol=0, atol=1e-12)
    np.testing.assert_allclose(nc_many, nc, rtol=0, atol=1e-12)
    for b in range(5):
        sample = subsample_patterns(data[rdm_idx[b]], pat_idx[b])
        np.testing.assert_allclose(nc[b], noise_ceiling(sample, "corr", groups=rdm_idx[b]), rtol=0, atol=1e-12)


def test_pool_rdms_refuses_nan_in_some_rdms_only():
    """A NaN in one RDM used to turn that entry of the pooled RDM into NaN silently."""
    from neurodyn.rsa import pool_rdms

    rng = np.random.default_rng(0)
    rdms = rng.random((3, 15))
    shared = rdms.copy()
    shared[:, 4] = np.nan
    pooled = pool_rdms(shared, "cosine")
    assert np.isnan(pooled[4]) and np.isfinite(np.delete(pooled, 4)).all()
    partial = rdms.copy()
    partial[1, 7] = np.nan
    with pytest.raises(ValueError, match="entry 7 is NaN in RDM 1 but not in all 3 RDMs"):
        pool_rdms(partial, "cosine")
