"""Public statistics for agencies: incident counts per unit and period, small counts suppressed.

**What is counted.** The counted incidents of the unit's subtree (merged hamlets under their
successor) that occurred in the period, exactly as ``statistics.incident_figures`` counts them:
not those rejected or marked duplicate, bucketed by ``occurred_at`` in local days. Periods are
a month, a quarter, a year or an evaluation year.

**What is published.** Per group, its total and a count per category; and the grand total.
The categories listed never depend on the counts: every category of the incidents service's
catalogue and every category the read model has seen anywhere, each under its group, with its
zeros. (Listing only the categories that occurred would say "at least one" of each listed.)

**Disclosure.** The reader knows that the categories of a group add up to the group's total,
and the groups to the grand total. ``domain.disclosure.protect`` is given that table as rows
of groups and columns of categories (each column holds its category's count in its group's
row and zeros elsewhere): the row totals it computes are the group totals, its grand total
the grand total. Its column totals (each equal to its one count) are not published, which
only leaves the reader knowing less than ``protect`` assumed; but the zeros of the other
groups' rows are known to any reader, and ``protect`` may have counted one of them as room to
hide in. So the result is checked against the reader of the published hierarchy, by the same
max-flow argument as ``protect``'s own (see its docstring), and settled:

- an entry ``protect`` hid whose count the reader can work out anyway is published (it says
  nothing new; hiding it would be a lie), which cannot pin any other entry;
- should a small count still be exposed, every category and group total is hidden, and the
  grand total too if it is small: the reader then knows at most the grand total.

The event model refuses a small count as the last guard.

**Not covered.** Each table is protected on its own: differences *between* published tables
(a commune and its hamlets, a quarter and its months) are not controlled.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.reporting import (
    PeriodKind,
    PublicStatistics,
    StatisticsCell,
    StatisticsCount,
    StatisticsPeriod,
)
from binhyen.contracts.topics import REPORTING_PUBLIC
from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.kit.outbox import outbox_entry
from binhyen.kit.problems import Invalid
from binhyen.reporting.domain import periods
from binhyen.reporting.domain.disclosure import SMALLEST_PUBLISHED, protect
from binhyen.reporting.domain.periods import Period
from binhyen.reporting.projections import INCIDENTS
from binhyen.reporting.service.categories import CATALOGUE
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.units import Unit, UnitTree
from binhyen.reporting.store import ReadModel
from binhyen.reporting.store.public import PUBLIC_STATISTICS, PublicStatisticsStore

log = logging.getLogger(__name__)
Document = dict[str, Any]
LEASE = "reporting-public-statistics"
GROUPS = ("crime", "social_evil", "traffic", "dispute", "fire", "other")
NOT_COUNTED = frozenset({"rejected", "duplicate"})  # as statistics counts incidents
PUBLIC_KINDS: tuple[PeriodKind, ...] = ("month", "quarter", "year", "evaluation_year")
PUBLISHED_LEVELS = ("commune", "hamlet")

Category = tuple[str, str]  # (group, category code)


# -- the table and its protection ---------------------------------------------------------------


@dataclass(frozen=True)
class Disclosed:
    """What may be published of one table: each count, or None where it is suppressed."""

    groups: dict[str, int | None]
    categories: dict[Category, int | None]
    total: int | None


def category_list(seen: Iterable[Category]) -> list[Category]:
    """The categories to list: the catalogue's and those seen, by group then code."""
    return _ordered([*((c.group, code) for code, c in CATALOGUE.items()), *seen])


def _ordered(pairs: Iterable[Category]) -> list[Category]:
    return sorted(set(pairs), key=lambda p: (_group_rank(p[0]), p[0], p[1]))


def _group_rank(group: str) -> int:
    return GROUPS.index(group) if group in GROUPS else len(GROUPS)


