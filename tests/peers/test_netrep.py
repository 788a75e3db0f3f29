"""netrep's own metric test cases, ported to neurodyn's shape metrics.

Source: github.com/ahwillia/netrep (read at commit 0186b8a), files ``tests/test_metrics.py``,
``tests/test_utils.py`` and ``tests/test_multiprocessing.py``; each test names the function it
ports. netrep is not on PyPI, so nothing here imports it: every case is checked against its own
construction (a planted rotation, scaling or linear map whose distance is known to be 0) or
against an independent numpy/scipy computation (``scipy.linalg.orthogonal_procrustes``,
principal angles, the angular-distance formula ``arccos(<A, B>_F / (|A|_F |B|_F))``).

API mapping: netrep's ``LinearMetric(alpha, center_columns, score_method)`` is
:class:`neurodyn.compare.ShapeMetric` (same parameters) and :func:`shape_distance`
(fit and score on the same data); ``metric.pairwise_distances`` is
:func:`pairwise_shape_distances` (training distances) and a :class:`ShapeMetric` fitted on
each training pair and scored on the test pair; ``netrep.utils.whiten`` is checked through
:meth:`ShapeMetric.align`, which returns the whitened and rotated data. netrep's Euclidean
score is ``|A - B|_F``; neurodyn's is ``|A - B|_F / sqrt(n_conditions)`` (root mean square per
condition), so the cases use the angular score or distances that are 0.

Peer defect (documented, not ported as a failure): netrep zero-pads the narrower
representation *before* whitening (``netrep.validation.check_equal_shapes`` then
``netrep.utils.whiten`` with eigenvalues clipped at 1e-7), so the padded directions count in the
variance-preserving rescale of a partial whitening (0 <= alpha < 1). The whitened data then no
longer keep their total variance, and netrep's Euclidean distance between two representations
depends on how many zero columns the narrower one received, i.e. on the width of the *other*
representation. neurodyn whitens each representation on its own support (zero singular values
left out) and pads only the aligned coordinates; see ``test_peer_defect_netrep_pads_before_whitening``.
"""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes, subspace_angles

from neurodyn.compare import (
    ShapeMetric,
    cross_validated_shape_distance,
    pairwise_shape_distances,
    shape_distance,
)

TOL = 1e-6  # netrep's tolerance in test_metrics.py


def _rand_orth(m, n, rs):
    """A random m x n matrix with orthonormal columns (netrep.utils.rand_orth's role)."""
    Q, R = np.linalg.qr(rs.randn(m, n))
    return Q * np.sign(np.diag(R))


def _reference(X, Y, alpha, center=True, score="angular", n_rows=None):
    """Generalised shape distance computed independently with numpy/scipy.

    Each side is centred, partially whitened on its own support (singular values ``s``
    become ``alpha * s + (1 - alpha)``, rescaled to keep the total variance), zero-padded to a
    common width *after* whitening, aligned by ``scipy.linalg.orthogonal_procrustes`` and scored.
    """
    def whiten(A):
        A = A - A.mean(0) if center else A
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        keep = s > s[0] * max(A.shape) * np.finfo(float).eps
        U, s = U[:, keep], s[keep]
        w = alpha * s + (1 - alpha)
        w = w * np.sqrt(np.sum(s ** 2) / np.sum(w ** 2))
        return U * w  # the whitened data in the coordinates of its own row space

    Xw, Yw = whiten(X), whiten(Y)
    k = max(Xw.shape[1], Yw.shape[1])
    Xw = np.pad(Xw, ((0, 0), (0, k - Xw.shape[1])))
    Yw = np.pad(Yw, ((0, 0), (0, k - Yw.shape[1])))
    R, _ = orthogonal_procrustes(Xw, Yw)
    A, B = Xw @ R, Yw
    if score == "angular":
        cos = np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B))
        return float(np.arccos(np.clip(cos, -1.0, 1.0)))
    return float(np.linalg.norm(A - B) / np.sqrt(n_rows or X.shape[0]))


