"""compare_rdms against scipy / brute-force references."""

import numpy as np
import pytest
from scipy import stats

from neurodyn.rsa import compare_rdms, kendall_tau_counts


def _rdms(seed, n_rdm, n_cond=9, ties=False):
    rng = np.random.default_rng(seed)
    n = n_cond * (n_cond - 1) // 2
    v = rng.random((n_rdm, n))
    if ties:
        v = np.round(v * 3)  # heavy ties, like categorical models
    return v


def _tau_brute(x, y):
    n = len(x)
    s = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i in range(n) for j in range(i + 1, n))
    return s / (n * (n - 1) / 2)


def test_tau_a_exact_with_ties_vs_brute_force():
    binary = (_rdms(14, 1) > 0.5).astype(float)  # binary model: the signed-rank fast path
    a = np.vstack([_rdms(0, 2, ties=True), _rdms(1, 1), binary])
    b = np.vstack([_rdms(2, 2), _rdms(3, 2, ties=True), 1 - binary])
    got = compare_rdms(a, b, "tau-a")
    ref = np.array([[_tau_brute(x, y) for y in b] for x in a])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_kendall_counts_long_vectors_vs_scipy():
    # length not a power of two, many ties: exercises padding and the merge levels
    rng = np.random.default_rng(4)
    x = rng.integers(0, 40, (3, 1000)).astype(float)
    y = np.vstack([rng.random(1000), rng.integers(0, 5, 1000)])
    s, tx, ty = kendall_tau_counts(x, y)
    n0 = 1000 * 999 // 2
    for i in range(3):
        for j in range(2):
            tb = stats.kendalltau(x[i], y[j]).statistic
            np.testing.assert_allclose(s[i, j] / np.sqrt((n0 - tx[i]) * (n0 - ty[j])), tb, rtol=0, atol=1e-12)


def test_inversion_counters_torch_and_numpy_vs_brute_force():
    import torch

    from neurodyn.rsa.compare import _count_inversions, _count_inversions_numpy

    rng = np.random.default_rng(7)
    y = np.vstack([rng.integers(0, 9, 75), rng.permutation(75), np.arange(75)[::-1]])
    ref = [sum(int(r[i] > r[j]) for i in range(75) for j in range(i + 1, 75)) for r in y]
    np.testing.assert_array_equal(_count_inversions(torch.from_numpy(y), 75).numpy(), ref)
    np.testing.assert_array_equal(_count_inversions_numpy(y, 75), ref)


def test_tau_b_vs_scipy_and_rank_methods():
    a = np.vstack([_rdms(5, 2, ties=True), _rdms(6, 2)])
    b = _rdms(7, 3)
    tb = compare_rdms(a, b, "tau-b")
    sp = compare_rdms(a, b, "spearman")
    co = compare_rdms(a, b, "corr")
    ra = compare_rdms(a, b, "rho-a")
    cs = compare_rdms(a, b, "cosine")
    n = a.shape[1]
    for i in range(4):
        for j in range(3):
            assert tb[i, j] == pytest.approx(stats.kendalltau(a[i], b[j]).statistic, abs=1e-12)
            assert sp[i, j] == pytest.approx(stats.spearmanr(a[i], b[j]).statistic, abs=1e-12)
            assert co[i, j] == pytest.approx(np.corrcoef(a[i], b[j])[0, 1], abs=1e-12)
            ri, rj = stats.rankdata(a[i]), stats.rankdata(b[j])
            assert ra[i, j] == pytest.approx(12 * np.sum((ri - ri.mean()) * (rj - rj.mean())) / (n**3 - n), abs=1e-12)
            assert cs[i, j] == pytest.approx(a[i] @ b[j] / np.linalg.norm(a[i]) / np.linalg.norm(b[j]), abs=1e-12)


def test_cosine_cov_is_cosine_of_double_centred_kernels():
    k = 7
    a, b = _rdms(8, 2, k), _rdms(9, 2, k)
    h = np.eye(k) - np.ones((k, k)) / k
    iu = np.triu_indices(k, 1)

    def g(v):
        d = np.zeros((k, k))
        d[iu] = v
        d = d + d.T
        return -0.5 * h @ d @ h

    got = compare_rdms(a, b, "cosine_cov")
    for i in range(2):
        for j in range(2):
            gi, gj = g(a[i]), g(b[j])
            assert got[i, j] == pytest.approx(np.sum(gi * gj) / np.linalg.norm(gi) / np.linalg.norm(gj), abs=1e-12)


