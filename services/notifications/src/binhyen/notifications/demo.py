"""The Kỳ Nam drill: one Exercise gong in Tân Thành, struck through the public API, and its reach.

Logs in to the registry as Tân Thành's hamlet officer (a demo account), waits until
notifications has learnt the hamlet from Kafka, strikes an Exercise gong there (once: the
Idempotency-Key makes a re-run find the same drill), waits until its deliveries settle and
returns the reach and where the drill report is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

OFFICER = "tan-thanh"  # the hamlet officer of Tân Thành (registry demo account)
DRILL_KEY = "demo-drill-tan-thanh"
DRILL: dict[str, Any] = {
    "status": "Exercise",
    "event": "Diễn tập kẻng an ninh",
    "category": "Security",
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "headline_vi": "Diễn tập: kẻng an ninh thôn Tân Thành",
    "description_vi": "Diễn tập: giả định có trộm đột nhập khu xóm 3, thôn Tân Thành.",
    "instruction_vi": "Tổ an ninh tập trung tại nhà văn hóa thôn.",
    "headline_en": "Drill: security gong in Tân Thành",
    "description_en": "Drill: a burglary is assumed in hamlet section 3, Tân Thành.",
    "instruction_en": "The security team gathers at the hamlet hall.",
    "expires_in_seconds": 3600,
}


@dataclass(frozen=True)
class DrillResult:
    """The drill's alert and how far it reached."""

    alert_id: str
    hamlet_id: str
    recipients: int
    households: int
    delivered: int
    acknowledged: int
    report_url: str


def _unit_of(token: str) -> str:
    """The unit of the token's first grant (the officer's hamlet)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    unit: str = claims["grants"][0]["unit"]
    return unit


async def _token(registry: httpx.AsyncClient, username: str, password: str) -> str:
    response = await registry.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    if response.is_error:
        raise RuntimeError(f"cannot log in as {username}: {response.status_code}")
    token: str = response.json()["access_token"]
    return token


async def _wait_known(
    notifications: httpx.AsyncClient, auth: dict[str, str], hamlet: str, timeout: float
) -> None:
    """Wait until notifications has the hamlet from the registry's topics."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = await notifications.get(
                "/api/v1/policies", params={"unit_id": hamlet}, headers=auth
            )
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass  # notifications is still starting
        if time.monotonic() > deadline:
            raise TimeoutError(f"hamlet {hamlet} did not reach notifications in {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def run_drill(
    notifications: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    *,
    password: str,
    timeout: float = 120,
    quiet: float = 10,
) -> DrillResult:
    """Strike the drill (or find it again) and wait until its deliveries settle."""
    token = await _token(registry, OFFICER, password)
    auth = {"Authorization": f"Bearer {token}"}
    hamlet = _unit_of(token)
    await _wait_known(notifications, auth, hamlet, timeout)
    struck = await notifications.post(
        "/api/v1/alerts",
        json={"hamlet_ids": [hamlet], **DRILL},
        headers=auth | {"Idempotency-Key": DRILL_KEY},
    )
    if struck.is_error:
        raise RuntimeError(f"the drill was refused: {struck.status_code} {struck.text}")
    alert_id: str = struck.json()["id"]
    # Settled: every recipient has the message (the sandbox reports delivery), or nothing more
    # was confirmed for a while (no SMS provider configured, or a real one reporting later: the
    # reach then shows what was confirmed so far), or the time is up.
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while True:
        answer = await notifications.get(f"/api/v1/alerts/{alert_id}", headers=auth)
        answer.raise_for_status()
        reach = answer.json()["reach"]
        now = time.monotonic()
        if reach["delivered"] != seen:
            seen, since = reach["delivered"], now
        if reach["delivered"] >= reach["recipients"] or now - since > quiet or now > deadline:
            break
        await asyncio.sleep(1)
    return DrillResult(
        alert_id=alert_id,
        hamlet_id=hamlet,
        recipients=reach["recipients"],
        households=reach["households"],
        delivered=reach["delivered"],
        acknowledged=reach["acknowledged"],
        report_url=f"{str(notifications.base_url).rstrip('/')}/api/v1/alerts/{alert_id}/report",
    )


async def run_drill_at(
    notifications_url: str, registry_url: str, *, password: str, timeout: float = 120
) -> DrillResult:
    """Run the drill against the notifications service at ``notifications_url``."""
    async with (
        httpx.AsyncClient(base_url=notifications_url, timeout=30) as notifications,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
    ):
        return await run_drill(notifications, registry, password=password, timeout=timeout)


def describe(result: DrillResult) -> str:
    """The drill's reach in a few lines for the console."""
    return (
        f"drill gong in Tân Thành ({result.alert_id}): {result.recipients} recipients in "
        f"{result.households} households, {result.delivered} delivered, "
        f"{result.acknowledged} acknowledged\n"
        f"drill report (hamlet officer token): {result.report_url}"
    )
