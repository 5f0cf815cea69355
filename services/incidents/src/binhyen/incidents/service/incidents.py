"""Intake and handling of incidents: report, transitions, mediation, hand-off, messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from binhyen.incidents.domain import incidents as domain
from binhyen.incidents.domain.categories import (
    Category,
    CategoryRuleViolation,
    Severity,
    validate_answers,
)
from binhyen.incidents.domain.deadlines import deadlines_for
from binhyen.incidents.domain.incidents import (
    Action,
    Assignee,
    Change,
    Handoff,
    Incident,
    IncidentRuleViolation,
    MediationSession,
    Point,
    Reporter,
    RoleNotAllowed,
    TransitionNotAllowed,
)
from binhyen.incidents.service.categories import (
    category_for_intake,
    get_policy,
    policy_for_intake,
)
from binhyen.incidents.service.common import (
    Context,
    check_version,
    domain_error,
    load_incident,
    lost_race,
    reporter_ref,
    roles_at,
)
from binhyen.incidents.service.events import (
    change_outbox,
    message_outbox,
    unmask_outbox,
)
from binhyen.incidents.service.replicas import reportable_hamlet, unknown_hamlet
from binhyen.incidents.store.incidents import Message
from binhyen.kit.auth import Forbidden, Principal, authorize
from binhyen.kit.idempotency import (
    FINGERPRINT,
    Creation,
    create_once,
    creation,
    request_fingerprint,
)
from binhyen.kit.problems import Conflict, Invalid, NotFound, if_match_given, retry_unconditional
from binhyen.kit.text import fold, nfc

ID_NAMESPACE = uuid.UUID("8a1f6a52-3c1e-4d2e-9d7b-2f7f3b5c9e10")
Channel = Literal["user", "anonymous", "open311"]


@dataclass(frozen=True)
class ReportIncident:
    """Report something that happened in a hamlet."""

    hamlet_id: str
    category: str
    description: str
    occurred_at: datetime
    severity: Severity | None = None
    location: Point | None = None
    address: str | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "hamlet_id": self.hamlet_id,
                "category": self.category,
                "description": self.description,
                "occurred_at": self.occurred_at.isoformat(),
                "severity": self.severity,
                "location": None
                if self.location is None
                else [self.location.lon, self.location.lat],
                "address": self.address,
                "answers": dict(self.answers),
            }
        )


@dataclass(frozen=True)
class Reported:
    """The result of a report: the incident, whether it is new, the tipster's reply token."""

    incident: Incident
    created: bool
    reply_token: str | None = None


def text(value: str) -> str:
    """Free text as stored: NFC, lines kept, trailing spaces trimmed."""
    lines = unicodedata.normalize("NFC", value).replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def search_key(incident: Incident, category: Category) -> str:
    """The folded text a search matches (no diacritics, đ → d)."""
    parts = [incident.description, incident.address or "", category.name_vi, category.name_en]
    return fold(" ".join(parts))


def reply_token(secret: str, incident_id: str) -> str:
    """The tipster's reply token for an incident: its id and a keyed signature."""
    mac = hmac.new(secret.encode(), f"tip:{incident_id}".encode(), hashlib.sha256).digest()
    return f"{incident_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def incident_of_token(secrets: Sequence[str], token: str) -> str | None:
    """The incident a reply token opens, or None if none of ``secrets`` signed it."""
    incident_id, _, _ = token.partition(".")
    if not incident_id:
        return None
    # Every secret is tried, so the answer takes as long whichever one matches.
    genuine = [hmac.compare_digest(reply_token(s, incident_id), token) for s in secrets]
    return incident_id if any(genuine) else None


