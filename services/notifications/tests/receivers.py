"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread.

    with webhook_receiver(secrets=[secret]) as receiver:
        receiver.respond("/hook", 503, headers={"Retry-After": "7"}, times=1)
        ... send to f"{receiver.url}/hook" ...
        await eventually(lambda: receiver.deliveries, what="a delivery")

It records every request (path, headers, raw body, arrival time), verifies Standard Webhooks
signatures with the secrets it was given, counts raw receipts and deduplicates by
``webhook-id`` like a careful subscriber would, and answers per path what a test asks:
a status, headers, a delay (a slow endpoint), for a number of requests or for good.
Import it as ``from services.notifications.tests.receivers import webhook_receiver``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from binhyen.notifications.channels.webhook import WebhookVerificationError, verify

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes
    at: float  # time.time() on arrival
    verified: str | None  # "ok", a WebhookVerificationError code, or None (no secrets given)

    @property
    def webhook_id(self) -> str | None:
        """The ``webhook-id`` header."""
        return self.headers.get("webhook-id")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """What to answer: a status, headers, after a delay; ``times`` None means for good."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None


class Receiver:
    """The recorded state of a running receiver (safe to read from the test's thread)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = list(secrets)
        self.url = ""  # set once listening, e.g. http://127.0.0.1:54321
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._replies: dict[str, list[Reply]] = {}

    def respond(
        self,
        path: str,
        status: int = 200,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = None,
    ) -> None:
        """Answer requests to ``path`` so (queued after earlier rules with a ``times``)."""
        with self._lock:
            self._replies.setdefault(path, []).append(
                Reply(status, dict(headers or {}), delay, times)
            )

    @property
    def requests(self) -> list[Received]:
        """Every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def receipts(self) -> int:
        """How many requests arrived (duplicates included)."""
        with self._lock:
            return len(self._requests)

    @property
    def deliveries(self) -> dict[str, Received]:
        """The first verified request per ``webhook-id`` (what a subscriber would act on)."""
        firsts: dict[str, Received] = {}
        for request in self.requests:
            if request.webhook_id and request.verified in ("ok", None):
                firsts.setdefault(request.webhook_id, request)
        return firsts

    def to(self, path: str) -> list[Received]:
        """The requests received on ``path``."""
        return [r for r in self.requests if r.path == path]

    def _reply_for(self, path: str) -> Reply:
        with self._lock:
            rules = self._replies.get(path, [])
            for rule in rules:
                if rule.times is None:
                    return rule
                if rule.times > 0:
                    rule.times -= 1
                    return rule
        return Reply()

    def _check(self, headers: dict[str, str], body: bytes) -> str | None:
        if not self.secrets:
            return None
        try:
            verify(self.secrets, headers, body)
        except WebhookVerificationError as exc:
            return exc.code
        return "ok"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        received = Received(
            method=scope["method"],
            path=path,
            headers=headers,
            body=body,
            at=time.time(),
            verified=self._check(headers, body),
        )
        with self._lock:
            self._requests.append(received)
        reply = self._reply_for(path)
        if reply.delay:
            await asyncio.sleep(reply.delay)  # the endpoint is slow: that is the point
        status = 401 if received.verified not in ("ok", None) else reply.status
        out = [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def webhook_receiver(
    *,
    secrets: Sequence[str] = (),
    host: str = "127.0.0.1",
    tls: tuple[Path, Path] | None = None,
) -> Iterator[Receiver]:
    """Run a receiver on ``host`` (a free port) until the block ends; ``tls`` = (cert, key)."""
    receiver = Receiver(secrets)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)  # connections queue from now on, even before the server loop runs
    port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    netloc = f"[{host}]" if family == socket.AF_INET6 else host
    receiver.url = f"{scheme}://{netloc}:{port}"
    config = uvicorn.Config(
        receiver,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,  # a client's idle keep-alive connection must not hold us
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)  # waiting on a condition with a deadline
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
