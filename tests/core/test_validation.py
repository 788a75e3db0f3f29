"""Tests for neurodyn._validation: every bad-input message names the argument."""

import warnings as _warnings

import numpy as np
import pytest

from neurodyn._validation import (
    LayoutWarning,
    check_allocation,
    check_array,
    check_float_range,
    check_in,
    check_labels,
    check_positive_definite,
    check_positive_int,
    check_probability,
    check_recordings,
    check_scalar,
    check_spike_counts,
    check_square_matrix,
    check_symmetric,
    check_timeseries,
    zero_variance_channels,
)

rng = np.random.default_rng(0)


def test_check_array_wrong_ndim_message():
    with pytest.raises(ValueError, match=r"X must be 2-D \(n_timepoints, n_units\); got shape \(5,\)"):
        check_timeseries(np.zeros(5), "X")


def test_check_array_empty_and_none_and_object():
    with pytest.raises(ValueError, match="traces is empty"):
        check_array(np.zeros((0, 3)), "traces", ndim=2)
    with pytest.raises(TypeError, match="traces must be an array; got None"):
        check_array(None, "traces")
    with pytest.raises(TypeError, match="traces must be a numeric array"):
        check_array(np.array(["a", "b"]), "traces", dtype=None)


def test_timeseries_nan_inf_reported_with_position():
    x = rng.normal(size=(10, 3))
    x[4, 1] = np.nan
    x[6, 2] = np.inf
    with pytest.raises(ValueError, match=r"X must be finite; got 1 NaN and 1 Inf values \(first at index \(4, 1\)\)"):
        check_timeseries(x)


def test_timeseries_constant_channels_listed():
    x = rng.normal(size=(20, 5))
    x[:, 1] = 3.0
    x[:, 4] = 0.0
    with pytest.raises(ValueError, match=r"2 constant \(zero-variance\) channel\(s\) at index \[1, 4\]"):
        check_timeseries(x, "bold")
    out = check_timeseries(x, "bold", allow_constant=True)
    assert out.shape == (20, 5)


def test_timeseries_too_short():
    with pytest.raises(ValueError, match="X is too short: needs at least 10 timepoints along axis 0; got 3"):
        check_timeseries(rng.normal(size=(3, 4)), min_timepoints=10)


def test_timeseries_allow_nan_still_rejects_inf():
    x = rng.normal(size=(10, 3))
    x[:, 0] = np.nan
    check_timeseries(x, allow_nan=True, allow_constant=True)
    x[0, 1] = np.inf
    with pytest.raises(ValueError, match="must not contain Inf"):
        check_timeseries(x, allow_nan=True)


def test_timeseries_does_not_modify_input():
    x = rng.normal(size=(10, 3)).astype(np.float32)
    before = x.copy()
    out = check_timeseries(x)
    out += 1
    np.testing.assert_array_equal(x, before)


def test_zero_variance_channels_reference():
    x = rng.normal(size=(8, 6))
    x[:, [0, 3]] = 1.5
    np.testing.assert_array_equal(zero_variance_channels(x), np.flatnonzero(x.std(axis=0) == 0))


def test_recordings_unequal_lengths_allowed_and_mismatched_units_rejected():
    recs = [rng.normal(size=(30, 4)), rng.normal(size=(25, 4))]
    assert [r.shape[0] for r in check_recordings(recs)] == [30, 25]
    with pytest.raises(ValueError, match=r"same length; got lengths \[30, 25\]"):
        check_recordings(recs, same_length=True)
    with pytest.raises(ValueError, match=r"same number of units; got \[4, 5\]"):
        check_recordings([rng.normal(size=(30, 4)), rng.normal(size=(30, 5))])
    with pytest.raises(ValueError, match=r"X\[1\] must be finite"):
        bad = rng.normal(size=(30, 4))
        bad[2, 2] = np.nan
        check_recordings([rng.normal(size=(30, 4)), bad])
    with pytest.raises(ValueError, match="X is empty"):
        check_recordings([])
    assert len(check_recordings(rng.normal(size=(3, 20, 4)))) == 3


