"""Commune implementation plans and their tasks, with the task state machine (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

STATUSES = ("todo", "in_progress", "done", "cancelled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "todo": ("in_progress", "cancelled"),
    "in_progress": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}
OPEN = ("todo", "in_progress")


class TaskRuleViolation(Exception):
    """A change would break a rule of plans or tasks."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        conflict: bool = False,
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict  # True: clashes with the current state (409)
        self.allowed = list(allowed) if allowed is not None else None


def _vn(day: date) -> str:
    return f"{day:%d/%m/%Y}"


@dataclass(frozen=True)
class Plan:
    """A commune's implementation plan (kế hoạch triển khai) for a year."""

    id: str
    commune_id: str
    unit_path: tuple[str, ...]
    year: int
    title: str


@dataclass(frozen=True)
class Task:
    """A task of a plan, assigned to an organisation, with a due date and a status."""

    id: str
    plan_id: str
    commune_id: str
    title: str
    organisation_id: str
    organisation_unit_path: tuple[str, ...]
    due_date: date
    description: str | None = None
    status: str = "todo"
    version: int = 1
    completed_at: datetime | None = None

    def overdue(self, today: date) -> bool:
        """True if still open after its due date."""
        return self.status in OPEN and self.due_date < today


def create_plan(
    *,
    plan_id: str,
    commune_id: str,
    unit_path: Sequence[str],
    unit_level: str,
    year: int,
    title: str,
) -> Plan:
    """A new plan of a commune."""
    if unit_level != "commune":
        raise TaskRuleViolation(
            f"implementation plans belong to a commune, not a {unit_level}", field="commune_id"
        )
    return Plan(plan_id, commune_id, tuple(unit_path), year, title)


def assign_task(
    *,
    task_id: str,
    plan: Plan,
    title: str,
    description: str | None,
    organisation_id: str,
    organisation_unit_path: Sequence[str],
    organisation_active: bool,
    due_date: date,
) -> Task:
    """A new task of ``plan`` for an organisation of the plan's commune."""
    _check_assignee(plan, organisation_id, organisation_unit_path, organisation_active)
    _check_due(plan, due_date)
    return Task(
        id=task_id,
        plan_id=plan.id,
        commune_id=plan.commune_id,
        title=title,
        description=description,
        organisation_id=organisation_id,
        organisation_unit_path=tuple(organisation_unit_path),
        due_date=due_date,
    )


def _check_assignee(
    plan: Plan, organisation_id: str, unit_path: Sequence[str], active: bool
) -> None:
    if plan.commune_id not in unit_path:
        raise TaskRuleViolation(
            f"organisation {organisation_id} does not belong to the commune of this plan; "
            "assign tasks to organisations of the commune or its hamlets",
            field="organisation_id",
        )
    if not active:
        raise TaskRuleViolation(
            f"organisation {organisation_id} is disbanded; assign the task to an active one",
            field="organisation_id",
        )


def _check_due(plan: Plan, due_date: date) -> None:
    if due_date.year < plan.year:
        raise TaskRuleViolation(
            f"due date {_vn(due_date)} is before the plan's year {plan.year}", field="due_date"
        )


def allowed_transitions(status: str) -> tuple[str, ...]:
    """Statuses a task in ``status`` may move to."""
    return TRANSITIONS.get(status, ())


def change_status(task: Task, status: str, *, now: datetime) -> Task:
    """Move the task to ``status`` if the state machine allows it."""
    if status not in STATUSES:
        raise TaskRuleViolation(
            f"unknown status {status!r}; use one of: {', '.join(STATUSES)}", field="status"
        )
    if status == task.status:
        return task
    allowed = allowed_transitions(task.status)
    if status not in allowed:
        raise TaskRuleViolation(
            f"a task that is {task.status} cannot become {status}; "
            + (f"allowed: {', '.join(allowed)}" if allowed else "it is final"),
            field="status",
            conflict=True,
            allowed=allowed,
        )
    return replace(
        task,
        status=status,
        completed_at=now if status == "done" else task.completed_at,
        version=task.version + 1,
    )


def edit_task(
    task: Task,
    plan: Plan,
    *,
    title: str | None = None,
    description: str | None = None,
    clear_description: bool = False,
    due_date: date | None = None,
    organisation: tuple[str, Sequence[str], bool] | None = None,
) -> Task:
    """Change what the task is, when it is due or who does it (open tasks only)."""
    if task.status not in OPEN:
        raise TaskRuleViolation(
            f"the task is {task.status}; a final task can no longer be edited",
            field="status",
            conflict=True,
        )
    changed = task
    if title is not None:
        changed = replace(changed, title=title)
    if clear_description or description is not None:
        changed = replace(changed, description=None if clear_description else description)
    if due_date is not None:
        _check_due(plan, due_date)
        changed = replace(changed, due_date=due_date)
    if organisation is not None:
        org_id, path, active = organisation
        _check_assignee(plan, org_id, path, active)
        changed = replace(changed, organisation_id=org_id, organisation_unit_path=tuple(path))
    if changed == task:
        return task
    return replace(changed, version=task.version + 1)
