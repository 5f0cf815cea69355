"""Handlers for other services' topics: recipients from the registry, triggers from incidents."""

from __future__ import annotations

from binhyen.kit.runtime import Subscription
from binhyen.notifications.store import Stores


def subscriptions(*, stores: Stores) -> list[Subscription]:
    """The topics notifications consumes and their handlers."""
    return []
