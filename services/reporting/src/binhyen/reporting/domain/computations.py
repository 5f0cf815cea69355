"""The catalogue of computed checks a rule set may name, with the parameters each one takes.

A rule set is data an administrator can replace, but what the evaluation can compute from the
projections is code. This catalogue is the contract between the two: a computed check names
one entry and gives its thresholds; the loader refuses any other name or a bad parameter.
Each entry's description says exactly what its function computes over a hamlet's facts
(``facts.HamletFacts``); the function is beside it, and returns a ``CheckResult``: the outcome,
what was measured and the threshold in words (Vietnamese and English), and the evidence by id.

Common rules of every computation:

- Time: the evaluation year is a run of local days (Asia/Ho_Chi_Minh); an instant belongs to
  the local day it falls on. While the year runs, it is judged **so far**: instants up to now,
  days up to today (``Span``). "The last day judged" is the period's last day, or today if
  earlier.
- Incidents are placed in time by ``occurred_at`` (when it happened, as statistics and
  hotspots count them, not when it was reported); rejected and duplicate incidents are never
  counted.
- Outcome: ``met`` or ``not_met``; ``pending`` only when the facts cannot decide yet: no
  household of the hamlet is recorded, or the deadline of the enrolment has not passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from binhyen.reporting.domain.hotspots import HotspotRule, Occurrence, detect
from binhyen.reporting.domain.periods import LOCAL, Period, display_date, previous_year

if TYPE_CHECKING:  # facts.py takes its vocabulary (groups, severities, kinds) from here
    from binhyen.reporting.domain.facts import HamletFacts, Incident

# The incidents service's category groups and severities, repeated here because services never
# import each other: the rule set names them, the projections will carry them.
IncidentGroup = Literal["crime", "social_evil", "traffic", "dispute", "fire", "other"]
Severity = Literal["low", "medium", "high", "critical"]
# The registry's kinds of grassroots team (tổ, đội), for the same reason.
TeamKind = Literal["self_management", "people_security", "mediation", "youth_shock_troop"]
CategoryCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise ValueError("a value is listed twice")
    return values


# A non-empty list without repeats: a repeated group or category is a slip, not a weight.
Groups = Annotated[tuple[IncidentGroup, ...], Field(min_length=1), AfterValidator(_distinct)]
Categories = Annotated[tuple[CategoryCode, ...], Field(min_length=1), AfterValidator(_distinct)]


class Parameters(BaseModel):
    """Base of every parameter model: frozen, and a misspelt parameter is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EnrolmentRegistered(Parameters):
    """Parameters of ``enrolment_registered``."""

    by_month: int = Field(ge=1, le=12, description="registered by the end of this month (3: Q1)")


class HouseholdRegistrationRatio(Parameters):
    """Parameters of ``household_registration_ratio``."""

    min_ratio: float = Field(gt=0, le=1, description="share of resident households, 1.0 = 100%")


class ProlongedDisputes(Parameters):
    """Parameters of ``prolonged_disputes``."""

    max_open_days: int = Field(ge=1, le=366, description="a dispute open longer is prolonged")
    reopened_is_prolonged: bool = Field(description="a reopened dispute counts as prolonged")


class IncidentsComparedWithPreviousYear(Parameters):
    """Parameters of ``incidents_compared_with_previous_year``."""

    groups: Groups
    compare: Literal["lower_than_previous_year", "not_higher_than_previous_year"]
    pass_when_none: bool = Field(description="none in either year meets the check")


class SeriousIncidents(Parameters):
    """Parameters of ``serious_incidents``."""

    groups: Groups
    min_severity: Severity = Field(description="this severity or above is serious")


class IncidentHotspot(Parameters):
    """Parameters of ``incident_hotspot``."""

    categories: Categories = Field(description="incident category codes, e.g. drugs")
    min_incidents: int = Field(ge=2, le=1000, description="this many make a hotspot")
    window_days: int = Field(ge=1, le=366, description="within any window of this many days")


class TeamActive(Parameters):
    """Parameters of ``team_active``."""

    team_kind: TeamKind
    min_members: int = Field(ge=1, le=100)
    min_activities: int = Field(ge=0, le=1000, description="recorded in the evaluation year")


