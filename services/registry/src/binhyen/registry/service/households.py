"""Use cases for households."""
