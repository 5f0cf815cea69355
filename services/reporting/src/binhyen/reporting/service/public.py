"""Public statistics for agencies: incident counts per commune and hamlet, per closed quarter.

**What is counted.** The counted incidents (not rejected, not duplicates) that occurred in the
quarter (local days), by group, as ``statistics.incident_figures`` counts them; merged hamlets
under their successor.

**One table per commune and quarter, protected as a whole.** Everything published about a
commune's quarter comes from one table: a row per active hamlet, a column per group. A
hamlet's event carries its row (its groups and its total); the commune's event carries the
column totals (its groups) and the grand total. ``domain.disclosure.protect`` suppresses that
table at once: counts of 1 or 2 (zeros are published), and every cell or total from which a
suppressed one could be worked out — by subtracting a hamlet's published groups from its
total, or the commune's published hamlets from the commune's group, or any combination. The
tables of two communes share no published total, so they cannot be combined; nothing is
published above the commune.

**Why closed quarters only, once.** Counts of the same units over two overlapping periods (a
month and its quarter, the year so far today and tomorrow) differ by what happened in between:
publishing both would give away small counts the tables hide. So only one kind of period is
published, the calendar quarter, and only once it has ended and `public_settle_days` have
passed (late reports come in); its figures are then frozen: never published again, even if a
late report or a rejection changes the count (the endpoint answers the frozen figures too).
The publisher covers the last `public_quarters` quarters.

The event model refuses a small count as the last guard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.reporting import (
    PublicStatistics,
    StatisticsCell,
    StatisticsCount,
    StatisticsPeriod,
)
from binhyen.contracts.topics import REPORTING_PUBLIC
from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Invalid, NotFound
from binhyen.reporting.domain import periods
from binhyen.reporting.domain.disclosure import ProtectedTable, protect
from binhyen.reporting.domain.periods import Period
from binhyen.reporting.projections import INCIDENTS
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.units import Unit, UnitTree
from binhyen.reporting.store import ReadModel
from binhyen.reporting.store.public import PUBLIC_STATISTICS, PublicStatisticsStore

log = logging.getLogger(__name__)
Document = dict[str, Any]
LEASE = "reporting-public-statistics"
GROUPS = ("crime", "social_evil", "traffic", "dispute", "fire", "other")
NOT_COUNTED = frozenset({"rejected", "duplicate"})  # as statistics counts incidents


def public_period(spec: str) -> Period:
    """A quarter (``2026-Q1``), or a 422 naming ``period``."""
    try:
        period = periods.parse(spec)
    except periods.PeriodError as exc:
        raise Invalid(f"period: {exc.detail}", field="period") from exc
    if period.kind != "quarter":
        raise Invalid(
            "period: public statistics cover calendar quarters (2026-Q1) only: figures of "
            "overlapping periods would give small counts away by subtraction",
            field="period",
        )
    return period


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def counts_by_hamlet(
    incidents: Iterable[Document], tree: UnitTree, hamlets: Sequence[Unit], period: Period
) -> list[list[int]]:
    """The table: a row per hamlet (merged ones folded in), a column per group."""
    row_of = {h.id: n for n, h in enumerate(hamlets)}
    table = [[0] * len(GROUPS) for _ in hamlets]
    column = {g: n for n, g in enumerate(GROUPS)}
    for doc in incidents:
        at = doc.get("occurred_at")
        if at is None or not period.start <= _aware(at) < period.end:
            continue
        if doc.get("status") in NOT_COUNTED:
            continue
        resolved = tree.resolved(doc.get("hamlet_id") or "")
        if resolved is None or resolved.id not in row_of:
            continue
        table[row_of[resolved.id]][column.get(doc.get("group") or "other", column["other"])] += 1
    return table


def _count(value: int | None) -> StatisticsCount:
    return StatisticsCount(count=value, suppressed=value is None)


def _cells(values: Sequence[int | None]) -> list[StatisticsCell]:
    return [
        StatisticsCell(group=g, category=None, count=v, suppressed=v is None)
        for g, v in zip(GROUPS, values, strict=True)
    ]


@dataclass(frozen=True)
class CommuneQuarter:
    """A commune's protected table for one quarter, as events."""

    commune: PublicStatistics
    hamlets: list[PublicStatistics]
    table: ProtectedTable

    def all(self) -> list[PublicStatistics]:
        """The commune's event, then each hamlet's."""
        return [self.commune, *self.hamlets]


def _period(period: Period) -> StatisticsPeriod:
    return StatisticsPeriod(
        key=period.spec, kind="quarter", starts_on=period.first_day, ends_on=period.last_day
    )


