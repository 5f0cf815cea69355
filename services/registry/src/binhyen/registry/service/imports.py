"""Use cases for imports."""
