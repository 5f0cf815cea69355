"""The Incident aggregate and its lifecycle state machine.

reported → acknowledged → assigned → in_progress → resolved, with rejected,
duplicate, escalated (handed to the police) and reopened. Each action is allowed
from some states and to some roles; every accepted action appends one timeline
entry, which the service turns into exactly one event.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from binhyen.incidents.domain.categories import Category, Severity
from binhyen.incidents.domain.deadlines import Deadline, DeadlineKind, meet

Status = Literal[
    "reported",
    "acknowledged",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
    "duplicate",
    "escalated",
    "reopened",
]
Action = Literal[
    "acknowledge",
    "assign",
    "start",
    "resolve",
    "reject",
    "mark_duplicate",
    "escalate",
    "reopen",
]
ReporterKind = Literal["user", "anonymous", "open311"]

STATUSES: tuple[Status, ...] = (
    "reported",
    "acknowledged",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
    "duplicate",
    "escalated",
    "reopened",
)
ACTIONS: tuple[Action, ...] = (
    "acknowledge",
    "assign",
    "start",
    "resolve",
    "reject",
    "mark_duplicate",
    "escalate",
    "reopen",
)
CLOSED: frozenset[Status] = frozenset({"resolved", "rejected", "duplicate"})
OPEN: frozenset[Status] = frozenset(set(STATUSES) - CLOSED - {"escalated"})
WAITING_ACK: frozenset[Status] = frozenset({"reported", "reopened"})

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    "acknowledge": (frozenset({"reported", "reopened"}), "acknowledged"),
    "assign": (frozenset({"acknowledged", "assigned", "in_progress", "reopened"}), "assigned"),
    "start": (frozenset({"assigned"}), "in_progress"),
    "resolve": (frozenset({"in_progress", "escalated"}), "resolved"),
    "reject": (frozenset({"reported", "acknowledged", "reopened"}), "rejected"),
    "mark_duplicate": (frozenset({"reported", "acknowledged", "reopened"}), "duplicate"),
    "escalate": (
        frozenset({"acknowledged", "assigned", "in_progress", "reopened"}),
        "escalated",
    ),
    "reopen": (frozenset({"resolved", "rejected", "duplicate", "escalated"}), "reopened"),
}

_STAFF = frozenset({"admin", "commune_officer", "hamlet_officer", "police"})
# Who may take each action (a role held at the incident's hamlet or above).
ROLE_RULES: dict[Action, frozenset[str]] = {
    "acknowledge": _STAFF,
    "assign": _STAFF,
    "start": _STAFF | {"team_member"},
    "resolve": _STAFF | {"team_member"},
    "reject": _STAFF,
    "mark_duplicate": _STAFF,
    "escalate": _STAFF,
    "reopen": frozenset({"admin", "commune_officer", "police"}),
}
# A case handed to the police is closed or handed back by the police alone.
POLICE_ONLY_FROM: dict[Status, frozenset[str]] = {"escalated": frozenset({"admin", "police"})}
NEEDS_REASON: frozenset[Action] = frozenset({"resolve", "reject", "reopen"})

MAX_DESCRIPTION = 4000
MAX_REASON = 1000
FUTURE_SLACK = timedelta(minutes=5)
OLDEST = timedelta(days=5 * 365)
# Vietnam's mainland and islands (Hoàng Sa, Trường Sa) fit in this box.
VIETNAM_LAT = (6.0, 23.5)
VIETNAM_LON = (102.0, 117.9)


class IncidentRuleViolation(ValueError):
    """A request breaks a rule of the incident (422 or 409, naming the field)."""

    status = 422

    def __init__(self, message: str, *, field: str, status: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        if status is not None:
            self.status = status


class TransitionNotAllowed(ValueError):
    """The action cannot be taken from the incident's current state (409)."""

    status = 409

    def __init__(self, action: str, current: Status) -> None:
        self.action = action
        self.current = current
        self.allowed = allowed_actions(current)
        allowed = ", ".join(self.allowed) or "none"
        closed = " (the incident is closed; reopen it first)" if current in CLOSED else ""
        super().__init__(
            f"cannot {action.replace('_', ' ')} an incident that is {current}{closed}; "
            f"allowed now: {allowed}"
        )


