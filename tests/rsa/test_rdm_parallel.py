"""compute_rdm(..., n_jobs=...): one subject per task over the parallel seam, equal to the batched pass."""

import numpy as np
import pytest
from joblib import parallel_config

from neurodyn.rsa.rdm import LowRankPrecision, compute_rdm, noise_precision

N_SUB, N_OBS, P = 3, 24, 6
COND = np.tile(np.arange(6), 4)
FOLDS = np.repeat(np.arange(4), 6)


def _data():
    rng = np.random.default_rng(0)
    # subjects at different scales: the batched pass normalises by the largest of all of them
    x = rng.standard_normal((N_SUB, N_OBS, P)) * np.array([1.0, 1e3, 1e-4])[:, None, None]
    rates = rng.poisson(3.0, (N_SUB, N_OBS, P)).astype(float)
    # per-subject precisions at different scales (the batch normalises by the largest)
    lam = noise_precision(rng.standard_normal((N_SUB, 30, P))) * np.array([1.0, 3e2, 7e-3])[:, None, None]
    return x, rates, lam


def _cases():
    x, rates, lam = _data()
    return [
        ("sqeuclidean", x, {}),
        ("sqeuclidean", x, {"remove_mean": True}),
        ("correlation", x, {}),
        ("mahalanobis", x, {}),
        ("mahalanobis", x, {"noise": lam[0]}),
        ("mahalanobis", x, {"noise": lam}),
        ("crossnobis", x, {"folds": FOLDS}),
        ("crossnobis", x, {"folds": FOLDS, "noise": lam}),
        ("poisson", rates, {}),
        ("poisson_cv", rates, {"folds": FOLDS}),
    ]


CASES = _cases()
IDS = [f"{m}-{'+'.join(kw) or 'plain'}" for m, _, kw in CASES]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("method", "data", "kw"), CASES, ids=IDS)
def test_n_jobs_equals_batched_bit_for_bit(method, data, kw, dtype):
    data_before = data.copy()
    ref = compute_rdm(data, method, conditions=COND, device="cpu", dtype=dtype, **kw)
    # the per-subject calls themselves equal the batched rows (what the parallel path relies on)
    for i in range(N_SUB):
        kwi = {**kw, "noise": kw["noise"][i]} if "noise" in kw and kw["noise"].ndim == 3 else kw
        alone = compute_rdm(data[i], method, conditions=COND, device="cpu", dtype=dtype, **kwi)
        if method.startswith("poisson") and dtype == "float32":
            # alone, a subject is normalised by its own power of two, and float32 logarithms round
            # differently at another one (~1e-7): the parallel path hands each subject the batch's
            np.testing.assert_allclose(alone, ref[i], rtol=0, atol=1e-5 * np.abs(ref[i]).max())
        else:
            assert np.array_equal(alone, ref[i])
    got = compute_rdm(data, method, conditions=COND, device="cpu", dtype=dtype, n_jobs=2, **kw)
    assert np.array_equal(got, ref)
    with parallel_config(backend="threading"):
        got = compute_rdm(data, method, conditions=COND, device="cpu", dtype=dtype, n_jobs=2, **kw)
    assert np.array_equal(got, ref)
    assert np.array_equal(data, data_before)


def test_n_jobs_unbalanced_crossnobis_and_low_rank_noise():
    x, _, _ = _data()
    xu = np.concatenate([x, 0.5 * x[:, :1]], axis=1)
    kw = dict(method="crossnobis", conditions=np.r_[COND, 0], folds=np.r_[FOLDS, 0], device="cpu")
    assert np.array_equal(compute_rdm(xu, n_jobs=2, **kw), compute_rdm(xu, **kw))

    rng = np.random.default_rng(1)
    low = noise_precision(rng.standard_normal((N_SUB, 4, P)), structured=True)  # 4 rows < 6 channels
    assert isinstance(low, LowRankPrecision)
    for method, extra in (("mahalanobis", {}), ("crossnobis", {"folds": FOLDS})):
        kw = dict(method=method, conditions=COND, noise=low, device="cpu", **extra)
        ref = compute_rdm(x, **kw)
        got = compute_rdm(x, n_jobs=2, **kw)
        # per subject: that subject's own diag - V V^T, checked against the dense precision
        dense = compute_rdm(x, **{**kw, "noise": low.toarray()})
        np.testing.assert_allclose(got, dense, rtol=1e-12, atol=0)
        # batched torch matmuls and single-subject ones round differently: a few ulps (measured 1e-16 relative)
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)


def test_n_jobs_single_subject_and_2d_unchanged():
    x, _, _ = _data()
    ref = compute_rdm(x[0], "correlation", conditions=COND, device="cpu")
    assert np.array_equal(compute_rdm(x[0], "correlation", conditions=COND, device="cpu", n_jobs=2), ref)
    assert np.array_equal(compute_rdm(x[:1], "correlation", conditions=COND, device="cpu", n_jobs=2), ref[None])


@pytest.mark.parametrize(("bad", "exc", "match"), [
    (0, ValueError, "n_jobs must be None, a positive integer"),
    (1.5, TypeError, "n_jobs must be None or an integer"),
    (True, TypeError, "n_jobs must be None or an integer"),
    ("2", TypeError, "n_jobs must be None or an integer"),
])
def test_bad_n_jobs_named(bad, exc, match):
    x, _, _ = _data()
    with pytest.raises(exc, match=match):
        compute_rdm(x, conditions=COND, n_jobs=bad)
    with pytest.raises(exc, match=match):
        compute_rdm(x[0], conditions=COND, n_jobs=bad)


def test_error_in_a_subject_names_it():
    x, _, lam = _data()
    lam = lam.copy()
    lam[2, 0, 0] = -1.0  # subject 2's precision is not positive definite
    with pytest.raises(ValueError, match="subject 2: noise must be positive definite"):
        compute_rdm(x, "mahalanobis", conditions=COND, noise=lam, device="cpu", n_jobs=2)
