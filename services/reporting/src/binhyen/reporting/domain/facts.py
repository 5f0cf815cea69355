"""What the yearly evaluation judges a hamlet on: the facts of one hamlet for one evaluation year.

The service fills these from its projections; the computed checks (``computations``) read
nothing else. They are plain frozen dataclasses in the domain's words, holding ids, dates and
times only: no name, address or free text of anyone, so a result and its evidence can be shown
and logged without personal data.

Times are UTC instants (aware ``datetime``), as events carry them; days (``date``) are local
days in Vietnam (Asia/Ho_Chi_Minh), as the registry records them. ``local_day`` turns an
instant into its local day.

**What to supply.** The computations filter by time themselves, so giving more than needed is
harmless; giving less makes a check wrong. For evaluation year N (``year``):

- ``enrolments``: the hamlet's enrolments, at least the one of year N (any status).
- ``active_households``: ids of the hamlet's households active on the last day judged (the
  period's last day, or today while the year runs): registered by then, and not dissolved or
  moved away by then. Empty means the registry holds no household of the hamlet: the
  household check is then pending, not met or failed.
- ``pledged_households``: ids of the hamlet's households with a pledge for year N (``year`` of
  the pledge), whatever their state; only those also in ``active_households`` count.
- ``incidents``: every incident of the hamlet whose ``occurred_at`` lies in year N or year N-1,
  and every dispute of the hamlet that was open at some time during year N (it may have been
  reported earlier), rejected and duplicate ones included (the computations leave them out).
- ``teams``: every team of the hamlet that existed at some time during year N, of any kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from binhyen.reporting.domain.computations import IncidentGroup, Severity, TeamKind
from binhyen.reporting.domain.periods import LOCAL

EnrolmentStatus = Literal["registered", "withdrawn"]
IncidentStatus = Literal[
    "reported",
    "acknowledged",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
    "duplicate",
    "escalated",
    "reopened",
]
ActivityKind = Literal["shift", "incident_assigned", "mediation_session"]

NOT_COUNTED: frozenset[IncidentStatus] = frozenset({"rejected", "duplicate"})
"""Incidents in these states are not counted by any check: not a real case, or counted once."""


def local_day(instant: datetime) -> date:
    """The local day (Asia/Ho_Chi_Minh) an instant falls on."""
    return _aware(instant, "instant").astimezone(LOCAL).date()


def _aware(instant: datetime, what: str) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError(f"{what} needs a time zone (UTC)")
    return instant


@dataclass(frozen=True)
class Hamlet:
    """The hamlet judged."""

    id: str
    unit_path: tuple[str, ...]  # the unit's ancestors, root first, then the hamlet itself


@dataclass(frozen=True)
class Enrolment:
    """A hamlet's registration to strive for the standard in one year (registry enrolment)."""

    id: str  # the registry's enrolment id, '<hamlet id>:<year>'
    year: int
    registered_on: date  # local day the hamlet registered
    resolution_date: date  # local day the Party cell adopted its resolution
    status: EnrolmentStatus  # its current status


@dataclass(frozen=True)
class OpenSpell:
    """A run of time during which an incident was open, from ``opened_at`` to ``closed_at``.

    Open means any status but resolved, rejected and duplicate: a case handed to the police
    (escalated) is not settled. The first spell starts when the incident was reported; each
    reopening from a closed status starts another. ``closed_at`` is None while it is open.
    """

    opened_at: datetime
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.opened_at, "opened_at")
        if self.closed_at is not None and _aware(self.closed_at, "closed_at") < self.opened_at:
            raise ValueError("an open spell cannot close before it opens")


