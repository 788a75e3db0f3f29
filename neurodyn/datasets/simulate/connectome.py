"""Simulators for neurodyn.connectome."""

__all__: list[str] = []
