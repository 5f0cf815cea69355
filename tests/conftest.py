"""Cross-service test fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import Servers, TestIssuer
from binhyen.registry.settings import Settings as RegistrySettings


@pytest.fixture
def service_settings(
    servers: Servers, database_name: str, deployed_topics: str, issuer: TestIssuer
) -> tuple[RegistrySettings, IncidentsSettings]:
    """Registry and incidents settings on the session servers, sharing this test's topics."""
    common: dict[str, Any] = {
        "mongodb_uri": servers.mongodb,
        "kafka_bootstrap": servers.kafka,
        "topic_prefix": deployed_topics,
        "environment": "test",
        "outbox_sweep_seconds": 0.5,
        "auth_issuer": issuer.issuer,
        "auth_jwks_json": issuer.jwks_json,
    }
    registry = RegistrySettings.model_validate(
        {"mongodb_database": f"{database_name}_reg", "consumer_group": f"reg-{database_name}"}
        | common
    )
    incidents = IncidentsSettings.model_validate(
        {"mongodb_database": f"{database_name}_inc", "consumer_group": f"inc-{database_name}"}
        | common
    )
    return registry, incidents
