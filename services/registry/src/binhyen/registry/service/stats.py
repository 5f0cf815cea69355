"""Use cases for stats."""
