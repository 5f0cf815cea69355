"""Reading incidents: lists and filters, one incident, its timeline, maps, similar reports."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from binhyen.incidents.domain.incidents import OPEN, Incident, Point
from binhyen.incidents.service.common import Context, is_reporter, load_incident
from binhyen.incidents.service.replicas import unknown_hamlet
from binhyen.incidents.store.incidents import Filters
from binhyen.kit.auth import Principal
from binhyen.kit.problems import Invalid
from binhyen.kit.text import fold

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    """A page of incidents and the cursor of the next one."""

    items: list[Incident]
    next_cursor: str | None


def _cursor(incident: Incident) -> str:
    raw = f"{incident.reported_at.isoformat()}|{incident.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, _, last = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), last
    except (ValueError, binascii.Error) as exc:
        raise Invalid("the cursor is not one this API gave out", field="cursor") from exc


async def list_incidents(
    ctx: Context,
    filters: Filters,
    *,
    principal: Principal,
    under: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Incidents the caller may see, newest report first, a page at a time."""
    if filters.since and filters.until and filters.since >= filters.until:
        raise Invalid("since must be before until", field="since")
    scoped = await _scope(ctx, principal, filters, under)
    if scoped is None:
        return Page([], None)
    if filters.text:
        scoped = replace(scoped, text=fold(filters.text))
    limit = max(1, min(limit, MAX_PAGE))
    items = await ctx.stores.incidents.find(scoped, limit=limit, after=_after(cursor))
    return Page(items, _cursor(items[-1]) if len(items) == limit else None)


async def _scope(
    ctx: Context, principal: Principal, filters: Filters, under: str | None
) -> Filters | None:
    """The filters narrowed to the caller's scope; None if nothing can match."""
    scopes = principal.scopes("incidents:read")
    if scopes is not None and not scopes:
        # No read grant anywhere: a reporter sees only their own reports.
        units = [under] if under else None
        return replace(filters, units=units, reporter_subject=principal.subject)
    own = principal.subject  # one's own reports show wherever they were filed
    if under is None:
        return replace(filters, units=scopes, own_reports_of=own if scopes is not None else None)
    # Within ``under`` and within the caller's grants (either may contain the other).
    return replace(filters, units=[under], scope=scopes)


async def get_incident(ctx: Context, incident_id: str, *, principal: Principal) -> Incident:
    """One incident the caller may see (their own report, or inside their scope)."""
    return await load_incident(ctx, incident_id, principal)


async def duplicates_of(ctx: Context, incident: Incident) -> list[str]:
    """Reports marked as duplicates of this one."""
    return await ctx.stores.incidents.duplicates_of(incident.id)


SIMILAR_RADIUS_M = 500.0
SIMILAR_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class Similar:
    """An open incident like the one about to be reported."""

    incident: Incident
    distance_m: float | None


@dataclass(frozen=True)
class SimilarFound:
    """How many open incidents are like it in the hamlet, and the nearby ones you may read."""

    count: int
    items: list[Similar]


async def similar_incidents(
    ctx: Context,
    *,
    principal: Principal,
    hamlet_id: str,
    category: str,
    occurred_at: datetime,
    location: Point | None,
    radius_m: float = SIMILAR_RADIUS_M,
) -> SimilarFound:
    """Open incidents of the same category near the same place and time, nearest first.

    Everybody who may report in the hamlet learns how many there are in it (hamlet-wide,
    whatever the location: a count per radius would let a resident pin a report down);
    only the ones the caller may read are listed — for a resident, their own reports.
    """
    unit = await ctx.stores.units.get(hamlet_id)
    path = (*unit.ancestor_ids, unit.id) if unit is not None else ()
    if unit is None or not (
        principal.allows("incidents:report", path) or principal.allows("incidents:read", path)
    ):
        raise unknown_hamlet()  # outside the caller's scope: as if it did not exist
    since, until = occurred_at - SIMILAR_WINDOW, occurred_at + SIMILAR_WINDOW
    alike = Filters(categories=[category], statuses=sorted(OPEN), since=since, until=until)
    count = await ctx.stores.incidents.count(replace(alike, units=[unit.id]))
    # Near the same place: the same hamlet, or within the radius across a hamlet border.
    near = [unit.parent_id or unit.id] if location is not None else [unit.id]
    found = await ctx.stores.incidents.find(replace(alike, units=near), limit=MAX_PAGE)
    result: list[Similar] = []
    for incident in found:
        if not (
            principal.allows("incidents:read", incident.unit_path)
            or is_reporter(principal, incident)
        ):
            continue  # another resident's report, or one outside the caller's scope
        distance = (
            location.distance_m(incident.location)
            if location is not None and incident.location is not None
            else None
        )
        if distance is not None and distance > radius_m:
            continue
        if distance is None and incident.hamlet_id != unit.id:
            continue
        result.append(Similar(incident, distance))
    items = sorted(
        result,
        key=lambda s: (
            s.distance_m if s.distance_m is not None else radius_m,
            -s.incident.reported_at.timestamp(),
        ),
    )
    return SimilarFound(count, items)
