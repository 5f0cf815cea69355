"""Public statistics: the topic and the endpoint agree, no small count is ever published, an
event goes out only when its content changed (its sequence then grows), and agencies read
these and nothing else of reporting."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.incidents import IncidentReported, IncidentSnapshot
from binhyen.contracts.topics import REPORTING_PUBLIC, topic_for_event
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.kafka import read_topic
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.waiting import eventually, outboxes_empty
from binhyen.reporting.sample_history import COMMUNE, PROVINCE, TOWN, Published
from binhyen.reporting.service import public
from binhyen.reporting.settings import Settings
from binhyen.reporting.store.public import PUBLIC_STATISTICS

# 20 March 2026: this month, February, the first quarter and evaluation year 2026.
NOW = datetime(2026, 3, 20, 5, tzinfo=UTC)
PERIODS = ("2026-03", "2026-02", "2026-Q1", "EY2026")
HAMLETS = ("h-001", "h-002", "h-003", "h-004")  # the merged Đông Lộc is not published
KEYS = {f"{unit}:{period}" for unit in (COMMUNE, *HAMLETS) for period in PERIODS}


def theft(incident_id: str, hamlet: str, at: datetime) -> Published:
    """A theft reported in ``hamlet`` at ``at``."""
    snapshot = IncidentSnapshot(
        incident_id=incident_id,
        hamlet_id=hamlet,
        unit_path=[PROVINCE, TOWN, COMMUNE, hamlet],
        category="theft",
        category_version=1,
        group="crime",
        ba_khong=True,
        severity="medium",
        status="reported",
        description="(thử nghiệm)",
        occurred_at=at,
        reported_at=at + timedelta(minutes=30),
        reporter_kind="user",
        reporter_ref=f"rr-{incident_id}",
        version=1,
    )
    data = IncidentReported(incident=snapshot, actor="rr", at=snapshot.reported_at, seq=1)
    return Published(topic_for_event(data).name, incident_id, CloudEvent.wrap(data))


async def published(settings: Settings, at_least: int) -> list[dict[str, Any]]:
    """The events of KEYS on the public topic, in order (once at least ``at_least`` are there;
    the publisher's own first run, at today's date, publishes other periods)."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        events = [json.loads(r.value) for r in records if r.value]
        return [e for e in events if e["subject"] in KEYS]

    records = await read_topic(
        KafkaAccess.of(settings),
        settings.topic(REPORTING_PUBLIC.name),
        until=lambda recs: len(mine(recs)) >= at_least,
        timeout=60,
    )
    return mine(records)


def counts(statistics: dict[str, Any]) -> list[int | None]:
    """Every count of one publication."""
    return [c["count"] for c in statistics["cells"]] + [statistics["total"]["count"]]


def without_time(statistics: dict[str, Any]) -> dict[str, Any]:
    """The content: what was counted, not when nor its number."""
    return {k: v for k, v in statistics.items() if k not in ("published_at", "sequence")}


async def test_the_topic_and_the_endpoint_agree_and_never_show_a_small_count(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    # The publisher's own runs (at the wall clock's time) wait an hour.
    quiet = reporting_settings.model_copy(update={"public_publish_seconds": 3600.0})
    agency = issuer.headers(("agency", "*"), kind="agency")
    officer = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(quiet, servers, "public") as (client, settings, rt):
        collection = rt.context.stores.db[PUBLIC_STATISTICS]
        await history.publish(settings, history.small_history())
        await history.caught_up(settings)

        report = await public.publish(rt.context, now=NOW)
        assert report.published == report.computed == len(KEYS)
        await eventually(lambda: outboxes_empty(collection), what="public events relayed")
        events = await published(settings, len(KEYS))
        by_key = {e["subject"]: e for e in events}
        assert set(by_key) == KEYS

        suppressed = 0
        for event in events:
            data = event["data"]
            assert data["sequence"] == 1 and int(event["sequence"]) == 1
            assert not {1, 2} & set(counts(data)), event["subject"]
            suppressed += counts(data).count(None)
            # The endpoint answers what the event says (computed anew from the same data).
            answer = await client.get(
                "/api/v1/public/statistics",
                params={"unit_id": data["unit_id"], "period": data["period"]["key"]},
                headers=agency,
            )
            assert answer.status_code == 200, answer.text
            assert without_time(answer.json()) == without_time(data)
        assert suppressed > 0  # the history has small counts: the test is not vacuous

        # The totals published are the statistics' own.
        for period in PERIODS:
            data = by_key[f"{COMMUNE}:{period}"]["data"]
            figures = await client.get(
                "/api/v1/statistics", params={"unit_id": COMMUNE, "period": period}, headers=officer
            )
            incidents = figures.json()["figures"]["incidents"]
            if data["total"]["count"] is not None:
                assert data["total"]["count"] == incidents["total"]["current"]
            for cell in data["cells"]:
                if cell["category"] is None and cell["count"] is not None:
                    assert cell["count"] == incidents["by_group"][cell["group"]]["current"]

        # The same data again: nothing new on the topic.
        assert (await public.publish(rt.context, now=NOW)).published == 0

        # Three thefts in Tân Thành this month: the keys whose content changed publish again,
        # each with sequence 2; the others stay as they were.
        thefts = [theft(f"pub-{n}", "h-001", NOW - timedelta(days=n + 1)) for n in range(3)]
        await history.publish(settings, thefts)
        await history.caught_up(settings)
        changed = await public.publish(rt.context, now=NOW)
        assert changed.published >= 1
        await eventually(lambda: outboxes_empty(collection), what="changes relayed")
        later = (await published(settings, len(KEYS) + changed.published))[len(KEYS) :]
        assert len(later) == changed.published
        assert {e["data"]["sequence"] for e in later} == {2}
        assert "h-001:2026-03" in {e["subject"] for e in later}
        assert "h-002:2026-03" not in {e["subject"] for e in later}
        assert max(Counter(e["subject"] for e in later).values()) == 1


async def test_agencies_read_public_statistics_only_and_bad_periods_are_problems(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    agency = issuer.headers(("agency", "*"), kind="agency")
    agency_role = issuer.headers(("agency", COMMUNE))  # the role on a user token
    async with history.deployment(reporting_settings, servers, "pubaccess") as (client, s, _):
        await history.publish(s, history.small_history()[:200])
        await history.caught_up(s)
        params = {"unit_id": COMMUNE, "period": "EY2026"}
        for headers in (agency, agency_role):
            ok = await client.get("/api/v1/public/statistics", params=params, headers=headers)
            assert ok.status_code == 200, ok.text
            for route in ("/api/v1/statistics", "/api/v1/statistics.xlsx", "/api/v1/hotspots"):
                refused = await client.get(route, params=params, headers=headers)
                assert refused.status_code == 403, (route, refused.text)
                assert "public/statistics" in refused.json()["detail"]
        nobody = issuer.headers(("resident", COMMUNE))
        assert (
            await client.get("/api/v1/public/statistics", params=params, headers=nobody)
        ).status_code in (403, 404)
        for period in ("2026-13", "2026-03-01..2026-03-31", "EY20266"):
            bad = await client.get(
                "/api/v1/public/statistics",
                params={"unit_id": COMMUNE, "period": period},
                headers=agency,
            )
            assert bad.status_code == 422, (period, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in bad.json()["errors"]] == ["period"], bad.text
        unknown = await client.get(
            "/api/v1/public/statistics", params={"unit_id": "h-none", "period": "2026"},
            headers=agency,
        )  # fmt: skip
        assert unknown.status_code == 404
