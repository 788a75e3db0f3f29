"""Model-versus-brain comparison of representations.

Metrics accept ``(n_conditions, n_features)`` or time-resolved
``(n_conditions, n_timepoints, n_features)`` arrays (numpy or torch):

- centered kernel alignment, linear and RBF, biased and debiased (:func:`linear_cka`,
  :func:`rbf_cka`, :func:`cka_matrix`, :class:`LinearCKA`, :class:`RBFCKA`);
- generalised shape metrics from Procrustes to CCA (:class:`ShapeMetric`, :func:`shape_distance`,
  :func:`pairwise_shape_distances`, :func:`cross_validated_shape_distance`);
- cross-validated ridge encoding with per-target penalties and split-half noise ceilings
  (:class:`EncodingModel`, :func:`ridge_cv`, :func:`cross_validated_encoding`,
  :func:`split_half_noise_ceiling`);
- bootstrap intervals over conditions and subjects, permutation tests
  (:func:`bootstrap_metric`, :func:`permutation_test`);
- :func:`compare_representations`: all of the above plus RSA/tRSA (via :mod:`neurodyn.rsa`)
  for every (layer, region) pair in one tidy :class:`ComparisonTable`.

Figures are in :mod:`neurodyn.compare.plotting`. To compare a model *fitted to*
recorded dynamics with the recording, see :mod:`neurodyn.rnn.fit_dynamics`
(generalised teacher forcing).
"""

from .alignment import alignment_loss, train_aligned
from .cka import RBFCKA, LinearCKA, cka_matrix, hsic, linear_cka, rbf_cka
from .encoding import (
    EncodingModel,
    cross_validated_encoding,
    pearson_r_columns,
    ridge_cv,
    split_half_noise_ceiling,
)
from .inference import FAST_METRICS, bootstrap_interval, bootstrap_metric, permutation_test
from .shape import (
    ShapeMetric,
    cross_validated_shape_distance,
    pairwise_shape_distances,
    shape_distance,
)
from .table import METHODS, ComparisonTable, compare_representations, method_range

__all__ = [
    "alignment_loss", "train_aligned",
    "linear_cka",
    "rbf_cka",
    "cka_matrix",
    "hsic",
    "LinearCKA",
    "RBFCKA",
    "ShapeMetric",
    "shape_distance",
    "pairwise_shape_distances",
    "cross_validated_shape_distance",
    "EncodingModel",
    "ridge_cv",
    "cross_validated_encoding",
    "split_half_noise_ceiling",
    "pearson_r_columns",
    "bootstrap_metric",
    "bootstrap_interval",
    "permutation_test",
    "FAST_METRICS",
    "compare_representations",
    "ComparisonTable",
    "METHODS",
    "method_range",
]
