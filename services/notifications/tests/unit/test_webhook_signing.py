"""Standard Webhooks signatures: the spec's scheme, its reference test vector, rotation."""

from __future__ import annotations

import base64
import time

import pytest

from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.base import Channel, Message, Outcome, retry_after_seconds
from binhyen.notifications.channels.webhook import (
    WebhookChannel,
    WebhookConfig,
    WebhookVerificationError,
    check_target,
    new_secret,
    sign,
    signature_header,
    verify,
)

# The reference Python library's test vector (standard-webhooks, libraries/python/tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_sign_matches_the_reference_test_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_verify_accepts_the_reference_test_vector_at_its_time() -> None:
    headers = _headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)
    assert verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10) == VECTOR_ID


def test_verify_refuses_a_tampered_body_a_wrong_secret_and_a_replay() -> None:
    headers = _headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)
    with pytest.raises(WebhookVerificationError) as tampered:
        verify(VECTOR_SECRET, headers, b'{"test": 2432232315}', now=VECTOR_TIMESTAMP)
    assert tampered.value.code == "no_matching_signature"
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)
    with pytest.raises(WebhookVerificationError) as replay:
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 301)
    assert replay.value.code == "timestamp_out_of_tolerance"
    with pytest.raises(WebhookVerificationError) as early:
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP - 301)
    assert early.value.code == "timestamp_out_of_tolerance"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_refuses_a_missing_header(missing: str) -> None:
    headers = _headers(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)
    del headers[missing]
    with pytest.raises(WebhookVerificationError) as refused:
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)
    assert refused.value.code == "missing_header"


def test_rotation_signs_with_both_secrets_and_either_verifies() -> None:
    current, previous = new_secret(), new_secret()
    now = int(time.time())
    header = signature_header([current, previous], "d1", now, b"{}")
    assert len(header.split(" ")) == 2
    headers = _headers("d1", now, header)
    assert verify(current, headers, b"{}") == "d1"
    assert verify(previous, headers, b"{}") == "d1"
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), headers, b"{}")


def test_verify_skips_other_schemes_and_header_case() -> None:
    now = int(time.time())
    good = sign(VECTOR_SECRET, "d2", now, b"x")
    headers = {
        "Webhook-Id": "d2",
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": f"v1a,{good[3:]} v1,AAAA {good}",
    }
    assert verify(VECTOR_SECRET, headers, b"x") == "d2"


def test_new_secret_holds_24_to_64_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert len(base64.b64decode(new_secret(24)[6:])) == 24
    assert new_secret() != new_secret()
    with pytest.raises(ValueError, match="24 to 64"):
        new_secret(16)


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"secret": "whsec_" + "A" * 32}, "target.url"),
        ({"url": "ftp://example.com/hook", "secret": "whsec_" + "A" * 32}, "target.url"),
        ({"url": "https://example.com/hook"}, "target.secret"),
        ({"url": "https://example.com/hook", "secret": "hunter2"}, "target.secret"),
        ({"url": "https://example.com/hook", "secret": "whsec_not base64!"}, "target.secret"),
        ({"url": "https://example.com/hook", "secret": "whsec_AAAA"}, "target.secret"),
        (
            {"url": "https://example.com/h", "secret": new_secret(), "secret_previous": "x"},
            "target.secret_previous",
        ),
        ({"url": "https://example.com/h", "secret": new_secret(), "token": "x"}, "target.token"),
    ],
)
def test_check_target_names_the_field_at_fault(target: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_target(target, allow_private=False)
    assert refused.value.field == field
    for name in ("secret", "secret_previous"):  # a refused secret is never echoed
        if target.get(name):
            assert target[name] not in refused.value.detail


def test_check_target_accepts_a_public_url_and_two_secrets() -> None:
    target = {
        "url": "https://example.com/h",
        "secret": new_secret(),
        "secret_previous": new_secret(),
    }
    check_target(target, allow_private=False)


def test_retry_after_reads_seconds_and_http_dates_and_caps_them() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds("7", now=now, cap=60) == 7
    assert retry_after_seconds("7200", now=now, cap=60) == 60
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:40 GMT", now=now, cap=600) == 20
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:00 GMT", now=now, cap=600) == 0
    assert retry_after_seconds("soon", now=now, cap=60) is None
    assert retry_after_seconds("-5", now=now, cap=60) is None
    assert retry_after_seconds(None, now=now, cap=60) is None


async def test_the_webhook_channel_implements_the_channel_interface() -> None:
    channel: Channel = WebhookChannel(WebhookConfig())  # mypy checks the protocol
    try:
        assert channel.name == "webhook"
        assert channel.target_fields == ("url", "secret")
        odd = Message(
            delivery_id="d",
            alert_id="a",
            target={"url": "https://example.com/h", "secret": new_secret()},
            language="en",
            subject="s",
            text="t",
            body="b",
            payload={"when": object()},
        )
        result = await channel.send(odd)  # refused before any network use
        assert result.outcome is Outcome.FAILED
        assert result.error_code == "invalid_payload"
    finally:
        await channel.aclose()
