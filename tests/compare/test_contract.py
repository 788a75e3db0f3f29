"""The scikit-learn estimator contract, checked by hand (inputs are pairs of representations)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from neurodyn.compare import RBFCKA, EncodingModel, LinearCKA, ShapeMetric
from neurodyn.rnn.fit_dynamics import DynamicsRNN

ESTIMATORS = [
    LinearCKA(debiased=True, device="cpu"),
    RBFCKA(sigma_scale=0.7),
    ShapeMetric(alpha=0.3, score_method="euclidean"),
    EncodingModel(alphas=[0.1, 10.0], cv=3, random_state=1),
]


@pytest.mark.parametrize("est", ESTIMATORS + [DynamicsRNN(n_units=5, n_epochs=2, seq_len=4)],
                         ids=lambda e: type(e).__name__)
def test_init_stores_params_and_clone_round_trips(est):
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params() == params
    assert not any(k.endswith("_") for k in vars(twin))


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fit_returns_self_leaves_inputs_alone_and_is_deterministic(est):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 5))
    Y = X @ rng.standard_normal((5, 4)) + rng.standard_normal((24, 4))
    X0, Y0 = X.copy(), Y.copy()
    with pytest.raises(NotFittedError):
        clone(est).score(X, Y)
    fitted = clone(est)
    assert fitted.fit(X, Y) is fitted
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    again = clone(est).fit(X, Y)
    assert fitted.score(X, Y) == again.score(X, Y)


def test_dynamics_rnn_seeded_fit_is_reproducible():
    rng = np.random.default_rng(1)
    X = np.cumsum(rng.standard_normal((60, 3)), axis=0)
    a = DynamicsRNN(n_units=6, n_epochs=5, seq_len=8, random_state=3).fit(X)
    b = DynamicsRNN(n_units=6, n_epochs=5, seq_len=8, random_state=3).fit(X)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    np.testing.assert_array_equal(a.simulate(20, x0=X[0]), b.simulate(20, x0=X[0]))


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_n_features_in_is_set_by_fit(est):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((24, 5))
    Y = X @ rng.standard_normal((5, 3)) + rng.standard_normal((24, 3))
    assert not hasattr(clone(est), "n_features_in_")
    assert clone(est).fit(X, Y).n_features_in_ == 5


def test_dynamics_rnn_fit_takes_y_second_and_inputs_by_keyword():
    import inspect

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    sig = inspect.signature(DynamicsRNN.fit)
    params = list(sig.parameters.values())
    assert [p.name for p in params[:3]] == ["self", "X", "y"]
    assert sig.parameters["inputs"].kind is inspect.Parameter.KEYWORD_ONLY
    rng = np.random.default_rng(4)
    X = np.cumsum(rng.standard_normal((60, 3)), axis=0)
    est = DynamicsRNN(n_units=6, n_epochs=3, seq_len=8, random_state=0)
    # a pipeline hands y (here a label vector) to fit; it must not be read as external inputs
    pipe = make_pipeline(FunctionTransformer(), est).fit(X, np.arange(60))
    fitted = pipe[-1]
    assert fitted.n_features_in_ == 3 and fitted.n_inputs_ == 0
    ref = DynamicsRNN(n_units=6, n_epochs=3, seq_len=8, random_state=0).fit(X)
    np.testing.assert_array_equal(fitted.loss_curve_, ref.loss_curve_)
    with pytest.raises(TypeError):
        DynamicsRNN(n_units=6, n_epochs=1, seq_len=8).fit(X, None, np.zeros((60, 1)))
    withu = DynamicsRNN(n_units=6, n_epochs=2, seq_len=8, random_state=0).fit(
        X, inputs=rng.standard_normal((60, 2)))
    assert withu.n_inputs_ == 2
    assert np.isfinite(withu.score(X, inputs=rng.standard_normal((60, 2))))
