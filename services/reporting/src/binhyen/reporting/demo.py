"""Two years of Kỳ Nam's history for reporting, loaded through the registry's and incidents' APIs.

Runs after the registry's and incidents' demos (``make run`` and compose's ``demo-reporting``
do). As the commune officer ``ky-nam`` (a demo account) it adds what the statistics and the
yearly evaluation look at, for the programme years 2025 and 2026 and the evaluation years
EY2025 (01/11/2024–31/10/2025) and EY2026 (01/11/2025–31/10/2026):

- a third hamlet, Hòa Lộc (invented), with households, residents (no phone numbers) and its
  people's security and mediation teams;
- every hamlet's enrolment for 2025 and 2026, and household pledges for both years: all of
  Tân Thành's and Hòa Lộc's households, most of Quý Huệ's (it misses the 100 % of criterion 1);
- a duty shift a quarter for each hamlet's security and mediation teams;
- incidents of several groups over both evaluation years: fewer crimes and social evils in
  EY2026 than in EY2025 in Tân Thành, more in Quý Huệ, one serious crime (an assault handed to
  the police) in Hòa Lộc; some acknowledged, assigned and resolved, one rejected, a neighbours'
  dispute mediated to an agreement.

It never writes a topic or a database. Every write carries an Idempotency-Key, or is made only
after a read shows it missing where the API takes none (enrolments, pledges, mediation, the
police's receipt), so a second run changes nothing. Then it waits until reporting counts the
incidents and returns them per evaluation year, for the commune and each hamlet.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import httpx

from binhyen.reporting.demo_data import (
    HAMLETS,
    HISTORY,
    MISSING_PLEDGE_AT,
    MISSING_PLEDGE_EVERY,
    NEW_HAMLET,
    NEW_HOUSEHOLDS,
    SHIFT_DAYS,
    TEAMS,
    YEARS,
    expected_counts,
    location,
    new_households,
)

OFFICER = "ky-nam"  # the commune officer (registry demo account)
POLICE = "cong-an-ky-nam"  # the commune police (registry demo account)
PERIOD = "EY2026"  # statistics of EY2026, each figure beside EY2025


@dataclass(frozen=True)
class HamletFigures:
    """One unit's figures in reporting: EY2025 beside EY2026."""

    name: str
    unit_id: str
    incidents: tuple[int, int]
    crime_and_social_evils: tuple[int, int]
    serious_crimes: int  # crimes of severity high or critical in EY2026
    pledged: int  # active households with a 2026 pledge
    households: int  # active households


@dataclass(frozen=True)
class HistoryResult:
    """The commune's and each hamlet's figures once reporting counted the history."""

    commune: HamletFigures
    hamlets: list[HamletFigures]
    generation: int
    reporting_url: str
    evaluations: list[EvaluationLine]


class _Api:
    """Calls with a bearer token; an error answer stops the demo with what the server said."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    async def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = None, **params: Any
    ) -> Any:
        headers = self.auth | ({"Idempotency-Key": key} if key else {})
        answer = await self.client.request(
            method, path, json=body, params=params or None, headers=headers
        )
        if answer.is_error:
            raise RuntimeError(f"{method} {path} → {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    async def found(self, path: str) -> bool:
        """True if ``path`` answers 200, False on 404."""
        answer = await self.client.get(path, headers=self.auth)
        if answer.status_code not in (200, 404):
            raise RuntimeError(f"GET {path} → {answer.status_code}: {answer.text}")
        return answer.status_code == 200


async def _token(registry: httpx.AsyncClient, username: str, password: str) -> str:
    answer = await registry.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    if answer.is_error:
        raise RuntimeError(f"cannot log in as {username} (run the registry demo first)")
    token: str = answer.json()["access_token"]
    return token


def _unit_of(token: str) -> str:
    """The unit of the token's first grant."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    unit: str = claims["grants"][0]["unit"]
    return unit


