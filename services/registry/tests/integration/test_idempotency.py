"""Idempotency-Key on every creating registry endpoint, against real servers.

A key belongs to its caller; a replay is answered only to a caller still allowed to
create that object; the same key with another body is a 422; concurrent requests with
one caller and key create one object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import TestIssuer, serve
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

Body = dict[str, Any]


@dataclass(frozen=True)
class World:
    """Units, a household with residents, a team with two members and a plan."""

    commune: str
    hamlet: str
    other_hamlet: str
    household: str
    residents: list[str]
    team: str
    plan: str


@dataclass(frozen=True)
class Endpoint:
    """A creating endpoint: where to post, three different bodies, how many it made."""

    name: str
    path: Callable[[World], str]
    body: Callable[[World, str], Body]  # "a", "b" (another caller's) or "a2" (a's other)
    count: Callable[[Runtime, World], Awaitable[int]]


def _documents(collection: str) -> Callable[[Runtime, World], Awaitable[int]]:
    async def count(rt: Runtime, _w: World) -> int:
        return await rt.db[collection].count_documents({})

    return count


def _inside_team(field: str) -> Callable[[Runtime, World], Awaitable[int]]:
    async def count(rt: Runtime, w: World) -> int:
        doc = await rt.db["organisations"].find_one({"_id": w.team})
        return len(doc[field]) if doc else 0

    return count


NUMBER = {"a": 0, "b": 1, "a2": 2}

ENDPOINTS = [
    Endpoint(
        "units",
        lambda w: "/api/v1/units",
        lambda w, v: {
            "kind": "hamlet",
            "name": f"Thôn {v}",
            "parent_id": w.commune,
            "valid_from": "2020-01-01",
        },
        _documents("units"),
    ),
    Endpoint(
        "households",
        lambda w: "/api/v1/households",
        lambda w, v: {"unit_id": w.hamlet, "address": f"Xóm {v}", "members": [{"full_name": v}]},
        _documents("households"),
    ),
    Endpoint(
        "people",
        lambda w: "/api/v1/people",
        lambda w, v: {"household_id": w.household, "full_name": f"Nguyễn Văn {v}"},
        _documents("people"),
    ),
    Endpoint(
        "users",
        lambda w: "/api/v1/users",
        lambda w, v: {
            "username": f"user.{v}",
            "display_name": f"User {v}",
            "password": "a long enough password",
            "grants": [{"role": "team_member", "unit_id": w.hamlet}],
        },
        _documents("users"),
    ),
    Endpoint(
        "organisations",
        lambda w: "/api/v1/organisations",
        lambda w, v: {"unit_id": w.hamlet, "kind": "mediation", "name": f"Tổ hòa giải {v}"},
        _documents("organisations"),
    ),
    Endpoint(
        "members",
        lambda w: f"/api/v1/organisations/{w.team}/members",
        lambda w, v: {"person_id": w.residents[2 + NUMBER[v]], "valid_from": "2024-06-01"},
        _inside_team("members"),
    ),
    Endpoint(
        "shifts",
        lambda w: f"/api/v1/teams/{w.team}/shifts",
        lambda w, v: {
            "starts_at": f"2030-01-0{1 + NUMBER[v]}T18:00:00+07:00",
            "ends_at": f"2030-01-0{1 + NUMBER[v]}T22:00:00+07:00",
            "person_ids": [w.residents[NUMBER[v] % 2]],
        },
        _inside_team("shifts"),
    ),
    Endpoint(
        "plans",
        lambda w: "/api/v1/plans",
        lambda w, v: {"commune_id": w.commune, "year": 2031 + NUMBER[v], "title": f"Kế hoạch {v}"},
        _documents("task_plans"),
    ),
    Endpoint(
        "tasks",
        lambda w: f"/api/v1/plans/{w.plan}/tasks",
        lambda w, v: {"title": f"Việc {v}", "organisation_id": w.team, "due_date": "2030-12-31"},
        _documents("tasks"),
    ),
]
CASES = [pytest.param(e, id=e.name) for e in ENDPOINTS]


async def _post(client: httpx.AsyncClient, url: str, body: Body) -> str:
    response = await client.post(url, json=body)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


async def _world(client: httpx.AsyncClient) -> World:
    province = await _post(
        client,
        "/api/v1/units",
        {"kind": "province", "name": "Hà Tĩnh", "valid_from": "2020-01-01"},
    )
    commune = await _post(
        client,
        "/api/v1/units",
        {"kind": "commune", "name": "Kỳ Nam", "parent_id": province, "valid_from": "2020-01-01"},
    )
    hamlets = [
        await _post(
            client,
            "/api/v1/units",
            {"kind": "hamlet", "name": name, "parent_id": commune, "valid_from": "2020-01-01"},
        )
        for name in ("Tân Thành", "Quý Huệ")
    ]
    names = ["Hảo", "Lan", "Minh", "Tuấn", "Hoa"]
    created = await client.post(
        "/api/v1/households",
        json={
            "unit_id": hamlets[0],
            "address": "Xóm 1",
            "members": [{"full_name": f"Trần Văn {n}"} for n in names],
        },
    )
    assert created.status_code == 201, created.text
    household = created.json()
    by_name = {m["full_name"]: m["id"] for m in household["members"]}
    residents = [by_name[f"Trần Văn {n}"] for n in names]
    team = await _post(
        client,
        "/api/v1/organisations",
        {
            "unit_id": hamlets[0],
            "kind": "people_security",
            "name": "Tổ ANTT",
            "valid_from": "2024-01-01",
        },
    )
    for person in residents[:2]:
        await _post(
            client,
            f"/api/v1/organisations/{team}/members",
            {"person_id": person, "valid_from": "2024-06-01"},
        )
    plan = await _post(
        client, "/api/v1/plans", {"commune_id": commune, "year": 2030, "title": "Kế hoạch"}
    )
    return World(commune, hamlets[0], hamlets[1], household["id"], residents, team, plan)


def _officer(issuer: TestIssuer, world: World, subject: str, key: str) -> dict[str, str]:
    """A commune officer of the world's commune, sending ``key``."""
    return issuer.headers(("commune_officer", world.commune), subject=subject) | {
        "Idempotency-Key": key
    }


