"""Fixtures for reporting tests: settings on the session's servers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from binhyen.kit.testing.servers import load_module
from binhyen.kit.testing.settings import MakeSettings
from binhyen.reporting.settings import Settings

HERE = Path(__file__).resolve().parent


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


@pytest.fixture(scope="session")
def history() -> ModuleType:
    """The helper module ``history.py``: publish a generated history to a deployment of its
    own and wait until reporting has applied it (tests/ is not a package)."""
    return load_module(HERE / "history.py")
