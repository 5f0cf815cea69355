"""Password hashing, token signing and the settings that refuse weak secrets (no servers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from binhyen.kit.auth import TokenVerifier
from binhyen.registry.domain.identity import User, UserGrant
from binhyen.registry.service import identity as service
from binhyen.registry.settings import Settings


def _pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_argon2_hash_round_trip() -> None:
    hashed = service.hash_password_sync("một mật khẩu dài")
    assert hashed.startswith("$argon2id$")
    assert "một mật khẩu dài" not in hashed
    assert service.verify_password_sync(hashed, "một mật khẩu dài")
    assert not service.verify_password_sync(hashed, "một mật khẩu dàI")
    assert not service.verify_password_sync("not a hash", "một mật khẩu dài")
    assert service.hash_password_sync("một mật khẩu dài") != hashed  # salted


async def test_async_hashing_runs_off_the_loop_and_agrees() -> None:
    hashed = await service.hash_password("correct horse battery")
    assert await service.verify_password(hashed, "correct horse battery")
    assert not await service.verify_password(hashed, "wrong horse battery")


async def test_minted_token_verifies_with_the_published_jwks() -> None:
    settings = Settings(auth_issuer="http://registry.test")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = service.SigningKey(service.thumbprint(private), private)
    grant = UserGrant("g", "commune_officer", "ky-nam", ("ky-nam",), "x", datetime.now(UTC))
    user = User("u-1", "officer", "Cán bộ xã", "user", grants=(grant,))
    issued = service.mint_token(user, key=key, settings=settings)
    assert jwt.get_unverified_header(issued.access_token)["kid"] == key.kid
    verifier = TokenVerifier(issuer="http://registry.test", audience="binhyen", jwks=key.jwks())
    principal = await verifier.verify(issued.access_token)
    assert (principal.subject, principal.kind, principal.name) == ("u-1", "user", "Cán bộ xã")
    assert principal.allows("users:manage", ["ha-tinh", "ky-anh", "ky-nam", "tan-thanh"])
    assert not principal.allows("users:manage", ["ha-tinh", "ky-anh", "ky-bac"])
    public = key.jwks()["keys"][0]
    assert "d" not in public and "p" not in public  # never the private part
    assert key.kid == service.thumbprint(private)


# What prod needs besides the signing key (kit settings, discovery).
PROD: dict[str, Any] = {
    "metrics_token": "a-metrics-token-0123456789",
    "public_url": "https://registry.example.vn",
}


def test_prod_refuses_a_missing_signing_key() -> None:
    with pytest.raises(ValidationError, match="SIGNING_KEY_PEM"):
        Settings(environment="prod", **PROD)
    Settings(environment="prod", signing_key_pem=_pem(), **PROD)


def test_prod_refuses_to_start_without_a_public_url() -> None:
    # The discovery document would otherwise name whatever Host header a caller sent.
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        Settings(environment="prod", signing_key_pem=_pem(), metrics_token="m" * 20)
    with pytest.raises(ValidationError, match="PUBLIC_URL"):
        Settings(environment="prod", signing_key_pem=_pem(), **PROD | {"public_url": "reg.vn"})
    assert Settings(public_url=None).public_url is None  # dev: the request's own URL


def test_a_previous_signing_key_needs_a_current_one_and_may_be_public_only() -> None:
    with pytest.raises(ValidationError, match="SIGNING_KEY_PREVIOUS_PEM needs a current"):
        Settings(signing_key_previous_pem=_pem())
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = old.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = Settings(signing_key_pem=_pem(), signing_key_previous_pem=public.decode())
    assert settings.signing_key_previous_pem is not None
    with pytest.raises(ValidationError, match="at least 2048 bits"):
        Settings(signing_key_pem=_pem(), signing_key_previous_pem=_pem(1024))


async def test_the_jwks_publishes_the_current_key_then_the_previous_one() -> None:
    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = service.SigningKey("new", new, previous=(("old", old.public_key()),))
    assert [k["kid"] for k in key.jwks()["keys"]] == ["new", "old"]
    assert all("d" not in k for k in key.jwks()["keys"])
    user = User("u-1", "officer", "Cán bộ xã", "user")
    settings = Settings(auth_issuer="http://registry.test")
    verifier = TokenVerifier(issuer="http://registry.test", audience="binhyen", jwks=key.jwks())
    signed_before = service.SigningKey("old", old)
    token = service.mint_token(user, key=signed_before, settings=settings).access_token
    assert (await verifier.verify(token)).subject == "u-1"


def test_the_old_demo_admin_password_is_a_placeholder() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(
            environment="prod",
            signing_key_pem=_pem(),
            bootstrap_admin_username="admin",
            bootstrap_admin_password="binhyen-admin-2026",
            public_url="https://registry.example.vn",
            metrics_token="a-metrics-token-of-enough-length",
        )


def test_a_weak_or_malformed_signing_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="PEM"):
        Settings(signing_key_pem="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    with pytest.raises(ValidationError, match="2048"):
        Settings(signing_key_pem=_pem(1024))


def test_prod_refuses_a_placeholder_bootstrap_password_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="placeholder") as refused:
        Settings(
            environment="prod",
            signing_key_pem=_pem(),
            **PROD,
            bootstrap_admin_username="root",
            bootstrap_admin_password="password123",
        )
    assert "password123" not in str(refused.value)
    with pytest.warns(UserWarning, match="placeholder"):
        Settings(bootstrap_admin_username="root", bootstrap_admin_password="password123")


def test_bootstrap_admin_needs_both_username_and_a_long_password() -> None:
    with pytest.raises(ValidationError, match="both"):
        Settings(bootstrap_admin_username="root")
    with pytest.raises(ValidationError, match="10 characters") as refused:
        Settings(bootstrap_admin_username="root", bootstrap_admin_password="short")
    assert "short'" not in str(refused.value)


def test_registry_verifies_its_own_tokens_by_default() -> None:
    assert Settings().auth_jwks_url is None
