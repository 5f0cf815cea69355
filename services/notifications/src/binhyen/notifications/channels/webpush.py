"""Web Push with VAPID: the alert to a resident's browser that installed the page.

Standards encoded here:

- RFC 8030 (Generic Event Delivery Using HTTP Push): the message is a POST to the
  subscription's endpoint; ``TTL`` (§5.2) is how long the push service keeps it for an
  offline browser; ``Urgency`` (§5.3) ``high`` lets a critical alert wake a sleeping phone;
  ``Topic`` (§5.4, at most 32 characters of the URL-safe base64 alphabet) makes a later
  message with the same topic *replace* an undelivered earlier one, so a resend of the same
  delivery never shows twice. 201 Created is acceptance; 404/410 say the subscription is gone
  (§7.3: stop using it); 429 and 5xx are passing; other 4xx are our fault.
- RFC 8291 (Message Encryption for Web Push) over RFC 8188 ``aes128gcm``: the payload is
  encrypted to the browser's ``p256dh`` key with its ``auth`` secret; the push service cannot
  read it. pywebpush's ``WebPusher.encode`` does this.
- RFC 8292 (VAPID, https://datatracker.ietf.org/doc/rfc8292): ``Authorization: vapid
  t=<ES256 JWT>, k=<our public key>``; the JWT's ``aud`` is the origin of the endpoint, ``exp``
  at most 24 hours ahead, ``sub`` a ``mailto:`` or ``https:`` contact. py-vapid signs it.
- RFC 9110 §10.2.3 ``Retry-After``: seconds or an HTTP date.

Why httpx and not pywebpush's own sender: pywebpush sends with requests (blocking: a thread
per send) or aiohttp (a second HTTP stack, a session per call). We take only its pure parts
(encryption, JWT signing) and POST with one shared ``httpx.AsyncClient``: connections to the
few push services are reused, redirects are not followed, the time limit is ours, and the
loop is never blocked. A signed token is reused per push-service origin until half its life.

The endpoint comes from a browser, so it is attacker-chosen: only https endpoints on the
configured push-service hosts are accepted (``check_target``), or the channel would POST
wherever a subscriber pointed it (SSRF).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pywebpush import WebPusher  # type: ignore[import-untyped]

from binhyen.notifications.channels.base import Message, Outcome, Result, retry_after_seconds

TARGET_FIELD = "subscription"
# The push services of the browsers in use (Chrome/Android/Opera/Samsung, Firefox, Edge,
# Safari). A subscription whose endpoint is elsewhere is refused.
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)
MAX_RECORD = 4096  # RFC 8291 §4: push services need accept no larger body
# aes128gcm: 86-byte header (salt 16, rs 4, idlen 1, key 65), 16-byte tag, 1 padding delimiter
MAX_PLAINTEXT = MAX_RECORD - 86 - 16 - 1
MAX_TOKEN_SECONDS = 24 * 3600  # RFC 8292 §2


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_vapid(secret: str) -> Any:
    """The VAPID signer from a PEM private key or a base64url raw (32 bytes) / DER key."""
    text = secret.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the VAPID key must be a P-256 (prime256v1) EC key")
        return Vapid02(key)
    return Vapid02.from_string(text)


class WebPushConfig(BaseModel):
    """The VAPID identity alerts are pushed with, and where pushes may go."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    vapid_private_key: SecretStr = Field(
        description="P-256 private key: PEM, or base64url of the raw 32 bytes "
        "(generate_vapid_keys makes one)."
    )
    vapid_subject: str = Field(
        description="Contact for push services: mailto:ops@example.vn or an https: URL."
    )
    push_hosts: tuple[str, ...] = Field(
        DEFAULT_PUSH_HOSTS,
        description="Hosts (and their subdomains) a subscription's endpoint may be on.",
    )
    allow_http: bool = Field(False, description="Tests only: accept http:// endpoints.")
    timeout_seconds: float = Field(10.0, gt=0, description="One attempt's time limit.")
    token_seconds: int = Field(
        12 * 3600, ge=60, le=MAX_TOKEN_SECONDS, description="Life of a signed VAPID token."
    )

    @field_validator("vapid_private_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        """The key must load (the error never shows it)."""
        try:
            _load_vapid(value.get_secret_value())
        except Exception as exc:  # the libraries raise many kinds for a bad key
            raise ValueError("not a P-256 private key (PEM or base64url raw)") from exc
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _check_subject(cls, value: str) -> str:
        """RFC 8292 §2.1: a mailto: or https: contact."""
        if not value.startswith(("mailto:", "https://")) or any(c.isspace() for c in value):
            raise ValueError("must be a mailto: or https: URI")
        return value


@dataclass(frozen=True)
class VapidKeys:
    """A VAPID key pair: the private key for the secret store, the public for the page."""

    private_key: str  # base64url of the raw 32-byte scalar
    public_key: str  # base64url of the uncompressed point: the applicationServerKey


def generate_vapid_keys() -> VapidKeys:
    """A fresh VAPID key pair (run once per deployment; keep the private key secret)."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(private_key=_b64url(raw), public_key=_public_key_of(key))


def _public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(point)


def vapid_public_key(config: WebPushConfig) -> str:
    """The application server key the page passes to ``pushManager.subscribe``."""
    return _public_key_of(_load_vapid(config.vapid_private_key.get_secret_value()).private_key)


def topic(delivery_id: str) -> str:
    """RFC 8030 Topic of a delivery: 32 URL-safe base64 characters, the same on every attempt."""
    return _b64url(hashlib.sha256(delivery_id.encode()).digest())[:32]


def parse_subscription(target: Mapping[str, str]) -> dict[str, Any]:
    """The PushSubscription JSON of a target (endpoint, keys.p256dh, keys.auth), checked."""
    raw = target.get(TARGET_FIELD)
    try:
        subscription = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        subscription = None
    if not isinstance(subscription, dict):
        raise ValueError(f"{TARGET_FIELD}: not a PushSubscription JSON object")
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise ValueError(f"{TARGET_FIELD}: endpoint and keys are required")
    try:
        p256dh = _b64url_decode(keys["p256dh"])
        auth = _b64url_decode(keys["auth"])
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{TARGET_FIELD}: keys.p256dh and keys.auth must be valid") from exc
    if len(auth) != 16:  # RFC 8291 §3.2
        raise ValueError(f"{TARGET_FIELD}: keys.auth must be 16 bytes")
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def check_target(target: Mapping[str, str], config: WebPushConfig) -> None:
    """Refuse a subscription that is malformed or points outside the allowed push services."""
    endpoint = parse_subscription(target)["endpoint"]
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if config.allow_http else ("https",)
    host = (parts.hostname or "").lower()
    if parts.scheme not in schemes or not host or parts.username or parts.password:
        raise ValueError(f"{TARGET_FIELD}: the endpoint must be an https URL of a push service")
    if not any(host == allowed or host.endswith("." + allowed) for allowed in config.push_hosts):
        raise ValueError(f"{TARGET_FIELD}: the endpoint is not on a known push service")


def payload(message: Message) -> bytes:
    """The JSON the service worker shows, cut to fit one aes128gcm record."""
    doc: dict[str, Any] = {
        "title": message.subject,
        "body": message.text,
        "url": message.ack_url,
        "alert_id": message.alert_id,
        "critical": message.critical,
        "lang": message.language,
    }
    data = json.dumps(doc, ensure_ascii=False).encode()
    while len(data) > MAX_PLAINTEXT and doc["body"]:
        excess = len(data) - MAX_PLAINTEXT
        body = doc["body"]
        # Characters are up to 4 bytes: cut at least a quarter of the excess, then retry.
        doc["body"] = body[: max(0, len(body) - max(1, math.ceil(excess / 4)) - 1)] + "…"
        if doc["body"] == "…":
            doc["body"] = ""
        data = json.dumps(doc, ensure_ascii=False).encode()
    return data


def classify(response: httpx.Response) -> Result:
    """The outcome of the push service's answer (RFC 8030 §5, §7.3)."""
    status = response.status_code
    if 200 <= status < 300:
        return Result(Outcome.SENT, provider_id=response.headers.get("location"))
    code = f"http_{status}"
    if status in (404, 410):
        return Result(Outcome.GONE, error_code=code)
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("retry-after"), now=time.time())
        return Result(Outcome.RETRY, error_code=code, retry_after=retry_after)
    return Result(Outcome.FAILED, error_code=code)


