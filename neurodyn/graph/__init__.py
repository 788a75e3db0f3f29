"""Functional graphs of voxels or regions, exact motif node features, masks and PCA-LDA.

Build a binary graph from time series by thresholded Pearson correlation
(:func:`correlation_graph`, :class:`FunctionalGraph`), count exact node
features (:func:`node_features`: degree, 3-cycles, clustering, 4-cycles) and
weighted ones (:func:`weighted_node_features`, :func:`clustering` with
``weighted=True``/``signed=True``, :func:`transitivity`), turn a
cohort into a feature matrix (:class:`GraphFeatures`), and classify it with a
leakage-free mask -> PCA -> LDA pipeline (:class:`FeatureMask`,
:func:`make_graph_classifier`, :func:`cross_validate_report`).

Layout: one recording is ``(n_timepoints, n_nodes)``; a cohort is
``(n_subjects, n_timepoints, n_nodes)`` or a list of ``(n_timepoints_i, n_nodes)``
arrays (:class:`GraphFeatures` refuses a single 2-D array: pass ``X[None]``).
Fewer timepoints than nodes raises a ``LayoutWarning`` (a transposed array?)
except for graphs of more than ``VOXEL_LEVEL_NODES`` nodes, where it is the norm
for voxel and vertex graphs; ``warn_transposed=False`` silences it.

References
----------
S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
"""

from .classify import CVReport, FeatureMask, cross_validate_report, make_graph_classifier
from .connectivity import (
    VOXEL_LEVEL_NODES,
    CorrelationGraph,
    correlation_graph,
    correlation_matrix,
    density_to_n_edges,
    threshold_matrix,
    zscore_timeseries,
)
from .estimators import FunctionalGraph, GraphFeatures
from .features import (
    FEATURES,
    WEIGHTED_FEATURES,
    check_adjacency,
    check_weights,
    clustering,
    degree,
    graph_summary,
    node_features,
    square_clustering,
    squares,
    strength,
    transitivity,
    triangles,
    weighted_node_features,
)

__all__ = [
    "FunctionalGraph",
    "GraphFeatures",
    "FeatureMask",
    "make_graph_classifier",
    "cross_validate_report",
    "CVReport",
    "CorrelationGraph",
    "correlation_graph",
    "correlation_matrix",
    "density_to_n_edges",
    "threshold_matrix",
    "zscore_timeseries",
    "VOXEL_LEVEL_NODES",
    "FEATURES",
    "WEIGHTED_FEATURES",
    "check_adjacency",
    "check_weights",
    "clustering",
    "degree",
    "graph_summary",
    "node_features",
    "square_clustering",
    "squares",
    "strength",
    "transitivity",
    "triangles",
    "weighted_node_features",
]
