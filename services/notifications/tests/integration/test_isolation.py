"""One slow endpoint never holds up the others; a gone endpoint is disabled; SSRF is refused."""

from __future__ import annotations

from typing import Any

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import COMMUNE, HAMLET, running_world
from binhyen.notifications.settings import Settings

GONG_POLICY: dict[str, Any] = {
    "unit_id": HAMLET,
    "name": "Tân Thành: kẻng tới các hệ thống của xã",
    "triggers": [{"kind": "manual"}],
    "steps": [{"delay_seconds": 0, "targets": [{"kind": "endpoints"}]}],
    "channels": ["webhook"],
    "templates": {"vi": {"headline": "{{ event }}", "text": "{{ event }}", "body": "{{ event }}"}},
}
FAST = 19
STRIKES = 5
SLOW_SECONDS = 15.0  # far beyond what the fast deliveries need, even on a busy machine


async def test_a_slow_endpoint_does_not_delay_the_others(
    notifications_settings: Settings, issuer: TestIssuer, receivers: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("commune_officer", COMMUNE)
        made = await world.client.post("/api/v1/policies", json=GONG_POLICY, headers=officer)
        assert made.status_code == 201, made.text
        with receivers.webhook_receiver() as receiver:
            receiver.respond("/slow", 200, delay=SLOW_SECONDS)
            for path in ["/slow", *(f"/fast-{i}" for i in range(FAST))]:
                added = await world.client.post(
                    "/api/v1/endpoints",
                    json={"unit_id": COMMUNE, "name": path, "url": receiver.url + path},
                    headers=officer,
                )
                assert added.status_code == 201, added.text
                receiver.secrets.append(added.json()["secret"])
            for _ in range(STRIKES):
                struck = await world.strike(headers=officer)
                assert struck.status_code == 201, struck.text

            def fast() -> list[Any]:
                return [r for r in receiver.requests if r.path.startswith("/fast-")]

            await eventually(lambda: len(fast()) == FAST * STRIKES, what="every fast delivery")
            slow = receiver.to("/slow")
            assert slow, "the slow endpoint was sent to"
            # Every fast endpoint had all its deliveries before the slow one answered once.
            first_slow_answer = min(r.at for r in slow) + SLOW_SECONDS
            assert max(r.at for r in fast()) < first_slow_answer
            assert all(r.verified == "ok" for r in fast())


async def test_an_endpoint_answering_410_is_disabled_and_private_addresses_are_refused(
    notifications_settings: Settings, issuer: TestIssuer, receivers: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("commune_officer", COMMUNE)
        made = await world.client.post("/api/v1/policies", json=GONG_POLICY, headers=officer)
        assert made.status_code == 201, made.text
        with receivers.webhook_receiver() as receiver:
            receiver.respond("/gone", 410)
            added = await world.client.post(
                "/api/v1/endpoints",
                json={"unit_id": COMMUNE, "name": "cũ", "url": receiver.url + "/gone"},
                headers=officer,
            )
            endpoint_id = added.json()["id"]
            assert (await world.strike(headers=officer)).status_code == 201

            async def disabled() -> bool:
                listed = await world.client.get(
                    "/api/v1/endpoints", params={"unit_id": COMMUNE}, headers=officer
                )
                [found] = [e for e in listed.json() if e["id"] == endpoint_id]
                return found["enabled"] is False and found["disabled_reason"] == "gone"

            await eventually(disabled, what="the endpoint disabled")
            assert (await world.strike(headers=officer)).status_code == 201
            assert len(receiver.to("/gone")) == 1  # nothing more after 410 Gone

    production = notifications_settings.model_copy(update={"allow_private_targets": False})
    async with running_world(production, issuer) as world:
        officer = world.as_("commune_officer", COMMUNE)
        for url in (
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "ftp://example.com/hook",
            "http://user:pw@example.com/hook",
        ):
            refused = await world.client.post(
                "/api/v1/endpoints",
                json={"unit_id": COMMUNE, "name": "x", "url": url},
                headers=officer,
            )
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["errors"][0]["field"] == "url", url
        listed = await world.client.get(
            "/api/v1/endpoints", params={"unit_id": COMMUNE}, headers=officer
        )
        assert all(e["name"] != "x" for e in listed.json())  # nothing was written
