"""Alerts: strike the gong, read alerts and their reach, CAP XML, the Atom feed, drill reports."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.problems import PROBLEM_JSON
from binhyen.kit.text import SafeMultiline, SafeText
from binhyen.notifications.api.common import PROBLEMS, ContextDep, IdempotencyKey, local
from binhyen.notifications.service import acks, gong, reports
from binhyen.notifications.store.alerts import Reach

router = APIRouter(tags=["alerts"])
XML = "application/xml"
ATOM = "application/atom+xml"

CapCategory = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
]  # fmt: skip


class StrikeBody(BaseModel):
    """Strike the gong: CAP 1.2 fields, Vietnamese required, English optional."""

    hamlet_ids: list[SafeText] = Field(min_length=1, max_length=50, description="Hamlets alerted.")
    status: Literal["Actual", "Exercise", "Test"] = Field(
        "Actual", description="Exercise: a drill (runs the whole chain, marked as a drill)."
    )
    msg_type: Literal["Alert", "Update", "Cancel"] = "Alert"
    references: list[SafeText] = Field(
        default_factory=list, max_length=10, description="Update/Cancel: the alert ids replaced."
    )
    event: SafeText = Field(min_length=1, max_length=34, description="e.g. Cháy nhà, Trộm cắp.")
    category: CapCategory = "Security"
    urgency: Literal["Immediate", "Expected", "Future", "Past"] = "Immediate"
    severity: Literal["Extreme", "Severe", "Moderate", "Minor"] = "Moderate"
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely"] = "Observed"
    headline_vi: SafeText = Field(min_length=1, max_length=140)
    description_vi: SafeMultiline = Field(min_length=1, max_length=2000)
    instruction_vi: SafeMultiline | None = Field(None, max_length=1000)
    headline_en: SafeText | None = Field(None, min_length=1, max_length=140)
    description_en: SafeMultiline | None = Field(None, min_length=1, max_length=2000)
    instruction_en: SafeMultiline | None = Field(None, max_length=1000)
    expires_in_seconds: int = Field(
        6 * 3600, ge=300, le=7 * 86400, description="How long the alert applies."
    )


class InfoRead(BaseModel):
    """One language of an alert."""

    language: str
    category: str
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str | None
    expires: datetime
    area_desc: str


class ReachRead(BaseModel):
    """How far an alert got."""

    recipients: int
    households: int
    delivered: int
    acknowledged: int
    first_ack_at: datetime | None
    first_ack_at_local: str | None


class AlertRead(BaseModel):
    """An alert (no recipient, ever: reach is counts)."""

    id: str
    trigger: str
    incident_id: str | None
    hamlet_ids: list[str]
    cap_status: str
    msg_type: str
    references: list[str]
    status: str
    closed_reason: str | None
    policy_id: str | None
    policy_version: int | None
    step: int
    round: int
    sent_at: datetime
    sent_at_local: str | None
    expires_at: datetime
    infos: list[InfoRead]
    reach: ReachRead | None = None
    version: int

    @classmethod
    def of(cls, alert: dict[str, Any], reach: Reach | None = None) -> AlertRead:
        """The read model of a stored alert."""
        policy = alert.get("policy") or {}
        esc = alert.get("escalation") or {}
        return cls(
            id=alert["_id"],
            trigger=alert["trigger"],
            incident_id=alert.get("incident_id"),
            hamlet_ids=alert["hamlet_ids"],
            cap_status=alert["cap_status"],
            msg_type=alert["msg_type"],
            references=alert.get("references", []),
            status=alert["status"],
            closed_reason=alert.get("closed_reason"),
            policy_id=policy.get("id"),
            policy_version=policy.get("version"),
            step=max(int(esc.get("step", 0)), 0),
            round=int(esc.get("round", 0)),
            sent_at=alert["sent_at"],
            sent_at_local=local(alert["sent_at"]),
            expires_at=alert["expires_at"],
            infos=[InfoRead.model_validate(i) for i in alert["infos"]],
            reach=None
            if reach is None
            else ReachRead(
                recipients=reach.recipients,
                households=reach.households,
                delivered=reach.delivered,
                acknowledged=reach.acknowledged,
                first_ack_at=reach.first_ack_at,
                first_ack_at_local=local(reach.first_ack_at),
            ),
            version=int(alert["version"]),
        )


@router.post(
    "/api/v1/alerts",
    response_model=AlertRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Strike the gong (or update or cancel an earlier strike)",
)
async def strike(
    body: StrikeBody,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> AlertRead:
    """Hamlet officers, team leaders, commune officers and police, for hamlets in their scope."""
    alert = await gong.strike(
        ctx,
        gong.Strike(**body.model_dump(), idempotency_key=idempotency_key),
        principal,
    )
    return AlertRead.of(alert)  # reach grows as messages go out: GET the alert to see it


@router.get(
    "/api/v1/alerts",
    response_model=list[AlertRead],
    responses=PROBLEMS,
    summary="Alerts of a unit's hamlets, newest first",
)
async def list_alerts(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(max_length=64, description="A unit; its subtree.")],
    before: Annotated[AwareDatetime | None, Query(description="Older than this.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AlertRead]:
    """Alerts whose hamlets lie under the unit."""
    found = await reports.listing(ctx, unit_id, principal, limit=limit, before=before)
    return [AlertRead.of(a) for a in found]


@router.get(
    "/api/v1/alerts/{alert_id}",
    response_model=AlertRead,
    responses=PROBLEMS,
    summary="An alert and its reach",
)
async def get_alert(alert_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> AlertRead:
    """Reach counts recipients and households; who they are is not shown here."""
    alert, reach = await reports.reach(ctx, alert_id, principal)
    return AlertRead.of(alert, reach)


@router.get(
    "/api/v1/alerts/{alert_id}/cap.xml",
    response_class=Response,
    responses={200: {"content": {XML: {}}, "description": "CAP 1.2"}, **PROBLEMS},
    summary="The alert as CAP 1.2 XML",
)
async def get_cap(alert_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> Response:
    """Valid against the OASIS CAP 1.2 schema."""
    alert = await reports.visible(ctx, alert_id, principal)
    return Response(reports.cap_xml(ctx, alert), media_type=XML)


@router.get(
    "/alerts.atom",
    response_class=Response,
    responses={
        200: {"content": {ATOM: {}}, "description": "Atom 1.0 (RFC 4287), CAP links per entry"},
        503: PROBLEMS[503],
    },
    summary="Active alerts as an Atom feed (public)",
)
async def atom_feed(ctx: ContextDep) -> Response:
    """CAP fields only: what, where (hamlets), how urgent; no one's name."""
    return Response(
        await reports.atom(ctx),
        media_type=ATOM,
        headers={"Cache-Control": "public, max-age=30"},
    )


