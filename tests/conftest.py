"""Cross-service test fixtures."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.testing.servers import load_module
from binhyen.kit.testing.settings import MakeSettings
from binhyen.notifications.settings import Settings as NotificationsSettings
from binhyen.registry.settings import Settings as RegistrySettings

ROOT = Path(__file__).resolve().parents[1]
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"


@pytest.fixture
def service_settings(make_settings: MakeSettings) -> tuple[RegistrySettings, IncidentsSettings]:
    """Registry and incidents settings on the session servers, sharing this test's topics."""
    return (
        make_settings(RegistrySettings, database_suffix="_reg"),
        make_settings(IncidentsSettings, database_suffix="_inc"),
    )


def load_file(relative: str) -> ModuleType:
    """A module by its path under the repository (helpers that are not packages)."""
    return load_module(ROOT / relative)


@pytest.fixture(scope="session")
def webhook_receivers() -> ModuleType:
    """services/notifications/tests/receivers.py: a real Standard Webhooks receiver."""
    return load_file("services/notifications/tests/receivers.py")


@pytest.fixture(scope="session")
def sms_credentials() -> dict[str, str]:
    """Credentials the SMS sandbox expects (made per run)."""
    return {
        name: secrets.token_urlsafe(16)
        for name in ("api_key", "secret_key", "speedsms_token", "zalo_token")
    }


@pytest.fixture(scope="session")
def sms_sandbox(sms_credentials: dict[str, str]) -> Iterator[Any]:
    """The SMS sandbox of deploy/local as a process (eSMS, SpeedSMS, Zalo ZNS shapes)."""
    sandbox = load_file("deploy/local/sms_sandbox.py").FakeGateway(sms_credentials).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def notifications_e2e_settings(
    make_settings: MakeSettings, sms_sandbox: Any, sms_credentials: dict[str, str]
) -> NotificationsSettings:
    """Notifications on this test's topics (beside ``service_settings``), SMS via the sandbox."""
    return make_settings(
        NotificationsSettings,
        database_suffix="_ntf",
        consumer_backoff_seconds=0.01,
        retry_base_seconds=0.05,
        allow_private_targets=True,  # the test's webhook receiver listens on 127.0.0.1
        sms_profile="esms",
        sms_url=sms_sandbox.url(ESMS_PATH),
        sms_secrets={k: sms_credentials[k] for k in ("api_key", "secret_key")},
        sms_sender="BINHYEN",
        sms_callback_secret=secrets.token_urlsafe(32),
    )
