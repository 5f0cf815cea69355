"""Households, residents, pledges and enrolments through the API, against real servers."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_HOUSEHOLDS, REGISTRY_PEOPLE
from binhyen.kit.testing import Servers, TestIssuer, eventually, outboxes_empty, read_topic, serve
from binhyen.registry import demo
from binhyen.registry.app import create_app
from binhyen.registry.service import households as households_service
from binhyen.registry.service.common import today_vn
from binhyen.registry.settings import Settings


async def _units(client: httpx.AsyncClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    for key, kind, name, parent in (
        ("p", "province", "Hà Tĩnh", None),
        ("c", "commune", "Kỳ Nam", "p"),
        ("h1", "hamlet", "Tân Thành", "c"),
        ("h2", "hamlet", "Quý Huệ", "c"),
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


HAO = {
    "full_name": "Nguyễn Văn Hảo",
    "birth_year": 1975,
    "phones": ["0912 345 678"],
    "alert_channels": ["sms"],
    "alert_consent": True,
}
LAN = {"full_name": "Trần Thị Lan", "birth_year": 1978}


async def _household(client: httpx.AsyncClient, unit_id: str, **extra: Any) -> dict[str, Any]:
    body = {"unit_id": unit_id, "address": "Xóm 3, thôn Tân Thành", "members": [HAO, LAN]} | extra
    response = await client.post("/api/v1/households", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_household_with_residents_is_registered_and_published(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        household = await _household(client, u["h1"])
        members = household["members"]
        assert [m["full_name"] for m in members] == sorted(
            ["Nguyễn Văn Hảo", "Trần Thị Lan"],
            key=lambda n: next(m["id"] for m in members if m["full_name"] == n),
        )
        hao = next(m for m in members if m["full_name"] == "Nguyễn Văn Hảo")
        assert household["head_person_id"] == hao["id"]
        assert hao["phones"] == ["+84912345678"]
        found = await client.get("/api/v1/people", params={"q": "Nguyen Van Hao"})
        assert [p["id"] for p in found.json()["items"]] == [hao["id"]]
        by_phone = await client.get("/api/v1/people", params={"phone": "+84 912 345 678"})
        assert [p["id"] for p in by_phone.json()["items"]] == [hao["id"]]
        await eventually(
            lambda: outboxes_empty(rt.db["households"], rt.db["people"]), what="relayed"
        )
    people_events = await read_topic(
        servers.kafka, registry_settings.topic(REGISTRY_PEOPLE.name), until=lambda r: len(r) >= 2
    )
    assert {parse_event(r.value).data["full_name"] for r in people_events} == {
        "Nguyễn Văn Hảo",
        "Trần Thị Lan",
    }
    household_events = await read_topic(
        servers.kafka, registry_settings.topic(REGISTRY_HOUSEHOLDS.name)
    )
    assert [parse_event(r.value).type for r in household_events] == [
        "vn.binhyen.registry.household.registered.v1"
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"members": [HAO | {"phones": ["12345"]}]}, "members.0.phones.0"),
        ({"members": [LAN, HAO | {"birth_year": 1800}]}, "members.1.birth_year"),
        ({"members": [HAO | {"alert_consent": False}]}, "members.0.alert_consent"),
        ({"members": [LAN | {"full_name": "  "}]}, "members.0.full_name"),
        ({"address": ""}, "address"),
        ({"head_index": 5}, "head_index"),
        ({"unit_id": "nowhere"}, "unit_id"),
    ],
)
async def test_a_bad_household_writes_nothing_and_names_the_field(
    registry_settings: Settings, admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        body = {"unit_id": u["h1"], "address": "Xóm 3", "members": [HAO, LAN]} | change
        response = await client.post("/api/v1/households", json=body)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
        assert "0912" not in response.text and "Hảo" not in response.text  # nothing echoed
        assert await rt.db["households"].count_documents({}) == 0
        assert await rt.db["people"].count_documents({}) == 0


async def test_household_under_a_commune_or_a_merged_hamlet_is_refused(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        commune = await client.post("/api/v1/households", json={"unit_id": u["c"], "address": "X"})
        assert commune.status_code == 422
        merge = await client.post(
            f"/api/v1/units/{u['h2']}/merge",
            json={"successor_id": u["h1"], "effective_date": "2025-07-01"},
        )
        assert merge.status_code == 200
        merged = await client.post("/api/v1/households", json={"unit_id": u["h2"], "address": "X"})
        assert merged.status_code == 422
        assert u["h1"] in merged.json()["detail"]  # names the successor
        assert await rt.db["households"].count_documents({}) == 0


async def test_pledge_move_and_dissolve(registry_settings: Settings, admin: dict[str, str]) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _units(client)
        household = await _household(client, u["h1"])
        hid = household["id"]
        pledge = await client.put(
            f"/api/v1/households/{hid}/pledges/2026",
            json={"signed_on": "2026-02-10"},
            headers={"If-Match": '"1"'},
        )
        assert pledge.status_code == 200, pledge.text
        assert pledge.json()["pledges"][0]["ba_khong"] is True
        late = await client.put(
            f"/api/v1/households/{hid}/pledges/2026", json={"signed_on": "2024-02-10"}
        )
        assert late.status_code == 422
        assert late.json()["errors"][0]["field"] == "signed_on"
        pledged = await client.get("/api/v1/households", params={"pledged_in": 2026})
        assert [h["id"] for h in pledged.json()["items"]] == [hid]
        moved = await client.post(f"/api/v1/households/{hid}/move", json={"unit_id": u["h2"]})
        assert moved.status_code == 200
        residents = (await client.get("/api/v1/people", params={"household_id": hid})).json()
        assert {p["unit_id"] for p in residents["items"]} == {u["h2"]}
        busy = await client.post(f"/api/v1/households/{hid}/dissolve")
        assert busy.status_code == 409
        for person in residents["items"]:
            ended = await client.post(
                f"/api/v1/people/{person['id']}/end", json={"status": "moved_out"}
            )
            assert ended.status_code == 200
        gone = await client.post(f"/api/v1/households/{hid}/dissolve")
        assert gone.status_code == 200
        assert gone.json()["head_person_id"] is None
        assert gone.json()["dissolved_on"] == today_vn().isoformat()
        assert gone.json()["registered_on"] == household["registered_on"]


async def test_erasing_a_former_resident_blanks_the_data_and_tombstones_the_topic(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        household = await _household(client, u["h1"])
        lan = next(m for m in household["members"] if m["full_name"] == "Trần Thị Lan")
        active = await client.post(f"/api/v1/people/{lan['id']}/erase")
        assert active.status_code == 409
        await client.post(f"/api/v1/people/{lan['id']}/end", json={"status": "moved_out"})
        erased = await client.post(f"/api/v1/people/{lan['id']}/erase")
        assert erased.status_code == 200
        assert (erased.json()["full_name"], erased.json()["birth_year"]) == ("", None)
        doc = await rt.db["people"].find_one({"_id": lan["id"]})
        assert doc is not None and "Lan" not in str(doc.get("full_name"))
        await eventually(lambda: outboxes_empty(rt.db["people"]), what="relayed")
    records = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_PEOPLE.name),
        until=lambda r: any(x.value is None for x in r),
    )
    last = [r for r in records if r.key == lan["id"].encode()][-1]
    assert last.value is None


async def test_people_stay_inside_scope(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _units(client)
        mine = await _household(client, u["h1"])
        theirs = await _household(client, u["h2"], address="Xóm 1, thôn Quý Huệ")
        officer = issuer.headers(("hamlet_officer", u["h1"]))
        visible = await client.get("/api/v1/people", headers=officer)
        assert {p["household_id"] for p in visible.json()["items"]} == {mine["id"]}
        other = await client.get(f"/api/v1/households/{theirs['id']}", headers=officer)
        assert other.status_code == 404
        person = theirs["members"][0]["id"]
        assert (await client.get(f"/api/v1/people/{person}", headers=officer)).status_code == 404
        steal = await client.post(
            f"/api/v1/people/{mine['members'][0]['id']}/move",
            json={"household_id": theirs["id"]},
            headers=officer,
        )
        assert steal.status_code == 422  # the target household is not theirs to see
        team = issuer.headers(("team_member", u["h1"]))
        household = await client.get(f"/api/v1/households/{mine['id']}", headers=team)
        assert (
            household.status_code == 403
        )  # in their hamlet, but team members do not read households
        agency = issuer.headers(("agency", "*"), kind="agency")
        assert (await client.get("/api/v1/people", headers=agency)).json()["items"] == []


async def test_interrupted_household_registration_is_finished_on_resume(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    # The workflow worker sweeps only at start here: this test resumes by hand.
    settings = registry_settings.model_copy(update={"workflow_sweep_seconds": 3600})
    async with serve(create_app(settings), headers=admin) as (client, rt):
        u = await _units(client)
        household = await _household(client, u["h1"])
        people = rt.db["people"]
        saved = await people.find({"household_id": household["id"]}).to_list()
        # Simulate a crash after the household write: residents not yet inserted.
        await people.delete_many({"household_id": household["id"]})
        await rt.db["households"].update_one(
            {"_id": household["id"]}, {"$set": {"_pending": {"people": saved}}}
        )
        ctx = dataclasses.replace(rt.context, relay=None)
        assert await households_service.resume_pending(ctx) == 1
        assert await people.count_documents({"household_id": household["id"]}) == 2
        assert await households_service.resume_pending(ctx) == 0


async def test_enrolment_once_per_hamlet_and_year(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _units(client)
        body = {"resolution_date": "2026-02-15", "registered_on": "2026-03-01"}
        first = await client.put(f"/api/v1/units/{u['h1']}/enrolments/2026", json=body)
        assert first.status_code == 201, first.text
        assert first.json()["resolution_in_first_quarter"] is True
        again = await client.put(f"/api/v1/units/{u['h1']}/enrolments/2026", json=body)
        assert again.status_code == 409
        backwards = await client.put(
            f"/api/v1/units/{u['h2']}/enrolments/2026",
            json={"resolution_date": "2026-03-01", "registered_on": "2026-02-01"},
        )
        assert backwards.status_code == 422
        listed = await client.get("/api/v1/enrolments", params={"unit_id": u["c"], "year": 2026})
        assert [e["unit_id"] for e in listed.json()] == [u["h1"]]


async def test_concurrent_edits_without_if_match_all_land_and_with_it_one_wins(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    """Writers racing on one household (the default pool: the races are real).

    Without If-Match each asked for its change on whatever is current: all are applied, none
    is told 412 (that answers a precondition nobody sent). With If-Match of one version,
    exactly one wins and the others are told the household moved on.
    """
    writers = 5
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _units(client)
        hid = (await _household(client, u["h1"]))["id"]
        url = f"/api/v1/households/{hid}"

        loose = await asyncio.gather(
            *(
                client.patch(url, json={"address": f"Xóm {n}, thôn Tân Thành"})
                for n in range(writers)
            )
        )
        assert [r.status_code for r in loose] == [200] * writers, [r.text for r in loose]
        after = (await client.get(url)).json()
        assert after["version"] == 1 + writers  # every change applied, one after another
        assert sorted(r.json()["version"] for r in loose) == list(range(2, 2 + writers))

        guarded = await asyncio.gather(
            *(
                client.patch(
                    url,
                    json={"registration_code": f"HK-{n}"},
                    headers={"If-Match": f'"{after["version"]}"'},
                )
                for n in range(writers)
            )
        )
        codes = sorted(r.status_code for r in guarded)
        assert codes == [200] + [412] * (writers - 1), [r.text for r in guarded]
        assert (await client.get(url)).json()["version"] == after["version"] + 1


async def test_the_day_a_household_was_registered_is_kept_and_announced(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    """Reporting counts a past year's households from these days (and the dissolution's)."""
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _units(client)
        today = (await _household(client, u["h1"]))["registered_on"]
        assert today == today_vn().isoformat()  # by default: today, Vietnam time
        older = await _household(client, u["h1"], registered_on="2019-05-20")
        assert older["registered_on"] == "2019-05-20"
        for bad in ("2999-01-01", "1900-01-01"):
            refused = await client.post(
                "/api/v1/households",
                json={"unit_id": u["h1"], "address": "Xóm 4", "registered_on": bad},
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "registered_on"
        await eventually(lambda: outboxes_empty(rt.db["households"]), what="relayed")
        records = await read_topic(
            registry_settings.kafka_bootstrap,
            registry_settings.topic(REGISTRY_HOUSEHOLDS.name),
            until=lambda rs: len(rs) >= 2,
        )
        days = {
            e.data["household_id"]: e.data["registered_on"]
            for e in (parse_event(r.value) for r in records if r.value)
        }
        assert days[older["id"]] == "2019-05-20"
        count = await rt.db["households"].count_documents({})
        assert count == 2  # the refused ones wrote nothing


async def test_the_demo_loads_again_over_households_an_older_run_made_without_the_day(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    """A compose deployment re-runs the demo at every start, over its old data."""
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _units(client)
        body = {"unit_id": u["h1"], "address": "Xóm 1, thôn Tân Thành"}
        older = await client.post(
            "/api/v1/households", json=body, headers={"Idempotency-Key": "demo-x-1"}
        )
        assert older.status_code == 201, older.text
        api = demo._Api(client, admin["Authorization"].removeprefix("Bearer "))
        again = await demo.create_household(api, body | {"registered_on": "2020-01-01"}, "demo-x-1")
        assert again["id"] == older.json()["id"]
        listed = await client.get("/api/v1/households", params={"unit_id": u["h1"]})
        assert len(listed.json()["items"]) == 1
