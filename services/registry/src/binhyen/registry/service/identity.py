"""Use cases for identity: users, grants, tokens, signing keys."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.accounts import AccountDeactivated
from binhyen.contracts.topics import REGISTRY_ACCOUNTS
from binhyen.kit.auth import (
    EVERYWHERE,
    ROLE_PERMISSIONS,
    ROLES,
    Forbidden,
    Grant,
    Principal,
    TokenVerifier,
    authorize,
    grants_claim,
    require_permission,
)
from binhyen.kit.idempotency import (
    caller_scope,
    create_once,
    creation,
    key_reused,
    request_fingerprint,
)
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound
from binhyen.kit.runtime import Runtime
from binhyen.kit.text import nfc
from binhyen.registry.domain import identity as domain
from binhyen.registry.domain.identity import User, UserGrant
from binhyen.registry.service.common import Context
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores
from binhyen.registry.store.identity import DuplicateUsername

log = logging.getLogger(__name__)

SYSTEM = "system"  # granted_by of grants made by startup and demo code
SAVE_ATTEMPTS = 3
# How long a replica trusts what it read of an account's state: a deactivated account's
# tokens stop working at once on the replica that deactivated it, within this on the others.
ACCOUNT_STATE_SECONDS = 2.0


# passwords


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so both cases take as long.
    return _hasher().hash(uuid.uuid4().hex)


def hash_password_sync(password: str) -> str:
    """The argon2id hash of a password."""
    return _hasher().hash(password)


def verify_password_sync(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2id hash of a password, computed off the event loop."""
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``, checked off the event loop."""
    return await asyncio.to_thread(verify_password_sync, password_hash, password)


# signing keys and tokens


@dataclass(frozen=True)
class SigningKey:
    """The RSA key the registry signs tokens with, its key id, and the keys it replaced."""

    kid: str
    private_key: rsa.RSAPrivateKey
    # Keys of earlier rotations: published and trusted until their tokens expire, never used.
    previous: tuple[tuple[str, rsa.RSAPublicKey], ...] = ()

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        return _jwk(self.kid, self.private_key.public_key())

    def jwks(self) -> dict[str, Any]:
        """A JWKS document with the current public key, then the previous ones."""
        return {"keys": [self.public_jwk()] + [_jwk(kid, key) for kid, key in self.previous]}


def _jwk(kid: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public_key))
    return jwk | {"kid": kid, "use": "sig", "alg": "RS256"}


def thumbprint(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """The RFC 7638 JWK thumbprint of the key's public half (base64url SHA-256)."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    jwk = json.loads(RSAAlgorithm.to_jwk(public))
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _rsa(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key must be an RSA key")
    return key


def _rsa_public(pem: str) -> rsa.RSAPublicKey:
    if "PRIVATE KEY" in pem:
        return _rsa(pem).public_key()
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the previous signing key must be an RSA key")
    return key


async def load_signing_key(settings: Settings) -> SigningKey:
    """The keys from settings; without one (dev, test) a random key for this process only.

    The private key lives in the settings' secret (variable or file), never in MongoDB."""
    if settings.signing_key_pem is None:
        log.warning(
            "BINHYEN_REGISTRY_SIGNING_KEY_PEM is not set: signing with a random key for this "
            "process only; its tokens stop working at restart and on other replicas"
        )
        key = await asyncio.to_thread(
            rsa.generate_private_key, public_exponent=65537, key_size=2048
        )
        return SigningKey(thumbprint(key), key)
    key = _rsa(settings.signing_key_pem.get_secret_value())
    previous: tuple[tuple[str, rsa.RSAPublicKey], ...] = ()
    if settings.signing_key_previous_pem is not None:
        old = _rsa_public(settings.signing_key_previous_pem.get_secret_value())
        previous = ((settings.signing_key_previous_id or thumbprint(old), old),)
    return SigningKey(settings.signing_key_id or thumbprint(key), key, previous)


@dataclass(frozen=True)
class IssuedToken:
    """An access token and how long it lives."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105


def mint_token(user: User, *, key: SigningKey, settings: Settings) -> IssuedToken:
    """A signed RS256 access token for ``user`` carrying its grants."""
    now = int(time.time())
    ttl = settings.access_token_ttl_seconds
    claims = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": user.id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "kind": user.kind,
        "name": user.display_name,
        "grants": grants_claim([Grant(g.role, g.unit_id) for g in user.grants]),
    }
    token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
    return IssuedToken(token, ttl)


@dataclass
class TokenError(Exception):
    """An OAuth2 error answer (RFC 6749 §5.2)."""

    error: str
    description: str
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)


def _login_key(prefix: str, name: str) -> str:
    # Hashed so that whatever strangers type as a username is not stored as such.
    return prefix + hashlib.sha256(domain.username_key(name).encode()).hexdigest()


async def login(
    *,
    grant_type: str,
    name: str,
    secret: str,
    client_address: str | None,
    stores: Stores,
    key: SigningKey,
    settings: Settings,
) -> IssuedToken:
    """Check a username and password (or client id and secret); a token, or TokenError.

    An unknown name and a wrong secret give the same answer, after the same work.
    Failures are counted per name and per client address; too many within the window
    lock the name (or the address) for a time that doubles with each lockout.
    """
    client = grant_type == "client_credentials"
    error = "invalid_client" if client else "invalid_grant"
    status = 401 if client else 400
    headers = {"WWW-Authenticate": 'Basic realm="binhyen"'} if client else {}
    wrong = "the client id or secret is wrong" if client else "the username or password is wrong"
    store = stores.identity
    attempt_key = _login_key("c:" if client else "u:", name)
    address_key = _address_key(client_address)
    now = datetime.now(UTC)
    if address_key is not None:
        locked = await store.locked_until(address_key, now=now)
        if locked is not None:
            raise _locked(error, locked, now, "from your address")
    locked = await store.locked_until(attempt_key, now=now)
    if locked is not None:
        raise _locked(error, locked, now, "for this account")
    found = await store.by_username(domain.username_key(name))
    if found is None:
        await verify_password(_dummy_hash(), secret)
        ok = False
    else:
        user, password_hash = found
        ok = await verify_password(password_hash, secret)
    if not ok:
        failure = functools.partial(
            store.record_failure,
            now=now,
            window=timedelta(seconds=settings.login_window_seconds),
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            max_lockout=timedelta(seconds=settings.login_lockout_max_seconds),
            memory=timedelta(seconds=settings.login_lockout_memory_seconds),
        )
        until = await failure(attempt_key, max_failures=settings.login_max_failures)
        if address_key is not None:
            address_until = await failure(
                address_key, max_failures=settings.login_address_max_failures
            )
            if address_until is not None:
                log.warning("login locked for a client address after repeated failures")
                raise _locked(error, address_until, now, "from your address")
        if until is not None:
            log.warning("login locked after repeated failures")
            raise _locked(error, until, now, "for this account")
        raise TokenError(error, wrong, status, headers)
    assert found is not None
    user, password_hash = found
    # Only the name's count is cleared: a success must not wipe an address's failures, or
    # a sprayer could reset its count by logging into an account of its own now and then.
    await store.clear_failures(attempt_key)
    if not user.active:
        raise TokenError(error, "this account is deactivated; ask your manager", status, headers)
    if client and user.kind != "agency":
        raise TokenError("unauthorized_client", "personal accounts use grant_type=password")
    if not client and user.kind != "user":
        raise TokenError("unauthorized_client", "agency accounts use grant_type=client_credentials")
    if _hasher().check_needs_rehash(password_hash):
        await store.set_password_hash(user.id, old=password_hash, new=await hash_password(secret))
    return mint_token(user, key=key, settings=settings)


def _address_key(address: str | None) -> str | None:
    # Hashed too: a client address is personal data.
    if not address:
        return None
    return "a:" + hashlib.sha256(address.encode()).hexdigest()


def _locked(error: str, until: datetime, now: datetime, what: str) -> TokenError:
    seconds = max(1, int((until - now).total_seconds()))
    minutes = -(-seconds // 60)
    unit = "minute" if minutes == 1 else "minutes"
    return TokenError(
        error,
        f"too many failed attempts {what}; try again in {minutes} {unit}",
        429,
        {"Retry-After": str(seconds)},
    )


# users and grants


@dataclass(frozen=True)
class GrantSpec:
    """A role to give at a unit ("*" for everywhere)."""

    role: str
    unit_id: str


@dataclass(frozen=True)
class CreateUser:
    """Command: create an account with its first grants."""

    username: str
    display_name: str
    kind: str
    password: str
    grants: tuple[GrantSpec, ...] = ()
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests the same; the password is compared with its slow hash."""
        return request_fingerprint(
            {
                "username": self.username,
                "display_name": nfc(self.display_name),
                "kind": self.kind,
                "grants": [vars(g) for g in self.grants],
            }
        )


def manage_scope(principal: Principal) -> domain.Scope:
    """Units where the caller may manage users; None means everywhere."""
    return principal.scopes("users:manage")


def admin_scope(principal: Principal) -> domain.Scope:
    """Units where the caller is an administrator; None means everywhere."""
    units = [g.unit_id for g in principal.grants if g.role == domain.ADMIN_ROLE]
    return None if EVERYWHERE in units else units


async def _unit_path(stores: Stores, unit_id: str, *, field: str) -> tuple[str, ...]:
    if unit_id == EVERYWHERE:
        return (EVERYWHERE,)
    unit = await stores.units.get(unit_id)
    if unit is None:
        raise Invalid(f"unit {unit_id} does not exist", field=field)
    return (*unit.ancestor_ids, unit.id)


def _refusal(
    exc: domain.GrantRefused, principal: Principal, unit_path: Sequence[str], what: str
) -> Exception:
    """404 outside every unit the caller can see, 403 inside, like kit's ``authorize``."""
    if exc.outside_scope and not principal.allows("units:read", unit_path):
        return NotFound(f"{what} does not exist")
    return Forbidden(str(exc))


def _new_grant(spec: GrantSpec, unit_path: tuple[str, ...], granted_by: str) -> UserGrant:
    return UserGrant(
        id=str(uuid.uuid4()),
        role=spec.role,
        unit_id=spec.unit_id,
        unit_path=unit_path,
        granted_by=granted_by,
        granted_at=datetime.now(UTC).replace(microsecond=0),
    )


def holds_role(principal: Principal, role: str, unit_path: Sequence[str]) -> bool:
    """True if the caller holds every right of ``role`` at the unit of ``unit_path``."""
    return all(principal.allows(p, unit_path) for p in ROLE_PERMISSIONS.get(role, ()))


async def audit_grant(
    stores: Stores,
    actor: str,
    *,
    action: str,
    outcome: str,
    user_id: str,
    role: str,
    unit_id: str,
    grant_id: str | None = None,
    reason: str | None = None,
) -> None:
    """Append who gave (or took, or was refused) which role to whom, where and when."""
    await stores.identity.audit_grant(
        {
            "_id": str(uuid.uuid4()),
            "at": datetime.now(UTC),
            "action": action,  # grant | revoke
            "outcome": outcome,  # granted | revoked | refused
            "actor": actor,
            "user_id": user_id,
            "role": role,
            "unit_id": unit_id,
            "grant_id": grant_id,
            "reason": reason,
        }
    )


def _check_grant(
    principal: Principal,
    *,
    grantee: str,
    grantee_kind: str,
    spec: GrantSpec,
    unit_path: tuple[str, ...],
    field_prefix: str = "",
) -> None:
    try:
        domain.check_grant(
            grantor=principal.subject,
            grantee=grantee,
            grantee_kind=grantee_kind,
            role=spec.role,
            unit_path=unit_path,
            manage_scope=manage_scope(principal),
            admin_scope=admin_scope(principal),
            roles=ROLES,
            grantor_holds_role=holds_role(principal, spec.role, unit_path),
        )
    except domain.IdentityRuleViolation as exc:
        raise Invalid(str(exc), field=field_prefix + exc.field) from exc
    except domain.GrantRefused as exc:
        raise _refusal(exc, principal, unit_path, f"unit {spec.unit_id}") from exc


def _validated(username: str, kind: str, password: str) -> str:
    try:
        name = domain.normalise_username(username)
        domain.check_kind(kind)
        domain.check_password(password, username=name)
    except domain.IdentityRuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    return name


async def create_user(
    cmd: CreateUser, *, principal: Principal, stores: Stores
) -> tuple[User, bool]:
    """Create an account whose grants all lie where the caller manages users.

    Returns it and whether it was created now (False: an Idempotency-Key replay).
    """
    request = creation(
        "users",
        scope=caller_scope(principal),
        key=cmd.idempotency_key,
        fingerprint=cmd.fingerprint(),
    )

    async def create() -> User | None:
        require_permission(principal, "users:manage")
        username = _validated(cmd.username, cmd.kind, cmd.password)
        display_name = nfc(cmd.display_name)
        if not display_name:
            raise Invalid("display_name must not be blank", field="display_name")
        if not cmd.grants and manage_scope(principal) is not None:
            raise Invalid("give the new user at least one role in your units", field="grants")
        grants: list[UserGrant] = []
        for i, spec in enumerate(cmd.grants):
            path = await _checked_grant(principal, request.result_id, cmd.kind, spec, i, stores)
            if any(g.role == spec.role and g.unit_id == spec.unit_id for g in grants):
                raise Invalid("the same role at the same unit is given twice", field=f"grants.{i}")
            grants.append(_new_grant(spec, path, principal.subject))
        user = User(
            id=request.result_id,
            username=username,
            display_name=display_name,
            kind=cmd.kind,
            grants=tuple(grants),
            created_at=datetime.now(UTC).replace(microsecond=0),
        )
        try:
            await stores.identity.insert(
                user, password_hash=await hash_password(cmd.password), record=request.record
            )
        except DuplicateUsername as exc:
            if request.key and await stores.identity.get(user.id) is not None:
                return None  # made by an earlier request with this key
            raise Conflict("this username is already taken", field="username") from exc
        return user

    async def may_have(user: User) -> None:
        require_permission(principal, "users:manage")
        if not domain.can_see(
            viewer=principal.subject, user=user, manage_scope=manage_scope(principal)
        ):
            raise NotFound(f"user {user.id} does not exist")
        for i, spec in enumerate(cmd.grants):
            await _checked_grant(principal, user.id, user.kind, spec, i, stores)
        found = await stores.identity.get(user.id)
        if found is None or not await verify_password(found[1], cmd.password):
            raise key_reused()  # the same key and fields, another password

    try:
        user, created = await create_once(
            request,
            create=create,
            find=lambda: stores.identity.with_fingerprint(request.result_id),
            check=may_have,
        )
    except DomainError as exc:
        if cmd.grants and exc.status in (403, 404):
            for spec in cmd.grants:
                await audit_grant(
                    stores,
                    principal.subject,
                    action="grant",
                    outcome="refused",
                    user_id=request.result_id,
                    role=spec.role,
                    unit_id=spec.unit_id,
                    reason=exc.detail,
                )
        raise
    if created:
        for g in user.grants:
            await audit_grant(
                stores,
                principal.subject,
                action="grant",
                outcome="granted",
                user_id=user.id,
                role=g.role,
                unit_id=g.unit_id,
                grant_id=g.id,
            )
    return user, created


async def _checked_grant(
    principal: Principal, grantee: str, kind: str, spec: GrantSpec, i: int, stores: Stores
) -> tuple[str, ...]:
    """The unit path of the i-th grant of a new account, if the caller may give it."""
    path = await _unit_path(stores, spec.unit_id, field=f"grants.{i}.unit_id")
    _check_grant(
        principal,
        grantee=grantee,
        grantee_kind=kind,
        spec=spec,
        unit_path=path,
        field_prefix=f"grants.{i}.",
    )
    return path


async def _visible(user_id: str, *, principal: Principal, stores: Stores) -> tuple[User, str]:
    found = await stores.identity.get(user_id)
    if found is None or not domain.can_see(
        viewer=principal.subject, user=found[0], manage_scope=manage_scope(principal)
    ):
        raise NotFound(f"user {user_id} does not exist")
    return found


async def get_user(user_id: str, *, principal: Principal, stores: Stores) -> User:
    """The user, if the caller is that user or manages one of its units."""
    user, _ = await _visible(user_id, principal=principal, stores=stores)
    return user


def shown(user: User, principal: Principal) -> User:
    """The user with only the grants the caller may see."""
    grants = domain.visible_grants(
        user, viewer=principal.subject, manage_scope=manage_scope(principal)
    )
    return replace(user, grants=grants)


async def users_in_unit(
    unit_id: str,
    *,
    principal: Principal,
    stores: Stores,
    limit: int = 100,
    after: str | None = None,
) -> list[User]:
    """Users holding a grant at ``unit_id`` or below, if the caller manages users there."""
    path = await _unit_path(stores, unit_id, field="unit_id")
    authorize(principal, "users:manage", path, what=f"unit {unit_id}")
    return await stores.identity.in_subtree(unit_id, limit=limit, after=after)


async def _change(
    user_id: str,
    change: Callable[[User, str], User],
    *,
    principal: Principal,
    stores: Stores,
    password_hash: Callable[[], str | None] = lambda: None,
    events: Callable[[User], list[dict[str, Any]]] = lambda user: [],
) -> User:
    """Apply ``change`` with an optimistic version guard, re-reading on a concurrent write.

    ``events`` gives the outbox entries of the changed user, written in the same update.
    """
    for _ in range(SAVE_ATTEMPTS):
        user, current_hash = await _visible(user_id, principal=principal, stores=stores)
        changed = change(user, current_hash)
        if await stores.identity.save(
            changed,
            expected_version=user.version,
            password_hash=password_hash(),
            outbox=events(changed),
        ):
            return changed
    raise Conflict("the user was changed by someone else meanwhile; send the request again")


async def add_grant(
    user_id: str, spec: GrantSpec, *, principal: Principal, stores: Stores
) -> tuple[User, UserGrant]:
    """Give the user a role at a unit inside the caller's scope."""
    path = await _unit_path(stores, spec.unit_id, field="unit_id")
    grant = _new_grant(spec, path, principal.subject)

    def change(user: User, _hash: str) -> User:
        _check_grant(principal, grantee=user.id, grantee_kind=user.kind, spec=spec, unit_path=path)
        try:
            return domain.add_grant(user, grant)
        except domain.IdentityConflict as exc:
            raise Conflict(str(exc)) from exc

    audit = functools.partial(
        audit_grant,
        stores,
        principal.subject,
        action="grant",
        user_id=user_id,
        role=spec.role,
        unit_id=spec.unit_id,
    )
    try:
        user = await _change(user_id, change, principal=principal, stores=stores)
    except DomainError as exc:
        if exc.status in (403, 404):
            await audit(outcome="refused", reason=exc.detail)
        raise
    await audit(outcome="granted", grant_id=grant.id)
    return user, grant


async def revoke_grant(
    user_id: str, grant_id: str, *, principal: Principal, stores: Stores
) -> User:
    """Take a grant away from the user, if the caller could have given it."""
    taken: list[UserGrant] = []

    def change(user: User, _hash: str) -> User:
        try:
            changed, grant = domain.remove_grant(user, grant_id)
        except KeyError as exc:
            raise NotFound(f"grant {grant_id} does not exist") from exc
        try:
            domain.check_revoke(
                grantor=principal.subject,
                user=user,
                grant=grant,
                manage_scope=manage_scope(principal),
                admin_scope=admin_scope(principal),
            )
        except domain.GrantRefused as exc:
            raise _refusal(exc, principal, grant.unit_path, f"grant {grant_id}") from exc
        taken[:] = [grant]
        return changed

    user = await _change(user_id, change, principal=principal, stores=stores)
    await audit_grant(
        stores,
        principal.subject,
        action="revoke",
        outcome="revoked",
        user_id=user_id,
        role=taken[0].role,
        unit_id=taken[0].unit_id,
        grant_id=grant_id,
    )
    return user


def _check_manage_account(principal: Principal, user: User) -> None:
    try:
        domain.check_manage_account(
            manager=principal.subject,
            user=user,
            manage_scope=manage_scope(principal),
            admin_scope=admin_scope(principal),
        )
    except domain.GrantRefused as exc:
        if exc.outside_scope:
            raise NotFound(f"user {user.id} does not exist") from exc
        raise Forbidden(str(exc)) from exc


async def set_password(
    user_id: str,
    password: str,
    *,
    current_password: str | None,
    principal: Principal,
    stores: Stores,
) -> None:
    """Change a password: the user with the current one, or a manager of all its grants."""
    user, current_hash = await _visible(user_id, principal=principal, stores=stores)
    if principal.subject == user.id:
        if current_password is None:
            raise Invalid("give your current password to change it", field="current_password")
        if not await verify_password(current_hash, current_password):
            raise Invalid("the current password is wrong", field="current_password")
    else:
        _check_manage_account(principal, user)
    try:
        domain.check_password(password, username=user.username)
    except domain.IdentityRuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    new_hash = await hash_password(password)

    def change(latest: User, _hash: str) -> User:
        if latest.id != principal.subject:
            _check_manage_account(principal, latest)
        return replace(latest, version=latest.version + 1)

    await _change(
        user_id, change, principal=principal, stores=stores, password_hash=lambda: new_hash
    )
    await stores.identity.clear_failures(_login_key("u:", user.username))
    await stores.identity.clear_failures(_login_key("c:", user.username))


async def deactivate_user(user_id: str, *, principal: Principal, ctx: Context) -> User:
    """Deactivate an account: it gets no new tokens, and every service refuses its current ones.

    The registry refuses them at once; the others learn it from binhyen.registry.accounts.v1,
    whose event is written in the same update as the deactivation.
    """

    def change(user: User, _hash: str) -> User:
        _check_manage_account(principal, user)
        try:
            return domain.deactivate(user)
        except domain.IdentityConflict as exc:
            raise Conflict(str(exc)) from exc

    def events(user: User) -> list[dict[str, Any]]:
        data = AccountDeactivated(account_id=user.id, active=False, changed_at=datetime.now(UTC))
        return [outbox_entry(CloudEvent.wrap(data), ctx.topic(REGISTRY_ACCOUNTS.name))]

    user = await _change(user_id, change, principal=principal, stores=ctx.stores, events=events)
    ctx.publish_pending(ctx.stores.identity.collection.name, user.id)
    return user


async def ensure_user(
    stores: Stores,
    *,
    username: str,
    password: str,
    display_name: str,
    kind: str,
    grants: Sequence[Grant | tuple[str, str]],
) -> str:
    """Create the account unless it exists, add any missing grants; return its id.

    Idempotent and safe when several replicas run it at once (unique username).
    An existing account keeps its password.
    """
    name = _validated(username, kind, password)
    specs = [
        GrantSpec(g.role, g.unit_id) if isinstance(g, Grant) else GrantSpec(g[0], g[1])
        for g in grants
    ]
    paths = [
        await _unit_path(stores, s.unit_id, field=f"grants.{i}.unit_id")
        for i, s in enumerate(specs)
    ]
    for i, spec in enumerate(specs):
        if spec.role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}", field=f"grants.{i}.role")
    for _ in range(SAVE_ATTEMPTS):
        found = await stores.identity.by_username(domain.username_key(name))
        if found is None:
            user = User(
                id=str(uuid.uuid4()),
                username=name,
                display_name=nfc(display_name) or name,
                kind=kind,
                grants=tuple(_new_grant(s, p, SYSTEM) for s, p in zip(specs, paths, strict=True)),
                created_at=datetime.now(UTC).replace(microsecond=0),
            )
            try:
                await stores.identity.insert(user, password_hash=await hash_password(password))
            except DuplicateUsername:
                continue  # another replica created it first: read it back
            await _audit_system_grants(stores, user, user.grants)
            return user.id
        user = found[0]
        changed = user
        for spec, path in zip(specs, paths, strict=True):
            held = any(g.role == spec.role and g.unit_id == spec.unit_id for g in changed.grants)
            if not held:
                changed = domain.add_grant(changed, _new_grant(spec, path, SYSTEM))
        if changed is user:
            return user.id
        if await stores.identity.save(changed, expected_version=user.version, password_hash=None):
            added = [g for g in changed.grants if g not in user.grants]
            await _audit_system_grants(stores, changed, added)
            return user.id
    raise Conflict("the account was changed concurrently; run again")


