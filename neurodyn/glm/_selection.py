"""Choosing the number of hidden states."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._common import as_trial_list

__all__ = ["select_n_states"]


def select_n_states(estimator, X_train, X_test, n_states=(1, 2, 3, 4)) -> dict:
    """Held-out log-likelihood and BIC of a switching GLM across numbers of states.

    Parameters
    ----------
    estimator : StateSwitchingGLM
        Template; cloned and refitted with each ``n_states``.
    X_train, X_test : spike counts (see :meth:`StateSwitchingGLM.fit`)
    n_states : sequence of int

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
    trials = as_trial_list(X_train, "X_train")
    n_bins = sum(t.shape[0] for t in trials)
    values = [int(k) for k in n_states]
    if not values:
        raise ValueError("n_states must list at least one number of states")
    rows = []
    models = []
    for k in values:
        model = clone(estimator).set_params(n_states=k).fit(trials)
        ll = model.log_likelihood_
        n_par = model.n_parameters()
        rows.append((model.score(X_test), model.bits_per_spike(X_test), ll, n_par,
                     -2.0 * ll + n_par * np.log(n_bins)))
        models.append(model)
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
