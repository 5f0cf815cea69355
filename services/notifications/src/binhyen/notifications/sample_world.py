"""A sample world for tests and benchmarks: units, residents and a team as the registry sends them.

Not used by the service itself (an import-linter contract keeps it so); it lives in the
package so the service's tests, the end-to-end tests and the benchmarks share one world.
All names and phone numbers are invented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.incidents import IncidentReported, IncidentSnapshot
from binhyen.contracts.events.organisations import (
    MemberState,
    OrganisationRegistered,
    ShiftState,
)
from binhyen.contracts.events.people import PersonRegistered
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.units import UnitKind
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import TestIssuer, serve
from binhyen.notifications.app import create_app
from binhyen.notifications.service import replicas
from binhyen.notifications.service.common import Context
from binhyen.notifications.settings import Settings

PROVINCE, TOWN, COMMUNE, OTHER_COMMUNE = "p-hatinh", "d-kyanh", "c-kynam", "c-kybac"
HAMLET, HAMLET2, OTHER_HAMLET = "h-tanthanh", "h-quyhue", "h-hungbinh"
TEAM = "t-security"
PATHS = {
    HAMLET: [PROVINCE, TOWN, COMMUNE, HAMLET],
    HAMLET2: [PROVINCE, TOWN, COMMUNE, HAMLET2],
    OTHER_HAMLET: [PROVINCE, TOWN, OTHER_COMMUNE, OTHER_HAMLET],
}
# Residents of Tân Thành: (id, household, name, phone, consent). The team's members come first.
LEADER, DEPUTY, MEMBER = "r-leader", "r-deputy", "r-member"
RESIDENTS = [
    (LEADER, "hh-1", "Nguyễn Văn Hùng", "+84912000001", True),
    (DEPUTY, "hh-2", "Trần Thị Lan", "+84912000002", True),
    (MEMBER, "hh-3", "Lê Văn Minh", "+84912000003", True),
    ("r-4", "hh-3", "Lê Thị Hoa", "+84912000004", True),
    ("r-5", "hh-4", "Phạm Văn Đức", "+84912000005", True),
    ("r-6", "hh-5", "Hoàng Thị Mai", "+84912000006", False),  # no consent: never alerted
]
OTHER_RESIDENT = ("r-9", "hh-9", "Võ Văn Tám", "+84912000009", True)  # Hưng Bình


def _unit(unit_id: str, kind: UnitKind, name: str, ancestors: list[str]) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=kind,
            level=kind.level,
            name=name,
            parent_id=ancestors[-1] if ancestors else None,
            ancestor_ids=ancestors,
            valid_from=date(2020, 1, 1),
            version=1,
        )
    )


def person_event(
    person_id: str,
    household: str,
    name: str,
    phone: str,
    consent: bool,
    *,
    hamlet: str = HAMLET,
    channels: tuple[str, ...] = ("sms",),
    version: int = 1,
) -> CloudEvent:
    """A resident as the registry announces one."""
    return CloudEvent.wrap(
        PersonRegistered(
            person_id=person_id,
            unit_id=hamlet,
            household_id=household,
            full_name=name,
            phones=[phone],
            alert_channels=list(channels) if consent else [],
            alert_consent=consent,
            consent_at=datetime(2025, 1, 1, tzinfo=UTC) if consent else None,
            status="active",
            version=version,
        )
    )


def team_event(now: datetime, *, on_duty: list[str], version: int = 1) -> CloudEvent:
    """The security team of Tân Thành: leader, deputy, member; a shift covering ``now``."""
    members = [
        MemberState(membership_id=f"m-{p}", person_id=p, role=role, valid_from=date(2020, 1, 1))
        for p, role in ((LEADER, "leader"), (DEPUTY, "deputy"), (MEMBER, "member"))
    ]
    shifts = (
        [
            ShiftState(
                shift_id="s-now",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=7),
                person_ids=on_duty,
            )
        ]
        if on_duty
        else []
    )
    return CloudEvent.wrap(
        OrganisationRegistered(
            organisation_id=TEAM,
            unit_id=HAMLET,
            unit_path=PATHS[HAMLET],
            category="team",
            kind="people_security",
            name="Tổ bảo vệ an ninh, trật tự thôn Tân Thành",
            status="active",
            valid_from=date(2020, 1, 1),
            members=members,
            contact_roster=[LEADER, DEPUTY, MEMBER],
            shifts=shifts,
            version=version,
        )
    )


def incident_reported(
    incident_id: str,
    *,
    severity: str = "medium",
    category: str = "theft",
    group: str = "crime",
    hamlet: str = HAMLET,
) -> CloudEvent:
    """An incident of the world, as incidents announces it on Kafka."""
    now = datetime.now(UTC)
    return CloudEvent.wrap(
        IncidentReported(
            incident=IncidentSnapshot(
                incident_id=incident_id,
                hamlet_id=hamlet,
                unit_path=PATHS[hamlet],
                category=category,
                category_version=1,
                group=group,
                ba_khong=group in ("crime", "social_evil"),
                severity=severity,
                status="reported",
                description="Vụ việc thử",
                occurred_at=now,
                reported_at=now,
                reporter_kind="anonymous",
                version=1,
            ),
            actor="rr-1",
            at=now,
            seq=1,
        )
    )


def world_events(now: datetime, *, on_duty: list[str] | None = None) -> list[CloudEvent]:
    """Every registry event of the world."""
    events = [
        _unit(PROVINCE, UnitKind.PROVINCE, "Hà Tĩnh", []),
        _unit(TOWN, UnitKind.TOWN, "Kỳ Anh", [PROVINCE]),
        _unit(COMMUNE, UnitKind.COMMUNE, "Kỳ Nam", [PROVINCE, TOWN]),
        _unit(OTHER_COMMUNE, UnitKind.COMMUNE, "Kỳ Bắc", [PROVINCE, TOWN]),
        _unit(HAMLET, UnitKind.HAMLET, "Tân Thành", [PROVINCE, TOWN, COMMUNE]),
        _unit(HAMLET2, UnitKind.HAMLET, "Quý Huệ", [PROVINCE, TOWN, COMMUNE]),
        _unit(OTHER_HAMLET, UnitKind.HAMLET, "Hưng Bình", [PROVINCE, TOWN, OTHER_COMMUNE]),
    ]
    events += [person_event(*r) for r in RESIDENTS]
    events.append(person_event(*OTHER_RESIDENT, hamlet=OTHER_HAMLET))
    events.append(team_event(now, on_duty=[LEADER] if on_duty is None else on_duty))
    return events


async def seed_world(ctx: Context, *, on_duty: list[str] | None = None) -> None:
    """Replicate the world as the consumers would (same use cases, no broker round trip)."""
    for event in world_events(ctx.clock.now(), on_duty=on_duty):
        if event.type.startswith("vn.binhyen.registry.unit"):
            await replicas.replicate_unit(event, stores=ctx.stores)
        elif event.type.startswith("vn.binhyen.registry.person"):
            await replicas.replicate_resident(event, stores=ctx.stores)
        else:
            await replicas.replicate_team(event, stores=ctx.stores)


@dataclass
class World:
    """A running notifications app over the sample world."""

    client: httpx.AsyncClient
    rt: Runtime
    issuer: TestIssuer

    @property
    def ctx(self) -> Context:
        """The service's context (stores, clock, channels)."""
        ctx: Context = self.rt.context
        return ctx

    def as_(self, role: str, unit: str = COMMUNE, subject: str | None = None) -> dict[str, str]:
        """Headers for one role at one unit."""
        return self.issuer.headers((role, unit), subject=subject)

    async def strike(
        self, headers: dict[str, str] | None = None, **overrides: Any
    ) -> httpx.Response:
        """POST a manual gong (fields overridable)."""
        return await self.client.post(
            "/api/v1/alerts",
            json=strike_body(**overrides),
            headers=headers or self.as_("hamlet_officer", HAMLET),
        )


def strike_body(**overrides: Any) -> dict[str, Any]:
    """A valid manual gong."""
    body: dict[str, Any] = {
        "hamlet_ids": [HAMLET],
        "status": "Exercise",
        "event": "Diễn tập cháy",
        "category": "Fire",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "headline_vi": "Diễn tập phòng cháy tại thôn Tân Thành",
        "description_vi": "Diễn tập: giả định cháy tại nhà văn hóa thôn.",
        "instruction_vi": "Tổ an ninh tập trung tại nhà văn hóa thôn.",
    }
    body.update(overrides)
    return body


@asynccontextmanager
async def running_world(
    settings: Settings, issuer: TestIssuer, *, on_duty: list[str] | None = None
) -> AsyncIterator[World]:
    """The notifications app over a seeded world."""
    async with serve(create_app(settings)) as (client, rt):
        await seed_world(rt.context, on_duty=on_duty)
        yield World(client, rt, issuer)
