"""neurodyn.rsa (see the package docstring of neurodyn)."""
