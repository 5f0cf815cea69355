"""A generated history of a commune, as the registry, incidents and notifications announce it.

Not used by the service itself (an import-linter contract keeps it so); tests, the benchmark
and the demo share it. Deterministic for a seed: the same arguments give the same events, ids
included. Names are invented; nothing personal is generated (households and teams carry
ids, never names or addresses).

The world: Hà Tĩnh → Kỳ Anh → Kỳ Nam, whose hamlets each have households with pledges, a
people's security team and a mediation team with weekly duty, a yearly enrolment, incidents
of every group that go through their lifecycle (acknowledged, assigned, started, resolved;
some rejected, some reopened, disputes mediated), and alerts (incidents' and drills) with
their reach. One extra hamlet, Đông Lộc, is merged into the first hamlet in the middle of
the history: its earlier incidents count under the hamlet it was merged into.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from binhyen.contracts import CloudEvent, EventData
from binhyen.contracts.events.enrolments import HamletEnrolled
from binhyen.contracts.events.households import HouseholdPledged, HouseholdRegistered, PledgeState
from binhyen.contracts.events.incidents import (
    AssigneeRef,
    IncidentReported,
    IncidentSnapshot,
    IncidentTransitioned,
    MediationConcluded,
    MediationSessionRecorded,
)
from binhyen.contracts.events.notifications import (
    AlertAcknowledged,
    AlertInfo,
    AlertRaised,
    Reach,
)
from binhyen.contracts.events.organisations import (
    MemberState,
    OrganisationChanged,
    OrganisationRegistered,
    ShiftState,
)
from binhyen.contracts.events.units import UnitMerged, UnitRegistered
from binhyen.contracts.topics import topic_for_event
from binhyen.contracts.units import UnitKind

PROVINCE, TOWN, COMMUNE = "p-hatinh", "d-kyanh", "c-kynam"
MERGED_HAMLET = "h-dongloc"
HAMLET_NAMES = (
    "Tân Thành", "Quý Huệ", "Hòa Lộc", "Tân Hải", "Đông Yên", "Nam Sơn", "Hải Phong",
    "Xuân Hà", "Sơn Thủy", "Trung Nghĩa", "Đồng Tiến", "Phú Lợi",
)  # fmt: skip
NAMESPACE = uuid.UUID("8a4f0c2e-57d1-4c1b-9c43-2b1d8f6e7a10")

# (category, group, Ba Không, weight): what a rural commune's reports look like.
CATEGORIES = (
    ("theft", "crime", True, 20),
    ("assault", "crime", True, 6),
    ("drugs", "social_evil", True, 5),
    ("gambling", "social_evil", True, 6),
    ("traffic_accident", "traffic", True, 10),
    ("land_dispute", "dispute", False, 10),
    ("neighbour_dispute", "dispute", False, 12),
    ("fire", "fire", False, 3),
    ("noise", "other", False, 8),
)
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Published:
    """One event and where it goes: the catalogue topic's name and the key."""

    topic: str
    key: str
    event: CloudEvent


