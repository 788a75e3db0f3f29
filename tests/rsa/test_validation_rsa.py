"""neurodyn.rsa refuses bad input with a message naming the argument (issue 13)."""

import numpy as np
import pytest

from neurodyn.rsa import (
    LowRankPrecision,
    compute_rdm,
    noise_covariance,
    noise_precision,
)


def _res(n, p, seed=0):
    return np.random.default_rng(seed).normal(size=(n, p))


# ---------------------------------------------------------------- noise precision / covariance
@pytest.mark.parametrize("structured", [False, True])
def test_full_precision_with_fewer_rows_than_channels_refused(structured):
    # was: an asymmetric matrix with entries ~6e16 and eigenvalues ~ -2e17
    with pytest.raises(ValueError, match=r"method='full' needs more residual rows than channels.*"
                                         r"shrinkage_diag"):
        noise_precision(_res(8, 20), "full", structured=structured)


@pytest.mark.parametrize("method, n, p", [(m, n, p) for m in ("diag", "shrinkage_diag", "shrinkage_eye")
                                          for n, p in ((8, 20), (60, 10))] + [("full", 60, 10)])
def test_noise_precision_is_symmetric_positive_definite_inverse(method, n, p):
    r = _res(n, p, 1)
    prec = noise_precision(r, method)
    assert np.array_equal(prec, prec.T)
    assert np.linalg.eigvalsh(prec).min() > 0
    np.testing.assert_allclose(prec @ noise_covariance(r, method), np.eye(p), atol=1e-8)


def test_full_precision_matches_numpy_inverse():
    r = _res(50, 6, 2)
    np.testing.assert_allclose(noise_precision(r, "full"), np.linalg.inv(np.cov(r.T)), rtol=1e-10)


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize("method", ["diag", "full"])
def test_constant_channel_named(method, structured):
    r = _res(40, 6, 3)
    r[:, 4] = 2.5
    with pytest.raises(ValueError, match=r"residuals has 1 constant .* channel\(s\) at index \[4\]"):
        noise_precision(r, method, structured=structured)


def test_noise_precision_scale_equivariant():
    # a precision scales by 1 / s^2: normalising first keeps every scale exact
    r = _res(30, 8, 4)
    base = noise_precision(r, "shrinkage_diag")
    for s in (1e-150, 1e-15, 1e15, 1e150):
        np.testing.assert_allclose(noise_precision(r * s, "shrinkage_diag") * s * s, base, rtol=1e-10)
        np.testing.assert_allclose(noise_covariance(r * s, "shrinkage_eye") / (s * s),
                                   noise_covariance(r, "shrinkage_eye"), rtol=1e-10)
        lr = noise_precision(r * s, "shrinkage_eye", structured=True)
        np.testing.assert_allclose(lr.toarray() * s * s, noise_precision(r, "shrinkage_eye"), rtol=1e-8)


@pytest.mark.parametrize("dof", [0, -3, 2.5, np.nan, "3"])
def test_dof_range(dof):
    with pytest.raises((ValueError, TypeError), match="dof"):
        noise_covariance(_res(10, 3), dof=dof)


def test_residuals_checks():
    with pytest.raises(ValueError, match="residuals must be finite"):
        noise_precision(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="residuals needs at least 2 rows"):
        noise_precision(np.ones((1, 3)))
    with pytest.raises(TypeError, match="residuals must be real-valued"):
        noise_precision(_res(5, 3) + 1j)
    with pytest.raises(ValueError, match="method must be one of"):
        noise_precision(_res(5, 3), "ledoit")
    with pytest.raises(TypeError, match="structured must be True or False"):
        noise_precision(_res(5, 3), structured="yes")


def test_low_rank_precision_must_be_positive_definite():
    with pytest.raises(ValueError, match="diag must be > 0"):
        LowRankPrecision(-np.ones(3), np.zeros((3, 0)))
    with pytest.raises(ValueError, match="must be positive definite"):
        LowRankPrecision(np.ones(3), np.ones((3, 1)))  # 1 - 3 < 0 along (1, 1, 1)
    with pytest.raises(ValueError, match="precision must be positive definite"):
        LowRankPrecision.from_dense(-np.eye(3))


