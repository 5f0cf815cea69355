"""The channels this replica can use, built from its settings."""

from __future__ import annotations

from binhyen.notifications.channels.base import Channel
from binhyen.notifications.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every channel that is configured, by name."""
    return {}
