"""Simulators for neurodyn.graph."""

__all__: list[str] = []
