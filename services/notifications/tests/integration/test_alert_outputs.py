"""What alerts give the world: valid CAP 1.2, an Atom feed, a public topic without personal data;
Update and Cancel of a gong; delivery reports that must be signed."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from binhyen.contracts.topics import NOTIFICATIONS_PUBLIC
from binhyen.kit.testing import TestIssuer, outboxes_empty, read_topic
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.domain import cap
from binhyen.notifications.sample_world import HAMLET, HAMLET2, RESIDENTS, World, running_world
from binhyen.notifications.service import alerts
from binhyen.notifications.settings import Settings

NAMES = [name for _, _, name, _, _ in RESIDENTS]
PHONES = [phone for _, _, _, phone, _ in RESIDENTS]


async def _incident_alert(world: World) -> str:
    occ = alerts.Occurrence(
        kind="deadline_missed",
        source_id="event-deadline-1",
        hamlet_ids=[HAMLET],
        paths={HAMLET: ["p-hatinh", "d-kyanh", "c-kynam", HAMLET]},
        severity="high",
        incident_id="inc-cap",
        category="traffic_violation",
        group="traffic",
        address="Ngã ba chợ, nhà ông Nguyễn Văn Hùng",
    )
    [alert_id] = await alerts.raise_for(world.ctx, occ)
    return alert_id


async def test_every_alert_is_valid_cap_and_the_public_feed_names_no_one(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("commune_officer", "c-kynam")
        gong = await world.strike(
            headers=officer,
            hamlet_ids=[HAMLET, HAMLET2],
            headline_en="Fire drill in Tân Thành",
            description_en="Drill: a fire at the hamlet's cultural house.",
        )
        assert gong.status_code == 201, gong.text
        ids = [gong.json()["id"], await _incident_alert(world)]
        for alert_id in ids:
            xml = await world.client.get(f"/api/v1/alerts/{alert_id}/cap.xml", headers=officer)
            assert xml.status_code == 200 and xml.headers["content-type"].startswith(
                "application/xml"
            )
            assert cap.validate(xml.content) == []
            stored = await world.ctx.stores.alerts.get(alert_id)
            assert stored is not None
            from binhyen.notifications.service import reports

            assert cap.google_rules(reports.cap_alert(world.ctx, stored)) == []
            root = etree.fromstring(xml.content)
            languages = root.findall(".//{urn:oasis:names:tc:emergency:cap:1.2}language")
            assert len({el.text for el in languages}) == len(languages)  # one info per language
        feed = await world.client.get("/alerts.atom")
        assert feed.status_code == 200
        atom = "{http://www.w3.org/2005/Atom}"
        [entry] = etree.fromstring(feed.content).findall(f"{atom}entry")  # the drill is left out
        link = entry.find(f"{atom}link").get("href")
        assert link.endswith(f"/alerts/{ids[1]}.xml")
        public = await world.client.get(link.split("8003", 1)[-1])  # no token: public
        assert public.status_code == 200 and cap.validate(public.content) == []
        page = await world.client.get(f"/alerts/{ids[1]}")
        assert page.status_code == 200 and "Vi phạm trật tự an toàn giao thông" in page.text
        assert (await world.client.get(f"/alerts/{ids[0]}.xml")).status_code == 404  # a drill

        db = world.rt.db
        await eventually(lambda: outboxes_empty(db["alerts"]), what="alert events relayed")
        records = await read_topic(
            notifications_settings.kafka_bootstrap,
            notifications_settings.topic(NOTIFICATIONS_PUBLIC.name),
            until=lambda rs: len(rs) >= 2,
        )
        text = " ".join(r.value.decode() for r in records if r.value)
        for secret in [*NAMES, *PHONES, *(p.removeprefix("+84") for p in PHONES), "Ngã ba chợ"]:
            assert secret not in text
        assert all(
            json.loads(r.value)["type"].endswith("alert.public.v1") for r in records if r.value
        )


async def test_a_gong_is_updated_then_cancelled_and_everyone_reached_is_told(
    notifications_settings: Settings, issuer: TestIssuer, fake_gateway: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("hamlet_officer", HAMLET)
        first = (await world.strike(headers=officer, status="Actual")).json()
        update = await world.strike(
            headers=officer,
            status="Actual",
            msg_type="Update",
            references=[first["id"]],
            headline_vi="Cập nhật: đám cháy đã được khống chế",
        )
        assert update.status_code == 201, update.text
        old = await world.client.get(f"/api/v1/alerts/{first['id']}", headers=officer)
        assert old.json()["status"] == "closed" and old.json()["closed_reason"] == "updated"
        xml = await world.client.get(
            f"/api/v1/alerts/{update.json()['id']}/cap.xml", headers=officer
        )
        assert cap.validate(xml.content) == []
        assert f"urn:uuid:{first['id']}" in xml.text  # <references> names the first alert

        async def delivered_update() -> bool:
            found = world.ctx.stores.deliveries.collection.find({"alert_id": update.json()["id"]})
            return len([d async for d in found if d["status"] == "sent"]) >= 5

        await eventually(delivered_update, what="the update sent")
        await world.ctx.stores.recipients.collection.update_many(
            {"alert_id": update.json()["id"]}, {"$set": {"delivered_at": world.ctx.clock.now()}}
        )
        cancel = await world.strike(
            headers=officer, status="Actual", msg_type="Cancel", references=[update.json()["id"]]
        )
        assert cancel.status_code == 201, cancel.text
        assert cancel.json()["status"] == "closed"

        async def told() -> int:
            found = world.ctx.stores.deliveries.collection.find(
                {"alert_id": cancel.json()["id"], "wave": "cancel"}
            )
            return len([d async for d in found])

        assert await eventually(told, what="the cancel sent") == 5
        again = await world.strike(
            headers=officer, status="Actual", msg_type="Cancel", references=[update.json()["id"]]
        )
        assert again.status_code == 409
        unknown = await world.strike(
            headers=officer, status="Actual", msg_type="Update", references=["no-such-alert"]
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "references.0"


async def test_a_delivery_report_counts_only_when_signed(
    notifications_settings: Settings, issuer: TestIssuer, fake_gateway: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        alert = (await world.strike()).json()

        async def sent() -> list[dict[str, Any]]:
            found = world.ctx.stores.deliveries.collection.find({"alert_id": alert["id"]})
            return [d async for d in found if d["status"] == "sent"]

        [delivery, *_] = await eventually(sent, what="SMS sent")
        settings = notifications_settings
        assert settings.sms_callback_secret is not None
        secret = settings.sms_callback_secret.get_secret_value()
        forged = await world.client.get(
            "/callbacks/sms",
            params={"SMSID": delivery["provider_id"], "SendStatus": "5", "token": "wrong"},
        )
        assert forged.status_code == 401
        assert (await world.ctx.stores.deliveries.get(delivery["_id"]) or {})["status"] == "sent"
        good = await world.client.get(
            "/callbacks/sms",
            params={
                "SMSID": delivery["provider_id"],
                "RequestId": delivery["_id"],
                "SendStatus": "5",
                "token": secret,
            },
        )
        assert good.status_code == 200, good.text
        assert (await world.ctx.stores.deliveries.get(delivery["_id"]) or {})[
            "status"
        ] == "delivered"
        reach = await world.client.get(
            f"/api/v1/alerts/{alert['id']}", headers=world.as_("hamlet_officer", HAMLET)
        )
        assert reach.json()["reach"]["delivered"] == 1
