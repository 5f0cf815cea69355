"""Test helpers: a generated history published to a reporting deployment of its own.

Loaded by the tests with ``load_helper("history.py")`` (tests/ is not a package).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.enrolments import HamletEnrolled
from binhyen.contracts.events.households import HouseholdPledged, PledgeState
from binhyen.contracts.events.incidents import (
    CategoryDefined,
    IncidentReported,
    IncidentSnapshot,
    IncidentTransitioned,
    MediationSessionRecorded,
)
from binhyen.contracts.events.organisations import MemberState, OrganisationRegistered, ShiftState
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import DEPLOYED_TOPICS, topic_for_event
from binhyen.contracts.units import UnitKind
from binhyen.kit.kafka import KafkaAccess, start_producer
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import serve
from binhyen.kit.testing.kafka import consumer_lag
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.waiting import eventually
from binhyen.kit.topics import create_topics, entries_of
from binhyen.reporting.app import create_app
from binhyen.reporting.consumers import CONSUMED
from binhyen.reporting.sample_history import COMMUNE, PROVINCE, TOWN, History, Published
from binhyen.reporting.settings import Settings

PERIODS = ("EY2026", "EY2025", "2026-Q1", "2025-03", "2025-11-15..2026-02-10")


def small_history() -> list[Published]:
    """Four hamlets and a merged one over two evaluation years (about 1,100 events)."""
    return History(seed=11, hamlets=4, households_per_hamlet=12).generate().events


async def publish(settings: Settings, events: list[Published]) -> None:
    """Send the events, each to its topic with its key, in the order given."""
    producer = await start_producer(KafkaAccess.of(settings), client_id="test-history")
    try:
        for p in events:
            await producer.send(settings.topic(p.topic), p.event.to_json(), key=p.key.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def caught_up(settings: Settings, generation: int = 1) -> None:
    """Wait until generation's consumer group has committed every consumed record."""
    group = f"{settings.consumer_group}.g{generation}"
    topics = [settings.topic(t.name) for t in CONSUMED]

    async def lag() -> bool:
        return await consumer_lag(KafkaAccess.of(settings), group, topics) == 0

    await eventually(lag, timeout=90, interval=0.3, what=f"{group} caught up")


