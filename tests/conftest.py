"""Cross-service test fixtures."""

from __future__ import annotations

import pytest

from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing.settings import MakeSettings
from binhyen.registry.settings import Settings as RegistrySettings


@pytest.fixture
def service_settings(make_settings: MakeSettings) -> tuple[RegistrySettings, IncidentsSettings]:
    """Registry and incidents settings on the session servers, sharing this test's topics."""
    return (
        make_settings(RegistrySettings, database_suffix="_reg"),
        make_settings(IncidentsSettings, database_suffix="_inc"),
    )
