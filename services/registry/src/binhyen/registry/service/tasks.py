"""Use cases for tasks."""
