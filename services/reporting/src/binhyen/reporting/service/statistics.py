"""Statistics of a unit's subtree over a period, each figure beside the same period a year earlier.

What is counted (every rule here is also in the service README):

- **Incidents** are bucketed by when they occurred (``occurred_at``, local days). Those
  rejected or marked duplicate are listed under ``by_status`` but counted nowhere else.
- **Time to acknowledge**: from the report to the first transition into ``acknowledged``;
  **time to resolve**: from the report to the last transition into ``resolved``, for
  incidents resolved now. Minutes, nearest-rank p50 and p90.
- **Mediation**: disputes whose mediation concluded in the period, by outcome; sessions held
  in the period.
- **Households**: the subtree's households registered and not dissolved on the period's last
  day (``service.households.active_on``), and those of them with a pledge for the programme
  year of that day.
- **Teams**: teams active at some time in the period, by kind, their members on the
  period's last day, and the duty shifts that started in the period.
- **Alerts** raised in the period (first message of an alert, not its updates or
  cancellations), by CAP status; recipients, delivered, acknowledged; drill response times
  (first acknowledgement of an Exercise alert, minutes).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from binhyen.reporting.domain import periods
from binhyen.reporting.domain.periods import Period
from binhyen.reporting.projections import ALERTS, HOUSEHOLDS, INCIDENTS, TEAMS
from binhyen.reporting.service.categories import Categories
from binhyen.reporting.service.households import active_on
from binhyen.reporting.service.units import UnitTree
from binhyen.reporting.store import LOOKUP_IDS, ReadModel
from binhyen.reporting.store.hotspots import Hotspots

Document = dict[str, Any]
NOT_COUNTED = frozenset({"rejected", "duplicate"})
GROUPS = ("crime", "social_evil", "traffic", "dispute", "fire", "other")
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = (
    "reported", "acknowledged", "assigned", "in_progress", "escalated",
    "reopened", "resolved", "rejected", "duplicate",
)  # fmt: skip


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _within(value: datetime | None, period: Period) -> bool:
    return value is not None and period.start <= _aware(value) < period.end


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return round(ordered[rank - 1], 1)


def _minutes(start: datetime, end: datetime) -> float:
    return (_aware(end) - _aware(start)).total_seconds() / 60


def _durations(values: list[float]) -> Document:
    return {"count": len(values), "p50": percentile(values, 0.5), "p90": percentile(values, 0.9)}


@dataclass(frozen=True)
class Scope:
    """What a statistic covers: a subtree's units, a period, optionally one incident group."""

    unit_ids: list[str]
    period: Period
    group: str | None = None


def acknowledged_at(incident: Document) -> datetime | None:
    """When the incident was first acknowledged (None if it never was)."""
    times = [
        _aware(t["at"]) for t in (incident.get("transitions") or {}).values()
        if t.get("to") == "acknowledged"
    ]  # fmt: skip
    return min(times) if times else None


def resolved_at(incident: Document) -> datetime | None:
    """When a resolved incident was last resolved (None unless it is resolved now)."""
    if incident.get("status") != "resolved":
        return None
    times = [
        _aware(t["at"]) for t in (incident.get("transitions") or {}).values()
        if t.get("to") == "resolved"
    ]  # fmt: skip
    return max(times) if times else None


def reopened(incident: Document) -> int:
    """How many times the incident was reopened."""
    return sum(
        1 for t in (incident.get("transitions") or {}).values() if t.get("action") == "reopen"
    )


def incident_figures(incidents: list[Document], period: Period) -> Document:
    """The incident figures of a period (incidents already limited to the scope)."""
    in_period = [i for i in incidents if _within(i.get("occurred_at"), period)]
    counted = [i for i in in_period if i.get("status") not in NOT_COUNTED]
    by_status = Counter(i.get("status") for i in in_period)
    ack = [
        _minutes(i["reported_at"], at) for i in counted
        if (at := acknowledged_at(i)) is not None
    ]  # fmt: skip
    resolve = [
        _minutes(i["reported_at"], at) for i in counted
        if (at := resolved_at(i)) is not None
    ]  # fmt: skip
    concluded = Counter(
        (i.get("mediation") or {}).get("outcome")
        for i in incidents
        if i.get("mediation") and _within(i["mediation"].get("at"), period)
    )
    sessions = sum(
        1 for i in incidents for s in (i.get("sessions") or {}).values()
        if _within(s.get("held_at"), period)
    )  # fmt: skip
    return {
        "total": len(counted),
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "by_group": {g: sum(1 for i in counted if i.get("group") == g) for g in GROUPS},
        "by_severity": {s: sum(1 for i in counted if i.get("severity") == s) for s in SEVERITIES},
        "by_category": dict(sorted(Counter(i.get("category", "") for i in counted).items())),
        "ba_khong": sum(1 for i in counted if i.get("ba_khong")),
        "reopened": sum(1 for i in counted if reopened(i)),
        "deadlines_missed": sum(1 for i in counted if i.get("deadlines_missed")),
        "handed_to_police": sum(1 for i in counted if (i.get("police") or {}).get("handed_at")),
        "time_to_acknowledge_minutes": _durations(ack),
        "time_to_resolve_minutes": _durations(resolve),
        "mediation": {
            "sessions": sessions,
            "agreement": concluded.get("agreement", 0),
            "no_agreement": concluded.get("no_agreement", 0),
        },
    }


