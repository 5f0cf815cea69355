"""Hotspots: repeated incidents of one category in one hamlet within a window.

A commune wants to hear when, say, three thefts happen in a hamlet within thirty days: that
is a place for a preventive plan task, and criterion 4 of Circular 124/2021 asks that a
hamlet have no drug or social-evil hotspot. The rule (window, how many) is data.

The detection is a pure function of the set of counted incidents, not of the order they
arrived in: projections are fed by Kafka, which may redeliver an event or hand over a batch
out of order, and a hotspot must not be raised twice or missed because of that. So the input
is deduplicated by incident id and sorted by (time, id) before anything is counted, and each
hotspot's id is derived from what it is (hamlet, category, the incident that crossed the
threshold): raising it again after a redelivery is recognisably the same suggestion.

An **episode** starts at the incident with which the count of that hamlet and category within
the window (ending at that incident) first reaches ``min_count``; it goes on while each further
incident keeps that count at or above ``min_count``, and ends at the first incident with which
the count is below it again (a quiet spell). Each episode is one hotspot; it is active until a
window has passed after its last incident.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Occurrence:
    """One counted incident (the projection leaves out rejected ones and duplicates)."""

    incident_id: str
    hamlet_id: str
    category: str
    occurred_at: datetime


@dataclass(frozen=True)
class HotspotRule:
    """``min_count`` incidents of one category in one hamlet within ``window``."""

    window: timedelta
    min_count: int
    categories: frozenset[str] | None = None  # None: every category

    def __post_init__(self) -> None:
        if self.min_count < 2:
            raise ValueError("min_count must be at least 2: one incident is not a repetition")
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")


@dataclass(frozen=True)
class Hotspot:
    """One episode of repeated incidents."""

    hotspot_id: str
    hamlet_id: str
    category: str
    started_at: datetime  # the incident that reached the threshold
    last_at: datetime  # the episode's last incident
    incident_ids: tuple[str, ...] = field(default=())  # every incident of the episode's windows

    def active_at(self, instant: datetime, window: timedelta) -> bool:
        """Whether the hotspot still stands: less than a window since its last incident."""
        return self.started_at <= instant < self.last_at + window


def detect(occurrences: Iterable[Occurrence], rule: HotspotRule) -> list[Hotspot]:
    """Every hotspot episode in these incidents, ordered by start (then hamlet, category)."""
    unique = {o.incident_id: o for o in occurrences}
    series: dict[tuple[str, str], list[Occurrence]] = defaultdict(list)
    for occurrence in unique.values():
        if rule.categories is None or occurrence.category in rule.categories:
            series[(occurrence.hamlet_id, occurrence.category)].append(occurrence)
    found: list[Hotspot] = []
    for (hamlet_id, category), items in series.items():
        items.sort(key=lambda o: (o.occurred_at, o.incident_id))
        found.extend(_episodes(hamlet_id, category, items, rule))
    found.sort(key=lambda h: (h.started_at, h.hamlet_id, h.category))
    return found


def _episodes(
    hamlet_id: str, category: str, items: list[Occurrence], rule: HotspotRule
) -> list[Hotspot]:
    episodes: list[Hotspot] = []
    window: deque[Occurrence] = deque()
    current: tuple[Occurrence, list[str]] | None = None  # (crossing incident, incidents)
    last: Occurrence | None = None
    for item in items:
        window.append(item)
        while item.occurred_at - window[0].occurred_at >= rule.window:
            window.popleft()
        if len(window) >= rule.min_count:
            if current is None:
                current = (item, [o.incident_id for o in window])
            else:
                current[1].append(item.incident_id)
            last = item
        elif current is not None:
            episodes.append(_hotspot(hamlet_id, category, current, last))
            current = None
    if current is not None:
        episodes.append(_hotspot(hamlet_id, category, current, last))
    return episodes


def _hotspot(
    hamlet_id: str,
    category: str,
    current: tuple[Occurrence, list[str]],
    last: Occurrence | None,
) -> Hotspot:
    crossing, ids = current
    assert last is not None
    return Hotspot(
        hotspot_id=f"{hamlet_id}:{category}:{crossing.incident_id}",
        hamlet_id=hamlet_id,
        category=category,
        started_at=crossing.occurred_at,
        last_at=last.occurred_at,
        incident_ids=tuple(ids),
    )
