"""Which apprise URLs a recipient may be given: known, allowed, complete, never echoed."""

import pytest
from pydantic import ValidationError

from binhyen.notifications.channels.apprise_channel import (
    AppriseConfig,
    check_target,
    known_schemes,
)

TOKEN = "123456789:AAHsecretBotTokenValue_xyz"
CONFIG = AppriseConfig(allowed_schemes=("tgram", "ntfys", "json"))


def test_a_complete_url_of_an_allowed_service_is_accepted() -> None:
    check_target({"url": f"tgram://{TOKEN}/-1001234567890"}, CONFIG)
    check_target({"url": "ntfys://ntfy.example.vn/kenh-tan-thanh"}, CONFIG)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nosuch://host/path", "does not know this URL scheme"),
        ("https://example.vn/hook", "does not know this URL scheme"),
        ("no scheme at all", "no spaces"),
        (f"discord://{TOKEN}/abc", "not allowed here"),
        ("tgram://missing-the-chat", "cannot use this URL"),
        ("", "is required"),
        ("json://h/" + "a" * 3000, "is required"),
        ("json://h/x\nInjected: yes", "no spaces or control characters"),
    ],
)
def test_a_url_apprise_cannot_or_may_not_use_is_refused(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^url: ") as caught:
        check_target({"url": url}, CONFIG)
    assert reason in str(caught.value)


def test_the_refusal_never_repeats_the_url_and_its_token() -> None:
    with pytest.raises(ValueError, match=r"^url: ") as caught:
        check_target({"url": f"discord://{TOKEN}/abc"}, CONFIG)
    assert "AAHsecret" not in str(caught.value)


def test_by_default_only_services_with_a_fixed_host_are_allowed() -> None:
    default = AppriseConfig()
    assert set(default.allowed_schemes) <= known_schemes()
    for reaches_any_host in ("json", "xml", "form", "ntfy", "ntfys"):
        assert reaches_any_host not in default.allowed_schemes
    with pytest.raises(ValueError, match="not allowed"):
        check_target({"url": "json://10.0.0.5/internal"}, default)


def test_config_refuses_a_scheme_apprise_does_not_know() -> None:
    with pytest.raises(ValidationError, match="nosuch"):
        AppriseConfig(allowed_schemes=("tgram", "nosuch"))
