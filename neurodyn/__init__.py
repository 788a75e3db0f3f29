"""neurodyn: connectivity and representation analysis for brains and neural-network models.

Scikit-learn-style estimators over a shared torch core (CPU or CUDA with ``device="auto"``):

- :mod:`neurodyn.connectome` — dynamic functional connectome by non-negative tensor factorization
- :mod:`neurodyn.glm` — Poisson GLMs and state-switching HMM-GLMs
- :mod:`neurodyn.rsa` — RDMs, RDM comparison, geo-topological transforms, tRSA
- :mod:`neurodyn.graph` — functional graphs, motif node features, PCA-LDA classification
- :mod:`neurodyn.rnn` — leaky RNNs with trainable timescales, memory tasks, analyses
- :mod:`neurodyn.compare` — model-vs-brain comparison (RSA, CKA, Procrustes, encoding)
- :mod:`neurodyn.datasets` — loaders for public data and ground-truth simulators
"""

from ._openmp import apply_default_wait_policy as _apply_default_wait_policy

# before any submodule loads torch: idle OpenMP threads sleep instead of spinning
_apply_default_wait_policy()

__version__ = "0.1.0"

CAPABILITIES = ("connectome", "glm", "rsa", "graph", "rnn", "compare")

from ._validation import DivergenceWarning, LayoutWarning  # noqa: E402  (after the thread policy)

__all__ = ["__version__", "CAPABILITIES", "LayoutWarning", "DivergenceWarning"]
