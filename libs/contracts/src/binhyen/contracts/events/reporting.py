"""Reporting events: hamlets' yearly evaluations, hotspot suggestions, public statistics.

- ``binhyen.reporting.evaluations.v1`` (internal): every change of a hamlet's evaluation for an
  evaluation year against the rule set of Circular 124/2021/TT-BCA, each carrying the
  evaluation's state after it (draft → proposed → recognised | refused, back to draft).
- ``binhyen.reporting.hotspots.v1`` (internal): repeated incidents of one category in one
  hamlet, suggested to the commune as a place for a preventive plan task.
- ``binhyen.reporting.public.v1`` (public): incident counts per unit and period, with small
  counts suppressed; never anything about a person.
"""

from datetime import date, datetime
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from binhyen.contracts.envelope import EventData, Sequenced
from binhyen.contracts.spec import TopicSpec

SOURCE = "/binhyen/reporting"

SMALLEST_PUBLIC_COUNT = 3
"""Positive counts below this never appear on the public topic (issue 13)."""

EvaluationStatus = Literal["draft", "proposed", "recognised", "refused"]
CheckKind = Literal["computed", "attested"]
CheckOutcome = Literal["met", "not_met", "pending"]
PeriodKind = Literal["month", "quarter", "year", "evaluation_year"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


class EvaluationRuleset(_Model):
    """The rule set an evaluation was judged under (it keeps it when the rule set changes)."""

    id: str = Field(description="Id of the rule set, e.g. circular-124-2021.")
    version: int = Field(ge=1, description="Version of that rule set.")
    fingerprint: str = Field(
        description="sha256 (hex) of the rule set's canonical JSON: the exact content judged by."
    )


class CriterionCheck(_Model):
    """The result of one check of a criterion."""

    check_id: str = Field(description="Id of the check in the rule set (unique in it).")
    kind: CheckKind = Field(
        description="computed (from the data) or attested (confirmed by the commune)."
    )
    outcome: CheckOutcome = Field(
        description="met, not_met, or pending (not computed yet, or the attestation is missing)."
    )


class EvaluationCriterion(_Model):
    """The result of one criterion of the rule set."""

    code: str = Field(description="Code of the criterion in the rule set, e.g. C1.")
    met: bool | None = Field(
        description=(
            "Whether the criterion is met; null while it is not decided yet (a check pending, "
            "an attestation missing)."
        )
    )
    checks: list[CriterionCheck] = Field(min_length=1, description="Its checks, as the rule set.")


class EvaluationDecision(_Model):
    """The commune's decision document on an evaluation (no person's name, ever)."""

    document_number: str = Field(description="Number of the decision, e.g. 125/QĐ-UBND.")
    decided_on: date = Field(description="Date of the decision (local date).")
    signer_position: str = Field(
        description="Position of who signed it, e.g. Chủ tịch UBND xã; never a person's name."
    )


class EvaluationState(EventData):
    """The full current state of a hamlet's evaluation for one year (every event carries it)."""

    evaluation_id: str = Field(description="'<hamlet id>:<evaluation year>'.")
    hamlet_id: str = Field(description="The hamlet evaluated.")
    unit_path: list[str] = Field(
        min_length=1, description="The hamlet's ancestors, root first, then the hamlet."
    )
    evaluation_year: int = Field(
        ge=2000,
        le=2100,
        description="The evaluation year N: 1 November of N-1 to 31 October of N (local days).",
    )
    ruleset: EvaluationRuleset = Field(description="The rule set it is judged under.")
    status: EvaluationStatus = Field(description="draft, proposed, recognised or refused.")
    criteria: list[EvaluationCriterion] = Field(
        min_length=1, description="One result per criterion of the rule set, in its order."
    )
    met: bool | None = Field(
        description=(
            "Whether every criterion is met: false as soon as one is not, null while none is "
            "unmet but one is undecided."
        )
    )
    decision: EvaluationDecision | None = Field(
        None, description="The decision recognising (or refusing) it, once there is one."
    )
    reason: str | None = Field(None, description="Why it was refused, as the commune wrote it.")
    version: int = Field(ge=1, description="Version of the evaluation; +1 per change.")

    def subject(self) -> str:
        """Return the evaluation id."""
        return self.evaluation_id


class EvaluationOpened(EvaluationState):
    """A draft evaluation of a hamlet for a year was made (status draft)."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.evaluation.opened.v1"
    source: ClassVar[str] = SOURCE


class EvaluationProposed(EvaluationState):
    """The hamlet was proposed for recognition (status proposed)."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.evaluation.proposed.v1"
    source: ClassVar[str] = SOURCE


class EvaluationRecognised(EvaluationState):
    """The hamlet was recognised as safe for the year, by a decision (status recognised)."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.evaluation.recognised.v1"
    source: ClassVar[str] = SOURCE


class EvaluationRefused(EvaluationState):
    """Recognition was refused for the year (status refused, with the reason)."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.evaluation.refused.v1"
    source: ClassVar[str] = SOURCE


class EvaluationReopened(EvaluationState):
    """A proposed or refused evaluation went back to draft (status draft)."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.evaluation.reopened.v1"
    source: ClassVar[str] = SOURCE


EVALUATION_EVENTS: tuple[type[EvaluationState], ...] = (
    EvaluationOpened,
    EvaluationProposed,
    EvaluationRecognised,
    EvaluationRefused,
    EvaluationReopened,
)

EVALUATIONS_TOPIC = TopicSpec(
    name="binhyen.reporting.evaluations.v1",
    key="evaluation id (hamlet id and evaluation year)",
    description=(
        "Every change of a hamlet's yearly evaluation against Circular 124/2021/TT-BCA "
        "(opened, proposed, recognised, refused, reopened) with its full state: the rule set, "
        "each criterion and check, the decision. Internal."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=-1,
    event_types=tuple(e.event_type for e in EVALUATION_EVENTS),
)


class HotspotSuggestion(_Model):
    """What the commune is advised to do, in Vietnamese and English."""

    vi: str = Field(description="In Vietnamese.")
    en: str = Field(description="In English.")


class HotspotSuggested(EventData):
    """Repeated incidents of one category in one hamlet: a place for a preventive plan task.

    A later event of the same hotspot (more incidents) replaces the earlier: keep the highest
    version.
    """

    event_type: ClassVar[str] = "vn.binhyen.reporting.hotspot.suggested.v1"
    source: ClassVar[str] = SOURCE

    hotspot_id: str = Field(
        description=(
            "'<hamlet id>:<category>:<incident id>', the incident with which the count first "
            "reached min_incidents: the same hotspot always gets the same id."
        )
    )
    hamlet_id: str = Field(description="The hamlet.")
    unit_path: list[str] = Field(
        min_length=1, description="The hamlet's ancestors, root first, then the hamlet."
    )
    category: str = Field(description="Incident category code.")
    group: str = Field(description="The category's group: crime, social_evil, traffic, …")
    window_days: int = Field(ge=1, description="The rule's window, in days.")
    min_incidents: int = Field(ge=2, description="The rule's count within one window.")
    first_at: datetime = Field(description="When the earliest of its incidents happened, UTC.")
    last_at: datetime = Field(description="When the latest of its incidents happened, UTC.")
    incident_ids: list[str] = Field(
        min_length=2, description="The incidents counted, oldest first (internal ids)."
    )
    count: int = Field(ge=2, description="How many incidents (the length of incident_ids).")
    suggestion: HotspotSuggestion = Field(
        description="A short text: prepare a preventive plan task for this place and category."
    )
    version: int = Field(ge=1, description="Version of the hotspot; +1 per incident added.")

    def subject(self) -> str:
        """Return the hotspot id."""
        return self.hotspot_id


class HotspotWithdrawn(EventData):
    """A hotspot suggested earlier no longer holds: incidents of it were rejected or marked
    duplicates, or the rule set in force now asks for more. Close or rethink the plan task
    made for it; it comes back as a new ``HotspotSuggested`` (a higher version) if it holds
    again.
    """

    event_type: ClassVar[str] = "vn.binhyen.reporting.hotspot.withdrawn.v1"
    source: ClassVar[str] = SOURCE

    hotspot_id: str = Field(description="The hotspot, as suggested.")
    hamlet_id: str = Field(description="The hamlet.")
    unit_path: list[str] = Field(
        min_length=1, description="The hamlet's ancestors, root first, then the hamlet."
    )
    category: str = Field(description="Incident category code.")
    group: str = Field(description="The category's group: crime, social_evil, traffic, …")
    version: int = Field(
        ge=2, description="Version of the hotspot: one above the suggestion it withdraws."
    )

    def subject(self) -> str:
        """Return the hotspot id."""
        return self.hotspot_id


HOTSPOTS_TOPIC = TopicSpec(
    name="binhyen.reporting.hotspots.v1",
    key="hotspot id",
    description=(
        "Repeated incidents of one category in one hamlet within a window, suggested to the "
        "commune for a preventive plan task, and withdrawn when they no longer hold; a later "
        "version of a hotspot replaces the earlier. Internal: incident ids."
    ),
    compacted=False,
    visibility="internal",
    retention_ms=-1,
    event_types=(HotspotSuggested.event_type, HotspotWithdrawn.event_type),
)


_SUPPRESSION = (
    f"Counts below {SMALLEST_PUBLIC_COUNT} other than 0, and every count from which one of "
    "them could be worked out (by subtraction from a total), are suppressed: count null and "
    "suppressed true. Zeros are published."
)


class StatisticsCount(_Model):
    """A count, or null where it is suppressed."""

    count: int | None = Field(ge=0, description=f"The count, or null if suppressed. {_SUPPRESSION}")
    suppressed: bool = Field(description="True when the count is withheld (count is null).")

    @model_validator(mode="after")
    def _never_small(self) -> Self:
        if self.suppressed != (self.count is None):
            raise ValueError("a suppressed count is null, a published one is not")
        if self.count is not None and 0 < self.count < SMALLEST_PUBLIC_COUNT:
            raise ValueError(f"a count below {SMALLEST_PUBLIC_COUNT} is never published")
        return self


class StatisticsCell(StatisticsCount):
    """Incidents of one group (all its categories) or one category of it."""

    group: str = Field(description="Incident group: crime, social_evil, traffic, dispute, …")
    category: str | None = Field(
        description="Category code, or null for the whole group (the group's total)."
    )


class StatisticsPeriod(_Model):
    """The run of local days (Asia/Ho_Chi_Minh) the statistics cover."""

    key: str = Field(
        pattern=r"^([0-9]{4}(-Q[1-4]|-[0-9]{2})?|EY[0-9]{4})$",
        description=(
            "2026-03 (month), 2026-Q1 (quarter), 2026 (year) or EY2026 (evaluation year "
            "01/11/2025 – 31/10/2026)."
        ),
    )
    kind: PeriodKind = Field(description="month, quarter, year or evaluation_year.")
    starts_on: date = Field(description="First day, local date.")
    ends_on: date = Field(description="Last day (included), local date.")


class PublicStatistics(Sequenced):
    """Incident counts of a unit and its subtree for one period, small counts suppressed."""

    event_type: ClassVar[str] = "vn.binhyen.reporting.statistics.public.v1"
    source: ClassVar[str] = SOURCE

    unit_id: str = Field(description="The unit (hamlet, commune, …) the counts are rolled up to.")
    unit_path: list[str] = Field(
        min_length=1, description="The unit's ancestors, root first, then the unit."
    )
    period: StatisticsPeriod = Field(description="The period counted.")
    cells: list[StatisticsCell] = Field(
        description=(
            "Incidents reported in the period, per group (category null) and per category. "
            + _SUPPRESSION
        )
    )
    total: StatisticsCount = Field(description="All incidents of the unit in the period.")
    published_at: datetime = Field(description="When these figures were computed, UTC.")

    def subject(self) -> str:
        """Return the compaction key."""
        return f"{self.unit_id}:{self.period.key}"


PUBLIC_TOPIC = TopicSpec(
    name="binhyen.reporting.public.v1",
    key="<unit id>:<period key>",
    description=(
        "For other agencies: incident counts per unit and period (month, quarter, year, "
        f"evaluation year), by group and category. Counts below {SMALLEST_PUBLIC_COUNT} and "
        "any count that would reveal one are suppressed; zeros are published. No personal data."
    ),
    compacted=True,
    visibility="public",
    event_types=(PublicStatistics.event_type,),
)
