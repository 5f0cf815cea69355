"""The alert e-mail as built for the wire: headers, encodings, the deterministic Message-ID."""

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from pydantic import ValidationError

from binhyen.notifications.channels.base import Message
from binhyen.notifications.channels.email import (
    EmailConfig,
    build_message,
    check_target,
    message_id,
)

CONFIG = EmailConfig(
    host="127.0.0.1", from_address="kenh@xa-ky-nam.gov.vn", from_name="Kẻng Kỳ Nam"
)


def _message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "delivery_id": "al-1.res-2.email",
        "alert_id": "al-1",
        "target": {"email": "nguyen.van.a@example.vn"},
        "language": "vi",
        "subject": "Cháy nhà ở thôn Tân Thành",
        "text": "Cháy nhà",
        "body": "Có cháy ở nhà số 12, đường Trần Phú. Mọi người tránh xa khu vực.",
        "ack_url": "https://kenh.example.vn/a/xyz",
    }
    fields.update(overrides)
    return Message(**fields)  # type: ignore[arg-type]


def _wire(message: Message) -> tuple[bytes, EmailMessage]:
    raw = build_message(message, CONFIG).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def test_vietnamese_subject_and_body_survive_a_7bit_wire() -> None:
    raw, parsed = _wire(_message())
    raw.decode("ascii")  # every byte 7-bit: encoded-words and a transfer encoding
    assert parsed["Subject"] == "Cháy nhà ở thôn Tân Thành"
    assert parsed["From"].addresses[0].display_name == "Kẻng Kỳ Nam"
    body = parsed.get_content()
    assert "nhà số 12, đường Trần Phú" in body
    assert "Xác nhận đã nhận tin: https://kenh.example.vn/a/xyz" in body
    assert parsed.get_content_charset() == "utf-8"


def test_message_id_is_the_same_for_every_attempt_of_a_delivery() -> None:
    first = _wire(_message())[1]["Message-ID"]
    again = _wire(_message())[1]["Message-ID"]
    other = _wire(_message(delivery_id="al-1.res-3.email"))[1]["Message-ID"]
    assert first == again == "<al-1.res-2.email.binhyen@xa-ky-nam.gov.vn>"
    assert other != first


def test_message_id_of_an_id_with_unsafe_characters_is_a_stable_hash() -> None:
    one = message_id("al 1/res@2", "example.vn")
    assert one == message_id("al 1/res@2", "example.vn")
    assert one.startswith("<") and one.endswith(".binhyen@example.vn>")
    assert " " not in one and one.count("@") == 1


def test_automatic_message_is_marked_and_only_critical_is_important() -> None:
    normal = _wire(_message())[1]
    critical = _wire(_message(critical=True))[1]
    assert normal["Auto-Submitted"] == critical["Auto-Submitted"] == "auto-generated"
    assert normal["Importance"] is None and normal["X-Priority"] is None
    assert critical["Importance"] == "high" and critical["X-Priority"] == "1"


def test_english_recipient_gets_an_english_ack_line() -> None:
    parsed = _wire(_message(language="en"))[1]
    assert "Acknowledge this alert: https://kenh.example.vn/a/xyz" in parsed.get_content()


def test_a_subject_with_line_breaks_cannot_inject_headers() -> None:
    parsed = _wire(_message(subject="Cháy\r\nBcc: attacker@example.com"))[1]
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Cháy Bcc: attacker@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "no-at-sign",
        "a@localhost",
        "a@b.vn\r\nBcc: x@y.vn",
        "a@b.vn, c@d.vn",
        "<a@b.vn>",
        "a b@c.vn",
    ],
)
def test_a_target_that_is_not_one_plain_address_is_refused_without_echoing_it(
    address: str,
) -> None:
    with pytest.raises(ValueError, match=r"^email: ") as caught:
        check_target({"email": address})
    if address:
        assert address not in str(caught.value)


def test_a_target_without_the_field_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^email: "):
        check_target({"phone": "0912345678"})


def test_config_refuses_a_bad_sender_and_unknown_security() -> None:
    with pytest.raises(ValidationError):
        EmailConfig(host="h", from_address="not an address")
    with pytest.raises(ValidationError):
        EmailConfig(host="h", from_address="a@b.vn", security="ssl")


def test_config_hides_the_password() -> None:
    config = EmailConfig(host="h", from_address="a@b.vn", username="u", password="s3cret-pw")
    assert "s3cret-pw" not in repr(config)
