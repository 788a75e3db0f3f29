"""Non-negative CP: numpy references, exact low rank, tensorly, masks, errors."""

import itertools

import numpy as np
import pytest
import tensorly as tl
from tensorly.cp_tensor import CPTensor
from tensorly.decomposition import non_negative_parafac_hals

from neurodyn.connectome.ntf import NonnegativeCP, cp_to_tensor, elbow_rank, factor_match_score


def _low_rank(shape=(50, 40, 8), rank=5, seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) ** 2 for n in shape]
    return np.einsum("pr,kr,wr->pkw", *factors), factors


def _unfold(x, mode):
    return np.moveaxis(x, mode, 0).reshape(x.shape[mode], -1)


def _khatri_rao(u, v):
    return np.vstack([np.kron(u[:, r], v[:, r]) for r in range(u.shape[1])]).T


def _reference_hals(x, factors, n_iter, n_inner=5, mu=False):
    """Textbook HALS / MU: explicit unfoldings and Khatri-Rao products, one column at a time."""
    f = [a.copy() for a in factors]
    errors = []
    for _ in range(n_iter):
        for mode in range(3):
            others = [f[m] for m in range(3) if m != mode]
            mttkrp = _unfold(x, mode) @ _khatri_rao(*others)
            gram = (others[0].T @ others[0]) * (others[1].T @ others[1])
            if mu:
                eps = np.finfo(float).eps
                f[mode] = f[mode] * np.maximum(mttkrp, eps) / np.maximum(f[mode] @ gram, eps)
                continue
            for _ in range(n_inner):
                for r in range(f[mode].shape[1]):
                    if gram[r, r] == 0:  # a dead partner column: no step
                        continue
                    col = f[mode][:, r] + (mttkrp[:, r] - f[mode] @ gram[:, r]) / gram[r, r]
                    f[mode][:, r] = np.maximum(col, 0.0)
        model = np.einsum("pr,kr,wr->pkw", *f)
        errors.append(np.linalg.norm(x - model) / np.linalg.norm(x))
    return f, errors


def _brute_force_fms(fa, fb):
    r = fa[0].shape[1]
    best = -1.0
    for perm in itertools.permutations(range(fb[0].shape[1]), r):
        total = 0.0
        for i, j in enumerate(perm):
            prod = 1.0
            for x, y in zip(fa, fb, strict=True):
                prod *= abs(x[:, i] @ y[:, j]) / (np.linalg.norm(x[:, i]) * np.linalg.norm(y[:, j]))
            total += prod
        best = max(best, total / r)
    return best


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_updates_match_numpy_reference(solver):
    rng = np.random.default_rng(2)
    x = rng.random((9, 7, 4))
    init = [rng.random((n, 3)) + 0.1 for n in x.shape]
    est = NonnegativeCP(3, solver=solver, init=init, n_restarts=1, max_iter=6, tol=0,
                        device="cpu").fit(x)
    ref, ref_err = _reference_hals(x, init, 6, mu=solver == "mu")
    np.testing.assert_allclose(est.errors_, ref_err, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.reconstruct(), np.einsum("pr,kr,wr->pkw", *ref), atol=1e-10)
    assert est.n_iter_ == 6 and not est.converged_


def test_same_init_as_tensorly():
    rng = np.random.default_rng(5)
    x, _ = _low_rank((20, 15, 6), 3, seed=5)
    x = x + 0.05 * rng.random(x.shape)
    init = [rng.random((n, 3)) for n in x.shape]
    tl.set_backend("numpy")
    _, tl_err = non_negative_parafac_hals(x, 3, init=CPTensor((np.ones(3), [f.copy() for f in init])),
                                          n_iter_max=40, tol=1e-15, return_errors=True)
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=40, tol=0, device="cpu").fit(x)
    assert len(tl_err) == 40
    np.testing.assert_allclose(est.errors_, np.asarray(tl_err), rtol=0, atol=1e-6)


