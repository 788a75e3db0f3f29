import numpy as np

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import StateSwitchingGLM, select_n_states


def test_select_n_states_prefers_the_true_number_of_states():
    d = hmm_glm(n_neurons=6, n_states=2, n_timepoints=800, n_trials=4, sparsity=0.5,
                random_state=1)
    template = StateSwitchingGLM(link="sigmoid", random_state=0, max_iter=15, device="cpu")
    res = select_n_states(template, d.counts[:3], d.counts[3:], n_states=(1, 2))
    assert res["best_by_test"] == 2
    assert res["best_by_bic"] == 2
    n_bins = 3 * 800
    # BIC = -2 LL + k log n, with k counting couplings, shared biases and transitions
    np.testing.assert_array_equal(res["n_parameters"], [36 + 6, 72 + 6 + 2])
    np.testing.assert_allclose(res["bic"], -2 * res["train_log_likelihood"]
                               + res["n_parameters"] * np.log(n_bins))
    for model, k in zip(res["models"], (1, 2), strict=True):
        assert model.n_states == k
        np.testing.assert_allclose(model.score(d.counts[3:]),
                                   res["test_log_likelihood"][k - 1])
