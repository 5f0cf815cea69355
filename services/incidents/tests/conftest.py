"""Fixtures for incidents tests."""

import pytest

from binhyen.incidents.settings import Settings
from binhyen.kit.testing import Servers, TestIssuer


@pytest.fixture
def incidents_settings(
    servers: Servers, database_name: str, topic_prefix: str, issuer: TestIssuer
) -> Settings:
    """Incidents settings pointing at the session servers, private db, topics and group."""
    return Settings(
        mongodb_uri=servers.mongodb,
        mongodb_database=f"{database_name}_inc",
        kafka_bootstrap=servers.kafka,
        topic_prefix=topic_prefix,
        consumer_group=f"incidents-{database_name}",
        consumer_backoff_seconds=0.01,
        environment="test",
        mongodb_max_pool_size=1,  # FerretDB v1 loses concurrent updates of one document
        auth_issuer=issuer.issuer,
        auth_jwks_json=issuer.jwks_json,
    )
