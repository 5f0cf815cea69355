"""HTTP API for identity: the OAuth2 token endpoint, JWKS, discovery, users and grants."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from binhyen.kit.auth import ROLES, CurrentPrincipal
from binhyen.kit.runtime import context_of, runtime_of
from binhyen.kit.text import SafeText
from binhyen.registry.api.common import PROBLEMS, ContextDep, IdempotencyKey, StoresDep
from binhyen.registry.domain.identity import User, UserGrant
from binhyen.registry.service import identity as service
from binhyen.registry.service.common import Context
from binhyen.registry.settings import Settings

router = APIRouter(tags=["identity"])

TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)
JWKS_PATH = "/.well-known/jwks.json"
GRANT_TYPES = ("password", "client_credentials")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _settings(request: Request) -> Settings:
    settings = runtime_of(request).settings
    assert isinstance(settings, Settings)
    return settings


def _signing_key(request: Request) -> service.SigningKey:
    key = context_of(request, Context).signing_key
    assert key is not None  # loaded at start-up, before any request
    return key


# schemas


class GrantCreate(BaseModel):
    """A role to give at a unit."""

    model_config = ConfigDict(extra="forbid")

    role: SafeText = Field(max_length=40, description=f"One of: {', '.join(ROLES)}.")
    unit_id: SafeText = Field(
        min_length=1, max_length=64, description='Admin unit (and its subtree); "*" everywhere.'
    )


class GrantRead(BaseModel):
    """A role a user holds at a unit."""

    id: str
    role: str
    unit_id: str
    granted_by: str
    granted_at: datetime

    @classmethod
    def of(cls, grant: UserGrant) -> GrantRead:
        """Build the response from a domain grant."""
        return cls(
            id=grant.id,
            role=grant.role,
            unit_id=grant.unit_id,
            granted_by=grant.granted_by,
            granted_at=grant.granted_at,
        )


class UserCreate(BaseModel):
    """A new account with its first grants."""

    model_config = ConfigDict(extra="forbid")

    username: SafeText = Field(
        min_length=3,
        max_length=64,
        description="Unique, case-insensitive; letters, digits . _ - @ +",
    )
    display_name: SafeText = Field(
        min_length=1, max_length=200, description="Name shown to others."
    )
    kind: Literal["user", "agency"] = Field(
        "user",
        description="user: a person (password grant); agency: a client (client_credentials).",
    )
    password: SafeText = Field(
        min_length=10, max_length=1024, description="At least 10 characters; never returned."
    )
    grants: list[GrantCreate] = Field(default_factory=list, max_length=50)


class UserRead(BaseModel):
    """An account (its password is never returned)."""

    id: str
    username: str
    display_name: str
    kind: str
    active: bool
    grants: list[GrantRead]
    version: int

    @classmethod
    def of(cls, user: User) -> UserRead:
        """Build the response from a domain user."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            kind=user.kind,
            active=user.active,
            grants=[GrantRead.of(g) for g in user.grants],
            version=user.version,
        )


class PasswordChange(BaseModel):
    """A new password; your current one when you change your own."""

    model_config = ConfigDict(extra="forbid")

    password: SafeText = Field(min_length=10, max_length=1024)
    current_password: SafeText | None = Field(None, max_length=1024)


class MeGrant(BaseModel):
    """A grant carried by the caller's token."""

    role: str
    unit_id: str


class Me(BaseModel):
    """Who the caller is, as the token says."""

    subject: str
    kind: str
    name: str | None
    grants: list[MeGrant]