@dataclass
class History:
    """Generates the events: read ``events`` after ``generate()``, or stream ``iter_events()``."""

    seed: int = 7
    hamlets: int = 4
    first_year: int = 2025
    last_year: int = 2026
    households_per_hamlet: int = 20
    incidents_per_hamlet_year: int = 12
    id_prefix: str = ""  # for incident and alert ids: two histories with other prefixes add up
    until: datetime = field(default_factory=lambda: datetime(2026, 10, 31, 12, tzinfo=UTC))
    events: list[Published] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.hamlet_ids = [f"h-{i + 1:03d}" for i in range(self.hamlets)]
        self._counter = 0

    # -- plumbing ---------------------------------------------------------------------------

    def _emit(self, data: EventData, at: datetime) -> Published:
        self._counter += 1
        event = CloudEvent.wrap(
            data,
            event_id=str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self._counter}")),
            time=at,
        )
        return Published(topic_for_event(data).name, data.subject(), event)

    def path(self, hamlet: str) -> list[str]:
        """The hamlet's unit path."""
        return [PROVINCE, TOWN, COMMUNE, hamlet]

    # -- the world --------------------------------------------------------------------------

    def generate(self) -> History:
        """Make every event (in the order the services would publish them) into ``events``."""
        self.events = list(self.iter_events())
        return self

    def iter_events(self) -> Iterator[Published]:
        """The same events as ``generate()``, one at a time (a million need not fit in memory).

        Each iteration starts afresh from the seed, so it gives the same events every time.
        """
        self.rng = random.Random(self.seed)
        self._counter = 0
        start = datetime(self.first_year - 1, 11, 1, tzinfo=UTC)
        yield from self._units(start)
        for hamlet in [*self.hamlet_ids, MERGED_HAMLET]:
            yield from self._households(hamlet, start)
            yield from self._teams(hamlet, start)
        for year in range(self.first_year, self.last_year + 1):
            for hamlet in self.hamlet_ids:
                yield self._enrolment(hamlet, year)
        merge_at = start + (self.until - start) / 2
        number = 0
        for hamlet in [*self.hamlet_ids, MERGED_HAMLET]:
            years = self.last_year - self.first_year + 1
            count = self.incidents_per_hamlet_year * years
            if hamlet == MERGED_HAMLET:
                count //= 3
            for _ in range(count):
                number += 1
                latest = merge_at if hamlet == MERGED_HAMLET else self.until
                reported = start + (latest - start) * self.rng.random()
                yield from self._incident(f"{self.id_prefix}inc-{number:06d}", hamlet, reported)
        yield self._merge(merge_at)
        yield from self._alerts(start)

    def _unit(self, unit_id: str, kind: UnitKind, name: str, ancestors: list[str]) -> Published:
        return self._emit(
            UnitRegistered(
                unit_id=unit_id,
                kind=kind,
                level=kind.level,
                name=name,
                parent_id=ancestors[-1] if ancestors else None,
                ancestor_ids=ancestors,
                valid_from=date(2020, 1, 1),
                version=1,
            ),
            datetime(2020, 1, 1, tzinfo=UTC),
        )

    def _units(self, start: datetime) -> Iterator[Published]:
        yield self._unit(PROVINCE, UnitKind.PROVINCE, "Hà Tĩnh", [])
        yield self._unit(TOWN, UnitKind.TOWN, "Kỳ Anh", [PROVINCE])
        yield self._unit(COMMUNE, UnitKind.COMMUNE, "Kỳ Nam", [PROVINCE, TOWN])
        for i, hamlet in enumerate(self.hamlet_ids):
            name = HAMLET_NAMES[i % len(HAMLET_NAMES)]
            if i >= len(HAMLET_NAMES):
                name = f"{name} {i // len(HAMLET_NAMES) + 1}"
            yield self._unit(hamlet, UnitKind.HAMLET, name, [PROVINCE, TOWN, COMMUNE])
        yield self._unit(MERGED_HAMLET, UnitKind.HAMLET, "Đông Lộc", [PROVINCE, TOWN, COMMUNE])

    def _merge(self, at: datetime) -> Published:
        return self._emit(
            UnitMerged(
                unit_id=MERGED_HAMLET,
                kind=UnitKind.HAMLET,
                level=UnitKind.HAMLET.level,
                name="Đông Lộc",
                parent_id=COMMUNE,
                ancestor_ids=[PROVINCE, TOWN, COMMUNE],
                valid_from=date(2020, 1, 1),
                status="merged",
                successor_id=self.hamlet_ids[0],
                valid_to=at.date(),
                changed_on=at.date(),
                version=2,
            ),
            at,
        )

    def _households(self, hamlet: str, start: datetime) -> Iterator[Published]:
        for n in range(self.households_per_hamlet):
            household = f"hh-{hamlet}-{n:04d}"
            common = {"household_id": household, "unit_id": hamlet,
                      "address": f"Số {n + 1}", "status": "active"}  # fmt: skip
            yield self._emit(HouseholdRegistered(**common, version=1), start)
            pledges: list[PledgeState] = []
            version = 1
            for year in range(self.first_year, self.last_year + 1):
                # The last household of each hamlet misses the last year: 100 % is rare.
                if year == self.last_year and n == self.households_per_hamlet - 1:
                    continue
                if self.rng.random() < 0.05:
                    continue
                signed = date(year, 1, 1) + timedelta(days=self.rng.randrange(0, 80))
                pledges = [*pledges, PledgeState(year=year, signed_on=signed, collected_by="u-1",
                                                 commitments=["no_drugs"])]  # fmt: skip
                version += 1
                yield self._emit(
                    HouseholdPledged(**common, pledges=pledges, version=version, year=year),
                    datetime(signed.year, signed.month, signed.day, 3, tzinfo=UTC),
                )

    def _teams(self, hamlet: str, start: datetime) -> Iterator[Published]:
        for kind, size in (("people_security", 5), ("mediation", 3)):
            team = f"t-{kind}-{hamlet}"
            members = [
                MemberState(membership_id=f"m-{team}-{i}", person_id=f"r-{team}-{i}",
                            role="leader" if i == 0 else "member", valid_from=date(2020, 1, 1))
                for i in range(size)
            ]  # fmt: skip
            common = {
                "organisation_id": team, "unit_id": hamlet, "unit_path": self.path(hamlet),
                "category": "team", "kind": kind, "name": f"Tổ {kind} {hamlet}",
                "status": "active", "valid_from": date(2020, 1, 1), "members": members,
            }  # fmt: skip
            yield self._emit(OrganisationRegistered(**common, version=1), start)
            if kind != "people_security":
                continue
            version, shifts = 1, list[ShiftState]()
            week = start
            while week < self.until:
                version += 1
                shift = ShiftState(
                    shift_id=f"s-{team}-{version}",
                    starts_at=week + timedelta(hours=12),
                    ends_at=week + timedelta(hours=20),
                    person_ids=[members[version % size].person_id],
                )
                shifts = [*shifts[-3:], shift]
                yield self._emit(
                    OrganisationChanged(**common, shifts=shifts, version=version,
                                        change="shift_added"),
                    week,
                )  # fmt: skip
                week += timedelta(days=28)

    def _enrolment(self, hamlet: str, year: int) -> Published:
        late = hamlet == self.hamlet_ids[-1] and year == self.last_year  # registers in April
        registered = date(year, 4, 10) if late else date(year, 2, 15)
        return self._emit(
            HamletEnrolled(
                enrolment_id=f"{hamlet}:{year}",
                unit_id=hamlet,
                year=year,
                resolution_date=registered - timedelta(days=10),
                registered_on=registered,
                resolution_in_first_quarter=not late,
                status="registered",
                version=1,
            ),
            datetime(registered.year, registered.month, registered.day, 2, tzinfo=UTC),
        )

    def _incident(self, incident_id: str, hamlet: str, reported: datetime) -> Iterator[Published]:
        rng = self.rng
        weights = [c[3] for c in CATEGORIES]
        category, group, ba_khong, _ = rng.choices(CATEGORIES, weights=weights)[0]
        severity = rng.choices(SEVERITIES, weights=[4, 4, 2, 1])[0]
        # The first hamlet gets fewer incidents in the last year (a safer year) ...
        snapshot = IncidentSnapshot(
            incident_id=incident_id,
            hamlet_id=hamlet,
            unit_path=self.path(hamlet),
            category=category,
            category_version=1,
            group=group,
            ba_khong=ba_khong,
            severity=severity,
            status="reported",
            description="(sinh tự động)",
            occurred_at=reported - timedelta(minutes=rng.randrange(5, 600)),
            reported_at=reported,
            reporter_kind="user",
            reporter_ref=f"rr-{incident_id}",
            version=1,
        )
        seq = 1
        yield self._emit(
            IncidentReported(incident=snapshot, actor="rr", at=reported, seq=1), reported
        )
        at = reported

        def step(action: str, to: str, minutes: float, **extra: object) -> Iterator[Published]:
            nonlocal snapshot, seq, at
            at = at + timedelta(minutes=minutes)
            if at >= self.until:
                return
            before = snapshot.status
            snapshot = snapshot.model_copy(
                update={"status": to, "version": snapshot.version + 1, **extra}
            )
            seq += 1
            yield self._emit(
                IncidentTransitioned(
                    incident=snapshot, actor="u-officer", at=at, seq=seq, action=action,
                    from_status=before, to_status=to,
                ),
                at,
            )  # fmt: skip

        if rng.random() < 0.08:
            yield from step("reject", "rejected", rng.randrange(10, 300))
            return
        yield from step("acknowledge", "acknowledged", rng.randrange(3, 240))
        team = f"t-people_security-{hamlet}"
        yield from step("assign", "assigned", rng.randrange(5, 120),
                        assignee=AssigneeRef(kind="team", id=team))  # fmt: skip
        yield from step("start", "in_progress", rng.randrange(5, 600))
        if group == "dispute" and at < self.until:
            sessions = rng.randrange(1, 4)
            for n in range(sessions):
                held = at + timedelta(days=3 * (n + 1))
                if held >= self.until:
                    break
                at = held
                seq += 1
                snapshot = snapshot.model_copy(update={"version": snapshot.version + 1})
                outcome = "agreement" if n == sessions - 1 and rng.random() < 0.7 else "adjourned"
                yield self._emit(
                    MediationSessionRecorded(
                        incident=snapshot, actor="u-officer", at=held, seq=seq,
                        session_id=f"ms-{incident_id}-{n}", held_at=held,
                        outcome=outcome, mediator_count=2,
                    ),
                    held,
                )  # fmt: skip
            if at < self.until:
                seq += 1
                snapshot = snapshot.model_copy(update={"version": snapshot.version + 1})
                concluded = "agreement" if rng.random() < 0.7 else "no_agreement"
                yield self._emit(
                    MediationConcluded(incident=snapshot, actor="u-officer", at=at, seq=seq,
                                       outcome=concluded, sessions=sessions),
                    at,
                )  # fmt: skip
        yield from step(
            "resolve", "resolved", rng.randrange(60, 60 * 24 * 20), resolution="Đã xử lý"
        )
        if rng.random() < 0.06:
            yield from step("reopen", "reopened", rng.randrange(60, 60 * 24 * 5))
            yield from step("acknowledge", "acknowledged", rng.randrange(5, 120))
            yield from step("assign", "assigned", rng.randrange(5, 60))
            yield from step("start", "in_progress", rng.randrange(5, 60))
            yield from step("resolve", "resolved", rng.randrange(60, 60 * 24 * 10))

    def _alerts(self, start: datetime) -> Iterator[Published]:
        number = 0
        for hamlet in self.hamlet_ids:
            for quarter in range(8):
                sent = start + timedelta(days=45 + 91 * quarter, hours=1)
                if sent >= self.until:
                    break
                number += 1
                drill = quarter % 2 == 0
                alert_id = f"{self.id_prefix}al-{number:05d}"
                recipients = self.households_per_hamlet + 5
                delivered = recipients - self.rng.randrange(0, 3)
                info = AlertInfo(
                    language="vi-VN", category="Security", event="Diễn tập" if drill else "Trộm",
                    urgency="Immediate", severity="Moderate", certainty="Observed",
                    headline="Diễn tập kẻng an ninh" if drill else "Tin báo trộm cắp",
                    description="Tập trung tại nhà văn hóa thôn.",
                    expires=sent + timedelta(hours=6), area_desc=hamlet,
                )  # fmt: skip
                common = {
                    "alert_id": alert_id, "trigger": "manual", "hamlet_ids": [hamlet],
                    "cap_status": "Exercise" if drill else "Actual", "msg_type": "Alert",
                    "infos": [info], "step": 0, "round": 0, "sent_at": sent,
                }  # fmt: skip
                raised = Reach(recipients=recipients, households=self.households_per_hamlet,
                               delivered=0, acknowledged=0)  # fmt: skip
                yield self._emit(
                    AlertRaised(**common, status="active", reach=raised, version=1), sent
                )
                first_ack = sent + timedelta(minutes=self.rng.randrange(2, 25))
                acked = Reach(recipients=recipients, households=self.households_per_hamlet,
                              delivered=delivered, acknowledged=self.rng.randrange(1, 6),
                              first_ack_at=first_ack)  # fmt: skip
                yield self._emit(
                    AlertAcknowledged(**common, status="acknowledged", reach=acked, version=2),
                    first_ack,
                )


def generate(**kwargs: Any) -> list[Published]:
    """The events of a history (see ``History`` for the arguments)."""
    return History(**kwargs).generate().events
