"""tensorly's own non-negative CP test cases, ported to neurodyn's API.

Source: github.com/tensorly/tensorly, file ``tensorly/decomposition/tests/test_cp.py``
(the functions are named in each test's docstring; read at commits 8e6267ae and
03770b3a, and in the installed tensorly 0.10.0). The cases are rewritten for
:class:`neurodyn.connectome.NonnegativeCP`: ``rank`` is ``n_components``,
``n_iter_max`` is ``max_iter``, one run is ``n_restarts=1``, ``hals=True/False``
is ``solver="hals"/"mu"``, a ``CPTensor`` init keeps its weights (they go into
the first fitted mode). tensorly's random tensors are generated with tensorly
itself so the inputs are the peer's own.

Where neurodyn and tensorly differ because tensorly is wrong, the test says so
and checks neurodyn against an independent computation (numpy).
"""

import numpy as np
import pytest

tl = pytest.importorskip("tensorly")
from tensorly.cp_tensor import CPTensor  # noqa: E402
from tensorly.decomposition import non_negative_parafac, non_negative_parafac_hals, parafac  # noqa: E402
from tensorly.random import random_cp  # noqa: E402

from neurodyn.connectome import NonnegativeCP  # noqa: E402
from neurodyn.connectome.ntf import cp_to_tensor  # noqa: E402


@pytest.fixture(autouse=True)
def _numpy_backend():
    tl.set_backend("numpy")


def _rel_error(x, model):
    return np.linalg.norm(x - model) / np.linalg.norm(x)


# --------------------------------------------------------------------------- test_non_negative_parafac


@pytest.mark.parametrize("true_rank, rank", [(1, 1), (3, 3)])
@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("normalize_factors", [False, True])
@pytest.mark.parametrize("random_state", [1, 2])
@pytest.mark.parametrize("hals", [True, False])
def test_non_negative_parafac(true_rank, rank, init, normalize_factors, random_state, hals):
    """tensorly test_cp.py::test_non_negative_parafac.

    A non-negative (6, 3, 12) CP tensor of rank ``true_rank`` from tensorly's
    ``random_cp`` (absolute factors); 80 iterations, tol 1e-6. Asserted as in
    tensorly: the error history never rises by more than 1e-3, every factor is
    non-negative, the final relative error is below 0.07 and the largest absolute
    deviation of the reconstruction below 0.1; fitting with ``fixed_modes=[0]``
    or ``[1]`` from the true factors leaves that factor exactly as given. Not
    ported: the class-wrapper argument check (tensorly's ``CP_NN`` classes; our
    API is the estimator) and the ``nn_modes`` regression (neurodyn constrains
    every mode). The case (3, 3), "svd", random_state 1, HALS was neurodyn's
    defect (error 0.114: a component lost for good), fixed.
    """
    rng = tl.check_random_state(random_state)
    cp = random_cp((6, 3, 12), rank=true_rank, full=False, random_state=rng,
                   normalise_factors=normalize_factors)
    cp = CPTensor((cp.weights, [np.abs(f) for f in cp.factors]))
    x = tl.cp_to_tensor(cp)
    solver = "hals" if hals else "mu"
    est = NonnegativeCP(rank, init=init, solver=solver, n_restarts=1, max_iter=80, tol=1e-6,
                        random_state=random_state, device="cpu").fit(x)
    assert np.all(np.diff(est.errors_) <= 1e-3)
    for f in est.factors_:
        assert np.all(f >= 0)
    assert est.errors_[-1] < 0.07
    model = est.reconstruct()
    assert np.max(np.abs(x - model)) < 0.1
    assert abs(_rel_error(x, model) - est.errors_[-1]) < 1e-7  # the reported error is the true one

    # fixing mode 0 or 1 with a given init
    for mode in (0, 1):
        fixed = NonnegativeCP(true_rank, init=cp, solver=solver, n_restarts=1, max_iter=1,
                              fixed_modes=[mode], device="cpu").fit(x)
        np.testing.assert_array_equal(fixed.factors_[mode], cp.factors[mode],
                                      err_msg=f"fixed mode {mode} was modified")


def test_svd_case_equals_tensorly():
    """tensorly test_cp.py::test_non_negative_parafac, the case that was neurodyn's defect.

    (3, 3), init "svd", random_state 1, HALS: tensorly reaches 0.0022; neurodyn
    reached 0.114 (a component's column went to zero and stayed there). Both now
    fit the planted tensor to the same error, within 1e-3.
    """
    rng = tl.check_random_state(1)
    cp = random_cp((6, 3, 12), rank=3, full=False, random_state=rng)
    x = tl.cp_to_tensor(CPTensor((cp.weights, [np.abs(f) for f in cp.factors])))
    _, tl_err = non_negative_parafac_hals(x, 3, n_iter_max=80, tol=1e-6, init="svd",
                                          random_state=1, return_errors=True)
    est = NonnegativeCP(3, init="svd", n_restarts=1, max_iter=80, tol=1e-6, device="cpu").fit(x)
    assert abs(est.reconstruction_error_ - tl_err[-1]) < 1e-3
    assert est.weights_.min() > 0.5


