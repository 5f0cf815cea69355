"""The unit tree through the API: dated changes, subtree updates, events, access."""

from __future__ import annotations

from typing import Any

import httpx

from binhyen.contracts import parse_event
from binhyen.contracts.topics import REGISTRY_PUBLIC, REGISTRY_UNITS
from binhyen.kit.testing import Servers, TestIssuer, eventually, outboxes_empty, read_topic, serve
from binhyen.registry.app import create_app
from binhyen.registry.service import units as service
from binhyen.registry.settings import Settings


async def _create(
    client: httpx.AsyncClient,
    kind: str,
    name: str,
    parent: str | None = None,
    valid_from: str = "2020-01-01",
) -> dict[str, Any]:
    body = {"kind": kind, "name": name, "parent_id": parent, "valid_from": valid_from}
    response = await client.post("/api/v1/units", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _ky_nam(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    p = await _create(client, "province", "Hà Tĩnh")
    t = await _create(client, "town", "Kỳ Anh", p["id"])
    c = await _create(client, "commune", "Kỳ Nam", t["id"])
    h1 = await _create(client, "hamlet", "Tân Thành", c["id"])
    h2 = await _create(client, "hamlet", "Quý Huệ", c["id"])
    return {"p": p, "t": t, "c": c, "h1": h1, "h2": h2}


async def test_rename_is_dated_and_the_old_name_is_kept(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _ky_nam(client)
        h1 = u["h1"]["id"]
        renamed = await client.post(
            f"/api/v1/units/{h1}/rename",
            json={"name": "Tân Thành Mới", "effective_date": "2023-05-01"},
            headers={"If-Match": '"1"'},
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.headers["etag"] == '"2"'
        before = (await client.get(f"/api/v1/units/{h1}", params={"as_of": "2023-04-30"})).json()
        after = (await client.get(f"/api/v1/units/{h1}")).json()
        assert (before["name"], after["name"]) == ("Tân Thành", "Tân Thành Mới")
        history = (await client.get(f"/api/v1/units/{h1}/history")).json()
        assert [v["change"] for v in history] == ["registered", "renamed"]
        stale = await client.post(
            f"/api/v1/units/{h1}/rename",
            json={"name": "Khác", "effective_date": "2024-01-01"},
            headers={"If-Match": '"1"'},
        )
        assert stale.status_code == 412
        assert stale.headers["content-type"] == "application/problem+json"
        early = await client.post(
            f"/api/v1/units/{h1}/rename", json={"name": "Khác", "effective_date": "2022-01-01"}
        )
        assert early.status_code == 422
        assert early.json()["errors"][0]["field"] == "effective_date"


async def test_merge_moves_the_hamlets_and_history_answers_as_of_a_date(
    registry_settings: Settings, admin: dict[str, str], servers: Servers
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _ky_nam(client)
        neighbour = await _create(client, "commune", "Kỳ Phương", u["t"]["id"])
        c, h1 = u["c"]["id"], u["h1"]["id"]
        merged = await client.post(
            f"/api/v1/units/{c}/merge",
            json={"successor_id": neighbour["id"], "effective_date": "2025-07-01"},
        )
        assert merged.status_code == 200, merged.text
        assert merged.json()["status"] == "merged"
        now = (await client.get(f"/api/v1/units/{h1}")).json()
        assert now["parent_id"] == neighbour["id"]
        assert now["ancestor_ids"] == [u["p"]["id"], u["t"]["id"], neighbour["id"]]
        then = (await client.get(f"/api/v1/units/{h1}", params={"as_of": "2025-06-30"})).json()
        assert then["parent_id"] == c
        old_tree = await client.get(f"/api/v1/units/{c}/subtree", params={"as_of": "2025-06-30"})
        assert {x["name"] for x in old_tree.json()} == {"Kỳ Nam", "Tân Thành", "Quý Huệ"}
        gone = await client.get(f"/api/v1/units/{c}", params={"as_of": "2025-07-01"})
        assert gone.status_code == 404
        new_tree = await client.get(f"/api/v1/units/{neighbour['id']}/subtree")
        assert {x["name"] for x in new_tree.json()} == {"Kỳ Phương", "Tân Thành", "Quý Huệ"}
        refused = await client.post(
            "/api/v1/units",
            json={"kind": "hamlet", "name": "Mới", "parent_id": c, "valid_from": "2025-08-01"},
        )
        assert refused.status_code == 422
        assert neighbour["id"] in refused.json()["detail"]  # names the successor
        assert await rt.db["units"].count_documents({"_cascade": {"$exists": True}}) == 0
        await eventually(lambda: outboxes_empty(rt.db["units"]), what="events relayed")
    events = await read_topic(
        servers.kafka,
        registry_settings.topic(REGISTRY_UNITS.name),
        until=lambda r: len(r) >= 9,
    )
    moved = [parse_event(r.value) for r in events if r.key == h1.encode()]
    assert [e.type.split(".")[-2] for e in moved] == ["registered", "moved"]
    assert moved[-1].data["because_of"] == c
    public = await read_topic(
        servers.kafka, registry_settings.topic(REGISTRY_PUBLIC.name), until=lambda r: len(r) >= 9
    )
    assert {r.key for r in public} >= {f"unit:{h1}".encode(), f"unit:{c}".encode()}


async def test_move_under_a_descendant_or_a_dissolved_unit_is_refused(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        u = await _ky_nam(client)
        before = await rt.db["units"].count_documents({"version": {"$gt": 1}})
        cyc = await client.post(
            f"/api/v1/units/{u['t']['id']}/move", json={"parent_id": u["c"]["id"]}
        )
        assert cyc.status_code == 422
        assert cyc.json()["errors"][0]["field"] == "parent_id"
        busy = await client.post(f"/api/v1/units/{u['c']['id']}/dissolve", json={})
        assert busy.status_code == 409
        h2 = u["h2"]["id"]
        gone = await client.post(
            f"/api/v1/units/{h2}/dissolve", json={"effective_date": "2024-01-01"}
        )
        assert gone.status_code == 200
        later = await client.post(
            f"/api/v1/units/{h2}/rename", json={"name": "X", "effective_date": "2024-02-01"}
        )
        assert later.status_code == 409
        assert "dissolved since 01/01/2024" in later.json()["detail"]
        assert await rt.db["units"].count_documents({"version": {"$gt": 1}}) == before + 1


async def test_search_ignores_diacritics_and_stays_in_scope(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    app = create_app(registry_settings)
    async with serve(app, headers=admin) as (client, _):
        u = await _ky_nam(client)
        found = (await client.get("/api/v1/units", params={"q": "quy hue"})).json()["items"]
        assert [x["name"] for x in found] == ["Quý Huệ"]
        officer = issuer.headers(("hamlet_officer", u["h1"]["id"]))
        mine = await client.get("/api/v1/units", headers=officer)
        assert [x["name"] for x in mine.json()["items"]] == ["Tân Thành"]
        other = await client.get(f"/api/v1/units/{u['h2']['id']}", headers=officer)
        assert other.status_code == 404
        write = await client.post(
            f"/api/v1/units/{u['h1']['id']}/rename", json={"name": "X"}, headers=officer
        )
        assert write.status_code == 403
        anonymous = await client.get("/api/v1/units", headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_interrupted_subtree_update_is_finished_on_resume(
    registry_settings: Settings, admin: dict[str, str]
) -> None:
    """A crash between moving a unit and updating its subtree is repaired by the marker."""
    # The workflow worker sweeps only at start here: this test resumes by hand.
    settings = registry_settings.model_copy(update={"workflow_sweep_seconds": 3600})
    async with serve(create_app(settings), headers=admin) as (client, rt):
        u = await _ky_nam(client)
        other = await _create(client, "town", "Hồng Lĩnh", u["p"]["id"])
        ctx = service.UnitsContext(
            store=rt.context.stores.units,
            topic=rt.settings.topic,
            publish_pending=lambda *hint: None,
            active_at=service.units_context(rt.context).active_at,
        )
        commune = await ctx.store.get(u["c"]["id"])
        assert commune is not None
        parent = await ctx.store.get(other["id"])
        assert parent is not None
        from binhyen.registry.domain import units as domain

        moved = domain.move(commune, new_parent=parent, effective_date=commune.last_change)
        await ctx.store.save(
            moved,
            expected_version=commune.version,
            outbox=[],
            cascade={"effective_date": moved.last_change.isoformat(), "because_of": moved.id},
        )  # ...and the process dies here
        stale = (await client.get(f"/api/v1/units/{u['h1']['id']}")).json()
        assert stale["ancestor_ids"] == [u["p"]["id"], u["t"]["id"], u["c"]["id"]]
        assert await service.resume_cascades(ctx) == 1
        fixed = (await client.get(f"/api/v1/units/{u['h1']['id']}")).json()
        assert fixed["ancestor_ids"] == [u["p"]["id"], other["id"], u["c"]["id"]]
        assert await service.resume_cascades(ctx) == 0


async def test_after_a_merge_the_successors_officers_see_the_moved_hamlets_teams(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        u = await _ky_nam(client)
        neighbour = await _create(client, "commune", "Kỳ Phương", u["t"]["id"])
        team = await client.post(
            "/api/v1/organisations",
            json={
                "unit_id": u["h1"]["id"],
                "kind": "people_security",
                "name": "Tổ ANTT",
                "valid_from": "2024-01-01",
            },
        )
        assert team.status_code == 201, team.text
        officer = issuer.headers(("commune_officer", neighbour["id"]))
        before = await client.get(f"/api/v1/organisations/{team.json()['id']}", headers=officer)
        assert before.status_code == 404
        merged = await client.post(
            f"/api/v1/units/{u['c']['id']}/merge",
            json={"successor_id": neighbour["id"], "effective_date": "2025-07-01"},
        )
        assert merged.status_code == 200
        after = await client.get(f"/api/v1/organisations/{team.json()['id']}", headers=officer)
        assert after.status_code == 200
