"""Idempotency-Key on reports and tips, against real servers.

A key belongs to its caller (a user's subject; a tipster's hashed address); a replay
is answered only to a caller still allowed to report in the incident's hamlet; the
same key with another body is a 422 and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    OTHER_HAMLET,
    World,
    report_body,
    running_world,
)
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import TestIssuer

REPORT = report_body()  # once: its occurred_at is part of what a retry must repeat
TIP = report_body(category="drugs", answers={"activity": "dealing"})


@pytest_asyncio.fixture
async def proxied(incidents_settings: Settings, issuer: TestIssuer) -> AsyncIterator[World]:
    """The world behind a proxy: tipsters are told apart by X-Forwarded-For."""
    settings = incidents_settings.model_copy(
        update={"trusted_proxies": ["127.0.0.1"], "tip_rate_limit": 100}
    )
    async with running_world(settings, issuer) as w:
        yield w


def _tipster(address: str, key: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "Idempotency-Key": key}


async def test_two_users_with_the_same_key_each_get_their_own_report(world: World) -> None:
    a = world.as_("hamlet_officer", HAMLET, subject="a") | {"Idempotency-Key": "k"}
    b = world.as_("hamlet_officer", HAMLET, subject="b") | {"Idempotency-Key": "k"}
    first = await world.client.post("/api/v1/incidents", json=REPORT, headers=a)
    other = await world.client.post(
        "/api/v1/incidents", json=REPORT | {"description": "Chuyện của B"}, headers=b
    )
    assert (first.status_code, other.status_code) == (201, 201), other.text
    assert first.json()["id"] != other.json()["id"]
    assert other.json()["reporter"]["is_you"] is True
    again = await world.client.post(
        "/api/v1/incidents", json=REPORT | {"description": "Chuyện của B"}, headers=b
    )
    assert (again.status_code, again.json()["id"]) == (200, other.json()["id"])
    assert await world.rt.db["incidents"].count_documents({}) == 2


async def test_two_tipsters_with_the_same_key_each_get_their_own_tip(proxied: World) -> None:
    first = await proxied.client.post(
        "/api/v1/tips", json=TIP, headers=_tipster("203.0.113.1", "k")
    )
    other = await proxied.client.post(
        "/api/v1/tips", json=TIP, headers=_tipster("203.0.113.2", "k")
    )
    assert (first.status_code, other.status_code) == (201, 201), other.text
    assert first.json()["incident_id"] != other.json()["incident_id"]
    assert first.json()["reply_token"] not in other.text
    again = await proxied.client.post(
        "/api/v1/tips", json=TIP, headers=_tipster("203.0.113.2", "k")
    )
    assert again.status_code == 200
    assert again.json()["reply_token"] == other.json()["reply_token"]
    assert await proxied.rt.db["incidents"].count_documents({}) == 2


async def test_a_replay_is_refused_to_a_user_no_longer_allowed_to_report_there(
    world: World,
) -> None:
    key = {"Idempotency-Key": "k"}
    officer = world.as_("hamlet_officer", HAMLET, subject="a") | key
    first = await world.client.post("/api/v1/incidents", json=REPORT, headers=officer)
    assert first.status_code == 201, first.text
    # The same account now only reads the commune's units (403), or is elsewhere (422).
    for grant, status in ((("agency", COMMUNE), 403), (("hamlet_officer", OTHER_HAMLET), 422)):
        replay = await world.client.post(
            "/api/v1/incidents",
            json=REPORT,
            headers=world.headers(grant, subject="a") | key,
        )
        assert replay.status_code == status, replay.text
        assert replay.headers["content-type"] == "application/problem+json"
        assert first.json()["id"] not in replay.text


async def test_the_same_key_with_another_body_writes_nothing(proxied: World) -> None:
    officer = proxied.as_("hamlet_officer", HAMLET) | {"Idempotency-Key": "k"}
    tipster = _tipster("203.0.113.1", "k")
    for url, body, headers in (
        ("/api/v1/incidents", REPORT, officer),
        ("/api/v1/tips", TIP, tipster),
    ):
        assert (await proxied.client.post(url, json=body, headers=headers)).status_code == 201
        other = await proxied.client.post(
            url, json=body | {"description": "Một chuyện khác"}, headers=headers
        )
        assert other.status_code == 422, other.text
        assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]
    assert await proxied.rt.db["incidents"].count_documents({}) == 2


async def test_twenty_concurrent_tips_with_one_key_file_one_tip(proxied: World) -> None:
    headers = _tipster("203.0.113.1", "k")
    answers = await asyncio.gather(
        *(proxied.client.post("/api/v1/tips", json=TIP, headers=headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201]
    assert len({r.json()["incident_id"] for r in answers}) == 1
    assert len({r.json()["reply_token"] for r in answers}) == 1
    assert await proxied.rt.db["incidents"].count_documents({}) == 1