class TokenResponse(BaseModel):
    """An OAuth2 access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int


# OAuth2 and discovery


OAUTH: dict[str, Any] = {"content": {"application/json": {}}}  # how _oauth_error answers


def _oauth_error(exc: service.TokenError) -> JSONResponse:
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=NO_STORE | exc.headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


_FORM_FIELDS = {
    "grant_type": {"type": "string", "enum": list(GRANT_TYPES)},
    "username": {"type": "string", "description": "grant_type=password"},
    "password": {"type": "string", "format": "password", "description": "grant_type=password"},
    "client_id": {"type": "string", "description": "grant_type=client_credentials"},
    "client_secret": {"type": "string", "format": "password"},
    "scope": {"type": "string", "description": "ignored: grants come from the account"},
}


@router.post(
    TOKEN_PATH,
    response_model=TokenResponse,
    summary="OAuth2 token endpoint (password, client_credentials)",
    responses={
        # RFC 6749 §5.2 errors are plain JSON ({"error": …}), not problem+json.
        400: {"description": "RFC 6749 §5.2 error: invalid_request, invalid_grant, …", **OAUTH},
        401: {"description": "invalid_client", **OAUTH},
        429: {"description": "Locked for a while after repeated failures", **OAUTH},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": _FORM_FIELDS,
                        "required": ["grant_type"],
                    }
                }
            },
        }
    },
)
async def token(request: Request, stores: StoresDep) -> JSONResponse:
    """Exchange a username and password, or a client id and secret, for an access token."""
    try:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    except Exception:  # unreadable body: an OAuth2 error, never a 500
        fields = {}
    grant_type = fields.get("grant_type", "")
    if grant_type == "password":
        name, secret = fields.get("username", ""), fields.get("password", "")
        missing = "username and password"
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        name, secret = basic or (fields.get("client_id", ""), fields.get("client_secret", ""))
        missing = "client_id and client_secret"
    elif not grant_type:
        return _oauth_error(
            service.TokenError("invalid_request", "send grant_type as a form field")
        )
    else:
        return _oauth_error(
            service.TokenError(
                "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}"
            )
        )
    if not name or not secret or len(name) > 200 or len(secret) > 1024:
        return _oauth_error(service.TokenError("invalid_request", f"send {missing}"))
    try:
        issued = await service.login(
            grant_type=grant_type,
            name=name,
            secret=secret,
            # The connection's address; behind a proxy, uvicorn takes it from
            # X-Forwarded-For when the proxy is listed in FORWARDED_ALLOW_IPS.
            client_address=request.client.host if request.client else None,
            stores=stores,
            key=_signing_key(request),
            settings=_settings(request),
        )
    except service.TokenError as exc:
        return _oauth_error(exc)
    body = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.get(JWKS_PATH, summary="Public keys that verify the registry's tokens (JWKS)")
async def jwks(request: Request) -> JSONResponse:
    """The registry's token signing keys, public halves only."""
    return JSONResponse(
        _signing_key(request).jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/.well-known/openid-configuration", summary="Minimal OpenID Connect discovery")
async def openid_configuration(request: Request) -> dict[str, object]:
    """Where the issuer, its keys and its token endpoint are."""
    settings = _settings(request)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return {
        "issuer": settings.auth_issuer,
        "jwks_uri": base + JWKS_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["token"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "kind", "name", "grants"],
    }


@router.get("/api/v1/auth/me", response_model=Me, responses=PROBLEMS, summary="Who am I")
async def me(principal: CurrentPrincipal) -> Me:
    """The caller's subject, kind, name and grants, from the token."""
    return Me(
        subject=principal.subject,
        kind=principal.kind,
        name=principal.name,
        grants=[MeGrant(role=g.role, unit_id=g.unit_id) for g in principal.grants],
    )


# users and grants


@router.post(
    "/api/v1/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=PROBLEMS,
    summary="Create a user with initial grants",
)
async def create_user(
    body: UserCreate,
    response: Response,
    stores: StoresDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> UserRead:
    """Create an account; every grant must lie where you may manage users."""
    user, created = await service.create_user(
        service.CreateUser(
            username=body.username,
            display_name=body.display_name,
            kind=body.kind,
            password=body.password,
            grants=tuple(service.GrantSpec(g.role, g.unit_id) for g in body.grants),
            idempotency_key=idempotency_key,
        ),
        principal=principal,
        stores=stores,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.of(service.shown(user, principal))


@router.get("/api/v1/users", response_model=list[UserRead], responses=PROBLEMS, summary="Users")
async def list_users(
    stores: StoresDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[
        SafeText,
        Query(min_length=1, max_length=64, description="Users with grants in this subtree."),
    ],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[
        SafeText | None, Query(max_length=64, description="Last id of the page.")
    ] = None,
) -> list[UserRead]:
    """Users holding a role at the unit or below it, ordered by id."""
    users = await service.users_in_unit(
        unit_id, principal=principal, stores=stores, limit=limit, after=after
    )
    return [UserRead.of(service.shown(u, principal)) for u in users]


@router.get(
    "/api/v1/users/{user_id}", response_model=UserRead, responses=PROBLEMS, summary="A user"
)
async def read_user(user_id: str, stores: StoresDep, principal: CurrentPrincipal) -> UserRead:
    """One account: yourself, or one holding a role where you manage users."""
    user = await service.get_user(user_id, principal=principal, stores=stores)
    return UserRead.of(service.shown(user, principal))


@router.post(
    "/api/v1/users/{user_id}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=PROBLEMS,
    summary="Give a user a role at a unit",
)
async def add_grant(
    user_id: str, body: GrantCreate, stores: StoresDep, principal: CurrentPrincipal
) -> UserRead:
    """Add a grant inside your scope; only an admin may grant admin; never to yourself."""
    user, _ = await service.add_grant(
        user_id,
        service.GrantSpec(body.role, body.unit_id),
        principal=principal,
        stores=stores,
    )
    return UserRead.of(service.shown(user, principal))


@router.delete(
    "/api/v1/users/{user_id}/grants/{grant_id}",
    response_model=UserRead,
    responses=PROBLEMS,
    summary="Take a role away",
)
async def revoke_grant(
    user_id: str, grant_id: str, stores: StoresDep, principal: CurrentPrincipal
) -> UserRead:
    """Remove a grant you could have given."""
    user = await service.revoke_grant(user_id, grant_id, principal=principal, stores=stores)
    return UserRead.of(service.shown(user, principal))


@router.post(
    "/api/v1/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PROBLEMS,
    summary="Set a password",
)
async def set_password(
    user_id: str, body: PasswordChange, stores: StoresDep, principal: CurrentPrincipal
) -> Response:
    """Your own (with the current one), or a user's whose every grant you manage."""
    await service.set_password(
        user_id,
        body.password,
        current_password=body.current_password,
        principal=principal,
        stores=stores,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/users/{user_id}/deactivate",
    response_model=UserRead,
    responses=PROBLEMS,
    summary="Deactivate a user",
)
async def deactivate_user(user_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> UserRead:
    """The account can get no new tokens, and its current ones stop working in every service."""
    user = await service.deactivate_user(user_id, principal=principal, ctx=ctx)
    return UserRead.of(service.shown(user, principal))
