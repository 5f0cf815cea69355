"""Incidents settings (env prefix BINHYEN_INCIDENTS_)."""

import logging
import secrets
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import PRIVATE_NETWORKS, ServiceSettings

log = logging.getLogger(__name__)

MIN_TIP_SECRET = 32  # characters: a token_urlsafe(32) has 43


class Settings(ServiceSettings):
    """Settings of the incidents service."""

    # Secrets must not appear in the errors of a refused configuration.
    model_config = SettingsConfigDict(
        env_prefix="BINHYEN_INCIDENTS_", extra="ignore", hide_input_in_errors=True
    )

    mongodb_database: str = "binhyen_incidents"
    consumer_group: str = "binhyen-incidents"
    http_port: int = 8002
    tip_secret: SecretStr | None = Field(
        None,
        description=(
            "Key that signs tipsters' reply tokens, salts hashed client addresses and derives "
            "reporters' pseudonymous references; the same on every replica. Required in prod; "
            "in dev and test a random one is made per process when unset (tokens then die with "
            "the process)."
        ),
    )
    tip_secret_previous: SecretStr | None = Field(
        None,
        description=(
            "The tip secret before the last rotation: reply tokens it signed keep working "
            "while it is set (remove it once tipsters had time to follow their tips)."
        ),
    )
    tip_rate_limit: int = Field(
        5, ge=1, description="Anonymous tips (and tip messages) per client and window."
    )
    tip_rate_window_seconds: int = Field(600, ge=1, description="Rate-limit window of tips.")
    trust_forwarded_for: bool = Field(
        False,
        description=(
            "Deprecated: set TRUSTED_PROXIES instead. When true and TRUSTED_PROXIES is empty, "
            "the proxies trusted are those on loopback and private networks."
        ),
    )
    deadline_sweep_seconds: float = Field(
        30.0,
        gt=0,
        description=(
            "How often the deadline scheduler looks for missed deadlines (the shortest target "
            "is 15 minutes; on FerretDB v1 each look scans every incident)."
        ),
    )
    deadline_lease_seconds: float = Field(
        60.0, gt=0, description="How long one replica holds the scheduler lease between sweeps."
    )
    reference_cache_seconds: float = Field(
        5.0,
        ge=0,
        description=(
            "How long intake keeps a hamlet, category or the deadline policy it read; changes "
            "made on another replica show after at most this long (0: always read)."
        ),
    )
    seed_categories: bool = Field(
        True, description="Add the default category catalogue at startup when it is missing."
    )

    @model_validator(mode="after")
    def _check_tip_secret(self) -> Self:
        """Refuse a missing or short tip secret in prod; elsewhere make an ephemeral one."""
        if self.tip_secret is None:
            if self.environment == "prod":
                raise ValueError(
                    "set BINHYEN_INCIDENTS_TIP_SECRET (or _TIP_SECRET_FILE) to a long random "
                    "value in prod (e.g. openssl rand -base64 32)"
                )
            log.warning(
                "BINHYEN_INCIDENTS_TIP_SECRET is not set: using a random one for this process "
                "only; reply tokens stop working at restart and differ between replicas"
            )
            self.tip_secret = SecretStr(secrets.token_urlsafe(32))
        for name, value in (
            ("TIP_SECRET", self.tip_secret),
            ("TIP_SECRET_PREVIOUS", self.tip_secret_previous),
        ):
            if value is not None and len(value.get_secret_value()) < MIN_TIP_SECRET:
                raise ValueError(
                    f"BINHYEN_INCIDENTS_{name} needs at least {MIN_TIP_SECRET} characters"
                )
        return self

    @model_validator(mode="after")
    def _proxies_from_the_old_switch(self) -> "Settings":
        """Keep TRUST_FORWARDED_FOR working: it trusts proxies on private networks only."""
        if self.trust_forwarded_for and not self.trusted_proxies:
            self.trusted_proxies = list(PRIVATE_NETWORKS)
        return self

    def tip_key(self) -> str:
        """The current tip secret: signs new reply tokens and keys client hashes."""
        if self.tip_secret is None:  # the validator always sets one
            raise RuntimeError("the tip secret is not set")
        return self.tip_secret.get_secret_value()

    def tip_keys(self) -> tuple[str, ...]:
        """Every tip secret a reply token may be signed with: the current one first."""
        previous = self.tip_secret_previous
        return (self.tip_key(),) + ((previous.get_secret_value(),) if previous else ())
