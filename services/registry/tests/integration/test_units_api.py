"""Registry units API against real servers: events go out through the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.kit.testing import Servers, eventually, outbox_drained, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

PROVINCE = {
    "kind": "province",
    "name": "Hà Tĩnh",
    "official_code": "42",
    "valid_from": "2020-01-01",
}


async def test_registered_unit_is_stored_and_published_once(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        created = await client.post("/api/v1/units", json=PROVINCE)
        assert created.status_code == 201, created.text
        unit = created.json()
        assert created.headers["location"] == f"/api/v1/units/{unit['id']}"
        assert (unit["name"], unit["level"], unit["version"]) == ("Hà Tĩnh", "province", 1)
        fetched = await client.get(f"/api/v1/units/{unit['id']}")
        assert fetched.json() == unit
        await eventually(lambda: outbox_drained(rt.db["units"], unit["id"]), what="outbox relayed")
    records = await read_topic(servers.kafka, registry_settings.topic(REGISTRY_UNITS.name))
    assert len(records) == 1
    event = parse_event(records[0].value)
    assert records[0].key == unit["id"].encode()
    assert event.type == "vn.binhyen.registry.unit.registered.v1"
    assert event.data["name"] == "Hà Tĩnh"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "castle", "name": "X"}, "kind"),
        ({"kind": "province", "name": "   "}, "name"),
        ({"kind": "province", "name": "A" * 201}, "name"),
        ({"kind": "province", "name": "Hà Tĩnh", "official_code": "4a"}, "official_code"),
        ({"kind": "province", "name": "Hà Tĩnh", "valid_from": "09/09/2020"}, "valid_from"),
        ({"kind": "province", "name": "Hà Tĩnh", "population": 1}, "population"),
        ({"kind": "hamlet", "name": "Tân Thành"}, "parent_id"),
        ({"kind": "hamlet", "name": "Tân Thành", "parent_id": "nope"}, "parent_id"),
    ],
)
async def test_invalid_unit_gets_422_naming_the_field_and_changes_nothing(
    registry_settings: Settings,
    admin: dict[str, str],
    servers: Servers,
    body: dict[str, Any],
    field: str,
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        response = await client.post("/api/v1/units", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 422
        assert field in [e["field"] for e in problem["errors"]]
        assert await rt.db["units"].count_documents({}) == 0
    records = await read_topic(
        servers.kafka, registry_settings.topic(REGISTRY_UNITS.name), until=lambda r: True
    )
    assert records == []


async def test_duplicate_official_code_is_a_conflict(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        assert (await client.post("/api/v1/units", json=PROVINCE)).status_code == 201
        again = await client.post("/api/v1/units", json=PROVINCE | {"name": "Nghệ An"})
        assert again.status_code == 409
        assert again.json()["errors"][0]["field"] == "official_code"
        assert await rt.db["units"].count_documents({}) == 1


async def test_retried_post_with_same_idempotency_key_returns_the_first_unit(
    registry_settings: Settings,
    admin: dict[str, str],
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        headers = {"Idempotency-Key": "k-1"}
        first = await client.post("/api/v1/units", json=PROVINCE, headers=headers)
        second = await client.post("/api/v1/units", json=PROVINCE, headers=headers)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json() == second.json()
        assert await rt.db["units"].count_documents({}) == 1


async def test_idempotency_key_reused_for_another_request_is_refused(
    registry_settings: Settings,
    admin: dict[str, str],
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        headers = {"Idempotency-Key": "k-2"}
        assert (await client.post("/api/v1/units", json=PROVINCE, headers=headers)).is_success
        other = await client.post(
            "/api/v1/units", json=PROVINCE | {"name": "Nghệ An"}, headers=headers
        )
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await rt.db["units"].count_documents({}) == 1


async def test_unknown_unit_is_404_problem(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        response = await client.get("/api/v1/units/missing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_health_ready_and_metrics(registry_settings: Settings, admin: dict[str, str]) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["mongodb"] == "ok"

        async def kafka_reported_ok() -> bool:
            # Kafka is probed in the background (reported, never gating readiness).
            checks: dict[str, str] = (await client.get("/readyz")).json()["checks"]
            return checks["kafka"] == "ok"

        await eventually(kafka_reported_ok, what="Kafka reported as ok")
        metrics = await client.get("/metrics")
        assert "binhyen_http_requests_total" in metrics.text