def disclose(counts: Mapping[Category, int], categories: Sequence[Category]) -> Disclosed:
    """Protect the counts of these categories (a count of an unlisted one is listed too)."""
    listed = _ordered([*categories, *counts])
    groups = sorted({g for g, _ in listed} | set(GROUPS), key=lambda g: (_group_rank(g), g))
    table = [[counts.get(c, 0) if c[0] == g else 0 for c in listed] for g in groups]
    result = protect(table)
    hierarchy = Hierarchy(groups, listed, counts)
    hidden: set[Entry] = {("T",)} if result.grand_total is None else set()
    hidden |= {("G", g) for i, g in enumerate(groups) if result.row_totals[i] is None}
    hidden |= {
        ("C", *c) for j, c in enumerate(listed) if result.cells[groups.index(c[0])][j] is None
    }
    hidden = hierarchy.settle(hidden)
    shown = {e: (None if e in hidden else n) for e, n in hierarchy.count.items()}
    return Disclosed(
        groups={g: shown[("G", g)] for g in groups},
        categories={c: shown[("C", *c)] for c in listed},
        total=shown[("T",)],
    )


Entry = tuple[str, ...]  # ("T",), ("G", group), ("C", group, category)
Node = tuple[str, ...]
_ROOT: Node = ("root",)
_SINK: Node = ("sink",)


class Hierarchy:
    """The published hierarchy as a circulation: the grand total flows from the sink back to
    the root, each group total from the root to its group, each category count from its group
    to the sink. Tables a reader cannot tell from the true one differ from it by a circulation
    on hidden entries that keeps every count >= 0 (``disclosure``'s model, on this graph)."""

    def __init__(
        self, groups: Sequence[str], listed: Sequence[Category], counts: Mapping[Category, int]
    ) -> None:
        self.count: dict[Entry, int] = {("T",): sum(counts.get(c, 0) for c in listed)}
        self.arc: dict[Entry, tuple[Node, Node]] = {("T",): (_SINK, _ROOT)}
        for g in groups:
            self.count[("G", g)] = sum(counts.get(c, 0) for c in listed if c[0] == g)
            self.arc[("G", g)] = (_ROOT, ("group", g))
        for group, code in listed:
            self.count[("C", group, code)] = counts.get((group, code), 0)
            self.arc[("C", group, code)] = (("group", group), _SINK)

    def settle(self, hidden: set[Entry]) -> set[Entry]:
        """Publish what the reader can work out anyway; hide more if a small count shows."""
        if self.exposed(hidden):
            hidden = {e for e in self.count if e != ("T",)}
            if 0 < self.count[("T",)] < SMALLEST_PUBLISHED:
                hidden.add(("T",))
        pinned = {e for e in hidden if self.pinned(e, hidden)}
        hidden = hidden - pinned  # each is determined, so none of them pins another
        assert not self.exposed(hidden), "disclosure: a small count would show"
        return hidden

    def exposed(self, hidden: set[Entry]) -> list[Entry]:
        """Small counts shown, or hidden but bound below SMALLEST_PUBLISHED by the rest."""
        found = []
        for entry, count in self.count.items():
            if not 0 < count < SMALLEST_PUBLISHED:
                continue
            need = SMALLEST_PUBLISHED - count
            if entry not in hidden or self.room(entry, hidden, up=True, need=need) < need:
                found.append(entry)
        return found

    def pinned(self, entry: Entry, hidden: set[Entry]) -> bool:
        """Whether the reader can work out a hidden entry (it can move neither up nor down)."""
        if self.room(entry, hidden, up=True, need=1):
            return False
        return not (self.count[entry] and self.room(entry, hidden, up=False, need=1))

    def room(self, entry: Entry, hidden: set[Entry], *, up: bool, need: int) -> int:
        """How far (up to ``need``) a hidden entry can move, the other hidden ones making up.

        Raising an entry by d is a circulation of d along it and back from its head to its tail
        through the other hidden entries, forwards at will, backwards at most their counts (a
        max flow); lowering it, the other way round, at most its own count.
        """
        tail, head = self.arc[entry]
        start, goal = (head, tail) if up else (tail, head)
        if not up:
            need = min(need, self.count[entry])
        others = [e for e in hidden if e != entry]
        flow: dict[Entry, int] = defaultdict(int)
        moved = 0
        while moved < need:
            path = self._augmenting(start, goal, others, flow)
            if path is None:
                break
            room = need - moved
            for e, forwards in path:
                if not forwards:
                    room = min(room, self.count[e] + flow[e])
            for e, forwards in path:
                flow[e] += room if forwards else -room
            moved += room
        return moved

    def _augmenting(
        self, start: Node, goal: Node, hidden: list[Entry], flow: Mapping[Entry, int]
    ) -> list[tuple[Entry, bool]] | None:
        came: dict[Node, tuple[Entry, bool, Node] | None] = {start: None}
        queue = [start]
        while queue and goal not in came:
            node = queue.pop(0)
            for e in sorted(hidden):
                tail, head = self.arc[e]
                if tail == node and head not in came:
                    came[head] = (e, True, node)
                    queue.append(head)
                elif head == node and tail not in came and self.count[e] + flow[e] > 0:
                    came[tail] = (e, False, node)
                    queue.append(tail)
        if goal not in came:
            return None
        path: list[tuple[Entry, bool]] = []
        node = goal
        while (step := came[node]) is not None:
            e, forwards, node = step
            path.append((e, forwards))
        return path[::-1]


