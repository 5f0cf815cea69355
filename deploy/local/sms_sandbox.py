"""SMS sandbox: a local stand-in for SMS/ZNS providers (eSMS, SpeedSMS, Zalo ZNS), one process.

What Mailpit is for e-mail, this is for SMS: it accepts messages in the providers' documented
request shapes, answers as they do, and keeps what it was sent in memory so a developer can read
it (``GET /`` for people, ``GET /_inbox`` as JSON). Nothing leaves the machine and nothing reaches
a phone. ``make run`` points notifications at it; the tests start it too (:class:`FakeGateway`).
It is not a provider and not for production: to send real SMS, configure a real provider
(services/notifications/README.md).

Run it: ``python deploy/local/sms_sandbox.py --port 0`` (it prints ``LISTENING <port>`` once it
accepts connections) with the credentials it is to expect in ``SMS_SANDBOX_ESMS_API_KEY``,
``SMS_SANDBOX_ESMS_SECRET_KEY``, ``SMS_SANDBOX_SPEEDSMS_TOKEN`` and ``SMS_SANDBOX_ZALO_TOKEN``.
It is written from the providers' documentation (see the module docstring of
``binhyen.notifications.channels.gateway``), independently of the channel's code, so a channel
bug does not cancel out here; it imports nothing from the service.

Provider paths (auth checked, phone format checked, our id deduplicated where the provider
has a field for it — a repeat answers as the provider does and is not a new message):

- ``POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`` — eSMS (ApiKey/SecretKey in
  the body; a repeated RequestId answers ``CodeResult`` "124");
- ``POST /index.php/sms/send`` — SpeedSMS (HTTP Basic, token as user name; no dedup field);
- ``POST /message/template`` — Zalo ZNS (``access_token`` header; a repeated ``tracking_id``
  answers the first answer again).

Controls (for tests; the sandbox listens on 127.0.0.1 only):

- ``POST /_faults`` ``{"profile", "mode": "http_503" | "retryable" | "permanent" | "slow",
  "count": K, "delay": s}`` — the next K requests of that profile fail (or are slow);
- ``GET /_inbox`` — ``{"messages": [...], "requests": {profile: n}}``; ``GET /`` — the same
  messages as a page, newest first;
- ``--report-delivery SECONDS`` (``make run`` uses it): eSMS messages are reported delivered to
  the request's ``CallbackUrl`` after SECONDS, as eSMS does; without it nothing is reported
  unless a test asks;
- ``POST /_report`` ``{"profile", "url", "secret", "provider_id", "our_id", "status"}`` — call
  ``url`` back with a delivery report shaped and signed as the provider does (eSMS: GET with the
  token in the query; SpeedSMS: JSON with an HMAC header; Zalo: JSON with X-ZEvent-Signature);
- ``POST /_inbound`` ``{"profile": "speedsms", "url", "secret", "phone", "text"}`` — an SMS reply;
- ``/_capture/<anything>`` (any method) records the request; ``GET /_captured`` lists them, so
  a test can aim the callbacks at the sandbox itself and read exactly what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import html
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

ZALO_APP_ID = "4318206420117430431"
# Which environment variable carries which credential (names as the tests key them).
CREDENTIALS = {
    "api_key": "SMS_SANDBOX_ESMS_API_KEY",
    "secret_key": "SMS_SANDBOX_ESMS_SECRET_KEY",
    "speedsms_token": "SMS_SANDBOX_SPEEDSMS_TOKEN",
    "zalo_token": "SMS_SANDBOX_ZALO_TOKEN",
}


def sandbox_env(credentials: dict[str, str]) -> dict[str, str]:
    """The environment that gives the sandbox process its credentials."""
    return {variable: credentials[name] for name, variable in CREDENTIALS.items()}


@dataclass
class Fault:
    """The next ``count`` requests of a profile misbehave."""

    mode: str
    count: int
    delay: float = 0.0


@dataclass
class State:
    """Everything the sandbox remembers."""

    esms_api_key: str
    esms_secret_key: str
    speedsms_token: str
    zalo_token: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    captured: list[dict[str, Any]] = field(default_factory=list)
    next_tran: int = 100000
    report_after: float | None = None  # seconds; None: no delivery report unless asked


def _fault(state: State, profile: str) -> Fault | None:
    fault = state.faults.get(profile)
    if fault is None or fault.count <= 0:
        return None
    fault.count -= 1
    return fault


async def _faulted(state: State, profile: str, answers: dict[str, Any]) -> Response | None:
    """Apply a pending fault: a response to send instead, or None to carry on."""
    fault = _fault(state, profile)
    if fault is None:
        return None
    if fault.mode == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if fault.mode == "http_503":
        return Response("busy", status_code=503, headers={"Retry-After": "2"})
    return JSONResponse(answers[fault.mode])


def _record(
    state: State, profile: str, phone: str, content: Any, our_id: str | None, pid: str
) -> None:
    state.messages.append(
        {
            "profile": profile,
            "phone": phone,
            "content": content,
            "our_id": our_id,
            "provider_id": pid,
        }
    )


async def esms_send(request: Request) -> Response:
    """eSMS SendMultipleMessage_V4_post_json."""
    state: State = request.app.state.fake
    state.requests["esms"] = state.requests.get("esms", 0) + 1
    body = await request.json()
    if body.get("ApiKey") != state.esms_api_key or body.get("SecretKey") != state.esms_secret_key:
        return JSONResponse({"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
    faults = {
        "retryable": {"CodeResult": "99", "ErrorMessage": "x"},  # eSMS has no transient code
        "permanent": {"CodeResult": "103", "ErrorMessage": "Balance not enough"},
    }
    if (refusal := await _faulted(state, "esms", faults)) is not None:
        return refusal
    phone = str(body.get("Phone", ""))
    if not re.fullmatch(r"0[35789]\d{8}", phone):
        return JSONResponse({"CodeResult": "108", "ErrorMessage": "Phone invalid"})
    request_id = body.get("RequestId") or None
    if request_id and ("esms", request_id) in state.answers:
        return JSONResponse({"CodeResult": "124", "ErrorMessage": "Duplicate RequestId"})
    sms_id = uuid.uuid4().hex
    answer = {"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}
    if request_id:
        state.answers[("esms", request_id)] = answer
    _record(state, "esms", phone, body.get("Content"), request_id, sms_id)
    callback = body.get("CallbackUrl")
    if state.report_after is None or not callback:
        return JSONResponse(answer)
    report = {
        "SMSID": sms_id,
        "RequestId": request_id or "",
        "SendStatus": "5",  # delivered to the handset
        "TypeId": "2",
        "phonenumber": phone,
    }
    later = BackgroundTask(_esms_report_later, str(callback), report, state.report_after)
    return JSONResponse(answer, background=later)


async def _esms_report_later(url: str, report: dict[str, str], delay: float) -> None:
    """Call the CallbackUrl back as eSMS does once the handset has the message (GET)."""
    await asyncio.sleep(delay)  # a handset takes a moment; the sender records "sent" first
    # Like a provider, the sandbox does not retry a report nobody took.
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.get(url + ("&" if "?" in url else "?") + urlencode(report))


async def speedsms_send(request: Request) -> Response:
    """SpeedSMS /sms/send (HTTP Basic with the access token as user name)."""
    state: State = request.app.state.fake
    state.requests["speedsms"] = state.requests.get("speedsms", 0) + 1
    expected = "Basic " + base64.b64encode(f"{state.speedsms_token}:x".encode()).decode()
    if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
        return JSONResponse({"status": "error", "code": "009", "message": "no"}, status_code=401)
    faults = {
        "retryable": {"status": "error", "code": "500", "message": "Internal error"},
        "permanent": {"status": "error", "code": "300", "message": "Balance not enough"},
    }
    if (refusal := await _faulted(state, "speedsms", faults)) is not None:
        return refusal
    body = await request.json()
    to = body.get("to")
    if not isinstance(to, list) or len(to) != 1 or not re.fullmatch(r"84[35789]\d{8}", str(to[0])):
        return JSONResponse({"status": "error", "code": "105", "message": "Phone invalid"})
    state.next_tran += 1
    tran = state.next_tran
    _record(state, "speedsms", to[0], body.get("content"), None, str(tran))
    data = {"tranId": tran, "totalSMS": 1, "totalPrice": 250, "invalidPhone": []}
    return JSONResponse({"status": "success", "code": "00", "data": data})


async def zalo_send(request: Request) -> Response:
    """Zalo ZNS /message/template (access_token header)."""
    state: State = request.app.state.fake
    state.requests["zalo_zns"] = state.requests.get("zalo_zns", 0) + 1
    if not hmac.compare_digest(request.headers.get("access_token", ""), state.zalo_token):
        return JSONResponse({"error": -124, "message": "Access token is invalid"})
    faults = {
        "retryable": {"error": -100, "message": "Unknown error"},
        "permanent": {"error": -108, "message": "Phone number invalid"},
    }
    if (refusal := await _faulted(state, "zalo_zns", faults)) is not None:
        return refusal
    body = await request.json()
    phone = str(body.get("phone", ""))
    if not re.fullmatch(r"84[35789]\d{8}", phone):
        return JSONResponse({"error": -108, "message": "Phone number invalid"})
    if not body.get("template_id") or not isinstance(body.get("template_data"), dict):
        return JSONResponse({"error": -109, "message": "Template ID invalid"})
    tracking = body.get("tracking_id") or None
    if tracking and ("zalo_zns", tracking) in state.answers:
        return JSONResponse(state.answers[("zalo_zns", tracking)])
    msg_id = uuid.uuid4().hex[:20]
    answer = {"error": 0, "message": "Success", "data": {"msg_id": msg_id, "sent_time": "0"}}
    if tracking:
        state.answers[("zalo_zns", tracking)] = answer
    _record(state, "zalo_zns", phone, body.get("template_data"), tracking, msg_id)
    return JSONResponse(answer)


async def set_fault(request: Request) -> Response:
    """Make the next K requests of a profile fail or be slow."""
    state: State = request.app.state.fake
    body = await request.json()
    state.faults[body["profile"]] = Fault(
        body["mode"], int(body["count"]), float(body.get("delay", 0))
    )
    return JSONResponse({"ok": True})


async def page(request: Request) -> Response:
    """The messages as a small page for people, newest first (no script, no external files)."""
    state: State = request.app.state.fake
    rows = "".join(
        f"<tr><td>{html.escape(m['profile'])}</td><td>{html.escape(str(m['phone']))}</td>"
        f"<td>{html.escape(str(m['content']))}</td></tr>"
        for m in reversed(state.messages)
    )
    body = (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>SMS sandbox</title>'
        "<style>td{border-top:1px solid #ccc;padding:4px;vertical-align:top;"
        "white-space:pre-wrap}</style>"
        f"<h1>SMS sandbox: {len(state.messages)} message(s)</h1>"
        "<p>Messages sent to this local stand-in; none reached a phone.</p>"
        f"<table><tr><th>provider</th><th>to</th><th>text</th></tr>{rows}</table>"
    )
    return HTMLResponse(body)


async def inbox(request: Request) -> Response:
    """What the sandbox accepted as messages, and how many requests each profile saw."""
    state: State = request.app.state.fake
    return JSONResponse({"messages": state.messages, "requests": state.requests})


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_report(request: Request) -> Response:
    """Call a URL back with a provider-shaped, provider-signed delivery report."""
    spec = await request.json()
    profile, url, secret = spec["profile"], spec["url"], spec["secret"]
    delivered = spec.get("status", "delivered") == "delivered"
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        if profile == "esms":
            query = {
                "SMSID": spec.get("provider_id", ""),
                "RequestId": spec.get("our_id", ""),
                "SendStatus": "5" if delivered else "4",
                "TypeId": "2",
                "phonenumber": spec.get("phone", ""),
                "token": secret,
            }
            answer = await client.get(url + ("&" if "?" in url else "?") + urlencode(query))
        elif profile == "speedsms":
            body = json.dumps(
                {
                    "type": "report",
                    "tranId": int(spec.get("provider_id", 0)),
                    "phone": spec.get("phone", ""),
                    "status": 0 if delivered else 1,
                }
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Binhyen-Signature": _hmac_hex(secret, body),
            }
            answer = await client.post(url, content=body, headers=headers)
        else:
            stamp = str(int(time.time() * 1000))
            event = {
                "app_id": ZALO_APP_ID,
                "event_name": "user_received_message" if delivered else "user_seen_message",
                "sender": {"id": "1234"},
                "recipient": {"id": "5678"},
                "message": {
                    "msg_id": spec.get("provider_id", ""),
                    "tracking_id": spec.get("our_id", ""),
                },
                "timestamp": stamp,
            }
            body = json.dumps(event).encode()
            mac = hashlib.sha256(ZALO_APP_ID.encode() + body + stamp.encode() + secret.encode())
            headers = {
                "Content-Type": "application/json",
                "X-ZEvent-Signature": "mac=" + mac.hexdigest(),
            }
            answer = await client.post(url, content=body, headers=headers)
    return JSONResponse({"status": answer.status_code})


async def send_inbound(request: Request) -> Response:
    """Call a URL back with an inbound SMS (SpeedSMS shape, HMAC header)."""
    spec = await request.json()
    body = json.dumps({"type": "sms", "phone": spec["phone"], "content": spec["text"]}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Binhyen-Signature": _hmac_hex(spec["secret"], body),
    }
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        answer = await client.post(spec["url"], content=body, headers=headers)
    return JSONResponse({"status": answer.status_code})


async def capture(request: Request) -> Response:
    """Record any request (a callback aimed at the sandbox itself)."""
    state: State = request.app.state.fake
    body = await request.body()
    state.captured.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": base64.b64encode(body).decode(),
        }
    )
    return JSONResponse({"ok": True})


async def captured(request: Request) -> Response:
    """The requests /_capture recorded."""
    return JSONResponse(request.app.state.fake.captured)


def create_app(state: State) -> Starlette:
    """The sandbox as an ASGI app."""
    app = Starlette(
        routes=[
            Route(
                "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
                esms_send,
                methods=["POST"],
            ),
            Route("/index.php/sms/send", speedsms_send, methods=["POST"]),
            Route("/message/template", zalo_send, methods=["POST"]),
            Route("/_faults", set_fault, methods=["POST"]),
            Route("/", page, methods=["GET"]),
            Route("/_inbox", inbox, methods=["GET"]),
            Route("/_report", send_report, methods=["POST"]),
            Route("/_inbound", send_inbound, methods=["POST"]),
            Route("/_capture/{rest:path}", capture, methods=["GET", "POST"]),
            Route("/_captured", captured, methods=["GET"]),
        ]
    )
    app.state.fake = state
    return app


def main() -> None:
    """Serve the sandbox on 127.0.0.1 (credentials from the environment; port 0 picks one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--report-delivery",
        type=float,
        metavar="SECONDS",
        help="eSMS: report each message delivered to its CallbackUrl after SECONDS",
    )
    args = parser.parse_args()
    missing = [name for name in CREDENTIALS.values() if not os.environ.get(name)]
    if missing:
        parser.error(f"set the credentials the sandbox expects: {', '.join(missing)}")
    state = State(
        esms_api_key=os.environ[CREDENTIALS["api_key"]],
        esms_secret_key=os.environ[CREDENTIALS["secret_key"]],
        speedsms_token=os.environ[CREDENTIALS["speedsms_token"]],
        zalo_token=os.environ[CREDENTIALS["zalo_token"]],
        report_after=args.report_delivery,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning"))
    asyncio.run(server.serve(sockets=[sock]))


# ----------------------------------------------------------------- test helper


class FakeGateway:
    """The sandbox as a subprocess of a test: started on a free port, waited for, stopped."""

    def __init__(self, credentials: dict[str, str]) -> None:
        self.credentials = credentials
        self.base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> FakeGateway:
        """Start the process and wait until it answers (fail at the deadline)."""
        env = os.environ | sandbox_env(self.credentials)
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline().decode() if ready else ""
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError("the SMS sandbox did not start")
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(self.base_url + "/_inbox", timeout=1, trust_env=False).status_code
                    == 200
                ):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling a condition with a deadline
        self.stop()
        raise RuntimeError("the SMS sandbox does not answer")

    def stop(self) -> None:
        """Stop the process."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def url(self, path: str) -> str:
        """An absolute URL on the sandbox."""
        return self.base_url + path

    def inbox(self) -> dict[str, Any]:
        """Messages and request counts."""
        result: dict[str, Any] = httpx.get(self.url("/_inbox"), trust_env=False).json()
        return result

    def messages(
        self, *, our_id: str | None = None, phone: str | None = None
    ) -> list[dict[str, Any]]:
        """Accepted messages, optionally those with one of our ids or to one phone."""
        return [
            m
            for m in self.inbox()["messages"]
            if (our_id is None or m["our_id"] == our_id) and (phone is None or m["phone"] == phone)
        ]

    def fault(self, profile: str, mode: str, count: int = 1, delay: float = 0.0) -> None:
        """Make the next ``count`` requests of ``profile`` fail (or be slow)."""
        spec = {"profile": profile, "mode": mode, "count": count, "delay": delay}
        httpx.post(self.url("/_faults"), json=spec, trust_env=False).raise_for_status()

    def post(self, path: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Ask the sandbox to call back (``/_report`` or ``/_inbound``)."""
        response = httpx.post(self.url(path), json=spec, timeout=10, trust_env=False)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def captured(self) -> list[dict[str, Any]]:
        """Callbacks the sandbox received at ``/_capture/...``."""
        result: list[dict[str, Any]] = httpx.get(self.url("/_captured"), trust_env=False).json()
        return result


if __name__ == "__main__":
    main()
