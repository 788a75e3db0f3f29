"""Simulators for neurodyn.glm."""

__all__: list[str] = []