def test_exact_low_rank_recovery():
    x, truth = _low_rank()
    est = NonnegativeCP(5, n_restarts=5, max_iter=1000, tol=1e-10, random_state=0,
                        device="cpu").fit(x)
    assert est.reconstruction_error_ < 1e-6
    assert factor_match_score(est.factors_, truth) >= 0.999
    assert np.max(np.diff(est.errors_)) <= 1e-7
    # the true error, not only the Gram-identity estimate, is small
    assert np.linalg.norm(x - est.reconstruct()) / np.linalg.norm(x) < 1e-6


def test_batched_restarts_equal_single_runs():
    rng = np.random.default_rng(4)
    x = rng.random((12, 9, 5))
    inits = [[rng.random((n, 2)) for n in x.shape] for _ in range(3)]
    batch = NonnegativeCP(2, init=inits, n_restarts=3, max_iter=15, tol=0, device="cpu").fit(x)
    singles = [NonnegativeCP(2, init=i, n_restarts=1, max_iter=15, tol=0, device="cpu").fit(x)
               for i in inits]
    np.testing.assert_allclose(np.sort([s.reconstruction_error_ for s in singles]),
                               batch.restart_errors_, rtol=0, atol=1e-13)


def test_early_stopping_freezes_converged_restarts():
    x, _ = _low_rank((15, 10, 4), 2, seed=1)
    est = NonnegativeCP(2, n_restarts=4, max_iter=400, tol=1e-5, random_state=1,
                        device="cpu").fit(x)
    assert est.converged_
    for i in range(4):
        model = est.restart_models_[i]
        err = np.linalg.norm(x - np.einsum("r,pr,kr,wr->pkw", model[0], *model[1])) / np.linalg.norm(x)
        assert abs(err - est.restart_errors_[i]) < 1e-10
    assert len(est.errors_) == est.n_iter_


def test_normalised_sorted_and_exported():
    rng = np.random.default_rng(0)
    x = rng.random((10, 8, 3))
    est = NonnegativeCP(3, n_restarts=2, max_iter=30, random_state=0, device="cpu").fit(x)
    for f in est.factors_:
        np.testing.assert_allclose(np.linalg.norm(f, axis=0), 1.0, atol=1e-12)
        assert f.min() >= 0
    assert np.all(np.diff(est.weights_) <= 0)
    np.testing.assert_allclose(tl.cp_to_tensor(est.to_cptensor()), est.reconstruct(), atol=1e-12)


def test_svd_init_exact_for_rank_one():
    rng = np.random.default_rng(0)
    u = [rng.random(n) + 0.1 for n in (12, 9, 4)]
    x = np.einsum("p,k,w->pkw", *u)
    est = NonnegativeCP(1, init="svd", n_restarts=1, max_iter=1, tol=0, device="cpu").fit(x)
    assert est.reconstruction_error_ < 1e-12


def test_determinism_and_seed_effect():
    rng = np.random.default_rng(0)
    x = rng.random((10, 8, 3))
    a = NonnegativeCP(3, n_restarts=3, max_iter=20, random_state=7, device="cpu").fit(x)
    b = NonnegativeCP(3, n_restarts=3, max_iter=20, random_state=7, device="cpu").fit(x)
    c = NonnegativeCP(3, n_restarts=3, max_iter=20, random_state=8, device="cpu").fit(x)
    for fa, fb in zip(a.factors_, b.factors_, strict=True):
        np.testing.assert_array_equal(fa, fb)
    assert not np.array_equal(a.factors_[0], c.factors_[0])


def test_mask_ignores_masked_values_and_recovers():
    x, truth = _low_rank((30, 20, 6), 3, seed=3)
    rng = np.random.default_rng(0)
    mask = rng.random(x.shape) > 0.1
    garbage1 = np.where(mask, x, 5.0)
    garbage2 = np.where(mask, x, np.nan)
    kw = dict(n_restarts=3, max_iter=600, tol=1e-12, random_state=0, device="cpu")
    a = NonnegativeCP(3, **kw).fit(garbage1, mask=mask)
    b = NonnegativeCP(3, **kw).fit(garbage2, mask=mask)
    np.testing.assert_array_equal(a.factors_[0], b.factors_[0])
    assert a.reconstruction_error_ < 1e-5
    assert factor_match_score(a.factors_, truth) > 0.999
    model = a.reconstruct()
    observed_err = np.linalg.norm((x - model)[mask]) / np.linalg.norm(x[mask])
    assert abs(observed_err - a.reconstruction_error_) < 1e-9


