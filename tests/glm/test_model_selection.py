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


def test_select_n_states_checks_its_arguments_before_fitting(monkeypatch):
    import pytest

    import neurodyn.glm._selection as selection

    def no_fit(*args, **kwargs):
        raise AssertionError("an estimator was cloned before the arguments were checked")

    monkeypatch.setattr(selection, "clone", no_fit)
    X = np.random.default_rng(0).poisson(1.0, (40, 3))
    template = StateSwitchingGLM(device="cpu")
    cases = [
        (dict(estimator=object()), TypeError, "estimator must be a StateSwitchingGLM"),
        (dict(n_states="12"), TypeError, "n_states must be a sequence of positive integers"),
        (dict(n_states=()), ValueError, "n_states must list at least one"),
        (dict(n_states=(1, 0)), ValueError, "n_states must be >= 1"),
        (dict(n_states=(1, 2.5)), TypeError, "n_states must be an integer"),
        (dict(n_states=(2, 9)), ValueError, "n_states=9 is more than X_train can support"),
        (dict(X_test=np.ones((40, 4))), ValueError, "X_test has 4 neurons and X_train 3"),
        (dict(X_test=np.full((40, 3), np.nan)), ValueError, "X_test must be finite"),
        (dict(X_train=-X), ValueError, "X_train must be non-negative"),
    ]
    for kwargs, exc, match in cases:
        args = dict(estimator=template, X_train=X, X_test=X, n_states=(1, 2))
        args.update(kwargs)
        with pytest.raises(exc, match=match):
            select_n_states(**args)


def test_select_n_states_in_parallel_equals_serial():
    import pytest
    from joblib import parallel_config

    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=300, n_trials=3, random_state=2)
    template = StateSwitchingGLM(random_state=0, max_iter=4, n_init=1, device="cpu")
    serial = select_n_states(template, d.counts[:2], d.counts[2:], n_states=(1, 2, 3))
    runs = [select_n_states(template, d.counts[:2], d.counts[2:], n_states=(1, 2, 3), n_jobs=2)]
    with parallel_config(backend="threading"):
        runs.append(select_n_states(template, d.counts[:2], d.counts[2:], n_states=(1, 2, 3), n_jobs=2))
    for res in runs:
        for key in ("test_log_likelihood", "test_bits_per_spike", "train_log_likelihood", "bic"):
            np.testing.assert_array_equal(res[key], serial[key])
        for a, b in zip(res["models"], serial["models"], strict=True):
            np.testing.assert_array_equal(a.coupling_, b.coupling_)
    with pytest.raises(ValueError, match="n_jobs must be None, a positive integer"):
        select_n_states(template, d.counts[:2], d.counts[2:], n_states=(1, 2), n_jobs=0)
