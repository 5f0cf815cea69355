"""Identity and access: bearer JWTs verified from a JWKS, roles scoped to subtrees.

A user holds grants: a role at an admin unit. A grant covers that unit and its whole
subtree, so "commune officer of Kỳ Nam" may act on every hamlet of Kỳ Nam and on
nothing else. An object's *unit path* is the ids of its unit and all the unit's
ancestors; a grant applies when its unit is on that path. Keys come from a JWKS
(a URL, so any OpenID Connect provider can issue tokens, or a static document).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import httpx
import jwt
from fastapi import Depends, Request
from jwt import PyJWK

from binhyen.kit.problems import DomainError, NotFound

EVERYWHERE = "*"  # a grant at "*" covers the whole country

# Permissions are "<resource>:<action>"; services check them, roles bundle them.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "commune_officer": frozenset(
        {
            "units:read",
            "units:write",
            "households:read",
            "households:write",
            "people:read",
            "people:write",
            "organisations:read",
            "organisations:write",
            "tasks:read",
            "tasks:write",
            "enrolments:read",
            "enrolments:write",
            "imports:run",
            "stats:read",
            "reports:read",
            "evaluations:read",
            "evaluations:propose",
            "evaluations:decide",
            "users:manage",
            "public:read",
            "incidents:read",
            "incidents:write",
            "incidents:report",
            "alerts:read",
            "alerts:strike",
            "alerts:report",
            "policies:read",
            "policies:write",
            "endpoints:write",
        }
    ),
    "hamlet_officer": frozenset(
        {
            "units:read",
            "households:read",
            "households:write",
            "people:read",
            "people:write",
            "organisations:read",
            "organisations:write",
            "tasks:read",
            "tasks:write",
            "enrolments:read",
            "enrolments:write",
            "imports:run",
            "stats:read",
            "reports:read",
            "evaluations:read",
            "evaluations:propose",
            "public:read",
            "incidents:read",
            "incidents:write",
            "incidents:report",
            "alerts:read",
            "alerts:strike",
            "alerts:report",
            "policies:read",
            "policies:write",
        }
    ),
    "team_member": frozenset(
        {
            "units:read",
            "organisations:read",
            "tasks:read",
            "stats:read",
            "reports:read",
            "public:read",
            "incidents:read",
            "incidents:report",
            "alerts:read",
        }
    ),
    # The leader of a hamlet's team: a team member who may also strike the hamlet's gong.
    "team_leader": frozenset(
        {
            "units:read",
            "organisations:read",
            "tasks:read",
            "stats:read",
            "reports:read",
            "public:read",
            "incidents:read",
            "incidents:report",
            "alerts:read",
            "alerts:strike",
        }
    ),
    "police": frozenset(
        {
            "units:read",
            "households:read",
            "people:read",
            "organisations:read",
            "stats:read",
            "reports:read",
            "evaluations:read",
            "public:read",
            "incidents:read",
            "incidents:write",
            "incidents:unmask",
            "incidents:report",
            "alerts:read",
            "alerts:strike",
            "alerts:report",
            "policies:read",
        }
    ),
    "agency": frozenset({"units:read", "stats:read", "public:read"}),
    # A resident with an account: reports in their hamlet, sees only their own reports.
    "resident": frozenset({"incidents:report"}),
}
ROLES = tuple(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Grant:
    """A role held at an admin unit (and its subtree)."""

    role: str
    unit_id: str


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what grants."""

    subject: str
    kind: Literal["user", "agency", "service"] = "user"
    grants: tuple[Grant, ...] = ()
    name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def allows(self, permission: str, unit_path: Collection[str]) -> bool:
        """True if some grant gives ``permission`` on an object at ``unit_path``."""
        return any(
            (grant.unit_id == EVERYWHERE or grant.unit_id in unit_path)
            and _has(grant.role, permission)
            for grant in self.grants
        )

    def scopes(self, permission: str) -> list[str] | None:
        """Units under which ``permission`` holds; None means everywhere, [] nowhere."""
        units = [g.unit_id for g in self.grants if _has(g.role, permission)]
        return None if EVERYWHERE in units else units

    def has_permission(self, permission: str) -> bool:
        """True if ``permission`` holds anywhere."""
        return any(_has(g.role, permission) for g in self.grants)


def _has(role: str, permission: str) -> bool:
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    return "*" in granted or permission in granted


class Unauthorized(DomainError):
    """No valid bearer token."""

    status, kind, title = 401, "unauthorized", "Authentication required"
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012


class Forbidden(DomainError):
    """The caller's roles do not allow this action."""

    status, kind, title = 403, "forbidden", "Not allowed"


