"""Simulators for neurodyn.rnn."""

__all__: list[str] = []
