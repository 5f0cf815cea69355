"""Use cases for commune implementation plans and their tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.tasks import TOPIC, TaskAssigned, TaskUpdated
from binhyen.kit.auth import Forbidden, Principal, authorize
from binhyen.kit.idempotency import caller_scope, create_once, creation, request_fingerprint
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from binhyen.kit.text import nfc
from binhyen.registry.domain import tasks as domain
from binhyen.registry.domain.tasks import Plan, Task
from binhyen.registry.service.common import Context
from binhyen.registry.service.organisations import (
    check_version,
    today_vn,
)
from binhyen.registry.store import Stores

EDITABLE = ("title", "description", "due_date", "organisation_id")


def _refuse(exc: domain.TaskRuleViolation) -> DomainError:
    if exc.conflict:
        extra = {"allowed": exc.allowed} if exc.allowed is not None else None
        return Conflict(str(exc), field=exc.field, extra=extra)
    return Invalid(str(exc), field=exc.field)


# Plans


@dataclass(frozen=True)
class CreatePlan:
    """Command: a commune adopts an implementation plan for a year."""

    commune_id: str
    year: int
    title: str
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {"commune_id": self.commune_id, "year": self.year, "title": nfc(self.title)}
        )


async def create_plan(
    cmd: CreatePlan, *, principal: Principal, stores: Stores
) -> tuple[Plan, bool]:
    """Create a commune plan; return it and whether it was created now."""
    request = creation(
        "plans",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> Plan | None:
        unit = await stores.units.get(cmd.commune_id)
        path = (*unit.ancestor_ids, unit.id) if unit else ()
        if unit is None or not principal.allows("units:read", path):
            raise Invalid(f"unit {cmd.commune_id} does not exist", field="commune_id")
        authorize(principal, "tasks:write", path, what=f"unit {cmd.commune_id}")
        try:
            plan = domain.create_plan(
                plan_id=request.result_id,
                commune_id=unit.id,
                unit_path=path,
                unit_level=unit.level,
                year=cmd.year,
                title=nfc(cmd.title),
            )
        except domain.TaskRuleViolation as exc:
            raise _refuse(exc) from exc
        return plan if await stores.tasks.insert_plan(plan, record=request.record) else None

    async def may_have(plan: Plan) -> None:
        authorize(principal, "tasks:write", plan.unit_path, what=f"unit {plan.commune_id}")

    return await create_once(
        request,
        create=create,
        find=lambda: stores.tasks.plan_with_fingerprint(request.result_id),
        check=may_have,
    )


async def get_plan(
    plan_id: str, *, principal: Principal, stores: Stores, permission: str = "tasks:read"
) -> Plan:
    """The plan with this id, if the caller may see it."""
    plan = await stores.tasks.get_plan(plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id} does not exist")
    authorize(principal, permission, plan.unit_path, what=f"plan {plan_id}")
    return plan


async def list_plans(
    *, principal: Principal, stores: Stores, commune_id: str | None, year: int | None
) -> list[Plan]:
    """Plans in the caller's scope."""
    return await stores.tasks.find_plans(
        scopes=principal.scopes("tasks:read"), commune_id=commune_id, year=year
    )


# Tasks


def task_state(task: Task, plan: Plan) -> dict[str, Any]:
    """The fields every task event carries: the full current state."""
    return {
        "task_id": task.id,
        "plan_id": plan.id,
        "plan_year": plan.year,
        "plan_title": plan.title,
        "commune_id": task.commune_id,
        "organisation_id": task.organisation_id,
        "organisation_unit_id": task.organisation_unit_path[-1],
        "organisation_unit_path": list(task.organisation_unit_path),
        "title": task.title,
        "description": task.description,
        "due_date": task.due_date,
        "status": task.status,
        "completed_at": task.completed_at,
        "version": task.version,
    }


