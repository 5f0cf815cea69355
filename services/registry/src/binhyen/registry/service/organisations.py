"""Use cases for organisations."""
