"""Fixtures for notifications tests: settings on the test servers, and the local providers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from binhyen.kit.testing.servers import load_module
from binhyen.kit.testing.settings import MakeSettings
from binhyen.notifications.settings import Settings

HERE = Path(__file__).resolve().parent
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"


def load_helper(relative: str) -> ModuleType:
    """A test helper module by its path under tests/ (tests/ is not a package)."""
    return load_module(HERE / relative)


@pytest.fixture(scope="session")
def gateway_credentials() -> dict[str, str]:
    """Credentials the fake provider expects (made per run)."""
    return {
        name: secrets.token_urlsafe(16)
        for name in ("api_key", "secret_key", "speedsms_token", "zalo_token")
    }


@pytest.fixture(scope="session")
def fake_gateway(gateway_credentials: dict[str, str]) -> Iterator[Any]:
    """The SMS sandbox process (deploy/local: eSMS, SpeedSMS, Zalo ZNS shapes)."""
    sandbox = load_helper(str(HERE.parents[2] / "deploy" / "local" / "sms_sandbox.py"))
    gateway = sandbox.FakeGateway(gateway_credentials).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def notifications_settings(
    make_settings: MakeSettings, fake_gateway: Any, gateway_credentials: dict[str, str]
) -> Settings:
    """Notifications on the test servers, SMS through the fake eSMS; quick sweeps and retries."""
    tuned: dict[str, Any] = {
        "consumer_backoff_seconds": 0.01,
        "escalation_sweep_seconds": 0.2,
        "retry_base_seconds": 0.05,
        "allow_private_targets": True,
        "sms_profile": "esms",
        "sms_url": fake_gateway.url(ESMS_PATH),
        "sms_secrets": {
            "api_key": gateway_credentials["api_key"],
            "secret_key": gateway_credentials["secret_key"],
        },
        "sms_sender": "BINHYEN",
        "sms_callback_secret": secrets.token_urlsafe(32),
    }
    return make_settings(Settings, database_suffix="_ntf", **tuned)


@pytest.fixture(scope="session")
def receivers() -> ModuleType:
    """The test webhook receiver module (``receivers.webhook_receiver()``)."""
    return load_helper("receivers.py")
