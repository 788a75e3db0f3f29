"""Every estimator's docstring has an ``Examples`` section, and it runs (issue 17).

The estimators are those of the subpackages' ``__all__`` (the registry shared
with ``test_sklearn_contract.py``). Each class docstring must hold a numpydoc
``Examples`` section whose doctest checks at least one printed value; it is run
with :mod:`doctest` (the class docstring only, not its methods) with
``ELLIPSIS | NORMALIZE_WHITESPACE`` and ``np`` (numpy) in its namespace, and a
mismatch fails with doctest's report. A layout, convergence or numerical
warning raised by an example fails it too: an example must show a clean call.

Estimators whose docstrings are being edited by other work are listed in
``PENDING`` with the reason and skipped while they have no ``Examples``
section; once one is there it runs like the others.
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("_api_registry", Path(__file__).with_name("_api_registry.py"))
reg = sys.modules.get("_api_registry") or importlib.util.module_from_spec(_spec)
if "_api_registry" not in sys.modules:
    sys.modules["_api_registry"] = reg
    _spec.loader.exec_module(reg)

ESTIMATORS = {name: obj for name, obj in reg.public_callables().items() if reg.is_estimator(obj)}

_PENDING_REASON = "example added after the glm work lands"
PENDING = {
}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# warnings that mean an example shows a bad call (transposed layout, no convergence,
# overflow or invalid values); deprecations of third-party libraries are not judged here
BAD_WARNINGS = (UserWarning, RuntimeWarning)
_EXAMPLES = re.compile(r"^Examples\n-{8,}\n", re.MULTILINE)


def _docstring(obj) -> str:
    """The class's own docstring (not inherited), dedented."""
    return inspect.cleandoc(obj.__dict__.get("__doc__") or "")


def _has_examples(obj) -> bool:
    return bool(_EXAMPLES.search(_docstring(obj)))


def _doctests(name: str, obj) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    return finder.find(obj, name, module=inspect.getmodule(obj), globs={"np": np})


def test_estimators_found():
    # the registry still lists the estimators this file was written against
    names = {name.split(".")[-1] for name in ESTIMATORS}
    assert {"DynamicConnectome", "NonnegativeCP", "TopologicalRSA", "FunctionalGraph",
            "GraphFeatures", "FeatureMask", "LinearCKA", "RBFCKA", "ShapeMetric",
            "EncodingModel"} <= names


def test_pending_are_estimators():
    stale = sorted(set(PENDING) - set(ESTIMATORS))
    assert not stale, f"PENDING lists names that are not public estimators: {stale}"


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_docstring_example_runs(name):
    obj = ESTIMATORS[name]
    if not _has_examples(obj):
        if name in PENDING:
            pytest.skip(PENDING[name])
        pytest.fail(f"{name}'s class docstring has no numpydoc 'Examples' section")
    tests = _doctests(name, obj)
    examples = [ex for t in tests for ex in t.examples]
    assert examples, f"{name}'s 'Examples' section holds no '>>>' example"
    assert any(ex.want.strip() for ex in examples), \
        f"{name}'s example prints nothing that doctest checks"
    if "device" in inspect.signature(obj).parameters:
        assert all("device=\"cpu\"" in t.docstring or "device='cpu'" in t.docstring for t in tests), \
            f"{name}'s example must pass device=\"cpu\" (the suite and the docs run on a CPU)"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for t in tests:
            runner.run(t, out=report.append, clear_globs=True)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}'s docstring example failed:\n" + "".join(report)
    assert result.attempted == len(examples)
    bad = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
           if issubclass(w.category, BAD_WARNINGS)]
    assert not bad, f"{name}'s docstring example raised warnings:\n" + "\n".join(bad)