def test_factor_match_score_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(5):
        fa = [rng.random((n, 4)) for n in (8, 6, 5)]
        fb = [rng.random((n, 4)) for n in (8, 6, 5)]
        assert abs(factor_match_score(fa, fb) - _brute_force_fms(fa, fb)) < 1e-12
    perm = [2, 0, 3, 1]
    scaled = [f[:, perm] * rng.uniform(0.5, 2, 4) for f in fa]
    score, match = factor_match_score(fa, scaled, return_permutation=True)
    assert abs(score - 1.0) < 1e-12
    np.testing.assert_array_equal(np.asarray(perm)[match], np.arange(4))
    # weights: equal norms give 1, different norms are penalised
    assert abs(factor_match_score((np.ones(4), fa), (np.ones(4), fa), consider_weights=True) - 1) < 1e-12
    halved = [fa[0] * 0.5, fa[1], fa[2]]
    assert abs(factor_match_score(fa, halved, consider_weights=True) - 0.5) < 1e-12


def test_elbow_rank():
    errors = [0.9, 0.6, 0.3, 0.29, 0.28, 0.27]
    assert elbow_rank(range(1, 7), errors) == 3
    with pytest.raises(ValueError, match="at least three consecutive ranks"):
        elbow_rank([1, 3, 5], [0.5, 0.4, 0.3])


def test_stability_needs_two_restarts():
    est = NonnegativeCP(2, n_restarts=1, max_iter=5, device="cpu").fit(np.random.default_rng(0).random((5, 4, 3)))
    with pytest.raises(ValueError, match="at least 2 restarts"):
        est.stability()


@pytest.mark.parametrize(
    "x, kwargs, match",
    [
        (-np.ones((4, 3, 2)), {}, "X must be non-negative; got 24 negative values"),
        (np.zeros((4, 3, 2)), {}, "X is all zero"),
        (np.ones(4), {}, r"X must be a tensor of order 2 or more .*; got shape \(4,\)"),
        (np.ones((4, 3, 2)), dict(fixed_modes=[0, 1, 2]), "fixed_modes lists every mode of X"),
        (np.ones((4, 3, 2)), dict(fixed_modes=[3]), r"fixed_modes must hold modes of X in \[0, 2\]; got 3"),
        (np.ones((4, 3, 2)), dict(fixed_modes=[1, 1]), "fixed_modes lists a mode twice"),
        (np.ones((4, 3, 2)), dict(init=[np.ones((4, 2)), np.ones((3, 2))]),
         r"init holds 2 model\(s\) but n_restarts=1 \(one model is 3 factor matrices"),
        (np.ones((4, 3, 2)), dict(init=(np.array([1.0, -1.0]), [np.ones((4, 2)), np.ones((3, 2)), np.ones((2, 2))])),
         r"init\[0\] weights must be 2 finite non-negative values"),
        (np.ones((4, 3, 2)), dict(n_components=10), "n_components=10 is larger than the data supports"),
        (np.ones((4, 3, 2)), dict(solver="als"), "solver must be one of"),
        (np.ones((4, 3, 2)), dict(init="nndsvd"), "init must be one of"),
        (np.ones((4, 3, 2)), dict(tol=-1.0), r"tol must be in \[0, 1\); got -1.0"),
        (np.ones((4, 3, 2)), dict(init=[np.ones((4, 2)), np.ones((3, 2)), np.ones((5, 2))]),
         r"init\[0\] factor 2 must have shape \(2, 2\)"),
    ],
)
def test_ntf_errors(x, kwargs, match):
    params = dict(n_components=2, n_restarts=1, max_iter=3, device="cpu")
    params.update(kwargs)
    with pytest.raises(ValueError, match=match):
        NonnegativeCP(**params).fit(x)


