"""neurodyn.rnn (see the package docstring of neurodyn)."""
