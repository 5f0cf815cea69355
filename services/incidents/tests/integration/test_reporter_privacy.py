"""Who reported: staff and events see a pseudonymous reference; the police unmask, audited."""

from __future__ import annotations

import json

from binhyen.contracts.topics import INCIDENTS
from binhyen.incidents.sample_world import COMMUNE, HAMLET, World

RESIDENT = "resident-account-8f3a"  # the account id no staff view or event may carry


async def _staff_views(world: World, incident_id: str) -> tuple[str, list[dict[str, object]]]:
    staff = world.as_("commune_officer", COMMUNE)
    detail = await world.client.get(f"/api/v1/incidents/{incident_id}", headers=staff)
    timeline = await world.client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=staff)
    assert detail.status_code == timeline.status_code == 200, (detail.text, timeline.text)
    return detail.text + timeline.text, timeline.json()


async def test_staff_see_a_reference_not_the_account_of_a_signed_in_reporter(
    world: World,
) -> None:
    resident = world.as_("resident", HAMLET, subject=RESIDENT)
    first = (await world.reported(resident))["id"]
    second = (await world.reported(resident))["id"]
    text, timeline = await _staff_views(world, first)
    assert RESIDENT not in text
    [report] = [e for e in timeline if e["kind"] == "reported"]
    ref = report["actor"]
    assert isinstance(ref, str) and ref.startswith("reporter-")
    again, _ = await _staff_views(world, first)
    assert ref in again  # stable on the incident: "the same reporter" is recognisable
    other_text, other_timeline = await _staff_views(world, second)
    assert RESIDENT not in other_text
    assert other_timeline[0]["actor"] != ref  # not linkable across incidents


async def test_the_reported_event_carries_the_reference_and_no_account(world: World) -> None:
    resident = world.as_("resident", HAMLET, subject=RESIDENT)
    created = await world.reported(resident)
    _, timeline = await _staff_views(world, created["id"])
    [event] = await world.events(INCIDENTS.name)
    assert event["type"] == "vn.binhyen.incident.reported.v1"
    assert RESIDENT not in json.dumps(event)
    assert event["data"]["actor"] == timeline[0]["actor"]
    assert event["data"]["incident"]["reporter_ref"] == timeline[0]["actor"]
    assert event["data"]["incident"]["reporter_kind"] == "user"


async def test_the_police_still_unmask_a_signed_in_reporter_and_it_is_audited(
    world: World,
) -> None:
    resident = world.as_("resident", HAMLET, subject=RESIDENT)
    iid = (await world.reported(resident))["id"]
    police = world.as_("police", COMMUNE, subject="police-officer-7")
    reason = {"reason": "Cần lấy lời khai người báo tin theo quy định"}
    unmasked = await world.client.post(
        f"/api/v1/incidents/{iid}/reporter/unmask", json=reason, headers=police
    )
    assert unmasked.status_code == 200, unmasked.text
    assert unmasked.json()["kind"] == "user"
    assert unmasked.json()["user_id"] == RESIDENT
    trail = await world.client.get(f"/api/v1/incidents/{iid}/reporter/audit", headers=police)
    assert [a["by"] for a in trail.json()] == ["police-officer-7"]


async def test_a_report_stored_with_the_account_id_reads_with_the_reference(
    world: World,
) -> None:
    resident = world.as_("resident", HAMLET, subject=RESIDENT)
    iid = (await world.reported(resident))["id"]
    _, before = await _staff_views(world, iid)
    # As reports were stored before references existed: the account in the timeline.
    await world.rt.db["incidents"].update_one(
        {"_id": iid}, {"$set": {"timeline.0.actor": RESIDENT}}
    )
    text, timeline = await _staff_views(world, iid)
    assert RESIDENT not in text
    assert timeline[0]["actor"] == before[0]["actor"]
    # A later change rewrites the stored entry; its events name no account either.
    assert (await world.act(iid, "acknowledge")).status_code == 200
    stored = await world.rt.db["incidents"].find_one({"_id": iid})
    assert stored is not None and stored["timeline"][0]["actor"] == before[0]["actor"]
    events = await world.events(INCIDENTS.name, count=2)
    assert RESIDENT not in json.dumps(events)


async def test_reporters_still_list_and_read_their_own_reports(world: World) -> None:
    resident = world.as_("resident", HAMLET, subject=RESIDENT)
    iid = (await world.reported(resident))["id"]
    await world.reported(world.as_("resident", HAMLET, subject="neighbour"))
    mine = await world.client.get("/api/v1/incidents", headers=resident)
    assert [i["id"] for i in mine.json()["items"]] == [iid]
    own = await world.client.get(f"/api/v1/incidents/{iid}", headers=resident)
    assert own.json()["reporter"] == {"kind": "user", "is_you": True}