def test_nan_needs_a_mask():
    x = np.ones((4, 3, 2))
    x[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="X has 1 NaN values outside a mask"):
        NonnegativeCP(1, device="cpu").fit(x)
    mask = np.ones_like(x, dtype=bool)
    with pytest.raises(ValueError, match="X has 1 NaN values outside a mask"):
        NonnegativeCP(1, device="cpu").fit(x, mask=mask)
    x[0, 0, 0] = np.inf
    mask[1, 1, 1] = False
    with pytest.raises(ValueError, match="X must be finite; got 1 Inf"):
        NonnegativeCP(1, device="cpu").fit(x, mask=mask)


def test_pair_mask_closed_form_equals_dense_imputation():
    """A (P, 1, W) mask takes the closed-form path; it must equal explicit EM imputation."""
    import torch

    from neurodyn.connectome.ntf import fit_nonnegative_cp

    rng = np.random.default_rng(0)
    mask = rng.random((15, 1, 4)) > 0.3
    x = rng.random((15, 6, 4)) * mask
    init = [[rng.random((n, 3)) for n in x.shape] for _ in range(2)]
    xt = torch.from_numpy(x)
    compact = fit_nonnegative_cp(xt, 3, mask=torch.from_numpy(mask), n_restarts=2, init=init,
                                 max_iter=20, tol=0)
    dense = fit_nonnegative_cp(xt, 3, mask=torch.from_numpy(np.broadcast_to(mask, x.shape).copy()),
                               n_restarts=2, init=init, max_iter=20, tol=0)
    np.testing.assert_allclose(compact["errors"], dense["errors"], rtol=0, atol=1e-12)
    for fc, fd in zip(compact["factors"], dense["factors"], strict=True):
        np.testing.assert_allclose(fc.numpy(), fd.numpy(), rtol=0, atol=1e-11)
    # and the reported error is the observed-entry error of the returned model
    f = [t[0].numpy() for t in compact["factors"]]
    model = np.einsum("pr,kr,wr->pkw", *f)
    full_mask = np.broadcast_to(mask, x.shape)
    ref = np.linalg.norm((x - model)[full_mask]) / np.linalg.norm(x)
    assert abs(compact["errors"][0][-1] - ref) < 1e-10


def test_hals_sweeps_match_the_column_formula_and_leave_zero_gram_columns():
    import torch

    from neurodyn.connectome.ntf import _hals_sweeps

    rng = np.random.default_rng(5)
    f = rng.random((2, 30, 4))
    f[1, :, 2] = 0.0  # a dead column of the second restart: its Gram diagonal is 0
    m = rng.normal(size=(2, 30, 4))
    g = np.stack([a.T @ a for a in rng.random((2, 20, 4))])
    g[1, 2, :] = g[1, :, 2] = 0.0
    expected = f.copy()
    for s in range(2):
        for _ in range(2):
            for r in range(4):
                if g[s, r, r] > 0:
                    step = (m[s, :, r] - expected[s] @ g[s, :, r]) / g[s, r, r]
                    expected[s, :, r] = np.maximum(0.0, expected[s, :, r] + step)
    got = _hals_sweeps(torch.as_tensor(f.copy()), torch.as_tensor(m), torch.as_tensor(g), 2).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got[1, :, 2], 0.0)


# --------------------------------------------------------------------------- dead components


def _tensorly_case(random_state=1, true_rank=3):
    """The tensor of tensorly's ``test_non_negative_parafac`` (tensorly/decomposition/tests/test_cp.py)."""
    from tensorly.random import random_cp

    tl.set_backend("numpy")
    rng = tl.check_random_state(random_state)
    cp = random_cp((6, 3, 12), rank=true_rank, full=False, random_state=rng)
    factors = [np.abs(f) for f in cp.factors]
    return tl.cp_to_tensor(CPTensor((cp.weights, factors))), factors


