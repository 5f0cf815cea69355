"""Use cases for identity."""
