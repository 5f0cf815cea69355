"""Settings base shared by every service (pydantic-settings, env vars prefixed per service)."""

import ipaddress
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Loopback and private ranges: where an in-cluster ingress or a local proxy connects from.
PRIVATE_NETWORKS = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
PRIVATE_NETWORKS += ["fc00::/7"]


class ServiceSettings(BaseSettings):
    """Connection and runtime settings every service has; subclasses set the env prefix."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    mongodb_uri: str = Field("mongodb://127.0.0.1:27117/", description="MongoDB-wire server URI.")
    mongodb_database: str = Field(description="This service's own database.")
    mongodb_timeout_ms: int = Field(
        2000, ge=100, description="Server selection timeout: how long before a 503 when down."
    )
    mongodb_max_pool_size: int = Field(
        100,
        ge=1,
        description="Connections to the database (the driver's pool, per process).",
    )
    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers.")
    topic_prefix: str = Field("", description="Prefix for every topic name (tests, tenants).")
    consumer_group: str = Field(description="Kafka consumer group id of this service.")
    outbox_sweep_seconds: float = Field(
        30.0, gt=0, description="Interval of the outbox sweep that catches anything left."
    )
    consumer_max_attempts: int = Field(
        5, ge=1, description="Attempts of a failing handler before the message goes to the DLQ."
    )
    consumer_backoff_seconds: float = Field(
        0.2, ge=0, description="First retry backoff of a failing handler (doubles, jittered)."
    )
    consumer_max_backoff_seconds: float = Field(
        10.0, gt=0, description="Longest wait between two retries of a failing handler."
    )
    auth_issuer: str = Field(
        "http://127.0.0.1:8001", description="Expected `iss` of bearer tokens (the registry)."
    )
    auth_audience: str = Field("binhyen", description="Expected `aud` of bearer tokens.")
    auth_jwks_url: str | None = Field(
        "http://127.0.0.1:8001/.well-known/jwks.json",
        description="Where the token signing keys are published (any OpenID Connect provider).",
    )
    auth_jwks_json: str | None = Field(
        None, description="A static JWKS document instead of the URL (tests, offline)."
    )
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Addresses or CIDRs of the reverse proxies in front of the service, comma "
            "separated (e.g. 10.0.0.0/8). Only from them are X-Forwarded-For and "
            "X-Forwarded-Proto believed; the client is the rightmost hop that is not one "
            "of them. Empty: the peer is the client."
        ),
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted (413 above it)."
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "Bearer token Prometheus sends to read /metrics; required in prod. Unset "
            "elsewhere: /metrics is open."
        ),
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        """Accept ``a, b`` from the environment as well as a list; refuse non-addresses."""
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        for item in value:
            ipaddress.ip_network(str(item).strip(), strict=False)  # ValueError names it
        return value

    @model_validator(mode="after")
    def _check_metrics_token(self) -> Self:
        """In prod, /metrics (which names routes, topics and volumes) needs a token."""
        token = self.metrics_token.get_secret_value() if self.metrics_token else ""
        if self.environment == "prod" and len(token) < 16:
            raise ValueError(
                "set METRICS_TOKEN (at least 16 characters, e.g. openssl rand -hex 24) in "
                "prod; Prometheus sends it as a bearer token"
            )
        return self

    def topic(self, name: str) -> str:
        """Return the deployed name of a catalogue topic."""
        return f"{self.topic_prefix}{name}"