@dataclass(frozen=True)
class AssignTask:
    """Command: the plan gives an organisation a task with a due date."""

    title: str
    organisation_id: str
    due_date: date
    description: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self, plan_id: str) -> str:
        """What makes two requests the same, for Idempotency-Key checks."""
        return request_fingerprint(
            {
                "plan_id": plan_id,
                "title": nfc(self.title),
                "organisation_id": self.organisation_id,
                "due_date": self.due_date,
                "description": self.description,
            }
        )


async def _assignee(
    stores: Stores, organisation_id: str, principal: Principal, commune_id: str
) -> tuple[str, tuple[str, ...], bool]:
    org = await stores.organisations.get(organisation_id)
    # Unknown, outside the caller's scope, or of another commune: one answer, so the error
    # tells nothing about organisations the caller may not see.
    if (
        org is None
        or commune_id not in org.unit_path
        or not principal.allows("organisations:read", org.unit_path)
    ):
        raise Invalid(
            f"organisation {organisation_id} is not an organisation of the commune of this plan",
            field="organisation_id",
        )
    return org.id, org.unit_path, org.active


async def assign_task(
    plan_id: str,
    cmd: AssignTask,
    *,
    principal: Principal,
    ctx: Context,
) -> tuple[Task, bool]:
    """Add a task to a plan; return it and whether it was created now."""
    plan = await get_plan(plan_id, principal=principal, stores=ctx.stores)
    authorize(principal, "tasks:write", plan.unit_path, what=f"plan {plan_id}")
    request = creation(
        "tasks",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(plan.id),
    )

    async def create() -> Task | None:
        org_id, org_path, org_active = await _assignee(
            ctx.stores, cmd.organisation_id, principal, plan.commune_id
        )
        try:
            task = domain.assign_task(
                task_id=request.result_id,
                plan=plan,
                title=nfc(cmd.title),
                description=cmd.description,
                organisation_id=org_id,
                organisation_unit_path=org_path,
                organisation_active=org_active,
                due_date=cmd.due_date,
            )
        except domain.TaskRuleViolation as exc:
            raise _refuse(exc) from exc
        event = CloudEvent.wrap(TaskAssigned(**task_state(task, plan)))
        outbox = [outbox_entry(event, ctx.topic(TOPIC.name))]
        if not await ctx.stores.tasks.insert(task, outbox=outbox, record=request.record):
            return None
        ctx.publish_pending()
        return task

    async def may_have(task: Task) -> None:
        current = await get_plan(task.plan_id, principal=principal, stores=ctx.stores)
        authorize(principal, "tasks:write", current.unit_path, what=f"plan {current.id}")

    return await create_once(
        request,
        create=create,
        find=lambda: ctx.stores.tasks.with_fingerprint(request.result_id),
        check=may_have,
    )


async def get_task(
    task_id: str, *, principal: Principal, stores: Stores, permission: str = "tasks:read"
) -> Task:
    """The task with this id, if the caller may see it."""
    task = await stores.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    authorize(principal, permission, task.organisation_unit_path, what=f"task {task_id}")
    return task


async def list_tasks(
    *,
    principal: Principal,
    stores: Stores,
    plan_id: str | None,
    organisation_id: str | None,
    status: str | None,
    overdue: bool,
    limit: int,
    offset: int,
) -> tuple[list[Task], int]:
    """Tasks in the caller's scope matching the filters, soonest due first."""
    return await stores.tasks.find(
        scopes=principal.scopes("tasks:read"),
        plan_id=plan_id,
        organisation_id=organisation_id,
        status=status,
        overdue_on=today_vn() if overdue else None,
        limit=limit,
        offset=offset,
    )