def programme_year(period: Period) -> int:
    """The programme (pledge) year a period counts households for: its last day's year."""
    return period.last_day.year


def household_figures(households: list[Document], period: Period) -> Document:
    """Households registered and not dissolved on the period's last day, and those of them
    with a pledge for the period's programme year."""
    active = [h for h in households if active_on(h, period.last_day)]
    year = programme_year(period)
    pledged = [h for h in active if any(p.get("year") == year for p in h.get("pledges") or [])]
    return {
        "active": len(active),
        "pledged": len(pledged),
        "pledge_ratio": round(len(pledged) / len(active), 4) if active else None,
        "programme_year": year,
    }


def _day(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else None


def _member_on(member: Document, day: date) -> bool:
    since, until = _day(member.get("valid_from")), _day(member.get("valid_to"))
    return (since is None or since <= day) and (until is None or until >= day)


def team_figures(teams: list[Document], period: Period) -> Document:
    """Teams active in the period, by kind; members on its last day; shifts started in it."""
    first, last = period.first_day, period.last_day
    by_kind: dict[str, Document] = {}
    for team in teams:
        since, until = _day(team.get("valid_from")), _day(team.get("valid_to"))
        if (since and since > last) or (until and until < first):
            continue
        members = sum(1 for m in team.get("members") or [] if _member_on(m, last))
        shifts = sum(
            1 for s in (team.get("shifts") or {}).values() if _within(s.get("starts_at"), period)
        )
        kind = by_kind.setdefault(team.get("kind", ""), {"teams": 0, "members": 0, "shifts": 0})
        kind["teams"] += 1
        kind["members"] += members
        kind["shifts"] += shifts
    return {
        "teams": sum(k["teams"] for k in by_kind.values()),
        "members": sum(k["members"] for k in by_kind.values()),
        "by_kind": dict(sorted(by_kind.items())),
    }


def alert_figures(alerts: list[Document], period: Period) -> Document:
    """Alerts raised in the period: by CAP status, reach, drill response times."""
    raised = [
        a for a in alerts if a.get("msg_type") == "Alert" and _within(a.get("sent_at"), period)
    ]
    reach = [a.get("reach") or {} for a in raised]
    recipients = sum(r.get("recipients", 0) for r in reach)
    delivered = sum(r.get("delivered", 0) for r in reach)
    acknowledged = sum(r.get("acknowledged", 0) for r in reach)
    drills = [
        _minutes(a["sent_at"], a["reach"]["first_ack_at"]) for a in raised
        if a.get("cap_status") == "Exercise" and (a.get("reach") or {}).get("first_ack_at")
    ]  # fmt: skip
    statuses = Counter(a.get("cap_status") for a in raised)
    return {
        "raised": len(raised),
        "by_cap_status": {s: statuses.get(s, 0) for s in ("Actual", "Exercise", "Test")},
        "recipients": recipients,
        "delivered": delivered,
        "acknowledged": acknowledged,
        "reach": round(delivered / recipients, 4) if recipients else None,
        "drill_response_minutes": _durations(drills),
    }


def hotspot_figures(hotspots: list[Document], period: Period) -> Document:
    """Standing hotspots whose episode (from the incident that made it one to its last
    incident) touches the period, by category (``service.hotspots`` finds and stores them)."""
    touching = [
        h for h in hotspots
        if _aware(h["started_at"]) < period.end and _aware(h["last_at"]) >= period.start
    ]  # fmt: skip
    return {
        "total": len(touching),
        "by_category": dict(sorted(Counter(h["category"] for h in touching).items())),
    }


async def _load(model: ReadModel, collection: str, field: str, ids: list[str]) -> list[Document]:
    # In look-ups of at most LOOKUP_IDS values: the embedded server uses the index for those.
    found: list[Document] = []
    for start in range(0, len(ids), LOOKUP_IDS):
        chunk = ids[start : start + LOOKUP_IDS]
        found.extend([d async for d in model[collection].find({field: {"$in": chunk}})])
    return found


@dataclass(frozen=True)
class Loaded:
    """The documents of a subtree that figures are computed from."""

    incidents: list[Document]
    households: list[Document]
    teams: list[Document]
    alerts: list[Document]
    hotspots: list[Any]


async def load(model: ReadModel, ids: list[str], group: str | None) -> Loaded:
    """Read the subtree's documents once (FerretDB decodes each one: the cost of a figure)."""
    incidents = await _load(model, INCIDENTS, "hamlet_id", ids)
    if group is not None:
        incidents = [i for i in incidents if i.get("group") == group]
    wanted = set(ids)
    return Loaded(
        incidents=incidents,
        households=await _load(model, HOUSEHOLDS, "unit_id", ids),
        teams=await _load(model, TEAMS, "unit_id", ids),
        alerts=[
            a
            async for a in model[ALERTS].find({})
            if wanted.intersection(a.get("hamlet_ids") or [])
        ],
        hotspots=await Hotspots(model.db).of_hamlets(ids, active_only=True, group=group),
    )


def compute(loaded: Loaded, period: Period) -> Document:
    """Every figure of the period from loaded documents, beside the same period a year earlier."""
    previous = periods.previous_year(period)
    now: Document = {}
    before: Document = {}
    for name, figure, docs in (
        ("incidents", incident_figures, loaded.incidents),
        ("households", household_figures, loaded.households),
        ("teams", team_figures, loaded.teams),
        ("alerts", alert_figures, loaded.alerts),
        ("hotspots", hotspot_figures, loaded.hotspots),
    ):
        now[name] = figure(docs, period)
        before[name] = figure(docs, previous)
    paired: Document = beside(now, before)
    return paired


async def figures(model: ReadModel, scope: Scope) -> Document:
    """Every figure of the scope's period, each beside the same period a year earlier."""
    return compute(await load(model, scope.unit_ids, scope.group), scope.period)


def beside(current: Any, previous: Any) -> Any:
    """Pair two trees of figures leaf by leaf: ``{"current": a, "previous": b}``.

    A key present in only one of them (a category seen only this year) is paired with 0.
    """
    if isinstance(current, dict) or isinstance(previous, dict):
        left = current if isinstance(current, dict) else {}
        right = previous if isinstance(previous, dict) else {}
        return {k: beside(left.get(k, 0), right.get(k, 0)) for k in {**left, **right}}
    return {"current": current, "previous": previous}


@dataclass(frozen=True)
class HamletRow:
    """One hamlet's figures in a unit's table (merged hamlets folded into their successor)."""

    unit_id: str
    name: str
    figures: Document  # as ``figures`` returns: every leaf {"current", "previous"}


def by_hamlet(tree: UnitTree, unit_id: str, period: Period, whole: Loaded) -> list[HamletRow]:
    """The figures of every active hamlet under ``unit_id`` (a hamlet: itself), by name,
    from the subtree's documents (``load``), split by the hamlet each counts under now."""
    unit = tree.get(unit_id)
    hamlets = [unit] if unit.level == "hamlet" else tree.hamlets(unit_id)
    home: dict[str, str] = {}
    for hamlet in hamlets:
        for member in tree.subtree(hamlet.id):
            home[member] = hamlet.id

    def split(docs: list[Any], key: Callable[[Any], list[str]]) -> dict[str, list[Any]]:
        parts: dict[str, list[Any]] = {h.id: [] for h in hamlets}
        for doc in docs:
            for hamlet_id in dict.fromkeys(home[u] for u in key(doc) if u in home):
                parts[hamlet_id].append(doc)
        return parts

    incidents = split(whole.incidents, lambda d: [d.get("hamlet_id", "")])
    households = split(whole.households, lambda d: [d.get("unit_id", "")])
    teams = split(whole.teams, lambda d: [d.get("unit_id", "")])
    alerts = split(whole.alerts, lambda d: list(d.get("hamlet_ids") or []))
    hotspots = split(whole.hotspots, lambda h: [h.get("hamlet_id", "")])
    return [
        HamletRow(
            h.id,
            h.name,
            compute(
                Loaded(
                    incidents[h.id], households[h.id], teams[h.id], alerts[h.id], hotspots[h.id]
                ),
                period,
            ),
        )
        for h in hamlets
    ]


async def incident_rows(
    model: ReadModel, tree: UnitTree, incidents: list[Document], period: Period
) -> list[Document]:
    """The incidents (as ``load`` read them) that occurred in the period, oldest first (no
    personal data: no description, address, place or reporter), each with its category's
    Vietnamese name."""
    categories = await Categories.load(model)
    rows = [dict(i) for i in incidents if _within(i.get("occurred_at"), period)]
    rows.sort(key=lambda i: (_aware(i["occurred_at"]), i["_id"]))
    for row in rows:
        resolved = tree.resolved(row["hamlet_id"])
        row["hamlet_name"] = resolved.name if resolved is not None else row["hamlet_id"]
        row["category_name"] = categories.name_of(row.get("category", "")).vi
        row["acknowledged_at"] = acknowledged_at(row)
        row["resolved_at"] = resolved_at(row)
    return rows