def test_spike_counts():
    y = rng.poisson(1.0, size=(50, 4))
    np.testing.assert_array_equal(check_spike_counts(y), y)
    with pytest.raises(ValueError, match="spikes must be non-negative counts; got 1 negative"):
        y2 = y.copy()
        y2[0, 0] = -1
        check_spike_counts(y2)
    with pytest.raises(ValueError, match=r"spikes must hold integer counts; got 1 non-integer values \(first 0.5"):
        y3 = y.astype(float)
        y3[1, 1] = 0.5
        check_spike_counts(y3)
    with pytest.raises(ValueError, match="spikes must be finite"):
        y4 = y.astype(float)
        y4[1, 1] = np.nan
        check_spike_counts(y4)


def test_square_and_symmetric():
    with pytest.raises(ValueError, match=r"W must be square; got shape \(3, 4\)"):
        check_square_matrix(np.zeros((3, 4)), "W")
    a = rng.normal(size=(4, 4))
    with pytest.raises(ValueError, match="W must be symmetric; largest"):
        check_symmetric(a, "W")
    s = a + a.T
    np.testing.assert_array_equal(check_symmetric(s, "W"), s)
    batch = np.stack([s, s])
    assert check_symmetric(batch, "rdms", allow_batch=True).shape == (2, 4, 4)


def test_labels():
    with pytest.raises(ValueError, match=r"y must have 5 entries to match the data; got 4"):
        check_labels([0, 1, 0, 1], n_samples=5)
    with pytest.raises(ValueError, match="at least 2 classes"):
        check_labels([1, 1, 1], min_classes=2)
    with pytest.raises(ValueError, match="must not contain NaN"):
        check_labels([0.0, np.nan])
    with pytest.raises(ValueError, match=r"y must be 1-D"):
        check_labels(np.zeros((2, 2)))


def test_scalar_params():
    assert check_positive_int(3, "n_components") == 3
    with pytest.raises(ValueError, match="n_components must be >= 1; got 0"):
        check_positive_int(0, "n_components")
    with pytest.raises(TypeError, match="n_components must be an integer"):
        check_positive_int(2.5, "n_components")
    with pytest.raises(ValueError, match=r"method must be one of \['a', 'b'\]; got 'c'"):
        check_in("c", "method", ["a", "b"])


# --- checks added for the bad-input sweep (issue: no silent wrong answers) ---



def test_check_array_refuses_complex_and_strings():
    with pytest.raises(TypeError, match="X must be real-valued; got a complex"):
        check_array(np.ones((3, 2)) + 1j, "X")
    with pytest.raises(TypeError, match="X must be a numeric array; got strings"):
        check_array(np.array(["a", "b"]), "X")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, 2.0, True, "0.5", None])
def test_check_probability_refuses(bad):
    with pytest.raises((TypeError, ValueError), match="p_keep"):
        check_probability(bad, "p_keep")


def test_check_scalar_bounds_and_integers():
    assert check_scalar(3.0, "n", low=1, integer=True) == 3
    with pytest.raises(TypeError, match="n must be an integer; got 2.5"):
        check_scalar(2.5, "n", integer=True)
    with pytest.raises(ValueError, match=r"sigma must be in \(0, 10\]; got 0.0"):
        check_scalar(0.0, "sigma", low=0, low_inclusive=False, high=10)
    assert check_scalar(np.inf, "tol", low=0, high=np.inf) == np.inf


def test_check_float_range_float32_overflow():
    check_float_range(np.array([1e30]), "X", "float32")       # fits
    check_float_range(np.array([1e300]), "X", "float64")      # float64 is the source
    with pytest.raises(ValueError, match="X has values up to 1e\\+39, beyond the range of float32"):
        check_float_range(np.array([1.0, -1e39]), "X", "float32")


def test_check_positive_definite():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    spd = a @ a.T + 5 * np.eye(5)
    np.testing.assert_array_equal(check_positive_definite(spd, "noise"), spd)
    with pytest.raises(ValueError, match="noise must be positive definite; smallest eigenvalue -1"):
        check_positive_definite(-np.eye(3), "noise")
    low_rank = a[:, :2] @ a[:, :2].T
    with pytest.raises(ValueError, match="noise must be positive definite"):
        check_positive_definite(low_rank, "noise")
    with pytest.raises(ValueError, match="noise must be symmetric"):
        check_positive_definite(spd + np.triu(np.ones((5, 5)), 1), "noise")


