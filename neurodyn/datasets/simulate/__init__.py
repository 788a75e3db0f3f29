"""Ground-truth simulators, one module per capability.

Each capability keeps its generator in its own module here and re-exports its
public names below, so users write ``from neurodyn.datasets.simulate import hmm_glm``.
"""

from .compare import *  # noqa: F401,F403
from .connectome import *  # noqa: F401,F403
from .glm import *  # noqa: F401,F403
from .graph import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .rsa import *  # noqa: F401,F403
