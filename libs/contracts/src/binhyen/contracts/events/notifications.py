"""Notification events: alerts (the security gong), deliveries, and the public alert feed.

- ``binhyen.notifications.alerts.v1`` (internal): every change of an alert — raised, a step
  of its escalation, acknowledged, updated, closed — with its reach so far.
- ``binhyen.notifications.deliveries.v1`` (internal): the state of each delivery of an
  alert to one recipient over one channel (queued, sent, delivered, failed, acknowledged).
  Recipients appear by id only (a resident's person id, a staff account id, an endpoint id).
- ``binhyen.notifications.public.v1`` (public): each alert as CAP 1.2 would carry it, for
  other agencies — what, where (hamlets), how urgent; never who was alerted or who answered.
"""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from binhyen.contracts.envelope import EventData, Sequenced
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/notifications"

# CAP 1.2 (OASIS, 2010) value lists, §3.2.1 and §3.2.2.
CapStatus = Literal["Actual", "Exercise", "System", "Test", "Draft"]
CapMsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
CapCategory = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
]  # fmt: skip
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

AlertTrigger = Literal["incident_reported", "deadline_missed", "handed_to_police", "manual"]
AlertStatus = Literal["active", "acknowledged", "closed"]
DeliveryStatus = Literal["queued", "sent", "delivered", "failed", "acknowledged", "skipped"]
RecipientKind = Literal["resident", "staff", "endpoint"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reach(_Model):
    """How far an alert got: counted per recipient (a person or an endpoint)."""

    recipients: int = Field(ge=0, description="Recipients targeted so far.")
    households: int = Field(ge=0, description="Distinct households among the residents targeted.")
    delivered: int = Field(ge=0, description="Recipients with at least one delivered message.")
    acknowledged: int = Field(ge=0, description="Recipients who acknowledged.")
    first_ack_at: datetime | None = Field(None, description="First acknowledgement, UTC.")


class AlertInfo(_Model):
    """One language of an alert (a CAP ``info`` block)."""

    language: str = Field(description="BCP 47 language, e.g. vi-VN or en-US.")
    category: CapCategory = Field(description="CAP category.")
    event: str = Field(description="What kind of event, e.g. Trộm cắp tài sản.")
    urgency: CapUrgency = Field(description="CAP urgency.")
    severity: CapSeverity = Field(description="CAP severity.")
    certainty: CapCertainty = Field(description="CAP certainty.")
    headline: str = Field(description="One line.")
    description: str = Field(description="What happened; never a person's name or address.")
    instruction: str | None = Field(None, description="What to do.")
    expires: datetime = Field(description="When the alert stops applying, UTC.")
    area_desc: str = Field(description="The hamlets, by name.")


class AlertState(EventData):
    """The full current state of an alert (every alert event carries it)."""

    alert_id: str = Field(description="Id of the alert (the CAP identifier's last part).")
    trigger: AlertTrigger = Field(description="What raised it.")
    incident_id: str | None = Field(None, description="The incident behind it, if any.")
    hamlet_ids: list[str] = Field(min_length=1, description="The hamlets it concerns.")
    policy_id: str | None = Field(None, description="The alert policy it follows.")
    policy_version: int | None = Field(None, ge=1, description="That policy's version.")
    cap_status: CapStatus = Field(description="Actual, Exercise (a drill) or Test.")
    msg_type: CapMsgType = Field(description="Alert, Update or Cancel.")
    references: list[str] = Field(
        default_factory=list, description="Ids of the alerts an Update or Cancel refers to."
    )
    infos: list[AlertInfo] = Field(min_length=1, description="One block per language.")
    status: AlertStatus = Field(description="active, acknowledged or closed.")
    step: int = Field(ge=0, description="Index of the escalation step reached.")
    round: int = Field(ge=0, description="How many times the escalation steps were repeated.")
    reach: Reach = Field(description="Reach so far.")
    sent_at: datetime = Field(description="When it was raised, UTC.")
    closed_reason: str | None = Field(None, description="resolved, cancelled, expired, …")
    version: int = Field(ge=1, description="Version of the alert; +1 per change.")

    def subject(self) -> str:
        """Return the alert id."""
        return self.alert_id


class AlertRaised(AlertState):
    """An alert was raised: its first step's recipients are being notified."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.raised.v1"
    source: ClassVar[str] = SOURCE


class AlertEscalated(AlertState):
    """Nobody acknowledged in time: the next escalation step's recipients are notified."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.escalated.v1"
    source: ClassVar[str] = SOURCE


class AlertAcknowledged(AlertState):
    """A responder acknowledged (only the first acknowledgement emits this)."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.acknowledged.v1"
    source: ClassVar[str] = SOURCE


class AlertReminded(AlertState):
    """Acknowledged but not resolved in time: the responders are reminded."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.reminded.v1"
    source: ClassVar[str] = SOURCE


class AlertClosed(AlertState):
    """The alert ended: incident resolved or cancelled, the gong cancelled, or expired."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.closed.v1"
    source: ClassVar[str] = SOURCE


ALERT_EVENTS: tuple[type[AlertState], ...] = (
    AlertRaised,
    AlertEscalated,
    AlertAcknowledged,
    AlertReminded,
    AlertClosed,
)

ALERTS_TOPIC = TopicSpec(
    name="binhyen.notifications.alerts.v1",
    key="alert id",
    description=(
        "Every change of an alert (raised, escalated, acknowledged, reminded, closed) with "
        "its full state and reach. Internal: reporting builds its alert statistics from it."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=-1,
    event_types=tuple(e.event_type for e in ALERT_EVENTS),
)


class DeliveryChanged(EventData):
    """A delivery (one alert, one recipient, one channel) changed state."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.delivery.changed.v1"
    source: ClassVar[str] = SOURCE

    delivery_id: str = Field(description="Deterministic id of (alert, recipient, channel).")
    alert_id: str = Field(description="The alert.")
    cap_status: CapStatus = Field(description="Actual, Exercise or Test (of the alert).")
    hamlet_id: str | None = Field(None, description="The recipient's hamlet, if a resident.")
    recipient_kind: RecipientKind = Field(description="resident, staff or endpoint.")
    recipient_id: str = Field(description="Person id, account id or endpoint id. Internal.")
    household_id: str | None = Field(None, description="The resident's household, if any.")
    channel: str = Field(description="webhook, email, sms, zns, push or apprise.")
    status: DeliveryStatus = Field(description="State after the change.")
    attempts: int = Field(ge=0, description="Send attempts so far.")
    error_code: str | None = Field(None, description="Last error, as a code (no message).")
    at: datetime = Field(description="When, UTC.")
    version: int = Field(ge=1, description="Version of the delivery; +1 per change.")

    def subject(self) -> str:
        """Return the delivery id."""
        return self.delivery_id


DELIVERIES_TOPIC = TopicSpec(
    name="binhyen.notifications.deliveries.v1",
    key="delivery id",
    description=(
        "State of every delivery of an alert to one recipient over one channel. Internal: "
        "recipients are ids of residents, accounts and endpoints."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=90 * 24 * 3600 * 1000,  # the alerts topic keeps each alert's reach for good
    event_types=(DeliveryChanged.event_type,),
)


class PublicAlert(Sequenced):
    """An alert as other agencies may know it (CAP 1.2 fields, no recipient, no responder)."""

    event_type: ClassVar[str] = "vn.binhyen.notifications.alert.public.v1"
    source: ClassVar[str] = SOURCE

    identifier: str = Field(description="CAP identifier, unique for this sender.")
    sender: str = Field(description="CAP sender (the deployment's sender id).")
    sent: datetime = Field(description="When it was sent, UTC.")
    status: CapStatus = Field(description="Actual, Exercise or Test.")
    msg_type: CapMsgType = Field(description="Alert, Update or Cancel.")
    references: list[str] = Field(
        default_factory=list, description="CAP identifiers this one updates or cancels."
    )
    hamlet_ids: list[str] = Field(min_length=1, description="The hamlets concerned.")
    infos: list[AlertInfo] = Field(min_length=1, description="One block per language.")
    active: bool = Field(description="False once the alert is closed or cancelled.")

    def subject(self) -> str:
        """Return the CAP identifier."""
        return self.identifier


PUBLIC_TOPIC = TopicSpec(
    name="binhyen.notifications.public.v1",
    key="CAP identifier",
    description=(
        "For other agencies: every gong alert as CAP 1.2 fields (what, where by hamlet, how "
        "urgent, until when). Never who was alerted, who answered, or who reported."
    ),
    compacted=True,
    visibility="public",
    event_types=(PublicAlert.event_type,),
)
