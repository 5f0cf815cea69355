"""The webhook channel: one signed POST per attempt, per the Standard Webhooks spec.

Each request carries ``webhook-id`` (the delivery id: the subscriber's idempotency key, the
same on every retry), ``webhook-timestamp`` (unix seconds of this attempt) and
``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}``, keyed with the base64 part of the endpoint's ``whsec_`` secret.
During a rotation the request is signed with the current and the previous secret, so a
subscriber holding either verifies it. The body is the message's payload as compact UTF-8
JSON. Subscribers verify with ``verify`` (or any Standard Webhooks library).

Outcomes (spec, "Delivery success and failure"): 2xx delivered; 3xx failed (redirects are
never followed: the subscriber updates its URL); 410 gone (the endpoint is disabled);
408, 429 and 5xx, timeouts and network errors retried, ``Retry-After`` honoured (seconds or
an HTTP date, RFC 9110 §10.2.3, capped); other 4xx failed. Every address the name resolves to
must be public unless the development switch allows private ones (egress), and the
request goes to the checked address. A circuit breaker per endpoint spares endpoints that
keep failing (breaker).

References: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
(signature scheme, headers, secret serialization "whsec_" + base64 of 24-64 random bytes,
status handling, 15-30 s timeouts); test vector from the reference Python library's tests
(libraries/python/tests/test_webhooks.py, ``test_sign_function``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import secrets as secrets_module
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

import httpx
from pydantic import BaseModel, Field

from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.base import Message, Outcome, Result, retry_after_seconds
from binhyen.notifications.channels.breaker import CircuitBreaker
from binhyen.notifications.channels.egress import (
    ForbiddenAddress,
    IPAddress,
    Resolver,
    check_url,
    pinned_request,
    resolve_public,
    system_resolver,
)

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_MIN_BYTES: Final = 24
SECRET_MAX_BYTES: Final = 64
SIGNATURE_VERSION: Final = "v1"
RESPONSE_READ_LIMIT: Final = 64 * 1024  # bytes of an answer read (then the connection is dropped)


class WebhookConfig(BaseModel):
    """How the webhook channel sends (no secrets here: each endpoint has its own)."""

    timeout_seconds: float = Field(15.0, gt=0, description="One attempt's time limit, all told.")
    allow_private: bool = Field(
        False, description="Development only: let endpoints resolve to private addresses."
    )
    max_connections: int = Field(200, ge=1, description="Open connections per endpoint.")
    max_keepalive_connections: int = Field(
        16, ge=0, description="Idle connections kept per endpoint."
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest JSON body sent (the spec advises < 20 kB)."
    )
    retry_after_max_seconds: float = Field(
        3600.0, gt=0, description="Longest Retry-After honoured; longer ones are cut to this."
    )
    breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures that open an endpoint's circuit."
    )
    breaker_cool_down_seconds: float = Field(
        30.0, gt=0, description="How long an open circuit waits before one probe."
    )
    max_endpoints: int = Field(
        256,
        ge=1,
        description=(
            "Endpoints with a connection pool kept open; past it the least recently used idle "
            "one is closed (a later delivery to it opens a new one)."
        ),
    )
    idle_endpoint_seconds: float = Field(
        900.0, gt=0, description="An endpoint's pool unused this long is closed."
    )
    user_agent: str = "BinhYen-Notifications/1 (+Standard Webhooks)"


class WebhookVerificationError(Exception):
    """A received webhook does not verify; ``code`` says why (never the secret)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_secret(nbytes: int = 32) -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of ``nbytes`` random bytes (24-64)."""
    if not SECRET_MIN_BYTES <= nbytes <= SECRET_MAX_BYTES:
        raise ValueError(f"a secret has {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(nbytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a webhook secret is whsec_ followed by base64")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{msg_id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def verify(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> str:
    """Check a received webhook; return its ``webhook-id`` or raise WebhookVerificationError.

    ``secret`` may list several secrets (the receiver's side of a rotation). The timestamp
    must be within ``tolerance`` seconds of ``now`` (replays); one matching ``v1`` signature
    is enough. Use the raw body as received, before any JSON parsing.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    raw_signatures = lowered.get("webhook-signature")
    if not msg_id or not raw_timestamp or not raw_signatures:
        raise WebhookVerificationError("missing_header")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("invalid_timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("timestamp_out_of_tolerance")
    keys = [secret] if isinstance(secret, str) else list(secret)
    expected = [sign(k, msg_id, timestamp, body).split(",", 1)[1] for k in keys]
    for entry in raw_signatures.split(" "):
        version, _, value = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue  # other schemes (v1a) are for other verifiers
        if any(hmac.compare_digest(value.encode(), e.encode()) for e in expected):
            return msg_id
    raise WebhookVerificationError("no_matching_signature")


def check_target(target: Mapping[str, str], *, allow_private: bool) -> None:
    """Refuse a webhook target that could never be delivered to (422 on the field at fault)."""
    url = target.get("url")
    if not url:
        raise Invalid("a webhook needs a url", field="target.url")
    check_url(url, allow_private=allow_private, field="target.url")
    for name in ("secret", "secret_previous"):
        value = target.get(name)
        if value is None and name == "secret_previous":
            continue
        try:
            key = secret_key(value or "")
        except ValueError as exc:
            raise Invalid(
                f"{exc}: generate one, e.g. whsec_ + base64 of 32 random bytes",
                field=f"target.{name}",
            ) from None
        if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
            raise Invalid(
                f"a webhook secret holds {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} random bytes",
                field=f"target.{name}",
            )
    unknown = set(target) - {"url", "secret", "secret_previous"}
    if unknown:
        raise Invalid("unknown webhook target field", field=f"target.{sorted(unknown)[0]}")


def _caused_by_tls(exc: BaseException) -> bool:
    """True when a connection failed in the TLS handshake (e.g. a certificate for another name)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class _Pool:
    """One endpoint's HTTP client, with who is using it and since when it is idle."""

    client: httpx.AsyncClient
    in_use: int = 0
    last_used: float = 0.0


class WebhookChannel:
    """Standard Webhooks over one shared HTTP client (one per TLS host name)."""

    name: ClassVar[str] = "webhook"
    target_fields: ClassVar[tuple[str, ...]] = ("url", "secret")
    optional_fields: ClassVar[tuple[str, ...]] = ("secret_previous",)

    def __init__(
        self,
        config: WebhookConfig,
        *,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        verify_tls: ssl.SSLContext | bool = True,
        resolver: Resolver = system_resolver,
        idle_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._resolver = resolver
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=config.breaker_failures,
            cool_down_seconds=config.breaker_cool_down_seconds,
        )
        self._clock = clock
        self._verify_tls = verify_tls
        # One client (connection pool) per endpoint URL. A pooled connection belongs to an
        # IP address, not a name: a TLS session verified for one name must never carry
        # another's request. Slow endpoints cannot take the connections of the others. And
        # httpx's pool walks all its connections for every request it places: one shared
        # pool of 200 connections to fifty endpoints spent a quarter of the process's time
        # there; an endpoint's pool holds only its few (the dispatcher's per-target limit).
        # Bounded (``max_endpoints``, ``idle_endpoint_seconds``): endpoint URLs come and go
        # with the policies, and a pool per URL ever used would only grow.
        self._clients: dict[str, _Pool] = {}
        self._monotonic = idle_clock
        self._next_look = 0.0  # when idle pools are looked for next (besides on a new one)

    @property
    def open_endpoints(self) -> int:
        """Endpoints with a connection pool open now."""
        return len(self._clients)

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: egress checks must hold
            verify=self._verify_tls,
            timeout=self.config.timeout_seconds,
            limits=httpx.Limits(
                max_connections=self.config.max_connections,
                max_keepalive_connections=self.config.max_keepalive_connections,
            ),
            headers={"User-Agent": self.config.user_agent},
        )

    @contextlib.asynccontextmanager
    async def _client_for(self, url: httpx.URL) -> AsyncIterator[httpx.AsyncClient]:
        """The endpoint's pool, held while a request uses it (a pool in use is never closed)."""
        key = str(url.copy_with(query=None, fragment=None))
        pool = self._clients.pop(key, None)
        opened = pool is None
        pool = pool or _Pool(self._new_client())
        self._clients[key] = pool  # most recently used last
        pool.in_use += 1
        # The table is looked over when it grew, or now and then: not on every request.
        if opened or self._monotonic() >= self._next_look:
            await self._close_idle(keep=key)
        try:
            yield pool.client
        finally:
            pool.in_use -= 1
            pool.last_used = self._monotonic()

    async def _close_idle(self, *, keep: str) -> None:
        """Close pools idle too long, and the least recently used idle ones past the limit."""
        now = self._monotonic()
        self._next_look = now + self.config.idle_endpoint_seconds / 10
        idle = [
            k for k, p in self._clients.items()
            if k != keep and p.in_use == 0
        ]  # fmt: skip
        over = len(self._clients) - self.config.max_endpoints
        closing = [
            k for n, k in enumerate(idle)
            if n < over or now - self._clients[k].last_used > self.config.idle_endpoint_seconds
        ]  # fmt: skip
        # Out of the table first, all at once: nothing can take a pool while it closes.
        pools = [self._clients.pop(k) for k in closing]
        for pool in pools:
            await pool.client.aclose()

    async def send(self, message: Message) -> Result:
        """POST the signed payload once; classify the answer."""
        prepared = self._prepare(message)
        if isinstance(prepared, Result):
            return prepared
        url, body, secrets = prepared
        key = str(url)
        wait = self.breaker.acquire(key)
        if wait is not None:
            return Result(Outcome.RETRY, error_code="circuit_open", retry_after=wait)
        try:
            result, healthy = await self._attempt(message, url, body, secrets)
        except BaseException:
            self.breaker.abandon(key)
            raise
        if healthy is True:
            self.breaker.success(key)
        elif healthy is False:
            self.breaker.failure(key)
        else:
            self.breaker.abandon(key)
        return result

    def _prepare(self, message: Message) -> Result | tuple[httpx.URL, bytes, list[str]]:
        """The URL, body and signing secrets, or the FAILED result that stops here."""
        target = message.target
        try:
            url = httpx.URL(target["url"])
            secrets = [target["secret"]] + (
                [target["secret_previous"]] if target.get("secret_previous") else []
            )
            for secret in secrets:
                secret_key(secret)
        except (KeyError, ValueError, httpx.InvalidURL):
            return Result(Outcome.FAILED, error_code="invalid_target")
        if url.scheme not in ("http", "https") or not url.host or url.userinfo:
            return Result(Outcome.FAILED, error_code="invalid_target")
        if "." in message.delivery_id or not message.delivery_id:
            # The id is part of the signed content; a "." would make it ambiguous (spec).
            return Result(Outcome.FAILED, error_code="invalid_id")
        try:
            body = json.dumps(
                dict(message.payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except (TypeError, ValueError):
            return Result(Outcome.FAILED, error_code="invalid_payload")
        if len(body) > self.config.max_body_bytes:
            return Result(Outcome.FAILED, error_code="payload_too_large")
        return url, body, secrets

    async def _attempt(
        self, message: Message, url: httpx.URL, body: bytes, secrets: list[str]
    ) -> tuple[Result, bool | None]:
        """One attempt; the result and whether the endpoint answered (None: nothing learnt)."""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with (
                self._client_for(url) as client,
                asyncio.timeout(self.config.timeout_seconds),
            ):
                addresses = await resolve_public(
                    url.host, port, allow_private=self.config.allow_private, resolver=self._resolver
                )
                timestamp = int(self._clock())
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": message.delivery_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": signature_header(
                        secrets, message.delivery_id, timestamp, body
                    ),
                }
                status, retry_after = await self._post(client, url, addresses, headers, body)
        except ForbiddenAddress as refused:
            return Result(Outcome.FAILED, error_code=refused.reason), None
        except socket.gaierror:
            return Result(Outcome.RETRY, error_code="dns_error"), False
        except (TimeoutError, httpx.TimeoutException):
            return Result(Outcome.RETRY, error_code="timeout"), False
        except httpx.ConnectError as exc:
            code = "tls_error" if _caused_by_tls(exc) else "connect_error"
            return Result(Outcome.RETRY, error_code=code), False
        except (httpx.TransportError, OSError):
            return Result(Outcome.RETRY, error_code="network_error"), False
        return self._classify(status, retry_after)

    async def _post(
        self,
        client: httpx.AsyncClient,
        url: httpx.URL,
        addresses: Sequence[IPAddress],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, str | None]:
        """POST to the first checked address that accepts a connection; status, Retry-After."""
        last: httpx.ConnectError | None = None
        for address in addresses:
            request = pinned_request(
                client,
                "POST",
                url,
                address,
                headers=headers,
                content=body,
                timeout=self.config.timeout_seconds,
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last = exc
                continue
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > RESPONSE_READ_LIMIT:
                        break  # the answer's body says nothing we need
            finally:
                await response.aclose()
            return response.status_code, response.headers.get("Retry-After")
        assert last is not None  # resolve_public returns at least one address
        raise last

    def _classify(self, status: int, retry_after: str | None) -> tuple[Result, bool | None]:
        if 200 <= status < 300:
            return Result(Outcome.DELIVERED), True
        code = f"http_{status}"
        # An answer other than 408/429/5xx says the endpoint is up, whatever it thinks of us.
        if status == 410:
            return Result(Outcome.GONE, error_code=code), True
        if status in (408, 429) or 500 <= status < 600:
            wait = retry_after_seconds(
                retry_after, now=self._clock(), cap=self.config.retry_after_max_seconds
            )
            return Result(Outcome.RETRY, error_code=code, retry_after=wait), False
        if 300 <= status < 400:
            return Result(Outcome.FAILED, error_code="redirect"), True
        return Result(Outcome.FAILED, error_code=code), True

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools = list(self._clients.values())
        self._clients.clear()
        for pool in pools:
            await pool.client.aclose()
