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


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman", "tau-a"])
def test_noise_ceiling_groups_match_rsatoolbox_rdm_descriptor(method):
    """rsatoolbox 0.3.2 ``inference.boot_noise_ceiling(rdms, method, rdm_descriptor="session")``
    with three distinct sessions per subject: every session of the held-out subject is scored
    (neurodyn scored only the first one: corr lower bound 0.815 against rsatoolbox's 0.789)."""
    import warnings

    from rsatoolbox.inference import boot_noise_ceiling

    from neurodyn.rsa import noise_ceiling

    rng = np.random.default_rng(0)
    truth = rng.random(45)
    subject = np.repeat(np.arange(4), 3)
    data = truth + 0.8 * rng.random((12, 45))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rsatoolbox: "Noise ceiling for tau based on averaged ranks"
        ref = boot_noise_ceiling(RDMs(data, rdm_descriptors={"session": subject}), method=method,
                                 rdm_descriptor="session")
    np.testing.assert_allclose(noise_ceiling(data, method, groups=subject), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", ["cosine_cov", "corr_cov"])
def test_cosine_cov_full_sigma_k_beyond_1500_pairs_vs_rsatoolbox(method):
    """rsatoolbox 0.3.2 ``rdm.compare(..., method, sigma_k=full)`` at K = 60 (1770 pairs, where
    neurodyn used conjugate gradients, 2.8e-7 from the exact solve). rsatoolbox solves
    ``V x = v`` by ``scipy.sparse.linalg.cg`` stopped at relative residual 1e-5 (a peer
    tolerance, so agreement within 1e-5); neurodyn equals the dense float64 solve to 1e-12."""
    k = 60
    rng = np.random.default_rng(23)
    a, b = rng.random((2, k * (k - 1) // 2)), rng.random((3, k * (k - 1) // 2))
    s = rng.normal(size=(k, k))
    sk = s @ s.T / k + 0.5 * np.eye(k)
    got = compare_rdms(a, b, method, sigma_k=sk)
    np.testing.assert_allclose(got, compare(RDMs(a), RDMs(b), method, sigma_k=sk), rtol=0, atol=1e-5)
    iu = np.triu_indices(k, 1)
    c = np.zeros((iu[0].size, k))
    c[np.arange(iu[0].size), iu[0]] = 1.0
    c[np.arange(iu[0].size), iu[1]] = -1.0
    v = (c @ sk @ c.T) ** 2
    if method == "corr_cov":
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    va, vb = np.linalg.solve(v, a.T).T, np.linalg.solve(v, b.T).T
    dense = (a @ vb.T) / np.sqrt(np.sum(a * va, 1))[:, None] / np.sqrt(np.sum(b * vb, 1))[None, :]
    np.testing.assert_allclose(got, dense, rtol=0, atol=1e-12)


def test_crossnobis_unbalanced_counts_fresh(ds):
    # an extra observation of two conditions in some folds: rsatoolbox averages the
    # training folds over observations, as compute_rdm's general path does
    x, cond, run, prec, _ = ds
    x2 = np.vstack([x, x[:2] * 0.5 + 0.1])
    cond2 = np.append(cond, [0, 1])
    run2 = np.append(run, [0, 2])
    data = Dataset(x2, obs_descriptors={"cond": cond2, "run": run2})
    for noise in (None, prec):
        ref = calc_rdm(data, method="crossnobis", descriptor="cond", cv_descriptor="run", noise=noise).get_vectors()[0]
        got = compute_rdm(x2, "crossnobis", conditions=cond2, folds=run2, noise=noise)
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


def test_eval_fixed_sem_fresh():
    from rsatoolbox.inference import eval_fixed
    from rsatoolbox.model import ModelFixed

    from neurodyn.rsa import evaluate_fixed

    rng = np.random.default_rng(15)
    data = rng.random(28) + 0.5 * rng.random((6, 28))
    models = rng.random((3, 28))
    ref = eval_fixed([ModelFixed(f"m{i}", RDMs(m)) for i, m in enumerate(models)], RDMs(data), method="corr")
    got = evaluate_fixed(models, data, "corr")
    np.testing.assert_allclose(got.mean, ref.get_means(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got.sem, ref.get_sem(), rtol=RTOL, atol=ATOL)


def test_bootstrap_sem_fresh_same_draws():
    from rsatoolbox.inference import bootstrap_sample, eval_bootstrap
    from rsatoolbox.model import ModelFixed

    from neurodyn.rsa import evaluate_models

    rng = np.random.default_rng(16)
    data = rng.random(28) + 0.5 * rng.random((6, 28))
    models = rng.random((3, 28))
    n_b = 30
    np.random.seed(3)  # noqa: NPY002 - rsatoolbox draws from numpy's global RNG
    ref = eval_bootstrap([ModelFixed(f"m{i}", RDMs(m)) for i, m in enumerate(models)], RDMs(data),
                         method="corr", N=n_b)
    np.random.seed(3)  # noqa: NPY002 - replay the same draws
    rdm_idx = np.empty((n_b, 6), dtype=int)
    pat_idx = np.empty((n_b, 8), dtype=int)
    for b in range(n_b):
        _, ri, pi = bootstrap_sample(RDMs(data))
        rdm_idx[b], pat_idx[b] = ri, np.sort(pi)
    got = evaluate_models(models, data, "corr", indices=(rdm_idx, pat_idx))
    np.testing.assert_allclose(got.evaluations, ref.evaluations, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got.sem, ref.get_sem(), rtol=1e-8)
    np.testing.assert_allclose(got.noise_ceiling, np.nanmean(ref.noise_ceiling, axis=1), rtol=1e-8)
