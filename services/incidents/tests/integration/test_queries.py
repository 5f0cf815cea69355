"""Queries: filters over the unit subtree, diacritics-insensitive search, maps, similar reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    HAMLET2,
    OTHER_HAMLET,
    PROVINCE,
    SPOT,
    World,
)


async def _seed(world: World) -> dict[str, str]:
    officer = world.as_("commune_officer", PROVINCE)
    return {
        "theft": (await world.reported(officer))["id"],
        "drugs": (
            await world.reported(
                officer,
                category="drugs",
                description="Nghi có người sử dụng ma túy ở bãi đất trống",
                answers={"activity": "use"},
                severity="high",
            )
        )["id"],
        "fight": (
            await world.reported(
                officer,
                hamlet_id=HAMLET2,
                category="assault",
                description="Đánh nhau ở đám cưới, có người bị thương",
                answers={"injured": True},
                location=None,
            )
        )["id"],
        "elsewhere": (
            await world.reported(
                officer,
                hamlet_id=OTHER_HAMLET,
                occurred_at=(datetime.now(UTC) - timedelta(days=10)).isoformat(),
            )
        )["id"],
    }


async def _list(world: World, headers: dict[str, str], **params: Any) -> list[str]:
    response = await world.client.get("/api/v1/incidents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(i["id"] for i in response.json()["items"])


async def test_lists_filter_by_subtree_status_category_severity_and_period(world: World) -> None:
    ids = await _seed(world)
    province = world.as_("commune_officer", PROVINCE)
    commune = world.as_("commune_officer", COMMUNE)
    everything = sorted(ids.values())
    assert await _list(world, province) == everything
    assert await _list(world, commune) == sorted([ids["theft"], ids["drugs"], ids["fight"]])
    assert await _list(world, province, unit_id=HAMLET) == sorted([ids["theft"], ids["drugs"]])
    assert await _list(world, commune, unit_id=PROVINCE) == sorted(
        [ids["theft"], ids["drugs"], ids["fight"]]
    )  # asking wider than one's scope still stays inside it
    assert await _list(world, commune, unit_id=OTHER_HAMLET) == []
    assert await _list(world, province, category="drugs") == [ids["drugs"]]
    assert await _list(world, province, severity="high") == sorted([ids["drugs"], ids["fight"]])
    assert await _list(world, province, severity=["low", "critical"]) == []
    assert await _list(world, province, group="social_evil") == [ids["drugs"]]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert ids["elsewhere"] not in await _list(world, province, since=since)
    assert (await world.act(ids["theft"], "acknowledge", province)).status_code == 200
    assert await _list(world, province, status="acknowledged") == [ids["theft"]]
    bad = await world.client.get(
        "/api/v1/incidents", params={"status": "sleeping"}, headers=province
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status.0"


async def test_search_ignores_diacritics_and_case(world: World) -> None:
    ids = await _seed(world)
    province = world.as_("commune_officer", PROVINCE)
    for q in ("ma túy", "MA TUY", "ma tuy bai dat", "Bãi Đất"):
        assert await _list(world, province, q=q) == [ids["drugs"]], q
    assert await _list(world, province, q="danh nhau") == [ids["fight"]]
    assert await _list(world, province, q="xe dap") == sorted([ids["theft"], ids["elsewhere"]])
    assert await _list(world, province, q="(.*") == []  # regex characters are plain text


async def test_pages_follow_the_cursor_without_gaps_or_repeats(world: World) -> None:
    officer = world.as_("commune_officer", COMMUNE)
    created = {(await world.reported(officer))["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await world.client.get("/api/v1/incidents", params=params, headers=officer)).json()
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created) and len(seen) == 5
    bad = await world.client.get("/api/v1/incidents", params={"cursor": "!!"}, headers=officer)
    assert bad.status_code == 422


async def test_the_map_is_a_geojson_feature_collection_of_located_incidents(world: World) -> None:
    ids = await _seed(world)
    response = await world.client.get(
        "/api/v1/incidents/map", headers=world.as_("commune_officer", COMMUNE)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in collection["features"]) == sorted([ids["theft"], ids["drugs"]])
    feature = collection["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": SPOT}
    assert set(feature["properties"]) >= {"category", "severity", "status", "hamlet_id"}


async def _similar(world: World, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await world.client.get("/api/v1/incidents/similar", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_similar_open_reports_are_found_before_submitting(world: World) -> None:
    ids = await _seed(world)
    staff = world.as_("hamlet_officer", HAMLET)
    near = [SPOT[0] + 0.001, SPOT[1]]  # about 100 m east
    params: dict[str, Any] = {
        "hamlet_id": HAMLET,
        "category": "theft",
        "occurred_at": datetime.now(UTC).isoformat(),
        "lon": near[0],
        "lat": near[1],
    }
    found = await _similar(world, staff, **params)
    assert found["count"] == 1
    assert [s["id"] for s in found["items"]] == [ids["theft"]]
    assert 80 < found["items"][0]["distance_m"] < 130
    assert "description" not in found["items"][0]
    far = await _similar(world, staff, **params | {"lon": SPOT[0] + 0.05})
    assert far["items"] == [] and far["count"] == 1  # the count is hamlet-wide
    later = params | {"occurred_at": (datetime.now(UTC) + timedelta(days=5)).isoformat()}
    assert await _similar(world, staff, **later) == {"count": 0, "items": []}
    assert (await world.act(ids["theft"], "reject", reason="sai")).status_code == 200
    assert await _similar(world, staff, **params) == {"count": 0, "items": []}


async def test_a_resident_learns_how_many_similar_reports_not_which(world: World) -> None:
    ids = await _seed(world)
    params: dict[str, Any] = {
        "hamlet_id": HAMLET,
        "category": "theft",
        "occurred_at": datetime.now(UTC).isoformat(),
        "lon": SPOT[0],
        "lat": SPOT[1],
    }
    resident = world.as_("resident", HAMLET, subject="resident-1")
    found = await _similar(world, resident, **params)
    assert found == {"count": 1, "items": []}  # another's report: counted, never shown
    assert ids["theft"] not in json.dumps(found)
    # A tiny radius does not tell the resident where the report is: the count is per hamlet.
    pinned = await _similar(world, resident, **params | {"radius_m": 1, "lon": SPOT[0] + 0.05})
    assert pinned["count"] == 1
    mine = (await world.reported(resident))["id"]
    found = await _similar(world, resident, **params)
    assert found["count"] == 2
    assert [s["id"] for s in found["items"]] == [mine]  # one's own report is listed


async def test_ones_own_reports_are_listed_even_outside_ones_staff_grants(world: World) -> None:
    both = world.headers(
        ("resident", HAMLET), ("hamlet_officer", OTHER_HAMLET), subject="officer-who-lives-here"
    )
    mine = (await world.reported(both))["id"]
    there = (
        await world.reported(world.as_("hamlet_officer", OTHER_HAMLET), hamlet_id=OTHER_HAMLET)
    )["id"]
    neighbour = (await world.reported(world.as_("resident", HAMLET)))["id"]
    listed = await _list(world, both)
    assert listed == sorted([mine, there])
    assert neighbour not in listed


async def test_similar_reports_across_a_hamlet_border_are_listed_only_within_ones_scope(
    world: World,
) -> None:
    ids = await _seed(world)
    params: dict[str, Any] = {
        "hamlet_id": HAMLET2,
        "category": "theft",
        "occurred_at": datetime.now(UTC).isoformat(),
        "lon": SPOT[0],
        "lat": SPOT[1],
    }
    neighbour_officer = world.as_("hamlet_officer", HAMLET2)
    assert await _similar(world, neighbour_officer, **params) == {"count": 0, "items": []}
    commune_officer = world.as_("commune_officer", COMMUNE)
    found = await _similar(world, commune_officer, **params)
    assert [s["id"] for s in found["items"]] == [ids["theft"]]
