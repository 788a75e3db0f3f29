"""Connectome input layout, bad input and parameter bounds: each error names the argument."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from neurodyn._validation import LayoutWarning
from neurodyn.connectome import (
    DynamicConnectome,
    NonnegativeCP,
    affinity_tensor,
    align_neurons,
    component_graph,
    elbow_rank,
    factor_match_score,
    louvain_labels,
    matrix_to_pairs,
    pairs_to_matrix,
    rank_sweep,
    sbm_description_length,
    strength_two_means,
    weighted_sbm,
)
from neurodyn.datasets.simulate import dynamic_connectome, planted_connectome_factors


@pytest.fixture(scope="module")
def traces():
    """(n_animals=2, n_timepoints=80, n_units=6), the package layout."""
    return np.random.default_rng(0).standard_normal((2, 80, 6)).cumsum(axis=1)


FAST = dict(n_components=2, n_restarts=1, max_iter=5, device="cpu")


# ----------------------------------------------------------------------------- layout


def test_old_layout_stack_is_refused_with_the_fix(traces):
    old = np.swapaxes(traces, 1, 2)  # (2, 6, 80): 6 "timepoints" < 80 units and < window
    with pytest.raises(ValueError, match=r"traces has shape \(2, 6, 80\).*layout changed in this release.*"
                                         r"np\.swapaxes\(traces, 1, 2\)"):
        affinity_tensor(old, window=20, step=10)
    with pytest.raises(ValueError, match=r"X has shape \(2, 6, 80\).*np\.swapaxes\(X, 1, 2\)"):
        DynamicConnectome(**FAST, window=20, step=10).fit(old)


def test_fewer_timepoints_than_units_warns(traces):
    wide = np.random.default_rng(1).standard_normal((2, 30, 40)).cumsum(axis=1)
    with pytest.warns(LayoutWarning, match=r"traces has shape \(2, 30, 40\): 30 timepoints .* 40 units.*"
                                           r"np\.swapaxes\(traces, 1, 2\)"):
        X = affinity_tensor(wide, window=10, step=10, device="cpu")
    assert X.shape == (40 * 39 // 2, 3, 2)  # still computed in the layout it was given
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        affinity_tensor(traces, window=20, step=10, device="cpu")  # 80 >= 6: no warning


def test_the_warning_points_at_the_callers_line():
    wide = np.random.default_rng(1).standard_normal((2, 30, 40)).cumsum(axis=1)
    with pytest.warns(LayoutWarning) as record:
        DynamicConnectome(**FAST, window=10, step=10).fit(wide)
    assert record[0].filename == __file__


def test_one_recording_and_list_equal_the_stack(traces):
    stack = affinity_tensor(traces, window=20, step=10, device="cpu")
    np.testing.assert_array_equal(affinity_tensor(list(traces), window=20, step=10, device="cpu"), stack)
    np.testing.assert_allclose(affinity_tensor(traces[0], window=20, step=10, device="cpu"),
                               stack[:, :, :1], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match=r"traces has shape \(6, 80\).*pass traces\.T"):
        affinity_tensor(traces[0].T, window=20)
    with pytest.raises(ValueError, match=r"traces\[1\] has shape \(6, 80\).*\[x\.T for x in traces\]"):
        affinity_tensor([traces[0], traces[1].T], window=20)


def test_layout_is_time_major(traces):
    """A neuron is a column: correlation of columns 0 and 1 in the first window, by hand."""
    X = affinity_tensor(traces, "corr", window=20, step=10, smooth_sigma=0, device="cpu")
    r = np.corrcoef(traces[1, :20, 0], traces[1, :20, 1])[0, 1]
    assert X[0, 0, 1] == pytest.approx(max(r, 0.0), abs=1e-12)


def test_align_neurons_columns_are_neurons(traces):
    aligned, labels = align_neurons([traces[0][:, [0, 1, 2]], traces[1][:, [2, 3]]],
                                    [["a", "b", "c"], ["c", "d"]])
    assert aligned.shape == (2, 80, 4)
    np.testing.assert_array_equal(labels, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(aligned[1, :, 2], traces[1][:, 2])
    assert np.isnan(aligned[1, :, :2]).all() and np.isnan(aligned[0, :, 3]).all()
    with pytest.raises(ValueError, match=r"traces\[0\] must be \(n_timepoints, n_units\) with one column per label"):
        align_neurons([traces[0]], [["a", "b"]])
    with pytest.raises(ValueError, match=r"it looks transposed: .* pass traces\[0\]\.T"):
        align_neurons([traces[0].T], [list("abcdef")])
    with pytest.raises(ValueError, match="every animal must have the same number of timepoints"):
        align_neurons([traces[0], traces[1][:50]], [list("abcdef")] * 2)


# ----------------------------------------------------------------------------- bad traces


def _with(traces, index, value):
    out = np.array(traces, copy=True)
    out[index] = value
    return out


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda t: _with(t, (0, 5, 1), np.nan), ValueError, r"X has 1 partly NaN trace\(s\) \(first: animal 0, neuron 1\)"),
        (lambda t: _with(t, (1, 0, 3), np.inf), ValueError, "X must not contain Inf; got 1 Inf"),
        (lambda t: _with(t, (1, slice(None), 4), 2.0), ValueError,
         r"X has 1 constant \(zero-variance\) trace\(s\) \(first: animal 1, neuron 4\)"),
        (lambda t: t[:, :10], ValueError, r"window=20 is longer than the recording \(10 timepoints\)"),
        (lambda t: t[:, :, :1], ValueError, r"X needs at least 2 neurons"),
        (lambda t: t[:, :0], ValueError, r"X is empty; got shape \(2, 0, 6\)"),
        (lambda t: [], ValueError, "X is empty; expected at least one animal"),
        (lambda t: t.astype(complex), TypeError, "X must be real-valued"),
        (lambda t: t[0, :, 0], ValueError, r"X must be 2-D or 3-D .*; got shape \(80,\)"),
        (lambda t: t[..., None], ValueError, r"X must be 2-D or 3-D .*; got shape \(2, 80, 6, 1\)"),
        (lambda t: np.full((2, 80, 6), "a"), TypeError, "X must be a numeric array; got strings"),
        (lambda t: [t[0], t[1, :, :5]], ValueError, "X: every animal must have the same neurons"),
        (lambda t: [t[0], t[1, :70]], ValueError, "X: every animal must have the same number of timepoints"),
        (lambda t: _with(t, (slice(None), slice(None), 2), np.nan), ValueError,
         r"X: neuron 2 is missing \(all NaN\) in every animal"),
    ],
)
def test_bad_traces_name_the_argument(traces, make, error, match):
    bad = make(traces)
    before = np.array(traces, copy=True)
    with pytest.raises(error, match=match):
        DynamicConnectome(**FAST, window=20, step=10).fit(bad)
    np.testing.assert_array_equal(traces, before)


def test_short_recording_for_three_timepoints():
    short = np.random.default_rng(0).standard_normal((2, 2, 1))
    with pytest.raises(ValueError, match=r"X needs at least 2 neurons"):
        DynamicConnectome(**FAST, window=1, step=1).fit(short)
    with pytest.raises(ValueError, match=r"traces is too short: needs at least 3 timepoints"):
        affinity_tensor(np.random.default_rng(0).standard_normal((1, 2, 2)), "derivative_product",
                        window=1, step=1)


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(smooth_sigma=1e6), ValueError, r"smooth_sigma must be in \[0, 20\] \(a quarter of the 80 timepoints"),
        (dict(smooth_sigma=-1.0), ValueError, r"smooth_sigma must be in \[0, inf\); got -1.0"),
        (dict(smooth_sigma=np.nan), ValueError, "smooth_sigma must be a number; got NaN"),
        (dict(smooth_sigma=np.inf), ValueError, r"smooth_sigma must be in \[0, inf\); got inf"),
        (dict(smooth_sigma="2"), TypeError, "smooth_sigma must be a real number"),
        (dict(window=0), ValueError, r"window must be in \[1, inf\); got 0"),
        (dict(window=2), ValueError, r"window must be >= 3 samples for the correlation affinity"),
        (dict(window=81), ValueError, r"window=81 is longer than the recording \(80 timepoints\)"),
        (dict(window=20.5), TypeError, "window must be an integer"),
        (dict(step=0), ValueError, r"step must be in \[1, inf\); got 0"),
        (dict(step=81), ValueError, r"step must be in \[1, 80\] \(the recording's length\); got 81"),
        (dict(block_size=0), ValueError, r"block_size must be in \[1, inf\); got 0"),
        (dict(n_components=0), ValueError, "n_components must be >= 1; got 0"),
        (dict(n_components=2.5), TypeError, "n_components must be an integer"),
        (dict(n_components=40), ValueError, "n_components=40 is larger than the data supports"),
        (dict(n_restarts=0), ValueError, "n_restarts must be >= 1; got 0"),
        (dict(n_restarts=10**12), MemoryError, "n_restarts would need"),
        (dict(max_iter=0), ValueError, "max_iter must be >= 1; got 0"),
        (dict(tol=-1e-3), ValueError, r"tol must be in \[0, 1\); got -0.001"),
        (dict(tol=1.0), ValueError, r"tol must be in \[0, 1\); got 1.0"),
        (dict(tol=np.nan), ValueError, "tol must be a number; got NaN"),
        (dict(n_inner=0), ValueError, r"n_inner must be in \[1, 100\]; got 0"),
        (dict(n_inner=10**6), ValueError, r"n_inner must be in \[1, 100\]; got 1000000"),
        (dict(init=3), TypeError, "init must be 'random', 'svd' or a list of factor matrices"),
        (dict(community_threshold=1.0), ValueError, r"community_threshold must be in \[0, 1\); got 1.0"),
        (dict(community_threshold=np.nan), ValueError, "community_threshold must be a number; got NaN"),
        (dict(affinity=["corr"]), ValueError, "affinity must be one of"),
        (dict(dtype="float16"), ValueError, r"dtype must be 'float32' or 'float64' \(or None\); got float16"),
    ],
)
def test_dynamic_connectome_parameter_bounds(traces, params, error, match):
    kwargs = dict(FAST, window=20, step=10)
    kwargs.update(params)
    with pytest.raises(error, match=match):
        DynamicConnectome(**kwargs).fit(traces)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(n_inner=101), ValueError, r"n_inner must be in \[1, 100\]; got 101"),
        (dict(tol=2.0), ValueError, r"tol must be in \[0, 1\); got 2.0"),
        (dict(n_restarts=10**12), MemoryError, "n_restarts would need"),
        (dict(max_iter=-3), ValueError, "max_iter must be >= 1; got -3"),
        (dict(dtype="bfloat16"), ValueError, r"dtype must be 'float32' or 'float64' \(or None\); got bfloat16"),
        (dict(init=[np.ones((4, 2)), np.ones((3, 2))]), ValueError, r"init holds 2 model\(s\) but n_restarts=1"),
    ],
)
def test_nonnegative_cp_parameter_bounds(params, error, match):
    kwargs = dict(FAST)
    kwargs.update(params)
    with pytest.raises(error, match=match):
        NonnegativeCP(**kwargs).fit(np.random.default_rng(0).random((4, 3, 2)))


def test_max_iter_does_not_preallocate():
    """The error history grows with the iterations run: a huge max_iter with a tolerance is fine."""
    x = np.random.default_rng(0).random((6, 5, 3))
    est = NonnegativeCP(1, n_restarts=2, max_iter=10**12, tol=1e-4, random_state=0, device="cpu").fit(x)
    assert est.converged_ and est.n_iter_ < 1000 and len(est.errors_) == est.n_iter_


def test_rank_sweep_arguments():
    x = np.random.default_rng(0).random((6, 5, 3))
    with pytest.raises(ValueError, match="ranks is empty"):
        rank_sweep(x, [])
    with pytest.raises(TypeError, match="ranks must be a sequence of integers"):
        rank_sweep(x, 3)
    with pytest.raises(ValueError, match="ranks must be >= 1; got 0"):
        rank_sweep(x, [0, 1])
    with pytest.raises(ValueError, match="n_restarts must be >= 1; got 0"):
        rank_sweep(x, [1, 2], n_restarts=0)


# ----------------------------------------------------------------------------- scikit-learn contract


def test_sklearn_contract(traces):
    est = DynamicConnectome(**FAST, window=20, step=10, random_state=0)
    assert clone(est).get_params() == est.get_params()
    assert est.fit(traces, None) is est  # y is the second positional argument, ignored
    assert est.n_features_in_ == 6
    pre = DynamicConnectome(**FAST, affinity="precomputed").fit(est.affinity_tensor_)
    assert pre.n_features_in_ == 6
    cp = NonnegativeCP(**FAST, random_state=0)
    x = np.random.default_rng(0).random((5, 4, 3))
    assert cp.fit(x, None) is cp and cp.n_features_in_ == 12  # K * W columns of the unfolding


# check_estimator feeds 2-D (n_samples, n_features) data, which neither estimator takes
# (3-D traces or tensors), so the contract's checks that apply are run here by hand.
def _estimators(traces):
    x = np.random.default_rng(0).random((15, 4, 3))
    return [(DynamicConnectome(**FAST, window=20, step=10, random_state=0), traces,
             ("component_matrix", "reconstruct", "to_cptensor")),
            (NonnegativeCP(**FAST, random_state=0), x, ("reconstruct", "to_cptensor", "stability"))]


def test_contract_by_hand(traces):
    import pickle

    from sklearn.exceptions import NotFittedError

    for est, data, methods in _estimators(traces):
        name = type(est).__name__
        # __init__ stores its arguments unchanged and sets nothing else
        assert not [k for k in vars(est) if k.endswith("_")], name
        params = est.get_params()
        assert clone(est).set_params(**params).get_params() == params
        for meth in methods:  # NotFittedError before fit
            with pytest.raises(NotFittedError):
                getattr(est, meth)(0) if meth == "component_matrix" else getattr(est, meth)()
        fitted = clone(est).fit(data)
        again = pickle.loads(pickle.dumps(fitted))
        np.testing.assert_array_equal(again.weights_, fitted.weights_)
        refit = clone(est).fit(data)  # same seed, same result; fitting twice is idempotent
        np.testing.assert_array_equal(refit.weights_, fitted.weights_)
        np.testing.assert_array_equal(refit.fit(data).weights_, fitted.weights_)
        # complex and object data are refused, not cast
        arg = "X"
        with pytest.raises(TypeError, match=f"{arg} must be real-valued"):
            clone(est).fit(np.asarray(data) + 0j)
        obj = np.asarray(data).astype(object)
        obj.flat[0] = None
        # (None in an object array converts to NaN for the traces: a partly NaN trace)
        with pytest.raises((TypeError, ValueError), match=f"{arg} (must be a numeric array|has 1 partly NaN)"):
            clone(est).fit(obj)


# ----------------------------------------------------------------------------- helpers and simulators


def _sym(n=5):
    m = np.random.default_rng(0).random((n, n))
    m = m + m.T
    np.fill_diagonal(m, 0)
    return m


FACTORS = [np.random.default_rng(i).random((n, 2)) for i, n in enumerate((6, 4, 3))]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: pairs_to_matrix(np.array([1.0, np.nan, 2.0])), ValueError, "pairs must be finite; got 1 NaN"),
        (lambda: pairs_to_matrix(np.array([1.0, 2.0, 3.0]) + 1j), TypeError, "pairs must be real-valued"),
        (lambda: pairs_to_matrix(np.array([])), ValueError, r"pairs is empty"),
        (lambda: pairs_to_matrix(np.ones(3), n_nodes=0), ValueError, "n_nodes must be >= 2; got 0"),
        (lambda: matrix_to_pairs(np.full((3, 3), np.inf)), ValueError, "matrix must be finite; got 0 NaN and 9 Inf"),
        (lambda: matrix_to_pairs(np.array([["a", "b"], ["c", "d"]])), TypeError, "matrix must be a numeric array"),
        (lambda: factor_match_score([FACTORS[0] * np.nan, *FACTORS[1:]], FACTORS), ValueError,
         "cp_a factor 0 must be finite"),
        (lambda: factor_match_score(FACTORS, [FACTORS[0].ravel(), *FACTORS[1:]]), ValueError,
         r"cp_b factor 0 must be 2-D \(n_rows, rank\); got shape \(12,\)"),
        (lambda: factor_match_score(FACTORS, [FACTORS[0][:0], *FACTORS[1:]]), ValueError, "cp_b factor 0 is empty"),
        (lambda: factor_match_score(FACTORS, "abc"), TypeError, "cp_b must be a list of factor matrices"),
        (lambda: factor_match_score(FACTORS, [FACTORS[0][:5], *FACTORS[1:]]), ValueError,
         "cp_a and cp_b: mode 0 factor shapes"),
        (lambda: elbow_rank([1, 2, 3], [0.5, np.nan, 0.1]), ValueError, "errors must be finite"),
        (lambda: elbow_rank([1, 2, 3], [0.5, 0.2]), ValueError, r"errors must have one entry per rank \(3\); got 2"),
        (lambda: elbow_rank([1, 2, 3], np.ones((3, 1))), ValueError, r"errors must be 1-D"),
        (lambda: component_graph(_sym(), threshold=1.5), ValueError, r"threshold must be in \[0, 1\); got 1.5"),
        (lambda: component_graph(_sym() + 1j), TypeError, "weights must be real-valued"),
        (lambda: component_graph(np.array([])), ValueError, "weights is empty"),
        (lambda: strength_two_means(_sym().astype(str)), TypeError, "weights must be a numeric array"),
        (lambda: louvain_labels(_sym(), resolution=-1.0), ValueError, r"resolution must be in \(0, inf\)"),
        (lambda: louvain_labels(_sym(), resolution=np.nan), ValueError, "resolution must be a number; got NaN"),
        (lambda: weighted_sbm(_sym(), max_sweeps=0), ValueError, r"max_sweeps must be in \[1, inf\); got 0"),
        (lambda: sbm_description_length(_sym(), np.array([0, 0, 1, 1, np.nan])), ValueError, "labels must be finite"),
        (lambda: sbm_description_length(_sym(), np.array(list("aabbc"))), TypeError,
         "labels must be a numeric array"),
        (lambda: sbm_description_length(_sym().ravel(), np.zeros(5)), ValueError,
         r"weights \(a pair vector\) has 25 entries"),
        (lambda: align_neurons([np.full((10, 2), np.inf)], [["a", "b"]]), ValueError,
         r"traces\[0\] must not contain Inf"),
        (lambda: align_neurons([_with(np.ones((10, 2)), (0, 1), np.nan)], [["a", "b"]]), ValueError,
         r"traces\[0\] has 1 partly NaN column"),
        (lambda: dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), tau=0.0),
         ValueError, r"tau must be in \(0, inf\); got 0.0"),
        (lambda: dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), fs=np.nan),
         ValueError, "fs must be a number; got NaN"),
        (lambda: dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), noise=-1.0),
         ValueError, r"noise must be in \[0, inf\); got -1.0"),
        (lambda: dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), rho=1.5),
         ValueError, r"rho must be in \[0, 1\]; got 1.5"),
        (lambda: dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), animals=((0, 5),)),
         ValueError, r"animals\[0\] must be in \[0, 1\]; got 5"),
        (lambda: dynamic_connectome(6, 60, 10**12), MemoryError,
         "n_animals, n_neurons and n_timepoints would need"),
        (lambda: planted_connectome_factors(np.array([0, 0, np.nan]), [(0, 5)], [[1, 0]], 50), ValueError,
         "membership must be finite"),
        (lambda: planted_connectome_factors(np.array([0, 0, 1]), [(0, 5)], [[1, 0]], 50, window=0), ValueError,
         r"window must be in \[1, 50\]; got 0"),
        (lambda: planted_connectome_factors(np.array([0, 0, 1]), [(0, 5)], [[1, 0]], 50, step=0), ValueError,
         "step must be >= 1; got 0"),
        (lambda: planted_connectome_factors(np.array([0, 0, 1]), [(0, 5)], [[2, 0]], 50), ValueError,
         r"animals must be boolean \(or 0/1\)"),
    ],
)
def test_helpers_refuse_bad_input_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_simulator_returns_the_package_layout():
    sim = dynamic_connectome(2, 12, 200, community_sizes=(4,), windows=((20, 80),), random_state=0)
    assert sim["traces"].shape == (2, 200, 12) and sim["traces"].flags.c_contiguous
    # community 0 (neurons 0-3) co-fluctuates inside its window: columns are neurons
    inside = np.corrcoef(sim["traces"][0, 20:80, :4].T)[np.triu_indices(4, 1)].mean()
    outside = np.corrcoef(sim["traces"][0, 120:200, :4].T)[np.triu_indices(4, 1)].mean()
    assert inside > outside + 0.3


def test_nested_lists_are_one_recording(traces):
    np.testing.assert_array_equal(affinity_tensor(traces[0].tolist(), window=20, step=10, device="cpu"),
                                  affinity_tensor(traces[0], window=20, step=10, device="cpu"))
    with pytest.raises(TypeError, match="traces must be a numeric array; got strings"):
        affinity_tensor([["a", "b"], ["c", "d"]], window=2)


def test_traces_near_the_float64_limit_stay_finite(traces):
    ref = affinity_tensor(traces, window=20, step=10, device="cpu")
    huge = traces / np.abs(traces).max() * 1.7e308
    np.testing.assert_allclose(affinity_tensor(huge, window=20, step=10, device="cpu"), ref, atol=1e-13)


def test_pairs_are_counted_before_they_are_allocated():
    """100 000 units would need ~5e9 pairs: refused before np.triu_indices allocates them."""
    wide = np.lib.stride_tricks.as_strided(np.arange(10.0), shape=(1, 10, 100_000), strides=(0, 8, 0))
    with pytest.raises(MemoryError, match=r"traces \(n_units\), window and step would need"), \
            pytest.warns(LayoutWarning, match="fewer timepoints than units"):
        affinity_tensor(wide, window=3, step=1)
