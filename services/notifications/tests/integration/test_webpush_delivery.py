"""The Web Push channel against a push service process that checks VAPID and decrypts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from binhyen.kit.testing.servers import load_module
from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.webpush import (
    WebPushChannel,
    WebPushConfig,
    generate_vapid_keys,
    vapid_public_key,
)

push_service = load_module(Path(__file__).parents[1] / "push_service.py")
KEYS = generate_vapid_keys()


def _config(private_key: str = KEYS.private_key) -> WebPushConfig:
    return WebPushConfig(
        vapid_private_key=private_key,
        vapid_subject="mailto:ops@xa-ky-nam.gov.vn",
        push_hosts=("127.0.0.1",),
        allow_http=True,
        timeout_seconds=5,
    )


@pytest.fixture(scope="module")
def service() -> Iterator[Any]:
    with push_service.PushService() as running:
        yield running


@pytest.fixture
async def channel() -> AsyncIterator[WebPushChannel]:
    channel = WebPushChannel(_config())
    yield channel
    await channel.aclose()


def _message(
    subscription: Any, *, critical: bool = False, delivery_id: str = "al-9.res-1.push"
) -> Message:
    return Message(
        delivery_id=delivery_id,
        alert_id="al-9",
        target={"subscription": subscription.json()},
        language="vi",
        subject="Khẩn cấp: lũ quét ở thôn Tân Thành",
        text="Nước lên nhanh ở suối Tân Thành. Di chuyển lên nhà văn hoá ngay.",
        body="(e-mail body)",
        ack_url="http://127.0.0.1:8003/a/tok",
        critical=critical,
        ttl_seconds=900,
    )


async def test_the_delivered_payload_decrypts_to_the_message(
    service: Any, channel: WebPushChannel
) -> None:
    subscription = service.subscribe(vapid_public_key(_config()))
    result = await channel.send(_message(subscription))
    assert result.outcome is Outcome.SENT
    assert result.provider_id and result.provider_id.startswith(service.origin + "/message/")
    [record] = service.received(subscription)
    shown = json.loads(record["plaintext"])
    assert shown["title"] == "Khẩn cấp: lũ quét ở thôn Tân Thành"
    assert shown["body"] == "Nước lên nhanh ở suối Tân Thành. Di chuyển lên nhà văn hoá ngay."
    assert shown["url"] == "http://127.0.0.1:8003/a/tok"
    assert shown["alert_id"] == "al-9"
    # What crossed the push service was ciphertext, not the text.
    assert record["body_bytes"] > len(record["plaintext"].encode())


async def test_ttl_and_normal_urgency_are_passed(service: Any, channel: WebPushChannel) -> None:
    subscription = service.subscribe(vapid_public_key(_config()))
    assert (await channel.send(_message(subscription))).outcome is Outcome.SENT
    [record] = service.received(subscription)
    assert record["ttl"] == 900
    assert record["urgency"] == "normal"


async def test_a_critical_alert_is_pushed_with_high_urgency(
    service: Any, channel: WebPushChannel
) -> None:
    subscription = service.subscribe(vapid_public_key(_config()))
    assert (await channel.send(_message(subscription, critical=True))).outcome is Outcome.SENT
    [record] = service.received(subscription)
    assert record["urgency"] == "high"
    assert json.loads(record["plaintext"])["critical"] is True


async def test_a_resend_replaces_the_pending_message_instead_of_adding_one(
    service: Any, channel: WebPushChannel
) -> None:
    subscription = service.subscribe(vapid_public_key(_config()))
    for delivery_id in ("al-9.res-1.push", "al-9.res-1.push", "al-10.res-1.push"):
        assert (
            await channel.send(_message(subscription, delivery_id=delivery_id))
        ).outcome is Outcome.SENT
    received = service.received(subscription)
    assert len(received) == 3
    assert received[0]["topic"] == received[1]["topic"] != received[2]["topic"]
    assert len(service.pending(subscription)) == 2


async def test_an_expired_subscription_410_is_gone(service: Any, channel: WebPushChannel) -> None:
    subscription = service.subscribe(vapid_public_key(_config()), status=410)
    result = await channel.send(_message(subscription))
    assert (result.outcome, result.error_code) == (Outcome.GONE, "http_410")


async def test_a_busy_push_service_asks_for_a_retry_after_its_delay(
    service: Any, channel: WebPushChannel
) -> None:
    subscription = service.subscribe(vapid_public_key(_config()), status=429, retry_after="17")
    result = await channel.send(_message(subscription))
    assert (result.outcome, result.error_code, result.retry_after) == (
        Outcome.RETRY,
        "http_429",
        17.0,
    )


async def test_a_push_signed_with_another_vapid_key_is_refused(service: Any) -> None:
    subscription = service.subscribe(vapid_public_key(_config()))
    impostor = WebPushChannel(_config(generate_vapid_keys().private_key))
    try:
        result = await impostor.send(_message(subscription))
    finally:
        await impostor.aclose()
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "http_403")
    assert service.received(subscription) == []


async def test_a_forged_vapid_token_is_refused(service: Any) -> None:
    """The service verifies the JWT itself: our key named in ``k``, signed by another."""
    import httpx

    subscription = service.subscribe(vapid_public_key(_config()))
    honest = WebPushChannel(_config())
    forger = WebPushChannel(_config(generate_vapid_keys().private_key))
    endpoint = subscription.info["endpoint"]
    token = forger._authorization(endpoint).split("t=", 1)[1].split(",", 1)[0]
    key = honest._authorization(endpoint).split("k=", 1)[1]
    await honest.aclose()
    await forger.aclose()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            endpoint,
            content=b"x",
            headers={"Authorization": f"vapid t={token},k={key}", "TTL": "60"},
        )
    assert answer.status_code == 401
    assert service.received(subscription) == []


async def test_a_push_service_that_is_down_asks_for_a_retry() -> None:
    with push_service.PushService() as gone:
        subscription = gone.subscribe(vapid_public_key(_config()))
    channel = WebPushChannel(_config())
    try:
        result = await channel.send(_message(subscription))
    finally:
        await channel.aclose()
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "connection_error")
