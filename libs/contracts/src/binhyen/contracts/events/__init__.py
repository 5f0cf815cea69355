"""Event data models and their topics, one module per entity stream."""
