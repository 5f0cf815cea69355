"""Reporting's contract: keys of its topics, what its Kafka user reads, no small public count."""

from datetime import date

import pytest
from pydantic import ValidationError

from binhyen.contracts import CATALOGUE
from binhyen.contracts.events.reporting import (
    SMALLEST_PUBLIC_COUNT,
    EvaluationRecognised,
    HotspotSuggested,
    PublicStatistics,
    StatisticsCell,
    StatisticsCount,
    StatisticsPeriod,
)
from binhyen.contracts.examples import examples
from binhyen.contracts.topics import (
    DEAD_LETTER_TOPICS,
    DEPLOYED_TOPICS,
    REPORTING_DEAD_LETTERS,
    REPORTING_EVALUATIONS,
    REPORTING_HOTSPOTS,
    REPORTING_PUBLIC,
    REPORTING_READS,
    topic_for_event,
)


def test_reporting_topics_are_catalogued_and_deployed_with_its_dead_letters() -> None:
    assert (REPORTING_EVALUATIONS.name, REPORTING_HOTSPOTS.name, REPORTING_PUBLIC.name) == (
        "binhyen.reporting.evaluations.v1",
        "binhyen.reporting.hotspots.v1",
        "binhyen.reporting.public.v1",
    )
    assert REPORTING_DEAD_LETTERS.name == "binhyen.reporting.dlq.v1"
    assert REPORTING_DEAD_LETTERS in DEAD_LETTER_TOPICS
    assert {REPORTING_EVALUATIONS, REPORTING_HOTSPOTS, REPORTING_PUBLIC} <= set(CATALOGUE)
    assert REPORTING_DEAD_LETTERS in DEPLOYED_TOPICS
    # The evaluations are the history of a legal judgement: kept for good, never compacted.
    assert REPORTING_EVALUATIONS.configs() == {"cleanup.policy": "delete", "retention.ms": "-1"}
    assert REPORTING_PUBLIC.compacted and REPORTING_PUBLIC.visibility == "public"
    assert topic_for_event(EvaluationRecognised) == REPORTING_EVALUATIONS
    assert topic_for_event(PublicStatistics) == REPORTING_PUBLIC


def test_reporting_reads_state_topics_but_no_personal_data_and_no_dead_letters() -> None:
    reads = {spec.name for spec in REPORTING_READS}
    assert "binhyen.registry.units.v1" in reads
    assert "binhyen.incidents.incidents.v1" in reads
    assert "binhyen.notifications.alerts.v1" in reads
    assert not {spec.name for spec in DEAD_LETTER_TOPICS} & reads
    assert not [name for name in reads if name.startswith("binhyen.reporting.")]
    # Residents' names and phones, and each message sent to them, are not reporting's to read.
    assert not reads & {"binhyen.registry.people.v1", "binhyen.notifications.deliveries.v1"}
    assert reads <= {spec.name for spec in CATALOGUE}


def test_keys_are_the_evaluation_hotspot_and_unit_period() -> None:
    samples = examples()
    evaluation = samples[EvaluationRecognised.event_type].data
    assert isinstance(evaluation, EvaluationRecognised)
    assert evaluation.subject() == f"{evaluation.hamlet_id}:{evaluation.evaluation_year}"
    hotspot = samples[HotspotSuggested.event_type].data
    assert isinstance(hotspot, HotspotSuggested)
    assert hotspot.subject().startswith(f"{hotspot.hamlet_id}:{hotspot.category}:")
    public = samples[PublicStatistics.event_type].data
    assert isinstance(public, PublicStatistics)
    assert public.subject() == f"{public.unit_id}:2026-Q1"


@pytest.mark.parametrize("count", range(1, SMALLEST_PUBLIC_COUNT))
def test_a_small_count_cannot_be_published(count: int) -> None:
    with pytest.raises(ValidationError, match=f"below {SMALLEST_PUBLIC_COUNT}"):
        StatisticsCell(group="crime", category="theft", count=count, suppressed=False)
    with pytest.raises(ValidationError, match=f"below {SMALLEST_PUBLIC_COUNT}"):
        StatisticsCount(count=count, suppressed=False)


def test_zero_and_counts_from_the_threshold_are_published() -> None:
    assert StatisticsCount(count=0, suppressed=False).count == 0
    assert StatisticsCount(count=SMALLEST_PUBLIC_COUNT, suppressed=False).count == 3


def test_suppressed_means_null_and_null_means_suppressed() -> None:
    assert StatisticsCount(count=None, suppressed=True).count is None
    with pytest.raises(ValidationError, match="suppressed count is null"):
        StatisticsCount(count=5, suppressed=True)
    with pytest.raises(ValidationError, match="suppressed count is null"):
        StatisticsCount(count=None, suppressed=False)


@pytest.mark.parametrize("key", ["2026-03", "2026-Q1", "2026", "EY2026"])
def test_period_keys_follow_the_period_grammar(key: str) -> None:
    assert (
        StatisticsPeriod(
            key=key, kind="month", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31)
        ).key
        == key
    )


@pytest.mark.parametrize("key", ["2026-Q5", "ey2026", "2026-03-01..2026-04-15", "EY2026-03"])
def test_other_period_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="key"):
        StatisticsPeriod(
            key=key, kind="month", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31)
        )