PublicId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
PUBLIC_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"


@router.get(
    "/alerts/{alert_id}.xml",
    response_class=Response,
    responses={
        200: {"content": {XML: {}}, "description": "CAP 1.2 of a real alert"},
        404: {"description": "No such real alert", "content": {PROBLEM_JSON: {}}},
        503: PROBLEMS[503],
    },
    summary="A real alert as CAP 1.2 XML (public; drills and tests are not)",
)
async def public_cap(alert_id: PublicId, ctx: ContextDep) -> Response:
    """What the Atom feed links to; the same fields as the public topic."""
    alert = await reports.public(ctx, alert_id)
    return Response(
        reports.cap_xml(ctx, alert),
        media_type=XML,
        headers={"Cache-Control": "public, max-age=30"},
    )


@router.get(
    "/alerts/{alert_id}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "A page for people"},
        404: {"description": "No such real alert", "content": {PROBLEM_JSON: {}}},
        503: PROBLEMS[503],
    },
    summary="A real alert as a small public page (the CAP <web> link)",
)
async def public_page(alert_id: PublicId, ctx: ContextDep) -> HTMLResponse:
    """Headline, what, where, until when, what to do: in each language the alert has."""
    alert = await reports.public(ctx, alert_id)
    parts = []
    for info in alert["infos"]:
        lang = html.escape(info["language"][:2])
        instruction = info.get("instruction") or ""
        parts.append(
            f'<section lang="{lang}"><h1>{html.escape(info["headline"])}</h1>'
            f"<p>{html.escape(info['description'])}</p>"
            + (f"<p><strong>{html.escape(instruction)}</strong></p>" if instruction else "")
            + f'<p class="meta">{html.escape(info["area_desc"])} · '
            f"{html.escape(local(alert['sent_at']) or '')}</p></section>"
        )
    closed = (
        "<p>Tin báo đã kết thúc / This alert has ended.</p>" if alert["status"] == "closed" else ""
    )
    return HTMLResponse(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<title>Bình Yên</title><link rel="stylesheet" href="/a/style.css"></head><body>'
        + closed
        + "".join(parts)
        + "</body></html>",
        headers={"Content-Security-Policy": PUBLIC_CSP, "Cache-Control": "public, max-age=30"},
    )


