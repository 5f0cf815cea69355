"""Settings base shared by every service (pydantic-settings, env vars prefixed per service).

Any setting can also be read from a file: ``<PREFIX><NAME>_FILE=/path`` (the Docker and
Kubernetes convention for mounted secrets). The variable itself wins over its ``_FILE``;
the file's content is taken without its trailing newline, and an empty file counts as unset
(so a deployment can always name the file of an optional secret, e.g. a previous key).
"""

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

# Loopback and private ranges: where an in-cluster ingress or a local proxy connects from.
PRIVATE_NETWORKS = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
PRIVATE_NETWORKS += ["fc00::/7"]


class FileVariables(PydanticBaseSettingsSource):
    """Values of ``<PREFIX><NAME>_FILE`` variables: the content of the file they name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The settings whose ``_FILE`` variable is set, read from their files."""
        prefix = str(self.config.get("env_prefix", ""))
        environ = {name.upper(): value for name, value in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            variable = f"{prefix}{name}_FILE".upper()
            path = environ.get(variable)
            if not path:
                continue
            try:
                content = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"{variable}: cannot read {path} ({exc.strerror})") from exc
            if not content.strip():
                continue
            if self.field_is_complex(field):  # a dict or a list: JSON, as in a variable
                try:
                    values[name] = self.decode_complex_value(name, field, content)
                except ValueError as exc:
                    raise SettingsError(f"{variable}: {path} does not hold JSON") from exc
            else:
                values[name] = content
        return values


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
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How the service talks to Kafka (SASL_* with a SCRAM user)."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism of the Kafka user."
    )
    kafka_username: str | None = Field(None, description="This service's Kafka (SCRAM) user.")
    kafka_password: SecretStr | None = Field(
        None, description="Its password; or a file named by `..._KAFKA_PASSWORD_FILE`."
    )
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then variables, then ``_FILE`` variables, then the rest."""
        return (
            init_settings,
            env_settings,
            FileVariables(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    def topic(self, name: str) -> str:
        """Return the deployed name of a catalogue topic."""
        return f"{self.topic_prefix}{name}"

    @model_validator(mode="after")
    def _kafka_user_when_sasl(self) -> Self:
        if self.kafka_security_protocol != "PLAINTEXT" and not (
            self.kafka_username and self.kafka_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_username "
                "and kafka_password"
            )
        return self
