"""Fixtures for registry tests: the app wired to this test's database and topics."""

import pytest

from binhyen.kit.testing import Servers, TestIssuer
from binhyen.registry.settings import Settings


@pytest.fixture
def registry_settings(
    servers: Servers, database_name: str, deployed_topics: str, issuer: TestIssuer
) -> Settings:
    """Registry settings pointing at the session servers, private db and topics."""
    return Settings(
        mongodb_uri=servers.mongodb,
        mongodb_database=database_name,
        kafka_bootstrap=servers.kafka,
        topic_prefix=deployed_topics,
        consumer_group=f"registry-{database_name}",
        outbox_sweep_seconds=0.5,
        environment="test",
        auth_issuer=issuer.issuer,
        auth_jwks_json=issuer.jwks_json,
    )


@pytest.fixture
def admin(issuer: TestIssuer) -> dict[str, str]:
    """Headers of a national administrator."""
    return issuer.headers(("admin", "*"))
