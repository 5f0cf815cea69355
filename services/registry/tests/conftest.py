"""Fixtures for registry tests: the app wired to this test's database and topics."""

import pytest

from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.settings import MakeSettings
from binhyen.registry.settings import Settings


@pytest.fixture
def registry_settings(make_settings: MakeSettings) -> Settings:
    """The registry on the test servers, with this test's database, topics and group."""
    return make_settings(Settings)


@pytest.fixture
def admin(issuer: TestIssuer) -> dict[str, str]:
    """Headers of a national administrator."""
    return issuer.headers(("admin", "*"))
