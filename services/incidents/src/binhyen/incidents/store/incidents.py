"""``incidents``: one document per incident, with its timeline, messages and pending events.

The reporter's identity (if a tipster gave one) lives in the same document under
``reporter_identity`` so it is written atomically with the report, but every read
here leaves it out; only :meth:`IncidentStore.unmask` returns it, and that read is
one atomic write that also appends to the audit trail and the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.incidents.domain.deadlines import Deadline, DeadlineKind, next_due
from binhyen.incidents.domain.incidents import (
    Assignee,
    Entry,
    Handoff,
    Incident,
    Mediation,
    MediationSession,
    Point,
    Reporter,
)
from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import OUTBOX

Document = dict[str, Any]
IDENTITY = "reporter_identity"
HIDDEN: Document = {
    IDENTITY: 0,
    OUTBOX: 0,
    "tip_token_hash": 0,
    "_outbox_owner": 0,
    "_outbox_until": 0,
}


@dataclass(frozen=True)
class Message:
    """A message between staff and the reporter of a tip."""

    id: str
    at: datetime
    author: str  # staff | reporter
    text: str
    author_id: str | None = None


@dataclass(frozen=True)
class Filters:
    """What a list query narrows to (every field optional)."""

    units: Sequence[str] | None = None  # incidents whose unit path meets one of these
    scope: Sequence[str] | None = None  # ... and (the caller's grants) one of these
    own_reports_of: str | None = None  # ... or filed by this user (whatever the units)
    reporter_subject: str | None = None
    statuses: Sequence[str] = ()
    categories: Sequence[str] = ()
    severities: Sequence[str] = ()
    groups: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None  # folded search text
    with_location: bool = False


def _point(value: Point | None) -> Document | None:
    return None if value is None else {"type": "Point", "coordinates": [value.lon, value.lat]}


def incident_state(incident: Incident) -> Document:
    """The stored fields of an incident (everything the API may change)."""
    return {
        "hamlet_id": incident.hamlet_id,
        "unit_path": list(incident.unit_path),
        "category": incident.category,
        "category_version": incident.category_version,
        "group": incident.group,
        "ba_khong": incident.ba_khong,
        "severity": incident.severity,
        "description": incident.description,
        "occurred_at": incident.occurred_at,
        "reported_at": incident.reported_at,
        "reporter": {"kind": incident.reporter.kind, "subject": incident.reporter.subject},
        "status": incident.status,
        "version": incident.version,
        "location": _point(incident.location),
        "address": incident.address,
        "answers": dict(incident.answers),
        "assignee": None
        if incident.assignee is None
        else {
            "kind": incident.assignee.kind,
            "id": incident.assignee.id,
            "team_id": incident.assignee.team_id,
        },
        "duplicate_of": incident.duplicate_of,
        "resolution": incident.resolution,
        "mediation": None if incident.mediation is None else _mediation_doc(incident.mediation),
        "earlier_mediations": [_mediation_doc(m) for m in incident.earlier_mediations],
        "handoff": None if incident.handoff is None else _handoff_doc(incident.handoff),
        "deadlines": [
            {"kind": d.kind, "due": d.due, "met_at": d.met_at} for d in incident.deadlines
        ],
        "next_due": next_due(incident.deadlines),
        "timeline": [_entry_doc(e) for e in incident.timeline],
    }


def _mediation_doc(m: Mediation) -> Document:
    return {
        "mediators": list(m.mediators),
        "sessions": [
            {
                "id": s.id,
                "held_at": s.held_at,
                "place": s.place,
                "mediators": list(s.mediators),
                "outcome": s.outcome,
                "notes": s.notes,
                "recorded_by": s.recorded_by,
            }
            for s in m.sessions
        ],
        "outcome": m.outcome,
        "concluded_at": m.concluded_at,
    }


def _handoff_doc(h: Handoff) -> Document:
    return {
        "handed_at": h.handed_at,
        "handed_by": h.handed_by,
        "to_unit_id": h.to_unit_id,
        "to_name": h.to_name,
        "to_officer": h.to_officer,
        "summary": h.summary,
        "items": list(h.items),
        "case_reference": h.case_reference,
        "received_at": h.received_at,
        "received_by": h.received_by,
    }


def _entry_doc(e: Entry) -> Document:
    return {
        "seq": e.seq,
        "at": e.at,
        "kind": e.kind,
        "actor": e.actor,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "reason": e.reason,
        "details": dict(e.details),
    }


def _to_mediation(m: Document) -> Mediation:
    return Mediation(
        mediators=tuple(m["mediators"]),
        sessions=tuple(
            MediationSession(
                id=s["id"],
                held_at=s["held_at"],
                place=s.get("place"),
                mediators=tuple(s["mediators"]),
                outcome=s["outcome"],
                notes=s.get("notes"),
                recorded_by=s["recorded_by"],
            )
            for s in m["sessions"]
        ),
        outcome=m.get("outcome"),
        concluded_at=m.get("concluded_at"),
    )


def to_incident(doc: Document) -> Incident:
    """An incident from its stored form."""
    missed: Mapping[str, datetime] = doc.get("deadline_missed") or {}
    location = doc.get("location")
    mediation = doc.get("mediation")
    handoff = doc.get("handoff")
    assignee = doc.get("assignee")
    return Incident(
        id=doc["_id"],
        hamlet_id=doc["hamlet_id"],
        unit_path=tuple(doc["unit_path"]),
        category=doc["category"],
        category_version=int(doc["category_version"]),
        group=doc["group"],
        ba_khong=bool(doc["ba_khong"]),
        severity=doc["severity"],
        description=doc["description"],
        occurred_at=doc["occurred_at"],
        reported_at=doc["reported_at"],
        reporter=Reporter(doc["reporter"]["kind"], doc["reporter"].get("subject")),
        status=doc["status"],
        version=int(doc["version"]),
        location=Point(*location["coordinates"]) if location else None,
        address=doc.get("address"),
        answers=doc.get("answers") or {},
        assignee=Assignee(assignee["kind"], assignee["id"], assignee.get("team_id"))
        if assignee
        else None,
        duplicate_of=doc.get("duplicate_of"),
        resolution=doc.get("resolution"),
        mediation=_to_mediation(mediation) if mediation else None,
        earlier_mediations=tuple(_to_mediation(m) for m in doc.get("earlier_mediations") or ()),
        handoff=Handoff(
            handed_at=handoff["handed_at"],
            handed_by=handoff["handed_by"],
            to_unit_id=handoff["to_unit_id"],
            to_name=handoff["to_name"],
            summary=handoff["summary"],
            items=tuple(handoff.get("items", ())),
            to_officer=handoff.get("to_officer"),
            case_reference=handoff.get("case_reference"),
            received_at=handoff.get("received_at"),
            received_by=handoff.get("received_by"),
        )
        if handoff
        else None,
        deadlines=tuple(
            Deadline(d["kind"], d["due"], d.get("met_at"), missed.get(d["kind"]))
            for d in doc.get("deadlines", [])
        ),
        timeline=tuple(
            Entry(
                seq=e["seq"],
                at=e["at"],
                kind=e["kind"],
                actor=e["actor"],
                from_status=e.get("from_status"),
                to_status=e.get("to_status"),
                reason=e.get("reason"),
                details=e.get("details") or {},
            )
            for e in doc.get("timeline", [])
        ),
    )


def to_message(doc: Document) -> Message:
    """A message from its stored form."""
    return Message(doc["id"], doc["at"], doc["author"], doc["text"], doc.get("author_id"))


class IncidentStore:
    """Incidents by id; every change is one guarded single-document write with its events."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["incidents"]

    async def create_indexes(self) -> None:
        """Declare the indexes the queries rely on."""
        await self.collection.create_index(
            [("unit_path", ASCENDING), ("reported_at", DESCENDING)], name="unit_reported"
        )
        await self.collection.create_index(
            [("status", ASCENDING), ("category", ASCENDING)], name="status_category"
        )
        await self.collection.create_index([("next_due", ASCENDING)], name="next_due")
        await self.collection.create_index([("duplicate_of", ASCENDING)], name="duplicate_of")
        await self.collection.create_index(
            [("reporter.subject", ASCENDING), ("reported_at", DESCENDING)], name="reporter"
        )

    async def insert(
        self,
        incident: Incident,
        *,
        outbox: list[Document],
        search: str,
        extra: Document | None = None,
    ) -> bool:
        """Insert a new incident with its events; False if its id exists (a replayed key)."""
        doc = {
            "_id": incident.id,
            **incident_state(incident),
            "search": search,
            "messages": [],
            "created_at": datetime.now(UTC),
            OUTBOX: outbox,
            **(extra or {}),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, incident_id: str) -> Incident | None:
        """The incident, or None."""
        doc = await self.collection.find_one({"_id": incident_id}, HIDDEN)
        return to_incident(doc) if doc else None

    async def secrets(self, incident_id: str) -> Document | None:
        """The idempotency fingerprint and tip token hash of an incident (never the identity)."""
        return await self.collection.find_one(
            {"_id": incident_id},
            {FINGERPRINT: 1, "tip_token_hash": 1, "reporter": 1, "unit_path": 1},
        )

    async def save(
        self,
        incident: Incident,
        *,
        expected_version: int,
        outbox: list[Document],
        search: str | None = None,
        push: Document | None = None,
        reset_missed: bool = False,
    ) -> bool:
        """Write the changed incident and its events unless someone changed it meanwhile."""
        state = incident_state(incident)
        if search is not None:
            state["search"] = search
        if reset_missed:  # new deadlines (a reopened incident): earlier misses are history
            state["deadline_missed"] = {}
        update: Document = {
            "$set": {**state, "updated_at": datetime.now(UTC)},
            "$push": {OUTBOX: {"$each": outbox}, **(push or {})},
        }
        result = await self.collection.update_one(
            {"_id": incident.id, "version": expected_version}, update
        )
        return result.modified_count == 1

    async def add_message(
        self, incident_id: str, message: Message, *, outbox: list[Document]
    ) -> bool:
        """Append a message (and its event) to an incident."""
        result = await self.collection.update_one(
            {"_id": incident_id},
            {
                "$push": {
                    "messages": {
                        "id": message.id,
                        "at": message.at,
                        "author": message.author,
                        "author_id": message.author_id,
                        "text": message.text,
                    },
                    OUTBOX: {"$each": outbox},
                }
            },
        )
        return result.modified_count == 1

    async def messages(self, incident_id: str) -> list[Message]:
        """The messages of an incident, oldest first."""
        doc = await self.collection.find_one({"_id": incident_id}, {"messages": 1})
        return [to_message(m) for m in (doc or {}).get("messages", [])]

    async def unmask(
        self, incident_id: str, *, audit: Document, outbox: list[Document]
    ) -> Document | None:
        """The reporter's identity, read in the same write that records the audit entry."""
        doc = await self.collection.find_one_and_update(
            {"_id": incident_id},
            {"$push": {"unmask_audit": audit, OUTBOX: {"$each": outbox}}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        identity: Document = doc.get(IDENTITY) or {}
        return identity

    async def audit_trail(self, incident_id: str) -> list[Document]:
        """Who unmasked the reporter of an incident, when and why."""
        doc = await self.collection.find_one({"_id": incident_id}, {"unmask_audit": 1})
        return list((doc or {}).get("unmask_audit", []))

    async def record_miss(
        self,
        incident_id: str,
        kind: DeadlineKind,
        at: datetime,
        next_due: datetime | None,
        *,
        outbox: list[Document],
    ) -> bool:
        """Record a missed deadline with its event; False if it was recorded already.

        One guarded single-document write: however many sweeps race, only one finds the
        deadline not yet missed, so the miss is announced once, and its event joins the
        incident's own outbox behind the events written before it (order per incident).
        """
        result = await self.collection.update_one(
            {"_id": incident_id, f"deadline_missed.{kind}": None},
            {
                "$set": {f"deadline_missed.{kind}": at, "next_due": next_due},
                "$push": {OUTBOX: {"$each": outbox}},
            },
        )
        return result.modified_count == 1

    async def set_next_due(self, incident_id: str, next_due: datetime | None) -> None:
        """Move the scheduler's next look at an incident."""
        await self.collection.update_one({"_id": incident_id}, {"$set": {"next_due": next_due}})

    async def due(self, now: datetime, limit: int = 200) -> list[Incident]:
        """Incidents with a deadline due by ``now``."""
        cursor = self.collection.find({"next_due": {"$lte": now}}, HIDDEN, limit=limit)
        return [to_incident(d) async for d in cursor]

    async def duplicates_of(self, incident_id: str) -> list[str]:
        """Ids of incidents marked as duplicates of this one."""
        cursor = self.collection.find({"duplicate_of": incident_id}, {"_id": 1})
        return [d["_id"] async for d in cursor]

    async def find(
        self,
        filters: Filters,
        *,
        limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> list[Incident]:
        """Incidents matching ``filters``, newest report first, after a cursor."""
        query = _query(filters)
        if after is not None:
            at, last_id = after
            query = {
                "$and": [
                    query,
                    {
                        "$or": [
                            {"reported_at": {"$lt": at}},
                            {"reported_at": at, "_id": {"$lt": last_id}},
                        ]
                    },
                ]
            }
        cursor = self.collection.find(
            query,
            HIDDEN | {"timeline": 0, "messages": 0, "unmask_audit": 0},
            sort=[("reported_at", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return [to_incident(d) async for d in cursor]

    async def count(self, filters: Filters) -> int:
        """How many incidents match ``filters``."""
        return await self.collection.count_documents(_query(filters))


def _query(f: Filters) -> Document:
    query: Document = {}
    where: list[Document] = []
    if f.units is not None:
        where.append({"unit_path": {"$in": list(f.units)}})
    if f.scope is not None:
        where.append({"unit_path": {"$in": list(f.scope)}})
    if f.own_reports_of is not None and where:
        query["$or"] = [{"$and": where}, {"reporter.subject": f.own_reports_of}]
    elif where:
        query["$and"] = where
    if f.reporter_subject is not None:
        query["reporter.subject"] = f.reporter_subject
    for name, values in (
        ("status", f.statuses),
        ("category", f.categories),
        ("severity", f.severities),
        ("group", f.groups),
    ):
        if values:
            query[name] = {"$in": list(values)}
    period: Document = {}
    if f.since is not None:
        period["$gte"] = f.since
    if f.until is not None:
        period["$lt"] = f.until
    if period:
        query["occurred_at"] = period
    if f.text:
        words = [re.escape(w) for w in f.text.split() if w]
        if words:
            query.setdefault("$and", []).extend({"search": {"$regex": w}} for w in words)
    if f.with_location:
        query["location"] = {"$ne": None}
    return query
