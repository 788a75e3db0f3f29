"""neurodyn.glm (see the package docstring of neurodyn)."""
