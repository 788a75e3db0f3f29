"""neurodyn.graph (see the package docstring of neurodyn)."""
