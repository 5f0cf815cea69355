"""What every service does at its edge: the real client address, body limits, auth first,
security headers on every answer."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pymongo.errors import ConnectionFailure
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from binhyen.kit.auth import PRINCIPAL_SCOPE_KEY, Unauthorized, current_principal
from binhyen.kit.problems import DB_DOWN_WRITE, problem

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# HTML pages (the API docs) load scripts and styles from the service itself, nothing inline
# but styles (ReDoc's components set them), and may not be framed.
HTML_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# JSON is never a page: nothing it names may load, and it may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A route that takes larger bodies (a file upload) says so in its OpenAPI operation:
# ``openapi_extra={BODY_LIMIT: 50 * 1024 * 1024}``; the document then tells clients too.
BODY_LIMIT = "x-max-body-bytes"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDRs (``10.0.0.0/8``, ``::1``); ValueError if one is not."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def client_from_forwarded(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The caller's address: the peer, or behind trusted proxies the rightmost hop of
    ``X-Forwarded-For`` that is not one of them.

    Each proxy appends the address it was reached from, so every hop right of the first
    untrusted one was written by a proxy we trust; everything left of it was written by the
    client and can be anything.
    """
    if not forwarded_for or not _trusted(_address(peer), trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:  # not an address: a trusted proxy would not write it
            return client
        client = str(address)
        if not _trusted(address, trusted):
            return client
    return client  # every hop is a proxy of ours: the leftmost is as close as we get


class Refused(StarletteHTTPException):
    """A request turned away at the edge (problem+json of ``kind``)."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.kind = kind
        self.title = title


def _size(count: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def _too_large(limit: int) -> Refused:
    return Refused(
        413,
        "payload-too-large",
        "Request too large",
        f"The request body is over {_size(limit)}; send less at a time.",
    )


def _needs_principal(dependant: Dependant) -> bool:
    if dependant.call is current_principal:
        return True
    return any(_needs_principal(sub) for sub in dependant.dependencies)


def security_headers(message: Message) -> None:
    """Add the headers every answer carries, unless the route set its own."""
    headers = MutableHeaders(scope=message)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    html = headers.get("content-type", "").startswith("text/html")
    headers.setdefault("Content-Security-Policy", HTML_CSP if html else API_CSP)
    # Answers hold personal data unless a route says otherwise (discovery, keys, docs
    # assets set their own Cache-Control): no proxy or browser cache keeps them.
    headers.setdefault("Cache-Control", "no-store")


class GuardEdge:
    """Plain ASGI middleware: client address, body limit, authentication before the body,
    security headers.

    - The client address (``request.client``) is the peer's, or, when the peer is one of
      ``trusted_proxies``, the rightmost untrusted ``X-Forwarded-For`` hop (and the scheme
      its ``X-Forwarded-Proto``). Rate limits count that address.
    - A body over ``max_body_bytes`` (or the route's ``x-max-body-bytes``) answers 413
      before it is read: from its ``Content-Length`` at once, or as soon as a streamed body
      passes the limit.
    - A route that needs a bearer token checks it before the body is read: a caller
      without a valid token gets 401 and sends its body for nothing.
    """

    def __init__(
        self, app: ASGIApp, *, trusted_proxies: Sequence[str] = (), max_body_bytes: int
    ) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies)
        self.max_body_bytes = max_body_bytes
        self._auth_routes: dict[int, bool] = {}
        self._largest: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        self._resolve_client(scope, headers)

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                security_headers(message)
            await send(message)

        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._cap(scope)):
            if length.isdigit():
                refused = _too_large(self._cap(scope))
                response = problem(413, refused.kind, refused.title, str(refused.detail))
            else:
                response = problem(
                    400, "bad-request", "Bad request", "Content-Length is not a number."
                )
            await response(scope, receive, send_guarded)
            return
        declared = int(length) if length is not None else None
        await self.app(scope, self._guard_receive(scope, receive, declared), send_guarded)

    def _cap(self, scope: Scope) -> int:
        """The largest body any route takes: more is refused before routing."""
        if self._largest is None:
            app = scope.get("app")
            limits = [self.max_body_bytes]
            if app is not None and hasattr(app, "openapi"):
                for operations in app.openapi().get("paths", {}).values():
                    for operation in operations.values():
                        if isinstance(operation, dict) and BODY_LIMIT in operation:
                            limits.append(int(operation[BODY_LIMIT]))
            self._largest = max(limits)
        return self._largest

    def _limit(self, scope: Scope) -> int:
        route = scope.get("route")
        extra = getattr(route, "openapi_extra", None) or {}
        return int(extra.get(BODY_LIMIT, self.max_body_bytes))

    def _resolve_client(self, scope: Scope, headers: Headers) -> None:
        client = scope.get("client")
        if not self.trusted or client is None:
            return
        peer = client[0]
        if not _trusted(_address(peer), self.trusted):
            return
        forwarded = ",".join(headers.getlist("x-forwarded-for"))
        host = client_from_forwarded(peer, forwarded, self.trusted)
        if host != peer:
            scope["client"] = (host, 0)
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    def _guard_receive(self, scope: Scope, receive: Receive, declared: int | None) -> Receive:
        received = 0
        limit: int | None = None  # the route's, known at the first read (routing is done)

        async def guarded() -> Message:
            nonlocal received, limit
            if limit is None:
                limit = self._limit(scope)
                await self._authenticate(scope)
                if declared is not None and declared > limit:
                    raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        return guarded

    async def _authenticate(self, scope: Scope) -> None:
        """Verify the bearer token of a route that needs one, before its body is read."""
        route = scope.get("route")
        if not isinstance(route, APIRoute) or scope.get("method") not in BODY_METHODS:
            return
        needs = self._auth_routes.get(id(route))
        if needs is None:
            needs = self._auth_routes[id(route)] = _needs_principal(route.dependant)
        if not needs:
            return
        try:
            scope[PRINCIPAL_SCOPE_KEY] = await current_principal(Request(scope))
        except Unauthorized as exc:
            raise Refused(
                401, exc.kind, exc.title, exc.detail, headers={"WWW-Authenticate": "Bearer"}
            ) from exc
        except ConnectionFailure as exc:
            # The account check needs the database. Raised here, inside the body read, any
            # other exception would be taken for an unparsable body (400): say 503 instead.
            log.warning("database unavailable", extra={"error": type(exc).__name__})
            raise Refused(
                503,
                "service-unavailable",
                "Service temporarily unavailable",
                DB_DOWN_WRITE,
                headers={"Retry-After": "5"},
            ) from exc
