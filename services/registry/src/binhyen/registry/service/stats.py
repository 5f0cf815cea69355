"""Statistics per unit, rolled up the tree; public count snapshots for other agencies."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.public import PublicUnitCounts
from binhyen.contracts.topics import REGISTRY_PUBLIC
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.kit.outbox import OUTBOX, outbox_entry
from binhyen.kit.problems import NotFound
from binhyen.registry.domain.units import Unit
from binhyen.registry.service.common import Context

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LEASE = "counts-publisher"


@dataclass
class Counts:
    """What the programme counts for a unit and everything under it."""

    households: int = 0
    households_pledged: int = 0
    residents: int = 0
    residents_alertable: int = 0
    organisations: int = 0
    teams: int = 0
    team_members: int = 0

    def add(self, other: Counts) -> None:
        """Add another unit's counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def pledged_share(self) -> float | None:
        """Share of households with a pledge for the year (criterion 1 asks for 100%)."""
        return None if not self.households else self.households_pledged / self.households


def current_year() -> int:
    """The programme year now, in Vietnam."""
    return datetime.now(VN).year


async def _by_unit(ctx: Context, collection: Any, match: dict[str, Any]) -> Counter[str]:
    pipeline = [{"$match": match}, {"$group": {"_id": "$unit_id", "n": {"$sum": 1}}}]
    counts: Counter[str] = Counter()
    async for row in await collection.aggregate(pipeline):
        counts[row["_id"]] = row["n"]
    return counts


async def counts_by_unit(
    ctx: Context,
    unit_ids: set[str] | None,
    year: int,
    today: date,
) -> dict[str, Counts]:
    """Counts of each unit on its own (not rolled up); ``None`` means every unit."""
    scope: dict[str, Any] = {} if unit_ids is None else {"unit_id": {"$in": sorted(unit_ids)}}
    stores = ctx.stores
    households = await _by_unit(ctx, stores.households.collection, scope | {"status": "active"})
    pledged = await _by_unit(
        ctx, stores.households.collection, scope | {"status": "active", "pledge_years": year}
    )
    residents = await _by_unit(ctx, stores.people.collection, scope | {"status": "active"})
    alertable = await _by_unit(
        ctx, stores.people.collection, scope | {"status": "active", "alert_consent": True}
    )
    result: dict[str, Counts] = {}

    def of(unit_id: str) -> Counts:
        return result.setdefault(unit_id, Counts())

    for unit_id, n in households.items():
        of(unit_id).households = n
    for unit_id, n in pledged.items():
        of(unit_id).households_pledged = n
    for unit_id, n in residents.items():
        of(unit_id).residents = n
    for unit_id, n in alertable.items():
        of(unit_id).residents_alertable = n
    cursor = stores.organisations.collection.find(
        scope | {"status": "active"}, {"unit_id": 1, "category": 1, "members": 1}
    )
    async for org in cursor:
        counts = of(org["unit_id"])
        if org.get("category") == "team":
            counts.teams += 1
            counts.team_members += sum(
                1
                for m in org.get("members", [])
                if not m.get("valid_to") or date.fromisoformat(m["valid_to"]) > today
            )
        else:
            counts.organisations += 1
    return result


def roll_up(
    root: Unit, below: list[Unit], own: dict[str, Counts]
) -> tuple[Counts, dict[str, Counts]]:
    """Totals for ``root`` and for each of its children, each over its whole subtree."""
    depth = len(root.path)
    total = Counts()
    per_child: dict[str, Counts] = {}
    for counts in own.values():
        total.add(counts)
    for unit in below:
        found = own.get(unit.id)
        if found is not None and len(unit.path) > depth:
            per_child.setdefault(unit.path[depth], Counts()).add(found)
    return total, per_child


async def unit_stats(
    unit_id: str, *, year: int, principal: Principal, ctx: Context
) -> tuple[Unit, Counts, list[tuple[Unit, Counts]]]:
    """A unit's counts over its subtree, and each child's, for a programme year."""
    root = await ctx.stores.units.get(unit_id)
    if root is None:
        raise NotFound(f"unit {unit_id} does not exist")
    authorize(principal, "stats:read", root.path, what=f"unit {unit_id}")
    below = await ctx.stores.units.descendants(root.id)
    ids = {root.id, *(u.id for u in below)}
    own = await counts_by_unit(ctx, ids, year, datetime.now(VN).date())
    total, per_child = roll_up(root, below, own)
    children = sorted(
        (u for u in below if u.parent_id == root.id and u.status == "active"), key=lambda u: u.name
    )
    return root, total, [(c, per_child.get(c.id, Counts())) for c in children]


async def publish_counts(ctx: Context, *, year: int | None = None) -> int:
    """Put fresh count snapshots of every active unit on the public topic; return how many.

    A snapshot is published only when it changed since the last one, in the same
    atomic write that records it on the unit, so the compacted topic always holds
    the latest counts of each unit and nothing is published twice for no change.
    """
    year = year or current_year()
    today = datetime.now(VN).date()
    own = await counts_by_unit(ctx, None, year, today)
    units = await ctx.stores.units.search(
        text=None,
        kind=None,
        parent_id=None,
        status="active",
        scopes=None,
        after=None,
        limit=10**9,
    )
    totals: dict[str, Counts] = {u.id: Counts() for u in units}
    for unit in units:
        counts = own.get(unit.id)
        if counts is None:
            continue
        for ancestor in unit.path:
            if ancestor in totals:
                totals[ancestor].add(counts)
    published = 0
    topic = ctx.topic(REGISTRY_PUBLIC.name)
    for unit_id, counts in totals.items():
        snapshot = {"year": year, **asdict(counts)}
        event = PublicUnitCounts(
            unit_id=unit_id,
            computed_at=datetime.now(UTC),
            year=year,
            households=counts.households,
            households_pledged=counts.households_pledged,
            residents=counts.residents,
            teams=counts.teams + counts.organisations,
            team_members=counts.team_members,
        )
        result = await ctx.stores.units.collection.update_one(
            {"_id": unit_id, "public_counts": {"$ne": snapshot}},
            {
                "$set": {"public_counts": snapshot},
                "$push": {OUTBOX: outbox_entry(CloudEvent.wrap(event), topic)},
            },
        )
        published += result.modified_count
    if published:
        ctx.publish_pending()
    return published


class CountsPublisher(LeasedWorker):
    """Publishes count snapshots periodically; one replica at a time holds the lease.

    A pass counts whole subtrees (scans on FerretDB); a shutdown cancels one still running
    after the grace period, which is safe: the next holder of the lease publishes the
    snapshot.
    """

    def __init__(self, ctx: Context, *, interval: float, lease_seconds: float = 120) -> None:
        super().__init__(
            Lease(ctx.stores.db, LEASE, ttl=lease_seconds),
            lambda: publish_counts(ctx),
            interval=interval,
            name=LEASE,
        )
