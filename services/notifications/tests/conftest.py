"""Fixtures for notifications tests."""

import pytest

from binhyen.kit.testing.settings import MakeSettings
from binhyen.notifications.settings import Settings


@pytest.fixture
def notifications_settings(make_settings: MakeSettings) -> Settings:
    """Notifications on the test servers; retries and sweeps quick for tests."""
    tuned = {
        "consumer_backoff_seconds": 0.01,
        "escalation_sweep_seconds": 0.2,
        "retry_base_seconds": 0.05,
        "allow_private_targets": True,
    }
    return make_settings(Settings, database_suffix="_ntf", **tuned)
