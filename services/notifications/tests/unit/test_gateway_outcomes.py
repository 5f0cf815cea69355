"""How a provider's answer maps to an outcome (pure: the answer is given as bytes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from binhyen.notifications.channels.base import Outcome, Result
from binhyen.notifications.channels.gateway import GatewayChannel, GatewayConfig, gateway_channel

SECRETS = {
    "esms": ["api_key", "secret_key"],
    "speedsms": ["access_token"],
    "zalo_zns": ["access_token"],
}


@pytest.fixture
async def channels() -> AsyncIterator[dict[str, GatewayChannel]]:
    made: dict[str, GatewayChannel] = {}
    for name, secrets in SECRETS.items():
        made[name] = gateway_channel(
            GatewayConfig(
                profile=name,
                secrets={s: SecretStr("x" * 8) for s in secrets},
                template_id="1",
                template_data={"a": "{text}"},
            )
        )
    yield made
    for channel in made.values():
        await channel.aclose()


def answer(channel: GatewayChannel, body: Any, status: int = 200, **headers: str) -> Result:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return channel.classify(status, headers, content)


@pytest.mark.parametrize(
    ("profile", "body", "outcome", "provider_id", "code"),
    [
        ("esms", {"CodeResult": "100", "SMSID": "abc"}, Outcome.SENT, "abc", None),
        ("esms", {"CodeResult": "124"}, Outcome.SENT, None, None),  # duplicate RequestId
        (
            "esms",
            {"CodeResult": "103", "ErrorMessage": "0912345678 x"},
            Outcome.FAILED,
            None,
            "esms_103",
        ),
        ("esms", {"CodeResult": "777"}, Outcome.FAILED, None, "esms_777"),  # unknown → failed
        ("speedsms", {"status": "success", "data": {"tranId": 42}}, Outcome.SENT, "42", None),
        ("speedsms", {"status": "error", "code": "500"}, Outcome.RETRY, None, "speedsms_500"),
        ("speedsms", {"status": "error", "code": "105"}, Outcome.FAILED, None, "speedsms_105"),
        ("zalo_zns", {"error": 0, "data": {"msg_id": "m1"}}, Outcome.SENT, "m1", None),
        ("zalo_zns", {"error": -100, "message": "Unknown"}, Outcome.RETRY, None, "zalo_zns_-100"),
        ("zalo_zns", {"error": -108}, Outcome.FAILED, None, "zalo_zns_-108"),
        ("zalo_zns", {"error": "<script>0912"}, Outcome.FAILED, None, "zalo_zns_script0912"),
    ],
)
async def test_provider_answers_map_to_outcomes(
    channels: dict[str, GatewayChannel],
    profile: str,
    body: dict[str, Any],
    outcome: Outcome,
    provider_id: str | None,
    code: str | None,
) -> None:
    result = answer(channels[profile], body)
    assert (result.outcome, result.provider_id, result.error_code) == (outcome, provider_id, code)


async def test_http_failures(channels: dict[str, GatewayChannel]) -> None:
    esms = channels["esms"]
    busy = answer(esms, b"busy", 503, **{"retry-after": "7"})
    assert (busy.outcome, busy.error_code, busy.retry_after) == (Outcome.RETRY, "http_503", 7.0)
    assert answer(esms, b"", 429).outcome == Outcome.RETRY
    assert answer(esms, b"<html>", 200).outcome == Outcome.RETRY  # accepted? ask again, same id
    forbidden = answer(esms, b"<html>forbidden</html>", 403)
    assert (forbidden.outcome, forbidden.error_code) == (Outcome.FAILED, "http_403")
    # a 4xx with the provider's JSON is read for its error code
    assert answer(channels["speedsms"], {"status": "error", "code": "009"}, 401).error_code == (
        "speedsms_009"
    )
    # success values only count on a 2xx answer
    assert answer(esms, {"CodeResult": "100"}, 400).outcome == Outcome.FAILED
