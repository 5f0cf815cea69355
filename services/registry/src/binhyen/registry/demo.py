"""Demo data for Kỳ Nam, loaded through the public API (idempotent: re-running changes nothing).

The five units of the article (Hà Tĩnh → thị xã Kỳ Anh → xã Kỳ Nam → thôn Tân
Thành, thôn Quý Huệ), about 300 invented households with their residents and
pledges, the teams of each hamlet, the year's enrolments, and one account per
role so every view can be tried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from binhyen.registry.demo_data import DemoHousehold, iter_households

SEED = 2020_09_09  # the day of the conference in the article
YEAR = 2026
HOUSEHOLDS_PER_HAMLET = 150

DEMO_UNITS: list[tuple[str, str, str, str | None]] = [
    ("ha-tinh", "province", "Hà Tĩnh", None),
    ("ky-anh", "town", "Kỳ Anh", "ha-tinh"),
    ("ky-nam", "commune", "Kỳ Nam", "ky-anh"),
    ("tan-thanh", "hamlet", "Tân Thành", "ky-nam"),
    ("quy-hue", "hamlet", "Quý Huệ", "ky-nam"),
]
HAMLETS = ("tan-thanh", "quy-hue")
# Teams and bodies of each hamlet: kind, name pattern, how many members.
BODIES = [
    ("front_work_committee", "Ban công tác Mặt trận thôn {}", 5),
    ("people_security", "Tổ an ninh nhân dân thôn {}", 6),
    ("self_management", "Tổ tự quản thôn {}", 5),
    ("mediation", "Tổ hòa giải thôn {}", 4),
    ("youth_shock_troop", "Đội thanh niên xung kích thôn {}", 6),
    ("gong_point", "Điểm kẻng an ninh thôn {}", 2),
]
# Demo accounts: username, display name, role, unit slug ("*" everywhere), kind.
ACCOUNTS = [
    ("ky-nam", "Cán bộ xã Kỳ Nam", "commune_officer", "ky-nam", "user"),
    (
        "tan-thanh",
        "Trưởng ban công tác Mặt trận thôn Tân Thành",
        "hamlet_officer",
        "tan-thanh",
        "user",
    ),
    ("quy-hue", "Trưởng ban công tác Mặt trận thôn Quý Huệ", "hamlet_officer", "quy-hue", "user"),
    ("an-ninh-tan-thanh", "Tổ an ninh thôn Tân Thành", "team_member", "tan-thanh", "user"),
    ("cong-an-ky-nam", "Công an xã Kỳ Nam", "police", "ky-nam", "user"),
    ("so-ngoai-vu", "Cơ quan đăng ký nhận dữ liệu công khai", "agency", "*", "agency"),
]


@dataclass
class DemoResult:
    """What the demo created: unit ids by slug and the demo accounts' password."""

    units: dict[str, str]
    households: int
    accounts: list[str]
    password: str


class _Api:
    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.auth)

    async def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = self.auth | ({"Idempotency-Key": key} if key else {})
        response = await self.client.request(method, path, json=body, headers=headers)
        if response.status_code == 409 and method == "POST" and path == "/api/v1/users":
            return None  # the account exists from an earlier run
        if response.is_error:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json()


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """A bearer token from the registry's token endpoint."""
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    if response.is_error:
        raise RuntimeError(f"cannot log in as {username}: {response.status_code} {response.text}")
    token: str = response.json()["access_token"]
    return token


