"""What the notifications use cases share: the typed context."""

from __future__ import annotations

from dataclasses import dataclass

from binhyen.kit.runtime import ServiceContext
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores


@dataclass(frozen=True)
class Context(ServiceContext):
    """Settings, stores and the relay's doors (see ServiceContext)."""

    settings: Settings
    stores: Stores
