"""CKA and shape metrics in float32 and float64 across data scales 1e-15 ... 1e15 (and beyond).

Each property is checked against a plain numpy float64 formula evaluated on the
unscaled data. Stated tolerances (also in the docstrings of the metrics):
float64 within 1e-9 of the reference; float32 within 1e-4 (CKA) and 1e-3 rad
(angular shape distance) at any scale.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist, squareform

from neurodyn.compare import (
    RBFCKA,
    EncodingModel,
    LinearCKA,
    ShapeMetric,
    cka_matrix,
    cross_validated_encoding,
    cross_validated_shape_distance,
    hsic,
    linear_cka,
    pairwise_shape_distances,
    pearson_r_columns,
    rbf_cka,
    ridge_cv,
    shape_distance,
    split_half_noise_ceiling,
)

FAST = settings(max_examples=12, deadline=None, derandomize=True)
TOL = {"float64": 1e-9, "float32": 1e-4}
TOL_SHAPE = {"float64": 1e-9, "float32": 1e-3}


def _pair(seed, n, p, q):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + rng.standard_normal(p)  # with an offset per feature
    Y = X[:, : min(p, q)] @ rng.standard_normal((min(p, q), q)) + rng.standard_normal((n, q))
    return X, Y


def ref_linear_cka(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Kx, Ky = Xc @ Xc.T, Yc @ Yc.T
    return float(np.sum(Kx * Ky) / (np.linalg.norm(Kx) * np.linalg.norm(Ky)))


def ref_rbf_cka(X, Y):
    def gram(A):
        d2 = squareform(pdist(A, "sqeuclidean"))
        K = np.exp(-d2 / (2.0 * np.median(pdist(A, "sqeuclidean"))))
        H = np.eye(len(A)) - 1.0 / len(A)
        return H @ K @ H
    Kx, Ky = gram(X), gram(Y)
    return float(np.sum(Kx * Ky) / (np.linalg.norm(Kx) * np.linalg.norm(Ky)))


def ref_procrustes(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    nuc = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum()
    return float(np.arccos(np.clip(nuc / (np.linalg.norm(Xc) * np.linalg.norm(Yc)), -1, 1)))


def ref_procrustes_euclidean(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    nuc = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum()
    d2 = np.sum(Xc ** 2) + np.sum(Yc ** 2) - 2 * nuc
    return float(np.sqrt(max(d2, 0.0) / len(X)))


pairs = st.tuples(st.integers(0, 10_000), st.integers(6, 30), st.integers(1, 12), st.integers(1, 12))
scales = st.integers(-15, 15).map(lambda e: 10.0 ** e)
dtypes = st.sampled_from(["float32", "float64"])


@FAST
@given(pairs, scales, scales, dtypes)
def test_linear_cka_scale_invariant_in_both_precisions(shape, sx, sy, dtype):
    X, Y = _pair(*shape)
    ref = ref_linear_cka(X, Y)
    assert linear_cka(X * sx, Y * sy, dtype=dtype, device="cpu") == pytest.approx(ref, abs=TOL[dtype])
    # the torch path (time-resolved input) agrees as well
    got = linear_cka((X * sx)[:, None, :], Y * sy, dtype=dtype, device="cpu")
    assert got[0] == pytest.approx(ref, abs=TOL[dtype])


@FAST
@given(pairs, scales, dtypes)
def test_rbf_cka_scale_invariant_in_both_precisions(shape, s, dtype):
    X, Y = _pair(*shape)
    ref = ref_rbf_cka(X, Y)
    assert rbf_cka(X * s, Y / s, dtype=dtype, device="cpu") == pytest.approx(ref, abs=TOL[dtype])


@FAST
@given(pairs, scales, dtypes)
def test_rbf_cka_fixed_sigma_follows_the_data_units(shape, s, dtype):
    X, Y = _pair(*shape)
    # a fixed bandwidth in data units: scaling data and sigma together changes nothing
    ref = rbf_cka(X, Y, sigma=3.0, device="cpu")
    got = rbf_cka(X * s, Y * s, sigma=3.0 * s, dtype=dtype, device="cpu")
    assert got == pytest.approx(ref, abs=TOL[dtype])


@FAST
@given(pairs, scales, dtypes, st.integers(0, 2**31 - 1))
def test_cka_permutation_invariance(shape, s, dtype, seed):
    X, Y = _pair(*shape)
    rng = np.random.default_rng(seed)
    rows, cx, cy = rng.permutation(len(X)), rng.permutation(X.shape[1]), rng.permutation(Y.shape[1])
    a = linear_cka(X * s, Y, dtype=dtype, device="cpu")
    b = linear_cka((X * s)[rows][:, cx], Y[rows][:, cy], dtype=dtype, device="cpu")
    assert b == pytest.approx(a, abs=TOL[dtype])
    a = rbf_cka(X * s, Y, dtype=dtype, device="cpu")
    b = rbf_cka((X * s)[rows][:, cx], Y[rows][:, cy], dtype=dtype, device="cpu")
    assert b == pytest.approx(a, abs=TOL[dtype])


@FAST
@given(pairs, scales, dtypes)
def test_procrustes_scale_invariant_in_both_precisions(shape, s, dtype):
    X, Y = _pair(*shape)
    ref = ref_procrustes(X, Y)
    assert shape_distance(X * s, Y / s, dtype=dtype, device="cpu") == pytest.approx(
        ref, abs=TOL_SHAPE[dtype])
    D = pairwise_shape_distances([X * s, Y], dtype=dtype, device="cpu")
    assert D[0, 1] == pytest.approx(ref, abs=TOL_SHAPE[dtype])
    m = ShapeMetric(dtype=dtype, device="cpu").fit(X * s, Y)
    assert m.distance_ == pytest.approx(ref, abs=TOL_SHAPE[dtype])
    assert m.score(X * s, Y) == pytest.approx(ref, abs=TOL_SHAPE[dtype])


@FAST
@given(pairs, scales, dtypes)
def test_euclidean_shape_distance_scales_with_the_data(shape, s, dtype):
    X, Y = _pair(*shape)
    ref = ref_procrustes_euclidean(X, Y)
    got = shape_distance(X * s, Y * s, score_method="euclidean", dtype=dtype, device="cpu")
    assert got == pytest.approx(ref * s, rel=TOL_SHAPE[dtype] * 10)


@FAST
@given(pairs, scales, dtypes, st.integers(0, 2**31 - 1))
def test_shape_permutation_invariance(shape, s, dtype, seed):
    X, Y = _pair(*shape)
    rng = np.random.default_rng(seed)
    rows, cx = rng.permutation(len(X)), rng.permutation(X.shape[1])
    a = shape_distance(X * s, Y, dtype=dtype, device="cpu")
    b = shape_distance((X * s)[rows][:, cx], Y[rows], dtype=dtype, device="cpu")
    assert b == pytest.approx(a, abs=TOL_SHAPE[dtype])


@FAST
@given(pairs, st.floats(0.0, 1.0), scales)
def test_partial_whitening_float32_matches_float64(shape, alpha, s):
    X, Y = _pair(*shape)
    a = shape_distance(X * s, Y * s, alpha=alpha, dtype="float64", device="cpu")
    b = shape_distance(X * s, Y * s, alpha=alpha, dtype="float32", device="cpu")
    assert b == pytest.approx(a, abs=TOL_SHAPE["float32"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_issue_cases_cka(dtype):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 30))
    B = A @ rng.standard_normal((30, 20)) + rng.standard_normal((50, 20))
    ref = ref_linear_cka(A, B)
    # before: 1.913 in float32 at 1e-13, "X has no variance" at 1e-14, 0.0 in float64 at 1e80
    for s in (1e-300, 1e-14, 1e-13, 1e6, 1e80, 1e300):
        assert linear_cka(A * s, B * s, dtype=dtype, device="cpu") == pytest.approx(ref, abs=TOL[dtype])
        assert cka_matrix([A * s], [B * s], dtype=dtype, device="cpu")[0, 0] == pytest.approx(
            ref, abs=TOL[dtype])
    for est in (LinearCKA(dtype=dtype, device="cpu"), RBFCKA(dtype=dtype, device="cpu")):
        assert 0.0 <= est.fit(A * 1e-14, B * 1e14).similarity_ <= 1.0


def test_issue_case_wide_float32():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((300, 2048))
    B = A + 0.3 * rng.standard_normal((300, 2048))
    ref = ref_linear_cka(A, B)
    # before: 0.0 at 1000 x 4096 x 1e6 in float32
    assert linear_cka(A * 1e6, B * 1e6, dtype="float32", device="cpu") == pytest.approx(ref, abs=1e-4)


def test_no_variance_is_judged_relative_to_the_data_scale():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((10, 3))
    const = np.full((10, 3), 5.0)
    with pytest.raises(ValueError, match="X has no variance across conditions"):
        linear_cka(const, X)
    # rounding-level variation on a large offset is no variance either
    with pytest.raises(ValueError, match="Y has no variance.*rounding"):
        linear_cka(X, 1e8 + 1e-9 * X[:, :2], dtype="float64")
    with pytest.raises(ValueError, match="X has no variance"):
        shape_distance(const, X)
    # tiny but real variation is not refused
    assert linear_cka(X * 1e-250, X, device="cpu") == pytest.approx(1.0, abs=1e-12)


def test_shape_metric_extreme_scale_float32_held_out():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 6))
    Y = X @ rng.standard_normal((6, 6)) + 0.5 * rng.standard_normal((40, 6))
    ref = cross_validated_shape_distance(X, Y, cv=4, random_state=0, dtype="float64", device="cpu")
    for s in (1e-15, 1e15, 1e100):
        got = cross_validated_shape_distance(X * s, Y, cv=4, random_state=0, dtype="float32",
                                             device="cpu")
        assert got["distance"] == pytest.approx(ref["distance"], abs=TOL_SHAPE["float32"])
    m = ShapeMetric(score_method="euclidean", dtype="float32", device="cpu").fit(X * 1e12, Y * 1e12)
    m64 = ShapeMetric(score_method="euclidean", dtype="float64", device="cpu").fit(X, Y)
    assert m.score(X * 1e12, Y * 1e12) == pytest.approx(m64.score(X, Y) * 1e12, rel=1e-3)
    Xa, Ya = m.align(X * 1e12, Y * 1e12)
    Xa64, Ya64 = m64.align(X, Y)
    # the aligned space is defined up to one rotation shared by both sides: compare X_a Y_a^T
    cross, cross64 = Xa @ Ya.T, (Xa64 @ Ya64.T) * 1e24
    np.testing.assert_allclose(cross, cross64, rtol=0, atol=1e-3 * np.abs(cross64).max())


def test_hsic_bilinear_at_extreme_scales():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((12, 5))
    K = A @ A.T
    L = np.exp(-squareform(pdist(rng.standard_normal((12, 3)))) ** 2)
    H = np.eye(12) - 1.0 / 12
    ref = np.trace(K @ H @ L @ H) / 11 ** 2
    assert hsic(K, L) == pytest.approx(ref, rel=1e-12)
    assert hsic(K * 1e-200, L * 1e150) == pytest.approx(ref * 1e-50, rel=1e-12)
    with pytest.raises(ValueError, match="beyond the float64 range"):
        hsic(K * 1e200, L * 1e200)


# ---------------------------------------------------------------- encoding
def _regression(seed, n=40, p=6, m=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 3.0
    Y = X @ rng.standard_normal((p, m)) + rng.standard_normal((n, m))
    return X, Y


@FAST
@given(st.integers(0, 10_000), scales, scales)
def test_ridge_cv_float32_matches_float64_at_any_scale(seed, sx, sy):
    X, Y = _regression(seed)
    ref = ridge_cv(X * sx, Y * sy, alphas=np.logspace(-3, 3, 7), dtype="float64", device="cpu")
    got = ridge_cv(X * sx, Y * sy, alphas=np.logspace(-3, 3, 7), dtype="float32", device="cpu")
    # the same penalty, and predictions within 1e-4 of the targets' scale
    pred_ref = (X * sx) @ ref["coef"] + ref["intercept"]
    pred = (X * sx) @ got["coef"] + got["intercept"]
    np.testing.assert_allclose(pred, pred_ref, rtol=0, atol=1e-4 * np.abs(Y * sy).max())
    np.testing.assert_allclose(got["cv_errors"], ref["cv_errors"], rtol=1e-3)


def test_ridge_cv_equals_sklearn_at_extreme_scales():
    from sklearn.linear_model import RidgeCV
    X, Y = _regression(7)
    alphas = np.logspace(-3, 3, 7)
    for s in (1e-12, 1e12):
        # a scale-matched grid gives the same problem as the unscaled one
        ref = RidgeCV(alphas=alphas * s * s, alpha_per_target=True).fit(X * s, Y)
        got = ridge_cv(X * s, Y, alphas=alphas * s * s, dtype="float32", device="cpu")
        np.testing.assert_array_equal(got["alpha"], ref.alpha_)
        np.testing.assert_allclose(got["coef"], ref.coef_.T, rtol=1e-3)


@pytest.mark.parametrize("s", [1e-15, 1e15, 1e100])
def test_encoding_model_float32_at_extreme_target_scales(s):
    X, Y = _regression(3)
    ref = EncodingModel(device="cpu", dtype="float64").fit(X, Y)
    got = EncodingModel(device="cpu", dtype="float32").fit(X * 1e-3, Y * s)
    np.testing.assert_array_equal(got.alpha_, ref.alpha_)
    np.testing.assert_allclose(got.predict(X * 1e-3) / s, ref.predict(X), rtol=0,
                               atol=1e-4 * np.abs(Y).max())
    assert got.score(X * 1e-3, Y * s) == pytest.approx(ref.score(X, Y), abs=1e-4)


@pytest.mark.parametrize("s", [1e-15, 1e15, 1e100])
def test_cross_validated_encoding_float32_at_extreme_scales(s):
    X, Y = _regression(4, n=50)
    ref = cross_validated_encoding(X, Y, cv=5, random_state=0, device="cpu", dtype="float64")
    got = cross_validated_encoding(X * s, Y / s, cv=5, random_state=0, device="cpu", dtype="float32")
    np.testing.assert_allclose(got["r"], ref["r"], atol=1e-4)
    raw = cross_validated_encoding(X * s, Y / s, cv=5, standardize=False, random_state=0,
                                   device="cpu", dtype="float32",
                                   alphas=np.logspace(-3, 3, 7) * s * s)
    ref_raw = cross_validated_encoding(X, Y, cv=5, standardize=False, random_state=0,
                                       device="cpu", dtype="float64", alphas=np.logspace(-3, 3, 7))
    np.testing.assert_allclose(raw["r"], ref_raw["r"], atol=1e-4)


def test_pearson_and_noise_ceiling_at_extreme_scales():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((30, 4))
    B = A + rng.standard_normal((30, 4))
    ref = np.array([np.corrcoef(A[:, j], B[:, j])[0, 1] for j in range(4)])
    np.testing.assert_allclose(pearson_r_columns(A * 1e200, B * 1e-200), ref, atol=1e-12)
    reps = rng.standard_normal((6, 20, 3)) + 2.0 * rng.standard_normal((1, 20, 3))
    c64 = split_half_noise_ceiling(reps, n_splits=20, random_state=0, device="cpu", dtype="float64")
    c32 = split_half_noise_ceiling(reps * 1e30 + 1e31, n_splits=20, random_state=0, device="cpu",
                                   dtype="float32")
    np.testing.assert_allclose(c32, c64, atol=1e-4)


@FAST
@given(pairs, st.sampled_from([1e-300, 1e-45, 1e-30, 1.0, 1e30, 1e45, 1e300]), st.booleans())
def test_linear_cka_numpy_path_equals_the_rescaled_paths(shape, s, debiased):
    """Plain float64 arrays are centred in numpy and divided by their spread only outside
    2^-128..2^128 (both branches are drawn); the value equals the always-rescaled paths
    (torch input, time-resolved torch, float32) and the float64 formula on unscaled data."""
    from neurodyn.compare.cka import _SAFE_SPREAD, _centred_float64

    X, Y = _pair(*shape)
    if debiased and X.shape[0] < 4:
        return
    Xs, Ys = X * s, Y * s
    Xs_before = Xs.copy()
    centred = _centred_float64(Xs, 2)
    spread = np.abs(Xs - Xs.mean(0)).max()
    in_range = _SAFE_SPREAD[0] <= spread <= _SAFE_SPREAD[1]
    # the branch taken: unscaled inside the safe range, largest magnitude 1 outside it
    assert np.abs(centred).max() == pytest.approx(spread if in_range else 1.0, rel=1e-12)
    fast = linear_cka(Xs, Ys, debiased=debiased, device="cpu")
    np.testing.assert_array_equal(Xs, Xs_before)
    rescaled = linear_cka(torch.from_numpy(Xs), torch.from_numpy(Ys), debiased=debiased, device="cpu")
    in_torch = linear_cka(Xs[:, None, :], Ys, debiased=debiased, device="cpu")[0]
    single = linear_cka(Xs, Ys, debiased=debiased, device="cpu", dtype="float32")
    assert fast == pytest.approx(rescaled, abs=1e-12)
    assert fast == pytest.approx(in_torch, abs=1e-12)
    assert single == pytest.approx(fast, abs=TOL["float32"])
    if not debiased:
        assert fast == pytest.approx(ref_linear_cka(X, Y), abs=TOL["float64"])


def test_linear_cka_numpy_path_refuses_bad_input_with_the_general_messages():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((12, 5))
    for bad, what in ((np.nan, "1 NaN and 0 Inf"), (np.inf, "0 NaN and 1 Inf")):
        Xb = X.copy()
        Xb[3, 2] = bad
        with pytest.raises(ValueError, match=f"X must be finite; got {what}"):
            linear_cka(Xb, X, device="cpu")
        with pytest.raises(ValueError, match=f"Y must be finite; got {what}"):
            linear_cka(X, Xb, debiased=True, device="cpu")
    with pytest.raises(ValueError, match="Y has no variance across conditions.*rounding"):
        linear_cka(X, 1e8 + 1e-9 * X, device="cpu")
    with pytest.raises(ValueError, match="X needs at least 4 conditions"):
        linear_cka(X[:3], X[:3], debiased=True, device="cpu")
