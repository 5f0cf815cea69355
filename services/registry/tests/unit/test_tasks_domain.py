"""Rules of commune plans and the task state machine, without servers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.registry.domain.tasks import (
    STATUSES,
    TRANSITIONS,
    Plan,
    Task,
    TaskRuleViolation,
    assign_task,
    change_status,
    create_plan,
    edit_task,
)

NOW = datetime(2025, 9, 9, 3, 0, tzinfo=UTC)
PLAN = Plan("plan", "c", ("p", "c"), 2025, "Kế hoạch triển khai mô hình")


def task(**changes: object) -> Task:
    args: dict[str, object] = {
        "task_id": "t",
        "plan": PLAN,
        "title": "Tuyên truyền Ba Không",
        "description": None,
        "organisation_id": "o",
        "organisation_unit_path": ("p", "c", "h"),
        "organisation_active": True,
        "due_date": date(2025, 12, 31),
    } | changes
    return assign_task(**args)  # type: ignore[arg-type]


def test_plans_belong_to_communes() -> None:
    with pytest.raises(TaskRuleViolation) as raised:
        create_plan(
            plan_id="x",
            commune_id="h",
            unit_path=("p", "c", "h"),
            unit_level="hamlet",
            year=2025,
            title="x",
        )
    assert raised.value.field == "commune_id"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"organisation_unit_path": ("p", "other-commune", "h")}, "organisation_id"),
        ({"organisation_active": False}, "organisation_id"),
        ({"due_date": date(2024, 12, 31)}, "due_date"),
    ],
)
def test_invalid_assignment_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(TaskRuleViolation) as raised:
        task(**changes)
    assert raised.value.field == field


def test_lifecycle_todo_in_progress_done_records_completion() -> None:
    started = change_status(task(), "in_progress", now=NOW)
    done = change_status(started, "done", now=NOW)
    assert (done.status, done.version, done.completed_at) == ("done", 3, NOW)


def test_transition_not_allowed_is_a_conflict_naming_the_allowed_ones() -> None:
    with pytest.raises(TaskRuleViolation) as raised:
        change_status(task(), "done", now=NOW)
    assert raised.value.conflict
    assert raised.value.allowed == ["in_progress", "cancelled"]


def test_same_status_is_a_no_op() -> None:
    original = task()
    assert change_status(original, "todo", now=NOW) is original


@given(st.lists(st.sampled_from(STATUSES), max_size=8))
def test_any_sequence_of_requests_follows_the_state_machine(requests: list[str]) -> None:
    current = task()
    for wanted in requests:
        before = current.status
        try:
            current = change_status(current, wanted, now=NOW)
        except TaskRuleViolation as exc:
            named = exc.allowed
            assert wanted not in TRANSITIONS[before] and wanted != before
            assert named == list(TRANSITIONS[before])
            continue
        assert current.status == wanted
        assert wanted == before or wanted in TRANSITIONS[before]


def test_final_tasks_cannot_be_edited_and_overdue_only_while_open() -> None:
    late = task(due_date=date(2025, 9, 1))
    assert late.overdue(date(2025, 9, 9)) and not late.overdue(date(2025, 9, 1))
    cancelled = change_status(late, "cancelled", now=NOW)
    assert not cancelled.overdue(date(2025, 9, 9))
    with pytest.raises(TaskRuleViolation) as raised:
        edit_task(cancelled, PLAN, title="x")
    assert raised.value.conflict


def test_reassigning_checks_the_new_organisation_is_of_the_commune() -> None:
    with pytest.raises(TaskRuleViolation):
        edit_task(task(), PLAN, organisation=("o2", ("p", "elsewhere"), True))
    moved = edit_task(task(), PLAN, organisation=("o2", ("p", "c"), True), title="Mới")
    assert (moved.organisation_id, moved.title, moved.version) == ("o2", "Mới", 2)
