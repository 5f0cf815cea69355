"""A Web Push service in its own process, for the push channel's tests.

It plays the push service (RFC 8030) *and* the browser behind it: a test makes a subscription
the way a browser does (its own P-256 key pair and auth secret, and the application server key
it subscribed with) and registers it here; then every message POSTed to the subscription's
endpoint is

- refused with 401 unless ``Authorization: vapid t=<JWT>, k=<key>`` carries an ES256 JWT that
  verifies under ``k``, whose ``aud`` is this service's origin, whose ``exp`` is in the future
  and at most 24 h away and whose ``sub`` is a mailto:/https: contact (RFC 8292 §2–§3);
- refused with 403 when ``k`` is not the key the subscription was made with (RFC 8292 §4.2);
- refused with 400 without a ``TTL`` header (RFC 8030 §5.2) or when the body does not decrypt
  (RFC 8291 / RFC 8188 aes128gcm, with the subscription's private key and auth secret);
- otherwise decrypted and recorded with its TTL, Urgency and Topic, kept as *pending* for the
  (offline) browser, replacing a pending message with the same Topic (RFC 8030 §5.4), and
  answered with the status the subscription was registered with (201 by default, with a
  Location; or e.g. 410, 429 with Retry-After).

Run: ``python push_service.py``; it prints ``{"port": N}`` once it listens on 127.0.0.1 and
stops when its stdin closes. Tests use :class:`PushService`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

MAX_TOKEN_SECONDS = 24 * 3600


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode URL-safe base64 with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_vapid(authorization: str, expected_aud: str) -> tuple[str, dict[str, Any]]:
    """The key and claims of a valid ``vapid`` Authorization; ValueError if it is not valid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("not the vapid scheme")
    fields = {}
    for part in params.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    token, key = fields.get("t", ""), fields.get("k", "")
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") != "ES256":
        raise ValueError("not ES256")
    signature = b64url_decode(signature_b64)
    if len(signature) != 64:
        raise ValueError("bad signature length")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    der = utils.encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public.verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ValueError("bad signature") from exc
    claims = json.loads(b64url_decode(payload_b64))
    now = time.time()
    if claims.get("aud") != expected_aud:
        raise ValueError("wrong audience")
    if not now < float(claims.get("exp", 0)) <= now + MAX_TOKEN_SECONDS + 60:
        raise ValueError("expired or too long-lived")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError("no contact")
    return key, claims


@dataclass
class Subscription:
    """What the push service (and the browser behind it) knows of one subscription."""

    private_key: Any  # the browser's P-256 key
    auth: bytes
    application_server_key: str
    status: int
    retry_after: str | None
    received: list[dict[str, Any]]
    pending: dict[str, dict[str, Any]]


