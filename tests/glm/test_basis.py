import numpy as np
import pytest
import torch

from neurodyn.glm import exp_basis, history_features, raised_cosine_basis


def test_exp_basis_matches_paper_values():
    # decay 1, 5 lags over a span of 5 (values quoted in the paper's demo code)
    phi = exp_basis(decay=1.0, window_size=5, time_span=5.0)
    np.testing.assert_allclose(phi[0], [0.6364, 0.2341, 0.0861, 0.0317, 0.0117], atol=5e-5)
    assert phi.shape == (1, 5)
    # integrates to one: dt * sum(phi) = 1
    np.testing.assert_allclose(phi.sum() * 5.0 / 5, 1.0)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"decay": -1.0}, ValueError, r"decay must be in \[0, inf\); got -1.0"),
    ({"decay": np.nan}, ValueError, "decay must be a number; got NaN"),
    ({"decay": np.inf}, ValueError, "decay must be in"),
    ({"decay": "1"}, TypeError, "decay must be a real number"),
    ({"decay": 1 + 1j}, TypeError, "decay must be a real number"),
    ({"window_size": 0}, ValueError, "window_size must be >= 1"),
    ({"window_size": 2.5}, TypeError, "window_size must be an integer"),
    ({"window_size": 10**15}, MemoryError, "window_size would need"),
    ({"time_span": 0.0}, ValueError, r"time_span must be in \(0, inf\)"),
    ({"time_span": -np.inf}, ValueError, "time_span must be in"),
    ({"time_span": 1e-320}, ValueError, "time_span=1e-320 over window_size=5"),
])
def test_exp_basis_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        exp_basis(**kwargs)


@pytest.mark.parametrize("decay", [0.0, 0.3, 5.0, 1000.0, 1e300])
def test_exp_basis_is_finite_and_normalised_for_any_decay(decay):
    # reference: the textbook formula in log space, exp(-decay t_l - logsumexp_j(-decay t_j)) / dt
    window, span = 6, 3.0
    dt = span / window
    log_k = -decay * dt * np.arange(1, window + 1)
    ref = np.exp(log_k - np.logaddexp.reduce(log_k)) / dt
    phi = exp_basis(decay=decay, window_size=window, time_span=span)
    assert np.isfinite(phi).all()
    np.testing.assert_allclose(phi[0], ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(phi.sum() * dt, 1.0, rtol=1e-12)


def test_raised_cosine_basis_rows_sum_to_one_and_tile_the_window():
    basis = raised_cosine_basis(n_basis=4, window_size=12)
    assert basis.shape == (4, 12)
    np.testing.assert_allclose(basis.sum(1), 1.0)
    assert (basis >= 0).all()
    # every lag is covered by at least one bump; peaks move later with the index
    assert (basis.sum(0) > 0).all()
    assert np.all(np.diff(basis.argmax(1)) > 0)


def test_history_features_match_explicit_loop():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, size=(3, 40, 4)).astype(float)
    basis = rng.random((2, 6))
    feats = history_features(torch.as_tensor(counts), torch.as_tensor(basis)).numpy()
    ref = np.zeros((3, 40, 4, 2))
    for b in range(3):
        for t in range(40):
            for lag in range(1, 7):
                if t - lag >= 0:
                    ref[b, t] += counts[b, t - lag][:, None] * basis[:, lag - 1][None, :]
    np.testing.assert_allclose(feats, ref.reshape(3, 40, 8), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"n_basis": 0}, ValueError, "n_basis must be >= 1"),
    ({"n_basis": 5, "window_size": 3}, ValueError, "n_basis must be <= window_size"),
    ({"n_basis": 40, "window_size": 40}, ValueError, r"n_basis=40 is too many for window_size=40"),
    ({"n_basis": 12, "window_size": 12}, ValueError, "linearly dependent"),
    ({"window_size": -2}, ValueError, "window_size must be >= 1"),
    ({"log_offset": 0.0}, ValueError, "log_offset must be in"),
    ({"log_offset": np.nan}, ValueError, "log_offset must be a number; got NaN"),
    ({"log_offset": 1e300}, ValueError, "log_offset=1e[+]300 is too large"),
    ({"n_basis": "3"}, TypeError, "n_basis must be an integer"),
])
def test_raised_cosine_basis_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        raised_cosine_basis(**kwargs)


@pytest.mark.parametrize("n_basis,window", [(2, 2), (5, 8), (8, 30), (6, 10)])
def test_raised_cosine_basis_accepted_sizes_are_finite_and_normalised(n_basis, window):
    basis = raised_cosine_basis(n_basis=n_basis, window_size=window)
    assert np.isfinite(basis).all() and (basis >= 0).all()
    np.testing.assert_allclose(basis.sum(1), 1.0)
    assert np.linalg.matrix_rank(basis) == n_basis


def test_history_features_accept_numpy_and_2d_counts():
    rng = np.random.default_rng(1)
    counts = rng.poisson(1.0, size=(2, 30, 3)).astype(float)
    basis = rng.random((2, 4))
    ref = history_features(torch.as_tensor(counts), torch.as_tensor(basis)).numpy()
    out = history_features(counts, basis)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_allclose(history_features(counts[1], basis), ref[1], rtol=1e-12)
    # integer counts are computed in float64
    np.testing.assert_allclose(history_features(counts.astype(int), basis), ref, rtol=1e-12)


@pytest.mark.parametrize("counts,basis,exc,match", [
    (np.ones(10), np.ones((1, 3)), ValueError, "counts must be 2-D or 3-D"),
    (np.ones((2, 10, 3)), np.ones(3), ValueError, "basis must be 2-D"),
    (np.full((10, 3), np.nan), np.ones((1, 3)), ValueError, "counts must be finite"),
    (np.ones((10, 3)), np.array([[1.0, np.inf]]), ValueError, "basis must be finite"),
    (np.ones((10, 3), dtype=complex), np.ones((1, 3)), TypeError, "counts must be real"),
    (np.ones((0, 3)), np.ones((1, 3)), ValueError, "counts is empty"),
    ([["a", "b"]], np.ones((1, 3)), TypeError, "counts must be a numeric array"),
    (torch.ones(10, 3, dtype=torch.complex64), np.ones((1, 3)), TypeError, "counts must be real"),
])
def test_history_features_bad_input(counts, basis, exc, match):
    with pytest.raises(exc, match=match):
        history_features(counts, basis)