def commune_quarter(
    commune: Unit,
    hamlets: Sequence[Unit],
    period: Period,
    cells: list[list[int]],
    *,
    now: datetime,
) -> CommuneQuarter:
    """The events of a commune and its hamlets for a quarter, from one protected table."""
    empty = ProtectedTable((), (), tuple(0 for _ in GROUPS), 0, 0, 0)  # no hamlet: zeros
    shown = protect(cells) if hamlets else empty
    stamp = _period(period)
    rows = [
        PublicStatistics(
            unit_id=h.id,
            unit_path=list(h.path),
            period=stamp,
            cells=_cells(shown.cells[n]),
            total=_count(shown.row_totals[n]),
            published_at=now,
        )
        for n, h in enumerate(hamlets)
    ]
    whole = PublicStatistics(
        unit_id=commune.id,
        unit_path=list(commune.path),
        period=stamp,
        cells=_cells(shown.column_totals),
        total=_count(shown.grand_total),
        published_at=now,
    )
    return CommuneQuarter(whole, rows, shown)


def communes(tree: UnitTree) -> list[Unit]:
    """Every active unit whose children are hamlets (communes, wards, townships)."""
    parents = {
        u.path[-2] for u in tree.units.values()
        if u.level == "hamlet" and u.status == "active" and len(u.path) > 1
    }  # fmt: skip
    return [tree.units[p] for p in sorted(parents) if p in tree.units]


def closed_quarters(now: datetime, *, settle_days: int, count: int) -> list[Period]:
    """The last ``count`` quarters that ended at least ``settle_days`` before ``now``."""
    found: list[Period] = []
    probe = now - timedelta(days=settle_days)
    quarter = periods.containing("quarter", probe)
    if quarter.end > probe:  # not yet ended (or settled): start with the one before
        quarter = periods.containing("quarter", quarter.start - timedelta(seconds=1))
    while len(found) < count:
        found.append(quarter)
        quarter = periods.containing("quarter", quarter.start - timedelta(seconds=1))
    return found


def content(statistics: PublicStatistics) -> Document:
    """What an event says, less when it was computed and its sequence number."""
    return statistics.model_dump(mode="json", exclude={"published_at", "sequence"})


@dataclass(frozen=True)
class PublishReport:
    """What a run of the publisher did."""

    computed: int  # commune quarters looked at
    published: int  # events queued (first publications only)


async def publish(ctx: Context, *, now: datetime | None = None) -> PublishReport:
    """Publish, once, every closed and settled quarter of every commune not published yet."""
    now = now or datetime.now(UTC)
    settings = ctx.settings
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    quarters = closed_quarters(
        now, settle_days=settings.public_settle_days, count=settings.public_quarters
    )
    store = PublicStatisticsStore(ctx.stores.db)
    topic = ctx.topic(REPORTING_PUBLIC.name)
    computed = published = 0
    for commune in communes(tree):
        keys = [f"{commune.id}:{q.spec}" for q in quarters]
        done = await store.contents(keys)
        waiting = [q for q in quarters if f"{commune.id}:{q.spec}" not in done]
        if not waiting:
            continue
        hamlets = tree.hamlets(commune.id)
        incidents = await _incidents(model, tree, commune)
        for quarter in waiting:
            computed += 1
            cells = counts_by_hamlet(incidents, tree, hamlets, quarter)
            made = commune_quarter(commune, hamlets, quarter, cells, now=now)
            for statistics in made.all():
                key = statistics.subject()
                entries = [outbox_entry(CloudEvent.wrap(statistics, time=now), topic)]
                doc = {"_id": key, "content": content(statistics), "unit_id": statistics.unit_id,
                       "period": quarter.spec, "published_at": now, "version": 1}  # fmt: skip
                if await store.insert(doc, entries):
                    ctx.publish_new(PUBLIC_STATISTICS, key, entries)
                    published += 1
    if published:
        log.info("public statistics published", extra={"published": published})
    return PublishReport(computed, published)


async def _incidents(model: ReadModel, tree: UnitTree, commune: Unit) -> list[Document]:
    fields = {"hamlet_id": 1, "group": 1, "status": 1, "occurred_at": 1}
    ids = tree.subtree(commune.id)
    return [d async for d in model[INCIDENTS].find({"hamlet_id": {"$in": ids}}, fields)]


async def published_for(ctx: Context, unit: Unit, period: Period) -> PublicStatistics:
    """The frozen figures of a commune or hamlet for a quarter, as they were published."""
    doc = await ctx.stores.db[PUBLIC_STATISTICS].find_one(
        {"_id": f"{unit.id}:{period.spec}"}, {"content": 1, "published_at": 1}
    )
    if doc is None:
        raise NotFound(
            f"no public statistics of {unit.id} for {period.spec}: a quarter is published "
            f"{ctx.settings.public_settle_days} days after it ends, for communes and hamlets",
            field="period",
        )
    return PublicStatistics.model_validate({**doc["content"], "published_at": doc["published_at"]})


class PublicStatisticsPublisher(LeasedWorker):
    """Publishes what is due on its interval while this replica holds the lease."""

    def __init__(self, ctx: Context) -> None:
        settings = ctx.settings
        lease = Lease(ctx.stores.db, LEASE, ttl=settings.public_lease_seconds)
        super().__init__(lease, self._publish, interval=settings.public_publish_seconds, name=LEASE)
        self._ctx = ctx

    async def _publish(self) -> None:
        await publish(self._ctx)