@pytest.mark.parametrize("endpoint", CASES)
async def test_two_callers_with_the_same_key_each_get_their_own_object(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer, endpoint: Endpoint
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        w = await _world(client)
        url, before = endpoint.path(w), await endpoint.count(rt, w)
        a = await client.post(
            url, json=endpoint.body(w, "a"), headers=_officer(issuer, w, "a", "k")
        )
        b = await client.post(
            url, json=endpoint.body(w, "b"), headers=_officer(issuer, w, "b", "k")
        )
        assert (a.status_code, b.status_code) == (201, 201), b.text
        assert a.json()["id"] != b.json()["id"]
        assert await endpoint.count(rt, w) == before + 2
        # Each caller's retry answers its own object.
        again = await client.post(
            url, json=endpoint.body(w, "b"), headers=_officer(issuer, w, "b", "k")
        )
        assert (again.status_code, again.json()["id"]) == (200, b.json()["id"])


@pytest.mark.parametrize("endpoint", CASES)
async def test_a_replay_is_refused_to_a_caller_no_longer_allowed_to_create_it(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer, endpoint: Endpoint
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        w = await _world(client)
        url, body = endpoint.path(w), endpoint.body(w, "a")
        first = await client.post(url, json=body, headers=_officer(issuer, w, "a", "k"))
        assert first.status_code == 201, first.text
        count = await endpoint.count(rt, w)
        # The same account, now only an officer of another hamlet.
        moved = issuer.headers(("hamlet_officer", w.other_hamlet), subject="a")
        replay = await client.post(url, json=body, headers=moved | {"Idempotency-Key": "k"})
        assert replay.status_code in (403, 404), replay.text
        assert replay.headers["content-type"] == "application/problem+json"
        assert first.json()["id"] not in replay.text
        assert await endpoint.count(rt, w) == count


@pytest.mark.parametrize("endpoint", CASES)
async def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer, endpoint: Endpoint
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        w = await _world(client)
        url, headers = endpoint.path(w), _officer(issuer, w, "a", "k")
        first = await client.post(url, json=endpoint.body(w, "a"), headers=headers)
        assert first.status_code == 201, first.text
        count = await endpoint.count(rt, w)
        other = await client.post(url, json=endpoint.body(w, "a2"), headers=headers)
        assert other.status_code == 422, other.text
        assert other.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]
        assert await endpoint.count(rt, w) == count


@pytest.mark.parametrize("endpoint", CASES)
async def test_twenty_concurrent_requests_with_one_key_create_one_object(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer, endpoint: Endpoint
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        w = await _world(client)
        url, body, headers = endpoint.path(w), endpoint.body(w, "a"), _officer(issuer, w, "a", "k")
        before = await endpoint.count(rt, w)
        answers = await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(20))
        )
        assert sorted(r.status_code for r in answers) == [200] * 19 + [201], [
            r.text for r in answers if r.status_code not in (200, 201)
        ]
        assert len({r.json()["id"] for r in answers}) == 1
        assert await endpoint.count(rt, w) == before + 1
