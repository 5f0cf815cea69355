"""Anonymous tips: a rate-limited public intake and a reply token to follow the case."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.incidents.domain.incidents import Incident
from binhyen.incidents.service.common import Context, TooManyRequests
from binhyen.incidents.service.incidents import (
    Reported,
    ReportIncident,
    add_message,
    incident_of_token,
    report_incident,
)
from binhyen.incidents.store.incidents import Message
from binhyen.kit.problems import NotFound


async def check_rate(ctx: Context, bucket: str, client: str) -> None:
    """Refuse (429 with Retry-After) a client over the public endpoints' limit."""
    settings = ctx.settings
    window = timedelta(seconds=settings.tip_rate_window_seconds)
    count, ends = await ctx.stores.rate_limits.hit(bucket, client, window, salt=settings.tip_key())
    if count > settings.tip_rate_limit:
        wait = max(1, int((ends - datetime.now(UTC)).total_seconds()) + 1)
        error = TooManyRequests(
            f"too many requests from your connection; try again in {wait} seconds"
        )
        error.headers = {"Retry-After": str(wait)}
        raise error


async def submit_tip(
    cmd: ReportIncident,
    *,
    contact: Mapping[str, Any] | None,
    client: str,
    ctx: Context,
) -> Reported:
    """File an anonymous tip; the tipster gets a reply token, their contact stays masked."""
    await check_rate(ctx, "tips", client)
    # Retry keys are the tipster's own: scoped to their (hashed) address, so another
    # tipster reusing a key never receives this tip's reply token.
    secret = ctx.settings.tip_key()
    scope = hmac.new(secret.encode(), f"client:{client}".encode(), hashlib.sha256).hexdigest()
    return await report_incident(
        cmd, ctx=ctx, principal=None, channel="anonymous", identity=contact, client_id=scope
    )


@dataclass(frozen=True)
class TipView:
    """What a tipster sees of their tip: no staff names, no other reports."""

    incident: Incident
    messages: list[Message]


async def _tip(ctx: Context, token: str) -> Incident:
    incident_id = incident_of_token(ctx.settings.tip_keys(), token)
    incident = await ctx.stores.incidents.get(incident_id) if incident_id else None
    if incident is None or incident.reporter.kind != "anonymous":
        raise NotFound("no tip matches this reply token")
    return incident


async def view_tip(ctx: Context, token: str) -> TipView:
    """The tip a reply token opens, with the conversation."""
    incident = await _tip(ctx, token)
    return TipView(incident, await ctx.stores.incidents.messages(incident.id))


async def tip_message(ctx: Context, token: str, body: str, *, client: str) -> Message:
    """The tipster answers a question or adds information."""
    await check_rate(ctx, "tip-messages", client)
    incident = await _tip(ctx, token)
    return await add_message(incident, author="reporter", author_id=None, body=body, ctx=ctx)
