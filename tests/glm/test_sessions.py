"""fit_sessions: one GLM per session over joblib workers, equal to a serial loop of clone().fit."""

import sys
import warnings

import cloudpickle
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import neurodyn.glm._sessions as sessions_module
from neurodyn._parallel import item_seeds
from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import PoissonGLM, StateSwitchingGLM, fit_sessions

# the helper estimator travels to loky's worker processes by value (this file is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _sessions():
    """Four sessions in every accepted form: a stack, a 2-D recording, unequal trials, other neurons."""
    a = hmm_glm(n_neurons=4, n_states=2, n_timepoints=150, n_trials=2, random_state=0).counts
    b = hmm_glm(n_neurons=4, n_states=2, n_timepoints=300, n_trials=1, random_state=1).counts[0]
    c = hmm_glm(n_neurons=4, n_states=2, n_timepoints=160, n_trials=2, random_state=2).counts
    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=150, n_trials=2, random_state=3).counts
    return [a, b, [c[0], c[1, :110]], d]


def _fitted_state(model):
    return {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def _assert_same_fit(got, ref):
    assert type(got) is type(ref)
    assert got.get_params() == ref.get_params()
    sg, sr = _fitted_state(got), _fitted_state(ref)
    assert sg.keys() == sr.keys() and "coupling_" in sg
    for k, v in sr.items():
        if v is None or isinstance(v, (bool, int, float, str)):
            assert sg[k] == v, k
        else:
            np.testing.assert_array_equal(np.asarray(sg[k]), np.asarray(v), err_msg=k)


TEMPLATES = {
    "poisson": PoissonGLM(n_lags=2, max_iter=60, device="cpu"),
    "switching": StateSwitchingGLM(n_states=2, n_lags=2, max_iter=3, n_init=1, m_step_max_iter=5,
                                   random_state=0, device="cpu"),
}


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
@pytest.mark.parametrize("backend,n_jobs", [(None, None), pytest.param("loky", 2, marks=pytest.mark.slow),
                                            ("threading", 2)])
def test_fit_sessions_equals_a_serial_loop_of_clone_fit(kind, backend, n_jobs):
    template = TEMPLATES[kind]
    data = _sessions()
    copies = [[np.array(t) for t in s] if isinstance(s, list) else s.copy() for s in data]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = [clone(template).fit(s) for s in data]
        if backend is None:
            got = fit_sessions(template, data, n_jobs=n_jobs)
        else:
            with parallel_config(backend=backend):
                got = fit_sessions(template, data, n_jobs=n_jobs)
    assert len(got) == len(data)
    for g, r in zip(got, ref, strict=True):
        _assert_same_fit(g, r)
    assert [m.n_features_in_ for m in got] == [4, 4, 4, 5]  # each session keeps its own neurons
    assert not hasattr(template, "coupling_")  # the template is never fitted
    for s, c in zip(data, copies, strict=True):  # the caller's arrays are untouched
        for x, y in zip(s, c, strict=True):
            np.testing.assert_array_equal(x, y)


def test_an_array_of_sessions_is_split_on_its_first_axis():
    stack = hmm_glm(n_neurons=4, n_states=1, n_timepoints=200, n_trials=3, random_state=4).counts
    template = TEMPLATES["poisson"]
    for got, s in zip(fit_sessions(template, stack), stack, strict=True):
        _assert_same_fit(got, clone(template).fit(s))
    four_d = stack.reshape(3, 1, 200, 4)
    got = fit_sessions(template, four_d)
    _assert_same_fit(got[2], clone(template).fit(stack[2:3]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_per_session_seeds_come_from_random_state_whatever_the_workers():
    data = _sessions()[:3]
    template = TEMPLATES["switching"]
    seeds = item_seeds(7, len(data))
    ref = [clone(template).set_params(random_state=s).fit(x) for s, x in zip(seeds, data, strict=True)]
    serial = fit_sessions(template, data, random_state=7)
    with parallel_config(backend="loky"):
        parallel = fit_sessions(template, data, random_state=7, n_jobs=2)
    for got in (serial, parallel):
        assert [m.random_state for m in got] == seeds
        for g, r in zip(got, ref, strict=True):
            _assert_same_fit(g, r)
    assert len(set(seeds)) == len(seeds)
    assert template.random_state == 0  # the template keeps its own


def test_convergence_warnings_are_re_emitted_naming_the_session():
    data = _sessions()[:2]
    template = PoissonGLM(n_lags=2, max_iter=1, device="cpu")
    for n_jobs in (None, 2):  # in the caller's process, and in loky's worker processes
        with parallel_config(backend="loky"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit_sessions(template, data, n_jobs=n_jobs)
        messages = sorted(str(w.message) for w in caught if w.category is ConvergenceWarning)
        assert len(messages) == 2
        assert messages[0].startswith("session 0: PoissonGLM: L-BFGS stopped at max_iter=1")
        assert messages[1].startswith("session 1: PoissonGLM: L-BFGS stopped at max_iter=1")


def test_cached_run_interrupted_then_resumed_refits_only_the_missing_sessions(tmp_path, monkeypatch):
    data = _sessions()
    template = TEMPLATES["poisson"]
    ref = [clone(template).fit(s) for s in data]
    calls = []
    original = PoissonGLM.fit

    def counted_fit(self, X, y=None):
        calls.append(X)
        if X is data[2] and len(calls) == 3:  # the run dies at session 2, once
            raise RuntimeError("simulated crash")
        return original(self, X, y)

    monkeypatch.setattr(PoissonGLM, "fit", counted_fit)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=r"^session 2: simulated crash$"):
        fit_sessions(template, data, memory=cache)
    assert len(calls) == 3  # sessions 0 and 1 done and cached, session 2 failed, 3 never started
    calls.clear()
    got = fit_sessions(template, data, memory=cache)
    assert len(calls) == 2  # only sessions 2 and 3 were fitted on resume
    for g, r in zip(got, ref, strict=True):
        _assert_same_fit(g, r)
    calls.clear()
    again = fit_sessions(template, data, memory=str(cache))
    assert calls == []  # all from the cache
    for g, r in zip(again, ref, strict=True):
        _assert_same_fit(g, r)
    # another template is another key: nothing stale is served
    other = fit_sessions(clone(template).set_params(alpha=0.5), data[:1], memory=cache)
    assert len(calls) == 1 and not np.array_equal(other[0].coupling_, ref[0].coupling_)


class _RefusesFiveNeurons(PoissonGLM):
    """A fit that fails inside one session only (after the caller's checks passed)."""

    def fit(self, X, y=None):
        if np.asarray(X[0]).shape[-1] == 5:
            raise ValueError("X has 5 neurons")
        return super().fit(X, y)


def test_an_error_inside_one_parallel_fit_names_the_session():
    template = _RefusesFiveNeurons(n_lags=2, max_iter=60, device="cpu")
    with parallel_config(backend="loky"), pytest.raises(ValueError, match=r"^session 3: X has 5 neurons$"):
        fit_sessions(template, _sessions(), n_jobs=2)


@pytest.mark.filterwarnings("ignore::neurodyn._validation.LayoutWarning")
def test_arguments_are_checked_before_any_fit(monkeypatch):
    def no_map(*args, **kwargs):
        raise AssertionError("a fit started before the arguments were checked")

    monkeypatch.setattr(sessions_module, "parallel_map", no_map)
    good = _sessions()
    nan = list(good)
    nan[1] = good[1].astype(float)
    nan[1][5, 2] = np.nan
    short = list(good)
    short[2] = [good[2][0], good[2][1][:2]]
    silent = list(good)
    silent[3] = good[3].copy()
    silent[3][:, :, 4] = 0
    cases = [
        (dict(estimator=object()), TypeError, "estimator must be a scikit-learn estimator"),
        (dict(sessions=[]), ValueError, "sessions is empty"),
        (dict(sessions=np.zeros((0, 40, 3))), ValueError, "sessions is empty"),
        (dict(sessions="abc"), TypeError, "sessions must be a list of per-session spike counts"),
        (dict(sessions=np.ones((40, 3))), ValueError, r"sessions must be a list .* got an array of shape \(40, 3\)"),
        (dict(sessions=nan), ValueError, r"sessions\[1\] must be finite"),
        (dict(sessions=short), ValueError, r"sessions\[2\] is too short: every trial needs more time bins "
                                           r"than n_lags=2; trial\(s\) \[1\] have \[2\] bins"),
        (dict(sessions=[good[0], -good[1]]), ValueError, r"sessions\[1\] must be non-negative"),
        (dict(estimator=clone(TEMPLATES["switching"]).set_params(n_states=4),
              sessions=[good[0], good[1][:10]]), ValueError, r"n_states=4 is more than sessions\[1\] can support"),
        (dict(sessions=silent), ValueError, r"sessions\[3\] has neurons that never spike \(index \[4\]\)"),
        (dict(estimator=PoissonGLM(link="sigmoid", device="cpu"), sessions=[good[0], good[1] * 3]),
         ValueError, r"link='sigmoid' caps the firing rate at one spike per bin, but sessions\[1\]"),
        (dict(n_jobs=0), ValueError, "n_jobs must be None"),
        (dict(n_jobs=1.5), TypeError, "n_jobs must be None or an integer"),
        (dict(memory=3), TypeError, "memory must be None, a folder path"),
        (dict(estimator=PoissonGLM(dtype="float16", device="cpu")), ValueError, "dtype must be float32 or float64"),
    ]
    for kwargs, exc, match in cases:
        args = dict(estimator=TEMPLATES["switching"], sessions=good)
        args.update(kwargs)
        with pytest.raises(exc, match=match):
            fit_sessions(**args)

    from sklearn.cluster import KMeans

    class NoSeed(KMeans):
        def __init__(self, n_clusters=2):
            self.n_clusters = n_clusters

    with pytest.raises(TypeError, match="random_state: the estimator NoSeed has no random_state"):
        fit_sessions(NoSeed(), good, random_state=0)


def test_docstring_example_runs_cleanly():
    import doctest

    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    (test,) = finder.find(fit_sessions, "fit_sessions", module=sessions_module, globs={})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layout or convergence warning means a bad example
        result = runner.run(test)
    assert result.attempted >= 4 and result.failed == 0