def cells_of(disclosed: Disclosed) -> tuple[list[StatisticsCell], StatisticsCount]:
    """The event's cells (each group's total, then its categories) and its total."""
    cells: list[StatisticsCell] = []
    for group, count in disclosed.groups.items():
        cells.append(StatisticsCell(group=group, category=None, **_count(count)))
        cells.extend(
            StatisticsCell(group=g, category=code, **_count(n))
            for (g, code), n in disclosed.categories.items()
            if g == group
        )
    return cells, StatisticsCount(**_count(disclosed.total))


def _count(value: int | None) -> dict[str, Any]:
    return {"count": value, "suppressed": value is None}


# -- counting -----------------------------------------------------------------------------------


def public_period(spec: str) -> Period:
    """A period public statistics cover, or a 422 naming ``period``."""
    try:
        period = periods.parse(spec)
    except periods.PeriodError as exc:
        raise Invalid(f"period: {exc.detail}", field="period") from exc
    if period.kind not in PUBLIC_KINDS:
        raise Invalid(
            "period: public statistics cover a month (2026-03), a quarter (2026-Q1), a year "
            "(2026) or an evaluation year (EY2026), not a run of days",
            field="period",
        )
    return period


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def counts_of(incidents: Iterable[Document], period: Period) -> Counter[Category]:
    """Counted incidents that occurred in the period, by (group, category)."""
    found: Counter[Category] = Counter()
    for i in incidents:
        at = i.get("occurred_at")
        if at is None or not period.start <= _aware(at) < period.end:
            continue
        if i.get("status") in NOT_COUNTED:
            continue
        found[i.get("group") or "other", i.get("category") or ""] += 1
    return found


async def known_categories(model: ReadModel) -> list[Category]:
    """Every category the read model has seen, with its group (not its counts)."""
    collection = model[INCIDENTS]
    found: list[Category] = []
    for code in sorted(await collection.distinct("category")):
        if not isinstance(code, str) or not code:
            continue
        if code in CATALOGUE:
            found.append((CATALOGUE[code].group, code))
            continue
        one = await collection.find_one({"category": code}, {"group": 1})
        found.append(((one or {}).get("group") or "other", code))
    return found


def statistics_for(
    unit: Unit,
    period: Period,
    incidents: Iterable[Document],
    categories: Sequence[Category],
    *,
    now: datetime,
) -> PublicStatistics:
    """The public statistics of a unit (its subtree's incidents) over a period."""
    listed = category_list(categories)
    cells, total = cells_of(disclose(counts_of(incidents, period), listed))
    return PublicStatistics(
        unit_id=unit.id,
        unit_path=list(unit.path),
        period=StatisticsPeriod(
            key=period.spec,
            kind=cast(PeriodKind, period.kind),
            starts_on=period.first_day,
            ends_on=period.last_day,
        ),
        cells=cells,
        total=total,
        published_at=now,
    )