async def update_task(
    task_id: str,
    *,
    changes: dict[str, Any],
    expected_version: int | None,
    principal: Principal,
    ctx: Context,
) -> Task:
    """Change a task's status or content (If-Match required).

    The assigned organisation may move the status; what the task is, when it is due and
    who does it are the commune's to change.
    """
    task = await get_task(task_id, principal=principal, stores=ctx.stores)
    authorize(principal, "tasks:write", task.organisation_unit_path, what=f"task {task_id}")
    check_version(task.version, expected_version, f"task {task_id}")
    plan = await ctx.stores.tasks.get_plan(task.plan_id)
    if plan is None:
        raise NotFound(f"plan {task.plan_id} does not exist")
    edits = {k: v for k, v in changes.items() if k in EDITABLE}
    if edits and not principal.allows("tasks:write", plan.unit_path):
        raise Forbidden(
            "only the commune may change what a task is, when it is due or who does it; "
            "you may change its status"
        )
    assignee = (
        await _assignee(ctx.stores, edits["organisation_id"], principal, plan.commune_id)
        if edits.get("organisation_id") not in (None, task.organisation_id)
        else None
    )
    try:
        new = (
            domain.edit_task(
                task,
                plan,
                title=nfc(edits["title"]) if edits.get("title") else None,
                description=edits.get("description"),
                clear_description="description" in edits and edits["description"] is None,
                due_date=edits.get("due_date"),
                organisation=assignee,
            )
            if edits
            else task
        )
        if changes.get("status") is not None:
            new = domain.change_status(new, changes["status"], now=datetime.now(UTC))
    except domain.TaskRuleViolation as exc:
        raise _refuse(exc) from exc
    if new == task:
        return task
    new = replace(new, version=task.version + 1)  # one version step per request
    changed = [
        name
        for name, before, after in (
            ("status", task.status, new.status),
            ("title", task.title, new.title),
            ("description", task.description, new.description),
            ("due_date", task.due_date, new.due_date),
            ("organisation_id", task.organisation_id, new.organisation_id),
        )
        if before != after
    ]
    event = CloudEvent.wrap(TaskUpdated(**task_state(new, plan), changes=changed))
    written = await ctx.stores.tasks.replace(
        new, expected_version=task.version, outbox=[outbox_entry(event, ctx.topic(TOPIC.name))]
    )
    if not written:  # someone else wrote between our read and our write
        raise PreconditionFailed(
            f"task {task_id} changed while you were updating it; read it again and retry",
            field="If-Match",
        )
    ctx.publish_pending()
    return new


# Unit moves


async def follow_unit_paths(
    moved_id: str,
    path_of: Callable[[str], Awaitable[tuple[str, ...] | None]],
    *,
    ctx: Context,
) -> int:
    """Give plans and tasks under a moved or merged unit their new unit path.

    A task's change is one guarded write of its new state (one version step) and its
    event, as any other change; plans have no events. Returns how many lost a race with a
    concurrent change (left to retry).
    """
    left = 0
    for plan_id, old in await ctx.stores.tasks.plans_under(moved_id):
        path = await path_of(old[-1])
        if path is not None and list(path) != old:
            left += not await ctx.stores.tasks.set_plan_path(plan_id, old, list(path))
    plans: dict[str, Plan | None] = {}
    for task_id in await ctx.stores.tasks.ids_under(moved_id):
        task = await ctx.stores.tasks.get(task_id)
        if task is None:
            continue
        path = await path_of(task.organisation_unit_path[-1])
        if path is None or path == task.organisation_unit_path:
            continue
        if task.plan_id not in plans:
            plans[task.plan_id] = await ctx.stores.tasks.get_plan(task.plan_id)
        plan = plans[task.plan_id]
        if plan is None:
            continue  # cannot happen: a task is assigned within an existing plan
        new = replace(task, organisation_unit_path=path, version=task.version + 1)
        event = TaskUpdated(**task_state(new, plan), changes=["organisation_unit_path"])
        written = await ctx.stores.tasks.replace(
            new,
            expected_version=task.version,
            outbox=[outbox_entry(CloudEvent.wrap(event), ctx.topic(TOPIC.name))],
        )
        if written:
            ctx.publish_pending("tasks", new.id)
        else:
            left += 1
    return left
