"""Reading alerts: one alert, lists, reach, CAP XML, the Atom feed, drill reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from binhyen.kit.auth import Principal
from binhyen.notifications.domain import cap
from binhyen.notifications.service.common import Context, not_found, scoped_unit
from binhyen.notifications.store.alerts import Reach

Document = dict[str, Any]


async def visible(ctx: Context, alert_id: str, principal: Principal) -> Document:
    """An alert the caller may read (out of scope answers like unknown)."""
    alert = await ctx.stores.alerts.get(alert_id)
    if alert is None or not principal.allows("alerts:read", alert.get("scope", [])):
        raise not_found(f"alert {alert_id}")
    return alert


async def listing(
    ctx: Context, unit_id: str, principal: Principal, *, limit: int, before: datetime | None
) -> list[Document]:
    """The alerts of the hamlets under a unit, newest first."""
    await scoped_unit(ctx, unit_id, principal, "alerts:read")
    return await ctx.stores.alerts.listing(unit_id=unit_id, limit=limit, before=before)


async def reach(ctx: Context, alert_id: str, principal: Principal) -> tuple[Document, Reach]:
    """An alert and how far it got."""
    alert = await visible(ctx, alert_id, principal)
    return alert, await ctx.stores.recipients.reach(alert_id)


async def public(ctx: Context, alert_id: str) -> Document:
    """A real alert as anyone may read it (drills and tests are for officers: 404)."""
    alert = await ctx.stores.alerts.get(alert_id)
    if alert is None or alert["cap_status"] != "Actual":
        raise not_found(f"alert {alert_id}")
    return alert


async def deliveries(
    ctx: Context, alert_id: str, principal: Principal
) -> tuple[Document, list[Document]]:
    """The delivery records of an alert in the hamlets the caller reports on (no contact data)."""
    alert = await visible(ctx, alert_id, principal)
    allowed = {
        h
        for h in alert["hamlet_ids"]
        if principal.allows("alerts:report", alert["paths"].get(h, [h]))
    }
    if not allowed:
        raise not_found(f"alert {alert_id}")
    rows = [
        d
        for d in await ctx.stores.deliveries.of_alert(alert_id)
        if d.get("hamlet_id") in allowed or d.get("hamlet_id") is None
    ]
    rows.sort(key=lambda d: d.get("created_at") or alert["sent_at"])
    return alert, rows


def cap_alert(ctx: Context, alert: Document) -> cap.Alert:
    """The alert as CAP 1.2."""
    base = ctx.settings.base_url()
    sent_of = alert.get("reference_sent", {})
    references = [
        cap.Reference(
            sender=ctx.settings.cap_sender,
            identifier=f"urn:uuid:{ref}",
            sent=sent_of.get(ref, alert["sent_at"]),
        )
        for ref in alert.get("references", [])
    ]
    infos = []
    for info in alert["infos"]:
        infos.append(
            cap.Info(
                language=info["language"],
                categories=(info["category"],),
                event=info["event"],
                urgency=info["urgency"],
                severity=info["severity"],
                certainty=info["certainty"],
                expires=info["expires"],
                sender_name="Bình Yên",
                headline=info["headline"],
                description=info["description"],
                instruction=info.get("instruction"),
                web=f"{base}/alerts/{alert['_id']}",
                areas=(cap.hamlet_area(info["area_desc"], alert["hamlet_ids"]),),
            )
        )
    return cap.Alert(
        identifier=f"urn:uuid:{alert['_id']}",
        sender=ctx.settings.cap_sender,
        sent=alert["sent_at"],
        status=alert["cap_status"],
        msg_type=alert["msg_type"],
        references=tuple(references),
        infos=tuple(infos),
    )


def cap_xml(ctx: Context, alert: Document) -> bytes:
    """The alert's CAP 1.2 XML."""
    return cap.to_xml(cap_alert(ctx, alert))


async def atom(ctx: Context) -> bytes:
    """The Atom feed of active real alerts (public: CAP fields only; drills and tests left out)."""
    now = ctx.clock.now()
    active = [
        a
        for a in await ctx.stores.alerts.open_ones()
        if a["expires_at"] > now and a["cap_status"] == "Actual"
    ]
    active.sort(key=lambda a: a["sent_at"], reverse=True)
    base = ctx.settings.base_url()
    return cap.atom_feed(
        [cap_alert(ctx, a) for a in active],
        feed_id=f"{base}/alerts.atom",
        title="Bình Yên: tiếng kẻng an ninh",
        self_url=f"{base}/alerts.atom",
        updated=now,
        link_for=lambda a: f"{base}/alerts/{a.identifier.removeprefix('urn:uuid:')}.xml",
    )


@dataclass(frozen=True)
class HamletDrill:
    """One hamlet's part of a drill."""

    hamlet_id: str
    recipients: int
    households: int
    delivered: int
    acknowledged: int
    seconds_to_first_ack: float | None
    not_answered: int
    not_answered_names: list[str] | None  # only for officers of that hamlet


async def drill_report(
    ctx: Context, alert_id: str, principal: Principal
) -> tuple[Document, list[HamletDrill]]:
    """Per hamlet: reach, time to first acknowledgement, who did not answer."""
    alert = await visible(ctx, alert_id, principal)
    rows = await ctx.stores.recipients.of_alert(alert_id)
    report = []
    for hamlet in alert["hamlet_ids"]:
        path = alert["paths"].get(hamlet, [hamlet])
        if not principal.allows("alerts:report", path):
            continue
        mine = [
            r
            for r in rows
            if r.get("hamlet_id") == hamlet
            or (r["kind"] == "staff" and len(alert["hamlet_ids"]) == 1)
        ]
        acks = [r["acked_at"] for r in mine if r.get("acked_at")]
        silent = [r for r in mine if not r.get("acked_at") and r["kind"] != "endpoint"]
        names: list[str] | None = None
        if principal.allows("people:read", path):
            people = await ctx.stores.residents.many(
                [r["recipient_id"] for r in silent if r["kind"] == "resident"]
            )
            names = sorted(p.name for p in people.values())
            for r in silent:
                if r["kind"] == "staff":
                    staff = await ctx.stores.staff.get(r["recipient_id"])
                    if staff is not None:
                        names.append(staff.name)
        first = min(acks) if acks else None
        report.append(
            HamletDrill(
                hamlet_id=hamlet,
                recipients=len(mine),
                households=len({r["household_id"] for r in mine if r.get("household_id")}),
                delivered=sum(1 for r in mine if r.get("delivered_at") or r.get("acked_at")),
                acknowledged=len(acks),
                seconds_to_first_ack=(first - alert["sent_at"]).total_seconds() if first else None,
                not_answered=len(silent),
                not_answered_names=names,
            )
        )
    if not report:
        raise not_found(f"alert {alert_id}")
    return alert, report
