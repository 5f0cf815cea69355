"""Incidents domain (no I/O)."""
