"""Objects outside the caller's scope answer exactly like unknown ones (no existence leaks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    HAMLET2,
    MERGED,
    OTHER_HAMLET,
    TEAM,
    World,
    report_body,
)

UNKNOWN = "zz-no-such-thing"


def _as_unknown(response: httpx.Response, sent: str) -> tuple[int, Any]:
    """Status and body with the id the caller sent replaced, to compare with an unknown id."""
    return response.status_code, response.text.replace(sent, UNKNOWN)


async def test_an_incident_outside_ones_scope_answers_like_an_unknown_one(world: World) -> None:
    iid = (await world.reported())["id"]  # in Tân Thành
    callers = {
        "agency (sees the units, not the incidents)": world.as_("agency", "*"),
        "another hamlet's officer": world.as_("hamlet_officer", OTHER_HAMLET),
        "another resident": world.as_("resident", HAMLET, subject="neighbour"),
    }
    for who, headers in callers.items():
        for path in ("", "/timeline", "/messages"):
            there = await world.client.get(f"/api/v1/incidents/{iid}{path}", headers=headers)
            unknown = await world.client.get(f"/api/v1/incidents/{UNKNOWN}{path}", headers=headers)
            assert there.status_code == 404, (who, path, there.text)
            assert _as_unknown(there, iid) == _as_unknown(unknown, UNKNOWN), (who, path)
        there = await world.act(iid, "acknowledge", headers)
        unknown = await world.act(UNKNOWN, "acknowledge", headers)
        assert _as_unknown(there, iid) == _as_unknown(unknown, UNKNOWN), who


async def test_another_hamlets_team_answers_like_an_unknown_team_and_is_not_named(
    world: World,
) -> None:
    officer = world.as_("commune_officer", COMMUNE)
    iid = (await world.reported(officer, hamlet_id=HAMLET2))["id"]
    assert (await world.act(iid, "acknowledge")).status_code == 200
    foreign = await world.act(iid, "assign", assignee={"team_id": TEAM})  # Tân Thành's team
    unknown = await world.act(iid, "assign", assignee={"team_id": UNKNOWN})
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "assignee.team_id"
    assert "Tổ" not in foreign.text  # the team's name
    assert _as_unknown(foreign, TEAM) == _as_unknown(unknown, UNKNOWN)


async def test_a_hamlet_outside_ones_scope_answers_like_an_unknown_one(world: World) -> None:
    resident = world.as_("resident", OTHER_HAMLET, subject="resident-hung-binh")
    unknown = await world.report(resident, hamlet_id=UNKNOWN)
    assert unknown.status_code == 422
    for hamlet in (HAMLET, MERGED, COMMUNE):  # active, merged into Tân Thành, not a hamlet
        there = await world.report(resident, hamlet_id=hamlet)
        assert _as_unknown(there, hamlet) == _as_unknown(unknown, UNKNOWN), hamlet
        assert "Tân Thành" not in there.text and "Đông Hải" not in there.text
    similar = {"category": "theft", "occurred_at": datetime.now(UTC).isoformat()}
    there = await world.client.get(
        "/api/v1/incidents/similar", params=similar | {"hamlet_id": HAMLET}, headers=resident
    )
    unknown = await world.client.get(
        "/api/v1/incidents/similar", params=similar | {"hamlet_id": UNKNOWN}, headers=resident
    )
    assert there.status_code == 422
    assert _as_unknown(there, HAMLET) == _as_unknown(unknown, UNKNOWN)
    officer = world.as_("hamlet_officer", OTHER_HAMLET)
    there = await world.client.get(f"/api/v1/hamlets/{HAMLET}", headers=officer)
    unknown = await world.client.get(f"/api/v1/hamlets/{UNKNOWN}", headers=officer)
    assert there.status_code == 404
    assert _as_unknown(there, HAMLET) == _as_unknown(unknown, UNKNOWN)
    assert await world.rt.db["incidents"].count_documents({}) == 0


async def test_a_merged_hamlet_still_names_its_successor_to_those_it_passed_to(
    world: World,
) -> None:
    resident = world.as_("resident", HAMLET, subject="resident-tan-thanh")
    response = await world.client.post(
        "/api/v1/incidents", json=report_body(hamlet_id=MERGED), headers=resident
    )
    assert response.status_code == 422
    assert response.json()["successor_id"] == HAMLET
