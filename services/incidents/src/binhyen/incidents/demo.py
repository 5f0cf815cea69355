"""Demo incidents for Kỳ Nam, filed through the public API (once: a re-run adds nothing).

Logs in to the registry as the commune officer, finds the commune's hamlets and
security teams there, waits until incidents has replicated them, then files a
dozen reports (one an anonymous tip) and takes some through their lifecycle.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# (key, hamlet index, category, hours ago, description, answers, offset east/north in metres)
REPORTS: list[tuple[str, int, str, int, str, dict[str, Any], tuple[int, int]]] = [
    (
        "theft-1",
        0,
        "theft",
        30,
        "Mất trộm xe máy Honda Wave trước cổng nhà",
        {"stolen_items": "xe máy", "estimated_value_vnd": 12_000_000},
        (120, 40),
    ),
    (
        "drugs-1",
        0,
        "drugs",
        50,
        "Nghi có nhóm thanh niên sử dụng ma túy ở bãi đất trống cuối xóm",
        {"activity": "use", "people_involved": 3},
        (-300, 210),
    ),
    (
        "gambling-1",
        1,
        "gambling",
        20,
        "Tụ tập đánh bạc ăn tiền tại quán nước đầu thôn",
        {"kind": "cards", "people_involved": 6},
        (0, 0),
    ),
    (
        "traffic-1",
        1,
        "traffic_violation",
        5,
        "Thanh niên chạy xe máy lạng lách, không đội mũ bảo hiểm",
        {"vehicle": "motorbike", "violation": ["no_helmet", "racing"]},
        (450, -120),
    ),
    (
        "land-1",
        0,
        "land_dispute",
        200,
        "Tranh chấp ranh giới đất vườn giữa hai hộ liền kề",
        {"parties": 2, "area_m2": 35.5},
        (60, -80),
    ),
    (
        "neighbour-1",
        1,
        "neighbour_dispute",
        90,
        "Mâu thuẫn giữa hai gia đình về lối đi chung",
        {"parties": 2, "earlier_mediation": False},
        (-90, 30),
    ),
    (
        "fire-1",
        0,
        "fire",
        3,
        "Cháy đống rơm sau nhà, đã dập tắt",
        {"people_trapped": False, "fire_service_called": False},
        (200, 200),
    ),
    (
        "suspicious-1",
        1,
        "suspicious_person",
        12,
        "Hai người lạ đi xe không biển số hỏi thăm nhà vắng chủ",
        {"people_count": 2, "vehicle": "motorbike"},
        (-150, -150),
    ),
    (
        "dv-1",
        0,
        "domestic_violence",
        8,
        "Nghe tiếng cãi vã và đánh đập trong nhà hàng xóm",
        {"ongoing": False, "children_present": True},
        (10, 10),
    ),
    (
        "accident-1",
        1,
        "traffic_accident",
        40,
        "Va chạm giữa xe máy và xe đạp ở ngã ba",
        {"injured": True, "vehicles": ["motorbike", "bicycle"]},
        (300, 0),
    ),
]
# Kỳ Nam, Kỳ Anh, Hà Tĩnh: a point per hamlet, reports scattered around it.
CENTRES = [(106.2905, 18.0451), (106.3021, 18.0387)]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _at(centre: tuple[float, float], east_north: tuple[int, int]) -> list[float]:
    lon, lat = centre
    return [round(lon + east_north[0] / 105_000, 6), round(lat + east_north[1] / 111_000, 6)]


async def _token(registry: httpx.AsyncClient, username: str, password: str) -> str:
    response = await registry.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def _wait_replicated(
    incidents: httpx.AsyncClient, auth: dict[str, str], ids: list[str]
) -> None:
    deadline = time.monotonic() + 120
    for unit_id in ids:
        while True:
            try:
                response = await incidents.get(f"/api/v1/hamlets/{unit_id}", headers=auth)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass  # incidents is still starting
            if time.monotonic() > deadline:
                raise TimeoutError(f"hamlet {unit_id} did not reach incidents")
            await asyncio.sleep(0.5)


async def load_demo(
    incidents: httpx.AsyncClient, registry: httpx.AsyncClient, *, password: str
) -> dict[str, int]:
    """File the demo reports and move some along; return counts by status."""
    officer = {"Authorization": f"Bearer {await _token(registry, 'ky-nam', password)}"}
    police = {"Authorization": f"Bearer {await _token(registry, 'cong-an-ky-nam', password)}"}
    commune = _claims(officer["Authorization"][7:])["grants"][0]["unit"]
    subtree = (await registry.get(f"/api/v1/units/{commune}/subtree", headers=officer)).json()
    hamlets = [u["id"] for u in subtree if u["level"] == "hamlet" and u["status"] == "active"][:2]
    teams = (
        await registry.get(
            "/api/v1/organisations",
            params={"unit_id": hamlets[0], "kind": "people_security"},
            headers=officer,
        )
    ).json()["items"]
    await _wait_replicated(incidents, officer, hamlets)
    earlier = await _counts(incidents, officer)
    if earlier:
        return earlier  # loaded by an earlier run: leave it as it is
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ids: dict[str, str] = {}
    for key, h, category, hours, text, answers, offset in REPORTS:
        body = {
            "hamlet_id": hamlets[h % len(hamlets)],
            "category": category,
            "description": text,
            "occurred_at": (now - timedelta(hours=hours)).isoformat(),
            "location": {"type": "Point", "coordinates": _at(CENTRES[h % 2], offset)},
            "answers": answers,
        }
        response = await incidents.post(
            "/api/v1/incidents", json=body, headers=officer | {"Idempotency-Key": f"demo-{key}"}
        )
        response.raise_for_status()
        ids[key] = response.json()["id"]
    tip = await incidents.post(
        "/api/v1/tips",
        json={
            "hamlet_id": hamlets[0],
            "category": "drugs",
            "description": "Có người bán ma túy vào buổi tối gần bến xe",
            "occurred_at": (now - timedelta(hours=6)).isoformat(),
            "answers": {"activity": "dealing"},
        },
        headers={"Idempotency-Key": "demo-tip-1"},
    )
    tip.raise_for_status()

    async def act(key: str, action: str, headers: dict[str, str] = officer, **body: Any) -> None:
        response = await incidents.post(
            f"/api/v1/incidents/{ids[key]}/transitions",
            json={"action": action, **body},
            headers=headers,
        )
        if response.status_code not in (200, 409):  # 409: done by an earlier run
            response.raise_for_status()

    for key in ("theft-1", "drugs-1", "gambling-1", "land-1", "neighbour-1", "fire-1"):
        await act(key, "acknowledge")
    if teams:
        await act("theft-1", "assign", assignee={"team_id": teams[0]["id"]})
        await act("theft-1", "start")
        await act("fire-1", "assign", assignee={"team_id": teams[0]["id"]})
        await act("fire-1", "start")
        await act("fire-1", "resolve", reason="Đã dập tắt, không thiệt hại về người")
    await act("traffic-1", "reject", reason="Không xác định được phương tiện vi phạm")
    session = await incidents.post(
        f"/api/v1/incidents/{ids['land-1']}/mediation/sessions",
        json={
            "held_at": (now - timedelta(hours=1)).isoformat(),
            "mediators": ["Trưởng thôn", "Tổ hòa giải thôn"],
            "outcome": "no_agreement",
            "place": "Nhà văn hóa thôn",
        },
        headers=officer,
    )
    if session.status_code == 201:
        await incidents.post(
            f"/api/v1/incidents/{ids['land-1']}/mediation/conclusion",
            json={"agreement": False, "summary": "Hai bên chưa thống nhất ranh giới"},
            headers=officer,
        )
        await act(
            "land-1",
            "escalate",
            reason="Hòa giải không thành",
            handoff={
                "to_name": "Công an xã Kỳ Nam",
                "summary": "Hồ sơ tranh chấp, biên bản hòa giải không thành",
                "items": ["Biên bản hòa giải ngày làm việc"],
            },
        )
        await incidents.post(
            f"/api/v1/incidents/{ids['land-1']}/handoff/receipt",
            json={"case_reference": "CAX-KN-2026-001"},
            headers=police,
        )
    return await _counts(incidents, officer)


async def _counts(incidents: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, int]:
    listed = (await incidents.get("/api/v1/incidents", params={"limit": 200}, headers=auth)).json()
    counts: dict[str, int] = {}
    for item in listed["items"]:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


async def load_demo_at(incidents_url: str, registry_url: str, *, password: str) -> dict[str, int]:
    """Load the demo into the incidents service at ``incidents_url``."""
    async with (
        httpx.AsyncClient(base_url=incidents_url, timeout=60) as incidents,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
    ):
        return await load_demo(incidents, registry, password=password)
