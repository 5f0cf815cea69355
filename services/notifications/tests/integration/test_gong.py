"""The manual gong end to end: strike, the right people get one SMS each, they answer."""

from __future__ import annotations

from typing import Any

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import (
    HAMLET,
    OTHER_HAMLET,
    RESIDENTS,
    running_world,
)
from binhyen.notifications.settings import Settings

CONSENTING = {phone for _, _, _, phone, consent in RESIDENTS if consent}
REFUSING = {phone for _, _, _, phone, consent in RESIDENTS if not consent}


def national(phone: str) -> str:
    """How eSMS is sent a number (0 + national)."""
    return "0" + phone.removeprefix("+84")


async def test_a_drill_reaches_every_consenting_resident_once_and_counts_answers(
    notifications_settings: Settings, issuer: TestIssuer, fake_gateway: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        struck = await world.strike()
        assert struck.status_code == 201, struck.text
        alert = struck.json()
        assert alert["cap_status"] == "Exercise" and alert["msg_type"] == "Alert"

        async def sent_to() -> dict[str, list[dict[str, Any]]]:
            found = world.ctx.stores.deliveries.collection.find({"alert_id": alert["id"]})
            ours = {d["_id"] async for d in found}
            by_phone: dict[str, list[dict[str, Any]]] = {}
            for m in fake_gateway.inbox()["messages"]:
                if m["our_id"] in ours:
                    by_phone.setdefault(m["phone"], []).append(m)
            return by_phone

        wanted = {national(p) for p in CONSENTING}

        async def everyone() -> bool:
            return wanted <= set(await sent_to())

        await eventually(everyone, what="an SMS to every consenting resident")
        received = await sent_to()
        assert all(len(v) == 1 for k, v in received.items() if k in wanted)
        assert not {national(p) for p in REFUSING} & set(received)
        text = received[national(RESIDENTS[0][3])][0]["content"]
        assert text.startswith("[DIỄN TẬP]") and "/a/" in text

        token = text.split("/a/")[1].split()[0]
        page = await world.client.get(f"/a/{token}")
        assert page.status_code == 200 and "Tôi đang đến" in page.text
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert "<script" not in page.text  # no push configured here: no script at all
        answered = await world.client.post(f"/a/{token}", data={"answer": "coming"})
        assert answered.status_code == 303
        again = await world.client.post(f"/a/{token}", data={"answer": "received"})
        assert again.status_code == 409
        forged = await world.client.get(f"/a/{token[:-2]}xx")
        assert forged.status_code == 404

        officer = world.as_("hamlet_officer", HAMLET)
        report = await world.client.get(f"/api/v1/alerts/{alert['id']}/report", headers=officer)
        assert report.status_code == 200, report.text
        [hamlet] = report.json()["hamlets"]
        assert hamlet["recipients"] == len(CONSENTING)
        assert hamlet["acknowledged"] == 1
        assert hamlet["seconds_to_first_ack"] is not None
        assert hamlet["not_answered"] == len(CONSENTING) - 1
        assert len(hamlet["not_answered_names"]) == len(CONSENTING) - 1

        records = await world.client.get(
            f"/api/v1/alerts/{alert['id']}/deliveries", headers=officer
        )
        assert records.status_code == 200
        assert {r["status"] for r in records.json()} <= {"sent", "acknowledged", "delivered"}
        assert len(records.json()) == len(CONSENTING)
        assert not any(p in records.text for p in CONSENTING)  # ids, never phones
        team = world.as_("team_member", HAMLET)
        hidden = await world.client.get(f"/api/v1/alerts/{alert['id']}/report", headers=team)
        assert hidden.status_code == 404
        elsewhere = world.as_("hamlet_officer", OTHER_HAMLET)
        refused = await world.strike(headers=elsewhere)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "hamlet_ids.0"