class RoleNotAllowed(PermissionError):
    """The caller's roles do not allow the action (403)."""

    def __init__(self, action: str, roles: Collection[str]) -> None:
        self.roles = sorted(roles)
        super().__init__(
            f"{action.replace('_', ' ')} needs one of these roles: {', '.join(self.roles)}"
        )


def allowed_actions(status: Status) -> list[Action]:
    """The actions that may be taken from ``status``."""
    return [a for a in ACTIONS if status in TRANSITIONS[a][0]]


def roles_for(action: Action, status: Status) -> frozenset[str]:
    """The roles that may take ``action`` on an incident in ``status``."""
    roles = ROLE_RULES[action]
    limited = POLICE_ONLY_FROM.get(status)
    return roles & limited if limited is not None else roles


@dataclass(frozen=True)
class Point:
    """A WGS 84 position (GeoJSON order: longitude, latitude)."""

    lon: float
    lat: float

    def distance_m(self, other: Point) -> float:
        """Great-circle distance in metres."""
        r = 6_371_000.0
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * r * math.atan2(math.sqrt(a), math.sqrt(max(0.0, 1 - a)))  # stable near antipodes


@dataclass(frozen=True)
class Reporter:
    """Who reported: a signed-in user, an anonymous tipster or an Open311 client."""

    kind: ReporterKind
    subject: str | None = None  # the user's id, or the Open311 client's id; None if anonymous


@dataclass(frozen=True)
class Assignee:
    """A team, or a person (a member of a team), handling the incident."""

    kind: Literal["team", "person"]
    id: str
    team_id: str | None = None  # the team a person was assigned through


@dataclass(frozen=True)
class Handoff:
    """The record of a case handed to the police."""

    handed_at: datetime
    handed_by: str
    to_unit_id: str
    to_name: str
    summary: str
    items: tuple[str, ...] = ()
    to_officer: str | None = None
    case_reference: str | None = None
    received_at: datetime | None = None
    received_by: str | None = None


@dataclass(frozen=True)
class MediationSession:
    """One mediation session of a dispute."""

    id: str
    held_at: datetime
    place: str | None
    mediators: tuple[str, ...]
    outcome: Literal["agreement", "no_agreement", "adjourned"]
    notes: str | None
    recorded_by: str


@dataclass(frozen=True)
class Mediation:
    """Mediation of a dispute: mediators, sessions and the final outcome."""

    mediators: tuple[str, ...] = ()
    sessions: tuple[MediationSession, ...] = ()
    outcome: Literal["agreement", "no_agreement"] | None = None
    concluded_at: datetime | None = None


@dataclass(frozen=True)
class Entry:
    """One line of an incident's timeline (each is one event)."""

    seq: int
    at: datetime
    kind: str  # reported, an Action, mediation_*, escalation_received, deadline_missed, message
    actor: str
    from_status: Status | None = None
    to_status: Status | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    """Something reported in a hamlet, and how it is being handled."""

    id: str
    hamlet_id: str
    unit_path: tuple[str, ...]  # the hamlet's ancestors, root first, then the hamlet
    category: str
    category_version: int
    group: str
    ba_khong: bool
    severity: Severity
    description: str
    occurred_at: datetime
    reported_at: datetime
    reporter: Reporter
    status: Status = "reported"
    version: int = 1
    location: Point | None = None
    address: str | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    assignee: Assignee | None = None
    duplicate_of: str | None = None
    resolution: str | None = None
    mediation: Mediation | None = None
    earlier_mediations: tuple[Mediation, ...] = ()  # concluded rounds before a reopening
    handoff: Handoff | None = None
    deadlines: tuple[Deadline, ...] = ()
    timeline: tuple[Entry, ...] = ()

    @property
    def closed(self) -> bool:
        """Resolved, rejected or a duplicate."""
        return self.status in CLOSED

    def entry(self, kind: str, actor: str, at: datetime, **kw: Any) -> Entry:
        """The next timeline entry."""
        return Entry(seq=len(self.timeline) + 1, at=at, kind=kind, actor=actor, **kw)


