"""The events an alert or a delivery writes into its outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.envelope import EventData
from binhyen.contracts.events.notifications import (
    ALERTS_TOPIC,
    DELIVERIES_TOPIC,
    PUBLIC_TOPIC,
    AlertInfo,
    AlertState,
    DeliveryChanged,
    PublicAlert,
    Reach,
)
from binhyen.kit.outbox import outbox_entry
from binhyen.notifications.service.common import Context
from binhyen.notifications.store.alerts import Reach as StoredReach

Document = dict[str, Any]


def entry(ctx: Context, data: EventData, topic: str, at: datetime) -> Document:
    """One outbox entry."""
    return outbox_entry(CloudEvent.wrap(data, time=at), ctx.topic(topic))


def alert_event(
    ctx: Context, kind: type[AlertState], alert: Document, reach: StoredReach, at: datetime
) -> Document:
    """An alert event carrying the alert's state after the change."""
    esc = alert.get("escalation", {})
    policy = alert.get("policy") or {}
    data = kind(
        alert_id=alert["_id"],
        trigger=alert["trigger"],
        incident_id=alert.get("incident_id"),
        hamlet_ids=alert["hamlet_ids"],
        policy_id=policy.get("id"),
        policy_version=policy.get("version"),
        cap_status=alert["cap_status"],
        msg_type=alert["msg_type"],
        references=alert.get("references", []),
        infos=[AlertInfo.model_validate(i) for i in alert["infos"]],
        status=alert["status"],
        step=max(int(esc.get("step", 0)), 0),
        round=int(esc.get("round", 0)),
        reach=Reach(
            recipients=reach.recipients,
            households=reach.households,
            delivered=reach.delivered,
            acknowledged=reach.acknowledged,
            first_ack_at=reach.first_ack_at,
        ),
        sent_at=alert["sent_at"],
        closed_reason=alert.get("closed_reason"),
        version=int(alert["version"]),
    )
    return entry(ctx, data, ALERTS_TOPIC.name, at)


def public_event(ctx: Context, alert: Document, at: datetime) -> Document:
    """The alert on the public feed: CAP fields only."""
    data = PublicAlert(
        identifier=cap_identifier(alert["_id"]),
        sender=ctx.settings.cap_sender,
        sent=alert["sent_at"],
        status=alert["cap_status"],
        msg_type=alert["msg_type"],
        references=[cap_identifier(r) for r in alert.get("references", [])],
        hamlet_ids=alert["hamlet_ids"],
        infos=[AlertInfo.model_validate(i) for i in alert["infos"]],
        active=alert["status"] != "closed",
    )
    return entry(ctx, data, PUBLIC_TOPIC.name, at)


def cap_identifier(alert_id: str) -> str:
    """The CAP identifier of an alert (unique for this sender)."""
    return f"urn:uuid:{alert_id}"


def delivery_event(ctx: Context, delivery: Document, at: datetime) -> Document:
    """A delivery's state after a change."""
    data = DeliveryChanged(
        delivery_id=delivery["_id"],
        alert_id=delivery["alert_id"],
        cap_status=delivery["cap_status"],
        hamlet_id=delivery.get("hamlet_id"),
        recipient_kind=delivery["kind"],
        recipient_id=delivery["recipient_id"],
        household_id=delivery.get("household_id"),
        channel=delivery["channel"],
        status=delivery["status"],
        attempts=int(delivery.get("attempts", 0)),
        error_code=delivery.get("error_code"),
        at=at,
        version=int(delivery["version"]),
    )
    return entry(ctx, data, DELIVERIES_TOPIC.name, at)
