"""The facts of one hamlet for one evaluation year, read from the current read model.

What each field holds (``domain.facts`` says what the computations need):

- the hamlet's enrolments (registry enrolments of the hamlet itself);
- households: those of the hamlet's history (merged hamlets included) registered and not
  dissolved on the evaluation year's last day (``service.households.active_on``; a household
  whose days the registry never announced counts as it stands now), and those with a pledge
  for the year;
- incidents of the hamlet's history: each with its reopen times and its open spells, rebuilt
  from its transitions (open from the report; closed by a transition into resolved,
  rejected or duplicate; opened again by a reopen);
- teams of the hamlet (and of merged hamlets) with their memberships (a stand-in key per
  member, never the person) and activities: duty shifts, incidents assigned to the team (at
  the first assignment), and mediation sessions of the hamlet's incidents — counted for the
  team they were assigned to and for the hamlet's mediation teams, which hold them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from binhyen.reporting.domain.facts import (
    Activity,
    DaySpan,
    Enrolment,
    Hamlet,
    HamletFacts,
    Incident,
    Membership,
    OpenSpell,
    Team,
)
from binhyen.reporting.domain.periods import Period
from binhyen.reporting.projections import ENROLMENTS, HOUSEHOLDS, INCIDENTS, TEAMS
from binhyen.reporting.service.categories import Categories
from binhyen.reporting.service.households import active_on
from binhyen.reporting.service.units import UnitTree
from binhyen.reporting.store import ReadModel

Document = dict[str, Any]
CLOSED = frozenset({"resolved", "rejected", "duplicate"})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _transitions(doc: Document) -> list[Document]:
    """The incident's transitions in the order they happened (entry number breaks ties)."""
    entries = [
        (int(key[1:]) if key[1:].isdigit() else 0, t)
        for key, t in (doc.get("transitions") or {}).items()
    ]
    entries.sort(key=lambda e: (_aware(e[1]["at"]), e[0]))
    return [t for _, t in entries]


def incident(doc: Document) -> Incident:
    """An incident of the read model as the computations read it."""
    reported = _aware(doc["reported_at"])
    spells: list[OpenSpell] = []
    opened: datetime | None = reported
    reopens: list[datetime] = []
    for t in _transitions(doc):
        at = _aware(t["at"])
        if t.get("to") in CLOSED and opened is not None:
            spells.append(OpenSpell(opened, max(at, opened)))
            opened = None
        elif t.get("action") == "reopen":
            reopens.append(at)
            if opened is None:
                opened = at
    if opened is not None:
        spells.append(OpenSpell(opened, None))
    return Incident(
        id=doc["_id"],
        category=doc.get("category", ""),
        group=doc.get("group", "other"),
        severity=doc.get("severity", "low"),
        status=doc.get("status", "reported"),
        occurred_at=_aware(doc["occurred_at"]),
        reported_at=reported,
        reopened_at=tuple(reopens),
        open_spells=tuple(spells),
    )


def _first_assignment(doc: Document) -> datetime | None:
    times = [_aware(t["at"]) for t in _transitions(doc) if t.get("action") == "assign"]
    return min(times) if times else None


def team(doc: Document, incidents: list[Document]) -> Team:
    """A team of the read model with its memberships and activities."""
    since = doc.get("valid_from")
    until = doc.get("valid_to")
    first = since.date() if isinstance(since, datetime) else datetime(2000, 1, 1).date()
    last = until.date() if isinstance(until, datetime) else None
    members = tuple(
        Membership(
            person_id=m.get("member") or f"{doc['_id']}:{i}",
            valid=DaySpan(
                m["valid_from"].date() if isinstance(m.get("valid_from"), datetime) else first,
                m["valid_to"].date() if isinstance(m.get("valid_to"), datetime) else None,
            ),
        )
        for i, m in enumerate(doc.get("members") or [])
    )
    activities: list[Activity] = [
        Activity("shift", shift_id, _aware(s["starts_at"]))
        for shift_id, s in (doc.get("shifts") or {}).items()
    ]
    for inc in incidents:
        mine = inc.get("team_id") == doc["_id"]
        if mine and (at := _first_assignment(inc)) is not None:
            activities.append(Activity("incident_assigned", inc["_id"], at))
        if mine or doc.get("kind") == "mediation":
            activities.extend(
                Activity("mediation_session", session_id, _aware(s["held_at"]))
                for session_id, s in (inc.get("sessions") or {}).items()
            )
    return Team(
        id=doc["_id"],
        kind=doc.get("kind", "people_security"),
        active=(DaySpan(first, last if last is None or last >= first else first),),
        members=members,
        activities=tuple(activities),
    )


TEAM_KINDS = frozenset({"self_management", "people_security", "mediation", "youth_shock_troop"})


async def hamlet_facts(model: ReadModel, tree: UnitTree, hamlet_id: str, year: int) -> HamletFacts:
    """Everything the computed checks read about the hamlet for evaluation year ``year``."""
    unit = tree.get(hamlet_id)
    ids = tree.subtree(hamlet_id)
    enrolments = [
        Enrolment(
            id=d["_id"],
            year=int(d["year"]),
            registered_on=d["registered_on"].date(),
            resolution_date=d["resolution_date"].date(),
            status=d.get("status", "registered"),
        )
        async for d in model[ENROLMENTS].find({"unit_id": hamlet_id})
    ]
    active: set[str] = set()
    pledged: set[str] = set()
    last_day = Period.evaluation_year(year).last_day
    async for h in model[HOUSEHOLDS].find({"unit_id": {"$in": ids}}):
        if active_on(h, last_day):
            active.add(h["_id"])
        if any(p.get("year") == year for p in h.get("pledges") or []):
            pledged.add(h["_id"])
    incident_docs = [d async for d in model[INCIDENTS].find({"hamlet_id": {"$in": ids}})]
    incidents = tuple(incident(d) for d in incident_docs if d.get("reported_at"))
    teams = tuple(
        [
            team(d, incident_docs)
            async for d in model[TEAMS].find({"unit_id": {"$in": ids}})
            if d.get("kind") in TEAM_KINDS
        ]
    )
    categories = await Categories.load(model)
    return HamletFacts(
        category_names=tuple(
            (code, name.vi, name.en) for code, name in sorted(categories.known.items())
        ),
        hamlet=Hamlet(unit.id, unit.path),
        year=year,
        enrolments=tuple(enrolments),
        active_households=frozenset(active),
        pledged_households=frozenset(pledged),
        incidents=incidents,
        teams=teams,
    )
