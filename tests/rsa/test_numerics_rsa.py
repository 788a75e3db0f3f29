"""Property tests: RDMs and their comparisons at any data scale, in float32 and float64.

Documented tolerances (see :func:`neurodyn.rsa.compute_rdm`, :func:`neurodyn.rsa.compare_rdms`):
float64 results are scale-equivariant to 1e-12 (relative to the RDM's largest entry);
float32 results agree with float64 within 1e-5 of the largest entry (RDMs) and within
1e-5 absolute (similarities, which lie in [-1, 1]).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.rsa import COMPARE_METHODS, compare_rdms, compute_rdm, noise_precision

FAST = settings(max_examples=12, deadline=None, derandomize=True)
K, R, P = 6, 3, 10
COND = np.tile(np.arange(K), R)
# squared distances scale by s^2, correlation not at all; Poisson rates (with the prior
# rate scaled alike) scale linearly
METHODS = {"sqeuclidean": 2, "correlation": 0, "mahalanobis": 2, "crossnobis": 2, "poisson": 1,
           "poisson_cv": 1}


def _patterns(seed, offset=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(R * K, P)) + offset


def _kwargs(method, s, seed):
    if method in ("mahalanobis", "crossnobis"):
        return {"noise": noise_precision(np.random.default_rng(seed + 1).normal(size=(30, P)))}
    if method.startswith("poisson"):
        return {"prior_lambda": s}
    return {}


def _max_rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


exponents = st.integers(-15, 15)
seeds = st.integers(0, 10_000)


@pytest.mark.parametrize("method", list(METHODS))
@FAST
@given(seed=seeds, exp=exponents)
def test_rdm_scale_equivariance_and_float32(method, seed, exp):
    s = 10.0**exp
    x = _patterns(seed, offset=3.0)
    if method.startswith("poisson"):
        x = np.abs(x)
    base = compute_rdm(x, method, conditions=COND, **_kwargs(method, 1.0, seed))
    power = s ** METHODS[method]
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-5)):
        got = compute_rdm(x * s, method, conditions=COND, dtype=dtype, **_kwargs(method, s, seed))
        assert np.isfinite(got).all()
        assert _max_rel(got / power, base) < tol, (dtype, s)


@pytest.mark.parametrize("method", ["sqeuclidean", "correlation", "crossnobis", "poisson"])
@FAST
@given(seed=seeds, perm_seed=seeds)
def test_condition_permutation_permutes_the_rdm(method, seed, perm_seed):
    from scipy.spatial.distance import squareform

    x = _patterns(seed)
    if method == "poisson":
        x = np.abs(x)
    perm = np.random.default_rng(perm_seed).permutation(K)
    base = squareform(compute_rdm(x, method, conditions=COND))
    # relabel condition c as perm[c]: the RDM's rows and columns follow
    got = squareform(compute_rdm(x, method, conditions=perm[COND]), checks=False)
    np.testing.assert_allclose(got[np.ix_(perm, perm)], base, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", COMPARE_METHODS)
@FAST
@given(seed=seeds, exp_a=st.integers(-300, 300), exp_b=st.integers(-300, 300))
def test_comparison_scale_invariance_and_float32(method, seed, exp_a, exp_b):
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=(3, 21)) + 2.0
    b = rng.uniform(size=(2, 21)) + 2.0
    a[0] = np.round(a[0])  # a categorical model: ties
    base = compare_rdms(a, b, method)
    sa, sb = 10.0**exp_a, 10.0**exp_b
    np.testing.assert_allclose(compare_rdms(a * sa, b * sb, method), base, rtol=1e-10, atol=1e-12)
    if abs(exp_a) <= 30 and abs(exp_b) <= 30:  # float32's range: the input must be representable
        got32 = compare_rdms(a * sa, b * sb, method, dtype="float32")
        np.testing.assert_allclose(got32, base, atol=1e-5)


@pytest.mark.parametrize("method", ["sqeuclidean", "crossnobis"])
def test_float32_keeps_a_large_offset(method):
    # the per-channel mean is removed in float64 before the float32 cast
    x = _patterns(3)
    base = compute_rdm(x, method, conditions=COND)
    got = compute_rdm(x + 1e6, method, conditions=COND, dtype="float32")
    assert _max_rel(got, base) < 1e-5


def test_extreme_float64_scale_gives_the_answer_or_refuses():
    x = _patterns(4)
    base = compute_rdm(x, "crossnobis", conditions=COND)
    np.testing.assert_allclose(compute_rdm(x * 1e120, "crossnobis", conditions=COND) / 1e240, base, rtol=1e-12)
    np.testing.assert_allclose(compute_rdm(x * 1e-150, "crossnobis", conditions=COND) / 1e-150 / 1e-150, base,
                               rtol=1e-10)
    with pytest.raises(ValueError, match="beyond the range of float64"):
        compute_rdm(x * 1e200, "crossnobis", conditions=COND)  # distances ~1e400
    with pytest.raises(ValueError, match="below the range of float64"):
        compute_rdm(x * 1e-200, "crossnobis", conditions=COND)  # was: all zeros


@pytest.mark.parametrize("noise_kind", ["dense", "low-rank", "fold"])
@pytest.mark.parametrize("s", [1e-15, 1e15])
def test_crossnobis_with_noise_in_consistent_units(noise_kind, s):
    # patterns x s with residuals x s (precision / s^2): the distances do not change at all
    rng = np.random.default_rng(9)
    x = rng.normal(size=(R * K, P))
    res = rng.normal(size=(8, P))

    def noise(scale):
        if noise_kind == "fold":
            return {"fold_noise": [np.eye(P) * c / scale**2 for c in (2.0, 3.0, 1.0)]}
        return {"noise": noise_precision(res * scale, structured=noise_kind == "low-rank")}

    base = compute_rdm(x, "crossnobis", conditions=COND, **noise(1.0))
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-5)):
        got = compute_rdm(x * s, "crossnobis", conditions=COND, dtype=dtype, **noise(s))
        assert _max_rel(got, base) < tol
