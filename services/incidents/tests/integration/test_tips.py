"""Anonymous tips: public, rate-limited; a reply token opens its tip only; unmasking is audited."""

from __future__ import annotations

import json
import secrets
import uuid

from pydantic import SecretStr

from binhyen.contracts.topics import INCIDENTS, INCIDENTS_PUBLIC
from binhyen.incidents.sample_world import COMMUNE, HAMLET, World, report_body, running_world
from binhyen.incidents.service.incidents import reply_token
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import TestIssuer

CONTACT = {"name": "Nguyễn Văn Hảo", "phone": "+84912345678", "note": "gọi sau 18h"}


async def _tip(world: World, **overrides: object) -> dict[str, str]:
    response = await world.client.post(
        "/api/v1/tips",
        json=report_body(category="drugs", answers={"activity": "dealing"}, contact=CONTACT)
        | overrides,
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_a_tipster_follows_their_tip_and_answers_questions(world: World) -> None:
    tip = await _tip(world)
    token = {"X-Reply-Token": tip["reply_token"]}
    officer = world.as_("commune_officer")
    staff_view = await world.client.get(f"/api/v1/incidents/{tip['incident_id']}", headers=officer)
    assert staff_view.status_code == 200
    assert staff_view.json()["reporter"] == {"kind": "anonymous", "is_you": False}
    assert "Hảo" not in staff_view.text and "0912345678" not in staff_view.text
    asked = await world.client.post(
        f"/api/v1/incidents/{tip['incident_id']}/messages",
        json={"text": "Anh/chị thấy mấy người?"},
        headers=officer,
    )
    assert asked.status_code == 201
    answer = await world.client.post(
        "/api/v1/tips/current/messages", json={"text": "Khoảng 3 người"}, headers=token
    )
    assert answer.status_code == 201
    assert (await world.act(tip["incident_id"], "acknowledge")).status_code == 200
    view = await world.client.get("/api/v1/tips/current", headers=token)
    assert view.status_code == 200
    body = view.json()
    assert body["status"] == "acknowledged"
    assert [m["author"] for m in body["messages"]] == ["staff", "reporter"]
    assert [h["status"] for h in body["history"]] == ["reported", "acknowledged"]
    assert "commune_officer" not in view.text


async def test_a_reply_token_opens_only_its_own_tip(world: World) -> None:
    first, second = await _tip(world), await _tip(world)
    forged = first["incident_id"] + "." + second["reply_token"].split(".", 1)[1]
    for token in (forged, second["incident_id"], "garbage", ""):
        response = await world.client.get("/api/v1/tips/current", headers={"X-Reply-Token": token})
        assert response.status_code in (404, 422), token
    signed_report = await world.reported()
    not_a_tip = signed_report["id"] + "." + first["reply_token"].split(".", 1)[1]
    response = await world.client.get("/api/v1/tips/current", headers={"X-Reply-Token": not_a_tip})
    assert response.status_code == 404
    mine = await world.client.get(
        "/api/v1/tips/current", headers={"X-Reply-Token": first["reply_token"]}
    )
    assert mine.json()["incident_id"] == first["incident_id"]


async def test_a_token_of_the_previous_tip_secret_works_until_it_is_dropped(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    rotated = incidents_settings.model_copy(
        update={"tip_secret": SecretStr(new), "tip_secret_previous": SecretStr(old)}
    )
    async with running_world(rotated, issuer) as world:
        tip = await _tip(world)
        iid = tip["incident_id"]
        assert tip["reply_token"] == reply_token(new, iid)  # new tokens: the current secret
        for token in (reply_token(new, iid), reply_token(old, iid)):
            view = await world.client.get("/api/v1/tips/current", headers={"X-Reply-Token": token})
            assert view.status_code == 200, view.text
            assert view.json()["incident_id"] == iid
        unknown = reply_token(secrets.token_urlsafe(32), iid)
        refused = await world.client.get("/api/v1/tips/current", headers={"X-Reply-Token": unknown})
        assert refused.status_code == 404
    dropped = rotated.model_copy(update={"tip_secret_previous": None})
    async with running_world(dropped, issuer) as world:
        headers = {"X-Reply-Token": reply_token(old, iid)}
        assert (await world.client.get("/api/v1/tips/current", headers=headers)).status_code == 404


async def test_a_genuine_token_of_a_signed_in_report_answers_like_an_unknown_id(
    world: World, incidents_settings: Settings
) -> None:
    key = incidents_settings.tip_key()
    not_a_tip = reply_token(key, (await world.reported())["id"])
    unknown = reply_token(key, str(uuid.uuid4()))
    answers = []
    for token in (not_a_tip, unknown):
        headers = {"X-Reply-Token": token}
        read = await world.client.get("/api/v1/tips/current", headers=headers)
        write = await world.client.post(
            "/api/v1/tips/current/messages", json={"text": "Tôi là người báo tin"}, headers=headers
        )
        answers.append([(r.status_code, r.json()) for r in (read, write)])
    assert answers[0] == answers[1]
    assert [status for status, _ in answers[0]] == [404, 404]


async def test_only_the_police_unmask_a_tipster_and_every_unmasking_is_audited(
    world: World,
) -> None:
    tip = await _tip(world)
    iid = tip["incident_id"]
    reason = {"reason": "Cần xác minh thông tin từ người báo tin"}
    for role in ("commune_officer", "hamlet_officer", "team_member"):
        unit = HAMLET if role != "commune_officer" else COMMUNE
        denied = await world.client.post(
            f"/api/v1/incidents/{iid}/reporter/unmask", json=reason, headers=world.as_(role, unit)
        )
        assert denied.status_code == 403, role
    other_police = world.as_("police", "c-kybac")
    outside = await world.client.post(
        f"/api/v1/incidents/{iid}/reporter/unmask", json=reason, headers=other_police
    )
    assert outside.status_code == 404
    police = world.as_("police", COMMUNE, subject="police-officer-7")
    short = await world.client.post(
        f"/api/v1/incidents/{iid}/reporter/unmask", json={"reason": "xem"}, headers=police
    )
    assert short.status_code == 422
    unmasked = await world.client.post(
        f"/api/v1/incidents/{iid}/reporter/unmask", json=reason, headers=police
    )
    assert unmasked.status_code == 200
    assert unmasked.json()["name"] == "Nguyễn Văn Hảo"
    assert unmasked.json()["phone"] == "+84912345678"
    trail = await world.client.get(f"/api/v1/incidents/{iid}/reporter/audit", headers=police)
    assert [(a["by"], a["reason"]) for a in trail.json()] == [
        ("police-officer-7", reason["reason"])
    ]
    events = await world.events(INCIDENTS.name, count=2)
    audit = [e for e in events if e["type"] == "vn.binhyen.incident.reporter_unmasked.v1"]
    assert len(audit) == 1 and audit[0]["data"]["actor"] == "police-officer-7"
    everything = json.dumps(events) + json.dumps(await world.events(INCIDENTS_PUBLIC.name))
    assert "Hảo" not in everything and "912345678" not in everything


async def test_tips_over_the_limit_get_429_with_retry_after_and_are_not_stored(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    settings = incidents_settings.model_copy(update={"tip_rate_limit": 3})
    async with running_world(settings, issuer) as world:
        for _ in range(3):
            await _tip(world)
        refused = await world.client.post("/api/v1/tips", json=report_body())
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        assert await world.rt.db["incidents"].count_documents({}) == 3
        keys = [d["_id"] async for d in world.rt.db["rate_limits"].find({})]
        assert keys and all("127.0.0.1" not in k and "testclient" not in k for k in keys)


async def test_a_signed_in_reporter_sees_only_their_own_reports(world: World) -> None:
    alice = world.as_("resident", HAMLET, subject="resident-alice")
    bob = world.as_("resident", HAMLET, subject="resident-bob")
    mine = await world.reported(alice)
    theirs = await world.reported(bob)
    own = await world.client.get(f"/api/v1/incidents/{mine['id']}", headers=alice)
    assert own.status_code == 200
    assert own.json()["reporter"]["is_you"] is True
    assert own.json()["assignee"] is None and own.json()["deadlines"] == []
    assert (
        await world.client.get(f"/api/v1/incidents/{theirs['id']}", headers=alice)
    ).status_code == 404
    listed = await world.client.get("/api/v1/incidents", headers=alice)
    assert [i["id"] for i in listed.json()["items"]] == [mine["id"]]
    assert (await world.act(mine["id"], "acknowledge", alice)).status_code == 403