def check_report(
    *,
    category: Category,
    description: str,
    occurred_at: datetime,
    now: datetime,
    location: Point | None,
) -> None:
    """Refuse a report whose content breaks a rule (field-named)."""
    if not category.active:
        raise IncidentRuleViolation(
            f"category {category.code} is retired; choose another", field="category"
        )
    text = description.strip()
    if not text:
        raise IncidentRuleViolation("describe what happened", field="description")
    if len(text) > MAX_DESCRIPTION:
        raise IncidentRuleViolation(
            f"the description is {len(text)} characters; at most {MAX_DESCRIPTION}",
            field="description",
        )
    if occurred_at.tzinfo is None:
        raise IncidentRuleViolation("give the time with its time zone", field="occurred_at")
    if occurred_at > now + FUTURE_SLACK:
        raise IncidentRuleViolation("the time it happened is in the future", field="occurred_at")
    if occurred_at < now - OLDEST:
        raise IncidentRuleViolation(
            "the time it happened is more than five years ago", field="occurred_at"
        )
    if location is not None:
        check_location(location)


def check_location(location: Point, field_name: str = "location") -> None:
    """Refuse a position outside Vietnam."""
    if not (
        VIETNAM_LAT[0] <= location.lat <= VIETNAM_LAT[1]
        and VIETNAM_LON[0] <= location.lon <= VIETNAM_LON[1]
    ):
        raise IncidentRuleViolation(
            "the location is outside Vietnam (GeoJSON order is [longitude, latitude])",
            field=field_name,
        )


def report(
    *,
    incident_id: str,
    hamlet_id: str,
    unit_path: tuple[str, ...],
    category: Category,
    description: str,
    occurred_at: datetime,
    now: datetime,
    reporter: Reporter,
    reporter_ref: str,
    severity: Severity | None,
    location: Point | None,
    address: str | None,
    answers: Mapping[str, Any],
    deadlines: tuple[Deadline, ...],
) -> Incident:
    """A newly reported incident (its first entry is the report, by the reporter's reference)."""
    check_report(
        category=category,
        description=description,
        occurred_at=occurred_at,
        now=now,
        location=location,
    )
    incident = Incident(
        id=incident_id,
        hamlet_id=hamlet_id,
        unit_path=unit_path,
        category=category.code,
        category_version=category.version,
        group=category.group,
        ba_khong=category.ba_khong,
        severity=severity or category.default_severity,
        description=description.strip(),
        occurred_at=occurred_at,
        reported_at=now,
        reporter=reporter,
        location=location,
        address=address.strip() or None if address else None,
        answers=dict(answers),
        deadlines=deadlines,
    )
    # Who reported stays out of the timeline: staff see a reference, the police may unmask.
    first = incident.entry("reported", reporter_ref, now, to_status="reported")
    return replace(incident, timeline=(first,))


def with_reporter_ref(incident: Incident, ref: str) -> Incident:
    """The incident with its ``reported`` entry attributed to the reporter's reference.

    Reports stored before pseudonymous references named the account in that entry;
    read through this, no view shows it.
    """
    timeline = tuple(
        replace(e, actor=ref) if e.kind == "reported" and e.actor != ref else e
        for e in incident.timeline
    )
    return replace(incident, timeline=timeline) if timeline != incident.timeline else incident


@dataclass(frozen=True)
class Change:
    """What an action asks for, beyond the action itself."""

    reason: str | None = None
    assignee: Assignee | None = None
    duplicate_of: str | None = None
    handoff: Handoff | None = None