def test_nan_masked_jointly():
    a, b = _rdms(10, 2), _rdms(11, 2)
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[:, [0, 5]] = np.nan
    b_nan[:, [0, 5]] = np.nan
    keep = np.ones(a.shape[1], bool)
    keep[[0, 5]] = False
    for m in ("corr", "spearman", "tau-a"):
        np.testing.assert_allclose(compare_rdms(a_nan, b_nan, m), _masked(a, b, keep, m), atol=1e-12)
    # different NaN positions per RDM: each pair uses the entries both hold
    b_nan[1, 3] = np.nan
    got = compare_rdms(a_nan, b_nan, "corr")
    k2 = keep.copy()
    k2[3] = False
    assert got[0, 1] == pytest.approx(np.corrcoef(a[0, k2], b[1, k2])[0, 1], abs=1e-12)
    assert got[0, 0] == pytest.approx(np.corrcoef(a[0, keep], b[0, keep])[0, 1], abs=1e-12)


def _masked(a, b, keep, m):
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            x, y = a[i, keep], b[j, keep]
            if m == "corr":
                out[i, j] = np.corrcoef(x, y)[0, 1]
            elif m == "spearman":
                out[i, j] = stats.spearmanr(x, y).statistic
            else:
                out[i, j] = _tau_brute(x, y)
    return out


def test_errors():
    with pytest.raises(ValueError, match="rdms1 and rdms2 must be RDMs of the same size"):
        compare_rdms(np.ones(10), np.ones(15))
    with pytest.raises(ValueError, match="method must be one of"):
        compare_rdms(np.ones(10), np.ones(10), "bogus")
    with pytest.raises(ValueError, match="K\\(K-1\\)/2"):
        compare_rdms(np.ones(11), np.ones(11))
    with pytest.raises(ValueError, match="rdms2 must not contain Inf"):
        compare_rdms(np.ones(10), np.full(10, np.inf))


def test_cosine_cov_sigma_k_vs_rsatoolbox():
    rsa_compare = pytest.importorskip("rsatoolbox.rdm.compare", reason="rsatoolbox (bench extra) not installed")
    from rsatoolbox.rdm import RDMs

    k = 8
    a, b = _rdms(12, 2, k), _rdms(13, 3, k)
    rng = np.random.default_rng(0)
    s = rng.normal(size=(k, k))
    sig = s @ s.T / k + np.eye(k)
    for sk in (None, np.diag(sig).copy(), sig):
        for m in ("cosine_cov", "corr_cov"):
            ref = rsa_compare.compare(RDMs(a), RDMs(b), m, sigma_k=sk)
            # rsatoolbox solves V x = v by CG stopped at relative residual 1e-5; ours solves exactly
            tol = 1e-10 if sk is None or sk.ndim == 1 else 5e-5
            np.testing.assert_allclose(compare_rdms(a, b, m, sigma_k=sk), ref, rtol=tol, atol=tol)


def _dense_v_metric_cosine(a, b, sk, keep, center):
    """cosine_cov/corr_cov by the definition: V = (C Sigma C^T)^2 built densely and
    solved with numpy in float64 on the kept pairs."""
    k = int(round((1 + np.sqrt(1 + 8 * a.shape[1])) / 2))
    iu = np.triu_indices(k, 1)
    c = np.zeros((iu[0].size, k))
    c[np.arange(iu[0].size), iu[0]] = 1.0
    c[np.arange(iu[0].size), iu[1]] = -1.0
    xi = c @ sk @ c.T
    v = (xi * xi)[np.ix_(keep, keep)]
    a, b = a[:, keep], b[:, keep]
    if center:
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    va, vb = np.linalg.solve(v, a.T).T, np.linalg.solve(v, b.T).T
    return (a @ vb.T) / np.sqrt(np.sum(a * va, 1))[:, None] / np.sqrt(np.sum(b * vb, 1))[None, :]


