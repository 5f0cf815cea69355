"""Incident events: the full history (internal), the police hand-off, the public feed.

- ``binhyen.incidents.incidents.v1`` (internal): every change of an incident, each
  carrying the incident's state after it. Never the reporter's identity: the reporter
  appears as a pseudonymous ``reporter_ref``, stable on one incident, unlinkable across.
- ``binhyen.incidents.escalations.v1`` (internal, for the police): hand-off records.
- ``binhyen.incidents.public.v1`` (public): category, severity, status, hamlet and
  time of each incident, nothing else.
- ``binhyen.incidents.categories.v1`` (public): the category catalogue — each category's
  code, names, group and default severity — so subscribers name what incidents carry by code.
"""

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from binhyen.contracts.envelope import EventData, Sequenced
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/incidents"

IncidentStatus = Literal[
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
Severity = Literal["low", "medium", "high", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


class GeoPoint(_Model):
    """A WGS 84 position."""

    lon: float = Field(description="Longitude, degrees.")
    lat: float = Field(description="Latitude, degrees.")


class AssigneeRef(_Model):
    """Who handles the incident."""

    kind: Literal["team", "person"] = Field(description="A team, or a person (team member).")
    id: str = Field(description="Team id, or person id (registry).")
    team_id: str | None = Field(None, description="The team a person was assigned through.")


class IncidentSnapshot(_Model):
    """The state of an incident after a change (no reporter identity, ever)."""

    incident_id: str = Field(description="Id of the incident.")
    hamlet_id: str = Field(description="Hamlet where it happened.")
    unit_path: list[str] = Field(description="The hamlet's ancestors, root first, then it.")
    category: str = Field(description="Category code.")
    category_version: int = Field(ge=1, description="Version of the category it was filed under.")
    group: str = Field(description="crime, social_evil, traffic, dispute, fire or other.")
    ba_khong: bool = Field(description="Counts towards the Ba Không campaign.")
    severity: Severity = Field(description="Severity.")
    status: IncidentStatus = Field(description="Lifecycle state.")
    description: str = Field(description="What happened (free text; internal only).")
    occurred_at: datetime = Field(description="When it happened, UTC.")
    reported_at: datetime = Field(description="When it was reported, UTC.")
    location: GeoPoint | None = Field(None, description="Where, if given.")
    address: str | None = Field(None, description="Address text, if given.")
    answers: dict[str, Any] = Field(
        default_factory=dict, description="Answers to the category's questions."
    )
    reporter_kind: Literal["user", "anonymous", "open311"] = Field(
        description="How it was reported (who, never)."
    )
    reporter_ref: str | None = Field(
        None,
        description=(
            "Pseudonymous reference of the reporter: the same on every event of this incident, "
            "unrelated on another incident, never an account id. The actor of the reporter's "
            "own entries (the report, their messages). Absent from producers before it existed."
        ),
    )
    assignee: AssigneeRef | None = Field(None, description="Who handles it.")
    duplicate_of: str | None = Field(None, description="The incident this one duplicates.")
    resolution: str | None = Field(None, description="How it was resolved.")
    version: int = Field(ge=1, description="Version of the incident; +1 per change.")


class IncidentEvent(EventData):
    """Base of the internal incident events: the state after, who, when, which entry."""

    incident: IncidentSnapshot = Field(description="The incident after the change.")
    actor: str = Field(
        description=(
            "User id of the staff member who made the change, scheduler, or, for the "
            "reporter's own entries, their reporter_ref (never the reporter's account)."
        )
    )
    at: datetime = Field(description="When, UTC.")
    seq: int = Field(ge=1, description="Number of the entry in the incident's timeline.")

    def subject(self) -> str:
        """Return the incident id."""
        return self.incident.incident_id


class IncidentReported(IncidentEvent):
    """An incident was reported."""

    event_type: ClassVar[str] = "vn.binhyen.incident.reported.v1"
    source: ClassVar[str] = SOURCE


class IncidentTransitioned(IncidentEvent):
    """An incident moved through its lifecycle (acknowledge, assign, resolve, …)."""

    event_type: ClassVar[str] = "vn.binhyen.incident.transitioned.v1"
    source: ClassVar[str] = SOURCE

    action: str = Field(description="The action taken, e.g. acknowledge, escalate, reopen.")
    from_status: IncidentStatus = Field(description="State before.")
    to_status: IncidentStatus = Field(description="State after.")
    reason: str | None = Field(None, description="Why, as the actor wrote it.")
    details: dict[str, Any] = Field(
        default_factory=dict, description="assignee, duplicate_of or to_unit_id, by action."
    )


class MediationSessionRecorded(IncidentEvent):
    """A mediation session of a dispute was recorded."""

    event_type: ClassVar[str] = "vn.binhyen.incident.mediation_recorded.v1"
    source: ClassVar[str] = SOURCE

    session_id: str = Field(description="Id of the session.")
    held_at: datetime = Field(description="When the session was held, UTC.")
    outcome: Literal["agreement", "no_agreement", "adjourned"] = Field(
        description="Outcome of this session."
    )
    mediator_count: int = Field(ge=1, description="How many mediators took part.")


class MediationConcluded(IncidentEvent):
    """Mediation of a dispute ended, with or without agreement."""

    event_type: ClassVar[str] = "vn.binhyen.incident.mediation_concluded.v1"
    source: ClassVar[str] = SOURCE

    outcome: Literal["agreement", "no_agreement"] = Field(description="Agreement reached or not.")
    sessions: int = Field(ge=1, description="Sessions held.")


class DeadlineMissed(IncidentEvent):
    """An incident was not acknowledged, or not resolved, in time."""

    event_type: ClassVar[str] = "vn.binhyen.incident.deadline_missed.v1"
    source: ClassVar[str] = SOURCE

    deadline: Literal["acknowledge", "resolve"] = Field(description="Which deadline.")
    due: datetime = Field(description="When it was due, UTC.")


class ReporterUnmasked(IncidentEvent):
    """Someone viewed the identity of an incident's reporter (the audit trail)."""

    event_type: ClassVar[str] = "vn.binhyen.incident.reporter_unmasked.v1"
    source: ClassVar[str] = SOURCE

    reason: str = Field(description="Why the identity was needed.")


class MessageAdded(IncidentEvent):
    """Staff and the reporter exchanged a message (the text stays in the service)."""

    event_type: ClassVar[str] = "vn.binhyen.incident.message_added.v1"
    source: ClassVar[str] = SOURCE

    author: Literal["staff", "reporter"] = Field(description="Who wrote it.")


class IncidentNoted(IncidentEvent):
    """Another entry of the timeline, e.g. the police acknowledged receipt of a hand-off."""

    event_type: ClassVar[str] = "vn.binhyen.incident.noted.v1"
    source: ClassVar[str] = SOURCE

    kind: str = Field(description="What happened, e.g. escalation_received.")
    details: dict[str, Any] = Field(default_factory=dict, description="Facts of the entry.")


TOPIC = TopicSpec(
    name="binhyen.incidents.incidents.v1",
    key="incident id",
    description=(
        "Full history of every incident: each change with the state after it. Descriptions "
        "and locations: internal only. Never the reporter's identity."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=-1,
    event_types=(
        IncidentReported.event_type,
        IncidentTransitioned.event_type,
        MediationSessionRecorded.event_type,
        MediationConcluded.event_type,
        DeadlineMissed.event_type,
        ReporterUnmasked.event_type,
        MessageAdded.event_type,
        IncidentNoted.event_type,
    ),
)


class HandoffRecord(_Model):
    """What was handed to the police, when, to whom, and their receipt."""

    handed_at: datetime = Field(description="When the case was handed over, UTC.")
    handed_by: str = Field(description="User id of who handed it over.")
    to_unit_id: str = Field(description="Unit whose police received it (e.g. the commune).")
    to_name: str = Field(description="Name of the receiving police, e.g. Công an xã Kỳ Nam.")
    to_officer: str | None = Field(None, description="Officer it was handed to, if known.")
    summary: str = Field(description="What was handed over.")
    items: list[str] = Field(default_factory=list, description="Documents and items handed over.")
    case_reference: str | None = Field(None, description="Police case reference, once received.")
    received_at: datetime | None = Field(None, description="When the police acknowledged receipt.")
    received_by: str | None = Field(None, description="User id of who acknowledged receipt.")


class IncidentHandedToPolice(EventData):
    """A case was handed to the police (escalation)."""

    event_type: ClassVar[str] = "vn.binhyen.incident.handed_to_police.v1"
    source: ClassVar[str] = SOURCE

    incident: IncidentSnapshot = Field(description="The incident as handed over.")
    handoff: HandoffRecord = Field(description="The hand-off record.")

    def subject(self) -> str:
        """Return the incident id."""
        return self.incident.incident_id


class PoliceReceiptAcknowledged(IncidentHandedToPolice):
    """The police acknowledged receipt of a handed-off case and gave their case reference."""

    event_type: ClassVar[str] = "vn.binhyen.incident.police_receipt.v1"
    source: ClassVar[str] = SOURCE


ESCALATIONS_TOPIC = TopicSpec(
    name="binhyen.incidents.escalations.v1",
    key="incident id",
    description=(
        "Cases handed to the police, with the hand-off record and later the police receipt. "
        "For police systems (internal: descriptions and locations)."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=-1,
    event_types=(IncidentHandedToPolice.event_type, PoliceReceiptAcknowledged.event_type),
)


class PublicIncident(Sequenced):
    """An incident as the public may know it: category, severity, status, hamlet, time."""

    event_type: ClassVar[str] = "vn.binhyen.incident.public.v1"
    source: ClassVar[str] = SOURCE

    incident_id: str = Field(description="Opaque id of the incident.")
    hamlet_id: str = Field(description="Hamlet where it happened (no finer location).")
    category: str = Field(description="Category code.")
    severity: Severity = Field(description="Severity.")
    status: IncidentStatus = Field(description="Lifecycle state.")
    occurred_at: datetime = Field(description="When it happened, UTC, to the hour.")
    status_at: datetime = Field(description="When it reached this status, UTC.")

    def subject(self) -> str:
        """Return the incident id."""
        return self.incident_id


PUBLIC_TOPIC = TopicSpec(
    name="binhyen.incidents.public.v1",
    key="incident id",
    description=(
        "For other agencies: category, severity, status, hamlet and time of every incident. "
        "No description, no names, no exact location, no reporter."
    ),
    compacted=True,
    visibility="public",
    event_types=(PublicIncident.event_type,),
)


class CategoryDefined(Sequenced):
    """A category of the catalogue as it is now: added, revised, retired or brought back.

    Incidents carry their category's code and group; this is where the code gets its names.
    """

    event_type: ClassVar[str] = "vn.binhyen.incident.category.v1"
    source: ClassVar[str] = SOURCE

    code: str = Field(description="Category code, as incidents carry it.")
    name_vi: str = Field(description="Name in Vietnamese (Unicode NFC).")
    name_en: str = Field(description="Name in English.")
    group: str = Field(description="crime, social_evil, traffic, dispute, fire or other.")
    ba_khong: bool = Field(description="Counts under the Ba Không movement (drugs, gambling…).")
    default_severity: Severity = Field(description="Severity a report gets unless it says.")
    active: bool = Field(description="False once retired: no new reports, history keeps it.")
    version: int = Field(ge=1, description="Version of the category; +1 per revision.")

    def subject(self) -> str:
        """Return the category code."""
        return self.code


CATEGORIES_TOPIC = TopicSpec(
    name="binhyen.incidents.categories.v1",
    key="category code",
    description=(
        "The incident category catalogue: each category's latest definition (names, group, "
        "Ba Không, default severity, retired or not). Reference data, no personal data."
    ),
    compacted=True,
    visibility="public",
    event_types=(CategoryDefined.event_type,),
)
