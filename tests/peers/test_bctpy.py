"""bctpy's own tests of clustering, transitivity, degree, strength and thresholding, ported.

Sources (aestrivex/bctpy, folder ``test/``): ``clustering_test.py``,
``basic_test.py`` and their loader ``load_samples.py``. The originals load
bctpy's sample connectomes (``test/mats/sample_data.npy``, 138 nodes, and
``sample_signed.npy``, 223 nodes), threshold them with
``threshold_proportional`` and compare a sum with a number written in the
test. Here each case runs twice:

- ``bctpy``: on bctpy's own sample matrix, against the number written in
  bctpy's test, with bctpy's tolerance (``np.allclose``). The matrices are part
  of bctpy's repository (GPL-3) and are not copied into neurodyn (BSD-3): point
  ``NEURODYN_BCTPY_MATS`` at a folder holding them (a checkout's ``test/mats``);
  without it this variant is skipped.
- ``synthetic``: on a seeded matrix of the same size and kind, against bctpy
  itself run on the same input (bctpy is a dev dependency), to 1e-10.

Thresholds use ``rounding="half_up"`` (bctpy's ``teachers_round``). bctpy's
weighted coefficients are computed on the weights as given; neurodyn divides by
the largest ``|w|`` (Onnela, networkx), and Onnela's coefficient is homogeneous
of degree one in the weights, so bctpy's value is ``max|w|`` times neurodyn's:
the ported cases assert that relation (``normalize=False``, bctpy's convention,
refuses these weights above 1, since the coefficient would exceed 1).

Not ported: the directed variants (``*_wd``, ``*_bd``, ``threshold_proportional``
of a directed matrix; neurodyn's graphs are undirected), and ``normalize`` /
``invert`` / ``autofix`` (no neurodyn counterpart).
"""

import os
from pathlib import Path

import bct
import numpy as np
import pytest

from neurodyn.graph import clustering, degree, strength, threshold_matrix, transitivity

KINDS = ["bctpy", "synthetic"]


def _mats_dir():
    folder = os.environ.get("NEURODYN_BCTPY_MATS")
    return Path(folder) if folder else None


def _sample(kind: str, which: str) -> np.ndarray:
    """bctpy's sample matrix ``sample_<which>.npy``, or a seeded stand-in of the same kind."""
    if kind == "bctpy":
        folder = _mats_dir()
        path = folder / f"sample_{which}.npy" if folder else None
        if path is None or not path.is_file():
            pytest.skip("bctpy's sample matrices are not shipped (GPL-3): set NEURODYN_BCTPY_MATS to "
                        "bctpy's test/mats folder to run the cases on them")
        x = np.load(path)
        # load_samples.load_signed_sample rounds to 8 decimals before thresholding
        return np.around(x, 8) if which == "signed" else x
    rng = np.random.default_rng(0 if which == "data" else 1)
    if which == "data":  # non-negative, about 30 % zeros, largest weight near 10
        n = 138
        x = rng.gamma(2.0, 1.2, (n, n)) * (rng.random((n, n)) < 0.7)
    else:  # correlation-like, signed, with ones-ish on the diagonal as in sample_signed
        n = 223
        x = rng.uniform(-0.35, 0.86, (n, n))
    x = np.triu(x, 1)
    x = x + x.T
    if which == "signed":
        np.fill_diagonal(x, 0.857)
    return x


def _ours(x, p):
    """neurodyn's counterpart of ``bct.threshold_proportional(x, p)``: the kept weights, sparse."""
    g = threshold_matrix(x, density=p, rounding="half_up", weighted=True)
    return g.weights


def _same_as_bctpy_threshold(x, p, W):
    ref = bct.threshold_proportional(x, p)
    np.testing.assert_array_equal(W.toarray(), ref)
    return ref


def _check(kind, ours, published, live, peer_rtol=1e-5, peer_atol=1e-8):
    if kind == "bctpy":
        assert np.allclose(ours, published, rtol=peer_rtol, atol=peer_atol), (ours, published)
    assert ours == pytest.approx(live, rel=1e-10, abs=1e-10)


