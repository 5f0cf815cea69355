"""The one interface every channel implements: send one message, say what happened.

A channel makes **one attempt** per call. Retries, backoff, fallback to the next channel and
the delivery records are the dispatcher's (service.dispatch): a channel only classifies the
outcome. The message carries a deterministic ``delivery_id`` (alert × recipient × channel),
which the channel hands to the provider as its deduplication key (the webhook id, the SMS
gateway's request id, the e-mail Message-ID, the push topic), so a send repeated after a crash
reaches the person once.

Errors are reported as short codes (``timeout``, ``http_503``, ``smtp_451``, ``circuit_open``),
never as the provider's text: that may echo a phone number, an address or the message itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class Outcome(StrEnum):
    """What one attempt achieved."""

    SENT = "sent"  # the provider accepted it; a delivery report may follow
    DELIVERED = "delivered"  # the provider confirmed delivery (a 2xx webhook answer is one)
    RETRY = "retry"  # not now: try again later (timeouts, 5xx, 429, rate limit, open circuit)
    FAILED = "failed"  # never: a wrong address, a refused message (try the next channel)
    GONE = "gone"  # the target is gone for good (webhook 410, push 404/410): disable it


@dataclass(frozen=True)
class Message:
    """One message to one recipient over one channel."""

    delivery_id: str  # deterministic; the provider's deduplication key
    alert_id: str
    target: Mapping[str, str]  # channel-specific: see each channel's TARGET_FIELDS
    language: str  # BCP 47, e.g. "vi" or "en"
    subject: str  # one line (the headline)
    text: str  # short text (SMS, ZNS, push body)
    body: str  # full text (e-mail)
    payload: Mapping[str, Any] = field(default_factory=dict)  # structured (webhook JSON)
    ack_url: str | None = None  # the recipient's single-use acknowledgement link
    critical: bool = False  # high urgency: passes quiet hours, push urgency "high"
    ttl_seconds: int = 3600  # how long delivering it is still worth it


@dataclass(frozen=True)
class Result:
    """The outcome of one attempt."""

    outcome: Outcome
    provider_id: str | None = None  # the provider's message id, for delivery reports
    error_code: str | None = None  # short code, never the provider's text
    retry_after: float | None = None  # seconds the provider asked us to wait, if it did


class Channel(Protocol):
    """A way to reach someone: webhook, email, sms, zns, push, apprise."""

    name: ClassVar[str]
    # The keys ``Message.target`` must hold for this channel (checked before a delivery is
    # queued, so a bad target is refused when it is configured, not when the gong sounds).
    target_fields: ClassVar[tuple[str, ...]]

    async def send(self, message: Message) -> Result:
        """Make one attempt; never raise for the provider's or the network's failures."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


RETRY_AFTER_CAP = 24 * 3600.0  # seconds: no provider gets to park a message for longer


def retry_after_seconds(
    value: str | None, *, now: float, cap: float = RETRY_AFTER_CAP
) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delta-seconds or HTTP-date), capped.

    None when there is none or it does not parse (RFC 9110 §10.2.3); a date in the past is 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" (RFC 5322 §3.3): UTC, its sender did not say more
        when = when.replace(tzinfo=UTC)
    return min(max(when.timestamp() - now, 0.0), cap)
