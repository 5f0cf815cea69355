"""The lifecycle over HTTP: transitions, role rules, 409/412, duplicates, mediation, hand-off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.contracts.topics import INCIDENTS, INCIDENTS_ESCALATIONS, INCIDENTS_PUBLIC
from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    MEDIATION_TEAM,
    MEMBER,
    OTHER_TEAM,
    TEAM,
    World,
)


async def test_an_incident_goes_from_report_to_resolution(world: World) -> None:
    incident = await world.reported()
    iid = incident["id"]
    officer = world.as_("hamlet_officer", HAMLET)
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("acknowledge", {}, officer),
        ("assign", {"assignee": {"team_id": TEAM, "person_id": MEMBER}}, officer),
        ("start", {}, world.as_("team_member", HAMLET)),
        ("resolve", {"reason": "Đã tìm lại được xe"}, world.as_("team_member", HAMLET)),
    ]
    for action, body, headers in steps:
        response = await world.act(iid, action, headers, **body)
        assert response.status_code == 200, (action, response.text)
    final = response.json()
    assert final["status"] == "resolved"
    assert final["assignee"] == {"kind": "person", "id": MEMBER, "team_id": TEAM}
    assert final["resolution"] == "Đã tìm lại được xe"
    assert all(d["met_at"] for d in final["deadlines"])
    assert final["version"] == 5
    timeline = (await world.client.get(f"/api/v1/incidents/{iid}/timeline", headers=officer)).json()
    assert [e["kind"] for e in timeline] == [
        "reported",
        "acknowledge",
        "assign",
        "start",
        "resolve",
    ]
    events = await world.events(INCIDENTS.name, count=5)
    mine = [e for e in events if e["subject"] == iid]
    assert [e["type"].split(".")[-2] for e in mine] == [
        "reported",
        "transitioned",
        "transitioned",
        "transitioned",
        "transitioned",
    ]
    assert [e["data"]["seq"] for e in mine] == [1, 2, 3, 4, 5]
    public = await world.events(INCIDENTS_PUBLIC.name, count=5)
    assert [e["data"]["status"] for e in public if e["subject"] == iid] == [
        "reported",
        "acknowledged",
        "assigned",
        "in_progress",
        "resolved",
    ]


async def test_an_invalid_transition_is_409_naming_the_allowed_ones(world: World) -> None:
    iid = (await world.reported())["id"]
    response = await world.act(iid, "resolve", reason="xong")
    assert response.status_code == 409
    problem = response.json()
    assert problem["current_status"] == "reported"
    assert problem["allowed_actions"] == ["acknowledge", "reject", "mark_duplicate"]
    assert "acknowledge" in problem["detail"]
    rejected = await world.act(iid, "reject", reason="Tin báo sai sự thật")
    assert rejected.status_code == 200
    closed = await world.act(iid, "acknowledge")
    assert closed.status_code == 409
    assert closed.json()["allowed_actions"] == ["reopen"]
    assert "closed" in closed.json()["detail"]


async def test_roles_decide_who_may_take_each_action(world: World) -> None:
    iid = (await world.reported())["id"]
    member = world.as_("team_member", HAMLET)
    response = await world.act(iid, "acknowledge", member)
    assert response.status_code == 403
    assert "hamlet_officer" in response.json()["allowed_roles"]
    outsider = world.as_("commune_officer", "c-kybac")
    assert (await world.act(iid, "acknowledge", outsider)).status_code == 404
    assert (await world.act(iid, "reject", reason="sai")).status_code == 200
    hamlet_officer = world.as_("hamlet_officer", HAMLET)
    reopen = await world.act(iid, "reopen", hamlet_officer, reason="có thêm thông tin")
    assert reopen.status_code == 403
    reopened = await world.act(iid, "reopen", reason="có thêm thông tin")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "reopened"


async def test_two_staff_changing_one_incident_at_once_one_wins_the_other_gets_412(
    world: World,
) -> None:
    created = await world.reported()
    iid, etag = created["id"], f'"{created["version"]}"'
    officer = world.as_("commune_officer") | {"If-Match": etag}

    async def act(action: str, **body: object) -> int:
        response = await world.client.post(
            f"/api/v1/incidents/{iid}/transitions",
            json={"action": action, **body},
            headers=officer,
        )
        return response.status_code

    results = await asyncio.gather(act("acknowledge"), act("reject", reason="trùng lặp"))
    assert sorted(results) == [200, 412]
    stale = await act("acknowledge")
    assert stale == 412
    doc = await world.rt.db["incidents"].find_one({"_id": iid})
    assert doc is not None and doc["version"] == 2 and len(doc["timeline"]) == 2


async def test_staff_acting_at_once_without_if_match_are_judged_on_the_state_that_won(
    world: World,
) -> None:
    """No If-Match: no 412 (nobody set a precondition). Each action is tried again on the
    incident as the winner left it, so the lifecycle answers: one acknowledges, the others
    are told acknowledging is no longer allowed (409)."""
    iid = (await world.reported())["id"]
    officers = [world.as_("commune_officer", subject=f"officer-{n}") for n in range(4)]
    results = await asyncio.gather(*(world.act(iid, "acknowledge", h) for h in officers))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [r.text for r in results]
    refused = next(r for r in results if r.status_code == 409)
    assert "acknowledged" in refused.json()["detail"]
    doc = await world.rt.db["incidents"].find_one({"_id": iid})
    assert doc is not None and doc["version"] == 2 and len(doc["timeline"]) == 2


async def test_assigning_an_unknown_or_foreign_team_is_refused_and_changes_nothing(
    world: World,
) -> None:
    iid = (await world.reported())["id"]
    assert (await world.act(iid, "acknowledge")).status_code == 200
    for assignee, field in (
        ({"team_id": "t-none"}, "assignee.team_id"),
        ({"team_id": OTHER_TEAM}, "assignee.team_id"),
        ({"team_id": TEAM, "person_id": "stranger"}, "assignee.person_id"),
    ):
        response = await world.act(iid, "assign", assignee=assignee)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert (await world.act(iid, "assign")).status_code == 422  # no assignee at all
    doc = await world.rt.db["incidents"].find_one({"_id": iid})
    assert doc is not None and doc["status"] == "acknowledged" and doc["version"] == 2
    commune_team = await world.act(iid, "assign", assignee={"team_id": MEDIATION_TEAM})
    assert commune_team.status_code == 200


async def test_a_duplicate_is_linked_to_its_original(world: World) -> None:
    original = (await world.reported())["id"]
    copy = (await world.reported(description="Lại mất xe đạp ở nhà văn hóa"))["id"]
    response = await world.act(copy, "mark_duplicate", duplicate_of=original)
    assert response.status_code == 200
    assert response.json()["duplicate_of"] == original
    read = await world.client.get(
        f"/api/v1/incidents/{original}", headers=world.as_("commune_officer")
    )
    assert read.json()["duplicates"] == [copy]
    third = (await world.reported())["id"]
    refused = await world.act(third, "mark_duplicate", duplicate_of=copy)
    assert refused.status_code == 409
    assert original in refused.json()["detail"]
    assert (await world.act(third, "mark_duplicate", duplicate_of="nope")).status_code == 422
    assert (await world.act(third, "mark_duplicate", duplicate_of=third)).status_code == 422


async def test_a_dispute_is_mediated_and_agreement_resolves_it(world: World) -> None:
    dispute = await world.reported(
        category="land_dispute",
        description="Tranh chấp ranh giới đất giữa hai hộ",
        answers={"parties": 2},
    )
    iid = dispute["id"]
    officer = world.as_("hamlet_officer", HAMLET)
    assert (await world.act(iid, "acknowledge", officer)).status_code == 200
    held = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    session = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/sessions",
        json={
            "held_at": held,
            "mediators": ["Trưởng thôn", "Tổ hòa giải"],
            "outcome": "adjourned",
            "place": "Nhà văn hóa",
        },
        headers=officer,
    )
    assert session.status_code == 201, session.text
    early = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/conclusion",
        json={"agreement": True, "summary": "Hai bên thống nhất ranh giới"},
        headers=world.as_("agency", "*"),
    )
    assert early.status_code in (403, 404)
    concluded = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/conclusion",
        json={"agreement": True, "summary": "Hai bên thống nhất ranh giới"},
        headers=officer,
    )
    assert concluded.status_code == 200, concluded.text
    body = concluded.json()
    assert body["status"] == "resolved"
    assert body["mediation"]["outcome"] == "agreement"
    assert len(body["mediation"]["sessions"]) == 1
    again = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/sessions",
        json={"held_at": held, "mediators": ["X"], "outcome": "agreement"},
        headers=officer,
    )
    assert again.status_code == 409
    # The agreement does not hold: reopened, the dispute is mediated again in a new round.
    reopened = await world.act(iid, "reopen", reason="Một bên không thực hiện thỏa thuận")
    assert reopened.status_code == 200, reopened.text
    second = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/sessions",
        json={"held_at": held, "mediators": ["Tổ hòa giải"], "outcome": "adjourned"},
        headers=officer,
    )
    assert second.status_code == 201, second.text
    stored = (await world.client.get(f"/api/v1/incidents/{iid}", headers=officer)).json()
    assert [m["outcome"] for m in stored["earlier_mediations"]] == ["agreement"]
    assert stored["earlier_mediations"][0]["mediators"] == ["Trưởng thôn", "Tổ hòa giải"]
    assert stored["mediation"]["outcome"] is None
    assert [s["mediators"] for s in stored["mediation"]["sessions"]] == [["Tổ hòa giải"]]
    events = await world.events(INCIDENTS.name, count=6)
    kinds = [e["type"] for e in events if e["subject"] == iid]
    assert kinds.count("vn.binhyen.incident.mediation_recorded.v1") == 2
    assert "vn.binhyen.incident.mediation_concluded.v1" in kinds


async def test_mediation_is_only_for_disputes(world: World) -> None:
    iid = (await world.reported())["id"]
    assert (await world.act(iid, "acknowledge")).status_code == 200
    response = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/sessions",
        json={"held_at": datetime.now(UTC).isoformat(), "mediators": ["A"], "outcome": "agreement"},
        headers=world.as_("commune_officer"),
    )
    assert response.status_code == 409


async def test_failed_mediation_is_escalated_to_the_police_with_a_handoff_record(
    world: World,
) -> None:
    dispute = await world.reported(
        category="neighbour_dispute", description="Mâu thuẫn kéo dài", answers={"parties": 2}
    )
    iid = dispute["id"]
    officer = world.as_("commune_officer")
    assert (await world.act(iid, "acknowledge", officer)).status_code == 200
    session = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/sessions",
        json={
            "held_at": datetime.now(UTC).isoformat(),
            "mediators": ["Tổ hòa giải"],
            "outcome": "no_agreement",
        },
        headers=officer,
    )
    assert session.status_code == 201
    failed = await world.client.post(
        f"/api/v1/incidents/{iid}/mediation/conclusion",
        json={"agreement": False, "summary": "Không thống nhất"},
        headers=officer,
    )
    assert failed.json()["status"] == "acknowledged"
    escalated = await world.act(
        iid,
        "escalate",
        officer,
        reason="Hòa giải không thành",
        handoff={
            "to_name": "Công an xã Kỳ Nam",
            "summary": "Hồ sơ hòa giải, biên bản",
            "items": ["Biên bản hòa giải"],
        },
    )
    assert escalated.status_code == 200, escalated.text
    handoff = escalated.json()["handoff"]
    assert handoff["to_unit_id"] == COMMUNE and handoff["received_at"] is None
    police = world.as_("police", COMMUNE)
    hamlet_officer = world.as_("hamlet_officer", HAMLET)
    assert (await world.act(iid, "resolve", hamlet_officer, reason="xong")).status_code == 403
    receipt = await world.client.post(
        f"/api/v1/incidents/{iid}/handoff/receipt",
        json={"case_reference": "CAX-2026-117"},
        headers=police,
    )
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["handoff"]["case_reference"] == "CAX-2026-117"
    twice = await world.client.post(
        f"/api/v1/incidents/{iid}/handoff/receipt",
        json={"case_reference": "CAX-2026-117"},
        headers=police,
    )
    assert twice.status_code == 409
    closed = await world.act(iid, "resolve", police, reason="Đã xử lý hành chính")
    assert closed.status_code == 200
    handed = await world.events(INCIDENTS_ESCALATIONS.name, count=2)
    assert [e["type"] for e in handed] == [
        "vn.binhyen.incident.handed_to_police.v1",
        "vn.binhyen.incident.police_receipt.v1",
    ]
    assert handed[0]["data"]["handoff"]["to_name"] == "Công an xã Kỳ Nam"
    assert handed[1]["data"]["handoff"]["case_reference"] == "CAX-2026-117"


async def test_escalating_to_police_outside_the_incidents_units_is_refused(world: World) -> None:
    iid = (await world.reported())["id"]
    assert (await world.act(iid, "acknowledge")).status_code == 200
    response = await world.act(
        iid, "escalate", handoff={"to_name": "CA", "summary": "x", "to_unit_id": "c-kybac"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "handoff.to_unit_id"
