"""The public topic carries category, severity, status, hamlet and time: nothing personal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from binhyen.contracts.topics import INCIDENTS_PUBLIC
from binhyen.incidents.sample_world import COMMUNE, HAMLET, SPOT, TEAM, World, report_body

NAME, PHONE, ADDRESS = "Lê Thị Hoa", "0987654321", "Số 12 ngõ 3 xóm Bắc"
ALLOWED = {
    "incident_id",
    "hamlet_id",
    "category",
    "severity",
    "status",
    "occurred_at",
    "status_at",
    "sequence",  # the incident's sequence number, for dropping stale events
}


async def test_nothing_personal_or_free_text_reaches_the_public_topic(world: World) -> None:
    officer = world.as_("commune_officer", COMMUNE, subject="officer-nguyen-van-a")
    description = f"Bà {NAME} ({PHONE}) bị giật túi xách trước {ADDRESS}"
    signed = await world.reported(officer, description=description, address=ADDRESS)
    tip = await world.client.post(
        "/api/v1/tips",
        json=report_body(
            description=f"Nhà {NAME} có người bán ma túy",
            category="drugs",
            answers={"activity": "dealing"},
            contact={"name": NAME, "phone": PHONE, "note": "chỉ gọi buổi tối"},
        ),
    )
    tip_id = tip.json()["incident_id"]
    dispute = await world.reported(
        officer,
        category="land_dispute",
        answers={"parties": 2},
        description=f"{NAME} tranh chấp đất với hàng xóm",
    )
    for iid in (signed["id"], tip_id, dispute["id"]):
        assert (await world.act(iid, "acknowledge", officer, reason="đã nhận")).status_code == 200
    await world.act(signed["id"], "assign", officer, assignee={"team_id": TEAM})
    await world.act(signed["id"], "start", officer)
    await world.act(signed["id"], "resolve", officer, reason=f"Đã trả lại túi cho {NAME}")
    await world.client.post(
        f"/api/v1/incidents/{tip_id}/messages", json={"text": f"Chị {NAME} ơi?"}, headers=officer
    )
    await world.act(
        tip_id,
        "escalate",
        officer,
        reason=f"Chuyển công an theo tin của {NAME}",
        handoff={"to_name": "Công an xã Kỳ Nam", "summary": f"Tin báo về nhà {NAME}"},
    )
    await world.client.post(
        f"/api/v1/incidents/{tip_id}/reporter/unmask",
        json={"reason": f"Cần gặp {NAME} để lấy lời khai"},
        headers=world.as_("police", COMMUNE),
    )
    events = await world.events(INCIDENTS_PUBLIC.name, count=9)
    assert len(events) >= 9
    raw = json.dumps(events, ensure_ascii=False)
    for secret in (
        NAME,
        PHONE,
        ADDRESS,
        "officer-nguyen-van-a",
        "giật túi",
        "ma túy",
        "Đã trả",
        str(SPOT[0]),
        str(SPOT[1]),
        "stolen_items",
        "answers",
        "description",
    ):
        assert secret not in raw, secret
    for event in events:
        assert set(event["data"]) == ALLOWED, event["data"].keys()
        assert event["data"]["hamlet_id"] == HAMLET
        occurred = datetime.fromisoformat(event["data"]["occurred_at"])
        assert (occurred.minute, occurred.second, occurred.microsecond) == (0, 0, 0)
        assert set(event) <= {
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "data",
            "sequence",
        }
        assert event["sequence"] == str(event["data"]["sequence"]).zfill(20)
    statuses = [e["data"]["status"] for e in events if e["subject"] == signed["id"]]
    assert statuses == ["reported", "acknowledged", "assigned", "in_progress", "resolved"]
    # In offset order, each incident's sequence numbers only grow (a repeated delivery of
    # one event, which at-least-once allows, is not a new event).
    first_seen: dict[str, dict[str, Any]] = {}
    for event in events:
        first_seen.setdefault(event["id"], event)
    for subject in {e["subject"] for e in events}:
        numbers = [e["data"]["sequence"] for e in first_seen.values() if e["subject"] == subject]
        assert numbers == sorted(set(numbers)), (subject, numbers)
