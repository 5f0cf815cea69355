"""Incidents settings (env prefix BINHYEN_INCIDENTS_)."""

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from binhyen.kit.settings import PRIVATE_NETWORKS, ServiceSettings

DEV_TIP_SECRET = "dev-only-tip-secret-change-me"  # noqa: S105 (refused outside dev/test)


class Settings(ServiceSettings):
    """Settings of the incidents service."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_INCIDENTS_", extra="ignore")

    mongodb_database: str = "binhyen_incidents"
    consumer_group: str = "binhyen-incidents"
    http_port: int = 8002
    tip_secret: SecretStr = Field(
        SecretStr(DEV_TIP_SECRET),
        description=(
            "Key that signs tipsters' reply tokens and salts hashed client addresses. The same "
            "on every replica; refused at its default outside dev and test."
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
    def _proxies_from_the_old_switch(self) -> "Settings":
        """Keep TRUST_FORWARDED_FOR working: it trusts proxies on private networks only."""
        if self.trust_forwarded_for and not self.trusted_proxies:
            self.trusted_proxies = list(PRIVATE_NETWORKS)
        return self

    @model_validator(mode="after")
    def _no_dev_secret_in_prod(self) -> "Settings":
        if self.environment == "prod" and self.tip_secret.get_secret_value() == DEV_TIP_SECRET:
            raise ValueError("set BINHYEN_INCIDENTS_TIP_SECRET to a long random value in prod")
        return self
