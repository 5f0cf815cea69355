"""Request and response schemas shared by the incident routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from binhyen.incidents.api.common import local
from binhyen.incidents.domain.categories import Severity
from binhyen.incidents.domain.incidents import (
    MAX_DESCRIPTION,
    Incident,
    Point,
    Status,
    allowed_actions,
)
from binhyen.incidents.service.incidents import ReportIncident
from binhyen.kit.text import SafeMultiline, SafeText


class GeoPoint(BaseModel):
    """A GeoJSON Point: coordinates are [longitude, latitude] (WGS 84)."""

    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(min_length=2, max_length=2)

    @field_validator("coordinates")
    @classmethod
    def _ranges(cls, value: list[float]) -> list[float]:
        lon, lat = value
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("coordinates are [longitude, latitude] in degrees")
        return value

    def point(self) -> Point:
        """The domain point."""
        return Point(lon=self.coordinates[0], lat=self.coordinates[1])

    @classmethod
    def of(cls, point: Point | None) -> GeoPoint | None:
        """The GeoJSON form of a point."""
        return None if point is None else cls(coordinates=[point.lon, point.lat])


class IncidentCreate(BaseModel):
    """A report of something that happened in a hamlet."""

    hamlet_id: SafeText = Field(min_length=1, max_length=64, description="Where it happened.")
    category: SafeText = Field(min_length=1, max_length=40, description="A code from /categories.")
    description: SafeMultiline = Field(min_length=1, max_length=MAX_DESCRIPTION)
    occurred_at: AwareDatetime = Field(description="When it happened (with time zone).")
    severity: Severity | None = Field(None, description="Defaults to the category's.")
    location: GeoPoint | None = Field(None, description="Where exactly, if known (in Vietnam).")
    address: SafeText | None = Field(None, max_length=300, description="Address or landmark.")
    answers: dict[str, Any] = Field(
        default_factory=dict, description="Answers to the category's questions, by code."
    )

    def command(self, idempotency_key: str | None) -> ReportIncident:
        """The use-case command."""
        return ReportIncident(
            hamlet_id=self.hamlet_id,
            category=self.category,
            description=self.description,
            occurred_at=self.occurred_at,
            severity=self.severity,
            location=self.location.point() if self.location else None,
            address=self.address,
            answers=self.answers,
            idempotency_key=idempotency_key,
        )


class AssigneeRead(BaseModel):
    """Who handles the incident."""

    kind: Literal["team", "person"]
    id: str
    team_id: str | None = None


class DeadlineRead(BaseModel):
    """A deadline of the incident."""

    kind: Literal["acknowledge", "resolve"]
    due: datetime
    due_local: str | None
    met_at: datetime | None
    missed_at: datetime | None


class SessionRead(BaseModel):
    """A mediation session."""

    id: str
    held_at: datetime
    place: str | None
    mediators: list[str]
    outcome: str
    notes: str | None


class MediationRead(BaseModel):
    """Mediation of a dispute."""

    mediators: list[str]
    sessions: list[SessionRead]
    outcome: str | None
    concluded_at: datetime | None


class HandoffRead(BaseModel):
    """The hand-off record of a case given to the police."""

    handed_at: datetime
    handed_by: str
    to_unit_id: str
    to_name: str
    to_officer: str | None
    summary: str
    items: list[str]
    case_reference: str | None
    received_at: datetime | None
    received_by: str | None


class ReporterRead(BaseModel):
    """How it was reported; who reported is shown to nobody but the police (unmask)."""

    kind: Literal["user", "anonymous", "open311"]
    is_you: bool = Field(description="True if you filed this report.")


class IncidentRead(BaseModel):
    """An incident. Staff-only parts are null when a reporter reads their own report."""

    id: str
    hamlet_id: str
    unit_path: list[str]
    category: str
    category_version: int
    group: str
    ba_khong: bool
    severity: Severity
    status: Status
    description: str
    occurred_at: datetime
    occurred_at_local: str | None = Field(description="HH:MM dd/mm/yyyy, Asia/Ho_Chi_Minh.")
    reported_at: datetime
    reported_at_local: str | None
    location: GeoPoint | None
    address: str | None
    answers: dict[str, Any]
    reporter: ReporterRead
    assignee: AssigneeRead | None = None
    duplicate_of: str | None = None
    duplicates: list[str] | None = Field(None, description="Reports marked as duplicates of it.")
    resolution: str | None = None
    mediation: MediationRead | None = None
    earlier_mediations: list[MediationRead] = Field(
        default_factory=list,
        description="Concluded rounds of mediation before the dispute was reopened, oldest first.",
    )
    handoff: HandoffRead | None = None
    deadlines: list[DeadlineRead] = Field(default_factory=list)
    allowed_actions: list[str] = Field(description="Actions the state allows now (roles aside).")
    version: int

    @classmethod
    def of(
        cls,
        i: Incident,
        *,
        staff: bool,
        viewer: str | None,
        duplicates: list[str] | None = None,
    ) -> IncidentRead:
        """Build the response; ``staff`` False hides assignment, hand-off and deadlines."""
        read = cls(
            id=i.id,
            hamlet_id=i.hamlet_id,
            unit_path=list(i.unit_path),
            category=i.category,
            category_version=i.category_version,
            group=i.group,
            ba_khong=i.ba_khong,
            severity=i.severity,
            status=i.status,
            description=i.description,
            occurred_at=i.occurred_at,
            occurred_at_local=local(i.occurred_at),
            reported_at=i.reported_at,
            reported_at_local=local(i.reported_at),
            location=GeoPoint.of(i.location),
            address=i.address,
            answers=dict(i.answers),
            reporter=ReporterRead(
                kind=i.reporter.kind,
                is_you=viewer is not None
                and i.reporter.kind != "anonymous"
                and i.reporter.subject == viewer,
            ),
            duplicate_of=i.duplicate_of,
            resolution=i.resolution,
            allowed_actions=list(allowed_actions(i.status)) if staff else [],
            version=i.version,
        )
        if not staff:
            return read
        read.duplicates = duplicates
        read.assignee = (
            AssigneeRead(kind=i.assignee.kind, id=i.assignee.id, team_id=i.assignee.team_id)
            if i.assignee
            else None
        )
        read.deadlines = [
            DeadlineRead(
                kind=d.kind,
                due=d.due,
                due_local=local(d.due),
                met_at=d.met_at,
                missed_at=d.missed_at,
            )
            for d in i.deadlines
        ]
        # Same field names as the domain records (tuples become lists).
        if i.mediation is not None:
            read.mediation = MediationRead.model_validate(i.mediation, from_attributes=True)
        read.earlier_mediations = [
            MediationRead.model_validate(m, from_attributes=True) for m in i.earlier_mediations
        ]
        if i.handoff is not None:
            read.handoff = HandoffRead.model_validate(i.handoff, from_attributes=True)
        return read
