"""MongoDB access for the notifications service (indexes declared here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


@dataclass(frozen=True)
class Stores:
    """Every store of the service, over one database."""

    db: AsyncDatabase[Document]

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> Stores:
        """The stores over ``db``."""
        return cls(db=db)

    async def create_indexes(self) -> None:
        """Declare every index."""


__all__ = ["Document", "Stores"]