# --------------------------------------------------------------------------- test_non_negative_parafac_hals


def test_non_negative_parafac_hals():
    """tensorly test_cp.py::test_non_negative_parafac_hals (commit 03770b3a; merged into
    test_non_negative_parafac later).

    A positive (3, 3, 3) tensor (uniform + 1, seed 1234). As in tensorly: the
    non-negative rank-3 fit (100 iterations, tol 1e-3, "svd") has non-negative
    factors and is within 1.0 relative (max abs 1.0) of tensorly's unconstrained
    ``parafac``; "svd" and "random" starts agree to the same limits; fixing mode
    0 or 1 keeps that factor exactly. (The case's ``for factor in
    fixed_tensor[1]: factor = tl.abs(factor)`` rebinds a local name and does
    nothing; it is harmless because ``random_cp`` draws uniform [0, 1) factors,
    which the port checks.)
    """
    rng = tl.check_random_state(1234)
    tensor = rng.random_sample((3, 3, 3)) + 1
    res = parafac(tensor, rank=3, n_iter_max=120)
    rec = tl.cp_to_tensor(res)
    nn = NonnegativeCP(3, init="svd", n_restarts=1, max_iter=100, tol=1e-3, device="cpu").fit(tensor)
    for f in nn.factors_:
        assert np.all(f >= 0)
    nn_rec = nn.reconstruct()
    assert np.linalg.norm(rec - nn_rec) / np.linalg.norm(rec) < 1.0
    assert np.max(np.abs(rec - nn_rec)) < 1.0

    fixed_tensor = random_cp((3, 3, 3), rank=2, random_state=0)
    assert all(np.all(f >= 0) for f in fixed_tensor.factors)
    for mode in (0, 1):
        out = NonnegativeCP(2, init=fixed_tensor, n_restarts=1, max_iter=2, fixed_modes=[mode],
                            device="cpu").fit(tensor)
        np.testing.assert_array_equal(out.factors_[mode], fixed_tensor.factors[mode])

    res_svd = NonnegativeCP(3, init="svd", n_restarts=1, max_iter=100, tol=1e-3, device="cpu").fit(tensor)
    res_random = NonnegativeCP(3, init="random", n_restarts=1, max_iter=100, tol=1e-3, random_state=0,
                               device="cpu").fit(tensor)
    rec_svd, rec_random = res_svd.reconstruct(), res_random.reconstruct()
    assert np.linalg.norm(rec_svd - rec_random) / np.linalg.norm(rec_svd) < 1.0
    assert np.max(np.abs(rec_svd - rec_random)) < 1.0


def test_non_negative_parafac_hals_one_unconstrained():
    """tensorly test_cp.py::test_non_negative_parafac_hals_one_unconstrained.

    tensorly fits with ``nn_modes={0, 2}``: mode 1 unconstrained, and its B
    factor is standard normal, so X has negative entries. neurodyn's
    NonnegativeCP constrains every mode and has no unconstrained modes; it
    refuses this X with a message naming it (numpy confirms X is signed),
    rather than fit a non-negative model to a signed tensor.
    """
    rng = tl.check_random_state(1234)
    t_shape = (8, 9, 10)
    weights = rng.uniform(size=3)
    a = rng.uniform(size=(t_shape[0], 3))
    b = rng.standard_normal(size=(t_shape[1], 3))
    c = rng.uniform(0.1, 1.1, size=(t_shape[2], 3))
    x = tl.cp_to_tensor((weights, (a, b, c)))
    n_negative = int((x < 0).sum())
    assert n_negative > 0
    with pytest.raises(ValueError, match=f"X must be non-negative; got {n_negative} negative values"):
        NonnegativeCP(3, init="svd", n_restarts=1, max_iter=100, tol=0, device="cpu").fit(x)


# --------------------------------------------------------------------------- init and fixed modes


