"""Registry domain: admin units and their rules (no I/O)."""