class WebPushChannel:
    """Pushes one encrypted, VAPID-signed message per attempt to a browser subscription."""

    name: ClassVar[str] = "push"
    target_fields: ClassVar[tuple[str, ...]] = (TARGET_FIELD,)

    def __init__(self, config: WebPushConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self.public_key = vapid_public_key(config)  # for the page's pushManager.subscribe
        self._vapid = _load_vapid(config.vapid_private_key.get_secret_value())
        self._tokens: dict[str, tuple[str, float]] = {}  # origin -> (Authorization, expiry)
        self._client = client or httpx.AsyncClient(
            timeout=config.timeout_seconds, follow_redirects=False
        )
        self._owns_client = client is None

    def check_target(self, target: Mapping[str, str]) -> None:
        """Refuse a target this channel cannot send to (ValueError naming the field)."""
        check_target(target, self._config)

    def _authorization(self, endpoint: str) -> str:
        """The VAPID Authorization header for the endpoint's origin (cached per origin)."""
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(origin)
        if cached and cached[1] - now > self._config.token_seconds / 2:
            return cached[0]
        expiry = int(now) + self._config.token_seconds
        claims = {"aud": origin, "exp": expiry, "sub": self._config.vapid_subject}
        header: str = self._vapid.sign(claims)["Authorization"]
        self._tokens[origin] = (header, expiry)
        return header

    async def send(self, message: Message) -> Result:
        """Encrypt, sign and POST the message to the subscription's push service."""
        try:
            check_target(message.target, self._config)
            subscription = parse_subscription(message.target)
        except ValueError:
            return Result(Outcome.FAILED, error_code="bad_target")
        endpoint = subscription["endpoint"]
        body = WebPusher(subscription).encode(payload(message), "aes128gcm")["body"]
        headers = {
            "Authorization": self._authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(max(0, message.ttl_seconds)),
            "Urgency": "high" if message.critical else "normal",
            "Topic": topic(message.delivery_id),
        }
        try:
            response = await self._client.post(
                endpoint, content=body, headers=headers, timeout=self._config.timeout_seconds
            )
        except httpx.TimeoutException:
            return Result(Outcome.RETRY, error_code="timeout")
        except httpx.HTTPError:
            return Result(Outcome.RETRY, error_code="connection_error")
        return classify(response)

    async def aclose(self) -> None:
        """Close the HTTP client if this channel made it."""
        if self._owns_client:
            await self._client.aclose()