@dataclass(frozen=True)
class Incident:
    """An incident of the hamlet as the incidents projection holds it (its latest state)."""

    id: str
    category: str  # category code, e.g. "drugs"
    group: IncidentGroup
    severity: Severity
    status: IncidentStatus  # current status
    occurred_at: datetime  # when it happened: what places it in a year
    reported_at: datetime
    reopened_at: tuple[datetime, ...] = ()  # every "reopen" transition, in any order
    open_spells: tuple[OpenSpell, ...] = ()  # every spell, in any order; needed for disputes

    def __post_init__(self) -> None:
        _aware(self.occurred_at, "occurred_at")
        _aware(self.reported_at, "reported_at")
        for instant in self.reopened_at:
            _aware(instant, "reopened_at")

    @property
    def rejected(self) -> bool:
        """The report was rejected (not a real case)."""
        return self.status == "rejected"

    @property
    def duplicate(self) -> bool:
        """The report duplicates another incident, which is the one counted."""
        return self.status == "duplicate"

    @property
    def counted(self) -> bool:
        """Whether the checks count this incident at all."""
        return self.status not in NOT_COUNTED


@dataclass(frozen=True)
class DaySpan:
    """Local days from ``first_day`` to ``last_day``, both included; ``None``: no end yet."""

    first_day: date
    last_day: date | None = None

    def __post_init__(self) -> None:
        if self.last_day is not None and self.last_day < self.first_day:
            raise ValueError("a span of days cannot end before it starts")

    def holds(self, day: date) -> bool:
        """Whether ``day`` lies in the span."""
        return self.first_day <= day and (self.last_day is None or day <= self.last_day)


@dataclass(frozen=True)
class Membership:
    """A resident's membership of a team, valid on the days of ``valid``."""

    person_id: str  # the registry's person id (an id only; a person counts once per day)
    valid: DaySpan


@dataclass(frozen=True)
class Activity:
    """One recorded activity of a team, counted once per (kind, id).

    - ``shift``: a duty shift of the team's roster; ``id`` the shift id, ``at`` its start.
    - ``incident_assigned``: an incident assigned to the team (or to a member through it);
      ``id`` the incident id, ``at`` the assignment (first assignment to this team).
    - ``mediation_session``: a mediation session held on an incident assigned to the team;
      ``id`` the session id, ``at`` when it was held.
    """

    kind: ActivityKind
    id: str
    at: datetime

    def __post_init__(self) -> None:
        _aware(self.at, "at")


@dataclass(frozen=True)
class Team:
    """A grassroots team of the hamlet with its memberships and recorded activities."""

    id: str
    kind: TeamKind
    active: tuple[DaySpan, ...]  # the days it existed (founded .. disbanded), usually one span
    members: tuple[Membership, ...] = ()  # every membership, past, current and future
    activities: tuple[Activity, ...] = ()  # at least those of the evaluation year

    def active_on(self, day: date) -> bool:
        """Whether the team existed (was not disbanded) on ``day``."""
        return any(span.holds(day) for span in self.active)

    def members_on(self, day: date) -> int:
        """How many distinct residents were members on ``day``."""
        return len({m.person_id for m in self.members if m.valid.holds(day)})


@dataclass(frozen=True)
class HamletFacts:
    """Everything the computed checks read about one hamlet for evaluation year ``year``."""

    hamlet: Hamlet
    year: int  # the evaluation year N (1 November N-1 to 31 October N under Circular 124)
    enrolments: tuple[Enrolment, ...] = ()
    active_households: frozenset[str] = frozenset()
    pledged_households: frozenset[str] = frozenset()
    incidents: tuple[Incident, ...] = ()
    teams: tuple[Team, ...] = ()
    # (code, Vietnamese name, English name) of the categories the catalogue announced.
    category_names: tuple[tuple[str, str, str], ...] = ()

    def category_name(self, code: str) -> tuple[str, str]:
        """A category's names as a sentence uses them (lower case); an unknown code: itself."""
        for known, vi, en in self.category_names:
            if known == code:
                return vi[:1].lower() + vi[1:], en.lower()
        words = code.replace("_", " ")
        return words, words