async def _gather(jobs: Sequence[Callable[[], Awaitable[None]]], limit: int = 6) -> None:
    """Run ``jobs`` at most ``limit`` at a time (the servers share a small machine)."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def _hamlets(registry: _Api, commune: str) -> dict[str, str]:
    """The demo hamlets' ids by slug; Hòa Lộc is registered when it is missing."""
    subtree = await registry.call("GET", f"/api/v1/units/{commune}/subtree")
    by_name = {
        u["name"]: u["id"] for u in subtree if u["level"] == "hamlet" and u["status"] == "active"
    }
    ids = {slug: by_name[name] for slug, name in HAMLETS.items() if name in by_name}
    missing = [HAMLETS[s] for s in HAMLETS if s not in ids and s != NEW_HAMLET]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found under Kỳ Nam: run the registry demo")
    if NEW_HAMLET not in ids:
        body = {"kind": "hamlet", "name": HAMLETS[NEW_HAMLET], "parent_id": commune}
        body["valid_from"] = "2020-01-01"
        ids[NEW_HAMLET] = (
            await registry.call("POST", "/api/v1/units", body, key=f"demo-{NEW_HAMLET}")
        )["id"]
    return ids


async def _new_hamlet(registry: _Api, hamlet_id: str) -> None:
    """Hòa Lộc's households and its security and mediation teams (members from 2024)."""
    residents: list[dict[str, Any]] = []
    for household in new_households(NEW_HOUSEHOLDS):
        key = f"demo-{NEW_HAMLET}-{household['registration_code']}"
        body = {"unit_id": hamlet_id, **household}
        try:
            created = await registry.call("POST", "/api/v1/households", body, key=key)
        except RuntimeError as exc:
            # Made by a run from before households had a registration day: that run's body
            # (without it) is what the key answers.
            if "422" not in str(exc) or "Idempotency-Key" not in str(exc):
                raise
            body.pop("registered_on")
            created = await registry.call("POST", "/api/v1/households", body, key=key)
        adults = [m for m in created.get("members") or [] if (m.get("birth_year") or 0) <= 2000]
        residents += [m for m in adults if m.get("birth_year")]
    picked = 0
    for kind, (pattern, size) in TEAMS.items():
        body = {"unit_id": hamlet_id, "kind": kind, "name": pattern.format(HAMLETS[NEW_HAMLET])}
        body["valid_from"] = "2024-01-01"
        team = await registry.call(
            "POST", "/api/v1/organisations", body, key=f"demo-{NEW_HAMLET}-{kind}"
        )
        for i in range(size):
            member = {
                "person_id": residents[(picked + i * 5) % len(residents)]["id"],
                "role": "leader" if i == 0 else "member",
                "valid_from": "2024-01-01",
            }
            await registry.call(
                "POST",
                f"/api/v1/organisations/{team['id']}/members",
                member,
                key=f"demo-{NEW_HAMLET}-{kind}-{i}",
            )
        picked += size


async def _enrolments(registry: _Api, hamlets: dict[str, str]) -> None:
    """Each hamlet's enrolment for 2025 and 2026 (the registry demo made some for 2026)."""
    for unit_id in hamlets.values():
        for year in YEARS:
            path = f"/api/v1/units/{unit_id}/enrolments/{year}"
            if not await registry.found(path):
                body = {"resolution_date": f"{year}-01-15", "registered_on": f"{year}-02-05"}
                await registry.call("PUT", path, body)