def transition(
    incident: Incident,
    action: Action,
    *,
    actor: str,
    roles: Collection[str],
    at: datetime,
    change: Change | None = None,
) -> Incident:
    """The incident after ``action`` by ``actor`` holding ``roles``; raises if not allowed."""
    change = change or Change()
    sources, target = TRANSITIONS[action]
    if incident.status not in sources:
        raise TransitionNotAllowed(action, incident.status)
    allowed_roles = roles_for(action, incident.status)
    if not set(roles) & allowed_roles:
        raise RoleNotAllowed(action, allowed_roles)
    reason = (change.reason.strip() or None) if change.reason else None
    if action in NEEDS_REASON and not reason:
        raise IncidentRuleViolation(f"say why ({action.replace('_', ' ')})", field="reason")
    if reason and len(reason) > MAX_REASON:
        raise IncidentRuleViolation(f"the reason is longer than {MAX_REASON}", field="reason")
    updates: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if action == "assign":
        if change.assignee is None:
            raise IncidentRuleViolation("name the team or person to assign", field="assignee")
        updates["assignee"] = change.assignee
        details["assignee"] = {"kind": change.assignee.kind, "id": change.assignee.id}
    elif action == "mark_duplicate":
        if not change.duplicate_of:
            raise IncidentRuleViolation("name the incident this duplicates", field="duplicate_of")
        if change.duplicate_of == incident.id:
            raise IncidentRuleViolation("an incident cannot duplicate itself", field="duplicate_of")
        updates["duplicate_of"] = change.duplicate_of
        details["duplicate_of"] = change.duplicate_of
    elif action == "escalate":
        if change.handoff is None:
            raise IncidentRuleViolation("give the hand-off record", field="handoff")
        updates["handoff"] = change.handoff
        details["to_unit_id"] = change.handoff.to_unit_id
    elif action == "resolve":
        updates["resolution"] = reason
    elif action == "reopen":
        updates["resolution"] = None
        updates["duplicate_of"] = None
    deadlines = incident.deadlines
    kinds: set[DeadlineKind] = set()
    if incident.status in WAITING_ACK and target not in WAITING_ACK:
        kinds.add("acknowledge")
    if target in CLOSED or target == "escalated":
        kinds |= {"acknowledge", "resolve"}
    if kinds:
        deadlines = meet(deadlines, kinds, at)
    entry = incident.entry(
        action,
        actor,
        at,
        from_status=incident.status,
        to_status=target,
        reason=reason,
        details=details,
    )
    return replace(
        incident,
        **updates,
        status=target,
        deadlines=deadlines,
        version=incident.version + 1,
        timeline=(*incident.timeline, entry),
    )


def receive_handoff(
    incident: Incident, *, actor: str, roles: Collection[str], at: datetime, case_reference: str
) -> Incident:
    """The police acknowledge receipt of a handed-off case, giving their case reference."""
    if incident.status != "escalated" or incident.handoff is None:
        raise IncidentRuleViolation(
            f"incident {incident.id} is {incident.status}, not handed to the police",
            field="status",
            status=409,
        )
    if not set(roles) & {"police", "admin"}:
        raise RoleNotAllowed("acknowledge receipt", {"police", "admin"})
    if incident.handoff.received_at is not None:
        raise IncidentRuleViolation(
            f"receipt was acknowledged on {incident.handoff.received_at:%d/%m/%Y}",
            field="case_reference",
            status=409,
        )
    if not case_reference.strip():
        raise IncidentRuleViolation("give the police case reference", field="case_reference")
    handoff = replace(
        incident.handoff, case_reference=case_reference.strip(), received_at=at, received_by=actor
    )
    entry = incident.entry(
        "escalation_received",
        actor,
        at,
        from_status=incident.status,
        to_status=incident.status,
        details={"case_reference": handoff.case_reference},
    )
    return replace(
        incident,
        handoff=handoff,
        version=incident.version + 1,
        timeline=(*incident.timeline, entry),
    )


MEDIATION_STATES: frozenset[Status] = frozenset(
    {"acknowledged", "assigned", "in_progress", "reopened"}
)
MEDIATION_ROLES = frozenset({"admin", "commune_officer", "hamlet_officer", "team_member"})