# ---------------------------------------------------------------- noise in compute_rdm
def _patterns(seed=0, n_rep=2, k=5, p=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rep * k, p))
    return x, np.tile(np.arange(k), n_rep)


@pytest.mark.parametrize("method", ["mahalanobis", "crossnobis"])
def test_negative_definite_noise_refused(method):
    # was: accepted, giving negative "distances"
    x, cond = _patterns()
    with pytest.raises(ValueError, match="noise must be positive definite; smallest eigenvalue -1"):
        compute_rdm(x, method, conditions=cond, noise=-np.eye(6))


def test_fold_noise_positive_definite():
    x, cond = _patterns()
    with pytest.raises(ValueError, match=r"fold_noise\[1\] must be positive definite"):
        compute_rdm(x, "crossnobis", conditions=cond, fold_noise=[np.eye(6), -np.eye(6)])


@pytest.mark.parametrize("method", ["sqeuclidean", "correlation", "poisson", "poisson_cv"])
def test_noise_for_a_method_without_noise_refused(method):
    # was: silently ignored
    x, cond = _patterns()
    with pytest.raises(ValueError, match=r"noise is only used by method in \['mahalanobis', 'crossnobis'\]"):
        compute_rdm(np.abs(x), method, conditions=cond, noise=np.eye(6))


@pytest.mark.parametrize("kwargs, arg", [({"prior_weight": 0.5}, "prior_weight"),
                                         ({"prior_lambda": 2.0}, "prior_lambda"),
                                         ({"folds": np.repeat([0, 1], 5)}, "folds"),
                                         ({"fold_noise": [np.eye(6)] * 2}, "fold_noise")])
def test_method_specific_arguments_refused_elsewhere(kwargs, arg):
    x, cond = _patterns()
    with pytest.raises(ValueError, match=f"{arg} is only used by method in"):
        compute_rdm(x, "mahalanobis", conditions=cond, **kwargs)


def test_remove_mean_refused_for_poisson():
    x, cond = _patterns()
    with pytest.raises(ValueError, match="remove_mean is only used by method in"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, remove_mean=True)


# ---------------------------------------------------------------- Poisson
@pytest.mark.parametrize("method", ["poisson", "poisson_cv"])
def test_poisson_negative_rates_refused(method):
    # was: slightly negative rates passed once shrunk by the prior
    x, cond = _patterns()
    x = np.abs(x)
    x[3, 2] = -0.001
    with pytest.raises(ValueError, match=r"needs non-negative rates: patterns must be >= 0; got 1 negative"):
        compute_rdm(x, method, conditions=cond)


@pytest.mark.parametrize("value", [-1.0, np.inf, np.nan])
def test_poisson_prior_weight_range(value):
    # was: an all-NaN RDM for inf
    x, cond = _patterns()
    with pytest.raises(ValueError, match="prior_weight must be"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, prior_weight=value)


@pytest.mark.parametrize("value", [0.0, -2.0, np.inf])
def test_poisson_prior_lambda_range(value):
    x, cond = _patterns()
    with pytest.raises(ValueError, match="prior_lambda must be"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, prior_lambda=value)


def test_poisson_zero_rate_without_prior_refused():
    x, cond = _patterns()
    x = np.abs(x)
    x[cond == 2, 0] = 0.0
    with pytest.raises(ValueError, match="prior_weight=0 leaves a condition with a zero mean rate"):
        compute_rdm(x, "poisson", conditions=cond, prior_weight=0.0)


def test_poisson_matches_direct_formula():
    x, cond = _patterns(3)
    x = np.abs(x)
    means = np.stack([x[cond == c].mean(0) for c in range(5)])
    m = (means + 1.0 * 0.1) / 1.1
    iu = np.triu_indices(5, 1)
    ref = np.array([np.sum((m[i] - m[j]) * (np.log(m[i]) - np.log(m[j]))) / 6 for i, j in zip(*iu, strict=True)])
    np.testing.assert_allclose(compute_rdm(x, "poisson", conditions=cond), ref, rtol=1e-12)
    np.testing.assert_allclose(compute_rdm(x, "poisson", conditions=cond, dtype="float32"), ref, rtol=1e-5)


