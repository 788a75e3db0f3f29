"""Shape metrics: a published-algorithm reference, metric axioms, invariances, errors."""

import numpy as np
import pytest
import torch

from neurodyn.compare import (
    ShapeMetric,
    cross_validated_shape_distance,
    pairwise_shape_distances,
    shape_distance,
)


def _netrep_reference(X, Y, alpha, Xt, Yt, method):
    """Williams et al. (2021) as netrep's LinearMetric does it, in full feature space."""
    def whiten(A):
        lam, V = np.linalg.eigh(A.T @ A)
        lam = np.maximum(lam, 1e-7)
        d = alpha + (1 - alpha) * lam ** -0.5
        new_var = np.sum((alpha * lam ** 0.5 + (1 - alpha)) ** 2)
        d = d * np.sqrt(lam.sum() / new_var)
        return (V * d) @ V.T

    mx, my = X.mean(0), Y.mean(0)
    Zx, Zy = whiten(X - mx), whiten(Y - my)
    U, _, Vt = np.linalg.svd(((X - mx) @ Zx).T @ ((Y - my) @ Zy))
    A = (Xt - mx) @ Zx @ U
    B = (Yt - my) @ Zy @ Vt.T
    if method == "angular":
        return np.arccos(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))
    return np.linalg.norm(A - B) / np.sqrt(len(A))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_matches_published_algorithm_on_random_inputs(alpha, method):
    rng = np.random.default_rng(0)
    n, p = 40, 6
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p))
    Y = X @ rng.standard_normal((p, p)) + rng.standard_normal((n, p))
    Xt, Yt = X[:30], Y[:30]
    metric = ShapeMetric(alpha=alpha, score_method=method).fit(Xt, Yt)
    ref_train = _netrep_reference(Xt, Yt, alpha, Xt, Yt, method)
    assert metric.distance_ == pytest.approx(ref_train, rel=1e-9, abs=1e-10)
    assert metric.score(Xt, Yt) == pytest.approx(ref_train, rel=1e-9, abs=1e-10)
    ref_test = _netrep_reference(Xt, Yt, alpha, X[30:], Y[30:], method)
    assert metric.score(X[30:], Y[30:]) == pytest.approx(ref_test, rel=1e-9, abs=1e-10)
    assert shape_distance(Xt, Yt, alpha=alpha, score_method=method) == pytest.approx(
        ref_train, rel=1e-9, abs=1e-10)


def test_matches_netrep_when_installed():
    netrep = pytest.importorskip("netrep.metrics")
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((50, 5)), rng.standard_normal((50, 5))
    for alpha in (0.0, 0.5, 1.0):
        ref = netrep.LinearMetric(alpha=alpha, score_method="angular").fit(X[:40], Y[:40])
        ours = ShapeMetric(alpha=alpha).fit(X[:40], Y[:40])
        assert ours.score(X[40:], Y[40:]) == pytest.approx(ref.score(X[40:], Y[40:]), rel=1e-7)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_is_a_metric_on_random_triples(alpha, method):
    rng = np.random.default_rng(2)
    n = 20
    reps = [rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) for p in (3, 5, 8, 4, 6)]
    reps.append(reps[0] @ np.linalg.qr(rng.standard_normal((3, 3)))[0])  # equivalent to reps[0]
    D = pairwise_shape_distances(reps, alpha=alpha, score_method=method)
    np.testing.assert_allclose(D, D.T, atol=1e-12)
    for i in range(len(reps)):
        for j in range(len(reps)):
            # arccos near 1 turns rounding of ~1e-15 in the cosine into ~1e-7 in the angle
            d = shape_distance(reps[i], reps[j], alpha=alpha, score_method=method)
            assert D[i, j] == pytest.approx(d, abs=1e-6)
            assert d == pytest.approx(shape_distance(reps[j], reps[i], alpha=alpha,
                                                     score_method=method), abs=1e-6)
    assert D[0, 5] == pytest.approx(0.0, abs=1e-6)
    assert np.all(D[~np.eye(len(reps), dtype=bool)][:4] > 1e-3)
    for i, j, k in __import__("itertools").permutations(range(len(reps)), 3):
        assert D[i, k] <= D[i, j] + D[j, k] + 1e-9


