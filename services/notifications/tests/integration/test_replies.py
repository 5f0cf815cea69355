"""An SMS reply "OK <code>" acknowledges, when the provider's callback is signed (SpeedSMS)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import DEPUTY, HAMLET, RESIDENTS, running_world
from binhyen.notifications.settings import Settings

SPEEDSMS_PATH = "/index.php/sms/send"
DEPUTY_PHONE = next(phone for pid, _, _, phone, _ in RESIDENTS if pid == DEPUTY)


async def test_an_sms_reply_with_the_code_acknowledges_and_a_forged_one_does_not(
    notifications_settings: Settings,
    issuer: TestIssuer,
    fake_gateway: Any,
    gateway_credentials: dict[str, str],
) -> None:
    settings = notifications_settings.model_copy(
        update={
            "sms_profile": "speedsms",
            "sms_url": fake_gateway.url(SPEEDSMS_PATH),
            "sms_secrets": {"access_token": gateway_credentials["speedsms_token"]},
        }
    )
    assert settings.sms_callback_secret is not None
    secret = settings.sms_callback_secret.get_secret_value()
    async with running_world(settings, issuer) as world:
        alert = (await world.strike()).json()
        rkey = f"resident:{DEPUTY}"

        async def sent() -> bool:
            found = await world.ctx.stores.deliveries.collection.find_one(
                {"alert_id": alert["id"], "rkey": rkey, "status": "sent"}
            )
            return found is not None

        await eventually(sent, what="the deputy's SMS")
        recipient = await world.ctx.stores.recipients.get(alert["id"], rkey)
        assert recipient is not None
        code = recipient["code"]

        async def reply(text: str, *, signed_with: str) -> Any:
            # The sandbox provider signs the reply as SpeedSMS does and posts it to a capture
            # path of its own; the test hands that exact request to the service.
            mark = uuid.uuid4().hex
            fake_gateway.post(
                "/_inbound",
                {
                    "profile": "speedsms",
                    "url": fake_gateway.url(f"/_capture/{mark}"),
                    "secret": signed_with,
                    "phone": "84" + DEPUTY_PHONE.removeprefix("+84"),
                    "text": text,
                },
            )
            [captured] = [c for c in fake_gateway.captured() if c["path"].endswith(mark)]
            headers = {
                k: v
                for k, v in captured["headers"].items()
                if k.lower().startswith(("x-", "content-type"))
            }
            return await world.client.post(
                "/callbacks/sms", content=base64.b64decode(captured["body"]), headers=headers
            )

        forged = await reply(f"OK {code}", signed_with="not-our-secret")
        assert forged.status_code == 401
        assert (await world.ctx.stores.recipients.get(alert["id"], rkey) or {}).get(
            "acked_at"
        ) is None
        wrong = await reply("OK 000000" if code != "000000" else "OK 111111", signed_with=secret)
        assert wrong.status_code == 200 and wrong.json()["handled"] == "reply-unmatched"
        good = await reply(f"ok {code}", signed_with=secret)
        assert good.status_code == 200 and good.json()["handled"] == "ack", good.text
        answered = await world.ctx.stores.recipients.get(alert["id"], rkey)
        assert answered is not None and answered["acked_at"] is not None
        officer = world.as_("hamlet_officer", HAMLET)
        state = await world.client.get(f"/api/v1/alerts/{alert['id']}", headers=officer)
        assert state.json()["reach"]["acknowledged"] == 1
