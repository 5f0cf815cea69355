"""Role × scope × endpoint: nobody reads or changes anything outside their scope.

Every route of the registry is probed, with a request that would be valid for a
caller entitled to it, by callers whose grants do not cover the object: commune
roles of another commune, hamlet roles of a sibling hamlet, and an agency (public
data only). Refusals must be 403 or 404 (or a domain 422 that hides an unknown
id), lists must not contain the object, and afterwards nothing has changed. A
new route without a probe fails the test, so the matrix stays complete.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from binhyen.kit.testing import TestIssuer, api_routes, serve
from binhyen.kit.testing.access import Probe, Site, snapshot
from binhyen.kit.testing.access import probe as _p
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

SHIFT = {"starts_at": "2030-01-01T00:00:00+07:00", "ends_at": "2030-01-01T08:00:00+07:00"}
PROBES: list[Probe] = [
    # units
    _p(
        "POST",
        "/api/v1/units",
        lambda s: "/api/v1/units",
        body=lambda s: {"kind": "hamlet", "name": "Xâm nhập", "parent_id": s["commune"]},
    ),
    _p("GET", "/api/v1/units", lambda s: f"/api/v1/units?parent_id={s['commune']}"),
    _p("GET", "/api/v1/units/{unit_id}", lambda s: f"/api/v1/units/{s['hamlet']}"),
    _p(
        "GET",
        "/api/v1/units/{unit_id}/ancestors",
        lambda s: f"/api/v1/units/{s['hamlet']}/ancestors",
    ),
    _p("GET", "/api/v1/units/{unit_id}/subtree", lambda s: f"/api/v1/units/{s['hamlet']}/subtree"),
    _p("GET", "/api/v1/units/{unit_id}/history", lambda s: f"/api/v1/units/{s['hamlet']}/history"),
    _p(
        "POST",
        "/api/v1/units/{unit_id}/rename",
        lambda s: f"/api/v1/units/{s['hamlet']}/rename",
        body=lambda s: {"name": "Đổi tên"},
    ),
    _p(
        "POST",
        "/api/v1/units/{unit_id}/move",
        lambda s: f"/api/v1/units/{s['hamlet']}/move",
        body=lambda s: {"parent_id": s["other_commune"]},
    ),
    _p(
        "POST",
        "/api/v1/units/{unit_id}/merge",
        lambda s: f"/api/v1/units/{s['hamlet']}/merge",
        body=lambda s: {"successor_id": s["sibling"]},
    ),
    _p(
        "POST",
        "/api/v1/units/{unit_id}/dissolve",
        lambda s: f"/api/v1/units/{s['empty']}/dissolve",
        body=lambda s: {},
    ),
    _p("GET", "/api/v1/units/{unit_id}/stats", lambda s: f"/api/v1/units/{s['hamlet']}/stats"),
    # households and people
    _p(
        "POST",
        "/api/v1/households",
        lambda s: "/api/v1/households",
        body=lambda s: {"unit_id": s["hamlet"], "address": "Xóm 9"},
    ),
    _p("GET", "/api/v1/households", lambda s: f"/api/v1/households?unit_id={s['hamlet']}"),
    _p(
        "GET", "/api/v1/households/{household_id}", lambda s: f"/api/v1/households/{s['household']}"
    ),
    _p(
        "PATCH",
        "/api/v1/households/{household_id}",
        lambda s: f"/api/v1/households/{s['household']}",
        body=lambda s: {"address": "Xóm 10"},
    ),
    _p(
        "POST",
        "/api/v1/households/{household_id}/move",
        lambda s: f"/api/v1/households/{s['household']}/move",
        body=lambda s: {"unit_id": s["sibling"]},
    ),
    _p(
        "POST",
        "/api/v1/households/{household_id}/dissolve",
        lambda s: f"/api/v1/households/{s['household']}/dissolve",
    ),
    _p(
        "PUT",
        "/api/v1/households/{household_id}/pledges/{year}",
        lambda s: f"/api/v1/households/{s['household']}/pledges/2026",
        body=lambda s: {"signed_on": "2026-02-01"},
    ),
    _p(
        "POST",
        "/api/v1/people",
        lambda s: "/api/v1/people",
        body=lambda s: {"household_id": s["household"], "full_name": "Người Lạ"},
    ),
    _p("GET", "/api/v1/people", lambda s: f"/api/v1/people?unit_id={s['hamlet']}"),
    _p("GET", "/api/v1/people/{person_id}", lambda s: f"/api/v1/people/{s['person']}"),
    _p(
        "PATCH",
        "/api/v1/people/{person_id}",
        lambda s: f"/api/v1/people/{s['person']}",
        body=lambda s: {"birth_year": 1990},
    ),
    _p(
        "POST",
        "/api/v1/people/{person_id}/move",
        lambda s: f"/api/v1/people/{s['person']}/move",
        body=lambda s: {"household_id": s["household2"]},
    ),
    _p(
        "POST",
        "/api/v1/people/{person_id}/end",
        lambda s: f"/api/v1/people/{s['person']}/end",
        body=lambda s: {"status": "moved_out"},
    ),
    _p("POST", "/api/v1/people/{person_id}/erase", lambda s: f"/api/v1/people/{s['person']}/erase"),
    # enrolments
    _p(
        "PUT",
        "/api/v1/units/{unit_id}/enrolments/{year}",
        lambda s: f"/api/v1/units/{s['hamlet']}/enrolments/2025",
        body=lambda s: {"resolution_date": "2025-01-10", "registered_on": "2025-01-20"},
    ),
    _p(
        "GET",
        "/api/v1/units/{unit_id}/enrolments/{year}",
        lambda s: f"/api/v1/units/{s['hamlet']}/enrolments/2026",
    ),
    _p(
        "POST",
        "/api/v1/units/{unit_id}/enrolments/{year}/withdraw",
        lambda s: f"/api/v1/units/{s['hamlet']}/enrolments/2026/withdraw",
    ),
    _p("GET", "/api/v1/enrolments", lambda s: f"/api/v1/enrolments?unit_id={s['hamlet']}"),
    # organisations, teams, rosters
    _p(
        "POST",
        "/api/v1/organisations",
        lambda s: "/api/v1/organisations",
        body=lambda s: {"unit_id": s["hamlet"], "kind": "mediation", "name": "Tổ hòa giải"},
    ),
    _p("GET", "/api/v1/organisations", lambda s: f"/api/v1/organisations?unit_id={s['hamlet']}"),
    _p(
        "GET",
        "/api/v1/organisations/{organisation_id}",
        lambda s: f"/api/v1/organisations/{s['team']}",
    ),
    _p(
        "PATCH",
        "/api/v1/organisations/{organisation_id}",
        lambda s: f"/api/v1/organisations/{s['team']}",
        body=lambda s: {"name": "Tên mới"},
        etag_of=lambda s: f"/api/v1/organisations/{s['team']}",
    ),
    _p(
        "POST",
        "/api/v1/organisations/{organisation_id}/members",
        lambda s: f"/api/v1/organisations/{s['team']}/members",
        body=lambda s: {"person_id": s["person2"], "role": "member"},
    ),
    _p(
        "PATCH",
        "/api/v1/organisations/{organisation_id}/members/{membership_id}",
        lambda s: f"/api/v1/organisations/{s['team']}/members/{s['membership']}",
        body=lambda s: {"role": "deputy"},
        etag_of=lambda s: f"/api/v1/organisations/{s['team']}",
    ),
    _p(
        "DELETE",
        "/api/v1/organisations/{organisation_id}/members/{membership_id}",
        lambda s: f"/api/v1/organisations/{s['team']}/members/{s['membership']}",
        etag_of=lambda s: f"/api/v1/organisations/{s['team']}",
    ),
    _p(
        "POST",
        "/api/v1/teams/{team_id}/shifts",
        lambda s: f"/api/v1/teams/{s['team']}/shifts",
        body=lambda s: SHIFT | {"person_ids": [s["person"]]},
    ),
    _p("GET", "/api/v1/teams/{team_id}/shifts", lambda s: f"/api/v1/teams/{s['team']}/shifts"),
    _p(
        "DELETE",
        "/api/v1/teams/{team_id}/shifts/{shift_id}",
        lambda s: f"/api/v1/teams/{s['team']}/shifts/{s['shift']}",
    ),
    _p("GET", "/api/v1/teams/{team_id}/on-duty", lambda s: f"/api/v1/teams/{s['team']}/on-duty"),
    _p(
        "GET",
        "/api/v1/units/{unit_id}/contact-roster",
        lambda s: f"/api/v1/units/{s['hamlet']}/contact-roster",
    ),
    # plans and tasks
    _p(
        "POST",
        "/api/v1/plans",
        lambda s: "/api/v1/plans",
        body=lambda s: {"commune_id": s["commune"], "year": 2027, "title": "Kế hoạch"},
    ),
    _p("GET", "/api/v1/plans", lambda s: f"/api/v1/plans?commune_id={s['commune']}"),
    _p("GET", "/api/v1/plans/{plan_id}", lambda s: f"/api/v1/plans/{s['plan']}"),
    _p(
        "POST",
        "/api/v1/plans/{plan_id}/tasks",
        lambda s: f"/api/v1/plans/{s['plan']}/tasks",
        body=lambda s: {"title": "Việc", "organisation_id": s["team"], "due_date": "2030-01-01"},
    ),
    _p("GET", "/api/v1/tasks", lambda s: f"/api/v1/tasks?plan_id={s['plan']}"),
    _p("GET", "/api/v1/tasks/{task_id}", lambda s: f"/api/v1/tasks/{s['task']}"),
    _p(
        "PATCH",
        "/api/v1/tasks/{task_id}",
        lambda s: f"/api/v1/tasks/{s['task']}",
        body=lambda s: {"status": "in_progress"},
        etag_of=lambda s: f"/api/v1/tasks/{s['task']}",
    ),
    # users
    _p(
        "POST",
        "/api/v1/users",
        lambda s: "/api/v1/users",
        body=lambda s: {
            "username": "ke-xam-nhap",
            "display_name": "X",
            "password": "mat-khau-dai-1",
            "grants": [{"role": "hamlet_officer", "unit_id": s["hamlet"]}],
        },
    ),
    _p("GET", "/api/v1/users", lambda s: f"/api/v1/users?unit_id={s['hamlet']}"),
    _p("GET", "/api/v1/users/{user_id}", lambda s: f"/api/v1/users/{s['user']}"),
    _p(
        "POST",
        "/api/v1/users/{user_id}/grants",
        lambda s: f"/api/v1/users/{s['user']}/grants",
        body=lambda s: {"role": "team_member", "unit_id": s["hamlet"]},
    ),
    _p(
        "DELETE",
        "/api/v1/users/{user_id}/grants/{grant_id}",
        lambda s: f"/api/v1/users/{s['user']}/grants/{s['grant']}",
    ),
    _p(
        "POST",
        "/api/v1/users/{user_id}/password",
        lambda s: f"/api/v1/users/{s['user']}/password",
        body=lambda s: {"password": "mat-khau-moi-123"},
    ),
    _p(
        "POST",
        "/api/v1/users/{user_id}/deactivate",
        lambda s: f"/api/v1/users/{s['user']}/deactivate",
    ),
]
# Routes that carry no object of a unit (the caller's own identity, public keys, health).
NOT_SCOPED = {
    "/api/v1/auth/token",
    "/api/v1/auth/me",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/healthz",
    "/readyz",
    "/metrics",
}
# What an agency may read: public data (units and counts).
PUBLIC_READS = {
    "/api/v1/units",
    "/api/v1/units/{unit_id}",
    "/api/v1/units/{unit_id}/ancestors",
    "/api/v1/units/{unit_id}/subtree",
    "/api/v1/units/{unit_id}/history",
    "/api/v1/units/{unit_id}/stats",
}


async def _site(
    client: httpx.AsyncClient, province: str, name: str, commune: str | None = None
) -> Site:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body)
        assert response.status_code in (200, 201), (path, response.text)
        result: dict[str, Any] = response.json()
        return result

    s: Site = {}
    s["commune"] = (
        commune
        or (
            await post(
                "/api/v1/units",
                {
                    "kind": "commune",
                    "name": f"Xã {name}",
                    "parent_id": province,
                    "valid_from": "2020-01-01",
                },
            )
        )["id"]
    )
    for key in ("hamlet", "sibling", "empty"):
        s[key] = (
            await post(
                "/api/v1/units",
                {
                    "kind": "hamlet",
                    "name": f"Thôn {key} {name}",
                    "parent_id": s["commune"],
                    "valid_from": "2020-01-01",
                },
            )
        )["id"]
    for key in ("household", "household2"):
        household = await post(
            "/api/v1/households",
            {
                "unit_id": s["hamlet"],
                "address": f"Xóm 1 {key}",
                "members": [{"full_name": f"Nguyễn Văn {key}"}, {"full_name": f"Trần Thị {key}"}],
            },
        )
        s[key] = household["id"]
    members = (await client.get(f"/api/v1/households/{s['household']}")).json()["members"]
    s["person"], s["person2"] = members[0]["id"], members[1]["id"]
    team = await post(
        "/api/v1/organisations",
        {
            "unit_id": s["hamlet"],
            "kind": "people_security",
            "name": f"Tổ an ninh {name}",
            "valid_from": "2024-01-01",
        },
    )
    s["team"] = team["id"]
    member = await post(
        f"/api/v1/organisations/{s['team']}/members",
        {"person_id": s["person"], "role": "leader", "valid_from": "2024-01-01"},
    )
    s["membership"] = member["id"]
    shift = await post(
        f"/api/v1/teams/{s['team']}/shifts",
        {
            "starts_at": "2031-01-01T00:00:00+07:00",
            "ends_at": "2031-01-01T08:00:00+07:00",
            "person_ids": [s["person"]],
        },
    )
    s["shift"] = shift["id"]
    await client.put(
        f"/api/v1/units/{s['hamlet']}/enrolments/2026",
        json={"resolution_date": "2026-01-10", "registered_on": "2026-01-20"},
    )
    s["plan"] = (
        await post(
            "/api/v1/plans", {"commune_id": s["commune"], "year": 2026, "title": "Kế hoạch 2026"}
        )
    )["id"]
    s["task"] = (
        await post(
            f"/api/v1/plans/{s['plan']}/tasks",
            {"title": "Tuần tra", "organisation_id": s["team"], "due_date": "2030-01-01"},
        )
    )["id"]
    user = await post(
        "/api/v1/users",
        {
            "username": f"can-bo-{s['hamlet'][:8]}",
            "display_name": "Cán bộ",
            "password": "mat-khau-dai-1",
            "grants": [{"role": "hamlet_officer", "unit_id": s["hamlet"]}],
        },
    )
    s["user"], s["grant"] = user["id"], user["grants"][0]["id"]
    return s


async def _snapshot(rt: Any) -> dict[str, list[str]]:
    """Every document (without the outbox and the fields that move by themselves)."""
    collections = (
        "units",
        "households",
        "people",
        "organisations",
        "tasks",
        "task_plans",
        "enrolments",
        "users",
    )
    return await snapshot(rt.db, collections, ignore=("updated_at", "public_counts"))


def test_every_route_has_a_probe(registry_settings: Settings) -> None:
    app = create_app(registry_settings)
    routes = api_routes(app)
    assert len(routes) > 40  # the check below must see the routes
    covered = {(p.method, p.route) for p in PROBES}
    missing = sorted(
        r
        for r in routes
        if r[1] not in NOT_SCOPED
        and r not in covered
        and not r[1].startswith("/api/v1/imports")
        and "/imports" not in r[1]
        and "/exports" not in r[1]
    )
    assert missing == [], f"add probes for {missing}"


@pytest.mark.parametrize(
    ("role", "scope_key"),
    [
        ("commune_officer", "commune"),
        ("police", "commune"),
        ("hamlet_officer", "hamlet"),
        ("team_member", "hamlet"),
        ("agency", "*"),
    ],
)
async def test_callers_cannot_reach_outside_their_scope(
    registry_settings: Settings,
    admin: dict[str, str],
    issuer: TestIssuer,
    role: str,
    scope_key: str,
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, rt):
        province = (
            await client.post(
                "/api/v1/units",
                json={"kind": "province", "name": "Hà Tĩnh", "valid_from": "2020-01-01"},
            )
        ).json()["id"]
        mine, theirs = await _site(client, province, "A"), await _site(client, province, "B")
        unit = "*" if scope_key == "*" else mine[scope_key]
        caller = issuer.headers((role, unit), kind="agency" if role == "agency" else "user")
        targets = [theirs]
        if scope_key == "hamlet":  # a hamlet role's outside includes the next hamlet
            targets.append(await _site(client, province, "A2", commune=mine["commune"]))
        if role == "agency":
            targets = [mine]
        before = await _snapshot(rt)
        leaks = []
        for target in targets:
            # Moving the target into the caller's own commune is a way in; try it.
            site = {
                **target,
                "other_commune": theirs["commune"] if role == "agency" else mine["commune"],
            }
            for probe in PROBES:
                if role == "agency" and probe.method == "GET" and probe.route in PUBLIC_READS:
                    continue
                headers = dict(caller)
                if probe.etag_of is not None:
                    headers["If-Match"] = (await client.get(probe.etag_of(site))).headers["etag"]
                body = probe.body(site) if probe.body else None
                response = await client.request(
                    probe.method, probe.url(site), json=body, headers=headers
                )
                if not _refused(response, site, probe):
                    leaks.append(
                        (
                            probe.method,
                            probe.url(site),
                            response.status_code,
                            response.text[:300],
                        )
                    )
        assert leaks == [], "\n".join(f"{m} {u} {c} {t}" for m, u, c, t in leaks)
        assert await _snapshot(rt) == before


def _refused(response: httpx.Response, site: Site, probe: Probe) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code == 422:
        # A domain refusal that hides an id outside the scope, never a malformed request.
        errors = response.json().get("errors", [])
        return bool(errors) and all("code" not in e for e in errors)
    if response.status_code == 200 and probe.method == "GET":
        body = response.json()
        items = body.get("items", body) if isinstance(body, dict) else body
        if isinstance(items, list):
            # The caller's own units may name the shared commune as their parent.
            shared = {"other_commune"} | ({"commune"} if "units" in probe.route else set())
            text = repr(items)
            return not any(v in text for k, v in site.items() if k not in shared)
    return False


async def test_callers_can_use_what_their_roles_allow_inside_their_scope(
    registry_settings: Settings, admin: dict[str, str], issuer: TestIssuer
) -> None:
    async with serve(create_app(registry_settings), headers=admin) as (client, _):
        province = (
            await client.post(
                "/api/v1/units",
                json={"kind": "province", "name": "Hà Tĩnh", "valid_from": "2020-01-01"},
            )
        ).json()["id"]
        s = await _site(client, province, "A")
        officer = issuer.headers(("hamlet_officer", s["hamlet"]))
        police = issuer.headers(("police", s["commune"]))
        member = issuer.headers(("team_member", s["hamlet"]))
        agency = issuer.headers(("agency", "*"), kind="agency")
        assert (
            await client.get(f"/api/v1/people/{s['person']}", headers=officer)
        ).status_code == 200
        assert (
            await client.get(f"/api/v1/people/{s['person']}", headers=police)
        ).status_code == 200
        assert (
            await client.get(f"/api/v1/units/{s['hamlet']}/contact-roster", headers=member)
        ).status_code == 200
        assert (
            await client.get(f"/api/v1/people/{s['person']}", headers=member)
        ).status_code == 403
        assert (
            await client.get(f"/api/v1/units/{s['hamlet']}/stats", headers=agency)
        ).status_code == 200
        edit = await client.patch(
            f"/api/v1/households/{s['household']}", json={"address": "Xóm 2"}, headers=officer
        )
        assert edit.status_code == 200
        police_edit = await client.patch(
            f"/api/v1/households/{s['household']}", json={"address": "Xóm 3"}, headers=police
        )
        assert police_edit.status_code == 403
