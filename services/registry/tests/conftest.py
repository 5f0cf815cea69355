"""Fixtures for registry tests: the app wired to this test's database and topics."""

import pytest

from binhyen.kit.testing import Servers, TestIssuer, settings_for
from binhyen.registry.settings import Settings


@pytest.fixture
def registry_settings(
    servers: Servers, database_name: str, deployed_topics: str, issuer: TestIssuer
) -> Settings:
    """Registry settings pointing at the session servers, private db and topics."""
    return settings_for(
        Settings,
        servers,
        issuer,
        database=database_name,
        topic_prefix=deployed_topics,
        consumer_group=f"registry-{database_name}",
    )


@pytest.fixture
def admin(issuer: TestIssuer) -> dict[str, str]:
    """Headers of a national administrator."""
    return issuer.headers(("admin", "*"))
