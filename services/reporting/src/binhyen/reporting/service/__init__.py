"""Reporting use cases."""