async def figures(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """The commune's statistics for several periods, and a group filter."""
    found: dict[str, Any] = {}
    for period in PERIODS:
        answer = await client.get(
            "/api/v1/statistics", params={"unit_id": COMMUNE, "period": period}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        found[period] = answer.json()["figures"]
    disputes = await client.get(
        "/api/v1/statistics",
        params={"unit_id": COMMUNE, "period": "EY2026", "group": "dispute"},
        headers=headers,
    )
    assert disputes.status_code == 200, disputes.text
    found["disputes"] = disputes.json()["figures"]
    return found


@asynccontextmanager
async def deployment(
    settings: Settings, servers: Servers, name: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Runtime]]:
    """Reporting on topics and a database of its own (``name`` makes them distinct)."""
    prefix = f"{settings.topic_prefix}{name}."
    await create_topics(servers.kafka, entries_of(DEPLOYED_TOPICS), prefix=prefix)
    own = settings.model_copy(
        update={
            "topic_prefix": prefix,
            "mongodb_database": f"{settings.mongodb_database}_{name}",
            "consumer_group": f"{settings.consumer_group}-{name}",
        }
    )
    async with serve(create_app(own)) as (client, rt):
        yield client, own, rt


def _published(data: Any, at: datetime) -> Published:
    event = CloudEvent.wrap(data, time=at)
    return Published(topic_for_event(data).name, data.subject(), event)


def good_hamlet(
    hamlet_id: str = "h-good", name: str = "Thôn Mẫu", year: int = 2026
) -> list[Published]:
    """A hamlet of the sample commune that meets every computed check of evaluation year
    ``year``: enrolled in February, every household pledged, no crime in either year, one
    dispute mediated and resolved within days, an active security team (a duty shift) and
    mediation team (the dispute's session)."""
    path = [PROVINCE, TOWN, COMMUNE]
    start = datetime(year - 1, 11, 1, tzinfo=UTC)
    out = [
        _published(
            UnitRegistered(
                unit_id=hamlet_id, kind=UnitKind.HAMLET, level=UnitKind.HAMLET.level, name=name,
                parent_id=COMMUNE, ancestor_ids=path, valid_from=date(2020, 1, 1), version=1,
            ),
            start,
        ),
        _published(
            HamletEnrolled(
                enrolment_id=f"{hamlet_id}:{year}", unit_id=hamlet_id, year=year,
                resolution_date=date(year, 2, 1), registered_on=date(year, 2, 10),
                resolution_in_first_quarter=True, status="registered", version=1,
            ),
            datetime(year, 2, 10, 3, tzinfo=UTC),
        ),
    ]  # fmt: skip
    for n in range(3):
        pledge = PledgeState(year=year, signed_on=date(year, 1, 5), collected_by="u-1",
                             commitments=["no_drugs"])  # fmt: skip
        out.append(
            _published(
                HouseholdPledged(
                    household_id=f"hh-{hamlet_id}-{n}", unit_id=hamlet_id, address="Số 1",
                    status="active", pledges=[pledge], version=2, year=year,
                ),
                datetime(year, 1, 5, 3, tzinfo=UTC),
            )
        )  # fmt: skip
    members = [
        MemberState(membership_id=f"m-{hamlet_id}-{i}", person_id=f"p-{hamlet_id}-{i}",
                    role="member", valid_from=date(2020, 1, 1))
        for i in range(4)
    ]  # fmt: skip
    shift = ShiftState(
        shift_id=f"s-{hamlet_id}", starts_at=datetime(year, 3, 1, 12, tzinfo=UTC),
        ends_at=datetime(year, 3, 1, 20, tzinfo=UTC), person_ids=[members[0].person_id],
    )  # fmt: skip
    for kind in ("people_security", "mediation"):
        out.append(
            _published(
                OrganisationRegistered(
                    organisation_id=f"t-{kind}-{hamlet_id}", unit_id=hamlet_id,
                    unit_path=[*path, hamlet_id], category="team", kind=kind, name=f"Tổ {kind}",
                    status="active", valid_from=date(2020, 1, 1), members=members,
                    shifts=[shift] if kind == "people_security" else [], version=1,
                ),
                start,
            )
        )  # fmt: skip
    reported = datetime(year, 4, 2, 2, tzinfo=UTC)
    snapshot = IncidentSnapshot(
        incident_id=f"inc-{hamlet_id}", hamlet_id=hamlet_id, unit_path=[*path, hamlet_id],
        category="neighbour_dispute", category_version=1, group="dispute", ba_khong=False,
        severity="low", status="reported", description="-", occurred_at=reported,
        reported_at=reported, reporter_kind="user", version=1,
    )  # fmt: skip
    out.append(_published(IncidentReported(incident=snapshot, actor="r", at=reported, seq=1),
                          reported))  # fmt: skip
    steps = [("acknowledge", "reported", "acknowledged"), ("assign", "acknowledged", "assigned"),
             ("start", "assigned", "in_progress")]  # fmt: skip
    at, seq = reported, 1
    for action, before, after in steps:
        at, seq = at + timedelta(hours=1), seq + 1
        snapshot = snapshot.model_copy(update={"status": after, "version": seq})
        out.append(_published(IncidentTransitioned(
            incident=snapshot, actor="u", at=at, seq=seq, action=action,
            from_status=before, to_status=after), at))  # fmt: skip
    at, seq = at + timedelta(days=2), seq + 1
    snapshot = snapshot.model_copy(update={"version": seq})
    out.append(_published(MediationSessionRecorded(
        incident=snapshot, actor="u", at=at, seq=seq, session_id=f"ms-{hamlet_id}",
        held_at=at, outcome="agreement", mediator_count=2), at))  # fmt: skip
    at, seq = at + timedelta(hours=2), seq + 1
    snapshot = snapshot.model_copy(update={"status": "resolved", "version": seq})
    out.append(_published(IncidentTransitioned(
        incident=snapshot, actor="u", at=at, seq=seq, action="resolve",
        from_status="in_progress", to_status="resolved"), at))  # fmt: skip
    return out


def category(
    code: str, name_vi: str, name_en: str, *, group: str = "crime", version: int = 1
) -> Published:
    """The incidents service announcing a category of its catalogue (as it is at ``version``)."""
    data = CategoryDefined(
        code=code, name_vi=name_vi, name_en=name_en, group=group, ba_khong=False,
        default_severity="high", active=True, version=version, sequence=version,
    )  # fmt: skip
    return _published(data, datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=version))


def reported(
    incident_id: str, hamlet: str, at: datetime, *, category: str = "theft", severity: str = "high"
) -> Published:
    """An incident of ``category`` (group crime) reported in ``hamlet`` 20 minutes after ``at``."""
    snapshot = IncidentSnapshot(
        incident_id=incident_id, hamlet_id=hamlet, unit_path=[PROVINCE, TOWN, COMMUNE, hamlet],
        category=category, category_version=1, group="crime", ba_khong=False,
        severity=severity, status="reported", description="(thử nghiệm)", occurred_at=at,
        reported_at=at + timedelta(minutes=20), reporter_kind="user",
        reporter_ref=f"rr-{incident_id}", version=1,
    )  # fmt: skip
    data = IncidentReported(incident=snapshot, actor="rr", at=snapshot.reported_at, seq=1)
    return _published(data, snapshot.reported_at)


def transitioned(
    incident_id: str,
    hamlet: str,
    occurred: datetime,
    *,
    category: str,
    action: str,
    from_status: str,
    to_status: str,
    version: int,
) -> Published:
    """A later change of an incident ``reported`` earlier (same hamlet, category and time):
    its ``version``-th state, ``action`` taking it from one status to another a day on."""
    at = occurred + timedelta(days=1, minutes=version)
    snapshot = IncidentSnapshot(
        incident_id=incident_id, hamlet_id=hamlet, unit_path=[PROVINCE, TOWN, COMMUNE, hamlet],
        category=category, category_version=1, group="crime", ba_khong=False,
        severity="high", status=to_status, description="(thử nghiệm)", occurred_at=occurred,
        reported_at=occurred + timedelta(minutes=20), reporter_kind="user",
        reporter_ref=f"rr-{incident_id}", version=version,
    )  # fmt: skip
    data = IncidentTransitioned(
        incident=snapshot, actor="u", at=at, seq=version, action=action,
        from_status=from_status, to_status=to_status,
    )  # fmt: skip
    return _published(data, at)
