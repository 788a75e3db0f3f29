"""neurodyn.compare (see the package docstring of neurodyn)."""
