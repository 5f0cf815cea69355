"""Hotspots: repeated incidents of one category in one hamlet, suggested for a preventive plan task.

A sweep runs ``domain.hotspots.detect`` over the counted incidents of the current read model
(not those rejected or marked duplicate), each under the hamlet its history counts under now
(a merged hamlet's under its successor), with these rules:

- each category a check ``incident_hotspot`` of the shipped rule set names (drugs and
  gambling: 3 within 90 days) takes that check's window and count (the first check naming a
  category wins);
- every other category takes the default rule (settings ``hotspot_window_days``,
  ``hotspot_min_incidents``: 3 within 30 days).

Each hotspot found is compared with the one stored under its id (``store.hotspots``): a new
hotspot, or one whose incidents changed, is stored with version + 1 and a
``HotspotSuggested`` event in its outbox, in one write guarded by the stored version; the same
content changes nothing. So a second sweep, a sweep on another replica, or a rebuild of the
read model (which gives the same incidents) never suggests a hotspot twice. A stored hotspot
no longer found (its incidents rejected, its hamlet merged) is marked withdrawn, without an
event: the contract has none for it.

One replica sweeps at a time (a kit lease): every ``hotspot_sweep_seconds`` over every hamlet,
and, shortly after the live consumer applied incidents, over the hamlets they belong to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.reporting import (
    HotspotSuggested,
    HotspotSuggestion,
    HotspotWithdrawn,
)
from binhyen.contracts.topics import REPORTING_HOTSPOTS
from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.kit.outbox import outbox_entry
from binhyen.reporting.domain.computations import IncidentHotspot
from binhyen.reporting.domain.hotspots import Hotspot, HotspotRule, Occurrence, detect
from binhyen.reporting.domain.periods import LOCAL, Period, display_date
from binhyen.reporting.domain.rules import ComputedCheck, RuleSet
from binhyen.reporting.projections import INCIDENTS
from binhyen.reporting.service import rulesets
from binhyen.reporting.service.categories import Categories, CategoryName
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.units import UnitTree
from binhyen.reporting.store.hotspots import ACTIVE, HOTSPOTS, WITHDRAWN, Hotspots

log = logging.getLogger(__name__)
Document = dict[str, Any]
LEASE = "reporting-hotspots"
NOT_COUNTED = frozenset({"rejected", "duplicate"})  # as statistics counts incidents
CONTENT = ("incident_ids", "window_days", "min_incidents")  # what a new version changes

# Kinds of hamlet-level unit, as a suggestion names them.
KIND_WORDS = {
    "hamlet": ("thôn", "hamlet"),
    "village": ("xóm", "village"),
    "residential_group": ("tổ dân phố", "residential group"),
}
DEFAULT_KIND_WORDS = ("khu dân cư", "residential area")


@dataclass(frozen=True)
class Rule:
    """A hotspot rule and the categories it covers (None: every category no other names)."""

    categories: frozenset[str] | None
    window_days: int
    min_incidents: int
    source: str  # the rule set's check id, or "default"

    def covers(self, category: str, named: frozenset[str]) -> bool:
        """Whether an incident of ``category`` counts under this rule."""
        if self.categories is None:
            return category not in named
        return category in self.categories


def rules_of(ruleset: RuleSet, *, window_days: int, min_incidents: int) -> tuple[Rule, ...]:
    """The rules of the rule set's ``incident_hotspot`` checks, then the default rule (for
    every other category: ``min_incidents`` within ``window_days``)."""
    taken: dict[str, tuple[int, int, str]] = {}
    for criterion in ruleset.criteria:
        for check in criterion.checks:
            if not isinstance(check, ComputedCheck) or check.computation != "incident_hotspot":
                continue
            parameters = check.typed_parameters()
            assert isinstance(parameters, IncidentHotspot)
            for category in parameters.categories:
                taken.setdefault(
                    category, (parameters.window_days, parameters.min_incidents, check.id)
                )
    grouped: dict[tuple[int, int, str], set[str]] = {}
    for category, key in taken.items():
        grouped.setdefault(key, set()).add(category)
    rules = [
        Rule(frozenset(categories), window, count, source)
        for (window, count, source), categories in grouped.items()
    ]
    return (*rules, Rule(None, window_days, min_incidents, "default"))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def find(occurrences: Iterable[Occurrence], rules: tuple[Rule, ...]) -> list[tuple[Hotspot, Rule]]:
    """Every hotspot of these incidents under the rules, with the rule that found it."""
    items = list(occurrences)
    named = frozenset(c for rule in rules if rule.categories for c in rule.categories)
    found: list[tuple[Hotspot, Rule]] = []
    for rule in rules:
        covered = [o for o in items if rule.covers(o.category, named)]
        window = timedelta(days=rule.window_days)
        found.extend((h, rule) for h in detect(covered, HotspotRule(window, rule.min_incidents)))
    return found


def suggestion(
    *,
    count: int,
    name: CategoryName,
    hamlet_name: str,
    hamlet_kind: str,
    window_days: int,
    first_at: datetime,
    last_at: datetime,
) -> HotspotSuggestion:
    """What the commune is advised, e.g. "Lập kế hoạch phòng ngừa: 3 vụ trộm cắp tài sản tại
    thôn Tân Thành trong 30 ngày"; an episode longer than the window gives its days."""
    kind_vi, kind_en = KIND_WORDS.get(hamlet_kind, DEFAULT_KIND_WORDS)
    what_vi = f"{count} vụ {name.vi[:1].lower()}{name.vi[1:]} tại {kind_vi} {hamlet_name}"
    what_en = f"{count} incidents of {name.en.lower()} in {hamlet_name} {kind_en}"
    if last_at - first_at < timedelta(days=window_days):
        when_vi, when_en = f"trong {window_days} ngày", f"within {window_days} days"
    else:
        first, last = first_at.astimezone(LOCAL).date(), last_at.astimezone(LOCAL).date()
        when_vi = f"từ {display_date(first)} đến {display_date(last)}"
        when_en = f"from {first.isoformat()} to {last.isoformat()}"
    return HotspotSuggestion(
        vi=f"Lập kế hoạch phòng ngừa: {what_vi} {when_vi}",
        en=f"Plan preventive action: {what_en} {when_en}",
    )


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did."""

    found: int
    suggested: int  # events queued: new hotspots and new versions
    withdrawn: int


async def sweep(
    ctx: Context, *, hamlets: Iterable[str] | None = None, ruleset: RuleSet | None = None
) -> SweepReport:
    """Look for hotspots in these hamlets (None: every hamlet) under ``ruleset`` (None: the one
    in force); suggest new ones and changes."""
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    categories = await Categories.load(model)
    scope: set[str] | None = None
    if hamlets is not None:
        targets = {(u.id if (u := tree.resolved(h)) else h) for h in hamlets}
        if not targets:
            return SweepReport(0, 0, 0)
        scope = set(targets)
        for target in targets:
            scope.update(tree.subtree(target))
    query: Document = {} if scope is None else {"hamlet_id": {"$in": sorted(scope)}}
    fields = {"hamlet_id": 1, "unit_path": 1, "category": 1, "group": 1, "occurred_at": 1,
              "status": 1}  # fmt: skip
    incidents: dict[str, Document] = {}
    async for doc in model[INCIDENTS].find(query, fields):
        if doc.get("status") in NOT_COUNTED or not doc.get("category"):
            continue
        if doc.get("occurred_at") is None or not doc.get("hamlet_id"):
            continue
        incidents[doc["_id"]] = doc
    occurrences = [
        Occurrence(
            incident_id=i,
            hamlet_id=(u.id if (u := tree.resolved(doc["hamlet_id"])) else doc["hamlet_id"]),
            category=doc["category"],
            occurred_at=_aware(doc["occurred_at"]),
        )
        for i, doc in incidents.items()
    ]
    rules = rules_of(
        ruleset or await rulesets.current(ctx.stores.db),  # as an administrator replaced it
        window_days=ctx.settings.hotspot_window_days,
        min_incidents=ctx.settings.hotspot_min_incidents,
    )
    found = find(occurrences, rules)
    store = Hotspots(ctx.stores.db)
    stored = {d["_id"]: d for d in await store.of_hamlets(None if scope is None else sorted(scope))}
    now = datetime.now(UTC)
    suggested = 0
    for hotspot, rule in found:
        doc = _document(hotspot, rule, incidents, tree, categories)
        before = stored.get(hotspot.hotspot_id)
        if (
            before is not None
            and before.get("status") == ACTIVE
            and all(before.get(k) == doc[k] for k in CONTENT)
        ):
            continue  # as suggested: nothing to say (a withdrawn one that holds again is)
        version = 1 if before is None else int(before["version"]) + 1
        doc.update(version=version, status=ACTIVE, updated_at=now)
        entries = [_entry(ctx, hotspot.hotspot_id, doc, now)]
        if before is None:
            if await store.insert({"_id": hotspot.hotspot_id, **doc, "created_at": now}, entries):
                ctx.publish_new(HOTSPOTS, hotspot.hotspot_id, entries)
                suggested += 1
        elif await store.revise(hotspot.hotspot_id, int(before["version"]), doc, entries):
            ctx.publish_pending(HOTSPOTS, hotspot.hotspot_id)
            suggested += 1
    current = {h.hotspot_id for h, _ in found}
    gone = [d for d in stored.values() if d["_id"] not in current and d.get("status") == ACTIVE]
    for doc in gone:
        version = int(doc["version"]) + 1
        withdrawal = [_withdrawn_entry(ctx, doc, version, now)]
        if await store.revise(
            doc["_id"], int(doc["version"]),
            {"status": WITHDRAWN, "version": version, "updated_at": now}, withdrawal,
        ):  # fmt: skip
            ctx.publish_pending(HOTSPOTS, doc["_id"])
    if suggested or gone:
        log.info(
            "hotspots swept",
            extra={"found": len(found), "suggested": suggested, "withdrawn": len(gone)},
        )
    return SweepReport(len(found), suggested, len(gone))


def _document(
    hotspot: Hotspot,
    rule: Rule,
    incidents: dict[str, Document],
    tree: UnitTree,
    categories: Categories,
) -> Document:
    """The stored hotspot (without version and status): what the event says, and when."""
    mine = [incidents[i] for i in hotspot.incident_ids]
    unit = tree.units.get(hotspot.hamlet_id)
    first_at = min(_aware(i["occurred_at"]) for i in mine)
    latest = max(mine, key=lambda i: (_aware(i["occurred_at"]), i["_id"]))
    name = categories.name_of(hotspot.category)
    group = latest.get("group") or name.group
    count = len(hotspot.incident_ids)
    return {
        "hamlet_id": hotspot.hamlet_id,
        "unit_path": list(unit.path) if unit else list(latest.get("unit_path") or []),
        "category": hotspot.category,
        "group": group,
        "window_days": rule.window_days,
        "min_incidents": rule.min_incidents,
        "rule": rule.source,
        "first_at": first_at,
        "started_at": hotspot.started_at,
        "last_at": hotspot.last_at,
        "incident_ids": list(hotspot.incident_ids),
        "count": count,
        "suggestion": suggestion(
            count=count,
            name=name,
            hamlet_name=unit.name if unit else hotspot.hamlet_id,
            hamlet_kind=unit.kind if unit else "",
            window_days=rule.window_days,
            first_at=first_at,
            last_at=hotspot.last_at,
        ).model_dump(),
    }


def _entry(ctx: Context, hotspot_id: str, doc: Document, now: datetime) -> Document:
    event = HotspotSuggested(
        hotspot_id=hotspot_id,
        hamlet_id=doc["hamlet_id"],
        unit_path=doc["unit_path"] or [doc["hamlet_id"]],
        category=doc["category"],
        group=doc["group"],
        window_days=doc["window_days"],
        min_incidents=doc["min_incidents"],
        first_at=doc["first_at"],
        last_at=doc["last_at"],
        incident_ids=doc["incident_ids"],
        count=doc["count"],
        suggestion=HotspotSuggestion.model_validate(doc["suggestion"]),
        version=doc["version"],
    )
    return outbox_entry(CloudEvent.wrap(event, time=now), ctx.topic(REPORTING_HOTSPOTS.name))


def _withdrawn_entry(ctx: Context, doc: Document, version: int, now: datetime) -> Document:
    event = HotspotWithdrawn(
        hotspot_id=doc["_id"],
        hamlet_id=doc["hamlet_id"],
        unit_path=doc.get("unit_path") or [doc["hamlet_id"]],
        category=doc["category"],
        group=doc["group"],
        version=version,
    )
    return outbox_entry(CloudEvent.wrap(event, time=now), ctx.topic(REPORTING_HOTSPOTS.name))


async def of_unit(
    ctx: Context, tree: UnitTree, unit_id: str, period: Period | None
) -> list[Document]:
    """The standing hotspots under a unit whose episode touches the period, oldest first."""
    found = await Hotspots(ctx.stores.db).of_hamlets(tree.subtree(unit_id), active_only=True)
    if period is not None:
        found = [h for h in found if touches(h, period)]
    found.sort(key=lambda h: (_aware(h["started_at"]), h["_id"]))
    return found


def touches(hotspot: Document, period: Period) -> bool:
    """Whether the episode (from the incident that made it a hotspot to its last) touches it."""
    return _aware(hotspot["started_at"]) < period.end and _aware(hotspot["last_at"]) >= period.start


class HotspotWorker(LeasedWorker):
    """Sweeps for hotspots while this replica holds the lease: every hamlet on its interval,
    the hamlets of newly applied incidents shortly after the live consumer applied them."""

    def __init__(self, ctx: Context) -> None:
        settings = ctx.settings
        lease = Lease(ctx.stores.db, LEASE, ttl=settings.hotspot_lease_seconds)
        super().__init__(lease, self._sweep, interval=settings.hotspot_sweep_seconds, name=LEASE)
        self._ctx = ctx
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._full_due = 0.0  # loop time of the next sweep of every hamlet
        self.last: SweepReport | None = None

    def look_at(self, hamlet_ids: Iterable[str]) -> None:
        """The live consumer changed the incidents of these hamlets: look at them soon."""
        self._dirty.update(hamlet_ids)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            delay = self._ctx.settings.hotspot_wake_delay_seconds
            self._timer = loop.call_later(delay, self._ring)

    def _ring(self) -> None:
        self._timer = None
        self.wake()

    async def start(self) -> None:
        """Index the hotspots, then sweep (every hamlet first)."""
        await Hotspots(self._ctx.stores.db).create_indexes()
        await super().start()

    async def stop(self) -> None:
        """Stop sweeping and give the lease back."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await super().stop()

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        dirty, self._dirty = self._dirty, set()
        every = loop.time() >= self._full_due
        try:
            self.last = await sweep(self._ctx, hamlets=None if every else dirty)
        except BaseException:
            self._dirty |= dirty  # looked at again next time
            raise
        if every:
            self._full_due = loop.time() + self._ctx.settings.hotspot_sweep_seconds
