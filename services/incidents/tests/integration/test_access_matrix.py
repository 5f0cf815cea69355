"""Role × scope × endpoint: nobody outside an incident's scope reads or changes it.

Every route of the service is probed, with a request that would be valid for a caller
entitled to it, by callers whose grants do not cover the incident: every role of
another commune or hamlet, an agency, and residents who did not file it. Refusals
must be 401, 403, 404 or a 422 that hides the unknown object; lists must not contain
it; afterwards nothing has changed. A new route without a probe fails the test.
"""

from __future__ import annotations

from datetime import UTC, datetime

from binhyen.incidents.app import create_app
from binhyen.incidents.sample_world import (
    COMMUNE,
    HAMLET,
    OTHER_COMMUNE,
    OTHER_HAMLET,
    SPOT,
    TEAM,
    World,
    report_body,
)
from binhyen.incidents.settings import Settings
from binhyen.kit.testing import api_routes
from binhyen.kit.testing.access import Probe, Site, snapshot
from binhyen.kit.testing.access import probe as _p

NOW = datetime.now(UTC).isoformat()
ONE = "/api/v1/incidents/{incident_id}"
PROBES: list[Probe] = [
    _p("GET", "/api/v1/incidents", lambda s: f"/api/v1/incidents?unit_id={HAMLET}"),
    _p("GET", "/api/v1/incidents/map", lambda s: "/api/v1/incidents/map"),
    _p(
        "GET",
        "/api/v1/incidents/similar",
        lambda s: (
            f"/api/v1/incidents/similar?hamlet_id={HAMLET}&category=theft"
            f"&occurred_at={s['occurred_at']}"
        ),
    ),
    _p("POST", "/api/v1/incidents", lambda s: "/api/v1/incidents", body=lambda s: report_body()),
    _p("GET", ONE, lambda s: f"/api/v1/incidents/{s['incident']}"),
    _p("GET", ONE + "/timeline", lambda s: f"/api/v1/incidents/{s['incident']}/timeline"),
    _p(
        "POST",
        ONE + "/transitions",
        lambda s: f"/api/v1/incidents/{s['incident']}/transitions",
        body=lambda s: {"action": "assign", "assignee": {"team_id": TEAM}},
    ),
    _p(
        "POST",
        ONE + "/mediation/sessions",
        lambda s: f"/api/v1/incidents/{s['dispute']}/mediation/sessions",
        body=lambda s: {"held_at": NOW, "mediators": ["A"], "outcome": "adjourned"},
    ),
    _p(
        "POST",
        ONE + "/mediation/conclusion",
        lambda s: f"/api/v1/incidents/{s['dispute']}/mediation/conclusion",
        body=lambda s: {"agreement": False, "summary": "Không thành"},
    ),
    _p(
        "POST",
        ONE + "/handoff/receipt",
        lambda s: f"/api/v1/incidents/{s['escalated']}/handoff/receipt",
        body=lambda s: {"case_reference": "X-1"},
    ),
    _p("GET", ONE + "/messages", lambda s: f"/api/v1/incidents/{s['incident']}/messages"),
    _p(
        "POST",
        ONE + "/messages",
        lambda s: f"/api/v1/incidents/{s['incident']}/messages",
        body=lambda s: {"text": "Xin chào"},
    ),
    _p(
        "POST",
        ONE + "/reporter/unmask",
        lambda s: f"/api/v1/incidents/{s['incident']}/reporter/unmask",
        body=lambda s: {"reason": "Cần xác minh người báo tin"},
    ),
    _p(
        "GET",
        ONE + "/reporter/audit",
        lambda s: f"/api/v1/incidents/{s['incident']}/reporter/audit",
    ),
    _p("GET", "/api/v1/hamlets/{hamlet_id}", lambda s: f"/api/v1/hamlets/{HAMLET}"),
    _p(
        "POST",
        "/api/v1/categories",
        lambda s: "/api/v1/categories",
        body=lambda s: {
            "code": "intrusion",
            "name_vi": "Xâm nhập",
            "name_en": "Intrusion",
            "group": "other",
            "default_severity": "low",
        },
    ),
    _p(
        "PUT",
        "/api/v1/categories/{code}",
        lambda s: "/api/v1/categories/theft",
        body=lambda s: {
            "name_vi": "Đổi",
            "name_en": "Changed",
            "group": "crime",
            "default_severity": "low",
        },
    ),
    _p(
        "PUT",
        "/api/v1/deadline-policy",
        lambda s: "/api/v1/deadline-policy",
        body=lambda s: {
            k: {"acknowledge_minutes": 1, "resolve_minutes": 2}
            for k in ("low", "medium", "high", "critical")
        },
    ),
]
# Routes anyone may call: the catalogue, the policy, the tip intake (rate-limited) and
# the tipster's own view (the reply token is the credential), health and metrics.
OPEN = {
    ("GET", "/api/v1/categories"),
    ("GET", "/api/v1/categories/{code}"),
    ("GET", "/api/v1/deadline-policy"),
    ("POST", "/api/v1/tips"),
    ("GET", "/api/v1/tips/current"),
    ("POST", "/api/v1/tips/current/messages"),
    # Open311: the public view for anyone (checked below: no free text, no location).
    ("GET", "/open311/v2/discovery.json"),
    ("GET", "/open311/v2/services.json"),
    ("GET", "/open311/v2/services/{service_code}.json"),
    ("GET", "/open311/v2/requests.json"),
    ("GET", "/open311/v2/requests/{service_request_id}.json"),
    ("POST", "/open311/v2/requests.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}
# Outsiders: every role somewhere else, an agency everywhere, residents who did not file it.
OUTSIDERS: list[tuple[str, tuple[tuple[str, str], ...]]] = [
    ("commune officer elsewhere", (("commune_officer", OTHER_COMMUNE),)),
    ("hamlet officer of another hamlet", (("hamlet_officer", OTHER_HAMLET),)),
    ("team member elsewhere", (("team_member", OTHER_HAMLET),)),
    ("police elsewhere", (("police", OTHER_COMMUNE),)),
    ("agency", (("agency", "*"),)),
    ("resident of the hamlet", (("resident", HAMLET),)),
    ("resident elsewhere", (("resident", OTHER_HAMLET),)),
    ("nobody", ()),
]
# What an outsider must never see, not even in an error: the texts and the tipster.
SECRETS = ("Người báo tin", "0912000111", "cãi nhau về bờ rào", "Mất trộm xe đạp")
WRITES_ALLOWED_TO_RESIDENTS = {("POST", "/api/v1/incidents"), ("GET", "/api/v1/incidents/similar")}


def test_every_route_has_a_probe(incidents_settings: Settings) -> None:
    routes = api_routes(create_app(incidents_settings))
    assert len(routes) > 25  # the check below must see the routes
    covered = {(p.method, p.route) for p in PROBES} | OPEN
    missing = sorted(routes - covered)
    assert not missing, f"add access probes for {missing}"


async def _site(world: World) -> Site:
    officer = world.as_("commune_officer", COMMUNE)
    tip = await world.client.post(
        "/api/v1/tips", json=report_body(contact={"name": "Người báo tin", "phone": "0912000111"})
    )
    incident = tip.json()["incident_id"]
    dispute = (
        await world.reported(
            officer,
            category="land_dispute",
            answers={"parties": 2},
            description="Hai hộ cãi nhau về bờ rào",
        )
    )["id"]
    assert (await world.act(dispute, "acknowledge", officer)).status_code == 200
    escalated = (await world.reported(officer))["id"]
    assert (await world.act(escalated, "acknowledge", officer)).status_code == 200
    handoff = {"to_name": "Công an xã Kỳ Nam", "summary": "Hồ sơ"}
    response = await world.act(escalated, "escalate", officer, handoff=handoff)
    assert response.status_code == 200
    return {
        "incident": incident,
        "dispute": dispute,
        "escalated": escalated,
        "occurred_at": NOW.replace("+", "%2B"),
    }


async def _snapshot(world: World) -> dict[str, list[str]]:
    # The catalogue too (its relay fields change as its events go out: they are left out).
    return await snapshot(world.rt.db, ["incidents", "categories"])


async def test_nobody_outside_the_scope_reads_or_changes_an_incident(world: World) -> None:
    site = await _site(world)
    before = await _snapshot(world)
    failures: list[str] = []
    for who, grants in OUTSIDERS:
        headers = world.headers(*grants) if grants else {}
        for probe in PROBES:
            if (
                (probe.method, probe.route) in WRITES_ALLOWED_TO_RESIDENTS
                and grants
                and (grants[0] == ("resident", HAMLET))
            ):
                continue  # residents may report in their hamlet; checked elsewhere
            body = probe.body(site) if probe.body else None
            response = await world.client.request(
                probe.method, probe.url(site), json=body, headers=headers
            )
            code = response.status_code
            text = response.text
            if probe.method == "GET" and code == 200:
                if any(site[k] in text for k in ("incident", "dispute", "escalated")):
                    failures.append(f"{who}: {probe.method} {probe.route} shows the incident")
            elif probe.route == "/api/v1/incidents" and probe.method == "POST":
                if code not in (401, 403, 422):
                    failures.append(f"{who}: {probe.method} {probe.route} answered {code}")
            elif code not in (401, 403, 404, 422):
                failures.append(f"{who}: {probe.method} {probe.route} answered {code}: {text}")
            elif any(secret in text for secret in SECRETS):
                failures.append(f"{who}: {probe.method} {probe.route} leaked in an error")
        for url in (
            f"/open311/v2/requests/{site['incident']}.json",
            f"/open311/v2/requests.json?hamlet_id={HAMLET}",
        ):
            response = await world.client.get(url, headers=headers)
            if any(secret in response.text for secret in SECRETS) or str(SPOT[1]) in response.text:
                failures.append(f"{who}: GET {url} shows the report's text or location")
    assert not failures, "\n".join(failures)
    assert await _snapshot(world) == before