def wait_until_ready(base_url: str, timeout: float = 120) -> None:
    """Wait until the registry answers /readyz."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base_url} was not ready after {timeout:.0f}s")
        time.sleep(0.5)


def _household_body(unit_id: str, household: DemoHousehold) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "address": household.address,
        "registration_code": household.code,
        # In the hamlet's book long before it was entered here: last year counts it too.
        "registered_on": "2020-01-01",
        "members": [
            {
                "full_name": p.full_name,
                "birth_year": p.birth_year,
                "phones": [p.phone] if p.phone else [],
                "alert_consent": p.alert_consent,
                "alert_channels": ["sms"] if p.alert_consent and p.phone else [],
            }
            for p in household.members
        ],
    }


async def create_household(api: _Api, body: dict[str, Any], key: str) -> Any:
    """POST a demo household under its Idempotency-Key.

    A household an earlier run made before households had a registration day was sent without
    ``registered_on``, and its key refuses a body with one (422): that run's body is replayed
    instead, which answers the household it made, so the demo loads again over old data.
    """
    try:
        return await api.call("POST", "/api/v1/households", body, key)
    except RuntimeError as exc:
        if "422" not in str(exc) or "Idempotency-Key" not in str(exc):
            raise
    older = {k: v for k, v in body.items() if k != "registered_on"}
    return await api.call("POST", "/api/v1/households", older, key)


async def load_demo(
    client: httpx.AsyncClient,
    *,
    admin_username: str,
    admin_password: str,
    demo_password: str,
    households_per_hamlet: int = HOUSEHOLDS_PER_HAMLET,
) -> DemoResult:
    """Create (or find again) all demo data through the API ``client`` talks to."""
    api = _Api(client, await login(client, admin_username, admin_password))
    ids: dict[str, str] = {}
    for slug, kind, name, parent in DEMO_UNITS:
        body: dict[str, Any] = {"kind": kind, "name": name, "valid_from": "2020-01-01"}
        if parent is not None:
            body["parent_id"] = ids[parent]
        ids[slug] = (await api.call("POST", "/api/v1/units", body, f"demo-{slug}"))["id"]
    total = 0
    for slug in HAMLETS:
        name = next(n for s, _, n, _ in DEMO_UNITS if s == slug)
        residents: list[dict[str, Any]] = []
        for household in iter_households(
            seed=SEED, count=households_per_hamlet, hamlet_name=name, year=YEAR
        ):
            created = await create_household(
                api, _household_body(ids[slug], household), f"demo-{slug}-{household.code}"
            )
            total += 1
            residents += created.get("members") or []
            if household.pledge_signed_on and not created["pledges"]:
                await api.call(
                    "PUT",
                    f"/api/v1/households/{created['id']}/pledges/{YEAR}",
                    {"signed_on": household.pledge_signed_on.isoformat()},
                )
        await _teams(api, slug, name, ids[slug], residents)
        enrolment = f"/api/v1/units/{ids[slug]}/enrolments/{YEAR}"
        if (await api.get(enrolment)).status_code == 404:
            await api.call(
                "PUT",
                enrolment,
                {"resolution_date": f"{YEAR}-01-20", "registered_on": f"{YEAR}-02-05"},
            )
    accounts = []
    for username, display, role, unit, kind in ACCOUNTS:
        grants = [{"role": role, "unit_id": "*" if unit == "*" else ids[unit]}]
        await api.call(
            "POST",
            "/api/v1/users",
            {
                "username": username,
                "display_name": display,
                "kind": kind,
                "password": demo_password,
                "grants": grants,
            },
        )
        accounts.append(username)
    return DemoResult(ids, total, accounts, demo_password)


async def _teams(
    api: _Api, slug: str, hamlet: str, unit_id: str, residents: list[dict[str, Any]]
) -> None:
    adults = [r for r in residents if r.get("birth_year") and YEAR - r["birth_year"] >= 18]
    young = [r for r in adults if YEAR - r["birth_year"] <= 35]
    picked = 0
    for kind, pattern, size in BODIES:
        body = {
            "unit_id": unit_id,
            "kind": kind,
            "name": pattern.format(hamlet),
            "valid_from": "2024-01-01",
        }
        team = await api.call("POST", "/api/v1/organisations", body, f"demo-{slug}-{kind}")
        pool = young if kind == "youth_shock_troop" and len(young) >= size else adults
        for i in range(size):
            person = pool[(picked + i * 7) % len(pool)]
            await api.call(
                "POST",
                f"/api/v1/organisations/{team['id']}/members",
                {
                    "person_id": person["id"],
                    "role": "leader" if i == 0 else "member",
                    "valid_from": "2024-01-01",
                    "contact_order": i + 1 if i < 2 else None,
                },
                f"demo-{slug}-{kind}-{i}",
            )
        picked += size


async def load_demo_at(base_url: str, **kwargs: Any) -> DemoResult:
    """Load the demo into the registry at ``base_url``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        return await load_demo(client, **kwargs)
