"""The webhook channel against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any

import pytest

from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.breaker import CircuitBreaker, State
from binhyen.notifications.channels.webhook import WebhookChannel, WebhookConfig, new_secret
from services.notifications.tests.receivers import webhook_receiver

PAYLOAD: dict[str, Any] = {"type": "alert.raised", "data": {"headline": "Cháy ở thôn Tân Thành"}}
SECRET = new_secret()

MakeMessage = Callable[..., Message]


def message(url: str, *, delivery_id: str = "dlv-1", **target: str) -> Message:
    """A webhook message to ``url`` signed with SECRET unless the target says otherwise."""
    return Message(
        delivery_id=delivery_id,
        alert_id="alert-1",
        target={"url": url, "secret": SECRET, **target},
        language="vi",
        subject="Cháy",
        text="Cháy",
        body="Cháy",
        payload=PAYLOAD,
    )


@pytest.fixture
async def channel() -> AsyncIterator[WebhookChannel]:
    webhook = WebhookChannel(WebhookConfig(allow_private=True, timeout_seconds=5))
    yield webhook
    await webhook.aclose()


async def test_a_2xx_is_delivered_signed_per_the_spec(channel: WebhookChannel) -> None:
    with webhook_receiver(secrets=[SECRET]) as receiver:
        before = int(time.time())
        result = await channel.send(message(f"{receiver.url}/hook?x=1"))
        assert result.outcome is Outcome.DELIVERED
        [got] = receiver.requests
    assert got.verified == "ok"
    assert got.method == "POST"
    assert got.webhook_id == "dlv-1"
    assert got.headers["content-type"] == "application/json"
    assert before <= int(got.headers["webhook-timestamp"]) <= int(time.time())
    assert got.body == json.dumps(PAYLOAD, ensure_ascii=False, separators=(",", ":")).encode()
    assert got.json() == PAYLOAD


async def test_the_same_delivery_id_is_deduplicated_by_the_receiver(
    channel: WebhookChannel,
) -> None:
    with webhook_receiver(secrets=[SECRET]) as receiver:
        for _ in range(2):
            assert (await channel.send(message(f"{receiver.url}/h"))).outcome is Outcome.DELIVERED
        assert receiver.receipts == 2
        assert list(receiver.deliveries) == ["dlv-1"]


async def test_a_rotation_signs_with_both_secrets(channel: WebhookChannel) -> None:
    previous = new_secret()
    with (
        webhook_receiver(secrets=[previous]) as old_side,
        webhook_receiver(secrets=[SECRET]) as new_side,
    ):
        for receiver in (old_side, new_side):
            url = f"{receiver.url}/h"
            result = await channel.send(message(url, secret_previous=previous))
            assert result.outcome is Outcome.DELIVERED
            [got] = receiver.requests
            assert got.verified == "ok"
            assert len(got.headers["webhook-signature"].split(" ")) == 2


async def test_a_wrong_secret_fails_verification_at_the_receiver(channel: WebhookChannel) -> None:
    with webhook_receiver(secrets=[new_secret()]) as receiver:
        result = await channel.send(message(f"{receiver.url}/h"))
        assert result.outcome is Outcome.FAILED  # the receiver answers 401
        assert result.error_code == "http_401"
        assert receiver.requests[0].verified == "no_matching_signature"


async def test_410_means_gone(channel: WebhookChannel) -> None:
    with webhook_receiver() as receiver:
        receiver.respond("/h", 410)
        result = await channel.send(message(f"{receiver.url}/h"))
    assert result.outcome is Outcome.GONE
    assert result.error_code == "http_410"


async def test_503_with_retry_after_is_retried_after_that_many_seconds(
    channel: WebhookChannel,
) -> None:
    with webhook_receiver() as receiver:
        receiver.respond("/h", 503, headers={"Retry-After": "7"})
        result = await channel.send(message(f"{receiver.url}/h"))
    assert result.outcome is Outcome.RETRY
    assert result.error_code == "http_503"
    assert result.retry_after == 7


async def test_429_with_an_http_date_retry_after_is_honoured_and_capped() -> None:
    channel = WebhookChannel(WebhookConfig(allow_private=True, retry_after_max_seconds=60))
    try:
        with webhook_receiver() as receiver:
            receiver.respond(
                "/soon", 429, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)}
            )
            receiver.respond(
                "/late", 429, headers={"Retry-After": formatdate(time.time() + 900, usegmt=True)}
            )
            soon = await channel.send(message(f"{receiver.url}/soon"))
            late = await channel.send(message(f"{receiver.url}/late"))
    finally:
        await channel.aclose()
    assert soon.outcome is Outcome.RETRY
    assert soon.retry_after is not None
    assert 25 <= soon.retry_after <= 30
    assert late.retry_after == 60


@pytest.mark.parametrize(("status", "code"), [(400, "http_400"), (404, "http_404")])
async def test_other_4xx_fail(channel: WebhookChannel, status: int, code: str) -> None:
    with webhook_receiver() as receiver:
        receiver.respond("/h", status)
        result = await channel.send(message(f"{receiver.url}/h"))
    assert result.outcome is Outcome.FAILED
    assert result.error_code == code


async def test_a_redirect_is_not_followed(channel: WebhookChannel) -> None:
    with webhook_receiver() as receiver:
        receiver.respond("/moved", 302, headers={"Location": f"{receiver.url}/target"})
        result = await channel.send(message(f"{receiver.url}/moved"))
        assert result.outcome is Outcome.FAILED
        assert result.error_code == "redirect"
        assert receiver.receipts == 1
        assert receiver.to("/target") == []


async def test_a_slow_endpoint_times_out_and_is_retried() -> None:
    channel = WebhookChannel(WebhookConfig(allow_private=True, timeout_seconds=0.3))
    try:
        with webhook_receiver() as receiver:
            receiver.respond("/slow", 200, delay=1.5)
            started = time.monotonic()
            result = await channel.send(message(f"{receiver.url}/slow"))
            elapsed = time.monotonic() - started
    finally:
        await channel.aclose()
    assert result.outcome is Outcome.RETRY
    assert result.error_code == "timeout"
    assert elapsed < 1.0


async def test_a_closed_port_is_retried(channel: WebhookChannel) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        result = await channel.send(message(f"http://127.0.0.1:{port}/h"))
    assert result.outcome is Outcome.RETRY
    assert result.error_code == "connect_error"


async def test_the_name_is_kept_in_the_host_header(channel: WebhookChannel) -> None:
    with webhook_receiver(secrets=[SECRET]) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        result = await channel.send(message(f"http://localhost:{port}/h"))
        assert result.outcome is Outcome.DELIVERED
        [got] = receiver.requests
    assert got.headers["host"] == f"localhost:{port}"


async def test_the_breaker_opens_stops_calls_and_a_probe_closes_it() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(failure_threshold=3, cool_down_seconds=20, clock=lambda: now[0])
    channel = WebhookChannel(WebhookConfig(allow_private=True), breaker=breaker)
    try:
        with webhook_receiver() as receiver:
            url = f"{receiver.url}/down"
            receiver.respond("/down", 503, times=3)
            for _ in range(3):
                assert (await channel.send(message(url))).error_code == "http_503"
            refused = await channel.send(message(url))
            assert refused.outcome is Outcome.RETRY
            assert refused.error_code == "circuit_open"
            assert refused.retry_after == 20
            assert receiver.receipts == 3  # no network call while open
            now[0] += 20
            probe = await channel.send(message(url))
            assert probe.outcome is Outcome.DELIVERED
            assert receiver.receipts == 4
            assert breaker.state(url) is State.CLOSED
            assert (await channel.send(message(url))).outcome is Outcome.DELIVERED
    finally:
        await channel.aclose()


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ({"url": "ftp://example.com/h"}, "invalid_target"),
        ({"secret": "not-a-secret"}, "invalid_target"),
    ],
)
async def test_a_bad_target_fails_without_a_request(
    channel: WebhookChannel, target: dict[str, str], code: str
) -> None:
    with webhook_receiver() as receiver:
        url = target.pop("url", f"{receiver.url}/h")
        result = await channel.send(message(url, **target))
        assert result.outcome is Outcome.FAILED
        assert result.error_code == code
        assert receiver.receipts == 0


async def test_pools_of_endpoints_past_the_limit_or_idle_too_long_are_closed() -> None:
    now = [1000.0]
    channel = WebhookChannel(
        WebhookConfig(allow_private=True, max_endpoints=2, idle_endpoint_seconds=600),
        idle_clock=lambda: now[0],  # moved by hand below
    )
    try:
        with webhook_receiver(secrets=[SECRET]) as receiver:
            for n in range(5):  # five endpoints (each path is one), two pools kept
                result = await channel.send(message(f"{receiver.url}/hook-{n}"))
                assert result.outcome is Outcome.DELIVERED
                assert channel.open_endpoints == min(n + 1, 2)
            # An evicted endpoint still gets its deliveries, on a new pool.
            again = await channel.send(message(f"{receiver.url}/hook-0", delivery_id="dlv-2"))
            assert again.outcome is Outcome.DELIVERED
            assert len(receiver.requests) == 6
            now[0] += 601  # both idle past the limit: the next delivery closes the other
            await channel.send(message(f"{receiver.url}/hook-9", delivery_id="dlv-3"))
            assert channel.open_endpoints == 1
    finally:
        await channel.aclose()
    assert channel.open_endpoints == 0
