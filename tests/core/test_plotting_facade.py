"""neurodyn.plotting exposes each capability's plot functions under one namespace."""

import importlib

import pytest

from neurodyn import plotting


@pytest.mark.parametrize("name", plotting.__all__)
def test_every_listed_plot_function_resolves_to_its_capability(name):
    func = getattr(plotting, name)
    cap = plotting._WHERE[name]
    assert func is getattr(importlib.import_module(f"neurodyn.{cap}.plotting"), name)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'plot_everything'"):
        plotting.plot_everything  # noqa: B018
