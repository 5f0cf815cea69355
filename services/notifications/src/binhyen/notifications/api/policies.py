"""Alert policies: which events raise an alert, whom it reaches, and how it escalates."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeMultiline, SafeText
from binhyen.notifications.api.common import (
    PROBLEMS,
    ContextDep,
    IfMatch,
    expected_version,
    set_etag,
)
from binhyen.notifications.domain import policies as rules
from binhyen.notifications.service import policies as service

router = APIRouter(prefix="/api/v1/policies", tags=["alert policies"])

Severity = Literal["low", "medium", "high", "critical"]
TriggerKind = Literal["incident_reported", "deadline_missed", "handed_to_police", "manual"]
TargetKind = Literal[
    "team_on_duty", "contact_roster", "team", "hamlet_officer", "commune_officer",
    "commune_police", "households", "endpoints",
]  # fmt: skip
ChannelName = Literal["push", "sms", "zns", "email", "webhook", "apprise"]


class TriggerBody(BaseModel):
    """Which events raise an alert."""

    kind: TriggerKind
    categories: list[SafeText] = Field(
        default_factory=list, max_length=50, description="Incident categories; empty: any."
    )
    groups: list[SafeText] = Field(
        default_factory=list, max_length=6, description="crime, social_evil, …; empty: any."
    )
    min_severity: Severity = "low"


class TargetBody(BaseModel):
    """Whom a step reaches."""

    kind: TargetKind
    team_kinds: list[SafeText] = Field(
        default_factory=lambda: ["people_security"], max_length=11, description="Team kinds."
    )
    positions: list[int] = Field(
        default_factory=list, max_length=20, description="contact_roster: places (1 = first)."
    )


class StepBody(BaseModel):
    """One escalation step."""

    delay_seconds: int = Field(ge=0, le=7 * 86400, description="After the previous step.")
    targets: list[TargetBody] = Field(min_length=1, max_length=8)


class TemplateBody(BaseModel):
    """Texts in one language; see the README for the fields a template may use."""

    headline: SafeText = Field(min_length=1, max_length=500)
    text: SafeMultiline = Field(min_length=1, max_length=1000)
    body: SafeMultiline = Field(min_length=1, max_length=6000)
    instruction: SafeMultiline = Field("", max_length=2000)


class PolicyBody(BaseModel):
    """A policy (every save is a new version)."""

    unit_id: SafeText = Field(max_length=64, description="Applies to incidents under this unit.")
    name: SafeText = Field(min_length=1, max_length=200)
    triggers: list[TriggerBody] = Field(min_length=1, max_length=10)
    steps: list[StepBody] = Field(min_length=1, max_length=rules.MAX_STEPS)
    channels: list[ChannelName] = Field(min_length=1, max_length=6, description="Fallback order.")
    templates: dict[Literal["vi", "en"], TemplateBody] = Field(description="vi is required.")
    repeat: int = Field(0, ge=0, le=rules.MAX_REPEAT, description="Times the steps repeat.")
    repeat_after_seconds: int = Field(300, ge=60, le=86400)
    remind_after_seconds: int | None = Field(
        1800, ge=60, le=86400, description="Reminders after an acknowledgement; null: none."
    )
    critical_from: Severity = Field("high", description="From this severity: passes quiet hours.")
    expires_after_seconds: int = Field(86400, ge=300, le=30 * 86400)
    throttle_per_hour: int = Field(
        0,
        ge=0,
        le=100,
        description="Below the critical severity, past this many alerts in an hour a person "
        "gets one digest at the end of the hour; 0: no limit.",
    )
    active: bool = True

    def policy(self) -> rules.Policy:
        """The domain policy (id, version and path are set by the use case)."""
        return rules.Policy(
            id="",
            version=0,
            unit_id=self.unit_id,
            unit_path=(),
            name=self.name,
            triggers=tuple(
                rules.Trigger(t.kind, tuple(t.categories), tuple(t.groups), t.min_severity)
                for t in self.triggers
            ),
            steps=tuple(
                rules.Step(
                    s.delay_seconds,
                    tuple(
                        rules.Target(t.kind, tuple(t.team_kinds), tuple(t.positions))
                        for t in s.targets
                    ),
                )
                for s in self.steps
            ),
            channels=tuple(self.channels),
            templates={
                lang: rules.Template(t.headline, t.text, t.body, t.instruction)
                for lang, t in self.templates.items()
            },
            repeat=self.repeat,
            repeat_after_seconds=self.repeat_after_seconds,
            remind_after_seconds=self.remind_after_seconds,
            critical_from=self.critical_from,
            expires_after_seconds=self.expires_after_seconds,
            throttle_per_hour=self.throttle_per_hour,
            active=self.active,
        )


class PolicyRead(PolicyBody):
    """A stored policy version."""

    id: str
    version: int
    updated_by: str

    @classmethod
    def of(cls, p: rules.Policy) -> PolicyRead:
        """The read model of a domain policy."""
        return cls(
            id=p.id,
            version=p.version,
            updated_by=p.updated_by,
            unit_id=p.unit_id,
            name=p.name,
            triggers=[
                TriggerBody(
                    kind=t.kind,
                    categories=list(t.categories),
                    groups=list(t.groups),
                    min_severity=t.min_severity,
                )
                for t in p.triggers
            ],
            steps=[
                StepBody(
                    delay_seconds=s.delay_seconds,
                    targets=[
                        TargetBody(
                            kind=t.kind, team_kinds=list(t.team_kinds), positions=list(t.positions)
                        )
                        for t in s.targets
                    ],
                )
                for s in p.steps
            ],
            channels=list(p.channels),
            templates={
                lang: TemplateBody(
                    headline=t.headline, text=t.text, body=t.body, instruction=t.instruction
                )
                for lang, t in p.templates.items()
                if lang in ("vi", "en")
            },
            repeat=p.repeat,
            repeat_after_seconds=p.repeat_after_seconds,
            remind_after_seconds=p.remind_after_seconds,
            critical_from=p.critical_from,
            expires_after_seconds=p.expires_after_seconds,
            throttle_per_hour=p.throttle_per_hour,
            active=p.active,
        )


@router.post(
    "",
    response_model=PolicyRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Create a policy for a unit",
)
async def create_policy(
    body: PolicyBody, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> PolicyRead:
    """Hamlet and commune officers for their units; templates are checked now."""
    policy = await service.create(ctx, body.policy(), principal)
    set_etag(response, policy.version)
    return PolicyRead.of(policy)


@router.get("", response_model=list[PolicyRead], responses=PROBLEMS, summary="Policies of a unit")
async def list_policies(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(max_length=64)],
) -> list[PolicyRead]:
    """Its own policies, its ancestors' and the defaults (the nearest unit's win)."""
    return [PolicyRead.of(p) for p in await service.for_unit(ctx, unit_id, principal)]


@router.get("/{policy_id}", response_model=PolicyRead, responses=PROBLEMS, summary="A policy")
async def get_policy(
    policy_id: str, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> PolicyRead:
    """The current version; its ETag is the version."""
    policy = await service.get(ctx, policy_id, principal)
    set_etag(response, policy.version)
    return PolicyRead.of(policy)


@router.get(
    "/{policy_id}/versions",
    response_model=list[PolicyRead],
    responses=PROBLEMS,
    summary="Every version of a policy",
)
async def policy_versions(
    policy_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> list[PolicyRead]:
    """Oldest first; an alert names the version it follows."""
    return [PolicyRead.of(p) for p in await service.versions(ctx, policy_id, principal)]


@router.put(
    "/{policy_id}",
    response_model=PolicyRead,
    responses=PROBLEMS,
    summary="Save a new version of a policy",
)
async def update_policy(
    policy_id: str,
    body: PolicyBody,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> PolicyRead:
    """Alerts already under way keep the version they started with."""
    policy = await service.update(
        ctx, policy_id, body.policy(), principal, if_match=expected_version(if_match)
    )
    set_etag(response, policy.version)
    return PolicyRead.of(policy)