def _sign_by_u_start(x, rank):
    """The former "svd" start: leading eigenvectors of each unfolding's Gram matrix, each made
    non-negative by its dominant sign alone, zeros filled with 1 % of the column mean, scaled
    so the model norm equals ||X||."""
    facs = []
    for mode in range(x.ndim):
        xm = _unfold(x, mode)
        evals, evecs = np.linalg.eigh(xm @ xm.T)
        u = evecs[:, np.argsort(evals)[::-1][:rank]]
        sign = np.where((np.clip(u, 0, None) ** 2).sum(0) >= (np.clip(u, None, 0) ** 2).sum(0), 1.0, -1.0)
        pos = np.clip(u * sign, 0, None)
        facs.append(np.where(pos > 0, pos, 0.01 * pos.mean(0) + np.finfo(float).eps))
    model_norm = np.linalg.norm(cp_to_tensor(facs))
    return [f * (np.linalg.norm(x) / model_norm) ** (1 / x.ndim) for f in facs]


def test_svd_start_does_not_lose_a_component():
    """Regression (tensorly's test_non_negative_parafac, rank 3, init="svd", random_state 1).

    Before: from the former svd start one component's column went to all zeros
    in the first iteration and HALS never revived it (relative error 0.114,
    weights [4.15, 2.16, 0]; tensorly reaches 0.0022, its test's limit is 0.07).
    Two fixes, each checked alone: dead components are re-seeded (the former
    start now reaches 0.0022), and the svd start is NNDSVD-like (sign chosen
    from both singular vectors, zeros filled at the column's mean level).
    """
    x, truth = _tensorly_case(1)
    start = _sign_by_u_start(x, 3)
    # plain HALS (the numpy reference, no re-seeding) loses a component from that start
    plain, plain_err = _reference_hals(x, start, 80)
    assert plain_err[-1] > 0.1
    assert min(np.prod([np.linalg.norm(f, axis=0) for f in plain], axis=0)) == 0.0
    revived = NonnegativeCP(3, init=start, n_restarts=1, max_iter=80, tol=1e-6, device="cpu").fit(x)
    est = NonnegativeCP(3, init="svd", n_restarts=1, max_iter=80, tol=1e-6, random_state=1,
                        device="cpu").fit(x)
    for fit in (revived, est):
        assert fit.reconstruction_error_ < 0.07  # tensorly's limit
        assert np.linalg.norm(x - fit.reconstruct()) / np.linalg.norm(x) < 0.01
        assert fit.weights_.min() > 0.5
        assert factor_match_score(fit.factors_, truth) > 0.95
        assert np.max(np.diff(fit.errors_)) <= 1e-12  # re-seeding never increases the error
    # longer runs recover the planted model exactly
    long = NonnegativeCP(3, init="svd", n_restarts=1, max_iter=3000, tol=1e-12, device="cpu").fit(x)
    assert long.reconstruction_error_ < 1e-4


def test_svd_init_has_no_zero_column():
    import torch

    from neurodyn.connectome.ntf import _svd_init

    x, _ = _tensorly_case(1)
    for shape in [(6, 3, 12), (5, 4, 3, 2), (7, 9), (2, 10, 10)]:  # (2, ...): rank above a size
        t = np.random.default_rng(0).random(shape) if shape != x.shape else x
        for f in _svd_init(torch.as_tensor(t), 3):
            assert f.shape[1] == 3
            assert (f.sum(dim=0) > 0).all() and (f >= 0).all()


def test_dead_column_in_explicit_init_is_revived():
    """A component starting with an all-zero column (weight 0) is revived, not lost for good."""
    x, truth = _low_rank((20, 15, 6), 3, seed=7)
    rng = np.random.default_rng(1)
    init = [rng.random((n, 3)) + 0.1 for n in x.shape]
    init[1][:, 2] = 0.0
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=2000, tol=1e-12, device="cpu").fit(x)
    assert est.weights_.min() > 0
    assert est.reconstruction_error_ < 1e-5
    assert factor_match_score(est.factors_, truth) > 0.999
    assert np.max(np.diff(est.errors_)) <= 1e-12


