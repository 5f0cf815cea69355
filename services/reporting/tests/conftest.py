"""Fixtures for reporting tests: settings on the session's servers."""

from __future__ import annotations

import pytest

from binhyen.kit.testing.settings import MakeSettings
from binhyen.reporting.settings import Settings


@pytest.fixture
def reporting_settings(make_settings: MakeSettings) -> Settings:
    """Reporting on the test servers; quick retries and generation checks."""
    return make_settings(
        Settings,
        database_suffix="_rep",
        consumer_backoff_seconds=0.01,
        generation_check_seconds=0.2,
        rebuild_batch=500,
    )