async def _households(registry: _Api, hamlet_id: str) -> list[dict[str, Any]]:
    """The hamlet's active households, in the registry's order."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"unit_id": hamlet_id, "limit": 500}
        if after:
            params["after"] = after
        page = await registry.call("GET", "/api/v1/households", **params)
        found += page["items"]
        after = page["next_after"]
        if not after:
            return found


async def _pledges(registry: _Api, hamlets: dict[str, str]) -> None:
    """Pledges for 2025 and 2026 where missing: all households but some of Quý Huệ's."""
    jobs = []
    for slug, hamlet_id in hamlets.items():
        for n, household in enumerate(await _households(registry, hamlet_id)):
            years = {p["year"] for p in household["pledges"]}
            missing = [y for y in YEARS if y not in years]
            if slug == "quy-hue":  # 2026 as the registry demo left it, 2025 with gaps
                skip = n % MISSING_PLEDGE_EVERY == MISSING_PLEDGE_AT
                missing = [y for y in missing if y != 2026 and not skip]
            if missing:
                jobs.append(partial(_pledge, registry, household["id"], missing, n))
    await _gather(jobs)


async def _pledge(registry: _Api, household_id: str, years: list[int], n: int) -> None:
    # One household's years one after the other: two writes at once would race on its version.
    for year in years:
        signed = date(year, 1, 10) + timedelta(days=n % 75)
        path = f"/api/v1/households/{household_id}/pledges/{year}"
        await registry.call("PUT", path, {"signed_on": signed.isoformat()})


async def _shifts(registry: _Api, hamlets: dict[str, str]) -> None:
    """A duty shift a quarter for each hamlet's security and mediation teams."""
    # The registry's team events carry the shifts that ended in the last 400 days, so
    # reporting records these past ones as the team's activity (criterion 5).
    for slug, hamlet_id in hamlets.items():
        for kind in TEAMS:
            listed = await registry.call(
                "GET", "/api/v1/organisations", unit_id=hamlet_id, kind=kind
            )
            if not listed["items"]:
                continue
            team = await registry.call("GET", f"/api/v1/organisations/{listed['items'][0]['id']}")
            on_duty = [m["person_id"] for m in team["members"] if m["valid_from"] <= "2024-11-01"][
                :2
            ]
            if not on_duty:
                continue
            for day in SHIFT_DAYS:
                shift = {
                    "starts_at": f"{day}T19:00:00+07:00",
                    "ends_at": f"{day}T23:00:00+07:00",
                    "person_ids": on_duty,
                    "note": "Tuần tra đêm",
                }
                await registry.call(
                    "POST",
                    f"/api/v1/teams/{team['id']}/shifts",
                    shift,
                    key=f"demo-shift-{slug}-{kind}-{day}",
                )


async def _wait_known(incidents: _Api, hamlet_id: str, deadline: float) -> None:
    """Wait until incidents has learnt the hamlet from the registry's topic."""
    while True:
        try:
            if await incidents.found(f"/api/v1/hamlets/{hamlet_id}"):
                return
        except httpx.TransportError:
            pass  # incidents is still starting
        if time.monotonic() > deadline:
            raise TimeoutError(f"hamlet {hamlet_id} did not reach incidents in time")
        await asyncio.sleep(0.5)


async def _incidents(
    incidents: _Api, police: _Api, hamlets: dict[str, str], teams: dict[str, str]
) -> None:
    """File the history and take each report as far as its flow says (once)."""
    for n, (key, slug, category, occurred, flow, text, answers) in enumerate(HISTORY):
        body = {
            "hamlet_id": hamlets[slug],
            "category": category,
            "description": text,
            "occurred_at": f"{occurred}:00+07:00",
            "location": location(slug, n),
            "answers": answers,
        }
        filed = await incidents.call("POST", "/api/v1/incidents", body, key=f"demo-{key}")
        await _follow(
            incidents,
            police,
            await incidents.call("GET", f"/api/v1/incidents/{filed['id']}"),
            flow,
            teams.get(slug),
        )