# ---------------------------------------------------------------- RDM forms
def _rdm_vectors(n, k, seed=0):
    return np.random.default_rng(seed).uniform(0.1, 2.0, size=(n, k * (k - 1) // 2))


def test_compare_rdms_reads_a_square_as_one_rdm():
    # was: a 10 x 10 square was read as 10 RDM vectors of 10 entries
    from scipy.spatial.distance import squareform

    from neurodyn.rsa import compare_rdms

    v = _rdm_vectors(2, 10, 1)
    sq = squareform(v[0])
    out = compare_rdms(sq, v[1], "corr")
    assert out.shape == (1, 1)
    np.testing.assert_allclose(out[0, 0], np.corrcoef(v[0], v[1])[0, 1], rtol=1e-12)
    stack = np.stack([squareform(r) for r in v])  # (n_rdms, K, K)
    np.testing.assert_allclose(compare_rdms(stack, v), compare_rdms(v, v), rtol=1e-12)


def test_square_that_is_not_an_rdm_and_not_vectors_refused():
    from neurodyn.rsa import compare_rdms

    m = np.random.default_rng(0).uniform(size=(12, 12))  # not symmetric, 12 is not K(K-1)/2
    with pytest.raises(ValueError, match=r"rdms1 has shape \(12, 12\): not one square RDM .* not a stack of RDM "
                                         r"vectors"):
        compare_rdms(m, m)


def test_symmetric_square_with_nonzero_diagonal_warns():
    from neurodyn._validation import LayoutWarning
    from neurodyn.rsa import rank_transform

    m = np.corrcoef(np.random.default_rng(0).normal(size=(10, 30)))  # a similarity matrix
    with pytest.warns(LayoutWarning, match=r"rdms is a symmetric \(10, 10\) array with a non-zero diagonal"):
        rank_transform(m)


def test_vector_length_not_triangular():
    from neurodyn.rsa import compare_rdms, geotopological_transform, n_conditions_from_pairs

    with pytest.raises(ValueError, match=r"rdms2: an RDM vector must have K\(K-1\)/2 entries .* got 44 entries"):
        compare_rdms(np.ones(45), np.ones(44))
    with pytest.raises(ValueError, match=r"got 44 entries.*nearest: 36 for K=9, 45 for K=10"):
        geotopological_transform(np.ones(44))
    with pytest.raises(TypeError, match="n_pairs must be an integer"):
        n_conditions_from_pairs(4.5)


@pytest.mark.parametrize("name", ["rank_transform", "minmax_transform", "geotopological_transform",
                                  "geodesic_transform", "graph_geodesic_transform"])
def test_transforms_keep_the_form(name):
    from scipy.spatial.distance import squareform

    import neurodyn.rsa as rsa

    fn = getattr(rsa, name)
    v = _rdm_vectors(3, 8, 2)
    vec = fn(v)
    sq = fn(np.stack([squareform(r) for r in v]))
    assert sq.shape == (3, 8, 8)
    np.testing.assert_allclose(np.stack([squareform(s, checks=False) for s in sq]), vec, rtol=1e-12)
    one = fn(squareform(v[0]))
    assert one.shape == (8, 8)
    np.testing.assert_allclose(squareform(one, checks=False), vec[0], rtol=1e-12)


def test_rdm_to_matrix_and_vector_round_trip_and_square_input():
    from scipy.spatial.distance import squareform

    from neurodyn.rsa import rdm_to_matrix, rdm_to_vector

    v = _rdm_vectors(1, 6, 3)[0]
    np.testing.assert_array_equal(rdm_to_matrix(v), squareform(v))
    np.testing.assert_array_equal(rdm_to_matrix(squareform(v)), squareform(v))  # a square stays one RDM
    np.testing.assert_array_equal(rdm_to_vector(squareform(v)), v)
    with pytest.raises(ValueError, match="rdms must not contain Inf"):
        rdm_to_matrix(np.full(6, np.inf))
    with pytest.raises(ValueError, match="rdms must be symmetric"):
        rdm_to_vector(np.arange(9.0).reshape(3, 3))


def test_inference_accepts_squares():
    from scipy.spatial.distance import squareform

    from neurodyn.rsa import evaluate_fixed, noise_ceiling, pool_rdms

    rng = np.random.default_rng(4)
    data = rng.uniform(size=(5, 15))
    sq = np.stack([squareform(d) for d in data])
    np.testing.assert_allclose(noise_ceiling(sq, "corr"), noise_ceiling(data, "corr"), rtol=1e-12)
    np.testing.assert_allclose(squareform(pool_rdms(sq, "cosine"), checks=False), pool_rdms(data, "cosine"))
    np.testing.assert_allclose(evaluate_fixed(squareform(data[0]), sq).mean, evaluate_fixed(data[0], data).mean)


# ---------------------------------------------------------------- TopologicalRSA
@pytest.fixture(scope="module")
def trsa_fit():
    from neurodyn.rsa import TopologicalRSA

    rng = np.random.default_rng(5)
    base = rng.uniform(size=(3, 45))
    x = np.concatenate([base + 0.1 * rng.uniform(size=(3, 45)) for _ in range(4)])
    regions = np.tile(np.arange(3), 4)
    subjects = np.repeat(np.arange(4), 3)
    return TopologicalRSA(family="rdm", n_bootstrap=0).fit(x, regions, subjects), x, regions


def test_trsa_predict_validates_like_fit(trsa_fit):
    # was: predict on all-NaN RDMs returned a class for every row
    est, x, regions = trsa_fit
    assert est.n_features_in_ == 45
    with pytest.raises(ValueError, match=r"rdms must be finite \(no NaN or Inf\); got 135 NaN"):
        est.predict(np.full((3, 45), np.nan))
    with pytest.raises(ValueError, match=r"rdms must be finite"):
        est.score(np.full((3, 45), np.inf), regions[:3])
    with pytest.raises(ValueError, match=r"rdms must have 45 entries per RDM \(as in fit, 10 conditions\); got 36"):
        est.predict(np.ones((2, 36)))
    with pytest.raises(TypeError, match="rdms must be real-valued"):
        est.predict(x + 1j)
    np.testing.assert_array_equal(est.predict(x), regions)  # well separated regions


def test_trsa_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    from neurodyn.rsa import TopologicalRSA

    with pytest.raises(NotFittedError):
        TopologicalRSA().predict(np.ones((2, 45)))
    with pytest.raises(NotFittedError):
        TopologicalRSA().score(np.ones((2, 45)), [0, 1])


def test_trsa_fit_signature_is_sklearn_like():
    import inspect

    from neurodyn.rsa import TopologicalRSA

    params = list(inspect.signature(TopologicalRSA.fit).parameters)
    assert params[:3] == ["self", "rdms", "regions"]  # (X, y, groups)


@pytest.mark.parametrize("params, match", [({"n_draws": 0}, "n_draws must be >= 1"),
                                           ({"lower": np.nan, "upper": 0.5}, "lower must be a number"),
                                           ({"zero_edges": "x"}, "zero_edges must be one of"),
                                           ({"verbose": "yes"}, "verbose must be True or False")])
def test_trsa_hyperparameters_checked(trsa_fit, params, match):
    from neurodyn.rsa import TopologicalRSA

    _, x, regions = trsa_fit
    with pytest.raises((ValueError, TypeError), match=match):
        TopologicalRSA(n_bootstrap=0, **params).fit(x, regions, np.repeat(np.arange(4), 3))


# ---------------------------------------------------------------- sweep fixes
def test_compare_rdms_without_common_entries_refused():
    from neurodyn.rsa import compare_rdms

    a = np.random.default_rng(0).uniform(size=(2, 10))
    b = a.copy()
    a[0, :] = np.nan  # was: NaN returned silently
    with pytest.raises(ValueError, match=r"rdms1\[0\] and rdms2\[0\] have 0 non-NaN entries in common"):
        compare_rdms(a, b)


@pytest.mark.parametrize("method", ["tau-b", "corr", "cosine", "spearman"])
def test_constant_rdm_compares_as_zero(method):
    from neurodyn.rsa import compare_rdms

    v = np.random.default_rng(1).uniform(size=(2, 10))
    out = compare_rdms(np.ones(10) * (method != "cosine"), v, method)
    np.testing.assert_array_equal(out, 0.0)


def test_sensitivity_specificity_checks_and_values():
    from neurodyn.rsa import sensitivity_specificity

    sens, spec = sensitivity_specificity(np.array([[3, 1], [2, 4]]))
    np.testing.assert_allclose(sens, [3 / 4, 4 / 6])
    np.testing.assert_allclose(spec, [1 - 2 / 6, 1 - 1 / 4])
    with pytest.raises(ValueError, match="confusion must be square"):
        sensitivity_specificity(np.ones((2, 3)))
    with pytest.raises(ValueError, match="confusion must hold non-negative counts"):
        sensitivity_specificity(-np.eye(2))
    with pytest.raises(ValueError, match="confusion holds no counts"):
        sensitivity_specificity(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="confusion must be finite"):
        sensitivity_specificity(np.array([[1, np.nan], [0, 1]]))


def test_loso_nearest_centroid_checks():
    from neurodyn.rsa import loso_nearest_centroid

    f = np.random.default_rng(2).normal(size=(1, 4, 3))
    cls, sub = np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    pred = loso_nearest_centroid(f, cls, sub, 2)
    assert pred.shape == (1, 4)
    with pytest.raises(ValueError, match=r"features must be 3-D \(n_batch, n_rdms, n_features\)"):
        loso_nearest_centroid(f[0], cls, sub, 2)
    with pytest.raises(ValueError, match=r"classes must hold indices in \[0, 2\)"):
        loso_nearest_centroid(f, cls + 1, sub, 2)
    with pytest.raises(TypeError, match="subjects must hold integer indices"):
        loso_nearest_centroid(f, cls, sub.astype(float) + 0.5, 2)
    with pytest.raises(ValueError, match="features must be finite"):
        loso_nearest_centroid(np.full((1, 4, 3), np.nan), cls, sub, 2)


def test_sizes_refused_before_allocating():
    from neurodyn.rsa import bootstrap_indices, draw_thresholds

    with pytest.raises(MemoryError, match="n_bootstrap would need"):
        bootstrap_indices(4, 6, 10**13)
    with pytest.raises(MemoryError, match="n_draws would need"):
        draw_thresholds("local", 10**13)


def test_index_arguments():
    from neurodyn.rsa import evaluate_models, subsample_patterns

    v = np.random.default_rng(3).uniform(size=(3, 15))
    with pytest.raises(ValueError, match=r"pattern_idx must index conditions in \[0, 6\); got range \[0, 1e\+300\]"):
        subsample_patterns(v, np.array([0.0, 1e300]))
    with pytest.raises(TypeError, match="pattern_idx must hold integer indices"):
        subsample_patterns(v, [0, 1.5])
    with pytest.raises(ValueError, match=r"indices\[0\] \(rdm_idx\) must index data RDMs in \[0, 3\)"):
        evaluate_models(v[:1], v, indices=(np.full((2, 3), 5), np.tile(np.arange(6), (2, 1))))


def test_rdm_to_vector_one_sided_nan():
    from neurodyn.rsa import rdm_to_vector

    m = np.ones((3, 3)) - np.eye(3)
    m[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at index \(0, 1\) but not at its mirror entry"):
        rdm_to_vector(m)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_noise_precision_beyond_float64_refused(scale):
    # was: ZeroDivisionError at 1e-300
    with pytest.raises(ValueError, match="residuals has values up to .*beyond the range of float64"):
        noise_precision(_res(10, 4) * scale)


def test_bootstrap_noise_ceiling_of_constant_data_is_zero_not_nan():
    from neurodyn.rsa import evaluate_models, noise_ceiling

    v = np.random.default_rng(5).uniform(size=(2, 15))
    data = np.ones((4, 15))
    res = evaluate_models(v, data, "corr", n_bootstrap=5, random_state=0)
    np.testing.assert_array_equal(res.noise_ceiling, 0.0)
    np.testing.assert_array_equal(noise_ceiling(data, "corr"), 0.0)
    assert np.all(res.mean == 0.0)


# ---------------------------------------------------------------- public API sweep
def _public_rdm_callables():
    """Every public callable of neurodyn.rsa that takes RDMs first, with valid other args."""
    import neurodyn.rsa as rsa

    v = np.random.default_rng(6).uniform(0.1, 1.0, size=(4, 15))
    regions, subjects = [0, 1, 0, 1], [0, 0, 1, 1]
    return {
        "compare_rdms": (lambda x: rsa.compare_rdms(x, v), "rdms1"),
        "rank_transform": (rsa.rank_transform, "rdms"),
        "minmax_transform": (rsa.minmax_transform, "rdms"),
        "geotopological_transform": (rsa.geotopological_transform, "rdms"),
        "geodesic_transform": (rsa.geodesic_transform, "rdms"),
        "graph_geodesic_transform": (rsa.graph_geodesic_transform, "rdms"),
        "rdm_to_matrix": (rsa.rdm_to_matrix, "rdms"),
        "subsample_patterns": (lambda x: rsa.subsample_patterns(x, [0, 2, 4]), "rdms"),
        "pool_rdms": (rsa.pool_rdms, "rdms"),
        "noise_ceiling": (rsa.noise_ceiling, "rdms"),
        "evaluate_fixed": (lambda x: rsa.evaluate_fixed(v[:2], x), "data"),
        "evaluate_models": (lambda x: rsa.evaluate_models(x, v, n_bootstrap=3, random_state=0), "models"),
        "TopologicalRSA.fit": (lambda x: rsa.TopologicalRSA(n_bootstrap=0).fit(x, regions, subjects), "rdms"),
        "geotopological_grid": (lambda x: rsa.geotopological_grid(x, regions, subjects, step=0.5), "rdms"),
        "rdm_noise_sweep": (rsa.rdm_noise_sweep, "rdms"),
        "to_rsatoolbox": (rsa.to_rsatoolbox, "rdms"),
    }, v


_BAD = {
    "inf": (lambda v: np.where(np.arange(v.size).reshape(v.shape) == 3, np.inf, v), ValueError, "Inf"),
    "complex": (lambda v: v + 1j, TypeError, "real-valued"),
    "strings": (lambda v: v.astype(str), TypeError, "numeric array"),
    "object": (lambda v: np.array([[object()] * 15] * 4), TypeError, "numeric array"),
    "3-D wrong": (lambda v: v[None], ValueError, "stack of square RDMs"),
    "width": (lambda v: v[:, :14], ValueError, r"K\(K-1\)/2 entries"),
    "empty": (lambda v: v[:0], ValueError, "is empty"),
    "None": (lambda v: None, TypeError, "must be an array"),
}


# rdm_to_matrix documents (..., n_pairs) stacks of any depth: a (1, 4, 15) array is valid there
@pytest.mark.parametrize("name, case", [(n, c) for n in _public_rdm_callables()[0] for c in _BAD
                                        if (n, c) != ("rdm_to_matrix", "3-D wrong")])
def test_public_rdm_functions_refuse_bad_rdms(name, case):
    funcs, v = _public_rdm_callables()
    fn, arg = funcs[name]
    if name == "to_rsatoolbox":
        pytest.importorskip("rsatoolbox")
    make, exc, msg = _BAD[case]
    with pytest.raises(exc, match=f"{arg}.*{msg}|{arg}: .*{msg}"):
        fn(make(v))


def test_compute_rdm_movie_time_axis():
    from neurodyn.rsa import compute_rdm_movie

    x = np.random.default_rng(7).normal(size=(6, 3, 5))
    with pytest.raises(ValueError, match="time_axis must index a non-channel axis"):
        compute_rdm_movie(x, time_axis=5)
    with pytest.raises(ValueError, match="time_axis must index a non-channel axis"):
        compute_rdm_movie(x, time_axis=-1)
    with pytest.raises(TypeError, match="time_axis must be an integer"):
        compute_rdm_movie(x, time_axis="1")
    np.testing.assert_allclose(compute_rdm_movie(x, time_axis=1)[2], compute_rdm(x[:, 2], "correlation"))


def test_evaluations_need_two_subjects_and_three_conditions():
    # was: NaN / Inf standard errors returned silently
    from neurodyn.rsa import evaluate_fixed, evaluate_models

    v = np.random.default_rng(8).uniform(size=(4, 15))
    with pytest.raises(ValueError, match="data needs RDMs of at least 2 subjects"):
        evaluate_fixed(v[:2], v[:1])
    for kind in ("both", "pattern"):
        with pytest.raises(ValueError, match="data holds 1 RDM: resampling subjects and the noise ceiling need"):
            evaluate_models(v[:2], v[:1], n_bootstrap=3, kind=kind)
    with pytest.raises(ValueError, match="at least 3 conditions to bootstrap conditions; got 2"):
        evaluate_models(v[:2, :1], v[:, :1], n_bootstrap=3)


# ---------------------------------------------------------------- scikit-learn contract
@pytest.mark.parametrize("check", ["check_no_attributes_set_in_init", "check_get_params_invariance",
                                   "check_set_params", "check_parameters_default_constructible"])
def test_trsa_sklearn_checks_that_need_no_data(check):
    # The data-driven common checks of sklearn.utils.estimator_checks cannot run on
    # TopologicalRSA: its samples are RDM vectors (widths K(K-1)/2 only) and fit needs
    # a subjects (groups) argument; the same contract is tested by hand below.
    from sklearn.utils import estimator_checks

    from neurodyn.rsa import TopologicalRSA

    getattr(estimator_checks, check)("TopologicalRSA", TopologicalRSA())


def test_trsa_contract_by_hand(trsa_fit):
    import pickle

    from sklearn.base import clone

    from neurodyn.rsa import TopologicalRSA

    _, x, regions = trsa_fit
    subjects = np.repeat(np.arange(4), 3)
    est = TopologicalRSA(family="rdm", n_bootstrap=0)
    x_before = x.copy()
    assert est.fit(x, regions, subjects) is est  # fit returns self
    np.testing.assert_array_equal(x, x_before)  # input not modified
    assert est.n_features_in_ == x.shape[1]
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(x), est.predict(x))
    fresh = clone(est)
    assert not hasattr(fresh, "n_features_in_")
    assert est.score(x, regions) == pytest.approx(np.mean(est.predict(x) == regions))


def test_transform_arguments_unused_by_the_choice_refused():
    from neurodyn.rsa import TopologicalRSA, geotopological_transform, graph_geodesic_transform

    v = _rdm_vectors(2, 8, 9)
    with pytest.raises(ValueError, match=r"p is only used by graph in \['p_shortest', 'p_nearest'\]; got "
                                         r"graph='twostep'"):
        graph_geodesic_transform(v, "twostep", p=0.3)
    with pytest.raises(ValueError, match=r"lower is only used by graph in \['twostep'\]"):
        graph_geodesic_transform(v, "k_nearest", lower=0.1)
    with pytest.raises(ValueError, match=r"k is only used by graph in \['k_nearest'\]"):
        graph_geodesic_transform(v, "p_nearest", k=3)
    with pytest.raises(ValueError, match="method .* is only used with quantile=True"):
        geotopological_transform(v, 0.1, 0.5, quantile=False, method="nearest")
    with pytest.raises(ValueError, match="zero_edges is only used by family='rgdm'"):
        TopologicalRSA(family="rdm", zero_edges="keep", n_bootstrap=0).fit(v[[0, 1, 0, 1]], [0, 1, 0, 1],
                                                                           [0, 0, 1, 1])


def test_plot_rdm_shows_one_rdm():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import squareform

    from neurodyn.rsa.plotting import plot_rdm

    v = _rdm_vectors(2, 6, 10)
    ax = plot_rdm(squareform(v[0]))
    img = ax.images[0].get_array()
    np.testing.assert_allclose(squareform(np.nan_to_num(np.asarray(img)), checks=False), v[0])
    assert np.isnan(np.asarray(img.filled(np.nan) if hasattr(img, "filled") else img)[0, 0])
    with pytest.raises(ValueError, match="rdm must be one RDM"):
        plot_rdm(v)
    plt.close("all")
