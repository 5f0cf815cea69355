"""Organisations, teams, rosters against real servers: events go out through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_ORGANISATIONS, REGISTRY_PUBLIC
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import Servers, TestIssuer, eventually, outbox_drained, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

NAMES = {
    "p-lead": "Nguyễn Văn Hảo",
    "p-dep": "Trần Thị Lan",
    "p-mem": "Lê Văn Bình",
    "p-first": "Phạm Thị Đào",
}


@dataclass
class Tree:
    """A province, a commune and two hamlets (A and B), with residents in A and B."""

    province: str
    commune: str
    hamlet_a: str
    hamlet_b: str


async def _unit(client: httpx.AsyncClient, kind: str, name: str, parent: str | None) -> str:
    body: dict[str, Any] = {"kind": kind, "name": name, "valid_from": "2020-01-01"}
    if parent:
        body["parent_id"] = parent
    created = await client.post("/api/v1/units", json=body)
    assert created.status_code == 201, created.text
    unit_id: str = created.json()["id"]
    return unit_id


async def build_tree(client: httpx.AsyncClient, rt: Runtime) -> Tree:
    """Create Hà Tĩnh → Kỳ Nam → Tân Thành, Quý Huệ and residents in both hamlets."""
    province = await _unit(client, "province", "Hà Tĩnh", None)
    commune = await _unit(client, "commune", "Kỳ Nam", province)
    tree = Tree(
        province,
        commune,
        await _unit(client, "hamlet", "Tân Thành", commune),
        await _unit(client, "hamlet", "Quý Huệ", commune),
    )
    people = [
        {"_id": pid, "unit_id": tree.hamlet_a, "full_name": name, "status": "active"}
        for pid, name in NAMES.items()
    ]
    people.append(
        {"_id": "p-other", "unit_id": tree.hamlet_b, "full_name": "Võ Văn Xa", "status": "active"}
    )
    await rt.db["people"].insert_many(people)
    return tree


async def create_team(
    client: httpx.AsyncClient, unit_id: str, kind: str = "people_security", name: str = "Tổ ANTT"
) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/organisations",
        json={"unit_id": unit_id, "kind": kind, "name": name, "valid_from": "2024-01-01"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    team: dict[str, Any] = created.json()
    return team


async def add_member(
    client: httpx.AsyncClient, team_id: str, person_id: str, role: str = "member", **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/organisations/{team_id}/members",
        json={"person_id": person_id, "role": role, "valid_from": "2024-06-01", **extra},
    )


async def test_team_members_contact_roster_and_events_with_public_team_without_names(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        security = await create_team(client, tree.hamlet_a, "people_security", "Tổ bảo vệ ANTT")
        mediation = await create_team(client, tree.hamlet_a, "mediation", "Tổ hòa giải")
        for team_id, person, role, extra in [
            (security["id"], "p-mem", "member", {}),
            (security["id"], "p-lead", "leader", {}),
            (mediation["id"], "p-dep", "deputy", {}),
            (mediation["id"], "p-first", "member", {"contact_order": 1}),
        ]:
            added = await add_member(client, team_id, person, role, **extra)
            assert added.status_code == 201, added.text
        read = await client.get(f"/api/v1/organisations/{security['id']}")
        assert read.headers["etag"] == '"3"'
        body = read.json()
        assert body["member_count"] == 2
        assert {m["full_name"] for m in body["members"]} == {NAMES["p-mem"], NAMES["p-lead"]}

        roster = await client.get(f"/api/v1/units/{tree.hamlet_a}/contact-roster")
        assert roster.status_code == 200, roster.text
        entries = roster.json()["entries"]
        assert [e["person_id"] for e in entries] == ["p-first", "p-lead", "p-dep", "p-mem"]
        assert entries[1] | {"position": 2} == {
            "position": 2,
            "person_id": "p-lead",
            "full_name": NAMES["p-lead"],
            "role": "leader",
            "organisation_id": security["id"],
            "organisation_kind": "people_security",
            "organisation_name": "Tổ bảo vệ ANTT",
            "contact_order": None,
        }
        assert "phone" not in roster.text

        listed = await client.get("/api/v1/organisations", params={"q": "hoa giai"})
        assert [o["id"] for o in listed.json()["items"]] == [mediation["id"]]

        for team in (security, mediation):
            await eventually(
                lambda t=team: outbox_drained(rt.db["organisations"], t["id"]),  # type: ignore[misc]
                what="outbox relayed",
            )
    internal = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_ORGANISATIONS.name),
        until=lambda records: len(records) >= 6,
    )
    mine = [parse_event(r.value) for r in internal if r.key == security["id"].encode()]
    assert [e.type for e in mine] == [
        "vn.binhyen.registry.organisation.registered.v1",
        "vn.binhyen.registry.organisation.changed.v1",
        "vn.binhyen.registry.organisation.changed.v1",
    ]
    last = mine[-1].data
    assert last["version"] == 3 and last["change"] == "member_added"
    assert {(m["person_id"], m["role"]) for m in last["members"]} == {
        ("p-mem", "member"),
        ("p-lead", "leader"),
    }
    assert last["contact_roster"] == ["p-lead", "p-mem"]

    public = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_PUBLIC.name),
        until=lambda records: sum(r.key == f"team:{security['id']}".encode() for r in records) >= 3,
    )
    teams = [parse_event(r.value) for r in public if r.key == f"team:{security['id']}".encode()]
    assert teams[-1].type == "vn.binhyen.registry.public.team.v1"
    assert (teams[-1].data["member_count"], teams[-1].data["version"]) == (2, 3)
    assert "members" not in teams[-1].data
    raw = b"".join(r.value for r in public)
    for name in NAMES.values():
        assert name.encode() not in raw
    assert b"p-lead" not in raw and b"p-mem" not in raw


async def test_on_duty_by_shift_and_fallback_to_contact_order(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team = await create_team(client, tree.hamlet_a)
        assert (await add_member(client, team["id"], "p-lead", "leader")).status_code == 201
        assert (await add_member(client, team["id"], "p-mem")).status_code == 201
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        shift = await client.post(
            f"/api/v1/teams/{team['id']}/shifts",
            json={
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=4)).isoformat(),
                "person_ids": ["p-mem"],
                "note": "tuần tra đêm",
            },
        )
        assert shift.status_code == 201, shift.text
        assert shift.headers["etag"] == '"4"'

        during = await client.get(
            f"/api/v1/teams/{team['id']}/on-duty",
            params={"at": (start + timedelta(hours=1)).isoformat()},
        )
        assert during.status_code == 200, during.text
        assert during.json()["source"] == "shifts"
        assert during.json()["on_duty"] == [
            {
                "person_id": "p-mem",
                "full_name": NAMES["p-mem"],
                "role": "member",
                "shift_id": shift.json()["id"],
            }
        ]
        now = await client.get(f"/api/v1/teams/{team['id']}/on-duty")
        assert now.json()["source"] == "contact_order"
        assert "no shift" in now.json()["detail"]
        assert [p["person_id"] for p in now.json()["on_duty"]] == ["p-lead", "p-mem"]

        listed = await client.get(f"/api/v1/teams/{team['id']}/shifts")
        assert [s["id"] for s in listed.json()["items"]] == [shift.json()["id"]]


async def test_bad_shifts_are_refused_naming_the_field_and_change_nothing(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team = await create_team(client, tree.hamlet_a)
        assert (await add_member(client, team["id"], "p-lead", "leader")).status_code == 201
        start = datetime(2025, 9, 9, 11, tzinfo=UTC)
        url = f"/api/v1/teams/{team['id']}/shifts"

        def body(hours: tuple[int, int], people: list[str]) -> dict[str, Any]:
            return {
                "starts_at": (start + timedelta(hours=hours[0])).isoformat(),
                "ends_at": (start + timedelta(hours=hours[1])).isoformat(),
                "person_ids": people,
            }

        assert (await client.post(url, json=body((0, 4), ["p-lead"]))).status_code == 201
        overlapping = await client.post(url, json=body((3, 6), ["p-lead"]))
        assert overlapping.status_code == 409, overlapping.text
        assert overlapping.json()["errors"][0]["field"] == "person_ids"
        backwards = await client.post(url, json=body((6, 5), ["p-lead"]))
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "ends_at"
        assert "09/09/2025" in backwards.json()["detail"]
        stranger = await client.post(url, json=body((8, 9), ["p-mem"]))
        assert stranger.status_code == 422
        assert stranger.json()["errors"][0]["field"] == "person_ids"
        naive = await client.post(
            url,
            json={
                "starts_at": "2025-09-09T18:00",
                "ends_at": "2025-09-09T20:00",
                "person_ids": ["p-lead"],
            },
        )
        assert naive.status_code == 422
        doc = await rt.db["organisations"].find_one({"_id": team["id"]})
        assert doc is not None and doc["version"] == 3 and len(doc["shifts"]) == 1


async def test_member_must_be_a_resident_of_the_team_unit(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team = await create_team(client, tree.hamlet_a)
        for person in ("p-other", "nobody"):
            refused = await add_member(client, team["id"], person)
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "person_id"
            assert "Võ Văn Xa" not in refused.text
        assert (await add_member(client, team["id"], "p-lead")).status_code == 201
        twice = await add_member(client, team["id"], "p-lead")
        assert twice.status_code == 409
        doc = await rt.db["organisations"].find_one({"_id": team["id"]})
        assert doc is not None and doc["version"] == 2 and len(doc["members"]) == 1


async def test_invalid_organisation_is_refused_naming_the_field(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        for body, field in [
            ({"unit_id": tree.hamlet_a, "kind": "castle", "name": "X"}, "kind"),
            ({"unit_id": "missing", "kind": "mediation", "name": "X"}, "unit_id"),
            ({"unit_id": tree.province, "kind": "mediation", "name": "X"}, "unit_id"),
            ({"unit_id": tree.hamlet_a, "kind": "mediation", "name": "  "}, "name"),
        ]:
            refused = await client.post("/api/v1/organisations", json=body)
            assert refused.status_code == 422, refused.text
            assert field in [e["field"] for e in refused.json()["errors"]]
        assert await rt.db["organisations"].count_documents({}) == 0


async def test_updates_need_a_current_if_match(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team = await create_team(client, tree.hamlet_a)
        url = f"/api/v1/organisations/{team['id']}"
        missing = await client.patch(url, json={"name": "Tổ mới"})
        assert missing.status_code == 428
        renamed = await client.patch(url, json={"name": "Tổ mới"}, headers={"If-Match": '"1"'})
        assert renamed.status_code == 200, renamed.text
        assert renamed.headers["etag"] == '"2"'
        stale = await client.patch(url, json={"name": "Tổ khác"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.headers["content-type"] == "application/problem+json"
        disbanded = await client.patch(
            url,
            json={"status": "disbanded", "valid_to": "2025-09-09"},
            headers={"If-Match": '"2"'},
        )
        assert disbanded.json()["status"] == "disbanded"
        late = await add_member(client, team["id"], "p-lead")
        assert late.status_code == 409
        assert "09/09/2025" in late.json()["detail"]
        doc = await rt.db["organisations"].find_one({"_id": team["id"]})
        assert doc is not None and (doc["name"], doc["version"]) == ("Tổ mới", 3)


async def test_idempotent_create_returns_the_first_organisation(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        body = {"unit_id": tree.hamlet_a, "kind": "gong_point", "name": "Điểm kẻng số 1"}
        headers = {"Idempotency-Key": "org-1"}
        first = await client.post("/api/v1/organisations", json=body, headers=headers)
        again = await client.post("/api/v1/organisations", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        other = await client.post(
            "/api/v1/organisations", json=body | {"name": "Điểm kẻng 2"}, headers=headers
        )
        assert other.status_code == 422
        member_headers = {"Idempotency-Key": "m-1"}
        url = f"/api/v1/organisations/{first.json()['id']}/members"
        m1 = await client.post(url, json={"person_id": "p-lead"}, headers=member_headers)
        m2 = await client.post(url, json={"person_id": "p-lead"}, headers=member_headers)
        assert (m1.status_code, m2.status_code) == (201, 200)
        assert m1.json()["id"] == m2.json()["id"]
        assert await rt.db["organisations"].count_documents({}) == 1


async def test_hamlet_officer_sees_only_own_hamlet_and_agency_cannot_read_members(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team_a = await create_team(client, tree.hamlet_a, name="Tổ A")
        team_b = await create_team(client, tree.hamlet_b, name="Tổ B")
        officer_a = issuer.headers(("hamlet_officer", tree.hamlet_a))
        agency = issuer.headers(("agency", "*"), kind="agency")

        assert (
            await client.get(f"/api/v1/organisations/{team_a['id']}", headers=officer_a)
        ).is_success
        url_b = f"/api/v1/organisations/{team_b['id']}"
        assert (await client.get(url_b, headers=officer_a)).status_code == 404
        change = await client.patch(
            url_b, json={"name": "x"}, headers=officer_a | {"If-Match": '"1"'}
        )
        assert change.status_code == 404
        member = await client.post(
            f"{url_b}/members", json={"person_id": "p-other"}, headers=officer_a
        )
        assert member.status_code == 404
        roster = await client.get(
            f"/api/v1/units/{tree.hamlet_b}/contact-roster", headers=officer_a
        )
        assert roster.status_code == 404
        duty = await client.get(f"/api/v1/teams/{team_b['id']}/on-duty", headers=officer_a)
        assert duty.status_code == 404
        listed = await client.get("/api/v1/organisations", headers=officer_a)
        assert [o["id"] for o in listed.json()["items"]] == [team_a["id"]]
        foreign_team = await client.post(
            "/api/v1/organisations",
            json={"unit_id": tree.hamlet_b, "kind": "mediation", "name": "x"},
            headers=officer_a,
        )
        assert foreign_team.status_code == 422

        assert (
            await client.get(f"/api/v1/organisations/{team_a['id']}", headers=agency)
        ).status_code == 403
        roster_agency = await client.get(
            f"/api/v1/units/{tree.hamlet_a}/contact-roster", headers=agency
        )
        assert roster_agency.status_code == 403
        assert (await client.get("/api/v1/organisations", headers=agency)).json()["items"] == []
        doc = await rt.db["organisations"].find_one({"_id": team_b["id"]})
        assert doc is not None and doc["version"] == 1


async def test_membership_and_shift_changes_follow_if_match_and_the_roster(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        tree = await build_tree(client, rt)
        team = await create_team(client, tree.hamlet_a)
        lead = (await add_member(client, team["id"], "p-lead", "leader")).json()
        mem = (await add_member(client, team["id"], "p-mem")).json()
        url = f"/api/v1/organisations/{team['id']}/members"
        promoted = await client.patch(
            f"{url}/{mem['id']}", json={"contact_order": 1}, headers={"If-Match": '"3"'}
        )
        assert promoted.status_code == 200, promoted.text
        assert promoted.headers["etag"] == '"4"'
        roster = await client.get(f"/api/v1/units/{tree.hamlet_a}/contact-roster")
        assert [e["person_id"] for e in roster.json()["entries"]] == ["p-mem", "p-lead"]

        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        shift = await client.post(
            f"/api/v1/teams/{team['id']}/shifts",
            json={
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "person_ids": ["p-lead"],
            },
        )
        assert shift.status_code == 201, shift.text
        on_duty = await client.delete(f"{url}/{lead['id']}", headers={"If-Match": '"5"'})
        assert on_duty.status_code == 409
        assert "duty roster" in on_duty.json()["detail"]
        shift_url = f"/api/v1/teams/{team['id']}/shifts/{shift.json()['id']}"
        assert (await client.delete(shift_url)).status_code == 428
        assert (await client.delete(shift_url, headers={"If-Match": '"5"'})).status_code == 204
        removed = await client.delete(f"{url}/{lead['id']}", headers={"If-Match": '"6"'})
        assert removed.status_code == 204
        assert removed.headers["etag"] == '"7"'
        body = (await client.get(f"/api/v1/organisations/{team['id']}")).json()
        assert [m["person_id"] for m in body["members"]] == ["p-mem"]
