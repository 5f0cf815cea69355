"""The tip secret: none built in, required in prod, rotated with a grace period."""

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from binhyen.incidents.settings import Settings
from binhyen.kit.settings import PRIVATE_NETWORKS

METRICS: dict[str, Any] = {
    "metrics_token": "a-metrics-token-0123456789"
}  # prod needs one (kit settings)

LONG = "a-long-random-value-0123456789-abcdef"
OLDER = "the-previous-random-value-0123456789-xyz"


def test_prod_refuses_to_start_without_a_tip_secret() -> None:
    with pytest.raises(ValidationError, match="BINHYEN_INCIDENTS_TIP_SECRET"):
        Settings(environment="prod", **METRICS)
    assert Settings(environment="prod", tip_secret=LONG, **METRICS).tip_key() == LONG


def test_a_short_tip_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="TIP_SECRET"):
        Settings(environment="prod", tip_secret="short-secret", **METRICS)
    with pytest.raises(ValidationError, match="TIP_SECRET_PREVIOUS"):
        Settings(tip_secret=LONG, tip_secret_previous="short-secret")


def test_dev_without_a_secret_makes_a_random_one_per_process_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        one, two = Settings(environment="dev"), Settings(environment="test")
    assert one.tip_key() != two.tip_key()
    assert len(one.tip_key()) >= 32
    assert "TIP_SECRET is not set" in caplog.text


def test_tokens_are_signed_with_the_current_secret_and_checked_with_both() -> None:
    settings = Settings(tip_secret=LONG, tip_secret_previous=OLDER)
    assert settings.tip_keys() == (LONG, OLDER)
    assert Settings(tip_secret=LONG).tip_keys() == (LONG,)


def test_the_secret_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tip-secret"
    path.write_text(LONG + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("BINHYEN_INCIDENTS_TIP_SECRET_FILE", str(path))
    assert Settings(environment="prod", **METRICS).tip_key() == LONG


def test_no_secret_is_built_into_the_code() -> None:
    import binhyen.incidents.settings as module

    assert not hasattr(module, "DEV_TIP_SECRET")
    assert Settings.model_fields["tip_secret"].default is None


def test_trust_forwarded_for_still_works_and_trusts_private_proxies_only() -> None:
    assert Settings(trust_forwarded_for=True).trusted_proxies == PRIVATE_NETWORKS
    assert Settings(trust_forwarded_for=True, trusted_proxies="10.1.0.0/16").trusted_proxies == [
        "10.1.0.0/16"
    ]
    assert Settings().trusted_proxies == []
