"""Fixtures for incidents tests."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from binhyen.incidents.sample_world import World, running_world
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.settings import MakeSettings


@pytest.fixture
def incidents_settings(make_settings: MakeSettings) -> Settings:
    """Incidents on the test servers; retries and deadline sweeps quick for tests."""
    tuned = {"consumer_backoff_seconds": 0.01, "deadline_sweep_seconds": 0.2}
    return make_settings(Settings, database_suffix="_inc", **tuned)


@pytest_asyncio.fixture
async def world(incidents_settings: Settings, issuer: TestIssuer) -> AsyncIterator[World]:
    """A running incidents app over the seeded test world."""
    async with running_world(incidents_settings, issuer) as w:
        yield w
