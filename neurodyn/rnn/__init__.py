"""Leaky RNNs with trainable timescales, memory tasks, curricula and analyses.

- :class:`LeakyRNN` — per-unit bounded trainable time constants, fused Elman fast path
- :class:`GatedRNN` — GRU/LSTM with the same interface
- :func:`make_rnn` — one constructor for every cell: leaky, GRU, LSTM, diagonal SSM
  (:class:`DiagonalSSM`, parallel scan) and linear attention (:class:`LinearAttentionRNN`)
- :mod:`neurodyn.rnn.tasks` — N-parity, N-delayed-match, 2-alternative decision
- :func:`train_curriculum` — single-head / multi-head / sliding curricula (Khajehabdollahi et al. 2024)
- :mod:`neurodyn.rnn.timescales` — autocorrelation timescales of units
- :mod:`neurodyn.rnn.analysis` — ablation, perturbation, PCA, rich/lazy metrics (Liu et al. 2024)
"""

from . import analysis, tasks, timescales
from .analysis import (
    ablate,
    ablate_units,
    accuracy_per_n,
    find_fixed_points,
    jacobian_eigenvalues,
    kernel_alignment,
    participation_ratio,
    perturb,
    representation_alignment,
    sign_similarity,
    single_unit_ablation,
    stream_accuracy,
    tangent_kernel,
    trajectory_pca,
    variance_dimension,
    weight_change,
)
from .attractors import lorenz63, power_spectrum_distance, state_space_divergence
from .cells import CELLS, DiagonalSSM, LinearAttentionRNN, make_rnn
from .fit_dynamics import DynamicsRNN, fit_dynamics
from .models import MODEL_PRESETS, GatedRNN, LeakyRNN, Recording, effective_rank, low_rank_matrix
from .tasks import NDelayedMatch, NParity, PerceptualDecision
from .timescales import autocorrelation, fit_timescales, network_timescales, unit_timescales
from .training import (
    TRAINING_PRESETS,
    evaluate,
    train_curriculum,
    train_seeds,
    train_task,
    training_preset,
)

__all__ = [
    "DynamicsRNN",
    "fit_dynamics",
    "LeakyRNN",
    "GatedRNN",
    "make_rnn",
    "CELLS",
    "DiagonalSSM",
    "LinearAttentionRNN",
    "lorenz63",
    "state_space_divergence",
    "power_spectrum_distance",
    "Recording",
    "low_rank_matrix",
    "effective_rank",
    "MODEL_PRESETS",
    "TRAINING_PRESETS",
    "tasks",
    "timescales",
    "analysis",
    "NParity",
    "NDelayedMatch",
    "PerceptualDecision",
    "train_curriculum",
    "train_task",
    "train_seeds",
    "training_preset",
    "evaluate",
    "autocorrelation",
    "fit_timescales",
    "network_timescales",
    "unit_timescales",
    "find_fixed_points",
    "jacobian_eigenvalues",
    "ablate",
    "ablate_units",
    "single_unit_ablation",
    "stream_accuracy",
    "perturb",
    "accuracy_per_n",
    "trajectory_pca",
    "participation_ratio",
    "variance_dimension",
    "weight_change",
    "kernel_alignment",
    "representation_alignment",
    "tangent_kernel",
    "sign_similarity",
]