async def _follow(
    incidents: _Api, police: _Api, incident: dict[str, Any], flow: str, team: str | None
) -> None:
    """The flow's next steps from where the incident stands (none once it got there)."""
    path = f"/api/v1/incidents/{incident['id']}"
    flows: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "": [],
        "ack": [("acknowledge", {})],
        "reject": [("reject", {"reason": "Đã xác minh: không có dấu hiệu vi phạm"})],
        "resolve": [("acknowledge", {})]
        + ([("assign", {"assignee": {"team_id": team}}), ("start", {})] if team else [])
        + [("resolve", {"reason": "Tổ an ninh đã xác minh, xử lý xong"})],
        "mediate": [("acknowledge", {})],
        "police": [
            ("acknowledge", {}),
            ("escalate", {"reason": "Gây thương tích nặng: chuyển công an xã", "handoff": {
                "to_name": "Công an xã Kỳ Nam",
                "summary": "Hồ sơ vụ đánh nhau, lời khai của người làm chứng",
                "items": ["Biên bản sự việc"],
            }}),
        ],
    }  # fmt: skip
    steps = flows[flow]
    for action, extra in steps:
        if action in incident["allowed_actions"]:
            incident = await incidents.call(
                "POST", f"{path}/transitions", {"action": action, **extra}
            )
    mediation = incident.get("mediation") or {}
    if flow == "mediate" and not mediation.get("sessions"):
        session = {
            "held_at": incident["reported_at"],
            "mediators": ["Tổ hòa giải thôn", "Trưởng thôn"],
            "outcome": "agreement",
            "place": "Nhà văn hóa thôn",
        }
        mediation = (await incidents.call("POST", f"{path}/mediation/sessions", session))[
            "mediation"
        ]
    if flow == "mediate" and mediation.get("outcome") is None:
        summary = "Hai gia đình thống nhất làm rãnh thoát nước riêng"
        await incidents.call(
            "POST", f"{path}/mediation/conclusion", {"agreement": True, "summary": summary}
        )
    handoff = incident.get("handoff") or {}
    if flow == "police" and handoff and handoff.get("received_at") is None:
        await police.call("POST", f"{path}/handoff/receipt", {"case_reference": "CAX-KN-2026-017"})


async def _figures(reporting: _Api, name: str, unit_id: str) -> tuple[HamletFigures, int]:
    """A unit's figures of EY2026 beside EY2025, and the read model's generation."""
    stats = await reporting.call("GET", "/api/v1/statistics", unit_id=unit_id, period=PERIOD)
    crime = await reporting.call(
        "GET", "/api/v1/statistics", unit_id=unit_id, period=PERIOD, group="crime"
    )
    incidents, households = stats["figures"]["incidents"], stats["figures"]["households"]
    groups = incidents["by_group"]
    severities = crime["figures"]["incidents"]["by_severity"]

    def pair(figure: dict[str, int]) -> tuple[int, int]:
        return figure["previous"], figure["current"]

    crimes = [pair(groups["crime"]), pair(groups["social_evil"])]
    figures = HamletFigures(
        name=name,
        unit_id=unit_id,
        incidents=pair(incidents["total"]),
        crime_and_social_evils=(sum(c[0] for c in crimes), sum(c[1] for c in crimes)),
        serious_crimes=severities["high"]["current"] + severities["critical"]["current"],
        pledged=households["pledged"]["current"],
        households=households["active"]["current"],
    )
    return figures, stats["generation"]


async def _wait_counted(reporting: _Api, commune: str, deadline: float) -> None:
    """Wait until reporting's EY2026 statistics of the commune count the history."""
    wanted_before, wanted_now = expected_counts()
    while True:
        try:
            stats = await reporting.client.get(
                "/api/v1/statistics",
                params={"unit_id": commune, "period": PERIOD},
                headers=reporting.auth,
            )
            if stats.status_code == 200:
                total = stats.json()["figures"]["incidents"]["total"]
                if total["previous"] >= wanted_before and total["current"] >= wanted_now:
                    return
            elif stats.status_code != 404:  # 404: reporting has not learnt the commune yet
                raise RuntimeError(f"reporting statistics → {stats.status_code}: {stats.text}")
        except httpx.TransportError:
            pass  # reporting is still starting
        if time.monotonic() > deadline:
            raise TimeoutError(f"reporting did not count the demo's incidents of {PERIOD} in time")
        await asyncio.sleep(1)


