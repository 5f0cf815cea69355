"""Raising, escalating, acknowledging and closing alerts.

An alert is raised once per (triggering event, policy): its id derives from both, so Kafka
redelivering the event inserts nothing new. Waves are run with a compare-and-set on the
alert's version: only one replica runs a wave; the wave's name is written first
(``pending_wave``) and cleared after its deliveries are in, so a crash in between is finished
by the escalation sweep, and the deliveries' derived ids make that repeat insert nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from binhyen.contracts.events.notifications import (
    AlertAcknowledged,
    AlertClosed,
    AlertEscalated,
    AlertRaised,
    AlertReminded,
    AlertState,
)
from binhyen.notifications.domain import alerts as rules
from binhyen.notifications.domain import templates
from binhyen.notifications.domain.policies import Policy, most_specific
from binhyen.notifications.service import audience
from binhyen.notifications.service.common import Context, derived_id
from binhyen.notifications.service.events import alert_event, delivery_event, public_event
from binhyen.notifications.store.alerts import Reach
from binhyen.notifications.store.policies import policy_doc, policy_of

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
Document = dict[str, Any]

FAN_OUT_CHUNK = 1000  # deliveries written (and handed to the dispatcher) at a time
# A wave being written is left to its writer this long before the sweep finishes it for them.
PENDING_GRACE_SECONDS = 60.0
GROUP_LABELS: dict[str, dict[str, str]] = {
    "crime": {"vi": "Vụ việc phạm tội", "en": "Crime"},
    "social_evil": {"vi": "Tệ nạn xã hội", "en": "Social evil"},
    "traffic": {"vi": "Vi phạm trật tự an toàn giao thông", "en": "Traffic violation"},
    "dispute": {"vi": "Mâu thuẫn, tranh chấp", "en": "Dispute"},
    "fire": {"vi": "Cháy, nổ", "en": "Fire or explosion"},
    "other": {"vi": "Vụ việc an ninh, trật tự", "en": "Security incident"},
}
SEVERITY_LABELS = {
    "low": {"vi": "thấp", "en": "low"},
    "medium": {"vi": "trung bình", "en": "medium"},
    "high": {"vi": "cao", "en": "high"},
    "critical": {"vi": "nghiêm trọng", "en": "critical"},
}
CAP_SEVERITY = {"low": "Minor", "medium": "Moderate", "high": "Severe", "critical": "Extreme"}
CAP_CATEGORY = {
    "crime": "Security",
    "social_evil": "Security",
    "dispute": "Security",
    "traffic": "Transport",
    "fire": "Fire",
    "other": "Safety",
}
KIND_LABELS = {
    "deadline_missed": {"vi": "Quá hạn xử lý", "en": "Overdue"},
    "handed_to_police": {"vi": "Chuyển công an", "en": "Handed to the police"},
}
LANG_TAGS = {"vi": "vi-VN", "en": "en-US"}


@dataclass(frozen=True)
class Occurrence:
    """Something that may raise alerts."""

    kind: str  # incident_reported | deadline_missed | handed_to_police | manual
    source_id: str  # the triggering event's id (or the gong's id)
    hamlet_ids: list[str]
    paths: dict[str, list[str]]
    severity: str = "medium"
    incident_id: str | None = None
    category: str | None = None
    group: str | None = None
    address: str | None = None
    occurred_at: datetime | None = None
    # Manual gong: CAP fields given by the officer, per language.
    cap: dict[str, Any] = field(default_factory=dict)
    created_by: str = "system"


# Incident triggers ------------------------------------------------------------------------


async def raise_for(ctx: Context, occ: Occurrence) -> list[str]:
    """Raise the alerts the most specific matching policies call for; their ids.

    A report filed long after the incident happened (``incident_alert_max_age_hours``: a theft
    noticed days later, a history entered after the fact) sounds no gong: the incident is
    handled through incidents, not by calling the team out now.
    """
    if occ.kind == "incident_reported" and occ.occurred_at is not None:
        age = ctx.clock.now() - occ.occurred_at
        if age > timedelta(hours=ctx.settings.incident_alert_max_age_hours):
            log.info(
                "incident too old for the gong",
                extra={
                    "incident_id": occ.incident_id,
                    "age_hours": round(age.total_seconds() / 3600),
                },
            )
            return []
    path = occ.paths.get(occ.hamlet_ids[0], occ.hamlet_ids)
    candidates = await ctx.stores.policies.for_units([*path, "*"])
    matching = [
        p
        for p in candidates
        if p.matching(occ.kind, category=occ.category, group=occ.group, severity=occ.severity)
    ]
    raised: list[str] = []
    for policy in most_specific(matching, path):
        alert_id = derived_id("alert", occ.source_id, policy.id)
        if await _insert(ctx, alert_id, occ, policy):
            raised.append(alert_id)
        await advance(ctx, alert_id)
    return raised


async def _insert(
    ctx: Context,
    alert_id: str,
    occ: Occurrence,
    policy: Policy,
    *,
    msg_type: str = "Alert",
    references: list[str] | None = None,
    cap_status: str = "Actual",
) -> bool:
    now = ctx.clock.now()
    units = await ctx.stores.units.many(occ.hamlet_ids)
    names = [units[h].name if h in units else h for h in occ.hamlet_ids]
    commune_ids = [p[-2] for p in occ.paths.values() if len(p) >= 2]
    communes = await ctx.stores.units.many(commune_ids)
    commune = next(iter(communes.values())).name if communes else ""
    when = (occ.occurred_at or now).astimezone(LOCAL).strftime("%H:%M %d/%m/%Y")
    expires = now + timedelta(seconds=_expiry_seconds(occ, policy))
    texts: dict[str, dict[str, str]] = {}
    infos: list[Document] = []
    languages = dict(policy.templates)
    if occ.kind == "manual":  # the person striking the gong writes each language's text
        languages = {
            k: v for k, v in languages.items() if k == "vi" or occ.cap.get(f"headline_{k}")
        }
    for lang, template in languages.items():
        values = _values(occ, lang, names=names, commune=commune, when=when, alert_id=alert_id)
        if occ.kind == "manual":
            headline = str(occ.cap.get(f"headline_{lang}") or occ.cap["headline_vi"])
            description = str(occ.cap.get(f"description_{lang}") or occ.cap["description_vi"])
            instruction = str(
                occ.cap.get(f"instruction_{lang}") or occ.cap.get("instruction_vi") or ""
            )
            text, body = f"{headline}. {instruction}".strip(), f"{description}\n{instruction}"
        else:
            values["headline"] = headline = templates.render(
                template.headline, values, part="headline", field=f"templates.{lang}.headline"
            )
            instruction = templates.render(
                template.instruction, values, part="instruction", field="instruction"
            )
            values["instruction"] = instruction
            text = templates.render(template.text, values, part="text", field="text")
            body = templates.render(template.body, values, part="body", field="body")
            description = _public_description(lang, values)
        texts[lang] = {"headline": headline, "text": text, "body": body}
        infos.append(
            {
                "language": LANG_TAGS.get(lang, lang),
                "category": occ.cap.get("category")
                or CAP_CATEGORY.get(occ.group or "other", "Safety"),
                "event": occ.cap.get("event") or _group_label(occ, lang),
                "urgency": occ.cap.get("urgency") or _urgency(occ.kind),
                "severity": occ.cap.get("severity") or CAP_SEVERITY.get(occ.severity, "Moderate"),
                "certainty": occ.cap.get("certainty") or _certainty(occ.kind),
                "headline": headline,
                "description": description,
                "instruction": instruction or None,
                "expires": expires,
                "area_desc": _area(names, commune, lang),
            }
        )
    first, due = rules.first_wave(policy, now)
    reference_sent: dict[str, datetime] = {}
    for ref in references or []:
        old = await ctx.stores.alerts.get(ref)
        if old is not None:
            reference_sent[ref] = old["sent_at"]
    doc: Document = {
        "_id": alert_id,
        "trigger": occ.kind,
        "source_id": occ.source_id,
        "incident_id": occ.incident_id,
        "hamlet_ids": occ.hamlet_ids,
        "paths": occ.paths,
        "scope": sorted({u for p in occ.paths.values() for u in p}),
        "policy": policy_doc(policy),
        "cap_status": cap_status,
        "msg_type": msg_type,
        "references": references or [],
        "reference_sent": reference_sent,
        "infos": infos,
        "texts": texts,
        "severity": occ.severity,
        "critical": policy.is_critical(occ.severity),
        "status": "active" if msg_type != "Cancel" else "closed",
        "escalation": _esc_doc(first),
        "pending_wave": None,
        "sent_at": now,
        "expires_at": expires,
        "closed_reason": "cancelled" if msg_type == "Cancel" else None,
        "created_by": occ.created_by,
        "version": 1,
    }
    if msg_type == "Cancel":
        doc["escalation"]["next_at"] = None
    reach = Reach(0, 0, 0, 0, None)
    entries = [alert_event(ctx, AlertRaised, doc, reach, now), public_event(ctx, doc, now)]
    if not await ctx.stores.alerts.insert(doc, entries):
        return False
    ctx.publish_new("alerts", alert_id, entries)
    log.info("alert raised", extra={"alert_id": alert_id, "trigger": occ.kind, "due": str(due)})
    return True


def _values(
    occ: Occurrence, lang: str, *, names: list[str], commune: str, when: str, alert_id: str
) -> dict[str, str]:
    group = GROUP_LABELS.get(occ.group or "other", GROUP_LABELS["other"])
    event = group.get(lang, group["vi"])
    if occ.kind in KIND_LABELS:
        event = f"{KIND_LABELS[occ.kind].get(lang, KIND_LABELS[occ.kind]['vi'])}: {event}"
    return {
        "event": str(occ.cap.get("event") or event),
        "category": occ.category or "",
        "severity": SEVERITY_LABELS.get(occ.severity, {}).get(lang, occ.severity),
        "hamlet": ", ".join(names),
        "commune": commune,
        "time": when,
        "address": occ.address or "",
        "headline": "",
        "instruction": "",
        "reference": alert_id[:8].upper(),
    }


def _group_label(occ: Occurrence, lang: str) -> str:
    """The CAP event: what kind of thing (short: Google wants under 35 characters)."""
    group = GROUP_LABELS.get(occ.group or "other", GROUP_LABELS["other"])
    return group.get(lang, group["vi"])


AREA_MAX = 49  # Google wants areaDesc under 50 characters


def _area(names: list[str], commune: str, lang: str) -> str:
    """The CAP areaDesc: the hamlets and their commune, or how many when that is too long."""
    full = ", ".join(names) + (f", {commune}" if commune else "")
    if len(full) <= AREA_MAX:
        return full
    counted = f"{len(names)} thôn" if lang == "vi" else f"{len(names)} hamlets"
    short = counted + (f", {commune}" if commune else "")
    return short if len(short) <= AREA_MAX else counted


def _public_description(lang: str, values: dict[str, str]) -> str:
    """What the public feed says: kind, place, time (never the reporter's words)."""
    if lang == "en":
        return f"{values['event']} in {values['hamlet']} at {values['time']}."
    return f"{values['event']} tại {values['hamlet']} lúc {values['time']}."


def _urgency(kind: str) -> str:
    return "Immediate" if kind in ("incident_reported", "manual") else "Expected"


def _certainty(kind: str) -> str:
    return "Observed" if kind == "handed_to_police" else "Likely"


def _expiry_seconds(occ: Occurrence, policy: Policy) -> int:
    expires = occ.cap.get("expires_in_seconds")
    return int(expires) if expires else policy.expires_after_seconds


def _esc_doc(esc: rules.Escalation) -> Document:
    return {
        "step": esc.step,
        "round": esc.round,
        "next_at": esc.next_at,
        "reminders": esc.reminders,
    }


def _esc_of(doc: Document) -> rules.Escalation:
    e = doc.get("escalation", {})
    return rules.Escalation(
        step=int(e.get("step", -1)),
        round=int(e.get("round", 0)),
        next_at=e.get("next_at"),
        reminders=int(e.get("reminders", 0)),
    )


async def insert_manual(
    ctx: Context,
    alert_id: str,
    occ: Occurrence,
    policy: Policy,
    *,
    msg_type: str,
    references: list[str],
    cap_status: str,
) -> bool:
    """Insert a manual gong's alert (an Alert, an Update or a Cancel)."""
    return await _insert(
        ctx, alert_id, occ, policy, msg_type=msg_type, references=references,
        cap_status=cap_status,
    )  # fmt: skip


async def cancel_wave(ctx: Context, alert_id: str) -> int:
    """Tell everyone the cancelled alerts reached that they are cancelled."""
    alert = await ctx.stores.alerts.get(alert_id)
    if alert is None:
        return 0
    return await _fan_out(ctx, alert, "cancel")


# Waves ----------------------------------------------------------------------------------------


async def advance(ctx: Context, alert_id: str) -> int:
    """Run whatever is due for the alert now (steps, reminders, an interrupted wave, expiry).

    Returns the number of waves run. Safe to call from any replica at any time.
    """
    ran = 0
    for _ in range(50):  # each loop runs one wave or ends; skipped steps come round at once
        alert = await ctx.stores.alerts.get(alert_id)
        if alert is None:
            return ran
        now = ctx.clock.now()
        pending = alert.get("pending_wave")
        if pending is not None:
            since = alert.get("pending_since")
            if since is not None and now - since < timedelta(seconds=PENDING_GRACE_SECONDS):
                return ran  # its writer is at it; after the grace, the sweep finishes it
            await _fan_out(ctx, alert, pending)
            await ctx.stores.alerts.change(alert_id, alert["version"], {"pending_wave": None}, [])
            ran += 1
            continue
        expires = alert.get("expires_at")
        if alert["status"] != "closed" and expires is not None and now >= expires:
            await close(ctx, alert_id, reason="expired")
            return ran
        policy = policy_of(alert["policy"])
        due = rules.due_wave(policy, _esc_of(alert), alert["status"], now)
        if due is None:
            return ran
        wave, after = due
        kind: type[AlertState] | None = None
        if wave.step is None:
            kind = AlertReminded
        elif wave.index > 0 or wave.round > 0:
            kind = AlertEscalated
        changed = {**alert, "escalation": _esc_doc(after), "version": alert["version"] + 1}
        entries = []
        if kind is not None:
            reach = await ctx.stores.recipients.reach(alert_id)
            entries.append(alert_event(ctx, kind, changed, reach, now))
        if not await ctx.stores.alerts.change(
            alert_id,
            alert["version"],
            {"escalation": _esc_doc(after), "pending_wave": wave.name, "pending_since": now},
            entries,
        ):
            continue  # another replica moved it: read again
        if entries:
            ctx.publish_pending("alerts", alert_id)
        reached = await _fan_out(ctx, {**changed, "pending_wave": wave.name}, wave.name)
        fields: Document = {"pending_wave": None}
        if reached == 0 and wave.step is not None:
            fields["escalation"] = _esc_doc(rules.skip_empty(policy, after, now))
        await ctx.stores.alerts.change(alert_id, alert["version"] + 1, fields, [])
        ran += 1
    return ran


async def _fan_out(ctx: Context, alert: Document, wave_name: str) -> int:
    """Write the deliveries of a wave (again, harmlessly, after a crash); how many recipients."""
    policy = policy_of(alert["policy"])
    now = ctx.clock.now()
    if wave_name.startswith("m"):
        recipients = await _responders(ctx, alert)
    elif wave_name == "cancel":
        recipients = await _previous(ctx, alert)
    else:
        step = int(wave_name.split("s")[1])
        recipients = await audience.resolve(
            ctx,
            hamlet_ids=alert["hamlet_ids"],
            paths=alert["paths"],
            targets=policy.steps[step].targets,
            channels=policy.channels,
            now=now,
        )
    if not recipients:
        return 0
    alert_id = alert["_id"]
    key = ctx.settings.link_keys()[0]
    throttled = policy.throttle_per_hour > 0 and not alert.get("critical") and wave_name != "cancel"
    for i in range(0, len(recipients), FAN_OUT_CHUNK):
        # Chunk by chunk, each handed to the dispatcher as soon as it is written: the first
        # people are being sent to while the last ones are still being written.
        chunk = recipients[i : i + FAN_OUT_CHUNK]
        links = {
            r.key: (link_token(key, alert_id, r.key), reply_code(key, alert_id, r.key))
            for r in chunk
        }
        rows = [
            {
                "_id": f"{alert_id}:{r.key}",
                "alert_id": alert_id,
                "rkey": r.key,
                "kind": r.kind,
                "recipient_id": r.id,
                "hamlet_id": r.hamlet_id,
                "household_id": r.household_id,
                "responder": r.responder,
                "language": r.language,
                "link": links[r.key][0],
                "code": links[r.key][1],
                "chain": chain_doc(r.chain),
                "delivered_at": None,
                "acked_at": None,
                "first_wave": wave_name,
            }
            for r in chunk
        ]
        docs = [
            delivery_doc(ctx, alert, wave_name, r.key, r.kind, r.id, r.hamlet_id, r.household_id,
                         r.language, list(r.chain), quiet=r.quiet, now=now,
                         link=links[r.key][0] if r.kind != "endpoint" else None,
                         code=links[r.key][1] if r.kind != "endpoint" else None)
            for r in chunk
        ]  # fmt: skip
        if throttled:
            await _throttle(ctx, alert_id, docs, policy.throttle_per_hour, now)
        if wave_name == "r0s0":  # nobody has a link yet: both writes at once
            _, added = await asyncio.gather(
                ctx.stores.recipients.add(rows), ctx.stores.deliveries.add(docs)
            )
        else:
            # A later wave reaches people who may hold a link from an earlier one (made with
            # a link secret rotated since): their messages carry the link they already have.
            await ctx.stores.recipients.add(rows)
            given = await ctx.stores.recipients.links([row["_id"] for row in rows])
            for doc in docs:
                earlier = given.get(f"{alert_id}:{doc['rkey']}")
                if earlier is not None and doc.get("link") is not None:
                    doc["link"], doc["code"] = earlier
            added = await ctx.stores.deliveries.add(docs)
        fresh = set(added)
        ctx.doors.dispatch([(d["_id"], d["target_key"]) for d in docs if d["_id"] in fresh])
        for d in docs:
            if d["_id"] in fresh:
                ctx.publish_new("deliveries", d["_id"], d["_outbox"])
    return len(recipients)


def delivery_doc(
    ctx: Context,
    alert: Document,
    wave: str,
    rkey: str,
    kind: str,
    recipient_id: str,
    hamlet_id: str | None,
    household_id: str | None,
    language: str,
    chain: list[tuple[str, dict[str, str]]],
    *,
    quiet: tuple[str, str] | None,
    now: datetime,
    link: str | None = None,
    code: str | None = None,
) -> Document:
    """A queued delivery over the first channel of the chain (the rest wait in ``chain``)."""
    channel, target = chain[0]
    tkey = hashlib.sha256(repr(sorted(target.items())).encode()).hexdigest()[:12]
    doc: Document = {
        "_id": derived_id("delivery", alert["_id"], wave, rkey, channel, tkey),
        "alert_id": alert["_id"],
        "wave": wave,
        "rkey": rkey,
        "kind": kind,
        "recipient_id": recipient_id,
        "hamlet_id": hamlet_id,
        "household_id": household_id,
        "language": language,
        "channel": channel,
        "target": target,
        "target_key": target_key(channel, target),
        "chain": chain_doc(chain[1:]),
        "cap_status": alert["cap_status"],
        "critical": bool(alert.get("critical")),
        "status": "queued",
        "due_at": _after_quiet(now, quiet) if not alert.get("critical") else now,
        "claimed_until": None,
        "attempts": 0,
        "error_code": None,
        "provider_id": None,
        "link": link,  # the recipient's acknowledgement link token and SMS reply code
        "code": code,
        "created_at": now,
        "version": 1,
    }
    doc["_outbox"] = [delivery_event(ctx, doc, now)]
    return doc


async def _throttle(
    ctx: Context, alert_id: str, docs: list[Document], limit: int, now: datetime
) -> None:
    """Past ``limit`` low-severity alerts in an hour, a person gets one digest at the hour's end.

    Their deliveries wait (``digest``) until the hour ends; the dispatcher then sends one
    message listing every waiting alert over that channel (service.dispatch).
    """
    window = now.replace(minute=0, second=0, microsecond=0)
    for doc in docs:
        if doc["kind"] == "endpoint":
            continue  # a system takes every alert
        if await ctx.stores.throttle.count(doc["rkey"], alert_id, window) > limit:
            doc["digest"] = True
            doc["due_at"] = max(doc["due_at"], window + timedelta(hours=1))


def chain_doc(chain: Any) -> list[Document]:
    """A fallback chain as stored (FerretDB keeps no arrays inside arrays)."""
    return [{"channel": c, "target": t} for c, t in chain]


def chain_of(stored: list[Document]) -> list[tuple[str, dict[str, str]]]:
    """A stored fallback chain."""
    return [(link["channel"], link["target"]) for link in stored]


def target_key(channel: str, target: dict[str, str]) -> str:
    """What deliveries queue behind (one slow endpoint never holds the others up)."""
    if channel == "webhook":
        return f"webhook:{target.get('endpoint_id', '')}"
    if channel == "push":
        return "push"
    return channel


def _after_quiet(now: datetime, quiet: tuple[str, str] | None) -> datetime:
    """Now, or the end of the recipient's quiet hours if now falls inside them."""
    if quiet is None:
        return now
    local = now.astimezone(LOCAL)
    start = local.replace(
        hour=int(quiet[0][:2]), minute=int(quiet[0][3:5]), second=0, microsecond=0
    )
    end = local.replace(hour=int(quiet[1][:2]), minute=int(quiet[1][3:5]), second=0, microsecond=0)
    if start <= end:
        inside = start <= local < end
    else:  # over midnight, e.g. 22:00–06:00
        inside = local >= start or local < end
        if local >= start:
            end += timedelta(days=1)
    return end.astimezone(now.tzinfo) if inside else now


async def _responders(ctx: Context, alert: Document) -> list[audience.Recipient]:
    """Whom a reminder reaches: the responders who acknowledged."""
    found = []
    for doc in await ctx.stores.recipients.of_alert(alert["_id"]):
        if doc.get("responder") and doc.get("acked_at"):
            found.append(_recipient_of(doc))
    return found


async def _previous(ctx: Context, alert: Document) -> list[audience.Recipient]:
    """Whom a Cancel reaches: everyone the cancelled alert reached."""
    found = []
    for ref in alert.get("references", []):
        for doc in await ctx.stores.recipients.of_alert(ref):
            if doc.get("delivered_at") or doc.get("acked_at"):
                found.append(_recipient_of(doc))
    return found


def _recipient_of(doc: Document) -> audience.Recipient:
    return audience.Recipient(
        key=doc["rkey"],
        kind=doc["kind"],
        id=doc["recipient_id"],
        hamlet_id=doc.get("hamlet_id"),
        household_id=doc.get("household_id"),
        language=doc.get("language", "vi"),
        responder=bool(doc.get("responder")),
        chain=tuple(chain_of(doc.get("chain", []))),
    )


# Links and reply codes -------------------------------------------------------------------------


def link_token(key: str, alert_id: str, rkey: str) -> str:
    """The recipient's acknowledgement link token: a MAC of (alert, recipient), 22 characters."""
    mac = hmac.new(key.encode(), f"link|{alert_id}|{rkey}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def reply_code(key: str, alert_id: str, rkey: str) -> str:
    """Six digits a recipient may text back ("OK 123456") to acknowledge."""
    mac = hmac.new(key.encode(), f"code|{alert_id}|{rkey}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


# Acknowledgement and closing ------------------------------------------------------------------


async def acknowledge(ctx: Context, alert_id: str, rkey: str, kind: str) -> bool:
    """Record a recipient's acknowledgement (once); True if it was recorded now."""
    now = ctx.clock.now()
    if not await ctx.stores.recipients.acknowledge(alert_id, rkey, kind, now):
        return False
    recipient = await ctx.stores.recipients.get(alert_id, rkey)
    responder = bool(recipient and recipient.get("responder"))
    for delivery in await ctx.stores.deliveries.of_recipient(alert_id, rkey):
        if delivery["status"] in ("failed", "skipped"):
            continue
        status = "skipped" if delivery["status"] == "queued" else "acknowledged"
        changed = {**delivery, "status": status, "version": delivery["version"] + 1}
        if await ctx.stores.deliveries.finish(
            delivery["_id"],
            version=delivery["version"],
            fields={"status": status, "acked_at": now},
            entries=[delivery_event(ctx, changed, now)],
        ):
            ctx.publish_pending("deliveries", delivery["_id"])
    for _ in range(10):
        alert = await ctx.stores.alerts.get(alert_id)
        if alert is None or alert["status"] == "closed":
            return True
        policy = policy_of(alert["policy"])
        status, esc = rules.acknowledged(
            policy, _esc_of(alert), alert["status"], now, responder=responder
        )
        if status == alert["status"]:
            return True
        changed = {**alert, "status": status, "escalation": _esc_doc(esc)}
        changed["version"] = alert["version"] + 1
        reach = await ctx.stores.recipients.reach(alert_id)
        if await ctx.stores.alerts.change(
            alert_id,
            alert["version"],
            {"status": status, "escalation": _esc_doc(esc), "first_ack_at": now},
            [alert_event(ctx, AlertAcknowledged, changed, reach, now)],
        ):
            ctx.publish_pending("alerts", alert_id)
            return True
    return True


async def close(ctx: Context, alert_id: str, *, reason: str) -> bool:
    """Close an alert (nothing more is sent for it); True if it was open."""
    for _ in range(10):
        alert = await ctx.stores.alerts.get(alert_id)
        if alert is None or alert["status"] == "closed":
            return False
        now = ctx.clock.now()
        esc = rules.closed(_esc_of(alert), alert["status"])
        changed = {
            **alert,
            "status": "closed",
            "closed_reason": reason,
            "escalation": _esc_doc(esc),
            "version": alert["version"] + 1,
        }
        reach = await ctx.stores.recipients.reach(alert_id)
        entries = [
            alert_event(ctx, AlertClosed, changed, reach, now),
            public_event(ctx, changed, now),
        ]
        if await ctx.stores.alerts.change(
            alert_id,
            alert["version"],
            {"status": "closed", "closed_reason": reason, "escalation": _esc_doc(esc),
             "closed_at": now},
            entries,
        ):  # fmt: skip
            ctx.publish_pending("alerts", alert_id)
            await _skip_queued(ctx, alert_id, now)
            return True
    return False


async def _skip_queued(ctx: Context, alert_id: str, now: datetime) -> None:
    for delivery in await ctx.stores.deliveries.of_alert(alert_id, status=["queued"]):
        changed = {**delivery, "status": "skipped", "version": delivery["version"] + 1}
        if await ctx.stores.deliveries.finish(
            delivery["_id"],
            version=delivery["version"],
            fields={"status": "skipped", "error_code": "alert_closed"},
            entries=[delivery_event(ctx, changed, now)],
        ):
            ctx.publish_pending("deliveries", delivery["_id"])


async def close_for_incident(ctx: Context, incident_id: str, *, reason: str) -> int:
    """Close the open alerts of an incident (resolved, rejected, a duplicate)."""
    closed = 0
    for alert in await ctx.stores.alerts.of_incident(incident_id):
        if alert["status"] != "closed" and await close(ctx, alert["_id"], reason=reason):
            closed += 1
    return closed


def texts_for(alert: Document, language: str) -> dict[str, str]:
    """The alert's texts in a language (Vietnamese when that one is missing)."""
    texts: dict[str, dict[str, str]] = alert.get("texts", {})
    return texts.get(language) or texts.get("vi") or next(iter(texts.values()))
