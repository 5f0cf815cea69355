"""The e-mail channel against a real SMTP server (aiosmtpd) in its own process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from binhyen.kit.testing.servers import load_module
from binhyen.notifications.channels.base import Message, Outcome
from binhyen.notifications.channels.email import EmailChannel, EmailConfig, Security

smtp_server = load_module(Path(__file__).parents[1] / "smtp_server.py")

GREYLISTED = "greylisted@example.vn"
UNKNOWN = "unknown@example.vn"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    with smtp_server.SmtpServer(tmp_path / "mail", {GREYLISTED: 451, UNKNOWN: 550}) as running:
        yield running


def _channel(port: int, security: Security = Security.NONE, timeout: float = 5) -> EmailChannel:
    return EmailChannel(
        EmailConfig(
            host="127.0.0.1",
            port=port,
            security=security,
            from_address="kenh@xa-ky-nam.gov.vn",
            from_name="Kẻng an ninh Kỳ Nam",
            timeout_seconds=timeout,
        )
    )


def _message(address: str, delivery_id: str = "al-7.res-3.email", critical: bool = True) -> Message:
    return Message(
        delivery_id=delivery_id,
        alert_id="al-7",
        target={"email": address},
        language="vi",
        subject="Khẩn cấp: cháy ở thôn Tân Thành",
        text="Cháy ở thôn Tân Thành",
        body="Đám cháy ở nhà văn hoá thôn Tân Thành. Đội xung kích tập trung ngay.",
        ack_url="http://127.0.0.1:8003/a/tok",
        critical=critical,
    )


async def test_a_vietnamese_alert_arrives_intact(server: Any) -> None:
    channel = _channel(server.port)
    result = await channel.send(_message("truong.thon@example.vn"))
    assert result.outcome is Outcome.SENT
    [(envelope, mail)] = server.received()
    assert envelope == {
        "mail_from": "kenh@xa-ky-nam.gov.vn",
        "rcpt_tos": ["truong.thon@example.vn"],
    }
    assert mail["Subject"] == "Khẩn cấp: cháy ở thôn Tân Thành"
    assert mail["From"].addresses[0].display_name == "Kẻng an ninh Kỳ Nam"
    assert mail["To"] == "truong.thon@example.vn"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Importance"] == "high" and mail["X-Priority"] == "1"
    content = mail.get_content()
    assert "Đám cháy ở nhà văn hoá thôn Tân Thành. Đội xung kích tập trung ngay." in content
    assert "http://127.0.0.1:8003/a/tok" in content
    assert result.provider_id == mail["Message-ID"]
    await channel.aclose()


async def test_a_resend_carries_the_same_message_id(server: Any) -> None:
    channel = _channel(server.port)
    for delivery_id in ("al-7.res-3.email", "al-7.res-3.email", "al-7.res-4.email"):
        result = await channel.send(_message("a@example.vn", delivery_id))
        assert result.outcome is Outcome.SENT
    ids = [mail["Message-ID"] for _, mail in server.received()]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]


async def test_a_greylisting_451_asks_for_a_retry(server: Any) -> None:
    result = await _channel(server.port).send(_message(GREYLISTED))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "smtp_451")
    assert server.received() == []


async def test_an_unknown_mailbox_550_fails_without_the_address_in_the_error(server: Any) -> None:
    result = await _channel(server.port).send(_message(UNKNOWN))
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "smtp_550")
    assert server.received() == []


async def test_a_server_that_is_down_asks_for_a_retry(tmp_path: Path) -> None:
    with smtp_server.SmtpServer(tmp_path / "mail") as running:
        port = running.port
    # The server has stopped: nothing listens on its port any more.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    result = await _channel(port).send(_message("a@example.vn"))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "connection_error")


async def test_starttls_required_but_not_offered_fails_instead_of_sending_in_clear(
    server: Any,
) -> None:
    result = await _channel(server.port, security=Security.STARTTLS).send(_message("a@example.vn"))
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "smtp_not_supported")
    assert server.received() == []


async def test_a_server_that_never_greets_is_given_up_at_the_time_limit() -> None:
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        loop = asyncio.get_running_loop()
        started = loop.time()
        channel = _channel(silent.getsockname()[1], timeout=0.5)
        result = await channel.send(_message("a@example.vn"))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "timeout")
    assert loop.time() - started < 3