def test_revive_dead_keeps_the_model():
    import torch

    from neurodyn.connectome.ntf import _revive_dead

    rng = np.random.default_rng(3)
    facs = [torch.as_tensor(rng.random((2, n, 3))) for n in (5, 4, 3, 2)]
    same = _revive_dead(facs, [0, 1, 2, 3])
    for a, b in zip(facs, same, strict=True):
        assert torch.equal(a, b)  # nothing dead: a no-op
    facs[2][1, :, 0] = 0.0  # restart 1, component 0 dead in mode 2
    free = [1, 2, 3]  # mode 0 fixed
    out = _revive_dead(facs, free)
    for s in range(2):
        before = cp_to_tensor([f[s].numpy() for f in facs])
        after = cp_to_tensor([f[s].numpy() for f in out])
        np.testing.assert_allclose(after, before, rtol=0, atol=1e-15)
    assert torch.equal(out[0], facs[0])  # a fixed mode is never touched
    assert (out[1][1, :, 0] == 0).all()  # first free mode zeroed
    assert (out[2][1, :, 0] > 0).all() and (out[3][1, :, 0] > 0).all()  # the others seeded
    for m in range(4):  # the other restart and components are untouched
        assert torch.equal(out[m][0], facs[m][0])
        assert torch.equal(out[m][1, :, 1:], facs[m][1, :, 1:])


# --------------------------------------------------------------------------- any order


def _reference_hals_nway(x, factors, n_iter, n_inner=5, fixed=()):
    """Textbook HALS for any order: explicit unfoldings and Khatri-Rao products."""
    f = [a.copy() for a in factors]
    n = x.ndim
    errors = []
    for _ in range(n_iter):
        for mode in range(n):
            if mode in fixed:
                continue
            others = [f[m] for m in range(n) if m != mode]
            kr = others[0]
            for o in others[1:]:
                kr = _khatri_rao(kr, o)
            mttkrp = _unfold(x, mode) @ kr
            gram = np.ones((f[mode].shape[1],) * 2)
            for o in others:
                gram = gram * (o.T @ o)
            for _ in range(n_inner):
                for r in range(f[mode].shape[1]):
                    col = f[mode][:, r] + (mttkrp[:, r] - f[mode] @ gram[:, r]) / gram[r, r]
                    f[mode][:, r] = np.maximum(col, 0.0)
        errors.append(np.linalg.norm(x - cp_to_tensor(f)) / np.linalg.norm(x))
    return f, errors


@pytest.mark.parametrize("shape", [(9, 7), (6, 5, 4, 3), (5, 4, 3, 3, 2), (9, 7, 4)])
@pytest.mark.parametrize("fixed", [None, [1]])
def test_any_order_matches_numpy_reference(shape, fixed):
    rng = np.random.default_rng(len(shape))
    x = rng.random(shape)
    init = [rng.random((n, 3)) + 0.05 for n in shape]
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=8, tol=0, fixed_modes=fixed,
                        device="cpu").fit(x)
    ref, ref_err = _reference_hals_nway(x, init, 8, fixed=fixed or ())
    np.testing.assert_allclose(est.errors_, ref_err, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.reconstruct(), cp_to_tensor(ref), rtol=0, atol=1e-10)
    assert est.n_features_in_ == int(np.prod(shape[1:]))
    assert [f.shape for f in est.factors_] == [(n, 3) for n in shape]


@pytest.mark.parametrize("shape", [(30, 20), (12, 10, 8, 6), (8, 7, 6, 5, 4)])
def test_any_order_exact_low_rank_recovery(shape):
    rng = np.random.default_rng(0)
    truth = [rng.random((n, 3)) ** 2 for n in shape]
    x = cp_to_tensor(truth)
    est = NonnegativeCP(3, n_restarts=4, max_iter=3000, tol=1e-12, random_state=0,
                        device="cpu").fit(x)
    assert np.linalg.norm(x - est.reconstruct()) / np.linalg.norm(x) < 1e-5
    if len(shape) > 2:  # CP of order >= 3 is unique; NMF is not
        assert factor_match_score(est.factors_, truth) > 0.999


