"""The acknowledgement page offers Web Push where it is configured; subscriptions are checked."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.channels.webpush import generate_vapid_keys
from binhyen.notifications.sample_world import LEADER, running_world
from binhyen.notifications.settings import Settings


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _browser_keys() -> dict[str, str]:
    """What a browser's subscription carries: its P-256 public key and an auth secret."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": _b64(point), "auth": _b64(os.urandom(16))}


async def test_the_page_offers_push_and_keeps_a_checked_subscription(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    keys = generate_vapid_keys()
    settings = notifications_settings.model_copy(update={"vapid_private_key": keys.private_key})
    settings = Settings.model_validate(settings.model_dump())  # as from the environment
    async with running_world(settings, issuer) as world:
        alert = (await world.strike()).json()
        rkey = f"resident:{LEADER}"
        recipient = await eventually(
            lambda: world.ctx.stores.recipients.get(alert["id"], rkey), what="the recipient"
        )
        assert recipient is not None
        token = recipient["link"]
        page = await world.client.get(f"/a/{token}")
        assert page.status_code == 200
        assert f'data-key="{keys.public_key}"' in page.text
        assert '<script src="/a/push.js">' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        script = await world.client.get("/a/push.js")
        worker = await world.client.get("/a/sw.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "pushManager.subscribe" in script.text and "showNotification" in worker.text

        subscription = {"keys": _browser_keys()}
        elsewhere = await world.client.post(
            f"/a/{token}/push",
            json={**subscription, "endpoint": "https://attacker.example/push/1"},
        )
        assert elsewhere.status_code == 422
        assert elsewhere.json()["errors"][0]["field"] == "subscription"
        kept = await world.client.post(
            f"/a/{token}/push",
            json={**subscription, "endpoint": "https://fcm.googleapis.com/fcm/send/abc"},
        )
        assert kept.status_code == 201, kept.text
        assert await world.ctx.stores.push.of([rkey]) != {}
        forged = await world.client.post(
            f"/a/{token[:-3]}AAA/push",
            json={**subscription, "endpoint": "https://fcm.googleapis.com/fcm/send/abc"},
        )
        assert forged.status_code == 404
