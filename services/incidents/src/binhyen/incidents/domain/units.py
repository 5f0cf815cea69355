"""The incidents service's view of admin units, replicated from registry events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class UnitReplica:
    """A unit as last announced by the registry."""

    id: str
    kind: str
    level: str
    name: str
    parent_id: str | None
    ancestor_ids: tuple[str, ...]
    valid_from: date
    version: int
    status: str = "active"
    successor_id: str | None = None
    valid_to: date | None = None

    @property
    def is_hamlet(self) -> bool:
        """True for a hamlet-tier unit (thôn, xóm, bản, tổ dân phố), where incidents happen."""
        return self.level == "hamlet"