# ----- clustering_test.py --------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_cluscoef_wu(kind):
    """clustering_test.py::test_cluscoef_wu: sum(clustering_coef_wu(load_sample(thres=.23))) = 187.95878414."""
    x = _sample(kind, "data")
    W = _ours(x, 0.23)
    ref = _same_as_bctpy_threshold(x, 0.23, W)
    c = clustering(W, weighted=True)
    _check(kind, W.max() * c.sum(), 187.95878414, bct.clustering_coef_wu(ref).sum())
    with pytest.raises(ValueError, match="normalize=False"):
        clustering(W, weighted=True, normalize=False)


@pytest.mark.parametrize("kind", KINDS)
def test_transitivity_wu(kind):
    """clustering_test.py::test_transitivity_wu: transitivity_wu(load_sample(thres=.23)) = 1.32927829."""
    x = _sample(kind, "data")
    W = _ours(x, 0.23)
    ref = _same_as_bctpy_threshold(x, 0.23, W)
    _check(kind, W.max() * transitivity(W, weighted=True), 1.32927829, bct.transitivity_wu(ref))


@pytest.mark.parametrize("kind", KINDS)
def test_cluscoef_signed(kind):
    """clustering_test.py::test_cluscoef_signed: clustering_coef_wu of the signed sample (p = .85) is real.

    bctpy asserts only that the imaginary part of the sum is 0 (its cube root of a
    negative product must be real); neurodyn returns real float64 values, equal to
    bctpy's ``max|w|`` times.
    """
    x = _sample(kind, "signed")
    W = _ours(x, 0.85)
    ref = _same_as_bctpy_threshold(x, 0.85, W)
    c = clustering(W, weighted=True)
    assert c.dtype == np.float64 and np.isfinite(c).all()
    assert np.imag(np.sum(c)) == 0 and W.min() < 0  # negative weights survive the threshold
    np.testing.assert_allclose(abs(W).max() * c, bct.clustering_coef_wu(ref), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_transitivity_signed(kind):
    """clustering_test.py::test_transitivity_signed: transitivity_wu of the signed sample (p = .85) is real."""
    x = _sample(kind, "signed")
    W = _ours(x, 0.85)
    ref = _same_as_bctpy_threshold(x, 0.85, W)
    t = transitivity(W, weighted=True)
    assert isinstance(t, float) and np.imag(t) == 0
    assert abs(W).max() * t == pytest.approx(bct.transitivity_wu(ref), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_cluscoef_bu(kind):
    """clustering_test.py::test_cluscoef_bu: sum(clustering_coef_bu(binarize(load_sample(.17)))) = 60.10160458."""
    x = _sample(kind, "data")
    A = _ours(x, 0.17) != 0
    ref = bct.binarize(bct.threshold_proportional(x, 0.17))
    np.testing.assert_array_equal(A.toarray(), ref)
    _check(kind, clustering(A).sum(), 60.10160458, bct.clustering_coef_bu(ref).sum())


@pytest.mark.parametrize("kind", KINDS)
def test_transitivity_bu(kind):
    """clustering_test.py::test_transitivity_bu: transitivity_bu(binarize(load_sample(.17))) = 0.42763107."""
    x = _sample(kind, "data")
    A = _ours(x, 0.17) != 0
    ref = bct.binarize(bct.threshold_proportional(x, 0.17))
    _check(kind, transitivity(A), 0.42763107, bct.transitivity_bu(ref))


# ----- basic_test.py -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("p,published", [(0.5, 22548.51206965), (0.3, 15253.75425406)])
def test_threshold_proportional(kind, p, published):
    """basic_test.py::test_threshold_proportional (p = .5) and ::test_threshold_proportional_nocopy (p = .3).

    Sum of the kept weights (both triangles).

    Peer defect at p = .3 on bctpy's sample: four pairs have exactly the same
    weight (2.0249307479...) and straddle the cut. bctpy keeps whichever of them
    ``np.argsort`` (not a stable sort) happens to place first, here the pair
    (22, 121) alone, so its graph depends on the sort order and not on the data.
    neurodyn leaves all pairs tied at the cut out (documented; it warns when that
    loses more than 1 % of the edges). The test asserts that every edge bctpy keeps
    beyond neurodyn's weighs exactly the cut value, and that bctpy's published sum
    is neurodyn's plus those weights.
    """
    x = _sample(kind, "data")
    g = threshold_matrix(x, density=p, rounding="half_up", weighted=True)
    ours = g.weights.toarray()
    ref = bct.threshold_proportional(x, p)
    assert not np.any((ours != 0) & (ref == 0))  # neurodyn keeps nothing bctpy drops
    extra = (ref != 0) & (ours == 0)  # bctpy's arbitrary picks among the pairs tied at the cut
    assert np.all(x[extra] == g.threshold)
    tied = np.triu(x == g.threshold, 1).sum()
    assert extra.sum() // 2 < max(tied, 1)
    if kind == "bctpy" and p == 0.3:
        assert extra.sum() == 2 and tied == 4
    _check(kind, ours.sum() + x[extra].sum(), published, ref.sum())


@pytest.mark.parametrize("kind", KINDS)
def test_threshold_absolute(kind):
    """basic_test.py::test_threshold_absolute: sum(threshold_absolute(load_sample(), 2.1)) = 13280.17768104.

    bctpy keeps ``w >= 2.1``, neurodyn ``w > 2.1``; no weight equals 2.1 here
    (asserted), so the graphs are the same.
    """
    x = _sample(kind, "data")
    assert not np.any(x == 2.1)
    g = threshold_matrix(x, 2.1, weighted=True)
    _check(kind, g.weights.sum(), 13280.17768104, bct.threshold_absolute(x, 2.1).sum())


@pytest.mark.parametrize("kind", KINDS)
def test_strengths_und(kind):
    """basic_test.py::test_strengths_und: the sum of the strengths of load_sample() is 38967.38702018.

    Peer defect in the test itself: bctpy computes ``s = strengths_und(x)`` and then
    asserts ``np.sum(x)``, never looking at ``s``. Ported as meant: the strengths,
    whose sum is the sum of the weights (zero diagonal), and which equal bctpy's
    ``strengths_und`` node by node.
    """
    x = _sample(kind, "data")
    s = strength(x)
    _check(kind, s.sum(), 38967.38702018, x.sum())
    np.testing.assert_allclose(s, bct.strengths_und(x), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_degrees_und(kind):
    """basic_test.py::test_degrees_und: sum(degrees_und(threshold_proportional(load_sample(), .26))) = 4916."""
    x = _sample(kind, "data")
    d = degree(_ours(x, 0.26) != 0)
    live = bct.degrees_und(bct.threshold_proportional(x, 0.26))
    np.testing.assert_array_equal(d, live)
    if kind == "bctpy":
        assert d.sum() == 4916


@pytest.mark.parametrize("kind", KINDS)
def test_binarize(kind):
    """basic_test.py::test_binarize: sum(binarize(threshold_proportional(load_sample(), .41))) = 7752."""
    x = _sample(kind, "data")
    A = _ours(x, 0.41) != 0
    live = bct.binarize(bct.threshold_proportional(x, 0.41))
    np.testing.assert_array_equal(A.toarray(), live)
    if kind == "bctpy":
        assert A.sum() == 7752


# ----- peer defects found while porting (not bctpy test cases) ------------------------------

def test_peer_defect_clustering_coef_wu_sign_modifies_its_input():
    """bctpy/algorithms/clustering.py::clustering_coef_wu_sign clears the caller's diagonal in place.

    It starts with ``np.fill_diagonal(W, 0)`` on the array it was given. neurodyn
    ignores the diagonal without touching the caller's array, and gives the values
    bctpy gives on a copy.
    """
    x = _sample("synthetic", "signed")
    W = x / np.abs(x).max()
    given = W.copy()
    pos, neg = clustering(W, weighted=True, signed=True, normalize=False)
    np.testing.assert_array_equal(W, given)  # neurodyn: untouched
    ref_pos, ref_neg = bct.clustering_coef_wu_sign(W)
    assert not np.array_equal(W, given) and np.all(np.diag(W) == 0)  # bctpy: diagonal overwritten
    np.testing.assert_allclose(pos, ref_pos, rtol=0, atol=1e-10)
    np.testing.assert_allclose(neg, ref_neg, rtol=0, atol=1e-10)


def test_peer_defect_transitivity_wu_of_a_graph_without_triples_is_nan():
    """bctpy/algorithms/clustering.py::transitivity_wu divides 0 by 0 on a graph without connected triples.

    A single edge has no triple, so there is nothing to be transitive: networkx's
    ``transitivity`` returns 0 for it, as neurodyn does; bctpy returns NaN.
    """
    W = np.zeros((3, 3))
    W[0, 1] = W[1, 0] = 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(bct.transitivity_wu(W))
    assert transitivity(W, weighted=True) == 0.0
