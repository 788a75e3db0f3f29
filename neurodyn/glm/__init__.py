"""Poisson GLMs and state-switching (HMM) GLMs of neural populations.

- :class:`PoissonGLM` -- coupled population Poisson GLM with spike-history filters.
- :class:`StateSwitchingGLM` -- hidden-Markov switching between coupled GLMs, with no
  prior, a Gaussian prior or the one-hot adjacency prior of Li et al. (ICLR 2024).
- :func:`forward_backward`, :func:`forward_backward_scan`, :func:`viterbi` -- log-space
  HMM inference batched over trials, masked for unequal lengths.
- :func:`exp_basis`, :func:`raised_cosine_basis`, :func:`history_features` -- history bases.
- :func:`align_states`, :func:`state_accuracy`, :func:`adjacency_classes` -- recovery scores.
- :func:`select_n_states` -- held-out likelihood and BIC across numbers of states.
- :func:`fit_sessions` -- one fit per recording session over joblib workers (cached, resumable).
"""

from ._alignment import adjacency_classes, align_states, state_accuracy
from ._basis import exp_basis, history_features, raised_cosine_basis
from ._filtering import filtered_probabilities, predicted_probabilities
from ._hmm import forward_backward, forward_backward_scan, log_marginal_likelihood, viterbi
from ._poisson_glm import PoissonGLM
from ._selection import select_n_states
from ._sessions import fit_sessions
from ._switching import StateSwitchingGLM

__all__ = [
    "PoissonGLM",
    "StateSwitchingGLM",
    "forward_backward",
    "forward_backward_scan",
    "log_marginal_likelihood",
    "viterbi",
    "filtered_probabilities",
    "predicted_probabilities",
    "exp_basis",
    "raised_cosine_basis",
    "history_features",
    "align_states",
    "state_accuracy",
    "adjacency_classes",
    "select_n_states",
    "fit_sessions",
]
