"""Rate limits count the real client: a forged X-Forwarded-For does not reset them."""

from __future__ import annotations

from binhyen.incidents.sample_world import report_body, running_world
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import TestIssuer

TIP = report_body(category="drugs", answers={"activity": "dealing"})


async def test_a_forged_forwarded_for_does_not_bypass_the_tip_limit(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    # As deployed on k8s: TRUST_FORWARDED_FOR=true behind the ingress (a private address).
    settings = Settings.model_validate(
        incidents_settings.model_dump() | {"trust_forwarded_for": True, "tip_rate_limit": 3}
    )
    async with running_world(settings, issuer) as world:
        answers = []
        for n in range(5):
            # The client writes anything on the left; the ingress appends the real peer.
            forwarded = f"10.9.8.{n}, 198.51.100.{n}, 203.0.113.50"
            answer = await world.client.post(
                "/api/v1/tips", json=TIP, headers={"X-Forwarded-For": forwarded}
            )
            answers.append(answer.status_code)
        other = await world.client.post(
            "/api/v1/tips", json=TIP, headers={"X-Forwarded-For": "203.0.113.51"}
        )
    assert answers == [201, 201, 201, 429, 429]
    assert other.status_code == 201  # another client has its own window


async def test_forwarded_for_is_ignored_unless_proxies_are_trusted(
    incidents_settings: Settings, issuer: TestIssuer
) -> None:
    settings = incidents_settings.model_copy(update={"tip_rate_limit": 2})
    async with running_world(settings, issuer) as world:
        answers = [
            (
                await world.client.post(
                    "/api/v1/tips", json=TIP, headers={"X-Forwarded-For": f"198.51.100.{n}"}
                )
            ).status_code
            for n in range(3)
        ]
    assert answers == [201, 201, 429]
