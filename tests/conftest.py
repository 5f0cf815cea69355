"""Cross-service test fixtures."""

from __future__ import annotations

import pytest

from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing import Servers, TestIssuer, settings_for
from binhyen.registry.settings import Settings as RegistrySettings


@pytest.fixture
def service_settings(
    servers: Servers, database_name: str, deployed_topics: str, issuer: TestIssuer
) -> tuple[RegistrySettings, IncidentsSettings]:
    """Registry and incidents settings on the session servers, sharing this test's topics."""
    registry = settings_for(
        RegistrySettings,
        servers,
        issuer,
        database=f"{database_name}_reg",
        topic_prefix=deployed_topics,
        consumer_group=f"reg-{database_name}",
    )
    incidents = settings_for(
        IncidentsSettings,
        servers,
        issuer,
        database=f"{database_name}_inc",
        topic_prefix=deployed_topics,
        consumer_group=f"inc-{database_name}",
    )
    return registry, incidents
