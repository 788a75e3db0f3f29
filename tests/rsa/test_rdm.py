"""compute_rdm and noise estimators against slow numpy references."""

import numpy as np
import pytest

from neurodyn.rsa import (
    compute_rdm,
    compute_rdm_movie,
    noise_covariance,
    noise_precision,
    rdm_to_matrix,
    rdm_to_vector,
)

RTOL, ATOL = 1e-10, 1e-12


def _means(x, cond):
    values = np.unique(cond)
    return np.stack([x[cond == v].mean(0) for v in values])


def _pairs(k):
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def _data(seed=0, n_cond=6, n_rep=3, p=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_cond * n_rep, p)) + 2.0
    cond = np.tile(np.arange(n_cond), n_rep)
    folds = np.repeat(np.arange(n_rep), n_cond)
    a = rng.normal(size=(p, p))
    prec = np.linalg.inv(a @ a.T / p + np.eye(p))
    return x, cond, folds, prec


def test_distances_match_loops():
    x, cond, _, prec = _data()
    mu = _means(x, cond)
    p = x.shape[1]
    sq = [np.sum((mu[i] - mu[j]) ** 2) / p for i, j in _pairs(6)]
    cor = [1 - np.corrcoef(mu[i], mu[j])[0, 1] for i, j in _pairs(6)]
    mah = [(mu[i] - mu[j]) @ prec @ (mu[i] - mu[j]) / p for i, j in _pairs(6)]
    np.testing.assert_allclose(compute_rdm(x, "sqeuclidean", conditions=cond), sq, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compute_rdm(x, "euclidean", conditions=cond), sq, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compute_rdm(x, "correlation", conditions=cond), cor, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compute_rdm(x, "mahalanobis", conditions=cond, noise=prec), mah, rtol=RTOL, atol=ATOL)


def test_crossnobis_matches_leave_one_fold_out_loop_unbalanced_counts():
    x, cond, folds, prec = _data(1, n_rep=4)
    # make fold 0 hold an extra observation of condition 2: unequal counts
    x = np.vstack([x, x[:1] + 0.3])
    cond = np.append(cond, 2)
    folds = np.append(folds, 0)
    p = x.shape[1]
    ref = np.zeros(15)
    for r in range(4):
        a = _means(x[folds != r], cond[folds != r])
        b = _means(x[folds == r], cond[folds == r])
        ref += [(a[i] - a[j]) @ prec @ (b[i] - b[j]) / p for i, j in _pairs(6)]
    ref /= 4
    got = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec)
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("remove_mean", [False, True])
def test_crossnobis_balanced_sum_form_matches_loop(remove_mean):
    x, cond, folds, prec = _data(10, n_rep=3)
    p = x.shape[1]
    ref = np.zeros(15)
    for r in range(3):
        a = _means(x[folds != r], cond[folds != r])
        b = _means(x[folds == r], cond[folds == r])
        if remove_mean:
            a = a - a.mean(1, keepdims=True)
            b = b - b.mean(1, keepdims=True)
        ref += [(a[i] - a[j]) @ prec @ (b[i] - b[j]) / p for i, j in _pairs(6)]
    got = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec, remove_mean=remove_mean)
    np.testing.assert_allclose(got, ref / 3, rtol=RTOL, atol=ATOL)


def test_crossnobis_fold_noise_pairs():
    x, cond, folds, _ = _data(2)
    rng = np.random.default_rng(3)
    precs = []
    for _ in range(3):
        a = rng.normal(size=(5, 5))
        precs.append(np.linalg.inv(a @ a.T / 5 + np.eye(5)))
    ref = np.zeros(15)
    n = 0
    for r in range(3):
        for s in range(r + 1, 3):
            lam = np.linalg.inv((np.linalg.inv(precs[r]) + np.linalg.inv(precs[s])) / 2)
            a = _means(x[folds == r], cond[folds == r])
            b = _means(x[folds == s], cond[folds == s])
            ref += [(a[i] - a[j]) @ lam @ (b[i] - b[j]) / 5 for i, j in _pairs(6)]
            n += 1
    got = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, fold_noise=precs)
    np.testing.assert_allclose(got, ref / n, rtol=RTOL, atol=ATOL)


