"""neurodyn.rsa against rsatoolbox itself on fresh random inputs (needs the ``bench`` extra)."""

import numpy as np
import pytest

rsatoolbox = pytest.importorskip("rsatoolbox", reason="rsatoolbox (pip install neurodyn[bench]) not installed")
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.rdm import RDMs, calc_rdm, compare  # noqa: E402
from rsatoolbox.rdm.transform import geodesic_transform as rsa_geodesic  # noqa: E402

from neurodyn.rsa import (  # noqa: E402
    compare_rdms,
    compute_rdm,
    from_rsatoolbox,
    geodesic_transform,
    to_rsatoolbox,
)

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(11)
    k, r, p = 7, 3, 6
    x = rng.normal(size=(k * r, p)) + 1.5
    cond = np.tile(np.arange(k), r)
    run = np.repeat(np.arange(r), k)
    a = rng.normal(size=(p, p))
    prec = np.linalg.inv(a @ a.T / p + np.eye(p))
    data = Dataset(x, obs_descriptors={"cond": cond, "run": run})
    return x, cond, run, prec, data


@pytest.mark.parametrize(
    "method, kw",
    [("euclidean", {}), ("correlation", {}), ("mahalanobis", {"noise": True}),
     ("crossnobis", {"cv": True}), ("crossnobis", {"cv": True, "noise": True}), ("poisson", {})],
)
def test_calc_rdm_fresh(ds, method, kw):
    x, cond, run, prec, data = ds
    rkw = {}
    nkw = {}
    if kw.get("noise"):
        rkw["noise"] = prec
        nkw["noise"] = prec
    if kw.get("cv"):
        rkw["cv_descriptor"] = "run"
        nkw["folds"] = run
    if method == "poisson":
        data = Dataset(np.abs(x), obs_descriptors={"cond": cond, "run": run})
        x = np.abs(x)
    ref = calc_rdm(data, method=method, descriptor="cond", **rkw).get_vectors()[0]
    np.testing.assert_allclose(compute_rdm(x, method, conditions=cond, **nkw), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", ["cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b", "cosine_cov", "corr_cov"])
def test_compare_fresh_with_ties(method):
    rng = np.random.default_rng(12)
    a = np.vstack([np.round(rng.random((2, 21)) * 2), rng.random((1, 21))])
    b = rng.random((3, 21))
    ref = compare(RDMs(a), RDMs(b), method)
    np.testing.assert_allclose(compare_rdms(a, b, method), ref, rtol=RTOL, atol=ATOL)


def test_geodesic_fresh_and_interop():
    rng = np.random.default_rng(13)
    v = rng.random((2, 28))
    ref = rsa_geodesic(RDMs(v.copy())).get_vectors()
    np.testing.assert_allclose(geodesic_transform(v, disconnected="inf"), ref, rtol=RTOL, atol=ATOL)
    obj = to_rsatoolbox(v, dissimilarity_measure="test")
    assert obj.n_rdm == 2 and obj.n_cond == 8
    np.testing.assert_array_equal(from_rsatoolbox(obj), v)


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman"])
def test_noise_ceiling_fresh(method):
    from rsatoolbox.inference import boot_noise_ceiling

    from neurodyn.rsa import noise_ceiling

    rng = np.random.default_rng(14)
    data = rng.random(28) + 0.5 * rng.random((5, 28))
    ref = boot_noise_ceiling(RDMs(data), method=method)
    np.testing.assert_allclose(noise_ceiling(data, method), ref, rtol=RTOL, atol=ATOL)
