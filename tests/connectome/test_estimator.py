"""DynamicConnectome: estimator contract, planted recovery on simulated data, bad input."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from neurodyn.connectome import DynamicConnectome, affinity_tensor, factor_match_score
from neurodyn.connectome.affinity import pairs_to_matrix
from neurodyn.datasets.simulate import dynamic_connectome, planted_connectome_factors


@pytest.fixture(scope="module")
def small_sim():
    return dynamic_connectome(4, 20, 600, community_sizes=(6, 5), windows=((100, 300), (350, 550)),
                              animals=((0, 1, 2), (1, 2, 3)), random_state=1)


@pytest.fixture(scope="module")
def fitted(small_sim):
    return DynamicConnectome(3, n_restarts=4, random_state=0, device="cpu").fit(small_sim["traces"])


def test_planted_recovery_small(small_sim, fitted):
    truth = planted_connectome_factors(small_sim["membership"], small_sim["windows"],
                                       small_sim["animals"], 600)
    score, match = factor_match_score(truth, fitted.to_cptensor(), return_permutation=True)
    assert score >= 0.85
    for c in range(2):
        r = match[c]
        planted = small_sim["membership"] == c
        assert adjusted_rand_score(planted, fitted.motif_nodes_[r]) == 1.0
        # time factor peaks inside the planted window, animal factor is ~0 outside the subset
        t0, t1 = small_sim["windows"][c]
        peak = fitted.window_starts_[np.argmax(fitted.time_factors_[:, r])]
        assert t0 - 40 <= peak <= t1
        outside = ~small_sim["animals"][c]
        assert fitted.animal_factors_[outside, r].max() <= 0.2 * fitted.animal_factors_[:, r].max()


def test_contract_attributes_and_shapes(small_sim, fitted):
    est = DynamicConnectome(3, n_restarts=4, random_state=0, device="cpu")
    assert est.get_params()["n_components"] == 3 and clone(est).get_params() == est.get_params()
    assert not any(k.endswith("_") for k in vars(est))
    assert est.fit(small_sim["traces"]) is est
    n_pairs, n_windows = 190, (600 - 40) // 20 + 1
    assert fitted.pair_factors_.shape == (n_pairs, 3)
    assert fitted.time_factors_.shape == (n_windows, 3)
    assert fitted.animal_factors_.shape == (4, 3)
    for name in ("pair_factors_", "time_factors_", "animal_factors_", "weights_", "errors_",
                 "restart_errors_", "affinity_tensor_"):
        assert isinstance(getattr(fitted, name), np.ndarray), name
    assert len(fitted.communities_) == 3 and fitted.communities_[0].shape == (20,)
    np.testing.assert_array_equal(fitted.pairs_[0], np.triu_indices(20, 1)[0])
    m = fitted.component_matrix(1)
    np.testing.assert_array_equal(m, pairs_to_matrix(fitted.pair_factors_[:, 1]))
    rel = np.linalg.norm(fitted.affinity_tensor_ - fitted.reconstruct()) / np.linalg.norm(fitted.affinity_tensor_)
    assert abs(rel - fitted.reconstruction_error_) < 1e-9


def test_determinism_bit_identical(small_sim, fitted):
    again = DynamicConnectome(3, n_restarts=4, random_state=0, device="cpu").fit(small_sim["traces"])
    for name in ("pair_factors_", "time_factors_", "animal_factors_", "weights_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fitted, name))


def test_precomputed_equals_traces(small_sim, fitted):
    X = affinity_tensor(small_sim["traces"], device="cpu")
    pre = DynamicConnectome(3, affinity="precomputed", n_restarts=4, random_state=0,
                            device="cpu").fit(X)
    np.testing.assert_allclose(pre.pair_factors_, fitted.pair_factors_, atol=1e-12)


def test_missing_neuron_is_masked(small_sim):
    traces = small_sim["traces"].copy()
    traces[0, :, 3] = np.nan
    est = DynamicConnectome(3, n_restarts=2, max_iter=50, random_state=0, device="cpu").fit(traces)
    rows, cols = np.triu_indices(20, 1)
    assert est.mask_.shape == (190, 1, 4)
    np.testing.assert_array_equal(est.mask_[:, 0, 0], (rows != 3) & (cols != 3))
    np.testing.assert_array_equal(traces[1:], small_sim["traces"][1:])  # input left alone


def test_one_animal_is_supported(small_sim):
    """Documented behaviour: a single animal gives an animal mode of size one."""
    est = DynamicConnectome(2, n_restarts=2, max_iter=50, random_state=0,
                            device="cpu").fit(small_sim["traces"][:1])
    assert est.animal_factors_.shape == (1, 2)
    np.testing.assert_allclose(est.animal_factors_, 1.0)


def test_rank_sweep_small(fitted):
    sweep = fitted.rank_sweep(range(1, 6), n_restarts=3, max_iter=200)
    assert sweep["errors"].shape == (5, 3)
    assert np.all(np.diff(sweep["best_errors"]) < 0)
    # the rank-3 sweep reaches the fitted model's error (same tensor, same rank)
    assert abs(sweep["best_errors"][2] - fitted.reconstruction_error_) < 1e-3
    assert np.all((sweep["stability"] > 0) & (sweep["stability"] <= 1 + 1e-12))
    assert sweep["elbow_rank"] in range(2, 5)
    assert fitted.rank_sweep_ is sweep


def test_estimator_errors(small_sim):
    traces = small_sim["traces"]
    with pytest.raises(NotFittedError):
        DynamicConnectome().component_matrix(0)
    with pytest.raises(ValueError, match="window=700 is longer than the recording"):
        DynamicConnectome(window=700, device="cpu").fit(traces)
    with pytest.raises(ValueError, match="affinity must be one of"):
        DynamicConnectome(affinity="mutual_info", device="cpu").fit(traces)
    with pytest.raises(ValueError, match="mask is only accepted with affinity='precomputed'"):
        DynamicConnectome(device="cpu").fit(traces, mask=np.ones((190, 1, 4), bool))
    with pytest.raises(ValueError, match="X must be non-negative"):
        DynamicConnectome(affinity="precomputed", device="cpu").fit(-np.ones((190, 5, 2)))
    with pytest.raises(ValueError, match=r"X's pair mode \(axis 0\) has 7 entries"):
        DynamicConnectome(affinity="precomputed", device="cpu").fit(np.ones((7, 5, 2)))
    with pytest.raises(ValueError, match="community_method must be one of"):
        DynamicConnectome(community_method="leiden", device="cpu").fit(traces)
    with pytest.raises(ValueError, match="n_components=500 is larger than the data supports"):
        DynamicConnectome(500, n_restarts=1, device="cpu").fit(traces[:, :100])
    est = DynamicConnectome(2, n_restarts=1, max_iter=5, device="cpu").fit(traces)
    with pytest.raises(ValueError, match=r"component must be an integer in \[0, 2\)"):
        est.component_matrix(2)


def test_sbm_community_method(small_sim, fitted):
    est = DynamicConnectome(3, n_restarts=4, community_method="sbm", random_state=0,
                            device="cpu").fit(small_sim["traces"])
    truth = planted_connectome_factors(small_sim["membership"], small_sim["windows"],
                                       small_sim["animals"], 600)
    _, match = factor_match_score(truth, est.to_cptensor(), return_permutation=True)
    for c in range(2):
        assert adjusted_rand_score(small_sim["membership"] == c, est.communities_[match[c]]) == 1.0
    # factors do not depend on the community method
    np.testing.assert_array_equal(est.pair_factors_, fitted.pair_factors_)


def test_neuron_labels_align_animals(small_sim):
    traces = small_sim["traces"]
    names = [f"n{i}" for i in range(20)]
    keep0 = [i for i in range(20) if i != 3]
    perm1 = np.random.default_rng(0).permutation(20)
    per_animal = [traces[0][:, keep0], traces[1][:, perm1], traces[2], traces[3]]
    labels = [[names[i] for i in keep0], [names[i] for i in perm1], names, names]
    est = DynamicConnectome(3, n_restarts=2, max_iter=30, random_state=0, device="cpu")
    est.fit(per_animal, neuron_labels=labels)
    order = keep0 + [3]  # union in order of first appearance
    np.testing.assert_array_equal(est.neuron_labels_, [names[i] for i in order])
    expected = traces[:, :, order].copy()
    expected[0, :, -1] = np.nan
    ref = DynamicConnectome(3, n_restarts=2, max_iter=30, random_state=0, device="cpu").fit(expected)
    np.testing.assert_array_equal(est.pair_factors_, ref.pair_factors_)
    np.testing.assert_array_equal(est.mask_, ref.mask_)
    with pytest.raises(ValueError, match="neuron_labels has 3 entries but there are 4 animals"):
        est.fit(per_animal, neuron_labels=labels[:3])
    with pytest.raises(ValueError, match=r"neuron_labels\[2\] has duplicate labels"):
        est.fit(per_animal, neuron_labels=labels[:2] + [names[:-1] + ["n0"], names])