def test_initialize_nn_cp():
    """tensorly test_cp.py::test_initialize_nn_cp.

    "If we initialise with an existing init, then it isn't modified": tensorly
    passes a signed init (-1 everywhere) through its non-negative initialiser.
    neurodyn refuses a signed init with a message; with the non-negative version
    of the case (+1 everywhere) the caller's arrays are unchanged after the fit,
    and the model of the given init is the tensor itself (zero error).
    """
    signed = [-np.ones((30, 3)), -np.ones((20, 3)), -np.ones((10, 3))]
    tensor = cp_to_tensor(signed)
    with pytest.raises(ValueError, match=r"init\[0\] factor 0 must be finite and non-negative"):
        NonnegativeCP(3, init=signed, n_restarts=1, device="cpu").fit(np.abs(tensor))
    init = [np.ones((30, 3)), np.ones((20, 3)), np.ones((10, 3))]
    before = [f.copy() for f in init]
    tensor = cp_to_tensor(init)
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=1, tol=0, device="cpu").fit(tensor)
    for f, f0 in zip(init, before, strict=True):
        np.testing.assert_array_equal(f, f0)
    np.testing.assert_allclose(est.reconstruct(), tensor, rtol=1e-12)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_fixed_modes_not_rescaled_by_init_weights(solver):
    """tensorly test_cp.py::test_fixed_modes_not_rescaled_by_init_weights.

    ``func`` is tensorly's ``non_negative_parafac`` / ``non_negative_parafac_hals``
    (neurodyn: ``solver="mu"`` / ``"hals"``); tensorly's unconstrained ``parafac``
    variant has no neurodyn counterpart. Fixed factors come back unchanged even
    when the init has non-unit weights; neither the init nor ``fixed_modes`` is
    modified.
    """
    rng = tl.check_random_state(1234)
    shape = (6, 3, 12)
    factors = [rng.uniform(0.1, 1, size=(s, 2)) for s in shape]
    init = CPTensor((np.array([2.0, 5.0]), factors))
    tensor = tl.cp_to_tensor(init)
    factors_before = [f.copy() for f in factors]
    for fixed in ([0], [1], [0, 1]):
        fixed_modes = list(fixed)
        out = NonnegativeCP(2, init=init, solver=solver, n_restarts=1, max_iter=2,
                            fixed_modes=fixed_modes, device="cpu").fit(tensor)
        assert fixed_modes == list(fixed)
        for mode in fixed:
            np.testing.assert_array_almost_equal(out.factors_[mode], factors_before[mode])
        for f, f0 in zip(init.factors, factors_before, strict=True):
            np.testing.assert_array_equal(f, f0)
        np.testing.assert_array_equal(init.weights, [2.0, 5.0])
        # the planted tensor is fitted exactly by the weights going into a free mode
        assert out.reconstruction_error_ < 1e-6


def test_parafac_does_not_modify_init():
    """tensorly test_cp.py::test_parafac_does_not_modify_init (issue #594), non-negative version.

    tensorly's case is for the unconstrained ``parafac`` on standard-normal
    4-way tensors; here the same shapes with absolute values. Fitting a
    (2, 3, 4, 7) tensor from a (2, 3, 4, 5) fit's model with modes 0-2 fixed
    leaves the init and ``fixed_modes`` unchanged, also with non-unit weights,
    and a fixed mode whose size does not match X is an error. Difference by
    design: tensorly silently replaces a free mode's init of the wrong size
    (mode 3: 5 rows for 7); neurodyn refuses it with a message, so the free
    mode's init is passed with the right size.
    """
    rng = tl.check_random_state(1234)
    x1 = np.abs(rng.standard_normal((2, 3, 4, 5)))
    x2 = np.abs(rng.standard_normal((2, 3, 4, 7)))
    first = NonnegativeCP(3, n_restarts=1, max_iter=50, random_state=0, device="cpu").fit(x1)
    weights, factors = first.weights_, first.factors_
    before = [f.copy() for f in factors]
    fixed_modes = [0, 1, 2]
    with pytest.raises(ValueError, match=r"init\[0\] factor 3 must have shape \(7, 3\); got \(5, 3\)"):
        NonnegativeCP(3, init=factors, n_restarts=1, max_iter=5, fixed_modes=fixed_modes,
                      device="cpu").fit(x2)
    init = factors[:3] + [np.abs(rng.standard_normal((7, 3)))]
    out = NonnegativeCP(3, init=init, n_restarts=1, max_iter=5, fixed_modes=fixed_modes,
                        device="cpu").fit(x2)
    assert out.factors_[3].shape == (7, 3)
    for f, f0 in zip(factors, before, strict=True):
        np.testing.assert_array_equal(f, f0)
    assert fixed_modes == [0, 1, 2]
    # non-unit weights
    NonnegativeCP(3, init=CPTensor((np.array([2.0, 3.0, 4.0]), init)), n_restarts=1, max_iter=5,
                  fixed_modes=fixed_modes, device="cpu").fit(x2)
    for f, f0 in zip(factors, before, strict=True):
        np.testing.assert_array_equal(f, f0)
    np.testing.assert_array_equal(weights, first.weights_)
    # a fixed mode whose size does not match the tensor is an error
    with pytest.raises(ValueError, match=r"init\[0\] factor 0 must have shape \(7, 3\)"):
        NonnegativeCP(3, init=init, n_restarts=1, max_iter=5, fixed_modes=[0, 1],
                      device="cpu").fit(np.transpose(x2, (3, 0, 1, 2)))


