"""Ridge encoding: parity with scikit-learn, planted maps, chance, noise ceilings, errors."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.preprocessing import StandardScaler

from neurodyn.compare import (
    EncodingModel,
    cross_validated_encoding,
    ridge_cv,
    split_half_noise_ceiling,
)

GRID = np.logspace(-3, 3, 7)


def _problem(rng, n, p, m, noise):
    X = rng.standard_normal((n, p)) * rng.uniform(0.2, 3.0, p) + rng.standard_normal(p)
    W = rng.standard_normal((p, m)) * (rng.uniform(size=(1, m)) < 0.5)  # some targets pure noise
    Y = X @ W + noise * rng.standard_normal((n, m)) * rng.uniform(0.1, 5, m) + 3.0
    return X, Y


@pytest.mark.parametrize("n,p", [(60, 8), (20, 45)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_per_target_alphas_equal_sklearn_ridgecv(n, p, fit_intercept):
    rng = np.random.default_rng(n + p)
    X, Y = _problem(rng, n, p, 12, noise=2.0)
    ref = RidgeCV(alphas=GRID, alpha_per_target=True, fit_intercept=fit_intercept).fit(X, Y)
    ours = ridge_cv(X, Y, alphas=GRID, fit_intercept=fit_intercept)
    assert len(set(ref.alpha_)) > 1  # the problem does exercise per-target choices
    np.testing.assert_array_equal(ours["alpha"], ref.alpha_)
    np.testing.assert_allclose(ours["coef"], ref.coef_.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours["intercept"], ref.intercept_, rtol=1e-8, atol=1e-10)
    # one target given as a vector
    one = ridge_cv(X, Y[:, 3], alphas=GRID, fit_intercept=fit_intercept)
    assert one["alpha"] == ref.alpha_[3]


def test_encoding_model_equals_ridgecv_on_standardized_features():
    rng = np.random.default_rng(1)
    X, Y = _problem(rng, 50, 10, 6, noise=3.0)
    Xs = StandardScaler().fit_transform(X)
    ref = RidgeCV(alphas=GRID, alpha_per_target=True).fit(Xs, Y)
    est = EncodingModel(alphas=GRID).fit(X, Y)
    np.testing.assert_array_equal(est.alpha_, ref.alpha_)
    Xn = rng.standard_normal((7, 10))
    np.testing.assert_allclose(est.predict(Xn), ref.predict((Xn - X.mean(0)) / X.std(0)),
                               rtol=1e-8, atol=1e-9)
    raw = EncodingModel(alphas=GRID, standardize=False).fit(X, Y)
    ref_raw = RidgeCV(alphas=GRID, alpha_per_target=True).fit(X, Y)
    np.testing.assert_array_equal(raw.alpha_, ref_raw.alpha_)
    np.testing.assert_allclose(raw.coef_, ref_raw.coef_.T, rtol=1e-8, atol=1e-10)


def test_kfold_alpha_selection_matches_a_loop_of_sklearn_ridges():
    rng = np.random.default_rng(2)
    X, Y = _problem(rng, 40, 6, 5, noise=3.0)
    est = EncodingModel(alphas=GRID, cv=4, standardize=False, random_state=3).fit(X, Y)
    folds = np.array_split(np.random.default_rng(3).permutation(40), 4)
    err = np.zeros((len(GRID), 5))
    for te in folds:
        tr = np.setdiff1d(np.arange(40), te)
        for i, a in enumerate(GRID):
            pred = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te])
            err[i] += ((Y[te] - pred) ** 2).sum(0)
    np.testing.assert_allclose(est.cv_errors_, err / 40, rtol=1e-9)
    np.testing.assert_array_equal(est.alpha_, GRID[np.argmin(err, axis=0)])
    refit = Ridge(alpha=est.alpha_[0]).fit(X, Y[:, 0])
    np.testing.assert_allclose(est.coef_[:, 0], refit.coef_, rtol=1e-8, atol=1e-10)


def test_recovers_planted_map_and_gives_chance_on_shuffled_targets():
    rng = np.random.default_rng(4)
    n, p, m = 240, 30, 40
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, m))
    Y = X @ W + 0.3 * np.sqrt(p) * rng.standard_normal((n, m))  # SNR 11: r <= 0.957
    est = EncodingModel(cv=5, random_state=0).fit(X[:180], Y[:180])
    r = est.score_targets(X[180:], Y[180:])
    assert r.shape == (m,)
    assert est.score(X[180:], Y[180:]) > 0.9
    assert np.median(r) > 0.9
    res = cross_validated_encoding(X, Y, cv=4, random_state=0)
    assert res["score"] > 0.9
    Y_shuffled = Y[rng.permutation(n)]
    null = cross_validated_encoding(X, Y_shuffled, cv=4, random_state=0)
    assert abs(null["score"]) < 0.1
    assert abs(np.mean(null["r"])) < 0.05
    # a reliability of 0.9 caps r at sqrt(0.9): the median is divided by that ceiling on r
    ceiled = cross_validated_encoding(X, Y, cv=4, random_state=0, noise_ceiling=np.full(m, 0.9))
    assert ceiled["ceiled_score"] == pytest.approx(ceiled["score"] / np.sqrt(0.9))
    assert ceiled["r_ceiling"] == pytest.approx(np.sqrt(0.9))


def test_high_dimensional_planted_map():
    """More features than conditions, as with model units vs voxels."""
    rng = np.random.default_rng(5)
    n, p, m = 120, 400, 50
    latent = rng.standard_normal((n, 5))
    X = latent @ rng.standard_normal((5, p)) + 0.5 * rng.standard_normal((n, p))
    Y = latent @ rng.standard_normal((5, m)) + 0.3 * rng.standard_normal((n, m))
    res = cross_validated_encoding(X, Y, cv=3, random_state=1)
    assert res["score"] > 0.9


def test_time_resolved_encoding_equals_per_time_loop():
    rng = np.random.default_rng(6)
    n, T = 40, 3
    X = rng.standard_normal((n, T, 5))
    Y = np.einsum("ntp,pm->ntm", X, rng.standard_normal((5, 4))) * np.array([1.0, 0.3, 0.0])[None, :, None]
    Y = Y + rng.standard_normal((n, T, 4))
    res = cross_validated_encoding(X, Y, cv=4, random_state=2)
    assert res["r"].shape == (T, 4) and res["score"].shape == (T,)
    for t in range(T):
        single = cross_validated_encoding(X[:, t], Y[:, t], cv=4, random_state=2)
        np.testing.assert_allclose(res["r"][t], single["r"], rtol=1e-9)
    assert res["score"][0] > res["score"][1] > res["score"][2]


def test_split_half_noise_ceiling_matches_theory():
    rng = np.random.default_rng(7)
    n_rep, n_cond, m = 8, 3000, 6
    signal_sd = np.array([1.0, 1.0, 0.5, 0.5, 2.0, 0.0001])
    noise_sd = 2.0
    signal = rng.standard_normal((n_cond, m)) * signal_sd
    repeats = signal[None] + noise_sd * rng.standard_normal((n_rep, n_cond, m))
    ceiling = split_half_noise_ceiling(repeats, n_splits=50, random_state=0)
    theory = signal_sd**2 / (signal_sd**2 + noise_sd**2 / n_rep)
    np.testing.assert_allclose(ceiling, theory, atol=0.06)
    half = split_half_noise_ceiling(repeats, n_splits=50, random_state=0, spearman_brown=False)
    theory_half = signal_sd**2 / (signal_sd**2 + noise_sd**2 / (n_rep / 2))
    np.testing.assert_allclose(half, theory_half, atol=0.06)


def test_encoding_input_errors():
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    with pytest.raises(ValueError, match="same number of conditions"):
        EncodingModel().fit(X, Y[:19])
    Yn = Y.copy()
    Yn[4, 1] = np.nan
    with pytest.raises(ValueError, match="y must be finite"):
        EncodingModel().fit(X, Yn)
    with pytest.raises(ValueError, match="too few conditions for cv=5"):
        EncodingModel(cv=5).fit(X[:8], Y[:8])
    with pytest.raises(ValueError, match="too few conditions for cv=10"):
        cross_validated_encoding(X, Y, cv=10)
    with pytest.raises(ValueError, match="alphas must be finite and positive"):
        ridge_cv(X, Y, alphas=[1.0, -1.0])
    with pytest.raises(ValueError, match="X has 2 features"):
        EncodingModel().fit(X, Y).predict(X[:, :2])
    with pytest.raises(ValueError, match="at least 2 repetitions"):
        split_half_noise_ceiling(rng.standard_normal((1, 10, 3)))
    with pytest.raises(ValueError, match="groups must have one entry per condition"):
        cross_validated_encoding(X, Y, cv=2, groups=np.arange(5))


def test_r_ceiling_is_the_best_r_in_a_simulation_with_known_reliability():
    """The noise ceiling on Pearson r is sqrt(reliability), in a simulation where both are known.

    Targets ``y = s + e`` with var(s) = 1 and noise variance set so the reliability of the
    measured mean is exactly ``rho``; the noiseless signal ``s`` (a perfect model) correlates
    with ``y`` at sqrt(rho), not rho, and an encoding model fitted on the true features scores
    a ceiled r of 1 within its sampling noise, never clearly above.
    """
    from neurodyn.compare.encoding import r_ceiling

    rng = np.random.default_rng(11)
    n_cond, n_rep, m, p = 600, 4, 200, 8
    for rho in (0.5, 0.8):
        noise_sd = np.sqrt(n_rep * (1 - rho) / rho)  # rho = 1 / (1 + noise_sd^2 / n_rep)
        F = rng.standard_normal((n_cond, p))
        signal = F @ rng.standard_normal((p, m))
        signal = (signal - signal.mean(0)) / signal.std(0)
        repeats = signal[None] + noise_sd * rng.standard_normal((n_rep, n_cond, m))
        Y = repeats.mean(0)
        rel = split_half_noise_ceiling(repeats, n_splits=20, random_state=0)
        assert abs(np.median(rel) - rho) < 0.03
        # the perfect model's r against the measured mean: sqrt(rho), independent of neurodyn
        r_perfect = np.array([np.corrcoef(signal[:, j], Y[:, j])[0, 1] for j in range(m)])
        assert abs(np.median(r_perfect) - np.sqrt(rho)) < 0.02
        assert abs(np.median(r_perfect) - rho) > 0.05  # the reliability itself is the wrong ceiling
        assert r_ceiling(np.median(rel)) == pytest.approx(np.sqrt(np.median(rel)))
        np.testing.assert_allclose(r_ceiling(rel), np.sqrt(rel))
        res = cross_validated_encoding(F, Y, cv=5, random_state=0, noise_ceiling=rel)
        # a model with the true features reaches the ceiling; sampling noise of a median over
        # 200 targets of r on 120 held-out conditions is ~0.01, of the reliability ~0.01
        assert abs(res["ceiled_score"] - 1.0) < 0.04, (rho, res["ceiled_score"])
        assert res["ceiled_score"] == pytest.approx(res["score"] / np.sqrt(np.median(rel)))
        model = EncodingModel().fit(F[:480], Y[:480])
        assert model.score(F[480:], Y[480:], noise_ceiling=rel) == pytest.approx(
            model.score(F[480:], Y[480:]) / np.sqrt(np.median(rel)))


def test_r_ceiling_refuses_a_reliability_outside_0_1():
    from neurodyn.compare.encoding import r_ceiling

    with pytest.raises(ValueError, match="reliability must be in"):
        r_ceiling(1.2)
    with pytest.raises(ValueError, match="reliability must be in"):
        r_ceiling(np.array([0.5, -0.1]))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("shape", [(10, 30), (12, 12), (30, 8)])
def test_leave_one_out_errors_of_a_nearly_interpolating_fit(fit_intercept, shape):
    """With as many features as samples and a vanishing alpha the fit interpolates, so the
    leave-one-out residual and 1 - h are both ~alpha; they were rounding noise (0 / 0, and
    ridge_cv raised 'beyond the float64 range'). Reference: brute-force leave-one-out in numpy."""
    rng = np.random.default_rng(3)
    n, p = shape
    X, Y = rng.standard_normal((n, p)), rng.standard_normal((n, 2))
    alphas = np.array([1e-14, 1e-3, 1.0, 100.0])
    out = ridge_cv(X, Y, alphas=alphas, fit_intercept=fit_intercept, device="cpu", dtype="float64")
    ref = np.zeros((alphas.size, 2))
    for a, alpha in enumerate(alphas):
        for i in range(n):
            keep = np.arange(n) != i
            Xt, Yt = X[keep], Y[keep]
            mx, my = (Xt.mean(0), Yt.mean(0)) if fit_intercept else (0.0, 0.0)
            Xc = Xt - mx
            if p >= n - 1:  # dual form: stable for the minimum-norm interpolating limit
                coef = Xc.T @ np.linalg.solve(Xc @ Xc.T + alpha * np.eye(n - 1), Yt - my)
            else:
                coef = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(p), Xc.T @ (Yt - my))
            ref[a] += ((X[i] - mx) @ coef + my - Y[i]) ** 2
    ref /= n
    np.testing.assert_allclose(out["cv_errors"], ref, rtol=1e-6)


def test_float32_ridge_coefficients_are_refined_to_the_float64_answer():
    """The float32 path solves through the float32 Gram spectrum (error ~ cond^2 eps_32 = 6e-5
    relative here) and refines in float64; the reference is numpy's float64 solve."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 20)) * np.logspace(0, -2, 20)  # condition number ~100
    Y = X @ rng.standard_normal((20, 3)) + 0.1 * rng.standard_normal((60, 3))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    exact = np.linalg.solve(Xc.T @ Xc + 1e-3 * np.eye(20), Xc.T @ Yc)
    out = ridge_cv(X, Y, alphas=[1e-3], device="cpu", dtype="float32")
    assert np.abs(out["coef"] - exact).max() < 1e-7 * np.abs(exact).max()
    np.testing.assert_allclose(out["intercept"], Y.mean(0) - X.mean(0) @ exact, atol=1e-8)


