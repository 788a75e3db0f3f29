"""Bootstrap and permutation inference: batched paths equal explicit loops; calibrated nulls."""

import numpy as np
import pytest

from neurodyn.compare import bootstrap_metric, linear_cka, permutation_test, rbf_cka, shape_distance


def _pair(rng, n=30, related=True):
    X = rng.standard_normal((n, 6))
    Y = (X @ rng.standard_normal((6, 8)) if related else 0) + rng.standard_normal((n, 8))
    return X, Y


@pytest.mark.parametrize("name,fn", [
    ("linear_cka", lambda a, b: linear_cka(a, b)),
    ("debiased_linear_cka", lambda a, b: linear_cka(a, b, debiased=True)),
])
def test_batched_bootstrap_equals_loop_over_resamples(name, fn):
    rng = np.random.default_rng(0)
    X, Y = _pair(rng)
    fast = bootstrap_metric(name, X, Y, n_bootstrap=40, random_state=1)
    slow = bootstrap_metric(fn, X, Y, n_bootstrap=40, random_state=1)
    np.testing.assert_allclose(fast["samples"], slow["samples"], rtol=1e-10)
    assert fast["estimate"] == pytest.approx(fn(X, Y), rel=1e-12)
    # the same resampled indices, drawn independently here
    idx = np.random.default_rng(1).integers(0, 30, size=(40, 30))
    assert slow["samples"][7] == pytest.approx(fn(X[idx[7]], Y[idx[7]]), rel=1e-12)
    se = np.std(slow["samples"], ddof=1)
    assert slow["se"] == pytest.approx(se)
    # normal interval centred on the estimate (z = 1.959964 for 95 %)
    est = slow["estimate"]
    assert (slow["ci_low"], slow["ci_high"]) == pytest.approx((est - 1.959964 * se, est + 1.959964 * se))


def test_rbf_fast_path_uses_full_data_bandwidth():
    rng = np.random.default_rng(2)
    X, Y = _pair(rng, n=20)
    res = bootstrap_metric("rbf_cka", X, Y, n_bootstrap=5, random_state=3)
    assert res["estimate"] == pytest.approx(rbf_cka(X, Y), rel=1e-10)
    assert np.all((res["samples"] > 0) & (res["samples"] <= 1))


def test_permutation_test_fast_equals_loop_and_is_calibrated():
    rng = np.random.default_rng(4)
    X, Y = _pair(rng, n=25)
    fast = permutation_test("linear_cka", X, Y, n_permutations=50, random_state=5)
    slow = permutation_test(lambda a, b: linear_cka(a, b), X, Y, n_permutations=50, random_state=5)
    np.testing.assert_allclose(fast["null"], slow["null"], rtol=1e-10)
    assert fast["p_value"] == pytest.approx(1 / 51)
    # under the null the p-values are roughly uniform
    pvals = []
    for seed in range(40):
        r = np.random.default_rng(100 + seed)
        Xn, Yn = _pair(r, n=15, related=False)
        pvals.append(permutation_test("linear_cka", Xn, Yn, n_permutations=99, random_state=seed)["p_value"])
    pvals = np.array(pvals)
    assert 0.03 <= np.mean(pvals <= 0.2) <= 0.4
    assert 0.35 <= np.mean(pvals) <= 0.65
    # distances: alternative="less"
    d = permutation_test(lambda a, b: shape_distance(a, b), X, Y, n_permutations=30,
                         alternative="less", random_state=0)
    assert d["p_value"] == pytest.approx(1 / 31)


def test_subject_bootstrap_resamples_and_averages_subjects():
    rng = np.random.default_rng(6)
    n_subj, n = 5, 20
    X = rng.standard_normal((n, 4))
    Y = X[None] @ rng.standard_normal((4, 6)) + 2.0 * rng.standard_normal((n_subj, n, 6))
    fn = lambda a, b: linear_cka(a, b)  # noqa: E731
    res = bootstrap_metric(fn, X, Y, n_bootstrap=10, resample="subjects", random_state=7)
    assert res["estimate"] == pytest.approx(fn(X, Y.mean(0)), rel=1e-12)
    subj = np.random.default_rng(7)
    subj_idx = subj.integers(0, n_subj, size=(10, n_subj))
    assert res["samples"][3] == pytest.approx(fn(X, Y[subj_idx[3]].mean(0)), rel=1e-12)
    both = bootstrap_metric(fn, X, Y, n_bootstrap=10, resample="both", random_state=7)
    g = np.random.default_rng(7)
    ci = g.integers(0, n, size=(10, n))
    si = g.integers(0, n_subj, size=(10, n_subj))
    assert both["samples"][2] == pytest.approx(fn(X[ci[2]], Y[si[2]].mean(0)[ci[2]]), rel=1e-12)


def test_inference_input_errors():
    rng = np.random.default_rng(8)
    X, Y = _pair(rng, n=10)
    with pytest.raises(ValueError, match="same number of conditions"):
        bootstrap_metric("linear_cka", X, Y[:9], n_bootstrap=5)
    with pytest.raises(ValueError, match="metric must be one of"):
        bootstrap_metric("procrustes", X, Y)
    with pytest.raises(ValueError, match="to resample subjects"):
        bootstrap_metric("linear_cka", X, Y, resample="subjects")
    with pytest.raises(ValueError, match="confidence must be in"):
        bootstrap_metric("linear_cka", X, Y, confidence=95)
    Yn = Y.copy()
    Yn[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y must be finite"):
        permutation_test("linear_cka", X, Yn, n_permutations=5)
    with pytest.raises(ValueError, match="at least 3 conditions"):
        permutation_test("linear_cka", X[:2], Y[:2])


def test_interval_contains_estimate_even_when_resamples_are_biased():
    from neurodyn.compare import compare_representations

    rng = np.random.default_rng(0)
    model = rng.normal(size=(120, 40))
    brain = model @ rng.normal(size=(40, 20)) + 0.5 * rng.normal(size=(120, 20))
    table = compare_representations(model, brain, methods=("cka", "procrustes"), cv=3,
                                    n_bootstrap=30, random_state=0)
    assert len(table) == 2
    for row in table:
        assert row["ci_low"] <= row["score"] <= row["ci_high"], row
