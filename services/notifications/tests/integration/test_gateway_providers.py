"""The gateway channel against a local process that speaks eSMS, SpeedSMS and Zalo ZNS."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr

from binhyen.kit.testing.servers import load_module
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.gateway import (
    GatewayChannel,
    GatewayConfig,
    SignatureError,
    ack_code,
    gateway_channel,
    parse_delivery_report,
    parse_inbound,
)

PATHS = {
    "esms": "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
    "speedsms": "/index.php/sms/send",
    "zalo_zns": "/message/template",
}
CALLBACK_SECRET = secrets.token_urlsafe(32)


def _load_fake() -> ModuleType:
    return load_module(Path(__file__).resolve().parents[4] / "deploy" / "local" / "sms_sandbox.py")


@pytest.fixture(scope="module")
def credentials() -> dict[str, str]:
    return {
        name: secrets.token_urlsafe(16)
        for name in ("api_key", "secret_key", "speedsms_token", "zalo_token")
    }


@pytest.fixture(scope="module")
def fake(credentials: dict[str, str]) -> Iterator[Any]:
    gateway = _load_fake().FakeGateway(credentials).start()
    yield gateway
    gateway.stop()


def make_config(
    fake: Any, credentials: dict[str, str], profile: str, **extra: Any
) -> GatewayConfig:
    named = {
        "esms": {"api_key": credentials["api_key"], "secret_key": credentials["secret_key"]},
        "speedsms": {"access_token": credentials["speedsms_token"]},
        "zalo_zns": {"access_token": credentials["zalo_token"]},
    }[profile]
    values: dict[str, Any] = {
        "profile": profile,
        "url": fake.url(PATHS[profile]),
        "secrets": {k: SecretStr(v) for k, v in named.items()},
        "sender": "BINHYEN",
        "template_id": "301234",
        "template_data": {"tieu_de": "{subject}", "ma": "{ack_code}"},
        "timeout_seconds": 2.0,
    }
    return GatewayConfig.model_validate(values | extra)


@pytest.fixture
async def channel_for(fake: Any, credentials: dict[str, str]) -> AsyncIterator[Any]:
    made: list[GatewayChannel] = []

    def make(profile: str, **extra: Any) -> GatewayChannel:
        channel = gateway_channel(make_config(fake, credentials, profile, **extra))
        made.append(channel)
        return channel

    yield make
    for channel in made:
        await channel.aclose()


def unique_phone() -> str:
    return "091" + str(uuid.uuid4().int)[:7]


def message(
    phone: str, delivery_id: str | None = None, text: str = "Chay o thon Tan Thanh"
) -> Message:
    return Message(
        delivery_id=delivery_id or uuid.uuid4().hex,
        alert_id="a-1",
        target={"phone": phone},
        language="vi",
        subject="Cháy ở thôn Tân Thành",
        text=text,
        body=text,
        payload={"ack_code": "123456"},
    )


PROFILES = ["esms", "speedsms", "zalo_zns"]
PHONE_AS_SENT = {"esms": "0", "speedsms": "84", "zalo_zns": "84"}


@pytest.mark.parametrize("profile", PROFILES)
async def test_success_is_sent_with_the_providers_id(
    fake: Any, channel_for: Any, profile: str
) -> None:
    phone = unique_phone()
    result = await channel_for(profile).send(message(phone))
    assert result.outcome == Outcome.SENT and result.provider_id
    national = phone[1:]
    as_sent = ("0" if PHONE_AS_SENT[profile] == "0" else "84") + national
    received = fake.messages(phone=as_sent)
    assert [m["provider_id"] for m in received] == [result.provider_id]


@pytest.mark.parametrize("profile", ["esms", "zalo_zns"])
async def test_a_repeat_of_the_same_delivery_reaches_the_person_once(
    fake: Any, channel_for: Any, profile: str
) -> None:
    channel = channel_for(profile)
    delivery_id = uuid.uuid4().hex
    first = await channel.send(message(unique_phone(), delivery_id))
    again = await channel.send(message(unique_phone(), delivery_id))
    assert first.outcome == again.outcome == Outcome.SENT
    assert len(fake.messages(our_id=delivery_id)) == 1


async def test_speedsms_has_no_dedup_field_and_says_so(channel_for: Any) -> None:
    channel = channel_for("speedsms")
    assert channel.profile.dedup_field is None
    assert any("deduplicate" in note for note in channel.profile.notes)


@pytest.mark.parametrize("profile", ["speedsms", "zalo_zns"])
async def test_a_retryable_error_code_is_retried(fake: Any, channel_for: Any, profile: str) -> None:
    fake.fault(profile, "retryable")
    result = await channel_for(profile).send(message(unique_phone()))
    assert result.outcome == Outcome.RETRY and result.error_code in (
        "speedsms_500",
        "zalo_zns_-100",
    )


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_permanent_error_code_fails_with_a_short_code(
    fake: Any, channel_for: Any, profile: str
) -> None:
    fake.fault(profile, "permanent")
    result = await channel_for(profile).send(message(unique_phone()))
    assert result.outcome == Outcome.FAILED
    assert result.error_code in ("esms_103", "speedsms_300", "zalo_zns_-108")


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_5xx_is_retried_with_its_retry_after(
    fake: Any, channel_for: Any, profile: str
) -> None:
    fake.fault(profile, "http_503")
    result = await channel_for(profile).send(message(unique_phone()))
    assert (result.outcome, result.error_code, result.retry_after) == (
        Outcome.RETRY,
        "http_503",
        2.0,
    )


async def test_a_slow_provider_times_out_into_a_retry(fake: Any, channel_for: Any) -> None:
    fake.fault("zalo_zns", "slow", delay=1.5)
    result = await channel_for("zalo_zns", timeout_seconds=0.3).send(message(unique_phone()))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "timeout")


async def test_wrong_credentials_fail(
    fake: Any, channel_for: Any, credentials: dict[str, str]
) -> None:
    channel = channel_for(
        "esms", secrets={"api_key": SecretStr("nope"), "secret_key": SecretStr("x")}
    )
    result = await channel.send(message(unique_phone()))
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "esms_101")


async def test_the_rate_limit_holds(fake: Any, channel_for: Any) -> None:
    channel = channel_for("speedsms", rate_per_second=10, max_wait_seconds=5)
    count, rate, burst = 6, 10.0, 5  # the profile's burst: the first five go at once
    started = time.monotonic()
    results = [await channel.send(message(unique_phone())) for _ in range(count + burst - 1)]
    elapsed = time.monotonic() - started
    assert all(r.outcome == Outcome.SENT for r in results)
    assert elapsed >= (count - 1) / rate * 0.95


async def test_a_rate_beyond_the_wait_limit_is_a_retry_not_a_stall(
    fake: Any, channel_for: Any
) -> None:
    channel = channel_for("zalo_zns", rate_per_second=0.5, max_wait_seconds=0)
    outcomes = [(await channel.send(message(unique_phone()))).outcome for _ in range(6)]
    assert outcomes[:5] == [Outcome.SENT] * 5  # the burst
    assert outcomes[5] == Outcome.RETRY


async def test_an_exhausted_daily_quota_retries_after_local_midnight(
    fake: Any, channel_for: Any
) -> None:
    channel = channel_for("esms", daily_quota=2)
    phone = unique_phone()
    results = [await channel.send(message(phone)) for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT, Outcome.RETRY]
    assert results[2].error_code == "quota_exhausted"
    assert results[2].retry_after is not None and 0 < results[2].retry_after <= 86400
    assert len(fake.messages(phone="0" + phone[1:])) == 2


def _captured_callback(fake: Any, marker: str) -> dict[str, Any]:
    hits = [c for c in fake.captured() if c["path"].endswith(marker)]
    assert len(hits) == 1
    hit: dict[str, Any] = hits[0]
    return hit


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_delivery_report_from_the_provider_parses_and_a_forged_one_does_not(
    fake: Any, channel_for: Any, profile: str
) -> None:
    channel = channel_for(profile)
    delivery_id = uuid.uuid4().hex
    sent = await channel.send(message(unique_phone(), delivery_id))
    marker = f"/report-{delivery_id}"
    answer = fake.post(
        "/_report",
        {
            "profile": profile,
            "url": fake.url("/_capture" + marker),
            "secret": CALLBACK_SECRET,
            "provider_id": sent.provider_id,
            "our_id": delivery_id,
            "status": "delivered",
        },
    )
    assert answer["status"] == 200
    hit = await eventually(lambda: _captured_callback(fake, marker), timeout=5, what="the report")
    body = hit["query"].encode() if hit["method"] == "GET" else base64.b64decode(hit["body"])
    report = parse_delivery_report(channel.profile, hit["headers"], body, CALLBACK_SECRET)
    assert report is not None and report.status == "delivered"
    assert report.provider_id == sent.provider_id
    with pytest.raises(SignatureError):
        parse_delivery_report(channel.profile, hit["headers"], body, "another-callback-secret")
    if hit["method"] == "GET":  # eSMS: a token in the URL authenticates the caller only
        forged = b"&".join(p for p in body.split(b"&") if not p.startswith(b"token="))
    else:  # a signature covers the body: one changed byte is refused
        forged = body.replace(b"}", b" }", 1)
    with pytest.raises(SignatureError):
        parse_delivery_report(channel.profile, hit["headers"], forged, CALLBACK_SECRET)


async def test_an_inbound_ok_reply_is_read(fake: Any, channel_for: Any) -> None:
    channel = channel_for("speedsms")
    marker = f"/inbound-{uuid.uuid4().hex}"
    spec = {
        "profile": "speedsms",
        "url": fake.url("/_capture" + marker),
        "secret": CALLBACK_SECRET,
        "phone": "84912345678",
        "text": "Ok 123456",
    }
    assert fake.post("/_inbound", spec)["status"] == 200
    hit = await eventually(lambda: _captured_callback(fake, marker), timeout=5, what="the reply")
    reply = parse_inbound(
        channel.profile, hit["headers"], base64.b64decode(hit["body"]), CALLBACK_SECRET
    )
    assert reply is not None and reply.phone == "+84912345678"
    assert ack_code(reply.text) == "123456"