def test_order_two_is_nmf():
    """An order-2 tensor is NMF: the fitted objective is no worse than scikit-learn's NMF."""
    from sklearn.decomposition import NMF

    x = np.random.default_rng(2).random((40, 25))
    est = NonnegativeCP(4, init="svd", n_restarts=3, max_iter=2000, tol=1e-10, random_state=0,
                        device="cpu").fit(x)
    nmf = NMF(4, init="nndsvd", solver="cd", max_iter=5000, tol=1e-10, random_state=0)
    w = nmf.fit_transform(x)
    sk_err = np.linalg.norm(x - w @ nmf.components_) / np.linalg.norm(x)
    err = np.linalg.norm(x - est.reconstruct()) / np.linalg.norm(x)
    assert abs(err - est.reconstruction_error_) < 1e-10
    assert err <= sk_err + 1e-4


def test_any_order_mask_and_scale():
    shape = (10, 8, 6, 5)
    rng = np.random.default_rng(5)
    truth = [rng.random((n, 2)) ** 2 for n in shape]
    x = cp_to_tensor(truth)
    mask = rng.random(shape) > 0.15
    kw = dict(n_restarts=3, max_iter=1500, tol=1e-12, random_state=0, device="cpu")
    a = NonnegativeCP(2, **kw).fit(np.where(mask, x, 7.0), mask=mask)
    b = NonnegativeCP(2, **kw).fit(np.where(mask, x, np.nan), mask=mask)
    np.testing.assert_array_equal(a.factors_[0], b.factors_[0])
    assert factor_match_score(a.factors_, truth) > 0.999
    observed = np.linalg.norm((x - a.reconstruct())[mask]) / np.linalg.norm(x[mask])
    assert abs(observed - a.reconstruction_error_) < 1e-9
    # the data's scale only moves the weights (power-of-two scaling, as for 3-way tensors)
    init = [rng.random((n, 2)) + 0.1 for n in shape]
    ref = NonnegativeCP(2, init=init, n_restarts=1, max_iter=30, tol=0, device="cpu").fit(x)
    for s in (1e-15, 1e15):
        got = NonnegativeCP(2, init=[f * s ** 0.25 for f in init], n_restarts=1, max_iter=30, tol=0,
                            device="cpu").fit(x * s)
        assert abs(got.reconstruction_error_ - ref.reconstruction_error_) < 1e-10
        np.testing.assert_allclose(got.weights_ / s, ref.weights_, rtol=1e-9)
    f32 = NonnegativeCP(2, init=init, n_restarts=1, max_iter=30, tol=0, device="cpu",
                        dtype="float32").fit(x)
    assert abs(f32.reconstruction_error_ - ref.reconstruction_error_) < 1e-4


# --------------------------------------------------------------------------- fixed modes


@pytest.mark.parametrize("solver", ["hals", "mu"])
@pytest.mark.parametrize("fixed", [[0], [1], [2], [0, 2]])
def test_fixed_modes_keep_the_init_and_fit_the_rest(solver, fixed):
    x, truth = _low_rank((15, 10, 6), 3, seed=2)
    rng = np.random.default_rng(0)
    init = [rng.random((n, 3)) + 0.1 for n in x.shape]
    before = [f.copy() for f in init]
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=20, tol=0, solver=solver,
                        fixed_modes=fixed, device="cpu").fit(x)
    for m in range(3):
        np.testing.assert_array_equal(init[m], before[m])  # the caller's arrays are untouched
        if m in fixed:
            np.testing.assert_array_equal(est.factors_[m], init[m])  # exactly as given, not normalised
        else:
            np.testing.assert_allclose(np.linalg.norm(est.factors_[m], axis=0), 1.0, atol=1e-12)
    if solver == "hals":
        _, ref_err = _reference_hals_nway(x, init, 20, fixed=fixed)
        np.testing.assert_allclose(est.errors_, ref_err, rtol=0, atol=1e-12)
    # with the true factors fixed, the fit recovers the planted tensor
    planted = [truth[m] if m in fixed else init[m] for m in range(3)]
    long = NonnegativeCP(3, init=planted, n_restarts=1, max_iter=2000, tol=1e-13, fixed_modes=fixed,
                         device="cpu").fit(x)
    assert np.linalg.norm(x - long.reconstruct()) / np.linalg.norm(x) < 1e-4


