"""Choosing the number of hidden states."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._parallel import check_n_jobs, parallel_map
from .._torch import resolve_device, resolve_dtype
from .._validation import check_positive_int
from ._common import (
    as_trial_list,
    check_count_range,
    check_glm_dtype,
    check_min_length,
    check_n_states_supported,
)

__all__ = ["select_n_states"]


def _fit_n_states(k, estimator, trials, test_trials, n_bins):
    """Fit one candidate number of states; its row of the table and the model."""
    model = clone(estimator).set_params(n_states=k).fit(trials)
    ll = model.log_likelihood_
    n_par = model.n_parameters()
    row = (model.score(test_trials), model.bits_per_spike(test_trials), ll, n_par,
           -2.0 * ll + n_par * np.log(n_bins))
    return row, model


def select_n_states(estimator, X_train, X_test, n_states=(1, 2, 3, 4), *, n_jobs=None) -> dict:
    """Held-out log-likelihood and BIC of a switching GLM across numbers of states.

    Parameters
    ----------
    estimator : StateSwitchingGLM
        Template; cloned and refitted with each ``n_states``.
    X_train, X_test : spike counts (see :meth:`StateSwitchingGLM.fit`)
    n_states : sequence of int (or one int)
        Numbers of states to compare, each >= 1; the largest must be supported
        by ``X_train`` (see :meth:`StateSwitchingGLM.fit`), checked before any fit.
    n_jobs : int or None
        Fit the candidates in parallel through joblib (``-1``: all workers; honours
        ``joblib.parallel_config(backend=...)``, e.g. a dask cluster). Each fit uses
        the template's ``random_state``, so the results equal the serial run.

    Returns
    -------
    dict with arrays ``n_states``, ``test_log_likelihood`` (nats per bin per
    neuron, marginal), ``test_bits_per_spike``, ``train_log_likelihood`` (nats,
    total), ``n_parameters``, ``bic`` (``-2 LL_train + k log n_bins``), and
    ``best_by_test`` / ``best_by_bic`` and the fitted ``models``.

    References
    ----------
    G. Schwarz. Estimating the dimension of a model. Annals of Statistics 6(2),
    461-464 (1978).
    """
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    if "n_states" not in params or not hasattr(estimator, "fit"):
        raise TypeError(f"estimator must be a StateSwitchingGLM (an estimator with an n_states "
                        f"parameter); got {type(estimator).__name__}")
    if isinstance(n_states, (int, np.integer)) and not isinstance(n_states, bool):
        n_states = (n_states,)
    if isinstance(n_states, (str, bytes)) or not hasattr(n_states, "__iter__"):
        raise TypeError(f"n_states must be a sequence of positive integers; got {n_states!r}")
    values = [check_positive_int(k, "n_states") for k in n_states]
    if not values:
        raise ValueError("n_states must list at least one number of states")
    trials = as_trial_list(X_train, "X_train")
    test_trials = as_trial_list(X_test, "X_test")
    if test_trials[0].shape[1] != trials[0].shape[1]:
        raise ValueError(f"X_test has {test_trials[0].shape[1]} neurons and X_train "
                         f"{trials[0].shape[1]}; they must match")
    # refuse before any fit what a fit or a score would refuse later, under these names
    check_n_states_supported(max(values), trials, "X_train")
    dtype = resolve_dtype(params.get("dtype"), resolve_device(params.get("device", "auto")))
    check_glm_dtype(dtype)
    n_lags = check_positive_int(params.get("n_lags", 1), "n_lags")
    for name, data in (("X_train", trials), ("X_test", test_trials)):
        check_min_length(data, n_lags, name)
        check_count_range(data, dtype, name)
    check_n_jobs(n_jobs)
    n_bins = sum(t.shape[0] for t in trials)
    fits = parallel_map(_fit_n_states, values, kwargs=dict(estimator=estimator, trials=trials,
                                                           test_trials=test_trials, n_bins=n_bins),
                        n_jobs=n_jobs, desc="n_states candidate")
    rows = [row for row, _ in fits]
    models = [model for _, model in fits]
    arr = np.array(rows)
    return {
        "n_states": np.array(values),
        "test_log_likelihood": arr[:, 0],
        "test_bits_per_spike": arr[:, 1],
        "train_log_likelihood": arr[:, 2],
        "n_parameters": arr[:, 3].astype(int),
        "bic": arr[:, 4],
        "best_by_test": values[int(np.argmax(arr[:, 0]))],
        "best_by_bic": values[int(np.argmin(arr[:, 4]))],
        "models": models,
    }