# A one-page scan stands in for the documents the commune attaches.
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
EVALUATION_YEAR = 2026
DECISION = {"document_number": "125/QĐ-UBND", "date": "2026-11-20",
            "signer_position": "Chủ tịch UBND xã Kỳ Nam"}  # fmt: skip
INTENDED = {"tan-thanh": "recognised", "quy-hue": "refused", "hoa-loc": "refused"}
ATTESTATIONS: list[dict[str, Any]] = [
    {"check_id": "c1_party_cell_resolution", "document_number": "01-NQ/CB",
     "date": "2026-01-20", "signer": "Bí thư chi bộ thôn", "scan": True},
    {"check_id": "c2_law_implemented", "document_number": "12/BC-T", "date": "2026-10-20",
     "signer": "Trưởng thôn", "scan": True},
    {"check_id": "c3_no_listed_events", "date": "2026-10-25", "signer": "Trưởng Công an xã",
     "statements": ["anti_party_activity", "sabotage", "illegal_religion",
                    "exploiting_beliefs_or_disputes", "separatism", "prolonged_disputes",
                    "incitement"]},
    {"check_id": "c5_self_management_models", "date": "2026-06-15", "signer": "Trưởng thôn",
     "scan": True},
]  # fmt: skip


@dataclass(frozen=True)
class EvaluationLine:
    """A demo hamlet's evaluation for EY2026: its state and the checks it failed."""

    name: str
    state: str
    failed: tuple[str, ...]


async def _evaluate(api: _Api, slug: str, hamlet_id: str) -> EvaluationLine:
    """Open, attest, propose and decide one hamlet's evaluation (again: finds where it got)."""
    evaluation_id = f"{hamlet_id}:{EVALUATION_YEAR}"
    path = f"/api/v1/evaluations/{evaluation_id}"
    evaluation = await api.call(
        "POST", "/api/v1/evaluations", {"hamlet_id": hamlet_id, "year": EVALUATION_YEAR}
    )
    if evaluation["status"] == "draft":
        evaluation = await api.call("POST", f"{path}/judge")
        attested = {a["check_id"] for a in evaluation.get("attestations") or []}
        for body in ATTESTATIONS:
            if body["check_id"] in attested:
                continue
            payload = {k: v for k, v in body.items() if k != "scan"}
            if body.get("scan"):
                upload = await api.client.post(f"{path}/files", content=SCAN, headers=api.auth)
                if upload.is_error:
                    raise RuntimeError(f"upload → {upload.status_code}: {upload.text}")
                payload["attached_file"] = upload.json()["file_id"]
            evaluation = await api.call("POST", f"{path}/attestations", payload)
        evaluation = await api.call("POST", f"{path}/propose")
    failed = tuple(
        check["check_id"]
        for criterion in evaluation["results"]
        for check in criterion["checks"]
        if check["result"]["outcome"] != "met"
    )
    if evaluation["status"] == "proposed":
        if INTENDED[slug] == "recognised" and not failed:
            evaluation = await api.call("POST", f"{path}/recognise", DECISION)
        else:
            reason = "Chưa đạt: " + ", ".join(failed) if failed else "Chưa đạt"
            evaluation = await api.call(
                "POST", f"{path}/refuse", {**DECISION, "document_number": "126/QĐ-UBND",
                                           "reason": reason},
            )  # fmt: skip
    return EvaluationLine(HAMLETS[slug], evaluation["status"], failed)


