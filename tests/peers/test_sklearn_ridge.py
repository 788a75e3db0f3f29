"""scikit-learn's own ridge test cases, ported to neurodyn's ridge (:func:`ridge_cv`,
:class:`EncodingModel`).

Source: github.com/scikit-learn/scikit-learn, file ``sklearn/linear_model/tests/test_ridge.py``
(read in the installed scikit-learn 1.9.1); each test names the function it ports. The
cases are compared with ``sklearn.linear_model.Ridge`` / ``RidgeCV`` on the same inputs.

What neurodyn implements, and so which cases apply: ridge regression for many targets at
once, with a per-target alpha chosen from a grid either by exact leave-one-out error from one
eigendecomposition (``cv=None``, scikit-learn's ``RidgeCV(alpha_per_target=True)``, its "GCV"
mode) or by K-fold CV over samples (``cv=int``); an unpenalised intercept; no sample weights,
no sparse input, no solver choice, no classifier. Only positive alphas are accepted (a ridge
with alpha = 0 is OLS; scikit-learn too refuses alpha = 0 for its leave-one-out mode), so
scikit-learn's alpha = 0 cases are ported with alpha = 1e-10 or 1e-16. A fixed alpha is a grid of
one value. :class:`EncodingModel` z-scores features by default (``standardize=True``), which is
scikit-learn's ``make_pipeline(StandardScaler(), RidgeCV(...))``; with ``standardize=False`` it is
``RidgeCV`` itself. Cases on sample weights, sparse matrices, solvers, classifiers, scorers,
metadata routing and array-API namespaces do not apply and are not ported.

No case here is a scikit-learn defect: every ported case passes against scikit-learn.
"""

import numpy as np
import pytest
from scipy import linalg
from sklearn.datasets import load_diabetes, make_low_rank_matrix, make_regression
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import LeaveOneOut
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodyn._torch import check_random_state
from neurodyn.compare import EncodingModel, ridge_cv


def _ols_ridge_dataset(kind, seed=0):
    """sklearn's ``ols_ridge_dataset`` fixture: X (last column 1 = intercept), y and the ridge
    solution with alpha = 1 and an unpenalised intercept, by the normal equations."""
    n_samples, n_features = (12, 4) if kind == "long" else (4, 12)
    k = min(n_samples, n_features)
    rng = np.random.RandomState(seed)
    X = make_low_rank_matrix(n_samples=n_samples, n_features=n_features, effective_rank=k,
                             random_state=rng)
    X[:, -1] = 1
    U, s, Vt = linalg.svd(X)
    U2 = U[:, k:]
    if kind == "long":
        coef_ols = rng.uniform(low=-10, high=10, size=n_features)
        y = X @ coef_ols + U2 @ rng.normal(size=n_samples - n_features) ** 2
    else:
        y = rng.uniform(low=-10, high=10, size=n_samples)
    d = np.identity(n_features)
    d[-1, -1] = 0
    coef_ridge = linalg.solve(X.T @ X + d, X.T @ y)
    return X, y, coef_ridge


def _make_sparse_offset_regression(n_samples, n_features, n_targets, noise, random_state=0,
                                   n_informative=5, bias=13.0, X_offset=30.0, proportion_nonzero=0.5):
    """sklearn's ``_make_sparse_offset_regression`` helper (shuffle=False), rewritten."""
    X, y, c = make_regression(n_samples=n_samples, n_features=n_features,
                              n_informative=n_informative, n_targets=n_targets, bias=bias,
                              noise=noise, shuffle=False, coef=True, random_state=random_state)
    X += X_offset
    mask = np.random.RandomState(random_state).binomial(1, proportion_nonzero, X.shape) > 0
    removed = X.copy()
    X[~mask] = 0.0
    removed[mask] = 0.0
    y -= removed.dot(c)
    return X, y


# ----------------------------------------------------------------- fixed-alpha ridge


