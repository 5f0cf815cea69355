"""A sample world for tests and benchmarks: units and teams as the registry sends them.

Not used by the service itself (an import-linter contract keeps it so); it lives in the
package so the service's tests, the end-to-end tests and the benchmarks share one world.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.organisations import MemberState, OrganisationRegistered
from binhyen.contracts.events.units import UnitMerged, UnitRegistered
from binhyen.contracts.units import UnitKind
from binhyen.incidents.app import create_app
from binhyen.incidents.service import replicas
from binhyen.incidents.settings import Settings
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import TestIssuer, eventually, outboxes_empty, read_topic, serve

# Hà Tĩnh → Kỳ Anh → Kỳ Nam → Tân Thành, Quý Huệ; another commune Kỳ Bắc → Hưng Bình;
# Đông Hải was merged into Tân Thành.
PROVINCE, TOWN, COMMUNE, OTHER_COMMUNE = "p-hatinh", "d-kyanh", "c-kynam", "c-kybac"
HAMLET, HAMLET2, OTHER_HAMLET, MERGED = "h-tanthanh", "h-quyhue", "h-hungbinh", "h-donghai"
TEAM, MEDIATION_TEAM, OTHER_TEAM = "t-security", "t-mediation", "t-kybac"
MEMBER = "person-1"
SPOT = [106.2905, 18.0451]  # lon, lat near Kỳ Nam


def _unit(
    unit_id: str, kind: UnitKind, name: str, parent: str | None, ancestors: list[str]
) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=kind,
            level=kind.level,
            name=name,
            parent_id=parent,
            ancestor_ids=ancestors,
            valid_from=date(2020, 1, 1),
            version=1,
        )
    )


def _team(team_id: str, unit_id: str, path: list[str], kind: str, members: list[str]) -> CloudEvent:
    return CloudEvent.wrap(
        OrganisationRegistered(
            organisation_id=team_id,
            unit_id=unit_id,
            unit_path=path,
            category="team",
            kind=kind,
            name=f"Tổ {team_id}",
            status="active",
            valid_from=date(2020, 1, 1),
            members=[
                MemberState(
                    membership_id=f"m-{p}", person_id=p, role="member", valid_from=date(2020, 1, 1)
                )
                for p in members
            ],
            version=1,
        )
    )


def world_events() -> tuple[list[CloudEvent], list[CloudEvent]]:
    """Unit and team events of the test world."""
    units = [
        _unit(PROVINCE, UnitKind.PROVINCE, "Hà Tĩnh", None, []),
        _unit(TOWN, UnitKind.TOWN, "Kỳ Anh", PROVINCE, [PROVINCE]),
        _unit(COMMUNE, UnitKind.COMMUNE, "Kỳ Nam", TOWN, [PROVINCE, TOWN]),
        _unit(OTHER_COMMUNE, UnitKind.COMMUNE, "Kỳ Bắc", TOWN, [PROVINCE, TOWN]),
        _unit(HAMLET, UnitKind.HAMLET, "Tân Thành", COMMUNE, [PROVINCE, TOWN, COMMUNE]),
        _unit(HAMLET2, UnitKind.HAMLET, "Quý Huệ", COMMUNE, [PROVINCE, TOWN, COMMUNE]),
        _unit(
            OTHER_HAMLET,
            UnitKind.HAMLET,
            "Hưng Bình",
            OTHER_COMMUNE,
            [PROVINCE, TOWN, OTHER_COMMUNE],
        ),
        CloudEvent.wrap(
            UnitMerged(
                unit_id=MERGED,
                kind=UnitKind.HAMLET,
                level=UnitKind.HAMLET.level,
                name="Đông Hải",
                parent_id=COMMUNE,
                ancestor_ids=[PROVINCE, TOWN, COMMUNE],
                valid_from=date(2020, 1, 1),
                version=2,
                status="merged",
                successor_id=HAMLET,
                valid_to=date(2025, 7, 1),
            )
        ),
    ]
    teams = [
        _team(TEAM, HAMLET, [PROVINCE, TOWN, COMMUNE, HAMLET], "people_security", [MEMBER]),
        _team(MEDIATION_TEAM, COMMUNE, [PROVINCE, TOWN, COMMUNE], "mediation", ["person-2"]),
        _team(
            OTHER_TEAM,
            OTHER_HAMLET,
            [PROVINCE, TOWN, OTHER_COMMUNE, OTHER_HAMLET],
            "people_security",
            ["person-3"],
        ),
    ]
    return units, teams


async def seed_world(rt: Runtime) -> None:
    """Replicate the world as the consumers would (same use cases, no broker round trip)."""
    stores = rt.context.stores
    units, teams = world_events()
    for event in units:
        await replicas.replicate_unit(event, stores=stores)
    for event in teams:
        await replicas.replicate_team(event, stores=stores)


@dataclass
class World:
    """A running incidents app over the test world, and a way to call it as anyone."""

    client: httpx.AsyncClient
    rt: Runtime
    issuer: TestIssuer

    def headers(self, *grants: tuple[str, str], subject: str | None = None) -> dict[str, str]:
        """Authorization headers for a caller with these grants."""
        return self.issuer.headers(*grants, subject=subject)

    def as_(self, role: str, unit: str = COMMUNE, subject: str | None = None) -> dict[str, str]:
        """Headers for one role at one unit."""
        return self.headers((role, unit), subject=subject)

    async def events(self, topic: str, count: int = 1) -> list[dict[str, Any]]:
        """Every event on a catalogue topic once all pending events were relayed (>= count)."""
        db = self.rt.db
        await eventually(lambda: outboxes_empty(db["incidents"]), what="outbox relayed")
        records = await read_topic(
            self.rt.settings.kafka_bootstrap,
            self.rt.settings.topic(topic),
            until=lambda rs: len(rs) >= count,
        )
        return [json.loads(r.value) for r in records if r.value is not None]

    async def report(
        self, headers: dict[str, str] | None = None, **overrides: Any
    ) -> httpx.Response:
        """POST a valid report (fields overridable)."""
        return await self.client.post(
            "/api/v1/incidents",
            json=report_body(**overrides),
            headers=headers or self.as_("hamlet_officer", HAMLET),
        )

    async def reported(
        self, headers: dict[str, str] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """A new incident (asserting it was created)."""
        response = await self.report(headers, **overrides)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def act(
        self, incident_id: str, action: str, headers: dict[str, str] | None = None, **body: Any
    ) -> httpx.Response:
        """POST a transition."""
        return await self.client.post(
            f"/api/v1/incidents/{incident_id}/transitions",
            json={"action": action, **body},
            headers=headers or self.as_("commune_officer"),
        )


def report_body(**overrides: Any) -> dict[str, Any]:
    """A valid report body."""
    body: dict[str, Any] = {
        "hamlet_id": HAMLET,
        "category": "theft",
        "description": "Mất trộm xe đạp trước cửa nhà văn hóa thôn",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "location": {"type": "Point", "coordinates": SPOT},
        "address": "Nhà văn hóa thôn Tân Thành",
        "answers": {"stolen_items": "xe đạp", "estimated_value_vnd": 1500000},
    }
    body.update(overrides)
    return body


@asynccontextmanager
async def running_world(settings: Settings, issuer: TestIssuer) -> AsyncIterator[World]:
    """The incidents app over a seeded world."""
    async with serve(create_app(settings)) as (client, rt):
        await seed_world(rt)
        yield World(client, rt, issuer)
