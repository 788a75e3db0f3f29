"""Connectome numerics at extreme scales and in float32 (hypothesis property tests).

Stated tolerances (CPU; a planted rank-3 tensor plus noise, 300 HALS iterations):

- NonnegativeCP, float64, any scale 1e-15 ... 1e15: relative error within 1e-10 and
  unit-norm factors within 1e-9 of the unscaled fit; weights scale with the data
  (relative 1e-9).
- NonnegativeCP, float32 vs float64: relative error within 2e-5, factors within 1e-4,
  weights relative 1e-4.
- affinity_tensor, each trace scaled by its own factor in 1e-15 ... 1e15: float64
  within 1e-13 of the unscaled tensor, float32 within 2e-6 (also with a large offset).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.connectome import DynamicConnectome, NonnegativeCP, affinity_tensor

FAST = settings(max_examples=8, deadline=None, derandomize=True)


def _planted(seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, 3)) ** 2 for n in (30, 12, 5)]
    x = np.einsum("pr,kr,wr->pkw", *factors) + 0.05 * rng.random((30, 12, 5))
    init = [rng.random((n, 3)) for n in x.shape]
    return x, init


X, INIT = _planted()
KW = dict(n_restarts=1, max_iter=300, tol=0, device="cpu")
REF = NonnegativeCP(3, init=INIT, **KW).fit(X)


def _max_factor_diff(a, b):
    return max(float(np.max(np.abs(fa - fb))) for fa, fb in zip(a.factors_, b.factors_, strict=True))


@FAST
@given(log_scale=st.floats(-15, 15), dtype=st.sampled_from(["float64", "float32"]))
def test_ntf_scale_and_precision_invariance(log_scale, dtype):
    s = 10.0 ** log_scale
    # the same starting model for the scaled tensor: every factor times s**(1/3)
    est = NonnegativeCP(3, init=[f * s ** (1 / 3) for f in INIT], dtype=dtype, **KW).fit(X * s)
    tol_err, tol_fac, tol_w = (1e-10, 1e-9, 1e-9) if dtype == "float64" else (2e-5, 1e-4, 1e-4)
    assert np.all(np.isfinite(est.weights_))
    assert abs(est.reconstruction_error_ - REF.reconstruction_error_) <= tol_err
    assert _max_factor_diff(est, REF) <= tol_fac
    np.testing.assert_allclose(est.weights_ / s, REF.weights_, rtol=tol_w)


@pytest.mark.parametrize("scale", [1e20, 1e-25, 1e-300, 1e300])
def test_ntf_issue_scales_no_overflow(scale):
    """Issue item 5: float32 x1e20 gave NaN weights, x1e-25 weights 0 and error 1.0."""
    dtypes = ["float64"] if scale in (1e-300, 1e300) else ["float64", "float32"]
    ref = NonnegativeCP(3, n_restarts=2, max_iter=300, tol=0, random_state=0, device="cpu").fit(X)
    for dtype in dtypes:
        est = NonnegativeCP(3, n_restarts=2, max_iter=300, tol=0, random_state=0, device="cpu",
                            dtype=dtype).fit(X * scale)
        assert abs(est.reconstruction_error_ - ref.reconstruction_error_) <= 2e-5
        np.testing.assert_allclose(est.weights_ / scale, ref.weights_, rtol=1e-4)


@FAST
@given(perm=st.permutations(range(5)))
def test_ntf_permuting_animals_permutes_the_animal_factor(perm):
    perm = np.asarray(perm)
    est = NonnegativeCP(3, init=[INIT[0], INIT[1], INIT[2][perm]], **KW).fit(X[:, :, perm])
    np.testing.assert_allclose(est.factors_[2], REF.factors_[2][perm], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.factors_[0], REF.factors_[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.weights_, REF.weights_, rtol=1e-12)


def test_ntf_power_of_two_scale_is_bit_identical():
    """The normalisation is exact: a tensor times 2**k gives the same factors bit for bit."""
    for k in (-60, 3, 90):
        est = NonnegativeCP(3, n_restarts=2, max_iter=50, random_state=0, device="cpu").fit(np.ldexp(X, k))
        ref = NonnegativeCP(3, n_restarts=2, max_iter=50, random_state=0, device="cpu").fit(X)
        for a, b in zip(est.factors_, ref.factors_, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(est.weights_, np.ldexp(ref.weights_, k))


TRACES = np.random.default_rng(0).standard_normal((2, 120, 8)).cumsum(axis=1)


@FAST
@given(log_scales=st.lists(st.floats(-15, 15), min_size=8, max_size=8),
       kind=st.sampled_from(["derivative_corr", "derivative_product", "corr"]),
       dtype=st.sampled_from(["float64", "float32"]),
       log_offset=st.floats(0, 6))
def test_affinity_scale_offset_and_precision_invariance(log_scales, kind, dtype, log_offset):
    scales = 10.0 ** np.asarray(log_scales)
    ref = affinity_tensor(TRACES, kind, window=30, step=15, device="cpu")
    # a per-trace offset of up to 1e6 standard deviations, then a per-trace scale
    offset = 10.0 ** log_offset * TRACES.std(axis=1, keepdims=True)
    got = affinity_tensor((TRACES + offset) * scales, kind, window=30, step=15, device="cpu", dtype=dtype)
    tol = 1e-13 if dtype == "float64" and log_offset == 0 else (1e-9 if dtype == "float64" else 2e-6)
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


def test_dynamic_connectome_float32_matches_float64():
    rng = np.random.default_rng(2)
    shared = rng.standard_normal((2, 200, 1)).cumsum(axis=1)
    traces = shared * rng.uniform(0.5, 1, (1, 1, 6)) + 0.5 * rng.standard_normal((2, 200, 6)).cumsum(axis=1)
    fits = [DynamicConnectome(2, window=40, step=20, n_restarts=2, max_iter=300, tol=0, random_state=0,
                              device="cpu", dtype=dt).fit(traces * 1e-20) for dt in ("float64", "float32")]
    np.testing.assert_allclose(fits[1].affinity_tensor_, fits[0].affinity_tensor_, atol=2e-6)
    assert abs(fits[1].reconstruction_error_ - fits[0].reconstruction_error_) <= 2e-5


def test_ntf_weights_beyond_float64_are_refused():
    """Entries near float64's maximum: the fitted weights (norms) cannot be represented."""
    x = np.random.default_rng(0).random((100, 40, 3)) * 1.7e308
    with pytest.raises(ValueError, match="X is too large: the component weights"):
        NonnegativeCP(2, n_restarts=1, max_iter=5, device="cpu").fit(x)
