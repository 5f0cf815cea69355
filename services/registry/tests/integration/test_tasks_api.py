"""Commune plans and their tasks against real servers: lifecycle, concurrency, scope, events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_TASKS
from binhyen.kit.testing import Servers, TestIssuer, eventually, outbox_drained, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.service.organisations import today_vn
from binhyen.registry.settings import Settings


@dataclass
class Setup:
    """Two communes; in the first a hamlet with a youth union and a commune-level front."""

    commune: str
    hamlet: str
    other_commune: str
    youth_union: str
    front: str
    foreign_org: str
    plan: str


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> str:
    created = await client.post(url, json=body)
    assert created.status_code == 201, created.text
    found: str = created.json()["id"]
    return found


async def setup(client: httpx.AsyncClient) -> Setup:
    """Units, organisations and a plan for 2025 of the first commune."""
    day = {"valid_from": "2020-01-01"}
    province = await _post(client, "/api/v1/units", {"kind": "province", "name": "Hà Tĩnh", **day})
    commune = await _post(
        client, "/api/v1/units", {"kind": "commune", "name": "Kỳ Nam", "parent_id": province, **day}
    )
    other = await _post(
        client, "/api/v1/units", {"kind": "commune", "name": "Kỳ Bắc", "parent_id": province, **day}
    )
    hamlet = await _post(
        client,
        "/api/v1/units",
        {"kind": "hamlet", "name": "Tân Thành", "parent_id": commune, **day},
    )
    org = "/api/v1/organisations"
    youth = await _post(client, org, {"unit_id": hamlet, "kind": "youth_union", "name": "Chi đoàn"})
    front = await _post(
        client, org, {"unit_id": commune, "kind": "front_work_committee", "name": "MTTQ xã"}
    )
    foreign = await _post(client, org, {"unit_id": other, "kind": "youth_union", "name": "Đoàn"})
    plan = await _post(
        client,
        "/api/v1/plans",
        {"commune_id": commune, "year": 2025, "title": "Kế hoạch xây dựng mô hình"},
    )
    return Setup(commune, hamlet, other, youth, front, foreign, plan)


def task_body(org: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Tuyên truyền Ba Không",
        "organisation_id": org,
        "due_date": "2025-12-31",
        **extra,
    }


async def test_task_lifecycle_transitions_versions_and_events(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        s = await setup(client)
        created = await client.post(f"/api/v1/plans/{s.plan}/tasks", json=task_body(s.youth_union))
        assert created.status_code == 201, created.text
        task = created.json()
        assert (task["status"], task["version"], created.headers["etag"]) == ("todo", 1, '"1"')
        assert task["allowed_transitions"] == ["in_progress", "cancelled"]
        url = f"/api/v1/tasks/{task['id']}"

        skipped = await client.patch(url, json={"status": "done"}, headers={"If-Match": '"1"'})
        assert skipped.status_code == 409, skipped.text
        assert skipped.json()["allowed"] == ["in_progress", "cancelled"]
        assert skipped.json()["errors"][0]["field"] == "status"

        assert (await client.patch(url, json={"status": "in_progress"})).status_code == 428
        started = await client.patch(
            url, json={"status": "in_progress"}, headers={"If-Match": '"1"'}
        )
        assert started.status_code == 200, started.text
        assert started.headers["etag"] == '"2"'
        stale = await client.patch(url, json={"status": "done"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.headers["content-type"] == "application/problem+json"
        done = await client.patch(url, json={"status": "done"}, headers={"If-Match": '"2"'})
        assert done.json()["status"] == "done" and done.json()["completed_at"] is not None
        assert done.json()["allowed_transitions"] == []
        reopened = await client.patch(url, json={"status": "todo"}, headers={"If-Match": '"3"'})
        assert reopened.status_code == 409
        assert reopened.json()["allowed"] == []

        doc = await rt.db["tasks"].find_one({"_id": task["id"]})
        assert doc is not None and (doc["status"], doc["version"]) == ("done", 3)
        await eventually(lambda: outbox_drained(rt.db["tasks"], task["id"]), what="relayed")
    records = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_TASKS.name),
        until=lambda records: len(records) >= 3,
    )
    events = [parse_event(r.value) for r in records]
    assert all(r.key == task["id"].encode() for r in records)
    assert [e.type for e in events] == [
        "vn.binhyen.registry.task.assigned.v1",
        "vn.binhyen.registry.task.updated.v1",
        "vn.binhyen.registry.task.updated.v1",
    ]
    assert [(e.data["status"], e.data["version"]) for e in events] == [
        ("todo", 1),
        ("in_progress", 2),
        ("done", 3),
    ]
    assert events[-1].data["changes"] == ["status"]
    assert events[0].data["plan_year"] == 2025
    assert events[0].data["organisation_unit_id"] == s.hamlet


async def test_task_for_an_organisation_of_another_commune_is_refused(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        s = await setup(client)
        url = f"/api/v1/plans/{s.plan}/tasks"
        for body in (
            task_body(s.foreign_org),
            task_body("missing"),
            task_body(s.front, due_date="2024-12-31"),
            task_body(s.front, due_date="31/12/2025"),
        ):
            refused = await client.post(url, json=body)
            assert refused.status_code == 422, refused.text
            fields = [e["field"] for e in refused.json()["errors"]]
            assert "organisation_id" in fields or "due_date" in fields
        plan_in_hamlet = await client.post(
            "/api/v1/plans", json={"commune_id": s.hamlet, "year": 2025, "title": "x"}
        )
        assert plan_in_hamlet.status_code == 422
        assert await rt.db["tasks"].count_documents({}) == 0
    records = await read_topic(
        servers.kafka, registry_settings.topic(REGISTRY_TASKS.name), until=lambda r: True
    )
    assert records == []


async def test_tasks_listed_by_plan_organisation_status_and_overdue(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        s = await setup(client)
        url = f"/api/v1/plans/{s.plan}/tasks"

        def day(offset: int) -> str:
            return (today_vn() + timedelta(days=offset)).isoformat()

        late = await _post(client, url, task_body(s.youth_union, due_date=day(-1), title="A"))
        later = await _post(client, url, task_body(s.front, due_date=day(30), title="B"))
        cancelled = await _post(client, url, task_body(s.front, due_date=day(-2), title="C"))
        assert (
            await client.patch(
                f"/api/v1/tasks/{cancelled}",
                json={"status": "cancelled"},
                headers={"If-Match": "1"},
            )
        ).is_success

        async def ids(**params: Any) -> list[str]:
            listed = await client.get("/api/v1/tasks", params=params)
            assert listed.status_code == 200, listed.text
            return [t["id"] for t in listed.json()["items"]]

        assert await ids(plan_id=s.plan) == [cancelled, late, later]
        assert await ids(organisation_id=s.front) == [cancelled, later]
        assert await ids(status="cancelled") == [cancelled]
        assert await ids(overdue="true") == [late]
        overdue = (await client.get(f"/api/v1/tasks/{late}")).json()
        assert overdue["overdue"] is True


async def test_hamlet_officer_moves_own_tasks_but_cannot_edit_them_or_see_others(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        s = await setup(client)
        url = f"/api/v1/plans/{s.plan}/tasks"
        own = await _post(client, url, task_body(s.youth_union))
        commune_task = await _post(client, url, task_body(s.front))
        officer = issuer.headers(("hamlet_officer", s.hamlet))

        listed = await client.get("/api/v1/tasks", headers=officer)
        assert [t["id"] for t in listed.json()["items"]] == [own]
        assert (
            await client.get(f"/api/v1/tasks/{commune_task}", headers=officer)
        ).status_code == 404
        assert (await client.get(f"/api/v1/plans/{s.plan}", headers=officer)).status_code == 404
        started = await client.patch(
            f"/api/v1/tasks/{own}",
            json={"status": "in_progress"},
            headers=officer | {"If-Match": '"1"'},
        )
        assert started.status_code == 200, started.text
        retitled = await client.patch(
            f"/api/v1/tasks/{own}", json={"title": "Khác"}, headers=officer | {"If-Match": '"2"'}
        )
        assert retitled.status_code == 403
        created = await client.post(url, json=task_body(s.youth_union), headers=officer)
        assert created.status_code == 404
        doc = await rt.db["tasks"].find_one({"_id": own})
        assert doc is not None and (doc["title"], doc["version"]) == ("Tuyên truyền Ba Không", 2)


async def test_commune_edits_and_reassigns_a_task_in_one_version_step(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        s = await setup(client)
        headers = {"Idempotency-Key": "task-1"}
        url = f"/api/v1/plans/{s.plan}/tasks"
        first = await client.post(url, json=task_body(s.youth_union), headers=headers)
        again = await client.post(url, json=task_body(s.youth_union), headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        task_id = first.json()["id"]
        edited = await client.patch(
            f"/api/v1/tasks/{task_id}",
            json={"organisation_id": s.front, "due_date": "2025-10-31", "status": "in_progress"},
            headers={"If-Match": '"1"'},
        )
        assert edited.status_code == 200, edited.text
        body = edited.json()
        assert (body["organisation_id"], body["due_date"], body["status"], body["version"]) == (
            s.front,
            "2025-10-31",
            "in_progress",
            2,
        )
        foreign = await client.patch(
            f"/api/v1/tasks/{task_id}",
            json={"organisation_id": s.foreign_org},
            headers={"If-Match": '"2"'},
        )
        assert foreign.status_code == 422
        assert foreign.json()["errors"][0]["field"] == "organisation_id"