def test_check_allocation_refuses_before_allocating():
    check_allocation(1e3, "n")
    with pytest.raises(MemoryError, match=r"bin_width would need .* GiB for the binned counts"):
        check_allocation(1e15, "bin_width", what="binned counts")


def test_transposed_timeseries_warns_only_when_asked():
    x = np.random.default_rng(1).normal(size=(5, 20))
    with pytest.warns(LayoutWarning, match=r"X has 5 timepoints and 20 units.*transposed"):
        check_timeseries(x, "X", warn_transposed=True)
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        check_timeseries(x, "X")
        check_timeseries(x.T, "X", warn_transposed=True)


@pytest.mark.parametrize("labels, err, match", [
    (np.array([1 + 1j, 2 + 0j, 1 + 1j]), TypeError, "regions must hold class labels .* complex"),
    (np.array([0.0, np.inf, 0.0]), ValueError, "regions must not contain Inf labels"),
    (np.array([0, None, 1], dtype=object), ValueError, "regions must not contain None labels"),
    (np.array([0, "a", 1], dtype=object), TypeError, "regions must hold labels of one comparable type"),
])
def test_check_labels_refuses_unusable_labels(labels, err, match):
    with pytest.raises(err, match=match):
        check_labels(labels, "regions")


def test_layout_warnings_point_at_the_callers_line_whatever_the_depth():
    """One mechanism (``caller_stacklevel``) for every LayoutWarning: the warning names the
    user's line, also through fit's thread-policy decorator and nested checks."""
    from neurodyn.connectome import DynamicConnectome
    from neurodyn.glm import PoissonGLM
    from neurodyn.rnn import autocorrelation

    rng = np.random.default_rng(0)
    wide = rng.poisson(0.5, size=(40, 60)).astype(float)
    calls = [
        lambda: check_timeseries(wide, "X", warn_transposed=True),
        lambda: autocorrelation(rng.normal(size=(30, 40)), max_lag=5),
        lambda: PoissonGLM(n_lags=2, max_iter=2, device="cpu").fit(wide),
        lambda: DynamicConnectome(n_components=2, n_restarts=1, max_iter=2, window=10, step=10,
                                  device="cpu").fit(rng.normal(size=(2, 30, 40)).cumsum(1)),
    ]
    for call in calls:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            try:
                call()
            except ValueError:
                pass  # tiny fits may refuse; the warning comes first
        layout = [w for w in caught if issubclass(w.category, LayoutWarning)]
        assert layout, "no LayoutWarning"
        assert layout[0].filename == __file__, layout[0].filename


def test_other_warnings_point_at_the_callers_line():
    """ConvergenceWarning from decorated fits, constant-column, tie and RDM-layout warnings name
    the user's line, not contextlib's or neurodyn's."""
    from sklearn.exceptions import ConvergenceWarning

    from neurodyn.compare import pearson_r_columns
    from neurodyn.compare.encoding import ConstantColumnWarning
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import PoissonGLM, StateSwitchingGLM
    from neurodyn.graph import FunctionalGraph
    from neurodyn.rsa import compare_rdms

    rng = np.random.default_rng(0)
    counts = hmm_glm(n_neurons=4, n_states=2, n_timepoints=300, n_trials=2, random_state=0).counts
    const = np.column_stack([rng.normal(size=20), np.ones(20)])
    sym = rng.random((6, 6))  # read as 6 RDM vectors of 6 pairs (4 conditions)
    sym = sym + sym.T + 1.0
    calls = [
        (ConvergenceWarning, lambda: PoissonGLM(n_lags=2, max_iter=1, device="cpu").fit(counts)),
        (ConvergenceWarning, lambda: StateSwitchingGLM(n_states=2, n_init=1, max_iter=1,
                                                       device="cpu").fit(counts)),
        (ConstantColumnWarning, lambda: pearson_r_columns(const, rng.normal(size=(20, 2)))),
        (UserWarning, lambda: FunctionalGraph(density=1e-6).fit(rng.normal(size=(50, 6)))),
        (LayoutWarning, lambda: compare_rdms(sym, sym)),
    ]
    for category, call in calls:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            call()
        hits = [w for w in caught if issubclass(w.category, category)]
        assert hits, f"no {category.__name__}"
        assert hits[0].filename == __file__, (category.__name__, hits[0].filename)
