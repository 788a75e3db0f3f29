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


def test_exp_basis_rejects_bad_arguments():
    with pytest.raises(ValueError, match="decay"):
        exp_basis(decay=-1.0)
    with pytest.raises(ValueError, match="window_size"):
        exp_basis(window_size=0)
    with pytest.raises(ValueError, match="time_span"):
        exp_basis(time_span=0.0)


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
