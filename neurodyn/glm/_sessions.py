"""One GLM per recording session, over the parallel seam."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import clone

from .._parallel import check_memory, check_n_jobs, parallel_map
from .._torch import resolve_device, resolve_dtype
from .._validation import LayoutWarning, check_positive_int
from ._common import (
    as_trial_list,
    check_count_range,
    check_glm_dtype,
    check_min_length,
    check_n_states_supported,
    check_rates_for_link,
)

__all__ = ["fit_sessions"]


def _fit_one_session(session, estimator, random_state=None):
    """Fit a clone of ``estimator`` on one session; the fitted model and its warnings.

    The warnings are returned (category, message) so that the caller re-emits them
    with the session's index, whichever process ran the fit. Layout warnings were
    already given by the caller's check of the session.
    """
    model = clone(estimator)
    if random_state is not None:
        model.set_params(random_state=random_state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=LayoutWarning)
        model.fit(session)
    return model, [(w.category, str(w.message)) for w in caught]


def _as_session_list(sessions) -> list:
    if isinstance(sessions, np.ndarray):
        if sessions.ndim not in (3, 4):
            raise ValueError("sessions must be a list of sessions, or an array of shape "
                             "(n_sessions, n_timepoints, n_neurons) or (n_sessions, n_trials, "
                             f"n_timepoints, n_neurons); got an array of shape {sessions.shape}")
        items = list(sessions)
    elif isinstance(sessions, (list, tuple)):
        items = list(sessions)
    else:
        raise TypeError("sessions must be a list of per-session spike counts (each (n_timepoints, "
                        "n_neurons), (n_trials, n_timepoints, n_neurons) or a list of trials); got "
                        f"{type(sessions).__name__}")
    if not items:
        raise ValueError("sessions is empty; give at least one session")
    return items


def fit_sessions(estimator, sessions, *, n_jobs=None, memory=None, random_state=None,
                 verbose=False) -> list:
    """Fit one copy of a GLM on each recording session, in parallel, equal to a serial loop.

    For each session ``s`` (in order) this is ``clone(estimator).fit(s)``: the
    sessions are independent fits (different animals or days may have different
    neurons), spread over joblib workers.

    Parameters
    ----------
    estimator : PoissonGLM or StateSwitchingGLM
        Template (any scikit-learn estimator fitted on spike counts); never
        fitted itself. Each session gets ``sklearn.base.clone(estimator)``.
    sessions : list, or array (n_sessions, n_timepoints, n_neurons) or (n_sessions, n_trials, n_timepoints, n_neurons)
        One entry per session, each what ``estimator.fit`` takes: a
        ``(n_timepoints, n_neurons)`` count array, a stack ``(n_trials, n_timepoints,
        n_neurons)`` or a list of trials of unequal lengths. Every session is
        checked in the caller before any fit (finite non-negative integer counts,
        more bins than ``n_lags``, counts exact in the estimator's dtype, enough
        transitions for ``n_states``, no silent neuron, rates the link allows); an
        error names it (``sessions[3] ...``).
    n_jobs : int or None
        Workers (joblib semantics: None the active ``joblib.parallel_config``,
        1 outside one; ``-1`` all workers). Honours ``parallel_config(backend=...)``:
        ``"loky"``, ``"threading"``, or ``"dask"`` on a ``dask.distributed``
        cluster. Each worker process gets its share of the machine's threads.
    memory : None, str, path or joblib.Memory
        Cache of the per-session fits, keyed on the session's data, the template's
        parameters and the session's seed: a cohort run that was killed halfway
        refits only the sessions not yet on disk. On a cluster, a folder the
        workers share.
    random_state : None, int, numpy Generator or RandomState
        None (default): every session's clone keeps the template's
        ``random_state`` unchanged (an int there gives every session the same,
        reproducible initialisation; None there, an irreproducible one, as in the
        serial loop). Otherwise session ``i``'s clone gets ``random_state =
        neurodyn._parallel.item_seeds(random_state, n_sessions)[i]``: independent
        seeds that depend only on ``random_state`` and ``i``, not on ``n_jobs``,
        the backend or the order in which the workers finish.
    verbose : bool
        tqdm progress bar over the finished sessions.

    Returns
    -------
    list of fitted estimators
        In the order of ``sessions``. With ``random_state`` None they equal
        ``[clone(estimator).fit(s) for s in sessions]`` bit for bit for any
        ``n_jobs`` and backend (when the template's ``random_state`` is an int).

    Raises
    ------
    Exception
        An error inside one session's fit is raised in the caller with its type,
        the message prefixed by ``"session <i>: "``; the other fits are cancelled.

    Warns
    -----
    Warnings of a session's fit (e.g. :class:`sklearn.exceptions.ConvergenceWarning`)
        are re-emitted in the caller, same category, prefixed by ``"session <i>: "``,
        also when the fit ran in another process.

    Notes
    -----
    Warnings are collected per fit with :func:`warnings.catch_warnings`, which is
    process wide: where several fits share one process at the same time (the
    ``"threading"`` backend, or dask workers with several threads) a warning may
    be lost or named under another session. The fitted models are unaffected;
    ``converged_`` and ``n_iter_`` on each model are exact.

    Examples
    --------
    >>> from neurodyn.datasets.simulate import hmm_glm
    >>> from neurodyn.glm import PoissonGLM, fit_sessions
    >>> sessions = [hmm_glm(n_neurons=4, n_states=1, n_timepoints=300, n_trials=2,
    ...                     random_state=s).counts for s in range(3)]
    >>> models = fit_sessions(PoissonGLM(n_lags=2, device="cpu"), sessions)
    >>> [m.coupling_.shape for m in models]
    [(4, 4), (4, 4), (4, 4)]
    """
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError("estimator must be a scikit-learn estimator (PoissonGLM, StateSwitchingGLM); "
                        f"got {type(estimator).__name__}")
    params = estimator.get_params()
    if random_state is not None and "random_state" not in params:
        raise TypeError(f"random_state: the estimator {type(estimator).__name__} has no random_state "
                        "parameter to set per session")
    n_jobs = check_n_jobs(n_jobs)
    memory = check_memory(memory)
    items = _as_session_list(sessions)
    template = clone(estimator)  # unfitted: its cache key is its parameters only

    dtype = None
    if "dtype" in params:
        dtype = resolve_dtype(params.get("dtype"), resolve_device(params.get("device", "auto")))
        check_glm_dtype(dtype)
    n_lags = check_positive_int(params["n_lags"], "n_lags") if "n_lags" in params else None
    n_states = (check_positive_int(params["n_states"], "n_states")
                if "n_states" in params else None)
    # refuse before any fit what a fit would refuse later, naming the session
    for i, session in enumerate(items):
        name = f"sessions[{i}]"
        trials = as_trial_list(session, name)
        if n_lags is not None:
            check_min_length(trials, n_lags, name)
        if dtype is not None:
            check_count_range(trials, dtype, name)
        if n_states is not None:
            check_n_states_supported(n_states, trials, name)
        if "link" in params:
            mean_rate = np.concatenate(trials).mean(0)
            check_rates_for_link(torch.from_numpy(mean_rate), params["link"], name)
        del trials

    fits = parallel_map(_fit_one_session, items, kwargs={"estimator": template}, n_jobs=n_jobs,
                        memory=memory, desc="session", verbose=verbose, random_state=random_state)
    models = []
    for i, (model, caught) in enumerate(fits):
        for category, message in caught:
            warnings.warn(f"session {i}: {message}", category, stacklevel=2)
        models.append(model)
    return models