def test_fixed_modes_with_string_init_keep_the_initial_factor():
    x = np.random.default_rng(0).random((12, 9, 5))
    short = NonnegativeCP(2, init="svd", n_restarts=1, max_iter=1, fixed_modes=[1], device="cpu").fit(x)
    long = NonnegativeCP(2, init="svd", n_restarts=1, max_iter=40, tol=0, fixed_modes=[1],
                         device="cpu").fit(x)
    np.testing.assert_array_equal(short.factors_[1], long.factors_[1])
    assert not np.allclose(short.factors_[0], long.factors_[0])


def test_fixed_modes_with_a_pair_mask_equal_dense_imputation():
    import torch

    from neurodyn.connectome.ntf import fit_nonnegative_cp

    rng = np.random.default_rng(1)
    mask = rng.random((15, 1, 4)) > 0.3
    x = rng.random((15, 6, 4)) * mask
    init = [[rng.random((n, 3)) for n in x.shape] for _ in range(2)]
    xt = torch.from_numpy(x)
    for fixed in ([0], [2]):
        compact = fit_nonnegative_cp(xt, 3, mask=torch.from_numpy(mask), n_restarts=2, init=init,
                                     max_iter=15, tol=0, fixed_modes=fixed)
        dense = fit_nonnegative_cp(xt, 3, mask=torch.from_numpy(np.broadcast_to(mask, x.shape).copy()),
                                   n_restarts=2, init=init, max_iter=15, tol=0, fixed_modes=fixed)
        np.testing.assert_allclose(compact["errors"], dense["errors"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(compact["factors"][fixed[0]].numpy(), np.stack([i[fixed[0]] for i in init]))


def test_cptensor_init_weights_go_to_a_free_mode():
    x, truth = _low_rank((10, 8, 5), 2, seed=4)
    rng = np.random.default_rng(0)
    factors = [rng.random((n, 2)) + 0.1 for n in x.shape]
    weights = np.array([2.0, 5.0])
    a = NonnegativeCP(2, init=CPTensor((weights, factors)), n_restarts=1, max_iter=5, tol=0,
                      fixed_modes=[0], device="cpu").fit(x)
    b = NonnegativeCP(2, init=[factors[0], factors[1] * weights, factors[2]], n_restarts=1, max_iter=5,
                      tol=0, fixed_modes=[0], device="cpu").fit(x)
    np.testing.assert_array_equal(a.factors_[0], factors[0])
    np.testing.assert_allclose(a.errors_, b.errors_, rtol=0, atol=1e-14)


@pytest.mark.parametrize("shape", [(6, 3, 12), (30, 4, 3), (5, 4, 3, 6), (8, 20)])
def test_svd_start_matches_an_nndsvd_reference(shape):
    """Each mode's start equals NNDSVD on numpy's SVD of the unfolding (Boutsidis & Gallopoulos
    2008: keep the sign whose positive parts of u and v carry more, scale sqrt(s * m)), with
    zeros filled at the column mean; for every unfolding side (Gram of the short side)."""
    import torch

    from neurodyn.connectome.ntf import _svd_init

    x = np.random.default_rng(sum(shape)).random(shape)
    got = _svd_init(torch.as_tensor(x), 3)
    for mode in range(x.ndim):
        u_all, s_all, vt_all = np.linalg.svd(_unfold(x, mode), full_matrices=False)
        cols = []
        for r in range(min(3, s_all.size)):
            u, v = u_all[:, r], vt_all[r]
            mp = np.linalg.norm(np.clip(u, 0, None)) * np.linalg.norm(np.clip(v, 0, None))
            mn = np.linalg.norm(np.clip(u, None, 0)) * np.linalg.norm(np.clip(v, None, 0))
            part = np.clip(u, 0, None) if mp >= mn else np.clip(-u, 0, None)
            col = part / np.linalg.norm(part) * np.sqrt(s_all[r] * max(mp, mn))
            cols.append(np.where(col > 0, col, col.mean()))
        ref = np.stack(cols, axis=1)
        np.testing.assert_allclose(got[mode].numpy()[:, :ref.shape[1]], ref, rtol=1e-8, atol=1e-10)