@pytest.mark.parametrize("method", ["cosine_cov", "corr_cov"])
@pytest.mark.parametrize("missing", [0.0, 0.05, 0.85])
def test_cosine_cov_full_sigma_k_exact_beyond_1500_pairs(method, missing):
    # K = 60 (1770 pairs) took a conjugate-gradient branch 2.8e-7 away from the exact
    # solve; now a direct solve (structured, or Cholesky when most pairs are missing)
    k = 60
    rng = np.random.default_rng(21)
    a, b = rng.random((3, k * (k - 1) // 2)) + 0.2, rng.random((4, k * (k - 1) // 2))
    s = rng.normal(size=(k, k))
    sk = s @ s.T / k + 0.3 * np.eye(k) + 0.2  # correlated conditions, unequal row sums
    keep = rng.random(a.shape[1]) >= missing
    a_nan, b_nan = np.where(keep, a, np.nan), np.where(keep, b, np.nan)
    ref = _dense_v_metric_cosine(a, b, sk, keep, method == "corr_cov")
    np.testing.assert_allclose(compare_rdms(a_nan, b_nan, method, sigma_k=sk), ref, rtol=0, atol=1e-12)
    # the same for any scale of sigma_k and of the RDMs
    np.testing.assert_allclose(compare_rdms(a_nan * 1e12, b_nan, method, sigma_k=sk * 1e-9), ref, rtol=0, atol=1e-12)


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="needs an extended-precision longdouble")
@pytest.mark.parametrize("missing", [0.0, 0.03])
def test_cosine_cov_ill_conditioned_sigma_k_vs_refined_solve(missing):
    # cond(sigma_k) = 1e5 (cond(V) ~ 1e10): a float64 dense solve is ~1e-8 off; the
    # reference refines it with residuals in extended precision
    k = 20
    rng = np.random.default_rng(24)
    q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    sk = q @ np.diag(np.geomspace(1.0, 1e-5, k)) @ q.T
    a, b = rng.random((2, k * (k - 1) // 2)), rng.random((3, k * (k - 1) // 2))
    keep = rng.random(a.shape[1]) >= missing
    iu = np.triu_indices(k, 1)
    c = np.zeros((iu[0].size, k), dtype=np.longdouble)
    c[np.arange(iu[0].size), iu[0]] = 1.0
    c[np.arange(iu[0].size), iu[1]] = -1.0
    xi = c @ sk.astype(np.longdouble) @ c.T
    v = (xi * xi)[np.ix_(keep, keep)]

    def solve(y):
        x = np.linalg.solve(v.astype(float), y.astype(float).T).T.astype(np.longdouble)
        for _ in range(6):
            x = x + np.linalg.solve(v.astype(float), (y - x @ v).astype(float).T).T
        return x

    al, bl = a[:, keep].astype(np.longdouble), b[:, keep].astype(np.longdouble)
    va, vb = solve(al), solve(bl)
    ref = ((al @ vb.T) / np.sqrt(np.sum(al * va, 1))[:, None] / np.sqrt(np.sum(bl * vb, 1))[None, :]).astype(float)
    got = compare_rdms(np.where(keep, a, np.nan), np.where(keep, b, np.nan), "cosine_cov", sigma_k=sk)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def test_cosine_cov_full_sigma_identity_is_the_unweighted_cosine_cov():
    k = 70
    rng = np.random.default_rng(22)
    a, b = rng.random((2, k * (k - 1) // 2)), rng.random((3, k * (k - 1) // 2))
    np.testing.assert_allclose(compare_rdms(a, b, "cosine_cov", sigma_k=np.eye(k)), compare_rdms(a, b, "cosine_cov"),
                               rtol=0, atol=1e-13)


def _counts_brute(x, y):
    """C - D, tied pairs in x, tied pairs in y: O(n^2) over all pairs i < j."""
    iu = np.triu_indices(len(x), 1)
    sx = np.sign(x[:, None] - x[None, :])[iu]
    sy = np.sign(y[:, None] - y[None, :])[iu]
    return int(np.sum(sx * sy)), int(np.sum(sx == 0)), int(np.sum(sy == 0))


def _check_counts(x, y):
    s, tx, ty = kendall_tau_counts(x, y)
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            ref = _counts_brute(x[i], y[j])
            assert (s[i, j], tx[i], ty[j]) == ref, (x.shape[1], i, j)


def test_kendall_counts_all_sizes_mixed_ties_vs_brute_force():
    # n = 1..40 (mostly not powers of two); rows without ties (the sort-free
    # block/histogram path), with few levels, with heavy ties, and all equal,
    # mixed in one call so every dispatch branch meets every other
    rng = np.random.default_rng(21)
    for n in range(1, 41):
        x = np.vstack([rng.random(n), rng.permutation(n), rng.integers(0, 3, n), rng.integers(0, max(1, n // 2), n),
                       np.zeros(n), rng.integers(0, 20, n)]).astype(float)
        y = np.vstack([rng.random(n), rng.integers(0, 2, n), rng.integers(0, 25, n), np.full(n, 3.0),
                       -np.arange(n)]).astype(float)
        _check_counts(x, y)
        _check_counts(y, x)


def test_kendall_counts_tie_free_long_vs_scipy():
    # continuous rows of RDM length (K=40): the block/histogram path with a partial last block
    rng = np.random.default_rng(22)
    n = 780
    x = rng.random((3, n))
    y = np.vstack([rng.random((2, n)), x[0] + 0.1 * rng.random(n), -x[1]])
    s, tx, ty = kendall_tau_counts(x, y)
    assert not tx.any() and not ty.any()
    n0 = n * (n - 1) // 2
    for i in range(3):
        for j in range(4):
            tau = stats.kendalltau(x[i], y[j]).statistic
            np.testing.assert_allclose(s[i, j] / n0, tau, rtol=0, atol=1e-12)
    assert s[1, 3] == -n0


def test_permutation_inversions_vs_brute_force_all_block_sizes():
    from neurodyn.rsa.compare import _inversions_permutations

    rng = np.random.default_rng(23)
    for n in (1, 2, 3, 7, 16, 31, 64, 65, 130):
        px = np.vstack([rng.permutation(n), np.arange(n), np.arange(n)[::-1]])
        py = np.vstack([rng.permutation(n), rng.permutation(n), np.arange(n)])
        for block in (1, 2, 5, 8, 64):
            got = _inversions_permutations(px, py, block=block, max_elements=2 * n)  # also chunked
            for i in range(3):
                for j in range(3):
                    z = py[j][np.argsort(px[i])]  # y-ranks listed in x-order
                    ref = sum(int(z[p] > z[q]) for p in range(n) for q in range(p + 1, n))
                    assert got[i, j] == ref, (n, block, i, j)


def test_tau_a_tau_b_compare_rdms_vs_brute_force_mixed_rows():
    # compare_rdms dispatch: continuous, categorical (3 levels), binary and heavily tied RDMs
    rng = np.random.default_rng(24)
    a = np.vstack([rng.random((2, 66)), rng.integers(0, 3, (1, 66)), rng.integers(0, 2, (1, 66)),
                   rng.integers(0, 30, (1, 66))]).astype(float)
    b = np.vstack([rng.random((2, 66)), rng.integers(0, 4, (1, 66)), np.ones((1, 66))]).astype(float)
    ta = compare_rdms(a, b, "tau-a")
    tb = compare_rdms(a, b, "tau-b")
    n0 = 66 * 65 // 2
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            s, tx, ty = _counts_brute(a[i], b[j])
            assert ta[i, j] == pytest.approx(s / n0, abs=1e-12)
            if ty == n0:  # constant RDM: no order, similarity 0 (scipy: NaN), as the other methods
                assert tb[i, j] == 0.0
            else:
                assert tb[i, j] == pytest.approx(stats.kendalltau(a[i], b[j]).statistic, abs=1e-12)


def _counts_brute_chunked(x, y, step=600):
    """C - D of every row of ``x`` with every row of ``y`` by explicit sign products
    over all pairs, in blocks of rows (long vectors)."""
    n = x.shape[1]
    total = np.zeros((x.shape[0], y.shape[0]), dtype=np.int64)
    for i0 in range(0, n, step):
        sx = np.sign(x[:, i0:i0 + step, None] - x[:, None, :]).astype(np.int8)
        sy = np.sign(y[:, i0:i0 + step, None] - y[:, None, :]).astype(np.int8)
        total += np.einsum("aij,bij->ab", sx, sy, dtype=np.int64)
    return total // 2  # every unordered pair counted twice, the diagonal is 0


def test_kendall_counts_92_conditions_vs_brute_force():
    # RDM length of the 92-condition fixture (n = 4186, not a multiple of any block
    # size): tie-free rows (permutation counter), a 3-level and a binary model (level
    # counts), a heavily tied row (general path); one and two threads
    rng = np.random.default_rng(31)
    n = 4186
    base = rng.random(n)
    x = np.vstack([rng.random(n), base + 0.3 * rng.random(n), np.round(2 * rng.random(n)),
                   (rng.random(n) > 0.7).astype(float), rng.integers(0, 40, n).astype(float)])
    y = np.vstack([base, rng.random(n), rng.integers(0, 5, n).astype(float)])
    ref = _counts_brute_chunked(x, y)
    for n_threads in (1, 2):
        s, tx, ty = kendall_tau_counts(x, y, n_threads=n_threads)
        np.testing.assert_array_equal(s, ref)
        for i in range(x.shape[0]):
            _, counts = np.unique(x[i], return_counts=True)
            assert tx[i] == int((counts * (counts - 1) // 2).sum())
    n0 = n * (n - 1) // 2
    np.testing.assert_allclose(s[1, 0] / n0, stats.kendalltau(x[1], y[0]).statistic, rtol=0, atol=1e-12)
    np.testing.assert_allclose(compare_rdms(x, y, "tau-a", n_threads=2), ref / n0, rtol=0, atol=1e-15)


def test_level_counts_against_tie_free_rows_vs_brute_force():
    # C - D of rows with m = 1..16 levels (present or not) against tie-free rows:
    # the rank product plus one running count per level beyond two
    from neurodyn.rsa.compare import _concordance_levels_tie_free

    rng = np.random.default_rng(32)
    for n in (3, 4, 17, 66, 201):
        y = np.vstack([rng.permutation(n), np.arange(n), np.arange(n)[::-1]])
        oy = np.argsort(y, axis=1)
        levels = np.vstack([rng.integers(0, m, n) for m in (1, 2, 3, 4, 7, 16)]
                           + [np.sort(rng.integers(0, 5, n)), np.full(n, 2)])
        for n_threads in (1, 2):
            got = _concordance_levels_tie_free(levels, y, oy, n_threads=n_threads)
            for i in range(levels.shape[0]):
                for j in range(y.shape[0]):
                    assert got[i, j] == _counts_brute(levels[i].astype(float), y[j].astype(float))[0], (n, i, j)


def test_permutation_counter_threads_and_chunks_vs_brute_force():
    from neurodyn.rsa.compare import _inversions_permutations

    rng = np.random.default_rng(33)
    n = 301  # several blocks and a partial last block at every block size below
    px = np.vstack([rng.permutation(n) for _ in range(5)] + [np.arange(n)[::-1]])
    py = np.vstack([rng.permutation(n) for _ in range(4)] + [np.arange(n)])
    ref = np.array([[int(np.sum(np.triu(z[:, None] > z[None, :], 1))) for z in (py[j][np.argsort(px[i])]
                                                                                for j in range(py.shape[0]))]
                    for i in range(px.shape[0])])
    for block in (None, 16, 24, 40):
        for max_elements in (1, 3 * n, 10**6):
            for n_threads in (1, 2):
                got = _inversions_permutations(px, py, block=block, max_elements=max_elements, n_threads=n_threads)
                np.testing.assert_array_equal(got, ref)


def test_accelerator_kendall_path_vs_brute_force():
    # the torch path used on GPUs (per-pair sort and merge counts), run here on the CPU
    import torch

    from neurodyn.rsa.compare import _kendall_counts_torch

    rng = np.random.default_rng(34)
    n = 45
    x = np.vstack([rng.random(n), rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 20, n)]).astype(float)
    y = np.vstack([rng.random(n), rng.integers(0, 4, n), rng.integers(0, 25, n)]).astype(float)
    s, tx, ty = _kendall_counts_torch(x, y, torch.device("cpu"), 4096, True)
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            assert (s[i, j], tx[i], ty[j]) == _counts_brute(x[i], y[j]), (i, j)


def test_dense_ranks_and_orders_vs_scipy():
    # categorical rows take a lookup instead of a sort: 16 and 17 levels, a level seen
    # only after the first entries, negative values, constant rows, tie-free rows
    from neurodyn.rsa.compare import _dense_ranks_numpy

    rng = np.random.default_rng(35)
    n = 500
    x = np.vstack([rng.random(n), np.round(rng.random(n) * 2), rng.integers(0, 16, n), rng.integers(0, 17, n),
                   np.r_[rng.integers(0, 3, n - 1), 7.5], np.full(n, 3.0), np.r_[np.zeros(100), np.arange(n - 100)],
                   (rng.random(n) > 0.5) * 2.0 - 5]).astype(float)
    for n_threads in (1, 2):
        ranks, order, levels = _dense_ranks_numpy(x, n_threads)
        for i in range(x.shape[0]):
            np.testing.assert_array_equal(ranks[i], stats.rankdata(x[i], method="dense") - 1)
            assert np.all(np.diff(x[i][order[i]]) >= 0)
            np.testing.assert_array_equal(np.sort(order[i]), np.arange(n))
            assert levels[i] == np.unique(x[i]).size
