"""A webhook receiver for the notifications benchmark, run as its own process.

    python bench/notifications/receiver.py --port 8999 --delay-ms 50

Answers every POST with 200 after ``--delay-ms`` (a subscriber that takes its time) and
records when each arrived; ``GET /stats`` returns the count, the first and last arrival
(``time.time()``) and, per ``incident_id`` of the payload, the first arrival time;
``DELETE /stats`` starts counting again. Paths under ``/slow/`` answer after ``--slow-ms``
instead and are counted apart (``slow``): a dead-slow subscriber beside the others. It
checks no signature: the benchmark measures the sender, and the tests prove the signing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """The ASGI app and what it counted."""

    def __init__(self, delay: float, slow: float = 5.0) -> None:
        self.delay = delay
        self.slow_delay = slow
        self.reset()

    def reset(self) -> None:
        """Forget everything received."""
        self.count = 0
        self.slow = 0
        self.ids: set[str] = set()
        self.first: float | None = None
        self.last: float | None = None
        self.incidents: dict[str, float] = {}

    def stats(self) -> dict[str, Any]:
        """What arrived so far."""
        return {
            "count": self.count,
            "slow": self.slow,
            "distinct": len(self.ids),
            "first": self.first,
            "last": self.last,
            "incidents": self.incidents,
        }

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
        now = time.time()
        answer = b""
        if scope["method"] == "POST" and scope["path"].startswith("/slow/"):
            self.slow += 1
            await asyncio.sleep(self.slow_delay)
        elif scope["method"] == "POST":
            self.count += 1
            self.first = self.first or now
            self.last = now
            for name, value in scope["headers"]:
                if name == b"webhook-id":
                    self.ids.add(value.decode())
            try:
                incident = json.loads(body).get("incident_id")
            except ValueError:
                incident = None
            if incident:
                self.incidents.setdefault(str(incident), now)
            if self.delay:
                await asyncio.sleep(self.delay)
        elif scope["method"] == "DELETE":
            self.reset()
        else:
            answer = json.dumps(self.stats()).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--slow-ms", type=float, default=5000.0, help="paths under /slow/")
    args = parser.parse_args()
    uvicorn.run(
        Receiver(args.delay_ms / 1000, args.slow_ms / 1000),
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
