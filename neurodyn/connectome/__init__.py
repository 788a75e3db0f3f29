"""Dynamic functional connectome by non-negative tensor factorization.

Traces of identified neurons in several animals, in the package layout
``(n_animals, n_timepoints, n_units)`` (or a list of ``(n_timepoints, n_units)``
recordings; before this release it was ``(n_animals, n_neurons, n_timepoints)``,
pass ``np.swapaxes(X, 1, 2)``) -> pairwise windowed affinities
(:mod:`~neurodyn.connectome.affinity`) -> a pair × window × animal tensor ->
non-negative CP decomposition (:mod:`~neurodyn.connectome.ntf`) -> communities
of each component's pair graph (:mod:`~neurodyn.connectome.communities`).
:class:`DynamicConnectome` ties the steps together.

References
----------
Dyballa, L., Lang, S., Haslund-Gourley, A., Yemini, E., Zucker, S. W. (2024).
Learning dynamic representations of the functional connectome in
neurobiological networks. ICLR 2024, arXiv:2402.14102.
"""

from .affinity import affinity_tensor, matrix_to_pairs, pairs_to_matrix
from .communities import (
    component_graph,
    louvain_labels,
    sbm_description_length,
    strength_two_means,
    weighted_sbm,
)
from .estimator import DynamicConnectome, align_neurons
from .ntf import NonnegativeCP, elbow_rank, factor_match_score, rank_sweep

__all__ = [
    "DynamicConnectome",
    "align_neurons",
    "NonnegativeCP",
    "affinity_tensor",
    "pairs_to_matrix",
    "matrix_to_pairs",
    "factor_match_score",
    "rank_sweep",
    "elbow_rank",
    "component_graph",
    "louvain_labels",
    "strength_two_means",
    "weighted_sbm",
    "sbm_description_length",
]
