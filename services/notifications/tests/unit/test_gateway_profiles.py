"""Gateway profiles: shipped ones load, bad ones are refused, requests are built as documented."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.gateway import (
    GatewayChannel,
    GatewayConfig,
    GatewayProfile,
    SmsGatewayChannel,
    ZnsGatewayChannel,
    check_text,
    gateway_channel,
    load_profile,
    shipped_profiles,
    sms_segments,
)

SECRETS = {
    "esms": {"api_key": "k-123", "secret_key": "s-456"},
    "speedsms": {"access_token": "tok-789"},
    "zalo_zns": {"access_token": "zat-000"},
}


def config(profile: str, **extra: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "profile": profile,
        "secrets": {k: SecretStr(v) for k, v in SECRETS[profile].items()},
        "sender": "BINHYEN",
    }
    if profile == "zalo_zns":
        values |= {
            "template_id": "301234",
            "template_data": {"tieu_de": "{subject}", "ma": "{ack_code}"},
        }
    return GatewayConfig.model_validate(values | extra)


def message(phone: str = "0912 345 678", text: str = "Chay o thon Tan Thanh") -> Message:
    return Message(
        delivery_id="d-1",
        alert_id="a-1",
        target={"phone": phone},
        language="vi",
        subject="Cháy ở thôn Tân Thành",
        text=text,
        body=text,
        payload={"ack_code": "123456"},
    )


@pytest.fixture
async def channels() -> AsyncIterator[dict[str, GatewayChannel]]:
    made = {name: gateway_channel(config(name)) for name in SECRETS}
    yield made
    for channel in made.values():
        await channel.aclose()


def test_the_three_profiles_ship_and_cite_their_sources() -> None:
    assert shipped_profiles() == ["esms", "speedsms", "zalo_zns"]
    for name in shipped_profiles():
        profile = load_profile(name)
        assert profile.sources and all(s.startswith("https://") for s in profile.sources)
        raw = json.dumps(profile.model_dump())
        for secret in (v for values in SECRETS.values() for v in values.values()):
            assert secret not in raw


def test_unknown_profile_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown gateway profile"):
        load_profile("twilio")
    with pytest.raises(ValueError, match="unknown gateway profile"):
        load_profile("../etc/passwd")


def _profile(**changes: Any) -> dict[str, Any]:
    base = load_profile("esms").model_dump()
    return base | changes


def test_a_profile_with_an_unknown_placeholder_is_refused() -> None:
    body = _profile()["body"] | {"Content": "{txt}"}
    with pytest.raises(ValidationError, match="unknown placeholders"):
        GatewayProfile.model_validate(_profile(body=body))


def test_the_dedup_field_must_carry_our_delivery_id() -> None:
    with pytest.raises(ValidationError, match="dedup_field"):
        GatewayProfile.model_validate(_profile(dedup_field="Phone"))


def test_a_profile_must_carry_the_phone() -> None:
    body = {k: v for k, v in _profile()["body"].items() if k != "Phone"}
    with pytest.raises(ValidationError, match="phone"):
        GatewayProfile.model_validate(_profile(body=body))


def test_missing_secrets_are_named_not_valued() -> None:
    partial = GatewayConfig(profile="esms", secrets={"api_key": SecretStr("k-123")})
    with pytest.raises(ValueError, match=r"\['secret_key'\]"):
        gateway_channel(partial)


def test_unknown_placeholders_in_the_configured_template_data_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown placeholders"):
        gateway_channel(config("zalo_zns", template_data={"ten": "{resident_name}"}))


def test_a_zns_channel_needs_its_template() -> None:
    bare = GatewayConfig(profile="zalo_zns", secrets={"access_token": SecretStr("zat-000")})
    with pytest.raises(ValueError, match="template_id"):
        gateway_channel(bare)


async def test_the_profile_decides_sms_or_zns(channels: dict[str, GatewayChannel]) -> None:
    assert isinstance(channels["esms"], SmsGatewayChannel) and channels["esms"].name == "sms"
    assert (
        isinstance(channels["zalo_zns"], ZnsGatewayChannel) and channels["zalo_zns"].name == "zns"
    )
    assert channels["speedsms"].target_fields == ("phone",)


async def test_esms_request_carries_keys_in_the_body_and_our_id_as_request_id(
    channels: dict[str, GatewayChannel],
) -> None:
    request = channels["esms"].build_request(message())
    body = json.loads(request.content)
    assert request.method == "POST"
    assert str(request.url).endswith("/SendMultipleMessage_V4_post_json/")
    assert body["ApiKey"] == "k-123" and body["SecretKey"] == "s-456"
    assert body["Phone"] == "0912345678"
    assert body["RequestId"] == "d-1"
    assert body["Brandname"] == "BINHYEN" and body["SmsType"] == "2"
    assert body["IsUnicode"] == "0"
    vietnamese = json.loads(channels["esms"].build_request(message(text="Cháy")).content)
    assert vietnamese["IsUnicode"] == "1"


async def test_speedsms_request_uses_basic_auth_with_the_token(
    channels: dict[str, GatewayChannel],
) -> None:
    request = channels["speedsms"].build_request(message())
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"tok-789:x").decode()
    body = json.loads(request.content)
    assert body["to"] == ["84912345678"] and body["sender"] == "BINHYEN"
    assert "tok-789" not in request.content.decode()


async def test_zalo_request_has_token_header_and_template_data(
    channels: dict[str, GatewayChannel],
) -> None:
    request = channels["zalo_zns"].build_request(message())
    assert request.headers["access_token"] == "zat-000"
    body = json.loads(request.content)
    assert body == {
        "phone": "84912345678",
        "template_id": "301234",
        "template_data": {"tieu_de": "Cháy ở thôn Tân Thành", "ma": "123456"},
        "tracking_id": "d-1",
    }


async def test_the_url_can_be_overridden() -> None:
    channel = gateway_channel(config("esms", url="http://127.0.0.1:9/x"))
    try:
        assert str(channel.build_request(message()).url) == "http://127.0.0.1:9/x"
    finally:
        await channel.aclose()


async def test_bad_phone_and_long_text_fail_without_a_request(
    channels: dict[str, GatewayChannel],
) -> None:
    bad = await channels["esms"].send(message(phone="01699333999"))
    assert (bad.outcome, bad.error_code) == (Outcome.FAILED, "invalid_phone")
    long = await channels["esms"].send(message(text="Cháy " * 100))
    assert (long.outcome, long.error_code) == (Outcome.FAILED, "text_too_long")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 306, ("gsm7", 2)),
        ("a" * 307, ("gsm7", 3)),
        ("[" * 80, ("gsm7", 1)),  # extension characters cost two septets
        ("[" * 81, ("gsm7", 2)),
        ("ư" * 70, ("ucs2", 1)),
        ("ư" * 71, ("ucs2", 2)),
        ("ư" * 134, ("ucs2", 2)),
        ("ư" * 135, ("ucs2", 3)),
    ],
)
def test_sms_segments(text: str, expected: tuple[str, int]) -> None:
    assert sms_segments(text) == expected


def test_texts_over_the_segment_cap_are_refused_with_a_reason() -> None:
    profile = load_profile("esms")
    assert profile.max_segments == 4
    check_text(profile, "ư" * 268)
    with pytest.raises(ValueError, match="5 segments"):
        check_text(profile, "ư" * 269)
    check_text(load_profile("zalo_zns"), "x" * 2000)  # no SMS cap on ZNS
