"""Who may strike a hamlet's gong, read its drill report, write its policies and endpoints.

Real servers (Kafka, FerretDB, the fake SMS provider), callers with real tokens. Only roles at
or above a hamlet strike its gong or read its drill report; names of those who did not answer
only for callers who may read people there; policies are written by the officers of their unit
(the defaults by a national administrator only), endpoints by commune officers. A refusal is a
401, a 403, a 404 or the same 422 an unknown hamlet gets; a refused request changes nothing.
Residents never see other residents: no route lists recipients.
"""

from __future__ import annotations

from typing import Any

from binhyen.kit.testing import TestIssuer, api_routes
from binhyen.kit.testing.access import Probe, Site, snapshot
from binhyen.kit.testing.access import probe as _p
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.app import create_app
from binhyen.notifications.sample_world import (
    COMMUNE,
    HAMLET,
    HAMLET2,
    OTHER_COMMUNE,
    OTHER_HAMLET,
    OTHER_RESIDENT,
    RESIDENTS,
    TOWN,
    World,
    running_world,
    strike_body,
)
from binhyen.notifications.settings import Settings

Grant = tuple[str, str]
NAMES = [r[2] for r in [*RESIDENTS, OTHER_RESIDENT]]
PHONES = [r[3] for r in [*RESIDENTS, OTHER_RESIDENT]]
UNKNOWN = "h-nowhere"
STRIKERS: list[Grant] = [
    ("hamlet_officer", HAMLET),
    ("team_leader", HAMLET),
    ("commune_officer", COMMUNE),
    ("police", COMMUNE),
    ("police", TOWN),  # at or above: the district's police
]
NOT_STRIKERS: list[Grant] = [
    ("resident", HAMLET),
    ("team_member", HAMLET),
    ("agency", "*"),
    ("commune_officer", OTHER_COMMUNE),
    ("police", OTHER_COMMUNE),
    ("hamlet_officer", HAMLET2),
    ("team_leader", OTHER_HAMLET),
]
REPORT_READERS: list[Grant] = [
    ("hamlet_officer", HAMLET),
    ("commune_officer", COMMUNE),
    ("police", COMMUNE),
]
NOT_REPORT_READERS: list[Grant] = [
    ("team_member", HAMLET),
    ("team_leader", HAMLET),
    ("resident", HAMLET),
    ("agency", "*"),
    ("hamlet_officer", HAMLET2),
    ("commune_officer", OTHER_COMMUNE),
]
REFUSED = (401, 403, 404, 422)
# The fake SMS provider is shared by the session: our messages must be told from other tests'.
HEADLINE = "Kiểm tra quyền đánh kẻng thôn Tân Thành"
HOOK = "http://127.0.0.1:9/hook"  # never called: the endpoints here only prove who may add one


async def _problem(world: World, headers: dict[str, str], hamlet: str) -> tuple[int, Any]:
    response = await world.strike(headers, hamlet_ids=[hamlet], status="Test", headline_vi=HEADLINE)
    body = response.json()
    if response.status_code == 422:  # the id named is the only thing that may differ
        body = {k: str(v).replace(hamlet, "<hamlet>") for k, v in body.items()}
    return response.status_code, body


async def _alerts(world: World) -> dict[str, list[str]]:
    return await snapshot(world.rt.db, ["alerts", "deliveries"])


