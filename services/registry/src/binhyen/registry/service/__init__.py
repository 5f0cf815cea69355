"""Registry use cases, one module per aggregate."""
