"""Alert policies: create, edit (a new version each time), read; the defaults to start with."""

from __future__ import annotations

import uuid
from dataclasses import replace

from binhyen.kit.auth import EVERYWHERE, Principal, authorize
from binhyen.kit.problems import Conflict, Invalid, PreconditionFailed
from binhyen.notifications.domain import templates
from binhyen.notifications.domain.policies import (
    Policy,
    PolicyRuleViolation,
    Step,
    Target,
    Template,
    Trigger,
)
from binhyen.notifications.service.common import Context, not_found, scoped_unit

DEFAULTS_UNIT = EVERYWHERE  # the defaults apply everywhere; a unit's own policy overrides them

_TEXT_VI = "{{ event }} tại {{ hamlet }} lúc {{ time }}{% if address %}, {{ address }}{% endif %}."
_TEXT_EN = "{{ event }} in {{ hamlet }} at {{ time }}{% if address %}, {{ address }}{% endif %}."
_BODY_VI = (
    "Tiếng kẻng an ninh: {{ event }} (mức độ {{ severity }}) tại {{ hamlet }}, {{ commune }}, "
    "lúc {{ time }}.{% if address %} Địa điểm: {{ address }}.{% endif %}\n"
    "{% if instruction %}{{ instruction }}\n{% endif %}Mã tin: {{ reference }}."
)
_BODY_EN = (
    "Security gong: {{ event }} (severity {{ severity }}) in {{ hamlet }}, {{ commune }}, "
    "at {{ time }}.{% if address %} Place: {{ address }}.{% endif %}\n"
    "{% if instruction %}{{ instruction }}\n{% endif %}Reference: {{ reference }}."
)
DEFAULT_TEMPLATES = {
    "vi": Template(
        headline="{{ event }} tại {{ hamlet }}",
        text=_TEXT_VI,
        body=_BODY_VI,
        instruction="Tổ an ninh thôn xác minh, xử lý và báo lại.",
    ),
    "en": Template(
        headline="{{ event }} in {{ hamlet }}",
        text=_TEXT_EN,
        body=_BODY_EN,
        instruction="The hamlet's security team checks, acts and reports back.",
    ),
}


def default_policies() -> list[Policy]:
    """The policies every hamlet starts with (editable by an administrator)."""
    responders = Step(0, (Target("team_on_duty"), Target("hamlet_officer"), Target("endpoints")))
    roster = Step(300, (Target("contact_roster", positions=(1, 2)),))
    commune = Step(600, (Target("commune_officer"), Target("commune_police")))
    common = {
        "unit_id": DEFAULTS_UNIT,
        "unit_path": (DEFAULTS_UNIT,),
        "channels": ("push", "sms", "zns", "email", "webhook"),
        "templates": DEFAULT_TEMPLATES,
        "version": 1,
        "updated_by": "system",
    }
    return [
        Policy(
            id="default-incidents",
            name="Mặc định: vụ việc nghiêm trọng",
            triggers=(Trigger("incident_reported", min_severity="high"),),
            steps=(responders, roster, commune),
            repeat=1,
            remind_after_seconds=1800,
            **common,  # type: ignore[arg-type]
        ),
        Policy(
            id="default-follow-up",
            name="Mặc định: quá hạn và chuyển công an",
            triggers=(Trigger("deadline_missed"), Trigger("handed_to_police")),
            steps=(Step(0, (Target("hamlet_officer"), Target("commune_officer"))),),
            remind_after_seconds=None,
            **common,  # type: ignore[arg-type]
        ),
        Policy(
            id="default-gong",
            name="Mặc định: đánh kẻng",
            triggers=(Trigger("manual"),),
            steps=(
                Step(
                    0,
                    (
                        Target("team"),
                        Target("households"),
                        Target("hamlet_officer"),
                        Target("endpoints"),
                    ),
                ),
            ),
            remind_after_seconds=None,
            critical_from="low",
            **common,  # type: ignore[arg-type]
        ),
    ]


async def seed_defaults(ctx: Context) -> int:
    """Store the default policies that are missing; how many were added."""
    added = 0
    for policy in default_policies():
        if await ctx.stores.policies.get(policy.id) is None:
            added += await ctx.stores.policies.save(policy, expected_version=None)
    return added


def check_templates(policy: Policy) -> None:
    """Raise Invalid unless every template of the policy renders within its limits."""
    for lang, template in policy.templates.items():
        for part in ("headline", "text", "body", "instruction"):
            source = getattr(template, part)
            try:
                templates.check(source, part=part, field=f"templates.{lang}.{part}")
            except templates.TemplateError as exc:
                raise Invalid(str(exc), field=exc.field) from exc


def _validated(policy: Policy) -> Policy:
    try:
        policy.check()
    except PolicyRuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    check_templates(policy)
    return policy


async def create(ctx: Context, policy: Policy, principal: Principal) -> Policy:
    """Save a new policy for a unit the caller may write policies for."""
    path = await _policy_scope(ctx, policy.unit_id, principal)
    made = _validated(
        replace(policy, id=str(uuid.uuid4()), version=1, unit_path=path,
                updated_by=principal.subject)
    )  # fmt: skip
    if not await ctx.stores.policies.save(made, expected_version=None):
        raise Conflict("the policy exists")
    return made


async def update(
    ctx: Context, policy_id: str, changes: Policy, principal: Principal, *, if_match: int | None
) -> Policy:
    """Save a new version of a policy (alerts under way keep theirs)."""
    current = await get(ctx, policy_id, principal)
    await _policy_scope(ctx, current.unit_id, principal)
    if if_match is not None and if_match != current.version:
        raise PreconditionFailed(
            f"the policy is at version {current.version}, not {if_match}; read it again"
        )
    made = _validated(
        replace(changes, id=current.id, unit_id=current.unit_id, unit_path=current.unit_path,
                version=current.version + 1, updated_by=principal.subject)
    )  # fmt: skip
    if not await ctx.stores.policies.save(made, expected_version=current.version):
        raise Conflict("the policy was changed meanwhile; read it again")
    return made


async def get(ctx: Context, policy_id: str, principal: Principal) -> Policy:
    """A policy the caller may read (out of scope answers like unknown)."""
    policy = await ctx.stores.policies.get(policy_id)
    if policy is None or not _readable(policy, principal):
        raise not_found(f"policy {policy_id}")
    return policy


async def versions(ctx: Context, policy_id: str, principal: Principal) -> list[Policy]:
    """Every version of a policy."""
    await get(ctx, policy_id, principal)
    return await ctx.stores.policies.history(policy_id)


async def for_unit(ctx: Context, unit_id: str, principal: Principal) -> list[Policy]:
    """The policies that apply to a unit: its own, its ancestors', the defaults."""
    path = await scoped_unit(ctx, unit_id, principal, "policies:read", read="policies:read")
    return await ctx.stores.policies.for_units([*path, DEFAULTS_UNIT])


def _readable(policy: Policy, principal: Principal) -> bool:
    if policy.unit_id == DEFAULTS_UNIT:
        return any(principal.allows("policies:read", [g.unit_id]) for g in principal.grants)
    return principal.allows("policies:read", policy.unit_path)


async def _policy_scope(ctx: Context, unit_id: str, principal: Principal) -> tuple[str, ...]:
    if unit_id == DEFAULTS_UNIT:
        authorize(principal, "*", [DEFAULTS_UNIT], what="the default policies")
        return (DEFAULTS_UNIT,)
    return await scoped_unit(ctx, unit_id, principal, "policies:write", read="policies:read")
