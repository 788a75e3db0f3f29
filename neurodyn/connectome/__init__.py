"""neurodyn.connectome (see the package docstring of neurodyn)."""
