"""Registry settings (env prefix BINHYEN_REGISTRY_)."""

from __future__ import annotations

import warnings
from typing import Self

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import ServiceSettings

# Values copied from examples and templates; never acceptable as a real secret.
PLACEHOLDER_SECRETS = frozenset(
    {
        "changethis",
        "changeme",
        "change-me",
        "password",
        "password123",
        "secret",
        "admin",
        "binhyen-admin-2026",  # the demo's administrator password of earlier versions
    }
)


class Settings(ServiceSettings):
    """Settings of the registry service."""

    # Secrets must not appear in the errors of a refused configuration.
    model_config = SettingsConfigDict(
        env_prefix="BINHYEN_REGISTRY_", extra="ignore", hide_input_in_errors=True
    )

    mongodb_database: str = "binhyen_registry"
    consumer_group: str = "binhyen-registry"
    http_port: int = 8001
    counts_publish_seconds: float = Field(
        300.0,
        ge=0,
        description="How often count snapshots go to the public topic (0: never).",
    )
    workflow_sweep_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "How often the workflow worker finishes work that spans several documents "
            "(unit-move cascades, household moves, imports) a crash or a conflict left."
        ),
    )
    workflow_lease_seconds: float = Field(
        30.0,
        gt=0,
        description=(
            "How long the replica running the workflow worker holds its lease without "
            "renewing it (it renews every third of this); another replica takes over after."
        ),
    )
    import_workers: int = Field(
        1,
        ge=1,
        le=8,
        description=(
            "Worker processes that read and check uploaded import files, off the event "
            "loop (started at the first upload; each holds a file's rows while it checks "
            "them, a few hundred MB for the largest files)."
        ),
    )
    auth_jwks_url: str | None = Field(
        None,
        description=(
            "JWKS of an external OpenID Connect provider; none by default, the registry "
            "verifies the tokens it issues itself with its own key."
        ),
    )
    signing_key_pem: SecretStr | None = Field(
        None,
        description=(
            "RSA private key (PEM) that signs the registry's tokens; never written to the "
            "database. Required in prod; in dev and test a random one is made per process "
            "when unset (its tokens then die with the process)."
        ),
    )
    signing_key_id: str | None = Field(
        None,
        max_length=64,
        description="`kid` of the signing key; default: its RFC 7638 thumbprint.",
    )
    signing_key_previous_pem: SecretStr | None = Field(
        None,
        description=(
            "The signing key before the last rotation (private or public PEM): still published "
            "in the JWKS and trusted, never used to sign. Remove it once the tokens it signed "
            "have expired (access_token_ttl_seconds, plus the JWKS cache time of verifiers)."
        ),
    )
    signing_key_previous_id: str | None = Field(
        None,
        max_length=64,
        description="`kid` of the previous key, if it had a custom one; default: its thumbprint.",
    )
    access_token_ttl_seconds: int = Field(
        900, ge=60, le=86_400, description="Lifetime of an access token."
    )
    public_url: str | None = Field(
        None,
        description=(
            "Public base URL of the registry (https://…), named by the discovery document; "
            "required in prod. Unset in dev and test: the request's own URL."
        ),
    )
    bootstrap_admin_username: str | None = Field(
        None, description="Created at startup, if missing, as admin everywhere."
    )
    bootstrap_admin_password: SecretStr | None = Field(
        None, description="Password of the bootstrap admin (at least 10 characters)."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins for one username that trigger a lockout."
    )
    login_window_seconds: int = Field(
        900, ge=1, description="Window in which failed logins are counted."
    )
    login_lockout_seconds: int = Field(
        60,
        ge=1,
        description="First lockout after too many failures; each further lockout within "
        "`login_lockout_memory_seconds` doubles it.",
    )
    login_lockout_max_seconds: int = Field(
        3600, ge=1, description="The longest a username or client address stays locked."
    )
    login_lockout_memory_seconds: int = Field(
        86_400, ge=1, description="After this long without a lockout, locks start short again."
    )
    login_address_max_failures: int = Field(
        20,
        ge=1,
        description="Failed logins from one client address, whatever the usernames, that lock "
        "that address (password spraying).",
    )

    @model_validator(mode="after")
    def _check_public_url(self) -> Self:
        """In prod the discovery document must not follow the caller's Host header."""
        if self.public_url is not None and not self.public_url.startswith(("https://", "http://")):
            raise ValueError("BINHYEN_REGISTRY_PUBLIC_URL must be an http(s) URL")
        if self.environment == "prod" and not self.public_url:
            raise ValueError(
                "set BINHYEN_REGISTRY_PUBLIC_URL (e.g. https://registry.example.vn) in prod: "
                "the discovery document names it instead of the caller's Host header"
            )
        return self

    @model_validator(mode="after")
    def _check_secrets(self) -> Self:
        """Refuse a missing signing key or placeholder secrets in prod; warn elsewhere."""
        if self.signing_key_pem is not None:
            _check_signing_key(self.signing_key_pem.get_secret_value())
        elif self.environment == "prod":
            raise ValueError(
                "set BINHYEN_REGISTRY_SIGNING_KEY_PEM (or _SIGNING_KEY_PEM_FILE) to an RSA "
                "private key in prod (e.g. openssl genpkey -algorithm RSA "
                "-pkeyopt rsa_keygen_bits:3072)"
            )
        if self.signing_key_previous_pem is not None:
            if self.signing_key_pem is None:
                raise ValueError(
                    "BINHYEN_REGISTRY_SIGNING_KEY_PREVIOUS_PEM needs a current "
                    "BINHYEN_REGISTRY_SIGNING_KEY_PEM"
                )
            _check_signing_key(self.signing_key_previous_pem.get_secret_value(), public=True)
        if (self.bootstrap_admin_username is None) != (self.bootstrap_admin_password is None):
            raise ValueError(
                "set both BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_USERNAME and _PASSWORD, or neither"
            )
        if self.bootstrap_admin_password is not None:
            password = self.bootstrap_admin_password.get_secret_value()
            if len(password) < 10:
                raise ValueError("the bootstrap admin password needs at least 10 characters")
            if password.casefold() in PLACEHOLDER_SECRETS:
                message = "the bootstrap admin password is a placeholder; choose a real one"
                if self.environment == "prod":
                    raise ValueError(message)
                warnings.warn(message, stacklevel=2)
        return self


def _check_signing_key(pem: str, *, public: bool = False) -> None:
    """Refuse what is not an RSA key of 2048 bits or more (``public``: its public half will do)."""
    key: object
    try:
        if public and "PRIVATE KEY" not in pem:
            key = load_pem_public_key(pem.encode())
        else:
            key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("the signing key is not an unencrypted PEM key") from exc
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) or key.key_size < 2048:
        raise ValueError("the signing key must be an RSA key of at least 2048 bits")
