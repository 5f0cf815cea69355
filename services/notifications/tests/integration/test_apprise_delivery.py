"""The apprise channel against a local HTTP receiver (apprise's json:// service)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.channels.apprise_channel import AppriseChannel, AppriseConfig
from binhyen.notifications.channels.base import Message, Outcome

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Receiver:
    """An HTTP endpoint that records what it is sent: /ok answers 200, /down 500, /slow hangs."""

    received: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(
            {"path": path, "headers": headers, "json": json.loads(body or b"null")}
        )
        if path == "/slow":
            await asyncio.to_thread(self.release.wait, 30)
        status = 500 if path == "/down" else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    asyncio.run(eventually(lambda: server.started, timeout=10, what="the receiver to listen"))
    app.port = server.servers[0].sockets[0].getsockname()[1]
    yield app
    app.release.set()
    server.should_exit = True
    thread.join(10)


@pytest.fixture
async def channel() -> AsyncIterator[AppriseChannel]:
    channel = AppriseChannel(AppriseConfig(allowed_schemes=("json",), timeout_seconds=2))
    yield channel
    await channel.aclose()


def _message(url: str, *, critical: bool = False) -> Message:
    return Message(
        delivery_id="al-3.res-5.apprise",
        alert_id="al-3",
        target={"url": url},
        language="vi",
        subject="Cảnh báo: trộm cắp ở thôn Tân Thành",
        text="Có người lạ đột nhập kho hợp tác xã. Đội an ninh đến ngay.",
        body="(e-mail body)",
        ack_url="http://127.0.0.1:8003/a/tok",
        critical=critical,
    )


async def test_title_and_body_arrive_in_vietnamese(
    receiver: Receiver, channel: AppriseChannel
) -> None:
    before = len(receiver.received)
    result = await channel.send(_message(f"json://127.0.0.1:{receiver.port}/ok", critical=True))
    assert result.outcome is Outcome.SENT
    [request] = receiver.received[before:]
    assert request["path"] == "/ok"
    assert request["json"]["title"] == "Cảnh báo: trộm cắp ở thôn Tân Thành"
    message = request["json"]["message"]
    assert message.startswith("Có người lạ đột nhập kho hợp tác xã. Đội an ninh đến ngay.")
    assert "Xác nhận đã nhận tin: http://127.0.0.1:8003/a/tok" in message
    assert request["json"]["type"] == "failure"  # critical: apprise's loudest type


async def test_a_failing_service_asks_for_a_retry(
    receiver: Receiver, channel: AppriseChannel
) -> None:
    result = await channel.send(_message(f"json://127.0.0.1:{receiver.port}/down"))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "apprise_failed")


async def test_a_service_that_hangs_is_given_up_at_the_time_limit(
    receiver: Receiver, channel: AppriseChannel
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await channel.send(_message(f"json://127.0.0.1:{receiver.port}/slow"))
    assert (result.outcome, result.error_code) == (Outcome.RETRY, "timeout")
    assert loop.time() - started < 2 + 1.5


async def test_a_scheme_not_allowed_is_not_sent(receiver: Receiver) -> None:
    channel = AppriseChannel(AppriseConfig())  # json:// is not among the default schemes
    before = len(receiver.received)
    try:
        result = await channel.send(_message(f"json://127.0.0.1:{receiver.port}/ok"))
    finally:
        await channel.aclose()
    assert (result.outcome, result.error_code) == (Outcome.FAILED, "bad_target")
    assert receiver.received[before:] == []
