"""Scores that say what they measure: a ``float`` carrying its units.

Every estimator's ``score`` returns a :class:`Score`. It is a plain ``float``
for arithmetic, numpy, json, scikit-learn's model selection and ``str()`` /
``format()``, but its ``repr`` (what an interactive session echoes) names the
quantity, its units and which direction is better::

    >>> from neurodyn._score import Score
    >>> s = Score(-0.87, "nats/bin/neuron", "held-out marginal log-likelihood", higher_is_better=True)
    >>> s
    -0.87 nats/bin/neuron (held-out marginal log-likelihood; higher is better)
    >>> s + 1.0, f"{s:.1f}", str(s)
    (0.13, '-0.9', '-0.87')
    >>> s.units
    'nats/bin/neuron'
"""

from __future__ import annotations

from typing import Any

__all__ = ["Score", "as_score"]


class Score(float):
    """A float with its units and meaning (see the module docstring).

    Parameters
    ----------
    value : float
        The score.
    units : str
        Units, e.g. ``"nats/bin/neuron"``, ``"accuracy (fraction correct)"``.
    meaning : str
        What is measured, e.g. ``"held-out marginal log-likelihood"``.
    higher_is_better : bool
        Direction, shown in the repr.

    Attributes
    ----------
    units, meaning, higher_is_better
        As given.

    Notes
    -----
    Arithmetic returns plain floats (``Score(1, ...) + 1`` is a ``float``);
    ``str`` and formatting give the bare number, so writing scores to files is
    unchanged. Copies and pickles keep the units.
    """

    __slots__ = ("units", "meaning", "higher_is_better")

    def __new__(cls, value: Any, units: str, meaning: str, higher_is_better: bool = True) -> Score:
        obj = super().__new__(cls, value)
        obj.units = str(units)
        obj.meaning = str(meaning)
        obj.higher_is_better = bool(higher_is_better)
        return obj

    def __repr__(self) -> str:
        direction = "higher is better" if self.higher_is_better else "lower is better"
        return f"{float.__repr__(self)} {self.units} ({self.meaning}; {direction})"

    __str__ = float.__repr__

    def __format__(self, spec: str) -> str:
        return float.__format__(float(self), spec)

    def __reduce__(self):
        return (Score, (float(self), self.units, self.meaning, self.higher_is_better))


def as_score(value: Any, units: str, meaning: str, higher_is_better: bool = True) -> Any:
    """``Score(value, ...)`` for a scalar; arrays (e.g. per-time-point scores) pass unchanged."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return Score(value, units, meaning, higher_is_better)
    return value
