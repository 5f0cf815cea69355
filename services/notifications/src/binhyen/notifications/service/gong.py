"""The manual gong: an authorised person strikes it for one or more hamlets; Update and Cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from binhyen.kit.auth import Principal
from binhyen.kit.problems import Conflict, Invalid
from binhyen.notifications.domain.policies import most_specific
from binhyen.notifications.service import alerts
from binhyen.notifications.service.common import Context, derived_id, not_found, scoped_unit
from binhyen.notifications.service.policies import DEFAULTS_UNIT

Document = dict[str, Any]
MAX_HAMLETS = 50


@dataclass(frozen=True)
class Strike:
    """What the person striking the gong says (CAP fields)."""

    hamlet_ids: list[str]
    status: str  # Actual | Exercise | Test
    msg_type: str  # Alert | Update | Cancel
    event: str
    category: str
    urgency: str
    severity: str
    certainty: str
    headline_vi: str
    description_vi: str
    instruction_vi: str | None = None
    headline_en: str | None = None
    description_en: str | None = None
    instruction_en: str | None = None
    expires_in_seconds: int = 6 * 3600
    references: list[str] = field(default_factory=list)
    idempotency_key: str | None = None


SEVERITY_OF_CAP = {"Extreme": "critical", "Severe": "high", "Moderate": "medium", "Minor": "low"}


async def strike(ctx: Context, cmd: Strike, principal: Principal) -> Document:
    """Raise a manual alert (or update or cancel an earlier one); the new alert."""
    if not cmd.hamlet_ids:
        raise Invalid("name at least one hamlet", field="hamlet_ids")
    if len(set(cmd.hamlet_ids)) > MAX_HAMLETS:
        raise Invalid(f"at most {MAX_HAMLETS} hamlets at once", field="hamlet_ids")
    paths: dict[str, list[str]] = {}
    for i, hamlet in enumerate(dict.fromkeys(cmd.hamlet_ids)):
        path = await scoped_unit(ctx, hamlet, principal, "alerts:strike", field=f"hamlet_ids.{i}")
        unit = await ctx.stores.units.get(hamlet)
        if unit is None or unit.level != "hamlet" or unit.status != "active":
            raise Invalid(f"unit {hamlet} is not an active hamlet", field=f"hamlet_ids.{i}")
        paths[hamlet] = list(path)
    earlier: list[Document] = []
    if cmd.msg_type in ("Update", "Cancel"):
        if not cmd.references:
            raise Invalid(f"an {cmd.msg_type} names the alert it replaces", field="references")
        for i, ref in enumerate(cmd.references):
            old = await ctx.stores.alerts.get(ref)
            if old is None or not principal.allows("alerts:read", old.get("scope", [])):
                raise Invalid(f"alert {ref} does not exist", field=f"references.{i}")
            if old["status"] == "closed":
                raise Conflict(f"alert {ref} is already closed", field=f"references.{i}")
            earlier.append(old)
    elif cmd.references:
        raise Invalid("only an Update or a Cancel refers to earlier alerts", field="references")
    first = next(iter(paths))
    candidates = await ctx.stores.policies.for_units([*paths[first], DEFAULTS_UNIT])
    matching = [
        p for p in candidates if p.matching("manual", category=None, group=None, severity="low")
    ]
    chosen = most_specific(matching, paths[first])
    if not chosen:
        raise Conflict("no alert policy for the manual gong applies here; ask an administrator")
    policy = chosen[0]
    alert_id = (
        derived_id("gong", principal.subject, cmd.idempotency_key)
        if cmd.idempotency_key
        else str(uuid.uuid4())
    )
    existing = await ctx.stores.alerts.get(alert_id)
    if existing is not None:
        return existing  # the same strike sent again
    occ = alerts.Occurrence(
        kind="manual",
        source_id=alert_id,
        hamlet_ids=list(paths),
        paths=paths,
        severity=SEVERITY_OF_CAP.get(cmd.severity, "medium"),
        cap={
            "event": cmd.event,
            "category": cmd.category,
            "urgency": cmd.urgency,
            "severity": cmd.severity,
            "certainty": cmd.certainty,
            "headline_vi": cmd.headline_vi,
            "description_vi": cmd.description_vi,
            "instruction_vi": cmd.instruction_vi,
            "headline_en": cmd.headline_en,
            "description_en": cmd.description_en,
            "instruction_en": cmd.instruction_en,
            "expires_in_seconds": cmd.expires_in_seconds,
        },
        created_by=principal.subject,
    )
    await alerts.insert_manual(
        ctx, alert_id, occ, policy, msg_type=cmd.msg_type, references=cmd.references,
        cap_status=cmd.status,
    )  # fmt: skip
    for old in earlier:
        reason = "cancelled" if cmd.msg_type == "Cancel" else "updated"
        await alerts.close(ctx, old["_id"], reason=reason)
    if cmd.msg_type == "Cancel":
        await alerts.cancel_wave(ctx, alert_id)
    else:
        await alerts.advance(ctx, alert_id)
    alert = await ctx.stores.alerts.get(alert_id)
    if alert is None:
        raise not_found(f"alert {alert_id}")
    return alert
