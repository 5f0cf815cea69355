"""What each consumed event changes in the read model, as data (no I/O).

Every projection document is written in two independent parts, so that the same events give
the same documents whatever the order and however often they arrive:

- **state**: the latest state the owning service announced (every event of the registry,
  incidents and notifications carries the whole state of its aggregate with its version).
  It is written only when its version is higher than the stored one, so a redelivered or
  stale event changes nothing.
- **facts**: what accumulates over an aggregate's life and is not in its latest state (each
  lifecycle transition of an incident with its time, each mediation session, each duty shift
  of a team). Each fact is set at a key of its own (the timeline entry's number, the
  session's id), so applying it twice or after a later one gives the same document.

Only what statistics and evaluations need is kept: no descriptions, addresses, names or phone
numbers, and people only as counts (members of a team) — the read model holds no personal
data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.enrolments import EnrolmentState
from binhyen.contracts.events.households import HouseholdState
from binhyen.contracts.events.incidents import (
    CategoryDefined,
    DeadlineMissed,
    IncidentEvent,
    IncidentHandedToPolice,
    IncidentTransitioned,
    MediationConcluded,
    MediationSessionRecorded,
)
from binhyen.contracts.events.notifications import AlertState
from binhyen.contracts.events.organisations import OrganisationState
from binhyen.contracts.events.units import UnitState

Document = dict[str, Any]

# The read model's collections (each exists once per generation, see store.generations).
UNITS, HOUSEHOLDS, TEAMS, ENROLMENTS, INCIDENTS, ALERTS, CATEGORIES = (
    "units",
    "households",
    "teams",
    "enrolments",
    "incidents",
    "alerts",
    "categories",
)
COLLECTIONS = (UNITS, HOUSEHOLDS, TEAMS, ENROLMENTS, INCIDENTS, ALERTS, CATEGORIES)


@dataclass
class Change:
    """What one event (or, folded, several events of one aggregate) does to one document."""

    collection: str
    doc_id: str
    version: int | None = None  # of ``state``; None: the event carries no state
    state: Document = field(default_factory=dict)
    facts: Document = field(default_factory=dict)  # dotted path -> value, order-free

    def fold(self, other: Change) -> None:
        """Merge a change of the same document: the newer state wins, facts add up."""
        if other.version is not None and (self.version is None or other.version > self.version):
            self.version, self.state = other.version, other.state
        self.facts.update(other.facts)


def member_key(person_id: str) -> str:
    """A stand-in for a member that tells members apart and says nothing else (not the
    registry's id: the read model has no use for it)."""
    return hashlib.sha256(f"binhyen-reporting-member:{person_id}".encode()).hexdigest()[:20]


def _day(value: date | None) -> datetime | None:
    # MongoDB stores datetimes, not dates: a local calendar day is kept as midnight UTC of
    # that day (read back with .date()).
    return None if value is None else datetime(value.year, value.month, value.day)


def changes(event: CloudEvent) -> list[Change]:
    """The changes an event makes; [] for events the read model does not need."""
    data = event.payload()
    if isinstance(data, UnitState):
        return [_unit(data)]
    if isinstance(data, HouseholdState):
        return [_household(data)]
    if isinstance(data, OrganisationState):
        return [_team(data)] if data.category == "team" else []
    if isinstance(data, EnrolmentState):
        return [_enrolment(data)]
    if isinstance(data, IncidentEvent):
        return [_incident(data)]
    if isinstance(data, IncidentHandedToPolice):
        return [_handoff(data)]
    if isinstance(data, AlertState):
        return [_alert(data)]
    if isinstance(data, CategoryDefined):
        return [_category(data)]
    return []


def _unit(data: UnitState) -> Change:
    state = {
        "kind": str(data.kind),
        "level": str(data.level),
        "name": data.name,
        "parent_id": data.parent_id,
        "ancestor_ids": list(data.ancestor_ids),
        "status": data.status,
        "successor_id": data.successor_id,
        "valid_from": _day(data.valid_from),
        "valid_to": _day(data.valid_to),
    }
    return Change(UNITS, data.unit_id, data.version, state)


def _household(data: HouseholdState) -> Change:
    # No address, no head of household, no registration number: only what is counted.
    state = {
        "unit_id": data.unit_id,
        "status": data.status,
        "pledges": [{"year": p.year, "signed_on": _day(p.signed_on)} for p in data.pledges],
        "registered_on": _day(data.registered_on),
        "dissolved_on": _day(data.dissolved_on),
    }
    return Change(HOUSEHOLDS, data.household_id, data.version, state)


def _team(data: OrganisationState) -> Change:
    # Members as periods and a stand-in key (who they are stays in the registry); shifts as
    # facts, so the history of duty is kept when the registry stops announcing old shifts.
    state = {
        "unit_id": data.unit_id,
        "unit_path": list(data.unit_path),
        "kind": str(data.kind),
        "name": data.name,
        "status": data.status,
        "valid_from": _day(data.valid_from),
        "valid_to": _day(data.valid_to),
        "members": [
            {
                "member": member_key(m.person_id),
                "valid_from": _day(m.valid_from),
                "valid_to": _day(m.valid_to),
            }
            for m in data.members
        ],
    }
    facts = {
        f"shifts.{s.shift_id}": {"starts_at": s.starts_at, "ends_at": s.ends_at}
        for s in data.shifts
    }
    return Change(TEAMS, data.organisation_id, data.version, state, facts)


def _enrolment(data: EnrolmentState) -> Change:
    state = {
        "unit_id": data.unit_id,
        "year": data.year,
        "resolution_date": _day(data.resolution_date),
        "registered_on": _day(data.registered_on),
        "status": data.status,
    }
    return Change(ENROLMENTS, data.enrolment_id, data.version, state)


def _team_of(incident: IncidentEvent) -> str | None:
    assignee = incident.incident.assignee
    if assignee is None:
        return None
    return assignee.id if assignee.kind == "team" else assignee.team_id


def _incident(data: IncidentEvent) -> Change:
    incident = data.incident
    state = {
        "hamlet_id": incident.hamlet_id,
        "unit_path": list(incident.unit_path),
        "category": incident.category,
        "group": incident.group,
        "ba_khong": incident.ba_khong,
        "severity": str(incident.severity),
        "status": str(incident.status),
        "occurred_at": incident.occurred_at,
        "reported_at": incident.reported_at,
        "reporter_kind": incident.reporter_kind,
        "team_id": _team_of(data),
        "duplicate_of": incident.duplicate_of,
    }
    facts: Document = {}
    key = f"e{data.seq}"  # the timeline entry's number: one per event of the incident
    if isinstance(data, IncidentTransitioned):
        facts[f"transitions.{key}"] = {
            "action": data.action,
            "from": str(data.from_status),
            "to": str(data.to_status),
            "at": data.at,
        }
    elif isinstance(data, MediationSessionRecorded):
        facts[f"sessions.{data.session_id}"] = {
            "held_at": data.held_at,
            "outcome": data.outcome,
            "mediators": data.mediator_count,
        }
    elif isinstance(data, MediationConcluded):
        facts["mediation"] = {"outcome": data.outcome, "sessions": data.sessions, "at": data.at}
    elif isinstance(data, DeadlineMissed):
        facts[f"deadlines_missed.{key}"] = {"deadline": data.deadline, "due": data.due}
    return Change(INCIDENTS, incident.incident_id, incident.version, state, facts)


def _handoff(data: IncidentHandedToPolice) -> Change:
    # The incident's state is the incidents topic's to write: a hand-over adds facts only.
    handoff = data.handoff
    facts: Document = {"police.handed_at": handoff.handed_at}
    if handoff.received_at is not None:
        facts["police.received_at"] = handoff.received_at
    return Change(INCIDENTS, data.incident.incident_id, None, {}, facts)


def _alert(data: AlertState) -> Change:
    reach = data.reach
    state = {
        "trigger": str(data.trigger),
        "incident_id": data.incident_id,
        "hamlet_ids": list(data.hamlet_ids),
        "cap_status": str(data.cap_status),
        "msg_type": str(data.msg_type),
        "status": str(data.status),
        "sent_at": data.sent_at,
        "closed_reason": data.closed_reason,
        "reach": {
            "recipients": reach.recipients,
            "households": reach.households,
            "delivered": reach.delivered,
            "acknowledged": reach.acknowledged,
            "first_ack_at": reach.first_ack_at,
        },
    }
    return Change(ALERTS, data.alert_id, data.version, state)


def _category(data: CategoryDefined) -> Change:
    # The names the documents give the codes incidents carry.
    state = {
        "name_vi": data.name_vi,
        "name_en": data.name_en,
        "group": data.group,
        "ba_khong": data.ba_khong,
        "active": data.active,
    }
    return Change(CATEGORIES, data.code, data.version, state)


def fold(events: list[CloudEvent]) -> tuple[list[Change], int]:
    """The changes of many events, one per document (a rebuild's batches), and how many
    events were skipped because their data does not validate (the live consumer
    dead-letters those)."""
    folded: dict[tuple[str, str], Change] = {}
    skipped = 0
    for event in events:
        try:
            found = changes(event)
        except (ValidationError, LookupError):
            skipped += 1
            continue
        for change in found:
            key = (change.collection, change.doc_id)
            if key in folded:
                folded[key].fold(change)
            else:
                folded[key] = Change(
                    change.collection,
                    change.doc_id,
                    change.version,
                    dict(change.state),
                    dict(change.facts),
                )
    return list(folded.values()), skipped