def test_poisson_and_poisson_cv_average_over_folds():
    rng = np.random.default_rng(4)
    x = rng.poisson(3.0, size=(18, 7)).astype(float)
    cond = np.tile(np.arange(6), 3)
    folds = np.repeat(np.arange(3), 6)
    lam, w = 1.0, 0.1

    def prior(m):
        return (m + lam * w) / (1 + w)

    mu = prior(_means(x, cond))
    ref = [np.sum((mu[i] - mu[j]) * (np.log(mu[i]) - np.log(mu[j]))) / 7 for i, j in _pairs(6)]
    np.testing.assert_allclose(compute_rdm(x, "poisson", conditions=cond), ref, rtol=RTOL, atol=ATOL)
    ref_cv = np.zeros(15)
    for r in range(3):
        a = prior(_means(x[folds != r], cond[folds != r]))
        b = prior(_means(x[folds == r], cond[folds == r]))
        ref_cv += [np.sum((a[i] - a[j]) * (np.log(b[i]) - np.log(b[j]))) / 7 for i, j in _pairs(6)]
    got = compute_rdm(x, "poisson_cv", conditions=cond, folds=folds)
    np.testing.assert_allclose(got, ref_cv / 3, rtol=RTOL, atol=ATOL)


def test_batched_subjects_equal_single_and_input_untouched():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 12, 4))
    cond = np.tile(np.arange(4), 3)
    folds = np.repeat(np.arange(3), 4)
    keep = x.copy()
    prec = np.stack([np.eye(4) * (s + 1) for s in range(3)])
    for method, kw in [("correlation", {}), ("crossnobis", {"folds": folds}),
                       ("mahalanobis", {"noise": prec}), ("crossnobis", {"folds": folds, "noise": prec})]:
        batched = compute_rdm(x, method, conditions=cond, **kw)
        for s in range(3):
            kws = {k: (v[s] if k == "noise" else v) for k, v in kw.items()}
            np.testing.assert_allclose(batched[s], compute_rdm(x[s], method, conditions=cond, **kws),
                                       rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(x, keep)


def test_float32_close_to_float64():
    x, cond, folds, prec = _data(6)
    a = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec)
    b = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec, dtype="float32")
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_movie_matches_per_time():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 4, 6))  # conditions x time x channels
    movie = compute_rdm_movie(x, "correlation")
    assert movie.shape == (4, 10)
    for t in range(4):
        np.testing.assert_allclose(movie[t], compute_rdm(x[:, t], "correlation"), rtol=RTOL, atol=ATOL)


def test_matrix_vector_roundtrip():
    v = np.arange(1.0, 11.0)
    m = rdm_to_matrix(v)
    assert m.shape == (5, 5) and m[0, 1] == 1.0 and m[1, 0] == 1.0 and m[3, 4] == 10.0
    np.testing.assert_array_equal(rdm_to_vector(m), v)