class State:
    """The service's memory, shared by its request threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscriptions: dict[str, Subscription] = {}
        self.ids = itertools.count(1)
        self.origin = ""


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to the service's state."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the records, not a log."""

        def _answer(
            self, status: int, doc: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            body = b"" if doc is None else json.dumps(doc).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self) -> None:
            kind, _, sub_id = self.path.strip("/").partition("/")
            sub = state.subscriptions.get(sub_id)
            if sub is None or kind not in ("_received", "_pending"):
                self._answer(404)
                return
            with state.lock:
                doc = list(sub.received) if kind == "_received" else list(sub.pending.values())
            self._answer(200, doc)

        def do_POST(self) -> None:
            if self.path == "/_subscribe":
                self._subscribe()
            elif self.path.startswith("/push/"):
                self._push(self.path.removeprefix("/push/"))
            else:
                self._answer(404)

        def _subscribe(self) -> None:
            from cryptography.hazmat.primitives.asymmetric import ec

            doc = json.loads(self._body())
            raw = b64url_decode(doc["private_key"])
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            sub_id = f"s{next(state.ids)}"
            with state.lock:
                state.subscriptions[sub_id] = Subscription(
                    private_key=key,
                    auth=b64url_decode(doc["auth"]),
                    application_server_key=doc["application_server_key"],
                    status=int(doc.get("status", 201)),
                    retry_after=doc.get("retry_after"),
                    received=[],
                    pending={},
                )
            self._answer(201, {"endpoint": f"{state.origin}/push/{sub_id}"})

        def _push(self, sub_id: str) -> None:
            import http_ece  # type: ignore[import-untyped]

            body = self._body()
            sub = state.subscriptions.get(sub_id)
            if sub is None:
                self._answer(404)
                return
            try:
                key, _claims = verify_vapid(self.headers.get("Authorization", ""), state.origin)
            except (ValueError, KeyError, TypeError):
                self._answer(401, {"error": "vapid"})
                return
            if key != sub.application_server_key:
                self._answer(403, {"error": "not the key this subscription was made with"})
                return
            ttl = self.headers.get("TTL")
            if ttl is None or not ttl.isdigit():
                self._answer(400, {"error": "TTL"})
                return
            if self.headers.get("Content-Encoding") != "aes128gcm":
                self._answer(415, {"error": "content-encoding"})
                return
            try:
                plaintext = http_ece.decrypt(
                    body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
                )
            except Exception:
                self._answer(400, {"error": "decrypt"})
                return
            record = {
                "plaintext": plaintext.decode("utf-8"),
                "ttl": int(ttl),
                "urgency": self.headers.get("Urgency"),
                "topic": self.headers.get("Topic"),
                "body_bytes": len(body),
            }
            with state.lock:
                n = len(sub.received) + 1
                sub.received.append(record)
                if sub.status < 300:
                    sub.pending[record["topic"] or f"#{n}"] = record
            headers = {}
            if sub.status < 300:
                headers["Location"] = f"{state.origin}/message/{sub_id}-{n}"
            if sub.retry_after:
                headers["Retry-After"] = sub.retry_after
            self._answer(sub.status, None, headers)

    return Handler


def main() -> None:
    """Serve until stdin closes."""
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    port = server.server_address[1]
    state.origin = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(json.dumps({"port": port}), flush=True)
    sys.stdin.read()  # returns when the test closes our stdin
    server.shutdown()


@dataclass
class BrowserSubscription:
    """A subscription as a browser would hold it."""

    id: str
    info: dict[str, Any]  # the PushSubscription JSON: endpoint and keys

    def json(self) -> str:
        """What ``PushSubscription.toJSON()`` gives the page."""
        return json.dumps(self.info)


class PushService:
    """The push service process, for a test."""

    def __init__(self) -> None:
        self.origin = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"push service exited with {self._process.wait()}")
        self.origin = f"http://127.0.0.1:{json.loads(line)['port']}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    def subscribe(
        self, application_server_key: str, *, status: int = 201, retry_after: str | None = None
    ) -> BrowserSubscription:
        """Subscribe like a browser: make the key pair and auth secret, register them here."""
        import os

        import httpx
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        doc = {
            "private_key": b64url(key.private_numbers().private_value.to_bytes(32, "big")),
            "auth": b64url(auth),
            "application_server_key": application_server_key,
            "status": status,
            "retry_after": retry_after,
        }
        answer = httpx.post(f"{self.origin}/_subscribe", json=doc)
        answer.raise_for_status()
        endpoint = answer.json()["endpoint"]
        info = {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}
        return BrowserSubscription(id=endpoint.rsplit("/", 1)[1], info=info)

    def received(self, subscription: BrowserSubscription) -> list[dict[str, Any]]:
        """Every message that passed the checks for this subscription, in order."""
        import httpx

        answer = httpx.get(f"{self.origin}/_received/{subscription.id}")
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()
        return result

    def pending(self, subscription: BrowserSubscription) -> list[dict[str, Any]]:
        """The messages waiting for the (offline) browser, one per topic."""
        import httpx

        answer = httpx.get(f"{self.origin}/_pending/{subscription.id}")
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()
        return result


if __name__ == "__main__":
    main()