async def for_unit(
    model: ReadModel, tree: UnitTree, unit: Unit, period: Period, *, now: datetime | None = None
) -> PublicStatistics:
    """The public statistics of one unit and period, computed now from the read model."""
    ids = tree.subtree(unit.id)
    fields = {"group": 1, "category": 1, "status": 1, "occurred_at": 1}
    incidents = [d async for d in model[INCIDENTS].find({"hamlet_id": {"$in": ids}}, fields)]
    categories = await known_categories(model)
    return statistics_for(unit, period, incidents, categories, now=now or datetime.now(UTC))


# -- publishing ---------------------------------------------------------------------------------


def periods_at(now: datetime) -> list[Period]:
    """What the publisher covers at ``now``: this month and the one before, this quarter and
    this evaluation year."""
    month = periods.containing("month", now)
    before = periods.containing("month", month.start - timedelta(seconds=1))
    return [
        month,
        before,
        periods.containing("quarter", now),
        periods.containing("evaluation_year", now),
    ]


def content(statistics: PublicStatistics) -> Document:
    """What an event says, less when it was computed and its sequence number."""
    return statistics.model_dump(mode="json", exclude={"published_at", "sequence"})


@dataclass(frozen=True)
class PublishReport:
    """What a run of the publisher did."""

    computed: int
    published: int  # events queued (new or changed content)


async def publish(ctx: Context, *, now: datetime | None = None) -> PublishReport:
    """Publish the public statistics of every active commune and hamlet whose content changed."""
    now = now or datetime.now(UTC)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    targets = {
        u.id: u for u in tree.units.values() if u.status == "active" and u.level in PUBLISHED_LEVELS
    }
    fields = {"hamlet_id": 1, "group": 1, "category": 1, "status": 1, "occurred_at": 1}
    below: dict[str, list[Document]] = defaultdict(list)
    paths: dict[str, tuple[str, ...]] = {}
    async for doc in model[INCIDENTS].find({}, fields):
        hamlet = doc.get("hamlet_id") or ""
        if hamlet not in paths:
            paths[hamlet] = tree.current_path(hamlet)
        for unit_id in paths[hamlet]:
            if unit_id in targets:
                below[unit_id].append(doc)
    categories = await known_categories(model)
    store = PublicStatisticsStore(ctx.stores.db)
    topic = ctx.topic(REPORTING_PUBLIC.name)
    chosen = periods_at(now)
    computed = published = 0
    for unit_id in sorted(targets):
        unit = targets[unit_id]
        made = [statistics_for(unit, p, below[unit_id], categories, now=now) for p in chosen]
        stored = await store.contents([s.subject() for s in made])
        for statistics in made:
            computed += 1
            key, said = statistics.subject(), content(statistics)
            before = stored.get(key)
            if before is not None and before.get("content") == said:
                continue
            entries = [outbox_entry(CloudEvent.wrap(statistics, time=now), topic)]
            fields_now = {"content": said, "unit_id": unit.id, "period": statistics.period.key,
                          "published_at": now}  # fmt: skip
            if before is None:
                doc = {"_id": key, **fields_now, "version": 1}
                if await store.insert(doc, entries):
                    ctx.publish_new(PUBLIC_STATISTICS, key, entries)
                    published += 1
            else:
                version = int(before["version"])
                update = {**fields_now, "version": version + 1}
                if await store.revise(key, version, update, entries):
                    ctx.publish_pending(PUBLIC_STATISTICS, key)
                    published += 1
    if published:
        log.info("public statistics published", extra={"published": published})
    return PublishReport(computed, published)


class PublicStatisticsPublisher(LeasedWorker):
    """Publishes the public statistics on its interval while this replica holds the lease."""

    def __init__(self, ctx: Context) -> None:
        settings = ctx.settings
        lease = Lease(ctx.stores.db, LEASE, ttl=settings.public_lease_seconds)
        super().__init__(lease, self._publish, interval=settings.public_publish_seconds, name=LEASE)
        self._ctx = ctx

    async def _publish(self) -> None:
        await publish(self._ctx)
