"""Every public callable of neurodyn.glm against awkward inputs.

The registry below lists, for each name in ``neurodyn.glm.__all__``, the calls to
sweep: a function of one argument (the argument under test) and its valid value.
Each awkward variant must either raise a ValueError/TypeError/MemoryError whose
message names the argument, or return finite values. A public name without a
registry entry fails the test, so new functions are swept automatically.
"""

import functools
import warnings

import numpy as np
import pytest
import torch

import neurodyn.glm as glm
from neurodyn.datasets.simulate import hmm_glm


@functools.lru_cache(maxsize=None)
def _data():
    return hmm_glm(n_neurons=4, n_states=2, n_timepoints=150, n_trials=2, random_state=0)


@functools.lru_cache(maxsize=None)
def _models():
    d = _data()
    sw = glm.StateSwitchingGLM(n_states=2, max_iter=2, random_state=0, device="cpu").fit(d.counts)
    pg = glm.PoissonGLM(max_iter=30, device="cpu").fit(d.counts)
    return sw, pg


def _hmm_args():
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, 6, 3)), np.log(np.full((3, 3), 1 / 3)), np.log(np.full(3, 1 / 3))


def _registry():
    d = _data()
    sw, pg = _models()
    em, A, pi = _hmm_args()
    X = d.counts
    hmm = {}
    for name in ("forward_backward", "forward_backward_scan", "viterbi", "log_marginal_likelihood",
                 "filtered_probabilities", "predicted_probabilities"):
        fn = getattr(glm, name)
        hmm[name] = [
            ("log_emission", lambda v, fn=fn: fn(v, A, pi), em),
            ("log_transition", lambda v, fn=fn: fn(em, v, pi), A),
            ("log_initial", lambda v, fn=fn: fn(em, A, v), pi),
        ]
    fit_sw = lambda v: glm.StateSwitchingGLM(n_states=2, max_iter=2, device="cpu").fit(v)  # noqa: E731
    return {
        **hmm,
        "PoissonGLM": [
            ("X", lambda v: glm.PoissonGLM(max_iter=20, device="cpu").fit(v), X),
            ("X", pg.score, X), ("X", pg.predict_rate, X), ("X", pg.log_likelihood, X),
            ("X", pg.bits_per_spike, X),
        ],
        "StateSwitchingGLM": [
            ("X", fit_sw, X), ("X", sw.predict, X), ("X", sw.predict_proba, X), ("X", sw.score, X),
            ("X", sw.log_likelihood, X), ("X", sw.bits_per_spike, X),
            ("coupling", lambda v: glm.StateSwitchingGLM(n_states=2, device="cpu").set_parameters(
                v, d.bias, d.transition_matrix).log_likelihood(X), d.coupling),
            ("intercept", lambda v: glm.StateSwitchingGLM(n_states=2, device="cpu").set_parameters(
                d.coupling, v, d.transition_matrix).log_likelihood(X), d.bias),
            ("transition_matrix", lambda v: glm.StateSwitchingGLM(n_states=2, device="cpu")
             .set_parameters(d.coupling, d.bias, v).log_likelihood(X), d.transition_matrix),
        ],
        "exp_basis": [("decay", lambda v: glm.exp_basis(decay=v), 1.0),
                      ("time_span", lambda v: glm.exp_basis(time_span=v), 5.0)],
        "raised_cosine_basis": [("log_offset", lambda v: glm.raised_cosine_basis(log_offset=v), 1.0)],
        "history_features": [("counts", lambda v: glm.history_features(v, np.ones((1, 3))), X),
                             ("basis", lambda v: glm.history_features(X, v), np.ones((1, 3)))],
        "align_states": [("reference", lambda v: glm.align_states(v, d.states), d.states),
                         ("states", lambda v: glm.align_states(d.states, v), d.states)],
        "state_accuracy": [("reference", lambda v: glm.state_accuracy(v, d.states), d.states)],
        "adjacency_classes": [("coupling", glm.adjacency_classes, d.coupling),
                              ("threshold", lambda v: glm.adjacency_classes(d.coupling, v), 0.2)],
        "select_n_states": [("X_test", lambda v: glm.select_n_states(
            glm.StateSwitchingGLM(max_iter=1, device="cpu"), X, v, n_states=(1,)), X)],
        "fit_sessions": [("sessions", lambda v: glm.fit_sessions(
            glm.PoissonGLM(max_iter=20, device="cpu"), v), X)],
    }


def _first(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


VARIANTS = {
    "nan": _first,
    "inf": lambda a: np.where(np.arange(np.size(a)).reshape(np.shape(a)) == 0, np.inf, a),
    "empty": lambda a: np.asarray(a)[:0] if np.ndim(a) else np.array([]),
    "wrong_ndim": lambda a: np.asarray(a)[None, None],
    "complex": lambda a: np.asarray(a) + 1j,
    "strings": lambda a: np.asarray(a).astype(str),
    "none": lambda a: None,
    "huge": lambda a: np.asarray(a, dtype=float) * 1e300 + 1e300,
}


def _all_finite(out):
    if isinstance(out, (tuple, list)):
        return all(_all_finite(o) for o in out)
    if isinstance(out, dict):
        return all(_all_finite(v) for k, v in out.items() if k != "models")
    if isinstance(out, torch.Tensor):
        out = out.numpy()
    if hasattr(out, "get_params"):
        return True
    arr = np.asarray(out)
    return arr.dtype.kind not in "fc" or bool(np.isfinite(arr).all())


def test_registry_covers_the_public_api():
    assert set(_registry()) == set(glm.__all__)


@pytest.mark.parametrize("name", sorted(glm.__all__))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_awkward_input_is_refused_by_name_or_handled(name, variant):
    for arg, call, valid in _registry()[name]:
        try:
            bad = VARIANTS[variant](valid)
        except (TypeError, ValueError):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = call(bad)
            except (ValueError, TypeError, MemoryError) as exc:
                assert arg in str(exc) or (arg == "X" and "X_" in str(exc)), \
                    f"{name}({arg}={variant}): message does not name {arg!r}: {exc}"
                continue
        assert _all_finite(out), f"{name}({arg}={variant}) returned non-finite values silently"


_SKIP_PARAMS = {"device", "dtype", "random_state", "verbose", "link", "basis", "prior",
                "prior_form", "onehot_update"}  # checked elsewhere (choices, _torch helpers)


@pytest.mark.parametrize("estimator", [glm.PoissonGLM, glm.StateSwitchingGLM])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, -1, "1", None, True])
def test_every_parameter_is_refused_by_name_or_gives_a_finite_fit(estimator, value):
    X = _data().counts
    for param in sorted(set(estimator().get_params()) - _SKIP_PARAMS):
        if value is None and param == "time_span":
            continue  # None is its default
        kwargs = {"device": "cpu", "max_iter": 2, param: value}
        if estimator is glm.StateSwitchingGLM:
            kwargs.setdefault("n_states", 2)
            kwargs[param] = value
        try:
            model = estimator(**kwargs).fit(X)
        except (ValueError, TypeError, MemoryError) as exc:
            assert param in str(exc), f"{estimator.__name__}({param}={value!r}): {exc}"
            continue
        assert np.isfinite(model.coupling_).all() and np.isfinite(model.intercept_).all(), \
            f"{estimator.__name__}({param}={value!r}) gave a non-finite fit silently"
