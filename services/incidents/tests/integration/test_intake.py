"""Intake: a report is stored with its events; bad input changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.contracts.topics import INCIDENTS, INCIDENTS_PUBLIC
from binhyen.incidents.sample_world import COMMUNE, HAMLET, MERGED, OTHER_HAMLET, World, report_body


async def test_a_report_is_stored_and_announced_on_both_topics(world: World) -> None:
    created = await world.reported()
    assert created["status"] == "reported"
    assert created["severity"] == "medium"  # the category's default
    assert created["reporter"] == {"kind": "user", "is_you": True}
    assert [d["kind"] for d in created["deadlines"]] == ["acknowledge", "resolve"]
    internal = await world.events(INCIDENTS.name)
    assert internal[0]["type"] == "vn.binhyen.incident.reported.v1"
    assert internal[0]["data"]["incident"]["incident_id"] == created["id"]
    public = await world.events(INCIDENTS_PUBLIC.name)
    assert set(public[0]["data"]) == {
        "incident_id",
        "hamlet_id",
        "category",
        "severity",
        "status",
        "occurred_at",
        "status_at",
        "sequence",
    }
    assert public[0]["data"]["sequence"] == int(public[0]["sequence"]) >= 1


async def test_the_same_post_sent_20_times_at_once_creates_one_incident(world: World) -> None:
    headers = world.as_("hamlet_officer", HAMLET, subject="officer-1") | {
        "Idempotency-Key": "report-42"
    }
    body = report_body()

    async def post() -> Any:
        return await world.client.post("/api/v1/incidents", json=body, headers=headers)

    responses = await asyncio.gather(*(post() for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await world.rt.db["incidents"].count_documents({}) == 1
    events = await world.events(INCIDENTS.name)
    assert len(events) == 1


async def test_a_key_reused_for_another_report_is_refused(world: World) -> None:
    headers = world.as_("hamlet_officer", HAMLET) | {"Idempotency-Key": "k-1"}
    first = await world.client.post("/api/v1/incidents", json=report_body(), headers=headers)
    assert first.status_code == 201
    other = await world.client.post(
        "/api/v1/incidents", json=report_body(description="khác"), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_merged_hamlet_is_refused_naming_its_successor(world: World) -> None:
    response = await world.report(hamlet_id=MERGED)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "hamlet_id"
    assert HAMLET in problem["detail"] and "Tân Thành" in problem["detail"]
    assert problem["successor_id"] == HAMLET
    assert "01/07/2025" in problem["detail"]


BAD: list[tuple[dict[str, Any], str]] = [
    ({"category": "nope"}, "category"),
    ({"hamlet_id": "unknown"}, "hamlet_id"),
    ({"hamlet_id": COMMUNE}, "hamlet_id"),
    ({"answers": {"stolen_items": "x", "colour": "red"}}, "answers.colour"),
    ({"answers": {"estimated_value_vnd": 10}}, "answers.stolen_items"),
    (
        {"answers": {"stolen_items": "x", "estimated_value_vnd": "nhiều"}},
        "answers.estimated_value_vnd",
    ),
    ({"location": {"type": "Point", "coordinates": [2.35, 48.85]}}, "location"),
    ({"location": {"type": "Point", "coordinates": [18.04, 106.29]}}, "location"),
    ({"occurred_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
    ({"description": "x" * 4001}, "description"),
    ({"description": "   "}, "description"),
    ({"severity": "apocalyptic"}, "severity"),
]


async def test_bad_reports_are_refused_naming_the_field_and_change_nothing(world: World) -> None:
    for overrides, field in BAD:
        response = await world.report(**overrides)
        assert response.status_code == 422, (overrides, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f == field or f.startswith(field + ".") for f in fields), (field, fields)
    assert await world.rt.db["incidents"].count_documents({}) == 0


async def test_reporting_outside_ones_scope_is_refused(world: World) -> None:
    resident = world.as_("resident", HAMLET)
    assert (await world.report(resident)).status_code == 201
    response = await world.report(resident, hamlet_id=OTHER_HAMLET)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "hamlet_id"
    agency = world.as_("agency", "*")
    assert (await world.report(agency)).status_code == 403


async def test_control_characters_are_refused_naming_the_field_and_nothing_is_stored(
    world: World,
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/incidents", report_body(description="Mất trộm\u001b[2J xe"), "description"),
        ("/api/v1/incidents", report_body(address="Nhà văn hóa\u0000"), "address"),
        (
            "/api/v1/incidents",
            report_body(answers={"stolen_items": "xe\u0007 đạp"}),
            "answers.stolen_items",
        ),
        (
            "/api/v1/tips",
            report_body(contact={"name": "Nguyễn\u0085Văn", "phone": "0912 345 678"}),
            "contact.name",
        ),
    ]
    headers = world.as_("hamlet_officer", HAMLET)
    for path, body, field in cases:
        response = await world.client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert "\\u001b" not in response.text and "\\u0000" not in response.text
    form = {
        "service_code": "theft",
        "hamlet_id": HAMLET,
        "attribute[stolen_items]": "xe đạp",
        "first_name": "Hảo\u001b[31m",
    }
    open311 = await world.client.post("/open311/v2/requests.json", data=form)
    assert open311.status_code == 422, open311.text
    assert [e["field"] for e in open311.json()["errors"]] == ["first_name"]
    search = await world.client.get("/api/v1/incidents", params={"q": "xe\u001b"}, headers=headers)
    assert search.status_code == 422
    assert [e["field"] for e in search.json()["errors"]] == ["q"]
    assert await world.rt.db["incidents"].count_documents({}) == 0
    # Line breaks and tabs are free text, not controls.
    accepted = await world.report(description="Mất trộm xe đạp\nlúc 21h,\ttrước cửa")
    assert accepted.status_code == 201, accepted.text