async def evaluate_demo_hamlets(
    reporting: httpx.AsyncClient, auth: dict[str, str], hamlets: dict[str, str]
) -> list[EvaluationLine]:
    """Evaluate the demo hamlets for EY2026 as the commune would: open each evaluation, attest
    what the commune attests (with a scanned document), propose it, and decide: recognised
    when every check is met (Tân Thành, as the history intends), refused with the failed
    checks as the reason otherwise (Quý Huệ: pledges below 100 %, more crimes and social
    evils than in EY2025; Hòa Lộc: a serious crime). Running it again finds the decisions.
    """
    api = _Api(reporting, auth["Authorization"].removeprefix("Bearer "))
    return [await _evaluate(api, slug, hamlets[slug]) for slug in HAMLETS]


async def load_history(
    reporting: httpx.AsyncClient,
    registry: httpx.AsyncClient,
    incidents: httpx.AsyncClient,
    *,
    password: str,
    timeout: float = 300,
) -> HistoryResult:
    """Load the two years of history (or find them again) and wait until reporting counts them."""
    deadline = time.monotonic() + timeout
    token = await _token(registry, OFFICER, password)
    commune = _unit_of(token)
    officer = _Api(registry, token)
    hamlets = await _hamlets(officer, commune)
    await _new_hamlet(officer, hamlets[NEW_HAMLET])
    await _enrolments(officer, hamlets)
    await _pledges(officer, hamlets)
    await _shifts(officer, hamlets)
    teams = {}
    for slug in ("tan-thanh", "quy-hue"):  # known to incidents since the incidents demo
        listed = await officer.call(
            "GET", "/api/v1/organisations", unit_id=hamlets[slug], kind="people_security"
        )
        if listed["items"]:
            teams[slug] = listed["items"][0]["id"]
    filing = _Api(incidents, token)
    for hamlet_id in hamlets.values():
        await _wait_known(filing, hamlet_id, deadline)
    police = _Api(incidents, await _token(registry, POLICE, password))
    await _incidents(filing, police, hamlets, teams)
    reader = _Api(reporting, token)
    await _wait_counted(reader, commune, deadline)
    evaluations = await evaluate_demo_hamlets(reporting, reader.auth, hamlets)
    whole, generation = await _figures(reader, "Kỳ Nam", commune)
    rows = [(await _figures(reader, HAMLETS[slug], hamlets[slug]))[0] for slug in HAMLETS]
    return HistoryResult(whole, rows, generation, str(reporting.base_url).rstrip("/"), evaluations)


async def load_history_at(
    reporting_url: str,
    registry_url: str,
    incidents_url: str,
    *,
    password: str,
    timeout: float = 300,
) -> HistoryResult:
    """Load the history through the services at these URLs."""
    async with (
        httpx.AsyncClient(base_url=reporting_url, timeout=60) as reporting,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
        httpx.AsyncClient(base_url=incidents_url, timeout=60) as incidents,
    ):
        return await load_history(
            reporting, registry, incidents, password=password, timeout=timeout
        )


def describe(result: HistoryResult) -> str:
    """Incidents per evaluation year, for the commune and each hamlet, in a few lines."""
    lines = [
        f"reporting (read model generation {result.generation}): incidents per evaluation year",
        f"  {'':<11}{'EY2025':>7}{'EY2026':>7}   crime+social evils   pledged 2026",
    ]
    for row in [result.commune, *result.hamlets]:
        before, now = row.crime_and_social_evils
        serious = f" ({row.serious_crimes} serious)" if row.serious_crimes else ""
        lines.append(
            f"  {row.name:<11}{row.incidents[0]:>7}{row.incidents[1]:>7}   "
            f"{f'{before} → {now}{serious}':<21}{row.pledged}/{row.households}"
        )
    lines.append(f"evaluations of EY{EVALUATION_YEAR} (Circular 124/2021/TT-BCA):")
    for line in result.evaluations:
        failed = f" — not met: {', '.join(line.failed)}" if line.failed else ""
        lines.append(f"  {line.name:<11}{line.state}{failed}")
    lines.append(
        f"statistics (token of {OFFICER}): {result.reporting_url}/api/v1/statistics"
        f"?unit_id={result.commune.unit_id}&period={PERIOD}"
    )
    return "\n".join(lines)