async def test_only_roles_at_or_above_a_hamlet_strike_its_gong(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        officer = world.as_("commune_officer", COMMUNE)
        unknown = await _problem(world, officer, UNKNOWN)
        assert unknown[0] == 422 and "hamlet_ids.0" in unknown[1]["errors"]
        before = await _alerts(world)
        failures = []
        for role, unit in NOT_STRIKERS:
            code, body = await _problem(world, world.as_(role, unit), HAMLET)
            if code != 403 and (code, body) != unknown:
                failures.append(f"{role}@{unit}: {code} {body}")
        anonymous = await world.client.post("/api/v1/alerts", json=strike_body())
        assert anonymous.status_code == 401
        assert not failures, "\n".join(failures)
        assert await _alerts(world) == before  # nothing struck, nothing queued

        for role, unit in STRIKERS:
            struck = await world.strike(world.as_(role, unit), status="Test", headline_vi=HEADLINE)
            assert struck.status_code == 201, (role, unit, struck.text)
            assert struck.json()["hamlet_ids"] == [HAMLET]


async def test_the_drill_report_is_for_officers_at_or_above_and_names_for_people_readers(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        struck = await world.strike(headline_vi=HEADLINE)
        assert struck.status_code == 201, struck.text
        url = f"/api/v1/alerts/{struck.json()['id']}/report"

        async def names(headers: dict[str, str]) -> list[str] | None:
            response = await world.client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            [hamlet] = response.json()["hamlets"]
            found: list[str] | None = hamlet["not_answered_names"]
            return found

        consenting = sorted(r[2] for r in RESIDENTS if r[4])
        for role, unit in REPORT_READERS:
            seen = await names(world.as_(role, unit))
            assert seen is not None and set(consenting) <= set(seen), (role, unit, seen)
        for role, unit in NOT_REPORT_READERS:
            response = await world.client.get(url, headers=world.as_(role, unit))
            assert response.status_code in REFUSED, (role, unit, response.text)
            assert not any(name in response.text for name in NAMES), (role, unit)

        # Two hamlets at once: an officer of one reads that hamlet's row only, no other names.
        both = await world.strike(
            world.as_("commune_officer", COMMUNE),
            hamlet_ids=[HAMLET, HAMLET2],
            headline_vi=HEADLINE,
        )
        assert both.status_code == 201, both.text
        response = await world.client.get(
            f"/api/v1/alerts/{both.json()['id']}/report",
            headers=world.as_("hamlet_officer", HAMLET2),
        )
        assert response.status_code == 200, response.text
        assert [h["hamlet_id"] for h in response.json()["hamlets"]] == [HAMLET2]
        assert not any(name in response.text for name in NAMES)


async def _policy_body(world: World, unit_id: str) -> dict[str, Any]:
    """The default gong policy, as a body for ``unit_id``."""
    response = await world.client.get(
        "/api/v1/policies/default-gong", headers=world.as_("admin", "*")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for key in ("id", "version", "updated_by"):
        body.pop(key)
    return body | {"unit_id": unit_id, "name": f"Kẻng {unit_id}"}


async def test_policies_are_written_by_the_officers_of_their_unit_and_defaults_by_an_admin(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        post = "/api/v1/policies"
        mine = await world.client.post(
            post,
            json=await _policy_body(world, HAMLET),
            headers=world.as_("hamlet_officer", HAMLET),
        )
        assert mine.status_code == 201, mine.text
        hamlet_policy = mine.json()["id"]
        before = await snapshot(world.rt.db, ["policies"])
        refused: list[tuple[Grant, str, str, dict[str, Any]]] = []
        for grant, unit in [
            (("hamlet_officer", HAMLET), COMMUNE),
            (("hamlet_officer", HAMLET2), HAMLET),
            (("police", COMMUNE), HAMLET),
            (("team_leader", HAMLET), HAMLET),
            (("team_member", HAMLET), HAMLET),
            (("resident", HAMLET), HAMLET),
            (("agency", "*"), HAMLET),
            (("commune_officer", OTHER_COMMUNE), HAMLET),
            (("commune_officer", COMMUNE), "*"),  # the defaults
            (("hamlet_officer", HAMLET), "*"),
        ]:
            refused.append((grant, "POST", post, await _policy_body(world, unit)))
        body = await _policy_body(world, HAMLET)
        for grant in [
            ("hamlet_officer", HAMLET2),
            ("police", COMMUNE),
            ("team_leader", HAMLET),
            ("commune_officer", OTHER_COMMUNE),
        ]:
            refused.append((grant, "PUT", f"{post}/{hamlet_policy}", body))
        for grant in [("commune_officer", COMMUNE), ("hamlet_officer", HAMLET), ("police", TOWN)]:
            refused.append((grant, "PUT", f"{post}/default-gong", await _policy_body(world, "*")))
        failures = []
        for (role, unit), method, url, json in refused:
            response = await world.client.request(
                method, url, json=json, headers=world.as_(role, unit)
            )
            if response.status_code not in REFUSED:
                failures.append(f"{role}@{unit} {method} {url} {json['unit_id']}: {response.text}")
        assert not failures, "\n".join(failures)
        assert await snapshot(world.rt.db, ["policies"]) == before

        commune = world.as_("commune_officer", COMMUNE)
        for unit in (COMMUNE, HAMLET):
            made = await world.client.post(
                post, json=await _policy_body(world, unit), headers=commune
            )
            assert made.status_code == 201, made.text
        edited = await world.client.put(f"{post}/{hamlet_policy}", json=body, headers=commune)
        assert edited.status_code == 200 and edited.json()["version"] == 2, edited.text
        admin = world.as_("admin", "*")
        default = await world.client.put(
            f"{post}/default-gong", json=await _policy_body(world, "*"), headers=admin
        )
        assert default.status_code == 200 and default.json()["version"] == 2, default.text


async def test_endpoints_are_managed_by_commune_officers_of_their_unit(
    notifications_settings: Settings, issuer: TestIssuer
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        commune = world.as_("commune_officer", COMMUNE)
        made = await world.client.post(
            "/api/v1/endpoints",
            json={"unit_id": HAMLET, "name": "Trực ban xã", "url": HOOK},
            headers=commune,
        )
        assert made.status_code == 201, made.text
        one = f"/api/v1/endpoints/{made.json()['id']}"
        before = await snapshot(world.rt.db, ["endpoints"])
        failures = []
        for role, unit in [
            ("hamlet_officer", HAMLET),
            ("police", COMMUNE),
            ("team_leader", HAMLET),
            ("resident", HAMLET),
            ("agency", "*"),
            ("commune_officer", OTHER_COMMUNE),
        ]:
            headers = world.as_(role, unit)
            for method, url, json in [
                ("POST", "/api/v1/endpoints", {"unit_id": HAMLET, "name": "X", "url": HOOK}),
                ("GET", f"/api/v1/endpoints?unit_id={HAMLET}", None),
                ("POST", f"{one}/rotate", None),
                ("POST", f"{one}/enable", None),
                ("DELETE", one, None),
            ]:
                response = await world.client.request(method, url, json=json, headers=headers)
                if response.status_code not in REFUSED or "whsec_" in response.text:
                    failures.append(f"{role}@{unit} {method} {url}: {response.status_code}")
        assert not failures, "\n".join(failures)
        assert await snapshot(world.rt.db, ["endpoints"]) == before
        listed = await world.client.get(f"/api/v1/endpoints?unit_id={HAMLET}", headers=commune)
        assert [e["url"] for e in listed.json()] == [HOOK] and "whsec_" not in listed.text


NOW_PROBES: list[Probe] = [
    _p("GET", "/a/{token}", lambda s: f"/a/{s['token']}"),
    _p("GET", "/alerts.atom", lambda s: "/alerts.atom"),
    _p("GET", "/alerts/{alert_id}", lambda s: f"/alerts/{s['alert']}"),
    _p("GET", "/alerts/{alert_id}.xml", lambda s: f"/alerts/{s['alert']}.xml"),
    _p("GET", "/api/v1/alerts", lambda s: f"/api/v1/alerts?unit_id={HAMLET}"),
    _p("GET", "/api/v1/alerts/{alert_id}", lambda s: f"/api/v1/alerts/{s['alert']}"),
    _p(
        "GET",
        "/api/v1/alerts/{alert_id}/cap.xml",
        lambda s: f"/api/v1/alerts/{s['alert']}/cap.xml",
    ),
    _p("GET", "/api/v1/alerts/{alert_id}/report", lambda s: f"/api/v1/alerts/{s['alert']}/report"),
    _p(
        "GET",
        "/api/v1/alerts/{alert_id}/deliveries",
        lambda s: f"/api/v1/alerts/{s['alert']}/deliveries",
    ),
    _p("GET", "/api/v1/endpoints", lambda s: f"/api/v1/endpoints?unit_id={HAMLET}"),
    _p("GET", "/api/v1/me/contact", lambda s: "/api/v1/me/contact"),
    _p("GET", "/api/v1/policies", lambda s: f"/api/v1/policies?unit_id={HAMLET}"),
    _p("GET", "/api/v1/policies/{policy_id}", lambda s: "/api/v1/policies/default-gong"),
    _p(
        "GET",
        "/api/v1/policies/{policy_id}/versions",
        lambda s: "/api/v1/policies/default-gong/versions",
    ),
    _p("GET", "/callbacks/{channel}", lambda s: "/callbacks/sms"),
    _p("POST", "/callbacks/{channel}", lambda s: "/callbacks/sms", body=lambda s: {}),
    _p(
        "POST",
        "/api/v1/alerts/{alert_id}/ack",
        lambda s: f"/api/v1/alerts/{s['alert']}/ack",
        body=lambda s: {"answer": "received"},
    ),
    _p(
        "POST",
        "/api/v1/acks/{token}",
        lambda s: f"/api/v1/acks/{s['token']}",
        body=lambda s: {"answer": "received"},
    ),
    _p(
        "PUT",
        "/api/v1/me/contact",
        lambda s: "/api/v1/me/contact",
        body=lambda s: {"phones": ["0912000777"]},
    ),
    _p("PUT", "/api/v1/me/preferences", lambda s: "/api/v1/me/preferences", body=lambda s: {}),
    _p(
        "PUT",
        "/api/v1/residents/{person_id}/preferences",
        lambda s: f"/api/v1/residents/{RESIDENTS[0][0]}/preferences",
        body=lambda s: {"opted_out": True},
    ),
    _p("POST", "/api/v1/alerts", lambda s: "/api/v1/alerts", body=lambda s: strike_body()),
]
# Routes whose effect is checked above (writes by officers) or that read nothing of anyone.
CHECKED_ABOVE = {
    ("POST", "/a/{token}"),
    ("POST", "/a/{token}/push"),
    ("POST", "/api/v1/endpoints"),
    ("POST", "/api/v1/endpoints/{endpoint_id}/enable"),
    ("POST", "/api/v1/endpoints/{endpoint_id}/rotate"),
    ("DELETE", "/api/v1/endpoints/{endpoint_id}"),
    ("POST", "/api/v1/policies"),
    ("PUT", "/api/v1/policies/{policy_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}


def test_every_route_is_probed_for_what_residents_see(notifications_settings: Settings) -> None:
    routes = api_routes(create_app(notifications_settings))
    assert len(routes) > 25  # the check below must see the routes
    covered = {(p.method, p.route) for p in NOW_PROBES} | CHECKED_ABOVE
    missing = sorted(routes - covered)
    assert not missing, f"add a probe for {missing}"


async def _token_of(fake_gateway: Any, seen: int, phone: str) -> str:
    """The acknowledgement token the fake provider delivered to ``phone`` after its first
    ``seen`` messages (the provider is shared by the session's tests)."""
    national = "0" + phone.removeprefix("+84")

    def token() -> str | None:
        for m in fake_gateway.inbox()["messages"][seen:]:
            if m["phone"] == national and "/a/" in m["content"]:
                return str(m["content"].split("/a/")[1].split()[0])
        return None

    found = await eventually(token, what=f"an SMS to {national}")
    assert isinstance(found, str)
    return found


async def test_a_resident_never_sees_other_residents(
    notifications_settings: Settings, issuer: TestIssuer, fake_gateway: Any
) -> None:
    async with running_world(notifications_settings, issuer) as world:
        seen = len(fake_gateway.inbox()["messages"])
        struck = await world.strike(
            world.as_("hamlet_officer", HAMLET), status="Test", headline_vi=HEADLINE
        )
        assert struck.status_code == 201, struck.text
        me = RESIDENTS[3]  # a resident who is in no team
        site: Site = {
            "alert": struck.json()["id"],
            "token": await _token_of(fake_gateway, seen, me[3]),
        }
        others = [n for n in NAMES if n != me[2]] + [p for p in PHONES if p != me[3]]
        others += ["0" + p.removeprefix("+84") for p in PHONES if p != me[3]]
        failures = []
        for headers in (world.as_("resident", HAMLET, subject=me[0]), {}):
            for probe in NOW_PROBES:
                body = probe.body(site) if probe.body else None
                response = await world.client.request(
                    probe.method, probe.url(site), json=body, headers=headers
                )
                leaked = [o for o in others if o in response.text]
                if leaked:
                    failures.append(f"{probe.method} {probe.route} shows {leaked}")
        assert not failures, "\n".join(failures)

        # Officers too: only the drill report names people, and no route shows a phone.
        officer = world.as_("commune_officer", COMMUNE)
        for probe in NOW_PROBES:
            if probe.method != "GET":
                continue
            response = await world.client.get(probe.url(site), headers=officer)
            assert not any(p in response.text for p in PHONES), probe.route
            if probe.route != "/api/v1/alerts/{alert_id}/report":
                assert not any(n in response.text for n in NAMES), probe.route