# --------------------------------------------------------------------------- against tensorly itself


@pytest.mark.parametrize("shape", [(9, 7), (8, 6, 5), (6, 5, 4, 3), (5, 4, 3, 3, 2)])
@pytest.mark.parametrize("fixed", [None, [0], [1]])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_tensorly_hals_on_random_inputs(shape, fixed, seed):
    """neurodyn HALS == tensorly ``non_negative_parafac_hals`` from the same init.

    Random non-negative tensors of order 2-5, rank 3, 25 iterations, 5 inner
    sweeps in both, with and without fixed modes: every iteration's relative
    error within 1e-12, the reconstruction within 1e-10, fixed factors exact.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    init = [rng.random((n, 3)) + 0.05 for n in shape]
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=25, tol=0, fixed_modes=fixed,
                        device="cpu").fit(x)
    if fixed is not None and len(shape) - 1 in fixed:
        # the last mode fixed: tensorly's error bookkeeping fails (see the peer-defect test
        # below), so it runs without it and the errors are checked against numpy
        cp = non_negative_parafac_hals(x, 3, init=CPTensor((np.ones(3), [f.copy() for f in init])),
                                       n_iter_max=25, tol=0, fixed_modes=fixed)
        n = 25
        assert abs(_rel_error(x, est.reconstruct()) - est.reconstruction_error_) < 1e-12
    else:
        cp, tl_err = non_negative_parafac_hals(x, 3, init=CPTensor((np.ones(3), [f.copy() for f in init])),
                                               n_iter_max=25, tol=1e-300, return_errors=True,
                                               fixed_modes=fixed)
        n = len(tl_err)  # tensorly stops early once its error is exactly flat
        assert n >= 5
        np.testing.assert_allclose(est.errors_[:n], tl_err, rtol=0, atol=1e-12)
    if n == 25:
        np.testing.assert_allclose(est.reconstruct(), tl.cp_to_tensor(cp), rtol=0, atol=1e-10)
    for m in fixed or ():
        np.testing.assert_array_equal(est.factors_[m], init[m])
        np.testing.assert_array_equal(cp.factors[m], init[m])


def test_equals_tensorly_mu_on_random_inputs():
    """neurodyn ``solver="mu"`` == tensorly ``non_negative_parafac`` from the same init (3-way)."""
    rng = np.random.default_rng(3)
    x = rng.random((10, 8, 6))
    init = [rng.random((n, 3)) + 0.05 for n in x.shape]
    cp, tl_err = non_negative_parafac(x, 3, init=CPTensor((np.ones(3), [f.copy() for f in init])),
                                      n_iter_max=30, tol=1e-300, return_errors=True)
    est = NonnegativeCP(3, init=init, solver="mu", n_restarts=1, max_iter=30, tol=0, device="cpu").fit(x)
    np.testing.assert_allclose(est.errors_, tl_err, rtol=0, atol=1e-10)
    np.testing.assert_allclose(est.reconstruct(), tl.cp_to_tensor(cp), rtol=0, atol=1e-8)


def test_peer_defect_last_mode_fixed_with_a_tolerance():
    """Peer defect in tensorly ``non_negative_parafac_hals``: the last mode fixed and ``tol > 0``.

    Its convergence check multiplies the MTTKRP of the last *updated* mode by
    the last factor, so with the last mode fixed the shapes do not match and it
    raises (numpy broadcasting error) on any tensor whose last two modes differ
    in size. neurodyn fits it; its reported error equals the error of the
    returned model computed independently with numpy, and the fixed factor is
    the init.
    """
    rng = np.random.default_rng(0)
    x = rng.random((9, 7, 4))
    init = [rng.random((n, 3)) + 0.05 for n in x.shape]
    with pytest.raises(ValueError, match="could not be broadcast"):
        non_negative_parafac_hals(x, 3, init=CPTensor((np.ones(3), [f.copy() for f in init])),
                                  n_iter_max=25, tol=1e-8, fixed_modes=[2])
    est = NonnegativeCP(3, init=init, n_restarts=1, max_iter=25, tol=1e-8, fixed_modes=[2],
                        device="cpu").fit(x)
    np.testing.assert_array_equal(est.factors_[2], init[2])
    assert abs(_rel_error(x, est.reconstruct()) - est.reconstruction_error_) < 1e-12
