"""Settings refuse the development tip secret in production."""

from typing import Any

import pytest
from pydantic import ValidationError

from binhyen.incidents.settings import Settings
from binhyen.kit.settings import PRIVATE_NETWORKS

METRICS: dict[str, Any] = {
    "metrics_token": "a-metrics-token-0123456789"
}  # prod needs one (kit settings)


def test_prod_refuses_the_placeholder_tip_secret() -> None:
    with pytest.raises(ValidationError, match="TIP_SECRET"):
        Settings(environment="prod", **METRICS)
    assert Settings(
        environment="prod", tip_secret="a-long-random-value-0123456789", **METRICS
    ).environment


def test_dev_accepts_the_placeholder_tip_secret() -> None:
    assert Settings(environment="dev").tip_secret.get_secret_value()


def test_trust_forwarded_for_still_works_and_trusts_private_proxies_only() -> None:
    assert Settings(trust_forwarded_for=True).trusted_proxies == PRIVATE_NETWORKS
    assert Settings(trust_forwarded_for=True, trusted_proxies="10.1.0.0/16").trusted_proxies == [
        "10.1.0.0/16"
    ]
    assert Settings().trusted_proxies == []
