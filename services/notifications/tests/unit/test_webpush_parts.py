"""Web Push's pure parts: topic, subscription checks, payload size, Retry-After, keys."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from binhyen.notifications.channels.base import Message, retry_after_seconds
from binhyen.notifications.channels.webpush import (
    MAX_PLAINTEXT,
    WebPushConfig,
    check_target,
    generate_vapid_keys,
    payload,
    topic,
    vapid_public_key,
)

KEYS = generate_vapid_keys()
CONFIG = WebPushConfig(vapid_private_key=KEYS.private_key, vapid_subject="mailto:ops@example.vn")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _subscription(endpoint: str, *, auth: bytes = b"0123456789abcdef") -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    info = {"endpoint": endpoint, "keys": {"p256dh": _b64(point), "auth": _b64(auth)}}
    return {"subscription": json.dumps(info)}


def test_topic_is_32_url_safe_characters_and_the_same_for_a_delivery() -> None:
    one = topic("al-1.res-2.push")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", one)
    assert one == topic("al-1.res-2.push") != topic("al-1.res-3.push")


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://wns2-sg2p.notify.windows.com/w/?token=abc",
        "https://web.push.apple.com/abc",
    ],
)
def test_subscriptions_of_the_browsers_push_services_are_accepted(endpoint: str) -> None:
    check_target(_subscription(endpoint), CONFIG)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://169.254.169.254/latest/meta-data",  # SSRF to a metadata service
        "https://127.0.0.1/push",
        "https://fcm.googleapis.com.evil.example/x",  # a suffix trick
        "https://evilfcm.googleapis.com.example/x",
        "https://user:pw@fcm.googleapis.com/x",
        "file:///etc/passwd",
    ],
)
def test_endpoints_outside_the_push_services_are_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match=r"^subscription: "):
        check_target(_subscription(endpoint), CONFIG)


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"subscription": "not json"},
        {"subscription": "[]"},
        {"subscription": json.dumps({"endpoint": "https://fcm.googleapis.com/x"})},
        {
            "subscription": json.dumps(
                {
                    "endpoint": "https://fcm.googleapis.com/x",
                    "keys": {"p256dh": "AAAA", "auth": "AAAA"},
                }
            )
        },
    ],
)
def test_malformed_subscriptions_are_refused(target: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"^subscription: "):
        check_target(target, CONFIG)


def test_an_auth_secret_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        check_target(_subscription("https://fcm.googleapis.com/x", auth=b"short"), CONFIG)


def test_a_long_vietnamese_text_is_cut_to_fit_one_record() -> None:
    message = Message(
        delivery_id="d",
        alert_id="a",
        target={},
        language="vi",
        subject="Cảnh báo",
        text="Người dân thôn Tân Thành chú ý. " * 400,
        body="",
    )
    data = payload(message)
    assert len(data) <= MAX_PLAINTEXT
    doc = json.loads(data)
    assert doc["title"] == "Cảnh báo"
    assert doc["body"].startswith("Người dân thôn Tân Thành chú ý.") and doc["body"].endswith("…")
    assert len(data) > MAX_PLAINTEXT - 64  # cut no more than needed


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("120", now=now.timestamp()) == 120.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == 30.0
    assert retry_after_seconds("soon", now=now.timestamp()) is None
    assert retry_after_seconds(None, now=now.timestamp()) is None


def test_the_public_key_is_the_generated_pair_s_application_server_key() -> None:
    assert vapid_public_key(CONFIG) == KEYS.public_key
    raw = base64.urlsafe_b64decode(KEYS.public_key + "=")
    assert len(raw) == 65 and raw[0] == 4


def test_a_pem_private_key_is_accepted_too() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    config = WebPushConfig(vapid_private_key=pem, vapid_subject="https://xa.example.vn")
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert vapid_public_key(config) == _b64(point)


def test_a_bad_key_or_subject_is_refused_without_showing_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        WebPushConfig(vapid_private_key="not-a-key-zzz", vapid_subject="mailto:ops@example.vn")
    assert "not-a-key-zzz" not in str(caught.value)
    with pytest.raises(ValidationError):
        WebPushConfig(vapid_private_key=KEYS.private_key, vapid_subject="ops@example.vn")
