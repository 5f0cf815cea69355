"""Delivery reports and inbound replies: signature first, then the profile's shape."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from binhyen.notifications.channels.gateway import (
    CallbackError,
    DeliveryReport,
    InboundReply,
    SignatureError,
    ack_code,
    load_profile,
    parse_delivery_report,
    parse_inbound,
)

SECRET = "cb-secret-0123456789abcdef0123456789"


def hmac_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Binhyen-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def zalo_signed(event: dict[str, object], secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(event).encode()
    seed = f"{event['app_id']}{body.decode()}{event['timestamp']}{secret}".encode()
    return {"X-ZEvent-Signature": "mac=" + hashlib.sha256(seed).hexdigest()}, body


SPEEDSMS_REPORT = json.dumps(
    {"type": "report", "tranId": 42, "phone": "84912345678", "status": 0}
).encode()
ZALO_EVENT: dict[str, object] = {
    "app_id": "111",
    "event_name": "user_received_message",
    "message": {"msg_id": "m-9", "tracking_id": "d-1"},
    "timestamp": "1764600000000",
}


def test_speedsms_report_with_a_good_signature_parses() -> None:
    report = parse_delivery_report(
        load_profile("speedsms"), hmac_headers(SPEEDSMS_REPORT), SPEEDSMS_REPORT, SECRET
    )
    assert report == DeliveryReport(provider_id="42", delivery_id=None, status="delivered")


def test_a_prefixed_signature_is_accepted() -> None:
    headers = {
        "x-binhyen-signature": "sha256=" + hmac_headers(SPEEDSMS_REPORT)["X-Binhyen-Signature"]
    }
    assert parse_delivery_report(load_profile("speedsms"), headers, SPEEDSMS_REPORT, SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Binhyen-Signature": ""},
        {"X-Binhyen-Signature": "0" * 64},
        hmac_headers(SPEEDSMS_REPORT, secret="another-secret"),
        hmac_headers(SPEEDSMS_REPORT.replace(b'"status": 0', b'"status": 1')),
    ],
)
def test_bad_or_missing_signatures_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        parse_delivery_report(load_profile("speedsms"), headers, SPEEDSMS_REPORT, SECRET)


def test_a_failed_report_carries_a_short_code() -> None:
    body = json.dumps({"type": "report", "tranId": 42, "status": 3}).encode()
    report = parse_delivery_report(load_profile("speedsms"), hmac_headers(body), body, SECRET)
    assert report is not None
    assert (report.status, report.error_code) == ("failed", "speedsms_3")


def test_another_signed_event_is_not_a_report() -> None:
    body = json.dumps({"type": "sms", "phone": "84912345678", "content": "OK 1234"}).encode()
    assert parse_delivery_report(load_profile("speedsms"), hmac_headers(body), body, SECRET) is None


def test_a_signed_report_without_ids_is_refused_naming_the_field() -> None:
    body = json.dumps({"type": "report", "status": 0}).encode()
    with pytest.raises(CallbackError) as refused:
        parse_delivery_report(load_profile("speedsms"), hmac_headers(body), body, SECRET)
    assert refused.value.field == "tranId"


def test_esms_report_is_checked_by_its_url_token() -> None:
    query = {"SMSID": "s-1", "RequestId": "d-1", "SendStatus": "5", "phonenumber": "0912345678"}
    good = urlencode(query | {"token": SECRET}).encode()
    report = parse_delivery_report(load_profile("esms"), {}, good, SECRET)
    assert report == DeliveryReport(provider_id="s-1", delivery_id="d-1", status="delivered")
    rejected = urlencode(query | {"SendStatus": "4", "token": SECRET}).encode()
    assert parse_delivery_report(load_profile("esms"), {}, rejected, SECRET) == DeliveryReport(
        provider_id="s-1", delivery_id="d-1", status="failed", error_code="esms_4"
    )
    pending = urlencode(query | {"SendStatus": "7", "token": SECRET}).encode()
    assert parse_delivery_report(load_profile("esms"), {}, pending, SECRET).status == "pending"  # type: ignore[union-attr]
    for bad in (urlencode(query).encode(), urlencode(query | {"token": "guess"}).encode()):
        with pytest.raises(SignatureError):
            parse_delivery_report(load_profile("esms"), {}, bad, SECRET)


def test_zalo_event_is_checked_with_zalos_mac() -> None:
    headers, body = zalo_signed(ZALO_EVENT)
    report = parse_delivery_report(load_profile("zalo_zns"), headers, body, SECRET)
    assert report == DeliveryReport(provider_id="m-9", delivery_id="d-1", status="delivered")
    forged_headers, _ = zalo_signed(ZALO_EVENT, secret="not-the-oa-key")
    with pytest.raises(SignatureError):
        parse_delivery_report(load_profile("zalo_zns"), forged_headers, body, SECRET)
    with pytest.raises(SignatureError):
        parse_delivery_report(load_profile("zalo_zns"), hmac_headers(body), body, SECRET)


def test_inbound_ok_reply_parses() -> None:
    body = json.dumps({"type": "sms", "phone": "84912345678", "content": "OK 123456"}).encode()
    reply = parse_inbound(load_profile("speedsms"), hmac_headers(body), body, SECRET)
    assert reply == InboundReply(phone="+84912345678", text="OK 123456")
    assert ack_code(reply.text) == "123456"


def test_inbound_with_a_bad_signature_or_phone_is_refused() -> None:
    body = json.dumps({"type": "sms", "phone": "12345", "content": "OK 123456"}).encode()
    with pytest.raises(SignatureError):
        parse_inbound(load_profile("speedsms"), {}, body, SECRET)
    with pytest.raises(CallbackError) as refused:
        parse_inbound(load_profile("speedsms"), hmac_headers(body), body, SECRET)
    assert refused.value.field == "phone"


def test_profiles_without_inbound_say_so() -> None:
    with pytest.raises(CallbackError, match="no inbound"):
        parse_inbound(load_profile("zalo_zns"), {}, b"{}", SECRET)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OK 123456", "123456"),
        ("ok 123456", "123456"),
        ("Ok123456", "123456"),
        ("  oK   123456  ", "123456"),
        ("OK: 123456", "123456"),
        ("OK-123456.", "123456"),
        ("ÔK 123456", "123456"),
        ("ọk 123456", "123456"),
        ("Ók 123456!", "123456"),
        ("ＯＫ　１２３４５６", "123456"),  # full-width keyboard
        ("OK 1234", "1234"),
        ("OK", None),
        ("OK 123", None),
        ("OK 12345678901", None),
        ("OK 123456 toi dang den", None),
        ("không OK 123456", None),
        ("OKE 123456", None),
        ("123456", None),
        ("", None),
    ],
)
def test_ack_code(text: str, code: str | None) -> None:
    assert ack_code(text) == code