class DeliveryRead(BaseModel):
    """One delivery record: to whom by kind and id, over which channel, how it went."""

    id: str
    wave: str = Field(description="r<round>s<step>, m<n> (reminder) or cancel.")
    recipient_kind: str
    recipient_id: str
    hamlet_id: str | None
    channel: str
    status: str
    attempts: int
    error_code: str | None
    digested_into: str | None = None


@router.get(
    "/api/v1/alerts/{alert_id}/deliveries",
    response_model=list[DeliveryRead],
    responses=PROBLEMS,
    summary="An alert's delivery records (queued, sent, delivered, failed, acknowledged)",
)
async def list_deliveries(
    alert_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> list[DeliveryRead]:
    """Officers who report on the hamlet (alerts:report); ids only, never a phone or a name."""
    _alert, rows = await reports.deliveries(ctx, alert_id, principal)
    return [
        DeliveryRead(
            id=d["_id"],
            wave=d["wave"],
            recipient_kind=d["kind"],
            recipient_id=d["recipient_id"],
            hamlet_id=d.get("hamlet_id"),
            channel=d["channel"],
            status=d["status"],
            attempts=int(d.get("attempts", 0)),
            error_code=d.get("error_code"),
            digested_into=d.get("digested_into"),
        )
        for d in rows
    ]


class AckBody(BaseModel):
    """An officer's answer to an alert that reached them."""

    answer: Literal["received", "coming"] = Field(description="Tôi đã nhận / Tôi đang đến.")


class AckRead(BaseModel):
    """Whether the answer was recorded now."""

    recorded: bool


@router.post(
    "/api/v1/alerts/{alert_id}/ack",
    response_model=AckRead,
    responses=PROBLEMS,
    summary="Acknowledge an alert that reached you (apps)",
)
async def acknowledge(
    alert_id: str, body: AckBody, ctx: ContextDep, principal: CurrentPrincipal
) -> AckRead:
    """The first responder's acknowledgement stops the escalation."""
    return AckRead(recorded=await acks.by_staff(ctx, alert_id, body.answer, principal))


class HamletDrillRead(BaseModel):
    """One hamlet's drill result."""

    hamlet_id: str
    recipients: int
    households: int
    delivered: int
    acknowledged: int
    seconds_to_first_ack: float | None
    not_answered: int
    not_answered_names: list[str] | None = Field(
        description="Only for officers of the hamlet (people:read there); null for others."
    )


class DrillReport(BaseModel):
    """The reach of an alert (a drill, usually) per hamlet."""

    alert: AlertRead
    hamlets: list[HamletDrillRead]


@router.get(
    "/api/v1/alerts/{alert_id}/report",
    response_model=DrillReport,
    responses=PROBLEMS,
    summary="Drill report: reach, time to first acknowledgement, who did not answer",
)
async def drill_report(alert_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> DrillReport:
    """Hamlet officers and above; names only for officers of that hamlet."""
    alert, rows = await reports.drill_report(ctx, alert_id, principal)
    return DrillReport(
        alert=AlertRead.of(alert, await ctx.stores.recipients.reach(alert_id)),
        hamlets=[HamletDrillRead(**row.__dict__) for row in rows],
    )
