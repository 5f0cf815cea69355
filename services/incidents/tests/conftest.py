"""Fixtures for incidents tests."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from binhyen.incidents.sample_world import World, running_world
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import Servers, TestIssuer, settings_for


@pytest.fixture
def incidents_settings(
    servers: Servers, database_name: str, deployed_topics: str, issuer: TestIssuer
) -> Settings:
    """Incidents settings pointing at the session servers, private db, topics and group."""
    return settings_for(
        Settings,
        servers,
        issuer,
        database=f"{database_name}_inc",
        topic_prefix=deployed_topics,
        consumer_group=f"incidents-{database_name}",
        consumer_backoff_seconds=0.01,
        deadline_sweep_seconds=0.2,
    )


@pytest_asyncio.fixture
async def world(incidents_settings: Settings, issuer: TestIssuer) -> AsyncIterator[World]:
    """A running incidents app over the seeded test world."""
    async with running_world(incidents_settings, issuer) as w:
        yield w
