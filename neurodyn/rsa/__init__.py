"""neurodyn.rsa: RDMs, RDM comparison, geo-topological transforms and topological RSA.

- :func:`compute_rdm` / :func:`compute_rdm_movie`: RDMs batched over subjects
  (sqeuclidean, correlation, mahalanobis, crossnobis, poisson, poisson_cv)
- :func:`compare_rdms`: all-pairs RDM comparison (cosine, corr, spearman, rho-a,
  tau-a, tau-b, whitened unbiased cosine)
- :func:`geotopological_transform`, :func:`geodesic_transform`,
  :func:`graph_geodesic_transform`: RGTMs and RGDMs
- :func:`evaluate_models`, :func:`noise_ceiling`: bootstrap inference
- :class:`TopologicalRSA`: leave-one-subject-out region identification

RDMs are accepted everywhere as ``(n_rdms, n_pairs)`` upper-triangle vectors, a
single ``(n_pairs,)`` vector, ``(n_rdms, K, K)`` squares, or ONE ``(K, K)`` square:
a 2-D square array that is symmetric with a zero (or NaN) diagonal is read as one
RDM, never as K vectors (a symmetric square with a non-zero diagonal is read as
vectors with a ``LayoutWarning``; any other square whose width is not
``K(K-1)/2`` is refused). Transforms hand results back in the form they were given.
"""

from .compare import COMPARE_METHODS, compare_rdms, kendall_tau_counts
from .inference import (
    ModelEvaluation,
    bootstrap_indices,
    evaluate_fixed,
    evaluate_models,
    noise_ceiling,
    pool_rdms,
    subsample_patterns,
)
from .rdm import (
    RDM_METHODS,
    LowRankPrecision,
    compute_rdm,
    compute_rdm_movie,
    from_rsatoolbox,
    n_conditions_from_pairs,
    noise_covariance,
    noise_precision,
    rdm_to_matrix,
    rdm_to_vector,
    to_rsatoolbox,
)
from .transforms import (
    all_pairs_shortest_paths,
    geodesic_transform,
    geotopological_transform,
    graph_geodesic_transform,
    minmax_transform,
    rank_transform,
)
from .trsa import (
    FAMILIES,
    TopologicalRSA,
    draw_thresholds,
    geotopological_grid,
    loso_nearest_centroid,
    rdm_noise_sweep,
    sensitivity_specificity,
)

__all__ = [
    "RDM_METHODS", "COMPARE_METHODS", "FAMILIES",
    "compute_rdm", "compute_rdm_movie", "noise_covariance", "noise_precision", "LowRankPrecision",
    "rdm_to_matrix", "rdm_to_vector", "n_conditions_from_pairs", "to_rsatoolbox", "from_rsatoolbox",
    "compare_rdms", "kendall_tau_counts",
    "rank_transform", "minmax_transform", "geotopological_transform", "geodesic_transform",
    "graph_geodesic_transform", "all_pairs_shortest_paths",
    "ModelEvaluation", "bootstrap_indices", "subsample_patterns", "pool_rdms", "noise_ceiling",
    "evaluate_fixed", "evaluate_models",
    "TopologicalRSA", "draw_thresholds", "geotopological_grid", "loso_nearest_centroid",
    "sensitivity_specificity", "rdm_noise_sweep",
]
