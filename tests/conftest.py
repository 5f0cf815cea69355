"""Cross-service test fixtures."""