# ----------------------------------------------------------------- tests/test_metrics.py


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uncentered_procrustes(seed):
    """netrep tests/test_metrics.py::test_uncentered_procrustes (m=100, n=10)."""
    rs = np.random.RandomState(seed)
    Q = _rand_orth(10, 10, rs)
    X = rs.randn(100, 10)
    Y = X @ Q
    metric = ShapeMetric(alpha=1.0, center_columns=False).fit(X, Y)
    assert abs(metric.score(X, Y)) < TOL
    assert abs(shape_distance(X, Y, alpha=1.0, center_columns=False)) < TOL
    # the learned maps do align the two: X Wx equals Y Wy
    Xa, Ya = metric.align(X, Y)
    np.testing.assert_allclose(Xa, Ya, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_centered_procrustes(seed):
    """netrep tests/test_metrics.py::test_centered_procrustes: rotation, offset, isotropic scale."""
    rs = np.random.RandomState(seed)
    Q = _rand_orth(10, 10, rs)
    v = rs.randn(1, 10)
    c = rs.exponential()
    X = rs.randn(100, 10)
    Y = c * X @ Q + v
    metric = ShapeMetric(alpha=1.0, center_columns=True).fit(X, Y)
    assert abs(metric.score(X, Y)) < TOL
    # uncentred, the offset v is a real difference (independent check of the centring)
    assert shape_distance(X, Y, alpha=1.0, center_columns=False) == pytest.approx(
        _reference(X, Y, 1.0, center=False), abs=1e-9)
    assert shape_distance(X, Y, alpha=1.0, center_columns=False) > 0.1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uncentered_cca(seed):
    """netrep tests/test_metrics.py::test_uncentered_cca: an invertible linear map is 0 for
    alpha=0 (CCA) and nonzero for alpha=1 (Procrustes)."""
    rs = np.random.RandomState(seed)
    W = rs.randn(10, 10)
    X = rs.randn(100, 10)
    Y = X @ W
    cca = ShapeMetric(alpha=0.0, center_columns=False).fit(X, Y)
    assert cca.score(X, Y) < TOL
    proc = ShapeMetric(alpha=1.0, center_columns=False).fit(X, Y)
    assert abs(proc.score(X, Y)) > TOL
    assert proc.score(X, Y) == pytest.approx(_reference(X, Y, 1.0, center=False), abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_centered_cca(seed):
    """netrep tests/test_metrics.py::test_centered_cca: linear map plus offset."""
    rs = np.random.RandomState(seed)
    W = rs.randn(10, 10)
    v = rs.randn(1, 10)
    X = rs.randn(100, 10)
    Y = X @ W + v
    assert abs(ShapeMetric(alpha=0.0, center_columns=True).fit(X, Y).score(X, Y)) < TOL
    proc = ShapeMetric(alpha=1.0, center_columns=True).fit(X, Y).score(X, Y)
    assert abs(proc) > TOL
    assert proc == pytest.approx(_reference(X, Y, 1.0), abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_principal_angles(seed):
    """netrep tests/test_metrics.py::test_principal_angles: for orthonormal X, Y the Procrustes
    angular distance is arccos of the mean cosine of the principal angles."""
    rs = np.random.RandomState(seed)
    X = _rand_orth(100, 10, rs)
    Y = _rand_orth(100, 10, rs)
    cos_thetas = np.linalg.svd(X.T @ Y, compute_uv=False)
    dist_1 = np.arccos(np.mean(cos_thetas))
    # the same angles from scipy, independently of the SVD above
    assert dist_1 == pytest.approx(np.arccos(np.mean(np.cos(subspace_angles(X, Y)))), abs=1e-12)
    metric = ShapeMetric(alpha=1.0, center_columns=False).fit(X, Y)
    assert abs(dist_1 - metric.score(X, Y)) < TOL


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_triangle_inequality_linear(seed, alpha):
    """netrep tests/test_metrics.py::test_triangle_inequality_linear (m=31, n=30, centred)."""
    rs = np.random.RandomState(seed)
    X, Y, M = rs.randn(31, 30), rs.randn(31, 30), rs.randn(31, 30)
    metric = ShapeMetric(alpha=alpha, center_columns=True)
    dXY = metric.fit(X, Y).score(X, Y)
    dXM = metric.fit(X, M).score(X, M)
    dMY = metric.fit(M, Y).score(M, Y)
    assert dXY <= dXM + dMY + TOL
    # and each is the independently computed distance
    for (A, B), d in (((X, Y), dXY), ((X, M), dXM), ((M, Y), dMY)):
        assert d == pytest.approx(_reference(A, B, alpha), abs=1e-7)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("center_columns", [True, False])
@pytest.mark.parametrize("score_method", ["euclidean", "angular"])
def test_permutation(seed, center_columns, score_method):
    """netrep tests/test_metrics.py::test_permutation, for neurodyn's orthogonal metric.

    neurodyn has no permutation-only metric (netrep's ``PermutationMetric``); permutations are
    orthogonal maps, so the Procrustes distance between X and its column permutation must be 0.
    """
    rs = np.random.RandomState(seed)
    X = rs.randn(100, 10)
    Y = np.copy(X)[:, rs.permutation(10)]
    metric = ShapeMetric(alpha=1.0, center_columns=center_columns, score_method=score_method)
    assert abs(metric.fit(X, Y).score(X, Y)) < TOL


# ----------------------------------------------------------------- tests/test_utils.py


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("m, n", [(50, 10), (100, 20)])
def test_whiten_preserve_variance(seed, m, n):
    """netrep tests/test_utils.py::test_whiten_preserve_variance: full whitening (alpha=0)
    with the variance kept gives a Gram matrix ``(trace / n) I``."""
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n)
    XZ, _ = ShapeMetric(alpha=0.0, center_columns=False).fit(X, rs.randn(m, n)).align(X, X)
    gram = XZ.T @ XZ
    np.testing.assert_allclose(gram, np.eye(n) * np.trace(X.T @ X) / n, atol=1e-8)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("m, n", [(50, 10), (100, 20)])
def test_partial_whiten_preserve_variance(seed, alpha, m, n):
    """netrep tests/test_utils.py::test_partial_whiten_preserve_variance: the total variance
    is kept for every alpha; independently, the whitened singular values are
    proportional to ``alpha * s + (1 - alpha)``."""
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n)
    XZ, _ = ShapeMetric(alpha=alpha, center_columns=False).fit(X, rs.randn(m, n)).align(X, X)
    assert np.sum(XZ ** 2) == pytest.approx(np.sum(X ** 2), rel=1e-10)
    s = np.linalg.svd(X, compute_uv=False)
    sw = np.linalg.svd(XZ, compute_uv=False)
    expected = alpha * s + (1 - alpha)
    np.testing.assert_allclose(sw / sw[0], expected / expected[0], rtol=1e-9)


# ----------------------------------------------------------------- tests/test_multiprocessing.py


@pytest.mark.parametrize("test_set", [False, True])
def test_pairwise_distances(test_set):
    """netrep tests/test_multiprocessing.py::test_pairwise_distances, ``metric_type='linear'``
    (3 networks, 2 images, 4 neurons).

    netrep asserts only the shapes and non-negativity. With two conditions the centred data
    are ``+-v`` for one vector ``v``, so any two networks are equal up to rotation and scale:
    every training distance is exactly 0, which neurodyn must give.
    """
    rs = np.random.RandomState(0)
    n_networks, n_images, n_neurons = 3, 2, 4
    train = [rs.randn(n_images, n_neurons) for _ in range(n_networks)]
    test = [rs.randn(n_images, n_neurons) for _ in range(n_networks)]
    D_train = pairwise_shape_distances(train)
    assert D_train.shape == (n_networks, n_networks)
    np.testing.assert_allclose(D_train, 0.0, atol=TOL)
    if test_set:
        D_test = np.array([[ShapeMetric().fit(train[i], train[j]).score(test[i], test[j])
                            for j in range(n_networks)] for i in range(n_networks)])
        assert D_test.shape == (n_networks, n_networks)
        assert np.all(D_test >= 0.0) and np.all(D_test <= np.pi)
        # independent check: map the test data with the training alignment computed by scipy
        for i in range(n_networks):
            for j in range(n_networks):
                A, B = train[i] - train[i].mean(0), train[j] - train[j].mean(0)
                R, _ = orthogonal_procrustes(A, B)
                At, Bt = (test[i] - train[i].mean(0)) @ R, test[j] - train[j].mean(0)
                # train rank 1: only the component along the training direction is kept
                u = B[0] / np.linalg.norm(B[0])
                Ap, Bp = np.outer(At @ u, u), np.outer(Bt @ u, u)
                cos = np.sum(Ap * Bp) / (np.linalg.norm(Ap) * np.linalg.norm(Bp))
                assert D_test[i, j] == pytest.approx(np.arccos(np.clip(cos, -1, 1)), abs=1e-7)


def test_pairwise_distances_larger_equal_one_by_one():
    """netrep tests/test_multiprocessing.py::test_pairwise_distances, at a size where the
    distances are not trivially 0: the batched matrix equals the pairwise reference."""
    rs = np.random.RandomState(0)
    reps = [rs.randn(30, p) for p in (4, 6, 5)]
    for alpha in (0.0, 0.5, 1.0):
        D = pairwise_shape_distances(reps, alpha=alpha)
        ref = np.array([[_reference(a, b, alpha) if i != j else 0.0 for j, b in enumerate(reps)]
                        for i, a in enumerate(reps)])
        np.testing.assert_allclose(D, ref, atol=1e-7)
    res = cross_validated_shape_distance(reps[0], reps[1], cv=3, random_state=0)
    assert 0.0 <= res["distance"] <= np.pi


# ----------------------------------------------------------------- peer defect: zero padding


def _netrep_style_whiten(A, alpha, eigval_tol=1e-7):
    """netrep.utils.whiten as documented there (eigenvalues of A^T A clipped at ``eigval_tol``,
    diagonal ``alpha + (1 - alpha) lam^-1/2``, rescaled by the variance summed over *all*
    eigenvalues), written here from its description so netrep is not needed."""
    lam, V = np.linalg.eigh(A.T @ A)
    lam = np.maximum(lam, eigval_tol)
    d = alpha + (1 - alpha) * lam ** -0.5
    new_var = np.sum(alpha ** 2 * lam + 2 * alpha * (1 - alpha) * lam ** 0.5 + (1 - alpha) ** 2)
    d = d * np.sqrt(np.sum(lam) / new_var)
    return A @ (V * d) @ V.T


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_peer_defect_netrep_pads_before_whitening(alpha):
    """Peer defect: netrep zero-pads the narrower representation before whitening.

    netrep (``check_equal_shapes(..., zero_pad=True)`` in ``LinearMetric.fit``) pads X (3 units)
    with zero columns up to Y's width, then whitens it; the padded directions get clipped
    eigenvalues and enter the variance-preserving rescale. Independent check: the padded
    whitening loses part of X's total variance, and the loss grows with the padding, i.e. with
    the width of the representation X is compared to. neurodyn whitens X on its own support, so
    its aligned X keeps the variance whatever the width of Y, and its distances equal the
    reference computation that pads only after whitening.
    """
    rs = np.random.RandomState(4)
    n = 40
    X = rs.randn(n, 3) @ rs.randn(3, 3)
    Xc = X - X.mean(0)
    total = np.sum(Xc ** 2)
    kept = []
    for width in (3, 8, 20):
        padded = np.pad(Xc, ((0, 0), (0, width - 3)))
        kept.append(np.sum(_netrep_style_whiten(padded, alpha) ** 2) / total)
    assert kept[0] == pytest.approx(1.0, rel=1e-9)  # no padding: variance kept
    # padding: variance lost, more with more padding (for alpha = 0 exactly rank / width,
    # since every padded direction counts as one whitened unit of variance)
    assert kept[1] < 1 - 1e-3 and kept[2] < kept[1] - 1e-3
    if alpha == 0.0:
        np.testing.assert_allclose(kept, [1.0, 3 / 8, 3 / 20], rtol=1e-6)
    for width in (3, 8, 20):
        Y = rs.randn(n, width)
        metric = ShapeMetric(alpha=alpha, score_method="euclidean").fit(X, Y)
        Xa, _ = metric.align(X, Y)
        assert np.sum(Xa ** 2) == pytest.approx(total, rel=1e-9)
        assert metric.distance_ == pytest.approx(_reference(X, Y, alpha, score="euclidean"), rel=1e-7)
        # zero columns carry no information: appending them to Y changes nothing in neurodyn
        Y0 = np.pad(Y, ((0, 0), (0, 5)))
        assert shape_distance(X, Y0, alpha=alpha, score_method="euclidean") == pytest.approx(
            metric.distance_, rel=1e-9)
