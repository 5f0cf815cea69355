"""Settings of a service under test: the session's servers, this test's database and topics."""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from pydantic import SecretStr

from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.tokens import TestIssuer

S = TypeVar("S", bound=ServiceSettings)


def settings_for(
    kind: type[S],
    servers: Servers,
    issuer: TestIssuer,
    *,
    database: str,
    topic_prefix: str,
    consumer_group: str | None = None,
    **overrides: Any,
) -> S:
    """``kind`` wired to the test servers, a private database, this test's topics and group,
    trusting the test token issuer; quick sweeps so tests need not wait for them."""
    values: dict[str, Any] = {
        "mongodb_uri": servers.mongodb,
        "mongodb_database": database,
        "kafka_bootstrap": servers.kafka,
        "topic_prefix": topic_prefix,
        "consumer_group": consumer_group or f"g-{database}",
        "environment": "test",
        "outbox_sweep_seconds": 0.5,
        "auth_issuer": issuer.issuer,
        "auth_jwks_json": issuer.jwks_json,
    }
    return kind.model_validate(values | overrides)


class MakeSettings(Protocol):
    """``make_settings(Settings, database_suffix=…, **overrides)``: the fixture's factory."""

    def __call__(self, kind: type[S], *, database_suffix: str = "", **overrides: Any) -> S: ...


def environment_of(settings: ServiceSettings) -> dict[str, str]:
    """The settings as the environment variables that give them to a service's process.

    Secrets as their values, dicts and non-empty lists as JSON, unset values left out: what a
    test needs to run the service (or one of its commands) as a process of its own.
    """
    prefix = str(type(settings).model_config.get("env_prefix", ""))
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict):
            value = json.dumps(
                {
                    k: v.get_secret_value() if isinstance(v, SecretStr) else v
                    for k, v in value.items()
                }
            )
        elif isinstance(value, list | tuple):
            value = json.dumps([str(v) for v in value])
        env[f"{prefix}{name}".upper()] = str(value)
    return env