async def report_incident(
    cmd: ReportIncident,
    *,
    ctx: Context,
    principal: Principal | None,
    channel: Channel = "user",
    identity: Mapping[str, Any] | None = None,
    client_id: str | None = None,
) -> Reported:
    """File a report; a retried request with the same Idempotency-Key returns the first result."""
    owner = principal.subject if principal is not None else (client_id or channel)
    # The caller's scope: a user's subject, or an anonymous channel's keyed client hash.
    request = creation(
        ID_NAMESPACE,
        scope=f"{channel}\x00{owner}",
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> Incident | None:
        return await _file(cmd, request, ctx, principal, channel, identity, owner)

    async def find() -> tuple[Incident, str] | None:
        found = await ctx.stores.incidents.secrets(request.result_id)
        incident = await ctx.stores.incidents.get(request.result_id) if found else None
        if found is None or incident is None:
            return None
        return incident, found.get(FINGERPRINT, "")

    async def may_have(incident: Incident) -> None:
        _may_report(principal, incident.hamlet_id, incident.unit_path)

    incident, created = await create_once(request, create=create, find=find, check=may_have)
    if not created:
        ctx.publish_pending(
            "incidents", incident.id
        )  # in case the first attempt stopped before the relay
    return Reported(incident, created, _token(ctx, incident.id) if channel == "anonymous" else None)


def _may_report(principal: Principal | None, hamlet_id: str, path: Sequence[str]) -> None:
    """Raise unless a signed-in caller may report in this hamlet (anonymous channels may)."""
    if principal is None or principal.allows("incidents:report", path):
        return
    if principal.allows("units:read", path):
        raise Forbidden(f"your roles do not allow reporting in hamlet {hamlet_id}")
    raise unknown_hamlet()  # outside the caller's grants: as if it did not exist


async def _file(
    cmd: ReportIncident,
    request: Creation,
    ctx: Context,
    principal: Principal | None,
    channel: Channel,
    identity: Mapping[str, Any] | None,
    owner: str,
) -> Incident | None:
    unit = await reportable_hamlet(
        cmd.hamlet_id, stores=ctx.stores, cache=ctx.cache, principal=principal
    )
    path = (*unit.ancestor_ids, unit.id)
    _may_report(principal, unit.id, path)
    category = await category_for_intake(ctx, cmd.category)
    if category is None or not category.active:
        raise Invalid(
            "no active category has this code; GET /api/v1/categories lists them",
            field="category",
        )
    now = ctx.now()
    try:
        answers = validate_answers(category, dict(cmd.answers))
        policy = await policy_for_intake(ctx)
        severity = cmd.severity or category.default_severity
        reporter = Reporter(channel, None if channel == "anonymous" else owner)
        incident = domain.report(
            incident_id=request.result_id,
            hamlet_id=unit.id,
            unit_path=path,
            category=category,
            description=text(cmd.description),
            occurred_at=cmd.occurred_at,
            now=now,
            reporter=reporter,
            reporter_ref=reporter_ref(ctx, request.result_id, reporter),
            severity=severity,
            location=cmd.location,
            address=nfc(cmd.address) if cmd.address else None,
            answers=answers,
            deadlines=deadlines_for(policy, severity, now),
        )
    except (CategoryRuleViolation, IncidentRuleViolation) as exc:
        raise domain_error(exc) from exc
    extra: dict[str, Any] = dict(request.record)
    if identity:
        extra["reporter_identity"] = {k: v for k, v in identity.items() if v}
    outbox = change_outbox(ctx, incident, incident.timeline)
    inserted = await ctx.stores.incidents.insert(
        incident, outbox=outbox, search=search_key(incident, category), extra=extra
    )
    if not inserted:  # the id: an earlier request with the same caller and key
        return None
    ctx.publish_new("incidents", incident.id, outbox)
    return incident


def _token(ctx: Context, incident_id: str) -> str:
    return reply_token(ctx.settings.tip_key(), incident_id)


@dataclass(frozen=True)
class AssigneeInput:
    """Whom to assign: a team, or a person who is a member of a team."""

    team_id: str
    person_id: str | None = None


@dataclass(frozen=True)
class HandoffInput:
    """What the hand-off to the police records."""

    to_name: str
    summary: str
    to_unit_id: str | None = None
    to_officer: str | None = None
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class TakeAction:
    """Move an incident through its lifecycle."""

    incident_id: str
    action: Action
    reason: str | None = None
    assignee: AssigneeInput | None = None
    duplicate_of: str | None = None
    handoff: HandoffInput | None = None
    expected_version: int | None = None


def _cmd_if_match(cmd: TakeAction | RecordSession, **_kw: object) -> bool:
    """Whether the command came with If-Match (``retry_unconditional``)."""
    return cmd.expected_version is not None


@retry_unconditional(_cmd_if_match)
async def take_action(cmd: TakeAction, *, ctx: Context, principal: Principal) -> Incident:
    """Apply a lifecycle action; 409 naming the allowed ones, 412 if changed meanwhile."""
    # Reading needs scope (else 404); the lifecycle's role rules decide the rest (403).
    incident = await load_incident(ctx, cmd.incident_id, principal)
    check_version(incident.version, cmd.expected_version, f"incident {incident.id}")
    now = ctx.now()
    change = Change(reason=text(cmd.reason) if cmd.reason else None)
    if cmd.action == "assign" and cmd.assignee is not None:
        change = replace(change, assignee=await _assignee(ctx, incident, cmd.assignee))
    if cmd.action == "mark_duplicate" and cmd.duplicate_of:
        await _original(ctx, incident, cmd.duplicate_of, principal)
        change = replace(change, duplicate_of=cmd.duplicate_of)
    if cmd.action == "escalate" and cmd.handoff is not None:
        change = replace(change, handoff=_handoff(incident, cmd.handoff, principal, now))
    try:
        changed = domain.transition(
            incident,
            cmd.action,
            actor=principal.subject,
            roles=roles_at(principal, incident.unit_path),
            at=now,
            change=change,
        )
    except (TransitionNotAllowed, RoleNotAllowed, IncidentRuleViolation) as exc:
        raise domain_error(exc) from exc
    reset = False
    if cmd.action == "reopen":
        policy = await get_policy(ctx)
        changed = replace(changed, deadlines=deadlines_for(policy, changed.severity, now))
        reset = True
    await _save(ctx, incident, changed, reset_missed=reset)
    return changed


async def _save(
    ctx: Context, before: Incident, after: Incident, *, reset_missed: bool = False
) -> None:
    entries = after.timeline[len(before.timeline) :]
    outbox = change_outbox(ctx, after, entries)
    saved = await ctx.stores.incidents.save(
        after, expected_version=before.version, outbox=outbox, reset_missed=reset_missed
    )
    if not saved:
        raise lost_race(f"incident {before.id}")
    ctx.publish_pending("incidents", after.id)


async def _assignee(ctx: Context, incident: Incident, wanted: AssigneeInput) -> Assignee:
    team = await ctx.stores.teams.get(wanted.team_id)
    if team is None or team.unit_id not in incident.unit_path:
        # Another hamlet's team answers as an unknown one: neither its name nor its existence.
        raise Invalid(
            f"team {wanted.team_id} is not known in this hamlet or a unit above it; "
            "assign a team of this hamlet or its commune",
            field="assignee.team_id",
        )
    if not team.active:
        raise Invalid(f"{team.name} is disbanded", field="assignee.team_id")
    if wanted.person_id is None:
        return Assignee("team", team.id)
    if wanted.person_id not in team.member_ids:
        raise Invalid(
            f"person {wanted.person_id} is not a current member of {team.name}",
            field="assignee.person_id",
        )
    return Assignee("person", wanted.person_id, team.id)


async def _original(
    ctx: Context, incident: Incident, original_id: str, principal: Principal
) -> Incident:
    if original_id == incident.id:
        raise Invalid("an incident cannot duplicate itself", field="duplicate_of")
    original = await ctx.stores.incidents.get(original_id)
    if original is None or not principal.allows("incidents:read", original.unit_path):
        raise Invalid("the incident named does not exist", field="duplicate_of")
    if original.status in ("duplicate", "rejected"):
        target = (
            f"; mark it a duplicate of {original.duplicate_of}" if original.duplicate_of else ""
        )
        raise Conflict(
            f"incident {original_id} is {original.status} itself{target}", field="duplicate_of"
        )
    return original


def _handoff(
    incident: Incident, wanted: HandoffInput, principal: Principal, now: datetime
) -> Handoff:
    commune = incident.unit_path[-2] if len(incident.unit_path) > 1 else incident.unit_path[-1]
    to_unit = wanted.to_unit_id or commune
    if to_unit not in incident.unit_path:
        raise Invalid(
            "hand the case to the police of the incident's commune or a unit above it",
            field="handoff.to_unit_id",
        )
    if not wanted.summary.strip():
        raise Invalid("say what is handed over", field="handoff.summary")
    if not wanted.to_name.strip():
        raise Invalid("name the police unit receiving the case", field="handoff.to_name")
    return Handoff(
        handed_at=now,
        handed_by=principal.subject,
        to_unit_id=to_unit,
        to_name=nfc(wanted.to_name),
        summary=text(wanted.summary),
        items=tuple(nfc(i) for i in wanted.items if i.strip()),
        to_officer=nfc(wanted.to_officer) if wanted.to_officer else None,
    )


@retry_unconditional(if_match_given)
async def acknowledge_receipt(
    incident_id: str,
    *,
    case_reference: str,
    expected_version: int | None,
    ctx: Context,
    principal: Principal,
) -> Incident:
    """The police confirm they received a handed-off case, giving their case reference."""
    incident = await load_incident(ctx, incident_id, principal)
    authorize(principal, "incidents:write", incident.unit_path, what=f"incident {incident_id}")
    check_version(incident.version, expected_version, f"incident {incident_id}")
    try:
        changed = domain.receive_handoff(
            incident,
            actor=principal.subject,
            roles=roles_at(principal, incident.unit_path),
            at=ctx.now(),
            case_reference=nfc(case_reference),
        )
    except (RoleNotAllowed, IncidentRuleViolation) as exc:
        raise domain_error(exc) from exc
    await _save(ctx, incident, changed)
    return changed


@dataclass(frozen=True)
class RecordSession:
    """Record a mediation session of a dispute."""

    incident_id: str
    held_at: datetime
    mediators: tuple[str, ...]
    outcome: Literal["agreement", "no_agreement", "adjourned"]
    place: str | None = None
    notes: str | None = None
    expected_version: int | None = None


@retry_unconditional(_cmd_if_match)
async def record_session(cmd: RecordSession, *, ctx: Context, principal: Principal) -> Incident:
    """Add a mediation session to a dispute."""
    incident = await load_incident(ctx, cmd.incident_id, principal)
    check_version(incident.version, cmd.expected_version, f"incident {incident.id}")
    session = MediationSession(
        id=str(uuid.uuid4()),
        held_at=cmd.held_at,
        place=nfc(cmd.place) if cmd.place else None,
        mediators=tuple(nfc(m) for m in cmd.mediators if m.strip()),
        outcome=cmd.outcome,
        notes=text(cmd.notes) if cmd.notes else None,
        recorded_by=principal.subject,
    )
    try:
        changed = domain.record_session(
            incident, session, roles=roles_at(principal, incident.unit_path), now=ctx.now()
        )
    except (TransitionNotAllowed, RoleNotAllowed, IncidentRuleViolation) as exc:
        raise domain_error(exc) from exc
    await _save(ctx, incident, changed)
    return changed


@retry_unconditional(if_match_given)
async def conclude_mediation(
    incident_id: str,
    *,
    agreement: bool,
    summary: str,
    expected_version: int | None,
    ctx: Context,
    principal: Principal,
) -> Incident:
    """End mediation: agreement resolves the dispute, failure leaves it open to escalate."""
    incident = await load_incident(ctx, incident_id, principal)
    check_version(incident.version, expected_version, f"incident {incident_id}")
    try:
        changed = domain.conclude_mediation(
            incident,
            agreement=agreement,
            summary=text(summary),
            actor=principal.subject,
            roles=roles_at(principal, incident.unit_path),
            at=ctx.now(),
        )
    except (TransitionNotAllowed, RoleNotAllowed, IncidentRuleViolation) as exc:
        raise domain_error(exc) from exc
    await _save(ctx, incident, changed)
    return changed


MAX_MESSAGE = 2000


async def add_message(
    incident: Incident,
    *,
    author: Literal["staff", "reporter"],
    author_id: str | None,
    body: str,
    ctx: Context,
) -> Message:
    """Add a message to the conversation with the reporter of a tip."""
    clean = text(body)
    if not clean:
        raise Invalid("write the message", field="text")
    if len(clean) > MAX_MESSAGE:
        raise Invalid(f"a message has at most {MAX_MESSAGE} characters", field="text")
    if incident.closed and author == "reporter":
        raise Conflict(f"incident {incident.id} is {incident.status}; it takes no more messages")
    message = Message(str(uuid.uuid4()), ctx.now(), author, clean, author_id)
    outbox = message_outbox(ctx, incident, author=author, actor=author_id or author, at=message.at)
    if not await ctx.stores.incidents.add_message(incident.id, message, outbox=outbox):
        raise NotFound(f"incident {incident.id} does not exist")
    ctx.publish_pending("incidents", incident.id)
    return message


async def staff_message(
    incident_id: str, body: str, *, ctx: Context, principal: Principal
) -> Message:
    """Staff write to the reporter (e.g. ask a question of an anonymous tipster)."""
    incident = await load_incident(ctx, incident_id, principal)
    authorize(principal, "incidents:write", incident.unit_path, what=f"incident {incident_id}")
    return await add_message(
        incident, author="staff", author_id=principal.subject, body=body, ctx=ctx
    )


async def unmask_reporter(
    incident_id: str, *, reason: str, ctx: Context, principal: Principal
) -> dict[str, Any]:
    """The reporter's identity, for the police only; every call is written to the audit trail."""
    incident = await load_incident(ctx, incident_id, principal)
    authorize(principal, "incidents:unmask", incident.unit_path, what=f"incident {incident_id}")
    why = text(reason)
    if len(why) < 10:
        raise Invalid("give the reason for unmasking (at least 10 characters)", field="reason")
    now = ctx.now()
    audit = {"at": now, "by": principal.subject, "reason": why}
    outbox = unmask_outbox(ctx, incident, actor=principal.subject, reason=why, at=now)
    identity = await ctx.stores.incidents.unmask(incident_id, audit=audit, outbox=outbox)
    if identity is None:
        raise NotFound(f"incident {incident_id} does not exist")
    ctx.publish_pending("incidents", incident_id)
    result: dict[str, Any] = {"kind": incident.reporter.kind, **identity}
    if incident.reporter.kind != "anonymous" and incident.reporter.subject:
        result.setdefault("user_id", incident.reporter.subject)
    return result


async def audit_trail(
    incident_id: str, *, ctx: Context, principal: Principal
) -> list[dict[str, Any]]:
    """Who unmasked the reporter, when and why (police and admins)."""
    incident = await load_incident(ctx, incident_id, principal)
    authorize(principal, "incidents:unmask", incident.unit_path, what=f"incident {incident_id}")
    return await ctx.stores.incidents.audit_trail(incident_id)