def authorize(
    principal: Principal, permission: str, unit_path: Collection[str], *, what: str
) -> None:
    """Raise unless ``principal`` may do ``permission`` on ``what`` at ``unit_path``.

    An object outside every grant answers 404, as if it did not exist, so callers
    cannot probe for objects outside their scope; inside the scope but without the
    permission, 403.
    """
    if principal.allows(permission, unit_path):
        return
    readable = any(
        principal.allows(p, unit_path) for p in (f"{permission.split(':')[0]}:read", "units:read")
    )
    if readable:
        raise Forbidden(f"your roles do not allow {permission} on {what}")
    raise NotFound(f"{what} does not exist")


def require_permission(principal: Principal, permission: str) -> None:
    """Raise 403 unless ``permission`` holds somewhere."""
    if not principal.has_permission(permission):
        raise Forbidden(f"your roles do not allow {permission}")


class TokenVerifier:
    """Verifies bearer JWTs against keys from a JWKS URL or a static JWKS document."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        refresh_seconds: float = 300.0,
    ) -> None:
        if jwks_url is None and jwks is None:
            raise ValueError("a JWKS URL or a JWKS document is needed")
        self._issuer = issuer
        self._audience = audience
        self._url = jwks_url
        self._keys: dict[str, PyJWK] = {}
        self._pinned: dict[str, PyJWK] = {}  # from add_keys; kept when the JWKS is refetched
        self._fetched = 0.0
        self._refresh = refresh_seconds
        self._lock = asyncio.Lock()
        # False for a subject whose account is deactivated, so its tokens stop working before
        # they expire: set by the registry (it keeps the accounts) and by the runtime for a
        # service with ``follow_accounts`` (kit.accounts, from binhyen.registry.accounts.v1).
        self.account_active: Callable[[str], Awaitable[bool]] | None = None
        if jwks is not None:
            self.set_keys(jwks)

    def add_keys(self, jwks: dict[str, Any]) -> None:
        """Trust the keys of a JWKS document as well (e.g. the service's own issuer)."""
        added = {key["kid"]: PyJWK(key) for key in jwks.get("keys", []) if "kid" in key}
        self._pinned.update(added)
        self._keys.update(added)

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Replace the known keys with those of a JWKS document (keys from add_keys stay)."""
        fetched = {key["kid"]: PyJWK(key) for key in jwks.get("keys", []) if "kid" in key}
        self._keys = fetched | self._pinned
        self._fetched = time.monotonic()

    async def _key(self, kid: str) -> PyJWK:
        key = self._keys.get(kid)
        stale = time.monotonic() - self._fetched > self._refresh
        if (key is None or stale) and self._url is not None:
            async with self._lock:
                if time.monotonic() - self._fetched > 5 or not self._keys:
                    async with httpx.AsyncClient(timeout=5) as client:
                        response = await client.get(self._url)
                        response.raise_for_status()
                        self.set_keys(response.json())
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("the token was signed with an unknown key")
        return key

    async def verify(self, token: str) -> Principal:
        """The principal a valid token stands for; Unauthorized otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            key = await self._key(str(header.get("kid", "")))
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256", "ES256", "EdDSA"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except httpx.HTTPError as exc:
            raise Unauthorized("the token's signing keys cannot be fetched now") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        principal = principal_from_claims(claims)
        if self.account_active is not None and not await self.account_active(principal.subject):
            raise Unauthorized("this account is deactivated; ask your manager")
        return principal


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Build a principal from verified JWT claims (``grants``: [{role, unit}])."""
    grants = tuple(
        Grant(str(g["role"]), str(g["unit"]))
        for g in claims.get("grants", [])
        if isinstance(g, dict) and g.get("role") in ROLE_PERMISSIONS and "unit" in g
    )
    kind = claims.get("kind", "user")
    if kind not in ("user", "agency", "service"):
        kind = "user"
    return Principal(
        subject=str(claims["sub"]),
        kind=kind,
        grants=grants,
        name=claims.get("name"),
        claims=claims,
    )


def grants_claim(grants: Sequence[Grant]) -> list[dict[str, str]]:
    """The ``grants`` claim for a token."""
    return [{"role": g.role, "unit": g.unit_id} for g in grants]


# Where the edge keeps the caller it verified before reading the body (kit.edge).
PRINCIPAL_SCOPE_KEY = "binhyen.principal"


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    verified = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(verified, Principal):
        return verified
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send a bearer token: Authorization: Bearer <token>")
    verifier: TokenVerifier | None = request.app.state.runtime.verifier
    if verifier is None:
        raise Unauthorized("this service has no token verification keys configured")
    return await verifier.verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def load_jwks(text: str) -> dict[str, Any]:
    """Parse a JWKS document given as JSON text."""
    data: dict[str, Any] = json.loads(text)
    return data