@pytest.mark.parametrize("kind", ["long", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_regression(kind, fit_intercept):
    """sklearn test_ridge.py::test_ridge_regression: the known solution of ols_ridge_dataset."""
    X, y, coef = _ols_ridge_dataset(kind)
    X = X[:, :-1]
    if fit_intercept:
        intercept = coef[-1]
    else:
        X = X - X.mean(axis=0)
        y = y - y.mean()
        intercept = 0.0
    out = ridge_cv(X, y, alphas=[1.0], fit_intercept=True)
    np.testing.assert_allclose(out["coef"], coef[:-1], rtol=1e-7, atol=1e-9)
    assert out["intercept"] == pytest.approx(intercept, abs=1e-9)
    ref = Ridge(alpha=1.0).fit(X, y)
    np.testing.assert_allclose(out["coef"], ref.coef_, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kind", ["long", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_regression_hstacked_X(kind, fit_intercept):
    """sklearn test_ridge.py::test_ridge_regression_hstacked_X: [X, X] / 2 with alpha / 2 gives
    [coef, coef] (for long X, [X, X] is singular)."""
    X, y, coef = _ols_ridge_dataset(kind)
    X = X[:, :-1]
    X = 0.5 * np.concatenate((X, X), axis=1)
    if fit_intercept:
        intercept = coef[-1]
    else:
        X = X - X.mean(axis=0)
        y = y - y.mean()
        intercept = 0.0
    out = ridge_cv(X, y, alphas=[0.5], fit_intercept=fit_intercept)
    assert out["intercept"] == pytest.approx(intercept, abs=1e-8)
    np.testing.assert_allclose(out["coef"], np.r_[coef[:-1], coef[:-1]], atol=1e-8)


@pytest.mark.parametrize("kind", ["long", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_regression_vstacked_X(kind, fit_intercept):
    """sklearn test_ridge.py::test_ridge_regression_vstacked_X: [X; X] with 2 alpha gives coef."""
    X, y, coef = _ols_ridge_dataset(kind)
    X = X[:, :-1]
    X = np.concatenate((X, X), axis=0)
    y = np.r_[y, y]
    if fit_intercept:
        intercept = coef[-1]
    else:
        X = X - X.mean(axis=0)
        y = y - y.mean()
        intercept = 0.0
    out = ridge_cv(X, y, alphas=[2.0], fit_intercept=fit_intercept)
    assert out["intercept"] == pytest.approx(intercept, abs=1e-8)
    np.testing.assert_allclose(out["coef"], coef[:-1], atol=1e-8)


def test_primal_dual_relationship():
    """sklearn test_ridge.py::test_primal_dual_relationship: primal coef = X^T (K + alpha I)^-1 y."""
    X, y = load_diabetes(return_X_y=True)
    out = ridge_cv(X, y, alphas=[1e-2], fit_intercept=False)
    dual = np.linalg.solve(X @ X.T + 1e-2 * np.eye(X.shape[0]), y)
    np.testing.assert_allclose(out["coef"], X.T @ dual, rtol=1e-6)
    np.testing.assert_allclose(out["coef"], Ridge(alpha=1e-2, fit_intercept=False).fit(X, y).coef_,
                               rtol=1e-6)


def test_ridge_shapes_type():
    """sklearn test_ridge.py::test_ridge_shapes_type, in neurodyn's (n_features, n_targets) layout."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 10), rng.randn(5)
    out = ridge_cv(X, y, alphas=[1.0])
    assert out["coef"].shape == (10,) and isinstance(out["intercept"], float)
    out = ridge_cv(X, y[:, None], alphas=[1.0])
    assert out["coef"].shape == (10, 1) and out["intercept"].shape == (1,)
    out = ridge_cv(X, np.c_[y, 1 + y], alphas=[1.0])
    assert out["coef"].shape == (10, 2) and out["intercept"].shape == (2,)
    np.testing.assert_allclose(out["coef"].T, Ridge().fit(X, np.c_[y, 1 + y]).coef_, atol=1e-10)
    model = EncodingModel(alphas=[1.0], standardize=False).fit(X, y)
    assert model.predict(X).shape == (5,)
    assert EncodingModel(alphas=[1.0]).fit(X, np.c_[y, y]).predict(X).shape == (5, 2)


def test_ridge_intercept():
    """sklearn test_ridge.py::test_ridge_intercept (GH issue #708): multi-target intercepts."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 10), rng.randn(5)
    single = ridge_cv(X, y, alphas=[1.0])["intercept"]
    both = ridge_cv(X, np.c_[y, 1.0 + y], alphas=[1.0])["intercept"]
    assert both[0] == pytest.approx(single, abs=1e-10)
    assert both[1] == pytest.approx(single + 1.0, abs=1e-10)
    assert single == pytest.approx(Ridge().fit(X, y).intercept_, abs=1e-10)


def test_ridge_vs_lstsq():
    """sklearn test_ridge.py::test_ridge_vs_lstsq: a vanishing alpha gives OLS (alpha = 1e-10,
    neurodyn accepts only positive alphas)."""
    rng = np.random.RandomState(0)
    y, X = rng.randn(5), rng.randn(5, 4)
    out = ridge_cv(X, y, alphas=[1e-10], fit_intercept=False)
    ols = LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(out["coef"], ols.coef_, atol=1e-7)


def test_ridge_individual_penalties():
    """sklearn test_ridge.py::test_ridge_individual_penalties: a fit with per-target penalties
    equals separate fits. neurodyn takes per-target alphas only from its selection, so each
    target's column from a one-alpha fit is compared with sklearn's ``Ridge(alpha=penalties)``."""
    rng = np.random.RandomState(42)
    X, y = rng.randn(20, 10), rng.randn(20, 5)
    penalties = np.arange(1, 6, dtype=float)  # sklearn's arange(5) starts at alpha = 0
    ref = Ridge(alpha=penalties).fit(X, y).coef_
    ours = np.stack([ridge_cv(X, y[:, j], alphas=[a])["coef"] for j, a in enumerate(penalties)])
    np.testing.assert_allclose(ours, ref, atol=1e-10)


@pytest.mark.parametrize("alpha", [1e-16, 1e16], ids=["zero_alpha", "inf_alpha"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("X_shape", [(100, 50), (50, 50), (50, 100)], ids=["tall", "square", "wide"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regularization_limits_ridge_gcv(alpha, fit_intercept, X_shape, dtype):
    """sklearn test_ridge.py::test_regularization_limits_ridge_gcv: alpha near 0 gives
    LinearRegression (minimum-norm for wide X), alpha near inf gives coef 0 and intercept mean(y),
    with sklearn's tolerances (atol 1e-10 in float64, 1e-5 in float32).

    Before neurodyn's fixes, alpha = 1e-16 on square and wide X raised "beyond the float64
    range" (the leave-one-out residual and ``1 - h`` of an interpolating fit were both rounding
    noise, 0 / 0; they are now formed without cancellation and scaled by alpha together), and
    the float32 coefficients were 4e-5 to 1.3e-3 from LinearRegression (Gram-matrix rounding,
    ~cond(X)^2 eps; now refined in float64 to 2e-6 to 9e-6, scikit-learn's own float32 level).
    """
    n_samples, n_features = X_shape
    X, y = make_regression(n_samples=n_samples, n_features=n_features, noise=0, bias=10,
                           random_state=42)
    if alpha < 1:
        lin = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
        expected_coef, expected_intercept = lin.coef_, lin.intercept_
    else:
        expected_coef, expected_intercept = np.zeros(n_features), (np.mean(y) if fit_intercept else 0.0)
    out = ridge_cv(X.astype(dtype), y.astype(dtype), alphas=[alpha], fit_intercept=fit_intercept,
                   device="cpu", dtype="float32" if dtype == np.float32 else "float64")
    atol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out["coef"], expected_coef, atol=atol)
    np.testing.assert_allclose(out["intercept"], expected_intercept, atol=atol)  # sklearn's (rtol 1e-7)
    assert np.all(np.isfinite(out["cv_errors"]))


# ----------------------------------------------------------------- alpha selection


@pytest.mark.parametrize("X_shape", [(11, 8), (11, 20)], ids=["tall", "wide"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("y_shape, noise", [((11,), 1.0), ((11, 1), 30.0), ((11, 3), 150.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ridge_gcv_vs_ridge_loo_cv(X_shape, fit_intercept, y_shape, noise, dtype):
    """sklearn test_ridge.py::test_ridge_gcv_vs_ridge_loo_cv: the efficient leave-one-out
    selection equals brute-force leave-one-out (``RidgeCV(cv=n_samples)``).

    sklearn's reference picks one alpha for all targets; neurodyn's alpha is per target, so the
    reference is ``RidgeCV(cv=n_samples)`` fitted on each target alone. In float32 the
    coefficients were 1e-5 to 7e-4 off before neurodyn refined them in float64 (now < 1e-5).
    """
    n_samples, n_features = X_shape
    n_targets = y_shape[-1] if len(y_shape) == 2 else 1
    X, y = _make_sparse_offset_regression(n_samples, n_features, n_targets, noise)
    y = y.reshape(y_shape)
    alphas = [1e-3, 0.1, 1.0, 10.0, 1e3]
    Y = y.reshape(n_samples, -1)
    out = ridge_cv(X.astype(dtype), y.astype(dtype), alphas=alphas, fit_intercept=fit_intercept,
                   device="cpu", dtype="float32" if dtype == np.float32 else "float64")
    coef = np.asarray(out["coef"]).reshape(n_features, -1)
    inter = np.atleast_1d(out["intercept"])
    chosen = np.atleast_1d(out["alpha"])
    atol = 1e-5 if dtype == np.float32 else 1e-10  # sklearn's
    refs = [RidgeCV(cv=n_samples, fit_intercept=fit_intercept, alphas=alphas,
                    scoring="neg_mean_squared_error").fit(X, Y[:, j]) for j in range(Y.shape[1])]
    # the selection is exact in both dtypes
    np.testing.assert_array_equal(chosen, [loo.alpha_ for loo in refs])
    for j, loo in enumerate(refs):
        np.testing.assert_allclose(coef[:, j], loo.coef_, atol=atol)
        np.testing.assert_allclose(inter[j], loo.intercept_, atol=atol)  # sklearn's (rtol 1e-7)


def test_ridge_gcv_integer_arrays():
    """sklearn test_ridge.py::test_ridge_gcv_integer_arrays: integer inputs give the float result."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 5, size=(20, 10))
    y = rng.randint(0, 5, size=(20,))
    a = ridge_cv(X, y, alphas=[0.1, 1.0, 10.0])
    b = ridge_cv(X.astype(np.float64), y.astype(np.float64), alphas=[0.1, 1.0, 10.0])
    np.testing.assert_allclose(a["coef"], b["coef"])
    np.testing.assert_allclose(a["cv_errors"], b["cv_errors"])
    assert a["cv_errors"].dtype == np.float64
    ref = RidgeCV(alphas=[0.1, 1.0, 10.0], store_cv_results=True).fit(X, y)
    np.testing.assert_allclose(a["cv_errors"], ref.cv_results_.mean(axis=0), rtol=1e-8)


def test_ridge_cv_individual_penalties():
    """sklearn test_ridge.py::test_ridge_cv_individual_penalties: each target gets the alpha
    RidgeCV picks for it alone, and the coefficients are those of Ridge with those alphas."""
    rng = np.random.RandomState(42)
    n_samples, n_features, n_targets = 20, 5, 3
    y = rng.randn(n_samples, n_targets)
    X = (np.dot(y[:, [0]], np.ones((1, n_features)))
         + np.dot(y[:, [1]], 0.05 * np.ones((1, n_features)))
         + np.dot(y[:, [2]], 0.001 * np.ones((1, n_features)))
         + rng.randn(n_samples, n_features))
    alphas = (1, 100, 1000)
    optimal = [RidgeCV(alphas=alphas).fit(X, target).alpha_ for target in y.T]
    out = ridge_cv(X, y, alphas=alphas)
    np.testing.assert_array_equal(out["alpha"], optimal)
    ref = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, y)
    np.testing.assert_array_equal(out["alpha"], ref.alpha_)
    np.testing.assert_allclose(out["coef"].T, Ridge(alpha=out["alpha"]).fit(X, y).coef_, atol=1e-10)
    np.testing.assert_allclose(out["coef"].T, ref.coef_, atol=1e-10)
    assert out["alpha"].shape == (n_targets,)
    assert out["cv_errors"].shape == (len(alphas), n_targets)
    # one alpha
    one = ridge_cv(X, y, alphas=1)
    assert one["alpha"].shape == (n_targets,) and one["cv_errors"].shape == (1, n_targets)
    # one target
    single = ridge_cv(X, y[:, 0], alphas=alphas)
    assert np.ndim(single["alpha"]) == 0 and single["cv_errors"].shape == (len(alphas),)
    assert single["alpha"] == optimal[0]
    # the same through the estimator, with and without z-scoring (a StandardScaler pipeline)
    est = EncodingModel(alphas=alphas, standardize=False).fit(X, y)
    np.testing.assert_array_equal(est.alpha_, ref.alpha_)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-9)
    est = EncodingModel(alphas=alphas).fit(X, y)
    pipe = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas, alpha_per_target=True)).fit(X, y)
    np.testing.assert_array_equal(est.alpha_, pipe[-1].alpha_)
    np.testing.assert_allclose(est.predict(X), pipe.predict(X), atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("X_shape", [(30, 10), (10, 30)], ids=["tall", "wide"])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_ridge_cv_results_predictions(fit_intercept, X_shape, n_targets):
    """sklearn test_ridge.py::test_ridge_cv_results_predictions (no sample weight): the stored
    leave-one-out results equal a naive leave-one-out loop over Ridge fits. neurodyn stores the
    mean squared leave-one-out error per alpha and target (``cv_errors``)."""
    n_samples, n_features = X_shape
    X, y = make_regression(n_samples=n_samples, n_features=n_features, n_targets=n_targets,
                           random_state=0)
    Y = y.reshape(n_samples, -1)
    alphas = np.logspace(-5, 7, 5)
    out = ridge_cv(X, Y, alphas=alphas, fit_intercept=fit_intercept)
    errors = np.empty((len(alphas), Y.shape[1]))
    for a, alpha in enumerate(alphas):
        pred = np.empty_like(Y)
        for train, test in LeaveOneOut().split(X):
            pred[test] = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(
                X[train], Y[train]).predict(X[test])
        errors[a] = ((Y - pred) ** 2).mean(axis=0)
    np.testing.assert_allclose(out["cv_errors"], errors, rtol=1e-6)


def test_ridgecv_store_cv_results_matches_kfold_loop():
    """sklearn test_ridge.py::test_ridgecv_store_cv_results and the K-fold branch of
    test_ridge_best_score: neurodyn's K-fold errors (``cv=int``) equal a loop of sklearn Ridge fits
    over the same folds, and the chosen alpha minimises them per target."""
    rng = np.random.RandomState(42)
    X, Y = rng.randn(24, 5), rng.randn(24, 3)
    alphas = [1e-1, 1e0, 1e1]
    out = ridge_cv(X, Y, alphas=alphas, cv=4, random_state=0)
    folds = np.array_split(check_random_state(0).permutation(24), 4)  # neurodyn's fold rule
    errors = np.zeros((len(alphas), 3))
    for a, alpha in enumerate(alphas):
        for te in folds:
            tr = np.setdiff1d(np.arange(24), te)
            pred = Ridge(alpha=alpha).fit(X[tr], Y[tr]).predict(X[te])
            errors[a] += ((Y[te] - pred) ** 2).sum(axis=0)
    errors /= 24
    np.testing.assert_allclose(out["cv_errors"], errors, rtol=1e-9)
    np.testing.assert_array_equal(out["alpha"], np.asarray(alphas)[errors.argmin(axis=0)])


# ----------------------------------------------------------------- alphas validation


@pytest.mark.parametrize("cv", [None, 3])
def test_ridgecv_alphas_zero(cv):
    """sklearn test_ridge.py::test_ridgecv_alphas_zero. sklearn refuses alpha = 0 only for its
    leave-one-out mode; neurodyn refuses it for both, naming the argument."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 5), rng.randn(6)
    with pytest.raises(ValueError, match="alphas must be finite and positive"):
        ridge_cv(X, y, alphas=(0.0, 1.0, 10.0), cv=cv)
    if cv is None:
        with pytest.raises(ValueError, match=r"alphas\[0\] == 0.0, must be > 0.0"):
            RidgeCV(alphas=(0.0, 1.0, 10.0), cv=cv).fit(X, y)


@pytest.mark.parametrize("alphas, err_type, err_msg", [
    ((1, -1, -100), ValueError, "alphas must be finite and positive"),
    ((-0.1, -1.0, -10.0), ValueError, "alphas must be finite and positive"),
    ((1, 1.0, "1"), TypeError, "alphas must be a numeric array"),
])
def test_ridgecv_alphas_validation(alphas, err_type, err_msg):
    """sklearn test_ridge.py::test_ridgecv_alphas_validation (neurodyn's messages)."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 5), rng.randn(5)
    with pytest.raises(err_type, match=err_msg):
        ridge_cv(X, y, alphas=alphas)
    with pytest.raises(err_type, match=err_msg):
        EncodingModel(alphas=alphas).fit(X, y)


def test_ridgecv_alphas_scalar_int_and_conversion():
    """sklearn test_ridge.py::test_ridgecv_alphas_scalar, test_ridgecv_int_alphas and
    test_ridgecv_alphas_conversion: a scalar or integer alphas works like the float grid, and the
    estimator keeps the caller's ``alphas`` object unchanged."""
    X = np.array([[-1.0, -1.0], [-1.0, 0], [-0.8, -1.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([1, 1, 1, -1, -1])
    a = ridge_cv(X, y, alphas=(1, 10, 100))
    b = ridge_cv(X, y, alphas=(1.0, 10.0, 100.0))
    np.testing.assert_allclose(a["coef"], b["coef"])
    assert a["alpha"] == RidgeCV(alphas=(1, 10, 100)).fit(X, y).alpha_
    scalar = ridge_cv(X, y, alphas=1)
    np.testing.assert_allclose(scalar["coef"], Ridge(alpha=1.0).fit(X, y).coef_, atol=1e-12)
    alphas = (0.1, 1.0, 10.0)
    est = EncodingModel(alphas=alphas)
    assert est.alphas is alphas
    est.fit(X, y)
    assert est.alphas is alphas


# ----------------------------------------------------------------- dtypes


def test_dtype_match():
    """sklearn test_ridge.py::test_dtype_match / test_ridge_regression_dtype_stability: float32
    computation agrees with float64 (sklearn's tolerances rtol=1e-4, atol=5e-4). neurodyn
    returns float64 arrays whatever the compute dtype (results leave torch as float64)."""
    rng = np.random.RandomState(0)
    X64, y64 = rng.randn(6, 5), rng.randn(6)
    c32 = ridge_cv(X64.astype(np.float32), y64.astype(np.float32), alphas=[1.0], device="cpu",
                   dtype="float32")["coef"]
    c64 = ridge_cv(X64, y64, alphas=[1.0], device="cpu", dtype="float64")["coef"]
    assert c32.dtype == np.float64
    np.testing.assert_allclose(c32, c64, rtol=1e-4, atol=5e-4)
    np.testing.assert_allclose(c64, Ridge(alpha=1.0).fit(X64, y64).coef_, atol=1e-12)
    coef = rng.randn(5)
    y = X64 @ coef + 0.01 * rng.randn(6)
    r32 = ridge_cv(X64, y, alphas=[1.0], fit_intercept=False, device="cpu", dtype="float32")["coef"]
    r64 = ridge_cv(X64, y, alphas=[1.0], fit_intercept=False, device="cpu", dtype="float64")["coef"]
    np.testing.assert_allclose(r32, r64, atol=1e-5)
