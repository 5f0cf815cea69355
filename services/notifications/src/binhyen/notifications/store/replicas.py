"""Read-only replicas of the registry: units, residents, teams (event-carried state transfer).

Each document is the latest state the registry announced, applied once per event and never
replaced by an older version (kit ``apply_once`` with the aggregate's sequence and a version
guard). Residents who moved out, died or were removed, and disbanded teams, are deleted: they
disappear from every audience at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.kit.idempotency import apply_once

Document = dict[str, Any]


@dataclass(frozen=True)
class Unit:
    """A unit as last announced."""

    id: str
    name: str
    kind: str
    level: str
    path: tuple[str, ...]  # ancestors, root first, then the unit
    status: str


@dataclass(frozen=True)
class Resident:
    """A resident who may be alerted (state from the registry)."""

    id: str
    unit_id: str
    household_id: str
    name: str
    phones: tuple[str, ...]
    language: str
    channels: tuple[str, ...]
    consent: bool


@dataclass(frozen=True)
class Shift:
    """A duty shift."""

    starts_at: datetime
    ends_at: datetime
    person_ids: tuple[str, ...]


@dataclass(frozen=True)
class Team:
    """A team of a hamlet (or commune), with its members, roster and shifts."""

    id: str
    unit_id: str
    unit_path: tuple[str, ...]
    kind: str
    name: str
    member_ids: tuple[str, ...]  # current members
    roster: tuple[str, ...]  # contact roster, in order
    shifts: tuple[Shift, ...]

    def on_duty(self, at: datetime) -> tuple[str, ...]:
        """The members on a shift covering ``at`` (none if no shift covers it)."""
        found: list[str] = []
        for shift in self.shifts:
            if shift.starts_at <= at < shift.ends_at:
                found.extend(p for p in shift.person_ids if p in self.member_ids)
        return tuple(dict.fromkeys(found))


class _Replica:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def _apply(
        self,
        doc_id: str,
        state: Document,
        *,
        event_id: str,
        sequence: int | None,
        unset: tuple[str, ...] = (),
    ) -> bool:
        version = int(state["version"])
        update: Document = {"$set": {**state, "replicated_at": datetime.now(UTC)}}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        return await apply_once(
            self.collection,
            doc_id=doc_id,
            event_id=event_id,
            sequence=sequence,
            update=update,
            guard={"version": {"$not": {"$gte": version}}},
        )


class UnitStore(_Replica):
    """Units replicated from ``binhyen.registry.units.v1``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        super().__init__(db["units"])

    async def apply(self, state: Document, *, event_id: str, sequence: int | None = None) -> bool:
        """Apply a newer state of a unit; True if it changed the replica."""
        return await self._apply(state["unit_id"], state, event_id=event_id, sequence=sequence)

    async def get(self, unit_id: str) -> Unit | None:
        """The unit, or None."""
        doc = await self.collection.find_one({"_id": unit_id})
        return None if doc is None else _unit(doc)

    async def many(self, unit_ids: list[str]) -> dict[str, Unit]:
        """The units of these ids that are known."""
        found = self.collection.find({"_id": {"$in": unit_ids}})
        return {doc["_id"]: _unit(doc) async for doc in found}


def _unit(doc: Document) -> Unit:
    return Unit(
        id=doc["_id"],
        name=doc.get("name", ""),
        kind=doc.get("kind", ""),
        level=doc.get("level", ""),
        path=(*doc.get("ancestor_ids", []), doc["_id"]),
        status=doc.get("status", "active"),
    )


# What a tombstone forgets of a resident who left the register.
PERSONAL = (
    "full_name",
    "birth_year",
    "phones",
    "household_id",
    "preferred_language",
    "alert_channels",
    "alert_consent",
    "consent_at",
)


# What audiences read of a resident (not the replica's bookkeeping).
READ_FIELDS = {
    "unit_id": 1,
    "household_id": 1,
    "full_name": 1,
    "phones": 1,
    "preferred_language": 1,
    "alert_channels": 1,
    "alert_consent": 1,
}


class ResidentStore(_Replica):
    """Residents replicated from ``binhyen.registry.people.v1`` (personal data)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        super().__init__(db["residents"])

    async def create_indexes(self) -> None:
        """Audiences read the residents of a hamlet."""
        await self.collection.create_index("unit_id")

    async def apply(self, state: Document, *, event_id: str, sequence: int | None = None) -> bool:
        """Apply a newer state; a resident no longer registered keeps only a tombstone."""
        if state.get("status") != "active":
            # A tombstone (no name, no phone) keeps the version, so a stale "registered"
            # redelivered later cannot bring the person back.
            tombstone = {k: state[k] for k in ("person_id", "version", "status")}
            return await self._apply(
                state["person_id"],
                tombstone | {"unit_id": None},
                event_id=event_id,
                sequence=sequence,
                unset=PERSONAL,
            )
        return await self._apply(state["person_id"], state, event_id=event_id, sequence=sequence)

    async def in_units(self, unit_ids: list[str], *, consenting: bool = False) -> list[Resident]:
        """Every active resident of these hamlets (only those who consented, if asked)."""
        query: Document = {"unit_id": {"$in": unit_ids}, "status": "active"}
        if consenting:
            query["alert_consent"] = True
        found = self.collection.find(query, READ_FIELDS)
        return [_resident(doc) async for doc in found]

    async def many(self, person_ids: list[str]) -> dict[str, Resident]:
        """The active residents of these ids."""
        found = self.collection.find({"_id": {"$in": person_ids}, "status": "active"})
        return {doc["_id"]: _resident(doc) async for doc in found}


def _resident(doc: Document) -> Resident:
    return Resident(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        household_id=doc.get("household_id", ""),
        name=doc.get("full_name", ""),
        phones=tuple(doc.get("phones", ())),
        language=str(doc.get("preferred_language") or "vi")[:2],
        channels=tuple(doc.get("alert_channels", ())),
        consent=bool(doc.get("alert_consent")),
    )


class TeamStore(_Replica):
    """Teams replicated from ``binhyen.registry.organisations.v1``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        super().__init__(db["teams"])

    async def create_indexes(self) -> None:
        """Audiences read the teams of a hamlet."""
        await self.collection.create_index("unit_id")

    async def apply(self, state: Document, *, event_id: str, sequence: int | None = None) -> bool:
        """Apply a newer state of a team or organisation."""
        return await self._apply(
            state["organisation_id"], state, event_id=event_id, sequence=sequence
        )

    async def in_units(self, unit_ids: list[str], *, today: date) -> list[Team]:
        """The active teams of these units."""
        found = self.collection.find({"unit_id": {"$in": unit_ids}, "status": "active"})
        return [_team(doc, today) async for doc in found]


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _team(doc: Document, today: date) -> Team:
    members = tuple(
        m["person_id"]
        for m in doc.get("members", [])
        if date.fromisoformat(str(m["valid_from"])[:10]) <= today
        and (not m.get("valid_to") or date.fromisoformat(str(m["valid_to"])[:10]) >= today)
    )
    shifts = tuple(
        Shift(_when(s["starts_at"]), _when(s["ends_at"]), tuple(s.get("person_ids", ())))
        for s in doc.get("shifts", [])
    )
    return Team(
        id=doc["_id"],
        unit_id=doc["unit_id"],
        unit_path=tuple(doc.get("unit_path", ())),
        kind=doc.get("kind", ""),
        name=doc.get("name", ""),
        member_ids=members,
        roster=tuple(p for p in doc.get("contact_roster", []) if p in members),
        shifts=shifts,
    )
