"""Claims that tutorials make, each computed from its numbers and judged against a baseline.

A tutorial records every statement it prints or puts in a figure title as a
:class:`Claim`: the measured value, the baseline it is compared with, the rule
(``measured > baseline + margin`` and so on) and the verdict that follows from
them. :meth:`ClaimTable.report` prints the table at the end of the tutorial and
writes it as JSON, so a test can check that every verdict follows from its
numbers.

Examples
--------
>>> table = ClaimTable("example")
>>> c = table.add("model beats shuffled", measured=0.42, baseline=0.10, rule=">", margin=0.1)
model beats shuffled: 0.420 vs baseline 0.100 (needs > baseline + 0.1): reproduced
>>> c.verdict
'reproduced'
>>> c.text(2)
'model beats shuffled: 0.42 vs baseline 0.10 (needs > baseline + 0.1): reproduced'
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Claim", "ClaimTable", "RULES", "holds", "tutorial_data_home"]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
RULES = (">", ">=", "<", "<=", "within")


def holds(measured: float, baseline: float, rule: str, margin: float = 0.0) -> bool:
    """Whether ``measured`` satisfies ``rule`` against ``baseline`` with ``margin``.

    Parameters
    ----------
    measured, baseline : float
        The two numbers; a NaN in either never satisfies a rule.
    rule : {">", ">=", "<", "<=", "within"}
        ``">"``: measured > baseline + margin; ``">="``: measured >= baseline + margin;
        ``"<"``: measured < baseline - margin; ``"<="``: measured <= baseline - margin;
        ``"within"``: abs(measured - baseline) <= margin.
    margin : float
        Non-negative.

    Returns
    -------
    bool
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    m, b = float(measured), float(baseline)
    if math.isnan(m) or math.isnan(b):
        return False
    if rule == ">":
        return m > b + margin
    if rule == ">=":
        return m >= b + margin
    if rule == "<":
        return m < b - margin
    if rule == "<=":
        return m <= b - margin
    return abs(m - b) <= margin


def _rule_text(rule: str, margin: float) -> str:
    if rule == "within":
        return f"abs(measured - baseline) <= {margin:.3g}"
    sign = "+" if rule in (">", ">=") else "-"
    return f"{rule} baseline" + (f" {sign} {margin:.3g}" if margin else "")


@dataclass
class Claim:
    """One claim: its statement, the two numbers it compares, the rule, and the verdict."""

    claim: str
    measured: float
    baseline: float
    rule: str
    margin: float = 0.0
    measured_label: str = ""
    baseline_label: str = ""
    verdict: str = ""

    def __post_init__(self) -> None:
        self.measured = float(self.measured)
        self.baseline = float(self.baseline)
        self.verdict = REPRODUCED if holds(self.measured, self.baseline, self.rule, self.margin) else NOT_REPRODUCED

    @property
    def reproduced(self) -> bool:
        """True when the verdict is "reproduced"."""
        return self.verdict == REPRODUCED

    def text(self, digits: int = 3) -> str:
        """One line: claim, the two numbers, the rule and the verdict."""
        m = f"{self.measured:.{digits}f}" + (f" ({self.measured_label})" if self.measured_label else "")
        b = f"{self.baseline:.{digits}f}" + (f" ({self.baseline_label})" if self.baseline_label else "")
        return f"{self.claim}: {m} vs baseline {b} (needs {_rule_text(self.rule, self.margin)}): {self.verdict}"

    def title(self, digits: int = 2) -> str:
        """A short figure title: the claim followed by its verdict and the two numbers."""
        return (f"{self.claim}: {self.verdict.upper()} "
                f"({self.measured:.{digits}f} vs {self.baseline:.{digits}f})")


class ClaimTable:
    """The claims of one tutorial, printed as a table and written as JSON.

    Parameters
    ----------
    name : str
        Tutorial name (the JSON file is ``claims_<name>.json``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.claims: list[Claim] = []

    def add(self, claim: str, measured: float, baseline: float, rule: str = ">", margin: float = 0.0,
            measured_label: str = "", baseline_label: str = "", echo: bool = True) -> Claim:
        """Record a claim; its verdict is computed from ``measured``, ``baseline``, ``rule`` and ``margin``.

        Parameters
        ----------
        claim : str
            The statement, as a reader would read it ("model FC beats shuffled FC").
        measured, baseline : float
            The measured value and the value it is judged against.
        rule : {">", ">=", "<", "<=", "within"}
            See :func:`holds`.
        margin : float
            How far beyond the baseline the measured value must be.
        measured_label, baseline_label : str
            What the two numbers are ("model r", "shuffled-label r").
        echo : bool
            Print the claim's line now.

        Returns
        -------
        Claim
        """
        c = Claim(claim, measured, baseline, rule, float(margin), measured_label, baseline_label)
        self.claims.append(c)
        if echo:
            print(c.text())
        return c

    def rows(self) -> list[dict]:
        """The claims as dicts (JSON-serialisable)."""
        return [asdict(c) for c in self.claims]

    def format(self, digits: int = 3) -> str:
        """The table as text: claim | measured | baseline | rule | verdict."""
        head = ("claim", "measured", "baseline", "rule", "verdict")
        body = [(c.claim,
                 f"{c.measured:.{digits}f}" + (f" ({c.measured_label})" if c.measured_label else ""),
                 f"{c.baseline:.{digits}f}" + (f" ({c.baseline_label})" if c.baseline_label else ""),
                 _rule_text(c.rule, c.margin), c.verdict) for c in self.claims]
        widths = [max(len(r[k]) for r in [head, *body]) for k in range(len(head))]
        line = lambda r: " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
        sep = "-+-".join("-" * w for w in widths)
        return "\n".join([f"Claims of {self.name}", line(head), sep, *map(line, body)])

    def report(self, out_dir: str | os.PathLike | None = None) -> Path | None:
        """Print the table; write ``claims_<name>.json`` into ``out_dir`` when given."""
        print(self.format())
        if out_dir is None:
            return None
        path = Path(out_dir) / f"claims_{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"tutorial": self.name, "claims": self.rows()}, fh, indent=1)
        return path


def tutorial_data_home(folder: str) -> Path:
    """The data folder a tutorial reads ``folder`` from.

    The documented lookup first (:func:`neurodyn.datasets.get_data_home`:
    ``$NEURODYN_DATA``, else ``~/neurodyn_data``). Only when ``NEURODYN_DATA``
    is unset and ``~/neurodyn_data`` lacks ``folder``, a repository checkout's
    shared data folder (``../shared/data`` beside the checkout) is used when it
    holds ``folder``; otherwise the lookup's folder is returned and the loader
    downloads the files (where the registry has a URL) or says where to put them.

    Parameters
    ----------
    folder : str
        The data set's folder name (``"aplysia_pedal_bruno2017"``, ...).

    Returns
    -------
    pathlib.Path
    """
    from .datasets import get_data_home

    home = get_data_home()
    if (home / folder).is_dir() or os.environ.get("NEURODYN_DATA", "").strip():
        return home
    checkout = Path(__file__).resolve().parents[2] / "shared" / "data"
    return checkout if (checkout / folder).is_dir() else home
