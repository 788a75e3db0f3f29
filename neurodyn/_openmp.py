"""The OpenMP wait policy neurodyn asks for, set before torch loads (no torch import here).

``neurodyn/__init__.py`` calls :func:`apply_default_wait_policy` first thing, so that
``import neurodyn.<anything>`` sets it before any submodule imports torch.
"""

from __future__ import annotations

import os
import sys

_RESULT: bool | None = None


def _set_passive_if_unchosen() -> bool:
    """Make idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose.

    torch's OpenMP threads otherwise spin-wait between parallel regions; when other
    processes hold the cores, a spinning thread steals the time slice its partner needs
    and a loop of small operations runs 10-100x slower (measured: 3000 small products
    151 s on 2 threads beside two busy processes, 2.1 s with a passive policy). The
    OpenMP runtime reads the variable once, when torch loads it, so this only acts when
    neurodyn is imported before torch; it is left alone when ``OMP_WAIT_POLICY``,
    ``GOMP_SPINCOUNT`` or ``KMP_BLOCKTIME`` is set. Returns whether it was set here.
    """
    if any(v in os.environ for v in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")):
        return False
    if "torch" in sys.modules:  # the runtime has read its settings already
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


#: whether importing this module set ``OMP_WAIT_POLICY=PASSIVE`` (before torch loaded)


def apply_default_wait_policy() -> bool:
    """Apply the policy once per process; return whether neurodyn set it."""
    global _RESULT
    if _RESULT is None:
        _RESULT = _set_passive_if_unchosen()
    return _RESULT
