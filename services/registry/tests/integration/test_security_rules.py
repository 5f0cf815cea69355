"""Rules against abuse of the registry's API (issue 11), against real servers."""

from __future__ import annotations

from typing import Any

import httpx

from binhyen.kit.testing import TestIssuer, serve
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings


async def _units(client: httpx.AsyncClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    for key, kind, name, parent in (
        ("p", "province", "Hà Tĩnh", None),
        ("c", "commune", "Kỳ Nam", "p"),
        ("h1", "hamlet", "Tân Thành", "c"),
    ):
        body = {
            "kind": kind,
            "name": name,
            "valid_from": "2020-01-01",
            "parent_id": ids.get(parent or ""),
        }
        response = await client.post("/api/v1/units", json=body)
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]
    return ids


def _fields(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json().get("errors", [])]


async def _dissolve(client: httpx.AsyncClient, unit_id: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/units/{unit_id}/dissolve", json={"effective_date": "2025-07-01"}
    )


async def test_a_hamlet_with_households_residents_or_teams_cannot_be_dissolved(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        team = await client.post(
            "/api/v1/organisations",
            json={
                "unit_id": u["h1"],
                "kind": "people_security",
                "name": "Tổ an ninh thôn Tân Thành",
                "valid_from": "2021-01-01",
            },
        )
        assert team.status_code == 201, team.text
        refused = await _dissolve(client, u["h1"])
        assert refused.status_code == 409, refused.text
        assert "1 active organisations and teams" in refused.json()["detail"]

        household = await client.post(
            "/api/v1/households",
            json={
                "unit_id": u["h1"],
                "address": "Xóm 3, thôn Tân Thành",
                "members": [{"full_name": "Nguyễn Văn Hảo"}],
            },
        )
        assert household.status_code == 201, household.text
        refused = await _dissolve(client, u["h1"])
        assert refused.status_code == 409
        detail = refused.json()["detail"]
        assert "1 active households" in detail and "1 active residents" in detail
        stored = await rt.db["units"].find_one({"_id": u["h1"]})
        assert stored is not None and stored["version"] == 1

        empty = await client.post(
            "/api/v1/units",
            json={
                "kind": "hamlet",
                "name": "Thôn Mới",
                "parent_id": u["c"],
                "valid_from": "2021-01-01",
            },
        )
        assert (await _dissolve(client, empty.json()["id"])).status_code == 200


async def test_unit_dates_outside_the_window_are_refused_naming_the_field(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _rt):
        u = await _units(client)
        future = await client.post(
            f"/api/v1/units/{u['h1']}/rename",
            json={"name": "Tân Thành Mới", "effective_date": "6390-01-01"},
        )
        assert future.status_code == 422, future.text
        assert _fields(future) == ["effective_date"]
        ancient = await client.post(
            "/api/v1/units",
            json={
                "kind": "hamlet",
                "name": "Thôn Cổ",
                "parent_id": u["c"],
                "valid_from": "1800-01-01",
            },
        )
        assert ancient.status_code == 422, ancient.text
        assert _fields(ancient) == ["valid_from"]
        for change, body in (
            ("move", {"parent_id": u["c"]}),
            ("dissolve", {}),
            ("merge", {"successor_id": u["c"]}),
        ):
            response = await client.post(
                f"/api/v1/units/{u['h1']}/{change}", json=body | {"effective_date": "2999-12-31"}
            )
            assert response.status_code == 422, (change, response.text)
            assert _fields(response) == ["effective_date"]
        renamed = await client.post(
            f"/api/v1/units/{u['h1']}/rename",
            json={"name": "Tân Thành Mới", "effective_date": "2025-07-01"},
        )
        assert renamed.status_code == 200, renamed.text


async def test_control_characters_answer_422_naming_the_field_and_store_nothing(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        cases: list[tuple[str, dict[str, Any], str]] = [
            (
                "/api/v1/households",
                {
                    "unit_id": u["h1"],
                    "address": "Xóm 3\u001b[2J, thôn Tân Thành",
                    "members": [{"full_name": "Nguyễn Văn Hảo"}],
                },
                "address",
            ),
            (
                "/api/v1/households",
                {
                    "unit_id": u["h1"],
                    "address": "Xóm 3",
                    "members": [{"full_name": "Nguyễn\u0000Văn Hảo"}],
                },
                "members.0.full_name",
            ),
            (
                "/api/v1/units",
                {"kind": "hamlet", "name": "Thôn\u0007", "parent_id": u["c"]},
                "name",
            ),
        ]
        for path, body, field in cases:
            response = await client.post(path, json=body)
            assert response.status_code == 422, response.text
            assert _fields(response) == [field]
            assert "\u001b" not in response.text and "\\u0000" not in response.text
        assert await rt.db["households"].count_documents({}) == 0
        assert await rt.db["people"].count_documents({}) == 0
        for path, param in (
            ("/api/v1/people", "q"),
            ("/api/v1/people", "phone"),
            ("/api/v1/households", "q"),
            ("/api/v1/organisations", "q"),
        ):
            search = await client.get(path, params={param: "Hảo\u001b"})
            assert search.status_code == 422, (path, param, search.text)
            assert _fields(search) == [param]


async def test_huge_offsets_are_422_not_500(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _rt):
        for path in ("/api/v1/tasks", "/api/v1/organisations"):
            for offset in ("9223372036854775808", "9223372036854775807", "1000001"):
                response = await client.get(path, params={"offset": offset})
                assert response.status_code == 422, (path, offset, response.text)
                assert _fields(response) == ["offset"]
            assert (await client.get(path, params={"offset": "0"})).status_code == 200


async def test_out_of_scope_residents_and_organisations_answer_like_unknown_ones(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _rt):
        u = await _units(client)
        other_commune = await client.post(
            "/api/v1/units",
            json={
                "kind": "commune",
                "name": "Kỳ Bắc",
                "parent_id": u["p"],
                "valid_from": "2020-01-01",
            },
        )
        other_hamlet = await client.post(
            "/api/v1/units",
            json={
                "kind": "hamlet",
                "name": "Thôn Bắc",
                "parent_id": other_commune.json()["id"],
                "valid_from": "2020-01-01",
            },
        )
        elsewhere = await client.post(
            "/api/v1/households",
            json={
                "unit_id": other_hamlet.json()["id"],
                "address": "Xóm 1, thôn Bắc",
                "members": [{"full_name": "Lê Thị Bắc"}],
            },
        )
        assert elsewhere.status_code == 201, elsewhere.text
        far_person = elsewhere.json()["members"][0]["id"]
        far_team = await client.post(
            "/api/v1/organisations",
            json={
                "unit_id": other_hamlet.json()["id"],
                "kind": "people_security",
                "name": "Tổ an ninh thôn Bắc",
                "valid_from": "2021-01-01",
            },
        )
        assert far_team.status_code == 201, far_team.text

        officer = issuer.headers(("commune_officer", u["c"]))
        team = await client.post(
            "/api/v1/organisations",
            json={
                "unit_id": u["h1"],
                "kind": "people_security",
                "name": "Tổ an ninh thôn Tân Thành",
                "valid_from": "2021-01-01",
            },
            headers=officer,
        )
        assert team.status_code == 201, team.text
        members = f"/api/v1/organisations/{team.json()['id']}/members"

        def same(a: httpx.Response, b: httpx.Response, a_id: str, b_id: str) -> None:
            assert a.status_code == b.status_code == 422, (a.text, b.text)
            assert a.json()["errors"] == [
                {**e, "message": e["message"].replace(b_id, a_id)} for e in b.json()["errors"]
            ]
            assert a.json()["detail"] == b.json()["detail"].replace(b_id, a_id)

        far = await client.post(members, json={"person_id": far_person}, headers=officer)
        unknown = await client.post(members, json={"person_id": "no-such-id"}, headers=officer)
        same(far, unknown, far_person, "no-such-id")

        plan = await client.post(
            "/api/v1/plans",
            json={"commune_id": u["c"], "year": 2026, "title": "Kế hoạch 2026"},
            headers=officer,
        )
        assert plan.status_code == 201, plan.text
        tasks = f"/api/v1/plans/{plan.json()['id']}/tasks"
        body = {"title": "Tuần tra", "due_date": "2026-12-31"}
        far_id = far_team.json()["id"]
        far = await client.post(tasks, json=body | {"organisation_id": far_id}, headers=officer)
        unknown = await client.post(
            tasks, json=body | {"organisation_id": "no-such-id"}, headers=officer
        )
        same(far, unknown, far_id, "no-such-id")
        assert "Thôn Bắc" not in far.text and "thôn Bắc" not in far.text