# -- results -----------------------------------------------------------------------------------

Outcome = Literal["met", "not_met", "pending"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # in rising order
MAX_EVIDENCE_IDS = 50
"""Evidence names at most this many records by id; its ``count`` says how many there are."""

EvidenceKind = Literal[
    "enrolment",  # the hamlet's enrolment(s) for the year
    "households_without_pledge",  # active households with no pledge for the year
    "disputes_open_too_long",
    "disputes_reopened",
    "incidents",  # counted in the year (so far)
    "incidents_previous_year",  # counted in the same days of the year before
    "serious_incidents",
    "hotspot",  # the incidents of one hotspot episode
    "team",  # one team of the kind asked for; ``note`` gives its members and activities
]


@dataclass(frozen=True)
class Words:
    """A short text in Vietnamese and English."""

    vi: str
    en: str


@dataclass(frozen=True)
class Evidence:
    """Records behind a result, by id only (never a name or an address)."""

    kind: EvidenceKind
    count: int  # how many records, even beyond the ids listed
    ids: tuple[str, ...]  # sorted; the first MAX_EVIDENCE_IDS
    note: Words | None = None


@dataclass(frozen=True)
class CheckResult:
    """The judgement of one check: outcome, what was measured, the threshold, the evidence."""

    outcome: Outcome
    measured: Words
    threshold: Words
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Span:
    """The part of an evaluation year that is judged: its days so far, its instants so far."""

    period: Period  # every day of the evaluation year
    cutoff: datetime  # instants before it count: now, or the period's end if that is earlier

    @classmethod
    def of(cls, period: Period, now: datetime) -> Span:
        """The span of ``period`` judged at ``now`` (which must not be before it starts)."""
        if now.utcoffset() is None:
            raise ValueError("now needs a time zone (UTC)")
        if now < period.start:
            raise ValueError(f"the period starts on {period.first_day}, after now")
        return cls(period, min(now, period.end))

    @property
    def start(self) -> datetime:
        """The first instant judged (local midnight before the first day)."""
        return self.period.start

    @property
    def through(self) -> date:
        """The last day judged: the period's last day, or today if earlier."""
        if self.cutoff >= self.period.end:
            return self.period.last_day
        return self.cutoff.astimezone(LOCAL).date()

    @property
    def complete(self) -> bool:
        """Whether the whole period is judged (it has ended)."""
        return self.cutoff >= self.period.end

    def holds(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the span."""
        return self.start <= instant < self.cutoff

    def previous(self) -> Period:
        """The same days a year earlier (the whole previous year once this one has ended)."""
        return previous_year(Period.custom(self.period.first_day, self.through))


# -- the computations --------------------------------------------------------------------------


def enrolment_registered(
    parameters: EnrolmentRegistered, facts: HamletFacts, span: Span
) -> CheckResult:
    """C1: the hamlet registered for the year by the end of month ``by_month``."""
    deadline = Period.month(facts.year, parameters.by_month).last_day
    threshold = Words(
        vi=f"Đăng ký chậm nhất ngày {_vi(deadline)}", en=f"Registered by {_en(deadline)}"
    )
    mine = [e for e in facts.enrolments if e.year == facts.year]
    evidence = (_evidence("enrolment", (e.id for e in mine)),) if mine else ()
    registered = sorted(
        (e for e in mine if e.status == "registered"), key=lambda e: e.registered_on
    )
    if registered:
        day = registered[0].registered_on
        if day <= deadline:
            measured = Words(vi=f"Đăng ký ngày {_vi(day)}", en=f"Registered on {_en(day)}")
            return CheckResult("met", measured, threshold, evidence)
        late = Words(vi=f"Đăng ký muộn, ngày {_vi(day)}", en=f"Registered late, on {_en(day)}")
        return CheckResult("not_met", late, threshold, evidence)
    if span.through <= deadline:
        measured = Words(
            vi=f"Chưa đăng ký (còn hạn đến {_vi(deadline)})",
            en=f"Not registered yet (possible until {_en(deadline)})",
        )
        return CheckResult("pending", measured, threshold, evidence)
    if mine:
        measured = Words(vi="Đã rút đăng ký", en="The enrolment was withdrawn")
    else:
        measured = Words(vi=f"Không đăng ký năm {facts.year}", en=f"No enrolment for {facts.year}")
    return CheckResult("not_met", measured, threshold, evidence)


def household_registration_ratio(
    parameters: HouseholdRegistrationRatio, facts: HamletFacts, span: Span
) -> CheckResult:
    """C1: the share of active households with a pledge for the year is at least ``min_ratio``."""
    minimum = Fraction(str(parameters.min_ratio))  # the decimal written, not its binary float
    threshold = Words(
        vi=f"Ít nhất {_percent(minimum, 'vi')}% hộ đang cư trú",
        en=f"At least {_percent(minimum, 'en')}% of resident households",
    )
    active = facts.active_households
    if not active:
        measured = Words(
            vi="Chưa có hộ gia đình nào của thôn trong sổ",
            en="No household of the hamlet is recorded",
        )
        return CheckResult("pending", measured, threshold)
    missing = active - facts.pledged_households
    pledged, total = len(active) - len(missing), len(active)
    ratio = Fraction(pledged, total)
    measured = Words(
        vi=f"{pledged}/{total} hộ có bản cam kết ({_percent(ratio, 'vi')}%)",
        en=f"{pledged} of {total} households pledged ({_percent(ratio, 'en')}%)",
    )
    outcome: Outcome = "met" if ratio >= minimum else "not_met"
    evidence = (_evidence("households_without_pledge", missing),) if missing else ()
    return CheckResult(outcome, measured, threshold, evidence)


def prolonged_disputes(
    parameters: ProlongedDisputes, facts: HamletFacts, span: Span
) -> CheckResult:
    """C3: no dispute open too long in a row during the year, and (if asked) none reopened."""
    limit = parameters.max_open_days
    disputes = [i for i in facts.incidents if i.counted and i.group == "dispute"]
    runs = {i.id: _longest_run(i, span) for i in disputes}
    too_long = [i for i, days in runs.items() if days is not None and days > limit]
    reopened = (
        [i.id for i in disputes if any(span.holds(t) for t in i.reopened_at)]
        if parameters.reopened_is_prolonged
        else []
    )
    longest = max((d for d in runs.values() if d is not None), default=None)
    vi, en = f"{len(too_long)} vụ mở quá {limit} ngày", f"{len(too_long)} open over {limit} days"
    if parameters.reopened_is_prolonged:
        vi, en = f"{vi}, {len(reopened)} vụ bị mở lại", f"{en}, {len(reopened)} reopened"
    if longest is None:
        vi, en = f"{vi}; không có vụ nào mở trong năm", f"{en}; none open in the year"
    else:
        vi, en = f"{vi}; lâu nhất {longest} ngày", f"{en}; longest {longest} days"
    threshold = Words(
        vi=f"Không vụ tranh chấp nào mở quá {limit} ngày liên tục",
        en=f"No dispute open more than {limit} days in a row",
    )
    if parameters.reopened_is_prolonged:
        threshold = Words(
            vi=f"{threshold.vi}; không vụ nào bị mở lại", en=f"{threshold.en}; none reopened"
        )
    found: tuple[tuple[EvidenceKind, list[str]], ...] = (
        ("disputes_open_too_long", too_long),
        ("disputes_reopened", reopened),
    )
    evidence = tuple(_evidence(kind, ids) for kind, ids in found if ids)
    outcome: Outcome = "not_met" if too_long or reopened else "met"
    return CheckResult(outcome, Words(vi, en), threshold, evidence)


def _longest_run(incident: Incident, span: Span) -> int | None:
    """The longest open spell of the incident that overlaps the span, in local days.

    A spell counts from the local day it opened (even before the period) to the local day it
    closed, or the last day judged if it closed later or is still open; None if no spell
    overlaps the span.
    """
    longest: int | None = None
    for spell in incident.open_spells:
        closed = spell.closed_at
        if spell.opened_at >= span.cutoff or (closed is not None and closed <= span.start):
            continue
        last = span.through if closed is None else min(_day(closed), span.through)
        days = (last - _day(spell.opened_at)).days
        longest = days if longest is None else max(longest, days)
    return longest


def incidents_compared_with_previous_year(
    parameters: IncidentsComparedWithPreviousYear, facts: HamletFacts, span: Span
) -> CheckResult:
    """C4: incidents of the groups in the year so far against the same days a year earlier."""
    groups = set(parameters.groups)
    previous = span.previous()
    counted = [i for i in facts.incidents if i.counted and i.group in groups]
    now = [i.id for i in counted if span.holds(i.occurred_at)]
    before = [i.id for i in counted if previous.start <= i.occurred_at < previous.end]
    if not now and not before:
        outcome: Outcome = "met" if parameters.pass_when_none else "not_met"
    elif parameters.compare == "lower_than_previous_year":
        outcome = "met" if len(now) < len(before) else "not_met"
    else:
        outcome = "met" if len(now) <= len(before) else "not_met"
    year_vi, year_en = (
        ("năm trước", "the previous year")
        if span.complete
        else ("cùng kỳ năm trước", "the same days of the previous year")
    )
    measured = Words(
        vi=f"{len(now)} vụ, {year_vi} {len(before)} vụ",
        en=f"{_many(len(now), 'incident')}, {len(before)} in {year_en}",
    )
    names_vi, names_en = _groups(parameters.groups)
    if parameters.compare == "lower_than_previous_year":
        vi, en = f"Ít hơn {year_vi}", f"Fewer than {year_en}"
    else:
        vi, en = f"Không nhiều hơn {year_vi}", f"No more than {year_en}"
    if parameters.pass_when_none:
        vi, en = f"{vi}, hoặc không có vụ nào cả hai năm", f"{en}, or none in either year"
    threshold = Words(vi=f"Số vụ {names_vi}: {vi.lower()}", en=f"Incidents of {names_en}: {en}")
    found: tuple[tuple[EvidenceKind, list[str]], ...] = (
        ("incidents", now),
        ("incidents_previous_year", before),
    )
    evidence = tuple(_evidence(kind, ids) for kind, ids in found if ids)
    return CheckResult(outcome, measured, threshold, evidence)


def serious_incidents(parameters: SeriousIncidents, facts: HamletFacts, span: Span) -> CheckResult:
    """C4: no incident of the groups of severity ``min_severity`` or above in the year."""
    groups, lowest = set(parameters.groups), SEVERITIES.index(parameters.min_severity)
    serious = [
        i.id
        for i in facts.incidents
        if i.counted
        and i.group in groups
        and SEVERITIES.index(i.severity) >= lowest
        and span.holds(i.occurred_at)
    ]
    names_vi, names_en = _groups(parameters.groups)
    severity_vi = _SEVERITY_VI[parameters.min_severity]
    threshold = Words(
        vi=f"Không có vụ {names_vi} mức {severity_vi} trở lên",
        en=f"No incident of {names_en} of severity {parameters.min_severity} or above",
    )
    measured = Words(
        vi=f"{len(serious)} vụ nghiêm trọng", en=_many(len(serious), "serious incident")
    )
    evidence = (_evidence("serious_incidents", serious),) if serious else ()
    return CheckResult("not_met" if serious else "met", measured, threshold, evidence)


def incident_hotspot(parameters: IncidentHotspot, facts: HamletFacts, span: Span) -> CheckResult:
    """C4: no hotspot of the categories (``hotspots.detect``) within the year."""
    categories = frozenset(parameters.categories)
    counted = {
        i.id: i
        for i in facts.incidents
        if i.counted and i.category in categories and span.holds(i.occurred_at)
    }
    rule = HotspotRule(
        window=timedelta(days=parameters.window_days),
        min_count=parameters.min_incidents,
        categories=categories,
    )
    found = detect(
        (Occurrence(i.id, facts.hamlet.id, i.category, i.occurred_at) for i in counted.values()),
        rule,
    )
    names = [facts.category_name(c) for c in parameters.categories]
    names_vi, names_en = ", ".join(n[0] for n in names), ", ".join(n[1] for n in names)
    threshold = Words(
        vi=f"Không có {parameters.min_incidents} vụ {names_vi} trở lên trong "
        f"{parameters.window_days} ngày",
        en=f"Never {parameters.min_incidents} or more incidents of {names_en} within "
        f"{parameters.window_days} days",
    )
    measured = (
        Words(vi=f"{len(found)} tụ điểm", en=_many(len(found), "hotspot"))
        if found
        else Words(vi="Không có tụ điểm", en="No hotspot")
    )
    evidence = []
    for hotspot in found:
        days = sorted(_day(counted[i].occurred_at) for i in hotspot.incident_ids)
        name_vi, name_en = facts.category_name(hotspot.category)
        note = Words(
            vi=f"{len(days)} vụ {name_vi} từ {_vi(days[0])} đến {_vi(days[-1])}",
            en=f"{_many(len(days), 'incident')} of {name_en} "
            f"from {_en(days[0])} to {_en(days[-1])}",
        )
        evidence.append(_evidence("hotspot", hotspot.incident_ids, note))
    return CheckResult("not_met" if found else "met", measured, threshold, tuple(evidence))


def team_active(parameters: TeamActive, facts: HamletFacts, span: Span) -> CheckResult:
    """C5: a team of the kind, active with enough members on the last day judged, and busy."""
    day = span.through
    kind_vi, kind_en = _TEAM_KIND[parameters.team_kind]
    threshold = Words(
        vi=f"{kind_vi} có ít nhất {parameters.min_members} thành viên ngày {_vi(day)} "
        f"và ít nhất {parameters.min_activities} hoạt động trong năm",
        en=f"A {kind_en} with at least {parameters.min_members} members on {_en(day)} "
        f"and at least {parameters.min_activities} activities in the year",
    )
    rows = []  # (meets, active, members, activities, team id)
    for team in facts.teams:
        if team.kind != parameters.team_kind:
            continue
        active, members = team.active_on(day), team.members_on(day)
        activities = len({(a.kind, a.id) for a in team.activities if span.holds(a.at)})
        meets = (
            active and members >= parameters.min_members and activities >= parameters.min_activities
        )
        rows.append((meets, active, members, activities, team.id))
    if not rows:
        measured = Words(vi=f"Không có {kind_vi.lower()}", en=f"No {kind_en}")
        return CheckResult("not_met", measured, threshold)
    rows.sort(key=lambda r: (not r[0], not r[1], -r[2], -r[3], r[4]))
    evidence = tuple(
        _evidence(
            "team",
            [team_id],
            Words(
                vi=f"{members} thành viên ngày {_vi(day)}, {activities} hoạt động"
                + ("" if active else f"; không hoạt động ngày {_vi(day)}"),
                en=f"{_many(members, 'member')} on {_en(day)}, {_many(activities, 'activity')}"
                + ("" if active else f"; not active on {_en(day)}"),
            ),
        )
        for _, active, members, activities, team_id in rows
    )
    _, _, members, activities, _ = rows[0]
    measured = Words(
        vi=f"Tổ tốt nhất: {members} thành viên, {activities} hoạt động",
        en=f"Best team: {_many(members, 'member')}, {_many(activities, 'activity')}",
    )
    return CheckResult("met" if rows[0][0] else "not_met", measured, threshold, evidence)


# -- words -------------------------------------------------------------------------------------

_GROUP: dict[str, tuple[str, str]] = {
    "crime": ("tội phạm", "crime"),
    "social_evil": ("tệ nạn xã hội", "social evils"),
    "traffic": ("giao thông", "traffic"),
    "dispute": ("tranh chấp", "disputes"),
    "fire": ("cháy, nổ", "fire"),
    "other": ("khác", "other"),
}
_SEVERITY_VI: dict[str, str] = {
    "low": "thấp",
    "medium": "trung bình",
    "high": "cao",
    "critical": "rất cao",
}
_TEAM_KIND: dict[str, tuple[str, str]] = {
    "self_management": ("Tổ tự quản", "self-management team"),
    "people_security": ("Tổ an ninh nhân dân", "people's security team"),
    "mediation": ("Tổ hòa giải", "mediation team"),
    "youth_shock_troop": ("Đội thanh niên xung kích", "youth shock-troop squad"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _groups(groups: Iterable[str]) -> tuple[str, str]:
    names = [_GROUP[g] for g in groups]
    return ", ".join(vi for vi, _ in names), ", ".join(en for _, en in names)


def _many(count: int, noun: str) -> str:
    """ "1 incident", "2 incidents" ("activity": "activities")."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def day_words(day: date) -> Words:
    """A day as each language writes it: 31/03/2026, 31 Mar 2026."""
    return Words(vi=_vi(day), en=_en(day))


def _vi(day: date) -> str:
    return display_date(day)


def _en(day: date) -> str:
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def _percent(share: Fraction, language: Literal["vi", "en"]) -> str:
    """A share as a percentage rounded down to two decimals (never shows 100 for 99.999)."""
    hundredths = share * 10_000 // 1
    whole, rest = divmod(int(hundredths), 100)
    text = f"{whole}.{rest:02d}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "vi" else text


def _day(instant: datetime) -> date:
    return instant.astimezone(LOCAL).date()


def _evidence(kind: EvidenceKind, ids: Iterable[str], note: Words | None = None) -> Evidence:
    ordered = sorted(set(ids))
    return Evidence(kind, len(ordered), tuple(ordered[:MAX_EVIDENCE_IDS]), note)


# -- the catalogue -----------------------------------------------------------------------------

Compute = Callable[[Any, "HamletFacts", Span], CheckResult]
"""A computation: (its parameters, the hamlet's facts, the span judged) -> result."""


@dataclass(frozen=True)
class Computation:
    """A check the evaluation knows how to compute: its parameter model, meaning and function."""

    parameters: type[Parameters]
    description: str
    compute: Compute


COMPUTATIONS: dict[str, Computation] = {
    "enrolment_registered": Computation(
        EnrolmentRegistered,
        "The hamlet has a registered (not withdrawn) enrolment for the evaluation year, "
        "registered no later than the last day of month `by_month` of that year. Pending "
        "while it has none and that day has not passed.",
        enrolment_registered,
    ),
    "household_registration_ratio": Computation(
        HouseholdRegistrationRatio,
        "Of the households of the hamlet that are active on the last day judged, the share "
        "with a pledge (registration) for the year is at least `min_ratio`. Pending while no "
        "household of the hamlet is recorded.",
        household_registration_ratio,
    ),
    "prolonged_disputes": Computation(
        ProlongedDisputes,
        "No incident of group `dispute` in the hamlet (not rejected, not a duplicate) was, at "
        "some time in the evaluation period, open for more than `max_open_days` days in a row "
        "(local days from the day it was opened, even before the period, to the day it was "
        "closed or the last day judged), and, if `reopened_is_prolonged`, none was reopened in "
        "the period.",
        prolonged_disputes,
    ),
    "incidents_compared_with_previous_year": Computation(
        IncidentsComparedWithPreviousYear,
        "Incidents of the `groups` that occurred in the hamlet in the evaluation period so far "
        "(not rejected, not duplicates) compare with those of the same days of the previous "
        "period as `compare` says; with none in both the check is met if `pass_when_none`.",
        incidents_compared_with_previous_year,
    ),
    "serious_incidents": Computation(
        SeriousIncidents,
        "No incident of the `groups` that occurred in the hamlet during the evaluation period "
        "(not rejected, not a duplicate) has a severity of `min_severity` or above.",
        serious_incidents,
    ),
    "incident_hotspot": Computation(
        IncidentHotspot,
        "No window shorter than `window_days` days within the evaluation period holds "
        "`min_incidents` or more incidents of one of the `categories` in the hamlet (not "
        "rejected, not duplicates), by their time of occurrence (hotspots.detect).",
        incident_hotspot,
    ),
    "team_active": Computation(
        TeamActive,
        "The hamlet has a team of kind `team_kind` that, on the last day judged, exists and "
        "has at least `min_members` members (distinct residents), and that recorded at least "
        "`min_activities` activities in the evaluation period (duty shifts started, incidents "
        "assigned to it, mediation sessions held).",
        team_active,
    ),
}
"""Every computed check a rule set may name, by name."""