def _reopened_since_concluded(incident: Incident) -> bool:
    concluded = [e.seq for e in incident.timeline if e.kind == "mediation_concluded"]
    return bool(concluded) and any(
        e.kind == "reopen" and e.seq > concluded[-1] for e in incident.timeline
    )


def _check_mediation(
    incident: Incident, roles: Collection[str], *, new_round: bool = False
) -> tuple[Mediation, tuple[Mediation, ...]]:
    """The mediation to add to, and the concluded rounds before it.

    A concluded mediation takes no more sessions; once the incident is reopened after it
    (an agreement that did not hold), a new session starts a new round and the concluded
    one is kept among the earlier rounds.
    """
    if incident.group != "dispute":
        raise IncidentRuleViolation(
            f"only disputes are mediated; this is a {incident.group} incident",
            field="category",
            status=409,
        )
    if incident.status not in MEDIATION_STATES:
        raise TransitionNotAllowed("mediate", incident.status)
    if not set(roles) & MEDIATION_ROLES:
        raise RoleNotAllowed("mediate", MEDIATION_ROLES)
    mediation = incident.mediation or Mediation()
    earlier = incident.earlier_mediations
    if mediation.outcome is not None:
        if new_round and _reopened_since_concluded(incident):
            return Mediation(), (*earlier, mediation)
        raise IncidentRuleViolation(
            f"mediation was concluded ({mediation.outcome.replace('_', ' ')}); "
            "a new round starts only after the incident is reopened",
            field="mediation",
            status=409,
        )
    return mediation, earlier


def record_session(
    incident: Incident, session: MediationSession, *, roles: Collection[str], now: datetime
) -> Incident:
    """Record a mediation session of a dispute (the first after a reopening starts a new round)."""
    mediation, earlier = _check_mediation(incident, roles, new_round=True)
    if not session.mediators:
        raise IncidentRuleViolation("name at least one mediator", field="mediators")
    if session.held_at > now + FUTURE_SLACK:
        raise IncidentRuleViolation("a session is recorded after it is held", field="held_at")
    if session.held_at < incident.reported_at - timedelta(days=1):
        raise IncidentRuleViolation("the session is before the report", field="held_at")
    mediators = tuple(dict.fromkeys((*mediation.mediators, *session.mediators)))
    mediation = replace(mediation, mediators=mediators, sessions=(*mediation.sessions, session))
    entry = incident.entry(
        "mediation_session",
        session.recorded_by,
        now,
        from_status=incident.status,
        to_status=incident.status,
        details={"session_id": session.id, "outcome": session.outcome, "round": len(earlier) + 1},
    )
    return replace(
        incident,
        mediation=mediation,
        earlier_mediations=earlier,
        version=incident.version + 1,
        timeline=(*incident.timeline, entry),
    )


def conclude_mediation(
    incident: Incident,
    *,
    agreement: bool,
    summary: str,
    actor: str,
    roles: Collection[str],
    at: datetime,
) -> Incident:
    """Conclude mediation: agreement resolves the dispute; failure leaves it to escalate."""
    mediation, earlier = _check_mediation(incident, roles)
    if not mediation.sessions:
        raise IncidentRuleViolation(
            "record at least one mediation session first", field="mediation", status=409
        )
    if not summary.strip():
        raise IncidentRuleViolation("summarise the outcome", field="summary")
    outcome: Literal["agreement", "no_agreement"] = "agreement" if agreement else "no_agreement"
    mediation = replace(mediation, outcome=outcome, concluded_at=at)
    target: Status = "resolved" if agreement else incident.status
    entry = incident.entry(
        "mediation_concluded",
        actor,
        at,
        from_status=incident.status,
        to_status=target,
        reason=summary.strip(),
        details={"outcome": outcome, "round": len(earlier) + 1},
    )
    return replace(
        incident,
        mediation=mediation,
        status=target,
        resolution=summary.strip() if agreement else incident.resolution,
        deadlines=meet(incident.deadlines, {"acknowledge", "resolve"}, at)
        if agreement
        else incident.deadlines,
        version=incident.version + 1,
        timeline=(*incident.timeline, entry),
    )
