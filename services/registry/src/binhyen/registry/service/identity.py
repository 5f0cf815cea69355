"""Use cases for identity: users, grants, tokens, signing keys."""

from __future__ import annotations

from binhyen.kit.runtime import Runtime
from binhyen.registry.store import Stores


async def on_startup(rt: Runtime, stores: Stores) -> None:
    """Load or create the signing keys, trust them, and ensure the bootstrap admin exists."""
