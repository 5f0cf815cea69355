"""The category catalogue and the deadline policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from binhyen.incidents.api.common import (
    PROBLEMS,
    ContextDep,
    IfMatch,
    expected_version,
    set_etag,
)
from binhyen.incidents.domain.categories import (
    SEVERITIES,
    AnswerType,
    Category,
    Group,
    Question,
    Severity,
)
from binhyen.incidents.domain.deadlines import DeadlinePolicy, Targets
from binhyen.incidents.service import categories as service
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeMultiline, SafeText

router = APIRouter(prefix="/api/v1", tags=["categories"])
Code = Annotated[str, Path(max_length=40, description="Category code, e.g. drugs.")]


class QuestionModel(BaseModel):
    """An extra question the category asks on intake (an Open311 attribute)."""

    code: SafeText = Field(max_length=40, description="Key of the answer in `answers`.")
    label_vi: SafeText = Field(min_length=1, max_length=200)
    label_en: SafeText = Field(min_length=1, max_length=200)
    type: AnswerType = Field(description="string, text, integer, number, boolean, date, …")
    required: bool = False
    values: list[SafeText] = Field(
        default_factory=list, max_length=50, description="Allowed values of a choice question."
    )
    description: SafeMultiline | None = Field(None, max_length=500)


class CategoryWrite(BaseModel):
    """A category as staff define it."""

    name_vi: SafeText = Field(min_length=1, max_length=200)
    name_en: SafeText = Field(min_length=1, max_length=200)
    group: Group
    ba_khong: bool = Field(False, description="Counts towards Ba Không (drugs, gambling, traffic).")
    default_severity: Severity
    questions: list[QuestionModel] = Field(default_factory=list, max_length=30)
    active: bool = Field(True, description="False retires the category (no new reports).")
    description_vi: SafeMultiline | None = Field(None, max_length=1000)
    description_en: SafeMultiline | None = Field(None, max_length=1000)
    keywords: list[SafeText] = Field(default_factory=list, max_length=20)

    def to_category(self, code: str) -> Category:
        """The domain category."""
        return Category(
            code=code,
            name_vi=self.name_vi,
            name_en=self.name_en,
            group=self.group,
            ba_khong=self.ba_khong,
            default_severity=self.default_severity,
            questions=tuple(
                Question(
                    code=q.code,
                    label_vi=q.label_vi,
                    label_en=q.label_en,
                    type=q.type,
                    required=q.required,
                    values=tuple(q.values),
                    description=q.description,
                )
                for q in self.questions
            ),
            active=self.active,
            description_vi=self.description_vi,
            description_en=self.description_en,
            keywords=tuple(self.keywords),
        )


class CategoryCreate(CategoryWrite):
    """A new category."""

    code: SafeText = Field(max_length=40, description="Stable code, e.g. illegal_fireworks.")


class CategoryRead(CategoryCreate):
    """A category (its current version)."""

    version: int

    @classmethod
    def of(cls, c: Category) -> CategoryRead:
        """Build the response (stored values are not re-checked against the write rules)."""
        # model_construct: a category stored before control characters were refused must
        # still read back, not fail the response with a 500.
        return cls.model_construct(
            code=c.code,
            name_vi=c.name_vi,
            name_en=c.name_en,
            group=c.group,
            ba_khong=c.ba_khong,
            default_severity=c.default_severity,
            questions=[
                QuestionModel.model_construct(
                    code=q.code,
                    label_vi=q.label_vi,
                    label_en=q.label_en,
                    type=q.type,
                    required=q.required,
                    values=list(q.values),
                    description=q.description,
                )
                for q in c.questions
            ],
            active=c.active,
            description_vi=c.description_vi,
            description_en=c.description_en,
            keywords=list(c.keywords),
            version=c.version,
        )


@router.get("/categories", response_model=list[CategoryRead], summary="List categories")
async def list_categories(
    ctx: ContextDep,
    include_retired: Annotated[bool, Query(description="Also retired categories.")] = False,
) -> list[CategoryRead]:
    """The catalogue of what can be reported (public: no sign-in needed)."""
    return [
        CategoryRead.of(c)
        for c in await service.list_categories(ctx, include_retired=include_retired)
    ]


@router.get(
    "/categories/{code}",
    response_model=CategoryRead,
    responses={404: PROBLEMS[404]},
    summary="Get a category",
)
async def read_category(code: Code, ctx: ContextDep, response: Response) -> CategoryRead:
    """One category with its questions."""
    category = await service.get_category(ctx, code)
    set_etag(response, category.version)
    return CategoryRead.of(category)


@router.post(
    "/categories",
    response_model=CategoryRead,
    status_code=status.HTTP_201_CREATED,
    responses={k: PROBLEMS[k] for k in (401, 403, 409, 422)},
    summary="Add a category",
)
async def create_category(
    body: CategoryCreate, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> CategoryRead:
    """Add a category to the catalogue (commune officers, admins)."""
    category = await service.create_category(ctx, body.to_category(body.code), principal=principal)
    set_etag(response, category.version)
    return CategoryRead.of(category)


@router.put(
    "/categories/{code}",
    response_model=CategoryRead,
    responses={k: PROBLEMS[k] for k in (401, 403, 404, 412, 422)},
    summary="Revise a category",
)
async def revise_category(
    code: Code,
    body: CategoryWrite,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> CategoryRead:
    """Store a new version; incidents keep the version they were filed under."""
    category = await service.revise_category(
        ctx,
        body.to_category(code),
        principal=principal,
        expected_version=expected_version(if_match),
    )
    set_etag(response, category.version)
    return CategoryRead.of(category)


class TargetsModel(BaseModel):
    """Time to acknowledge and time to resolve, in minutes."""

    acknowledge_minutes: float = Field(gt=0, le=525_600)
    resolve_minutes: float = Field(gt=0, le=5_256_000)


class PolicyModel(BaseModel):
    """Deadline targets per severity."""

    low: TargetsModel
    medium: TargetsModel
    high: TargetsModel
    critical: TargetsModel


class PolicyRead(PolicyModel):
    """The deadline policy in force."""

    version: int


def _policy_read(policy: DeadlinePolicy) -> PolicyRead:
    targets = {
        s: TargetsModel(
            acknowledge_minutes=policy.targets[s].acknowledge.total_seconds() / 60,
            resolve_minutes=policy.targets[s].resolve.total_seconds() / 60,
        )
        for s in SEVERITIES
    }
    return PolicyRead(version=policy.version, **targets)


@router.get("/deadline-policy", response_model=PolicyRead, summary="Get the deadline policy")
async def read_policy(ctx: ContextDep, response: Response) -> PolicyRead:
    """Time to acknowledge and to resolve per severity."""
    policy = await service.get_policy(ctx)
    set_etag(response, policy.version)
    return _policy_read(policy)


@router.put(
    "/deadline-policy",
    response_model=PolicyRead,
    responses={k: PROBLEMS[k] for k in (401, 403, 412, 422)},
    summary="Change the deadline policy",
)
async def write_policy(
    body: PolicyModel,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> PolicyRead:
    """New targets apply to incidents reported (or reopened) from now on."""
    policy = DeadlinePolicy(
        {
            s: Targets(
                timedelta(minutes=getattr(body, s).acknowledge_minutes),
                timedelta(minutes=getattr(body, s).resolve_minutes),
            )
            for s in SEVERITIES
        }
    )
    saved = await service.set_policy(
        ctx, policy, principal=principal, expected_version=expected_version(if_match)
    )
    set_etag(response, saved.version)
    return _policy_read(saved)