def test_invariances_procrustes_and_cca():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 6))
    Y = X @ rng.standard_normal((6, 6)) + 0.5 * rng.standard_normal((30, 6))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    # alpha = 1 (angular): rotations, isotropic scaling, translation
    d = shape_distance(X, Y)
    assert shape_distance(2.5 * X @ Q + 3.0, Y) == pytest.approx(d, rel=1e-10)
    assert shape_distance(X, X @ Q * 0.1) == pytest.approx(0.0, abs=1e-6)
    # ... but not a general linear map
    A = rng.standard_normal((6, 6))
    assert shape_distance(X, X @ A) > 0.05
    # alpha = 0: any invertible linear map is ignored
    assert shape_distance(X, X @ A, alpha=0.0) == pytest.approx(0.0, abs=1e-6)
    # euclidean with alpha = 1 is the Procrustes distance: rotation-invariant, scale-sensitive
    e = shape_distance(X, Y, score_method="euclidean")
    assert shape_distance(X @ Q, Y, score_method="euclidean") == pytest.approx(e, rel=1e-10)
    assert shape_distance(2 * X, 2 * Y, score_method="euclidean") == pytest.approx(2 * e, rel=1e-10)


def test_wide_representations_and_transform():
    rng = np.random.default_rng(4)
    n = 25
    latent = rng.standard_normal((n, 4))
    X = latent @ rng.standard_normal((4, 300))  # many more features than conditions
    Y = latent @ rng.standard_normal((4, 500))
    m = ShapeMetric(alpha=0.0).fit(X, Y)
    assert m.distance_ == pytest.approx(0.0, abs=1e-6)  # same latent space up to a linear map
    Xa, Ya = m.align(X, Y)
    assert Xa.shape == Ya.shape and Xa.shape[0] == n
    # aligned up to the overall scale (each side keeps its own total variance)
    np.testing.assert_allclose(Xa / np.linalg.norm(Xa), Ya / np.linalg.norm(Ya), atol=1e-8)
    assert np.linalg.norm(Xa) ** 2 == pytest.approx(np.sum((X - X.mean(0)) ** 2), rel=1e-8)
    assert m.Wx_.shape[0] == 300 and m.Wy_.shape[0] == 500


def test_time_resolved_batch_and_cross_validation():
    rng = np.random.default_rng(5)
    n, T = 30, 3
    X = rng.standard_normal((n, T, 4))
    Y = X @ rng.standard_normal((4, 5)) + np.array([0.2, 1.0, 5.0])[None, :, None] * rng.standard_normal((n, T, 5))
    per_t = shape_distance(X, Y, alpha=0.5)
    assert per_t.shape == (T,)
    for t in range(T):
        assert per_t[t] == pytest.approx(shape_distance(X[:, t], Y[:, t], alpha=0.5), rel=1e-10)
    assert np.all(np.diff(per_t) > 0)  # noise grows with t
    gen = shape_distance(X, Y, pairwise=True)
    assert gen.shape == (T, T)
    assert gen[0, 2] == pytest.approx(shape_distance(X[:, 0], Y[:, 2]), rel=1e-10)
    m = ShapeMetric().fit(X[:20], Y[:20])
    held = m.score(X[20:], Y[20:])
    for t in range(T):
        assert held[t] == pytest.approx(ShapeMetric().fit(X[:20, t], Y[:20, t]).score(
            X[20:, t], Y[20:, t]), rel=1e-10)
    res = cross_validated_shape_distance(X[:, 0], Y[:, 0], cv=3, random_state=0)
    assert res["fold_distances"].shape == (3,)
    # held-out conditions are matched worse than fitted ones
    assert res["distance"] > res["train_distance"]
    same = cross_validated_shape_distance(X[:, 0], X[:, 0] @ np.linalg.qr(rng.standard_normal((4, 4)))[0],
                                          cv=3, random_state=0)
    assert same["distance"] == pytest.approx(0.0, abs=1e-6)


def test_shape_input_errors():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((12, 3))
    with pytest.raises(ValueError, match="same number of conditions"):
        shape_distance(X, X[:10])
    Xn = X.copy()
    Xn[0, 0] = np.inf
    with pytest.raises(ValueError, match="Y must be finite"):
        ShapeMetric().fit(X, Xn)
    with pytest.raises(ValueError, match="alpha must be in"):
        shape_distance(X, X, alpha=1.5)
    with pytest.raises(ValueError, match="score_method must be one of"):
        shape_distance(X, X, score_method="cosine")
    with pytest.raises(ValueError, match="too few conditions for cv=5"):
        cross_validated_shape_distance(X[:8], X[:8], cv=5)
    with pytest.raises(ValueError, match="X has no variance"):
        shape_distance(np.ones((12, 3)), X)
    m = ShapeMetric().fit(X, X)
    with pytest.raises(ValueError, match="X has 2 features"):
        m.score(X[:, :2], X)
    with pytest.raises(ValueError, match=r"Xs\[1\] has 11 conditions"):
        pairwise_shape_distances([X, X[:11]])
    with pytest.raises(ValueError, match="X needs at least 2 conditions"):
        shape_distance(torch.ones(1, 3), X[:1])
