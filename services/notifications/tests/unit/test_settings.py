"""Production refuses to start without its secrets; dev makes what it needs."""

import pytest
from pydantic import SecretStr, ValidationError

from binhyen.notifications.service.channels import build_channels
from binhyen.notifications.settings import Settings

SECRET = "x" * 43
PROD: dict[str, object] = {
    "environment": "prod",
    "public_url": "https://kenh.ky-nam.vn",
    "link_secret": SECRET,
    "metrics_token": "m" * 32,
}


def test_prod_needs_a_link_secret_a_public_url_and_no_dev_switch() -> None:
    Settings.model_validate(PROD)
    for missing in ("link_secret", "public_url"):
        with pytest.raises(ValidationError, match=missing.upper()):
            Settings.model_validate({k: v for k, v in PROD.items() if k != missing})
    with pytest.raises(ValidationError, match="ALLOW_PRIVATE_TARGETS"):
        Settings.model_validate(PROD | {"allow_private_targets": True})
    with pytest.raises(ValidationError, match="LINK_SECRET"):
        Settings.model_validate(PROD | {"link_secret": "short"})


def test_dev_makes_a_link_secret_and_channels_are_off_until_configured() -> None:
    settings = Settings()
    assert settings.link_secret is not None and len(settings.link_keys()[0]) >= 32
    assert sorted(build_channels(settings)) == ["apprise", "webhook"]
    with pytest.raises(ValidationError, match="SMTP_FROM_ADDRESS"):
        Settings(smtp_host="smtp.example.vn")
    configured = Settings(
        smtp_host="smtp.example.vn",
        smtp_from_address="kenh@ky-nam.vn",
        sms_profile="esms",
        sms_secrets={"api_key": SecretStr("k"), "secret_key": SecretStr("s")},
    )
    assert sorted(build_channels(configured)) == ["apprise", "email", "sms", "webhook"]


def test_a_rotated_link_secret_keeps_old_links_working() -> None:
    settings = Settings.model_validate({"link_secret": SECRET, "link_secret_previous": "y" * 43})
    assert settings.link_keys() == (SECRET, "y" * 43)
