"""A real SMTP server (aiosmtpd) in its own process, for the e-mail channel's tests.

Run: ``python smtp_server.py --maildir DIR [--reply ADDRESS=CODE ...]``. It listens on
127.0.0.1 on a free port, prints ``{"port": N}`` on its first stdout line once it accepts
connections, writes each accepted message to ``DIR/<n>.eml`` (raw bytes as received, written
to a temporary name then renamed, so a reader never sees half a file) with the envelope in
``DIR/<n>.json``, and answers ``CODE`` at ``RCPT TO`` for the listed addresses (e.g. 451 for
greylisting, 550 for an unknown mailbox). It stops when its stdin closes or on SIGTERM.

Tests use :class:`SmtpServer` (a context manager) rather than running the script by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

REPLY_TEXT = {451: "4.7.1 Try again later", 550: "5.1.1 No such mailbox"}


class Handler:
    """Accepts mail, refusing the configured recipients with their code."""

    def __init__(self, maildir: Path, replies: dict[str, int]) -> None:
        self.maildir = maildir
        self.replies = replies
        self.counter = itertools.count(1)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse a configured recipient with its code; accept the others."""
        code = self.replies.get(address.lower())
        if code is not None:
            return f"{code} {REPLY_TEXT.get(code, 'Refused')}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Store the message as received, then its envelope (the reader waits on the json)."""
        n = next(self.counter)
        content = envelope.original_content or envelope.content
        eml = self.maildir / f"{n}.eml"
        tmp = self.maildir / f".{n}.tmp"
        tmp.write_bytes(content)
        tmp.rename(eml)
        envelope_doc = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        tmp.write_text(json.dumps(envelope_doc))
        tmp.rename(self.maildir / f"{n}.json")
        return "250 2.0.0 Ok: queued"


async def _serve(maildir: Path, replies: dict[str, int]) -> None:
    """Listen until stdin closes or SIGTERM arrives."""
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = Handler(maildir, replies)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="test.invalid", enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 1024) else None)
    print(json.dumps({"port": port}), flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--maildir", required=True, type=Path)
    parser.add_argument("--reply", action="append", default=[], help="ADDRESS=CODE")
    args = parser.parse_args()
    replies = {}
    for item in args.reply:
        address, code = item.rsplit("=", 1)
        replies[address.lower()] = int(code)
    asyncio.run(_serve(args.maildir, replies))


class SmtpServer:
    """The SMTP server process, for a test: start, read what arrived, stop."""

    def __init__(self, maildir: Path, replies: dict[str, int] | None = None) -> None:
        self.maildir = maildir
        self.replies = replies or {}
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self.maildir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "--maildir", str(self.maildir)]
        for address, code in self.replies.items():
            command += ["--reply", f"{address}={code}"]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # blocks until listening (or the process died)
        if not line:
            raise RuntimeError(f"SMTP server exited with {self._process.wait()}")
        self.port = int(json.loads(line)["port"])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server and wait for its process."""
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def received(self) -> list[tuple[dict[str, Any], EmailMessage]]:
        """Every message accepted so far, in order, with its envelope."""
        found = []
        for envelope_file in sorted(self.maildir.glob("*.json"), key=lambda p: int(p.stem)):
            envelope = json.loads(envelope_file.read_text())
            raw = envelope_file.with_suffix(".eml").read_bytes()
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append((envelope, parsed))
        return found

    def raw(self) -> list[bytes]:
        """The accepted messages exactly as they crossed the wire."""
        files = sorted(self.maildir.glob("*.json"), key=lambda p: int(p.stem))
        return [f.with_suffix(".eml").read_bytes() for f in files]


if __name__ == "__main__":
    main()