def test_noise_covariance_full_and_diag_vs_numpy():
    rng = np.random.default_rng(8)
    r = rng.normal(size=(40, 6))
    np.testing.assert_allclose(noise_covariance(r, "full"), np.cov(r.T), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(noise_covariance(r, "diag"), np.diag(np.var(r, axis=0, ddof=1)), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(noise_precision(r, "full"), np.linalg.inv(np.cov(r.T)), rtol=1e-9)


def test_shrinkage_estimators_vs_rsatoolbox():
    noise = pytest.importorskip("rsatoolbox.data.noise", reason="rsatoolbox (bench extra) not installed")
    rng = np.random.default_rng(9)
    r = rng.normal(size=(30, 8)) @ rng.normal(size=(8, 8))
    for method in ("shrinkage_diag", "shrinkage_eye", "diag", "full"):
        np.testing.assert_allclose(noise_precision(r, method), noise.prec_from_residuals(r.copy(), method=method),
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patterns": np.array([[np.nan, 1.0], [1.0, 2.0]])}, "patterns must be finite"),
        ({"patterns": np.ones((3, 2)), "conditions": [0, 0, 0]}, "at least 2 distinct conditions"),
        ({"patterns": np.ones(4)}, "patterns must be 2-D or 3-D"),
        ({"patterns": np.random.default_rng(0).normal(size=(4, 3)), "method": "crossnobis",
          "conditions": [0, 1, 0, 0], "folds": [0, 0, 1, 1]}, "fold #1 lacks condition"),
        ({"patterns": np.random.default_rng(0).normal(size=(4, 3)), "method": "mahalanobis",
          "noise": np.eye(2)}, "noise must be a"),
        ({"patterns": np.ones((4, 3)), "method": "bogus"}, "method must be one of"),
        ({"patterns": np.random.default_rng(0).normal(size=(4, 3)), "conditions": [0, 1]}, "conditions must have 4"),
    ],
)
def test_bad_input_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        compute_rdm(**kwargs)


def _crossnobis_loop(x, cond, folds, prec=None, remove_mean=False):
    """Leave-one-fold-out crossnobis, one fold and one pair at a time."""
    p = x.shape[1]
    prec = np.eye(p) if prec is None else prec
    fold_values = np.unique(folds)
    k = np.unique(cond).size
    ref = np.zeros(k * (k - 1) // 2)
    for r in fold_values:
        a = _means(x[folds != r], cond[folds != r])
        b = _means(x[folds == r], cond[folds == r])
        if remove_mean:
            a = a - a.mean(1, keepdims=True)
            b = b - b.mean(1, keepdims=True)
        ref += [(a[i] - a[j]) @ prec @ (b[i] - b[j]) / p for i, j in _pairs(k)]
    return ref / fold_values.size


@pytest.mark.parametrize("use_prec", [False, True])
@pytest.mark.parametrize("remove_mean", [False, True])
def test_crossnobis_balanced_shuffled_rows_batched_vs_loop(use_prec, remove_mean):
    # one observation per (fold, condition) cell, rows in random order, 3 subjects,
    # a shared (2-D) and a per-subject (3-D) precision
    rng = np.random.default_rng(11)
    n_cond, n_rep, p = 7, 4, 9
    cond = np.tile(np.arange(n_cond), n_rep)
    folds = np.repeat(np.arange(n_rep) * 10 + 3, n_cond)
    perm = rng.permutation(cond.size)
    cond, folds = cond[perm], folds[perm]
    x = rng.normal(size=(3, cond.size, p)) + 5.0
    keep = x.copy()
    precs = []
    for _ in range(3):
        a = rng.normal(size=(p, p))
        precs.append(np.linalg.inv(a @ a.T / p + np.eye(p)))
    precs = np.stack(precs)
    for noise in ((precs[0], precs) if use_prec else (None,)):
        got = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=noise, remove_mean=remove_mean)
        for s in range(3):
            lam = None if noise is None else (noise if noise.ndim == 2 else noise[s])
            np.testing.assert_allclose(got[s], _crossnobis_loop(x[s], cond, folds, lam, remove_mean),
                                       rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(x, keep)


def test_crossnobis_balanced_repeats_per_cell_vs_loop():
    # equal counts: 2 observations per (fold, condition); default folds inferred from order
    rng = np.random.default_rng(12)
    cond = np.tile(np.repeat(np.arange(5), 2), 3)
    folds = np.repeat(np.arange(3), 10)
    x = rng.normal(size=(cond.size, 6))
    _, _, _, prec = _data(13, p=6)
    got = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec)
    np.testing.assert_allclose(got, _crossnobis_loop(x, cond, folds, prec), rtol=RTOL, atol=ATOL)
    # conditions with different counts, but each the same in every fold (still balanced)
    cond2 = np.tile(np.array([0, 0, 0, 1, 2, 2, 3, 4]), 3)
    folds2 = np.repeat(np.arange(3), 8)
    x2 = rng.normal(size=(2, cond2.size, 6)) - 3.0
    got2 = compute_rdm(x2, "crossnobis", conditions=cond2, folds=folds2, noise=prec)
    for s in range(2):
        np.testing.assert_allclose(got2[s], _crossnobis_loop(x2[s], cond2, folds2, prec), rtol=RTOL, atol=ATOL)


def test_crossnobis_indefinite_noise_refused():
    # a symmetric but not positive-definite "precision" is refused (it gave negative distances)
    x, cond, folds, _ = _data(14, n_rep=3)
    lam = np.diag([1.0, 2.0, -0.5, 1.0, 0.3])
    for dtype in ("float64", "float32"):
        with pytest.raises(ValueError, match=r"noise must be positive definite; smallest eigenvalue -0\.5"):
            compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=lam, dtype=dtype)
    # the torch path (float32 here) agrees with the float64 BLAS path
    _, _, _, prec = _data(14, n_rep=3)
    a = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec)
    b = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=prec, dtype="float32")
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- low-rank (Woodbury) precision
def _residuals(n, p, seed):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(p, p)) / np.sqrt(p)
    return rng.normal(size=(n, p)) @ mix + 0.3 * rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, p)


