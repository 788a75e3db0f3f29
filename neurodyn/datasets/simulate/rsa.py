"""Simulators for neurodyn.rsa."""

__all__: list[str] = []