async def _audit_system_grants(stores: Stores, user: User, grants: Sequence[UserGrant]) -> None:
    for g in grants:
        await audit_grant(
            stores,
            SYSTEM,
            action="grant",
            outcome="granted",
            user_id=user.id,
            role=g.role,
            unit_id=g.unit_id,
            grant_id=g.id,
        )


def _registry_settings(rt: Runtime) -> Settings:
    if not isinstance(rt.settings, Settings):
        raise TypeError("the registry runtime needs registry Settings")
    return rt.settings


async def on_startup(rt: Runtime, stores: Stores, settings: Settings) -> SigningKey:
    """Load or create the signing keys, trust them, ensure the bootstrap admin exists;
    return the key tokens are signed with."""
    key = await load_signing_key(settings)
    if await stores.identity.forget_stored_signing_keys():
        # Earlier versions kept a generated dev key in clear in MongoDB.
        log.warning("removed a signing key stored in the database by an earlier version")
    if rt.verifier is None:
        rt.verifier = TokenVerifier(
            issuer=settings.auth_issuer, audience=settings.auth_audience, jwks=key.jwks()
        )
    else:
        rt.verifier.add_keys(key.jwks())

    async def account_active(subject: str) -> bool:
        return await stores.identity.is_active(subject, max_age=ACCOUNT_STATE_SECONDS)

    rt.verifier.account_active = account_active
    if settings.bootstrap_admin_username and settings.bootstrap_admin_password:
        await ensure_user(
            stores,
            username=settings.bootstrap_admin_username,
            password=settings.bootstrap_admin_password.get_secret_value(),
            display_name="Administrator",
            kind="user",
            grants=[(domain.ADMIN_ROLE, EVERYWHERE)],
        )
        log.info("bootstrap admin account is present")
    return key
