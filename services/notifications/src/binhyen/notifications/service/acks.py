"""Acknowledgements: the link in each message, the API for apps, an SMS reply "OK <code>".

A link is ``/a/<token>``: the token is a MAC of (alert, recipient) under the link secret (its
previous value still verifies after a rotation), so it cannot be made for anyone else; it is
single-use: the first answer is recorded, a second one is told it was already answered and
changes nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from binhyen.kit.auth import Principal
from binhyen.kit.problems import Conflict, NotFound
from binhyen.notifications.service import alerts
from binhyen.notifications.service.common import Context, not_found

Document = dict[str, Any]
ACK_KINDS = ("received", "coming")


@dataclass(frozen=True)
class LinkView:
    """What the acknowledgement page shows."""

    alert: Document
    recipient: Document
    texts: dict[str, str]
    answered: str | None  # the earlier answer, if any


class LinkUsed(Conflict):
    """The link was answered already."""


async def _by_token(ctx: Context, token: str) -> tuple[Document, Document]:
    if not 16 <= len(token) <= 64:
        raise NotFound("this link is not valid")
    found = await ctx.stores.recipients.collection.find_one({"link": token})
    if found is not None:
        expected = [
            alerts.link_token(k, found["alert_id"], found["rkey"]) for k in ctx.settings.link_keys()
        ]
        if any(hmac.compare_digest(token, e) for e in expected):
            alert = await ctx.stores.alerts.get(found["alert_id"])
            if alert is not None:
                return alert, found
    raise NotFound("this link is not valid")


async def view(ctx: Context, token: str) -> LinkView:
    """The alert behind a link (404 for a forged or unknown one)."""
    alert, recipient = await _by_token(ctx, token)
    texts = alerts.texts_for(alert, recipient.get("language", "vi"))
    return LinkView(alert, recipient, texts, recipient.get("ack_kind"))


async def answer(ctx: Context, token: str, kind: str) -> LinkView:
    """Record the recipient's answer; LinkUsed if the link was answered before."""
    if kind not in ACK_KINDS:
        raise NotFound("unknown answer")
    alert, recipient = await _by_token(ctx, token)
    if not await alerts.acknowledge(ctx, alert["_id"], recipient["rkey"], kind):
        raise LinkUsed("this link was already answered")
    ctx.doors.escalate()
    return await view(ctx, token)


async def by_staff(ctx: Context, alert_id: str, kind: str, principal: Principal) -> bool:
    """An officer acknowledges in an app; True if recorded now (False: answered before)."""
    alert = await ctx.stores.alerts.get(alert_id)
    if alert is None or not principal.allows("alerts:read", alert.get("scope", [])):
        raise not_found(f"alert {alert_id}")
    rkey = f"staff:{principal.subject}"
    if await ctx.stores.recipients.get(alert_id, rkey) is None:
        raise Conflict("this alert did not reach you; only its recipients acknowledge it")
    recorded = await alerts.acknowledge(ctx, alert_id, rkey, kind)
    ctx.doors.escalate()
    return recorded


async def by_reply(ctx: Context, phone: str, code: str) -> bool:
    """An SMS reply "OK <code>" from ``phone``; True if it acknowledged something."""
    async for doc in ctx.stores.recipients.collection.find({"code": code}):
        if doc.get("acked_at"):
            continue
        phones: tuple[str, ...] = ()
        if doc["kind"] == "resident":
            found = await ctx.stores.residents.many([doc["recipient_id"]])
            phones = found[doc["recipient_id"]].phones if doc["recipient_id"] in found else ()
        elif doc["kind"] == "staff":
            staff = await ctx.stores.staff.get(doc["recipient_id"])
            phones = staff.phones if staff else ()
        if phone in phones and await alerts.acknowledge(
            ctx, doc["alert_id"], doc["rkey"], "received"
        ):
            ctx.doors.escalate()
            return True
    return False
