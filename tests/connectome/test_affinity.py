"""Affinity tensor and pair helpers against slow numpy loop references."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from neurodyn.connectome.affinity import (
    affinity_tensor,
    matrix_to_pairs,
    n_nodes_from_pairs,
    pairs_to_matrix,
)


@pytest.fixture
def traces():
    """(n_animals=3, n_timepoints=90, n_units=7), the package layout."""
    rng = np.random.default_rng(3)
    return rng.standard_normal((3, 90, 7)).cumsum(axis=1)


def _loop_reference(traces, kind, window, step, sigma):
    """One window, one animal, one pair at a time; traces (animals, time, units)."""
    n_animals, n_time, n_nodes = traces.shape
    smooth = gaussian_filter1d(traces, sigma, axis=1) if sigma > 0 else traces
    sig = smooth if kind == "corr" else np.gradient(smooth, axis=1)
    if kind == "derivative_product":
        sig = sig / sig.std(axis=1, keepdims=True)
    starts = range(0, n_time - window + 1, step)
    pairs = [(i, j) for i in range(n_nodes) for j in range(i + 1, n_nodes)]
    out = np.zeros((len(pairs), len(starts), n_animals))
    for w in range(n_animals):
        for k, t0 in enumerate(starts):
            seg = sig[w, t0:t0 + window].T  # (units, window)
            for p, (i, j) in enumerate(pairs):
                if kind == "derivative_product":
                    out[p, k, w] = np.mean(np.maximum(0.0, seg[i] * seg[j]))
                else:
                    out[p, k, w] = max(0.0, np.corrcoef(seg[i], seg[j])[0, 1])
    return out


@pytest.mark.parametrize("kind", ["derivative_corr", "derivative_product", "corr"])
def test_affinity_matches_loop_reference(traces, kind):
    got = affinity_tensor(traces, kind, window=20, step=7, smooth_sigma=1.5, device="cpu")
    ref = _loop_reference(traces, kind, 20, 7, 1.5)
    assert got.shape == ref.shape == (21, 11, 3)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_affinity_blocks_do_not_change_result(traces):
    whole = affinity_tensor(traces, window=20, step=7, device="cpu")
    for block in (1, 3, 50):
        np.testing.assert_allclose(affinity_tensor(traces, window=20, step=7, block_size=block,
                                                   device="cpu"), whole, rtol=0, atol=1e-14)
    prod = affinity_tensor(traces, "derivative_product", window=5, step=5, device="cpu")
    np.testing.assert_allclose(affinity_tensor(traces, "derivative_product", window=5, step=5,
                                               block_size=2, device="cpu"), prod, atol=1e-14)


def test_affinity_contracts(traces):
    X = affinity_tensor(traces, window=20, step=10, device="cpu")
    assert X.min() >= 0.0 and X.max() <= 1.0 + 1e-12
    mats = pairs_to_matrix(np.moveaxis(X, 0, -1))  # (K, W, N, N)
    np.testing.assert_array_equal(mats, np.swapaxes(mats, -1, -2))
    assert np.all(np.diagonal(mats, axis1=-2, axis2=-1) == 0)
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 3.0, size=(3, 1, 7))
    shift = rng.normal(size=(3, 1, 7)) * 10
    X2 = affinity_tensor(traces * scale + shift, window=20, step=10, device="cpu")
    assert np.abs(X2 - X).max() < 1e-10


def test_affinity_callable_equals_rectified_corr(traces):
    def rect_corr(seg):
        assert seg.shape == (20, 7)  # (window, units): the package layout
        c = np.clip(np.corrcoef(seg, rowvar=False), 0, None)
        np.fill_diagonal(c, 0.0)
        return c

    got = affinity_tensor(traces, rect_corr, window=20, step=10, device="cpu")
    ref = affinity_tensor(traces, "corr", window=20, step=10, device="cpu")
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_affinity_does_not_modify_input(traces):
    before = traces.copy()
    affinity_tensor(traces, window=20, step=10, device="cpu")
    np.testing.assert_array_equal(traces, before)


def test_missing_neuron_becomes_mask(traces):
    full = affinity_tensor(traces, window=20, step=10, device="cpu")
    gappy = traces.copy()
    gappy[1, :, 2] = np.nan
    X, mask = affinity_tensor(gappy, window=20, step=10, return_mask=True, device="cpu")
    rows, cols = np.triu_indices(7, 1)
    involved = (rows == 2) | (cols == 2)
    assert mask.shape == (21, 1, 3)
    np.testing.assert_array_equal(mask[:, 0, 1], ~involved)
    assert mask[:, 0, [0, 2]].all()
    assert np.all(X[involved, :, 1] == 0)
    np.testing.assert_allclose(X[~involved], full[~involved], atol=1e-12)
    np.testing.assert_allclose(X[:, :, [0, 2]], full[:, :, [0, 2]], atol=1e-12)


def test_list_input_equals_array(traces):
    a = affinity_tensor(traces, window=20, step=10, device="cpu")
    b = affinity_tensor(list(traces), window=20, step=10, device="cpu")
    np.testing.assert_array_equal(a, b)


def test_pairs_roundtrip_exact_and_order():
    rng = np.random.default_rng(1)
    m = rng.random((6, 6))
    m = m + m.T
    np.fill_diagonal(m, 0)
    v = matrix_to_pairs(m)
    ref = [m[i, j] for i in range(6) for j in range(i + 1, 6)]
    np.testing.assert_array_equal(v, ref)
    np.testing.assert_array_equal(pairs_to_matrix(v), m)
    batch = np.stack([m, 2 * m])
    np.testing.assert_array_equal(pairs_to_matrix(matrix_to_pairs(batch)), batch)
    assert n_nodes_from_pairs(1770) == 60


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(window=200), "window=200 is longer than the recording"),
        (dict(affinity="spearman"), "affinity must be one of"),
        (dict(smooth_sigma=-1.0), r"smooth_sigma must be in \[0, inf\); got -1.0"),
        (dict(step=0), r"step must be in \[1, inf\); got 0"),
    ],
)
def test_affinity_parameter_errors(traces, kwargs, match):
    with pytest.raises(ValueError, match=match):
        affinity_tensor(traces, **kwargs)


def test_affinity_input_errors(traces):
    bad = traces.copy()
    bad[0, 5, 1] = np.nan
    with pytest.raises(ValueError, match="partly NaN trace"):
        affinity_tensor(bad, window=20)
    bad = traces.copy()
    bad[2, 0, 3] = np.inf
    with pytest.raises(ValueError, match="traces must not contain Inf"):
        affinity_tensor(bad, window=20)
    bad = traces.copy()
    bad[1, :, 4] = 3.0
    with pytest.raises(ValueError, match=r"constant \(zero-variance\) trace.*animal 1, neuron 4"):
        affinity_tensor(bad, window=20)
    bad = traces.copy()
    bad[:, :, 0] = np.nan
    with pytest.raises(ValueError, match="neuron 0 is missing"):
        affinity_tensor(bad, window=20)
    with pytest.raises(ValueError, match=r"traces must be 2-D or 3-D \(n_timepoints, n_units\) or "
                                         r"\(n_animals, n_timepoints, n_units\); got shape \(3, 90, 7, 1\)"):
        affinity_tensor(traces[..., None], window=20)
    with pytest.raises(ValueError, match="same neurons"):
        affinity_tensor([traces[0], traces[1, :, :5]], window=20)
    with pytest.raises(ValueError, match="same number of timepoints"):
        affinity_tensor([traces[0], traces[1, :80]], window=20)
    with pytest.raises(ValueError, match="traces is empty"):
        affinity_tensor([], window=20)
    with pytest.raises(ValueError, match=r"pairs \(last axis\) has 5 entries"):
        pairs_to_matrix(np.ones(5))
