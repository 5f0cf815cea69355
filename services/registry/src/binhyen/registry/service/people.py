"""Use cases for people."""
