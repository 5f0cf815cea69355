"""Incidents use cases."""