@pytest.mark.parametrize("n, p", [(12, 30), (60, 15)])  # P > n_res, and P < n_res (factor compressed to P)
@pytest.mark.parametrize("method", ["shrinkage_diag", "shrinkage_eye", "diag"])
def test_low_rank_precision_equals_dense_inverse(n, p, method):
    from neurodyn.rsa.rdm import LowRankPrecision

    r = _residuals(n, p, 21)
    keep = r.copy()
    dense = noise_precision(r, method)
    lr = noise_precision(r, method, structured=True)
    assert isinstance(lr, LowRankPrecision) and lr.shape == (p, p) and lr.ndim == 2
    assert lr.factor.shape[1] == (0 if method == "diag" else min(n, p))
    scale = np.abs(dense).max()
    np.testing.assert_allclose(lr.toarray(), dense, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(np.asarray(lr), dense, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_array_equal(r, keep)
    # per-subject residuals: one precision per subject
    r3 = np.stack([_residuals(n, p, 22), _residuals(n, p, 23)])
    lr3 = noise_precision(r3, method, structured=True)
    assert lr3.shape == (2, p, p)
    np.testing.assert_allclose(lr3.toarray(), noise_precision(r3, method), rtol=1e-10, atol=1e-10 * scale)


def test_low_rank_precision_full_method_falls_back_exactly():
    from neurodyn.rsa.rdm import LowRankPrecision

    r = _residuals(40, 8, 24)
    lr = noise_precision(r, "full", structured=True)
    dense = np.linalg.inv(np.cov(r.T))
    np.testing.assert_allclose(lr.toarray(), dense, rtol=1e-10, atol=1e-10 * np.abs(dense).max())
    split = LowRankPrecision.from_dense(dense)
    np.testing.assert_allclose(split.toarray(), dense, rtol=1e-10, atol=1e-10 * np.abs(dense).max())


@pytest.mark.parametrize("n_res", [10, 40])  # P = 16 channels: P > n_res and P < n_res
@pytest.mark.parametrize("per_subject", [False, True])
def test_compute_rdm_with_low_rank_precision_equals_dense(n_res, per_subject):
    rng = np.random.default_rng(25)
    n_sub, n_cond, n_rep, p = 3, 6, 4, 16
    cond = np.tile(np.arange(n_cond), n_rep)
    folds = np.repeat(np.arange(n_rep), n_cond)
    x = rng.normal(size=(n_sub, cond.size, p)) + 1.0
    if per_subject:
        resid = np.stack([_residuals(n_res, p, 30 + s) for s in range(n_sub)])
    else:
        resid = _residuals(n_res, p, 30)
    # unbalanced folds: one extra observation of condition 0 in fold 1 (general torch path)
    cond_u = np.concatenate([cond, [0]])
    folds_u = np.concatenate([folds, [1]])
    x_u = np.concatenate([x, rng.normal(size=(n_sub, 1, p))], axis=1)
    for method in ("shrinkage_diag", "shrinkage_eye"):
        dense = noise_precision(resid, method)
        lr = noise_precision(resid, method, structured=True)
        cases = [
            dict(patterns=x, method="crossnobis", conditions=cond, folds=folds),  # balanced: BLAS path
            dict(patterns=x, method="crossnobis", conditions=cond, folds=folds, remove_mean=True),
            dict(patterns=x_u, method="crossnobis", conditions=cond_u, folds=folds_u),  # unbalanced
            dict(patterns=x, method="mahalanobis", conditions=cond),
        ]
        for kw in cases:
            want = compute_rdm(noise=dense, **kw)
            got = compute_rdm(noise=lr, **kw)
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
            # each subject also matches the slow one-fold-at-a-time reference
            if kw["method"] == "crossnobis" and not kw.get("remove_mean"):
                for s in range(n_sub):
                    lam = dense[s] if per_subject else dense
                    ref = _crossnobis_loop(kw["patterns"][s], kw["conditions"], kw["folds"], lam)
                    np.testing.assert_allclose(got[s], ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
        # the general torch path in float32 agrees too
        got32 = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=lr, dtype="float32")
        want = compute_rdm(x, "crossnobis", conditions=cond, folds=folds, noise=dense)
        np.testing.assert_allclose(got32, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_low_rank_crossnobis_vs_rsatoolbox():
    pytest.importorskip("rsatoolbox", reason="rsatoolbox (bench extra) not installed")
    from rsatoolbox.data import Dataset
    from rsatoolbox.data.noise import prec_from_residuals
    from rsatoolbox.rdm import calc_rdm

    rng = np.random.default_rng(26)
    n_cond, n_rep, p = 7, 3, 20
    cond = np.tile(np.arange(n_cond), n_rep)
    run = np.repeat(np.arange(n_rep), n_cond)
    x = rng.normal(size=(2, cond.size, p))
    resid = _residuals(12, p, 27)
    for method in ("shrinkage_diag", "shrinkage_eye"):
        prec = prec_from_residuals(resid.copy(), method=method)
        ref = np.vstack([calc_rdm(Dataset(xs, obs_descriptors={"cond": cond, "run": run}), method="crossnobis",
                                  descriptor="cond", cv_descriptor="run", noise=prec).get_vectors() for xs in x])
        got = compute_rdm(x, "crossnobis", conditions=cond, folds=run,
                          noise=noise_precision(resid, method, structured=True))
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10 * np.abs(ref).max())


def test_low_rank_precision_errors():
    from neurodyn.rsa.rdm import LowRankPrecision

    with pytest.raises(ValueError, match="diag must be > 0"):
        LowRankPrecision(np.array([1.0, 0.0]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"factor must have shape \(3, 'm'\)"):
        LowRankPrecision(np.ones(3), np.zeros((2, 1)))
    lr = noise_precision(_residuals(10, 6, 28), structured=True)
    x = np.random.default_rng(0).normal(size=(8, 5))
    with pytest.raises(ValueError, match="noise must be a precision over n_channels = 5"):
        compute_rdm(x, "mahalanobis", noise=lr)
    with pytest.raises(ValueError, match="residuals needs at least 2 rows"):
        noise_precision(np.ones((1, 4)), structured=True)
    with pytest.raises(ValueError, match="method must be one of"):
        noise_precision(_residuals(10, 6, 28), "bogus", structured=True)
