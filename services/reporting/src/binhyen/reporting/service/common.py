"""What the reporting use cases share."""

from __future__ import annotations

from dataclasses import dataclass

from binhyen.kit.runtime import ServiceContext
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import Stores


@dataclass(frozen=True)
class Context(ServiceContext):
    """Settings, stores and the relay's doors (see ServiceContext)."""

    settings: Settings
    stores: Stores
