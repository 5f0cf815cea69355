"""HTTP API for commune implementation plans and their tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeMultiline, SafeText, nfc
from binhyen.registry.api.common import (
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    Offset,
    StoresDep,
    expected_version,
    set_etag,
)
from binhyen.registry.domain.tasks import Plan, Task, allowed_transitions
from binhyen.registry.service import tasks as service
from binhyen.registry.service.organisations import today_vn

router = APIRouter(prefix="/api/v1", tags=["tasks"])

TaskStatus = Literal["todo", "in_progress", "done", "cancelled"]


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = nfc(value)
    if not value:
        raise ValueError("must not be blank")
    return value


class PlanCreate(BaseModel):
    """A commune's implementation plan for a year."""

    model_config = ConfigDict(extra="forbid")

    commune_id: SafeText = Field(max_length=64, description="The commune adopting the plan.")
    year: int = Field(ge=2000, le=2100, description="Year of the plan, e.g. 2025.")
    title: SafeText = Field(
        min_length=1, max_length=300, description="e.g. 'Kế hoạch triển khai …'."
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _text(value) or ""


class PlanRead(BaseModel):
    """A commune implementation plan."""

    id: str
    commune_id: str
    unit_path: list[str]
    year: int
    title: str

    @classmethod
    def of(cls, plan: Plan) -> PlanRead:
        """Build the response from a domain plan."""
        return cls(
            id=plan.id,
            commune_id=plan.commune_id,
            unit_path=list(plan.unit_path),
            year=plan.year,
            title=plan.title,
        )


class TaskCreate(BaseModel):
    """A task the plan gives an organisation."""

    model_config = ConfigDict(extra="forbid")

    title: SafeText = Field(min_length=1, max_length=300, description="What to do.")
    description: SafeMultiline | None = Field(None, max_length=5000, description="Details.")
    organisation_id: SafeText = Field(
        max_length=64, description="Organisation or team of the commune or one of its hamlets."
    )
    due_date: date = Field(description="Date it is due (ISO, e.g. 2025-12-31).")

    @field_validator("title", "description")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _text(value)


class TaskUpdate(BaseModel):
    """Changes to a task; send null to clear the description."""

    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = Field(
        None, description="todo → in_progress → done; todo or in_progress → cancelled."
    )
    title: SafeText | None = Field(None, min_length=1, max_length=300)
    description: SafeMultiline | None = Field(None, max_length=5000)
    organisation_id: SafeText | None = Field(None, max_length=64)
    due_date: date | None = None

    @field_validator("title", "description")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _text(value)


class TaskRead(BaseModel):
    """A task of a plan."""

    id: str
    plan_id: str
    commune_id: str
    title: str
    description: str | None
    organisation_id: str
    due_date: date
    status: TaskStatus
    allowed_transitions: list[str] = Field(description="Statuses it may move to now.")
    overdue: bool = Field(description="Still open after its due date (Vietnam time).")
    completed_at: datetime | None
    version: int

    @classmethod
    def of(cls, task: Task) -> TaskRead:
        """Build the response from a domain task."""
        return cls(
            id=task.id,
            plan_id=task.plan_id,
            commune_id=task.commune_id,
            title=task.title,
            description=task.description,
            organisation_id=task.organisation_id,
            due_date=task.due_date,
            status=task.status,
            allowed_transitions=list(allowed_transitions(task.status)),
            overdue=task.overdue(today_vn()),
            completed_at=task.completed_at,
            version=task.version,
        )


class TaskList(BaseModel):
    """A page of tasks."""

    items: list[TaskRead]
    total: int


@router.post(
    "/plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanRead,
    responses=PROBLEMS,
    summary="Create a commune implementation plan",
)
async def create_plan(
    body: PlanCreate,
    response: Response,
    stores: StoresDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> PlanRead:
    """Create a commune's plan for a year."""
    plan, created = await service.create_plan(
        service.CreatePlan(
            commune_id=body.commune_id,
            year=body.year,
            title=body.title,
            idempotency_key=idempotency_key,
        ),
        principal=principal,
        stores=stores,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/plans/{plan.id}"
    return PlanRead.of(plan)


@router.get("/plans", response_model=list[PlanRead], responses=PROBLEMS, summary="List plans")
async def list_plans(
    stores: StoresDep,
    principal: CurrentPrincipal,
    commune_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[PlanRead]:
    """Plans the caller may read, newest year first."""
    plans = await service.list_plans(
        principal=principal, stores=stores, commune_id=commune_id, year=year
    )
    return [PlanRead.of(p) for p in plans]


@router.get("/plans/{plan_id}", response_model=PlanRead, responses=PROBLEMS, summary="Get a plan")
async def read_plan(plan_id: str, stores: StoresDep, principal: CurrentPrincipal) -> PlanRead:
    """One plan."""
    return PlanRead.of(await service.get_plan(plan_id, principal=principal, stores=stores))


@router.post(
    "/plans/{plan_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskRead,
    responses=PROBLEMS,
    summary="Assign a task of the plan to an organisation",
)
async def create_task(
    plan_id: str,
    body: TaskCreate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> TaskRead:
    """Assign a task to an organisation of the plan's commune."""
    task, created = await service.assign_task(
        plan_id,
        service.AssignTask(
            title=body.title,
            description=body.description,
            organisation_id=body.organisation_id,
            due_date=body.due_date,
            idempotency_key=idempotency_key,
        ),
        principal=principal,
        ctx=ctx,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    set_etag(response, task.version)
    return TaskRead.of(task)


@router.get("/tasks", response_model=TaskList, responses=PROBLEMS, summary="List tasks")
async def list_tasks(
    stores: StoresDep,
    principal: CurrentPrincipal,
    plan_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    organisation_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool, Query(description="Only open tasks past their due date.")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> TaskList:
    """Tasks the caller may read, soonest due first."""
    tasks, total = await service.list_tasks(
        principal=principal,
        stores=stores,
        plan_id=plan_id,
        organisation_id=organisation_id,
        status=status_,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return TaskList(items=[TaskRead.of(t) for t in tasks], total=total)


@router.get("/tasks/{task_id}", response_model=TaskRead, responses=PROBLEMS, summary="Get a task")
async def read_task(
    task_id: str, response: Response, stores: StoresDep, principal: CurrentPrincipal
) -> TaskRead:
    """One task, with an ETag."""
    task = await service.get_task(task_id, principal=principal, stores=stores)
    set_etag(response, task.version)
    return TaskRead.of(task)


@router.patch(
    "/tasks/{task_id}",
    response_model=TaskRead,
    responses=PROBLEMS,
    summary="Change a task's status or content (If-Match)",
)
async def update_task(
    task_id: str,
    body: TaskUpdate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match_: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TaskRead:
    """Move the status (409 names the allowed ones) or edit the task; If-Match required."""
    task = await service.update_task(
        task_id,
        changes=body.model_dump(include=body.model_fields_set),
        expected_version=expected_version(if_match_),
        principal=principal,
        ctx=ctx,
    )
    set_etag(response, task.version)
    return TaskRead.of(task)