def test_pearson_r_columns_warns_for_constant_columns():
    from neurodyn.compare.encoding import ConstantColumnWarning, pearson_r_columns

    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 3))
    b = rng.normal(size=(20, 3))
    b[:, 1] = 4.0
    with pytest.warns(ConstantColumnWarning, match=r"1 column\(s\) of A or B are constant \(columns \[1\]\)"):
        r = pearson_r_columns(a, b)
    assert np.isnan(r[1])
    for j in (0, 2):
        assert r[j] == pytest.approx(np.corrcoef(a[:, j], b[:, j])[0, 1], abs=1e-12)


def test_standardized_features_without_intercept_equal_ridgecv_and_inputs_stay_unchanged():
    """EncodingModel hands its centred, standardised copy to the solver without a second centring;
    without an intercept nothing is centred and the caller's arrays must not be divided in place."""
    rng = np.random.default_rng(11)
    X, Y = _problem(rng, 40, 6, 5, noise=0.5)
    X_before, Y_before = X.copy(), Y.copy()
    Xz = StandardScaler().fit_transform(X)
    for fit_intercept in (True, False):
        est = EncodingModel(alphas=GRID, fit_intercept=fit_intercept, device="cpu").fit(X, Y)
        ref = RidgeCV(alphas=GRID, alpha_per_target=True, fit_intercept=fit_intercept).fit(Xz, Y)
        np.testing.assert_array_equal(est.alpha_, ref.alpha_)
        np.testing.assert_allclose(est.coef_, ref.coef_.T, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(est.intercept_, np.broadcast_to(ref.intercept_, (5,)), atol=1e-9)
        raw = ridge_cv(X, Y, alphas=GRID, fit_intercept=fit_intercept, device="cpu")
        EncodingModel(alphas=GRID, fit_intercept=fit_intercept, standardize=False, device="cpu").fit(X, Y)
        ref_raw = RidgeCV(alphas=GRID, alpha_per_target=True, fit_intercept=fit_intercept).fit(X, Y)
        np.testing.assert_allclose(raw["coef"], ref_raw.coef_.T, rtol=1e-7, atol=1e-10)
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(Y, Y_before)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_penalty_underflowing_to_zero_gives_the_minimum_norm_fit(dtype):
    """X at 1e200 turns alpha = 1e-3 into 1e-3 / 1e400 = 0 on the rescaled problem; the null
    directions of a wide design then get weight 0 (no 0 / 0), as numpy's pseudo-inverse does."""
    rng = np.random.default_rng(12)
    X, Y = rng.standard_normal((20, 40)), rng.standard_normal((20, 3))
    out = ridge_cv(X * 1e200, Y, alphas=[1e-3], device="cpu", dtype=dtype)
    exact = np.linalg.pinv(X - X.mean(0)) @ (Y - Y.mean(0)) / 1e200
    assert np.all(np.isfinite(out["coef"])) and np.all(np.isfinite(out["cv_errors"]))
    np.testing.assert_allclose(out["coef"], exact, rtol=0,
                               atol=(1e-12 if dtype == "float64" else 1e-6) * np.abs(exact).max())
