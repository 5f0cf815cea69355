"""Public statistics: each closed quarter of a commune and its hamlets is published once, the
topic and the endpoint agree, no small count is ever published, a late report changes nothing
published, and agencies read these and nothing else of reporting."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from binhyen.contracts.topics import REPORTING_PUBLIC
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.kafka import read_topic
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.waiting import eventually, outboxes_empty
from binhyen.reporting.sample_history import COMMUNE
from binhyen.reporting.service import public
from binhyen.reporting.settings import Settings
from binhyen.reporting.store.public import PUBLIC_STATISTICS

# 2 December 2026: with 30 days to settle, 2026-Q3 is the last closed quarter; eight back.
NOW = datetime(2026, 12, 2, 5, tzinfo=UTC)
QUARTERS = ("2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2", "2025-Q1",
            "2024-Q4")  # fmt: skip
HAMLETS = ("h-001", "h-002", "h-003", "h-004")  # the merged Đông Lộc is not published
KEYS = {f"{unit}:{quarter}" for unit in (COMMUNE, *HAMLETS) for quarter in QUARTERS}


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


async def test_each_closed_quarter_is_published_once_as_the_endpoint_shows_it_small_counts_hidden(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    agency = issuer.headers(("agency", "*"), kind="agency")
    officer = issuer.headers(("commune_officer", COMMUNE))
    async with history.deployment(reporting_settings, servers, "public") as (client, settings, rt):
        collection = rt.context.stores.db[PUBLIC_STATISTICS]
        await history.publish(settings, history.small_history())
        await history.caught_up(settings)

        # (The service's own publisher may have run too: each key is published once either way.)
        await public.publish(rt.context, now=NOW)
        await eventually(lambda: outboxes_empty(collection), what="public events relayed")
        events = await published(settings, len(KEYS))
        assert Counter(e["subject"] for e in events) == Counter(KEYS)

        suppressed = 0
        for event in events:
            data = event["data"]
            assert not {1, 2} & set(counts(data)), event["subject"]
            suppressed += counts(data).count(None)
            answer = await client.get(
                "/api/v1/public/statistics",
                params={"unit_id": data["unit_id"], "period": data["period"]["key"]},
                headers=agency,
            )
            assert answer.status_code == 200, answer.text
            assert without_time(answer.json()) == without_time(data)
        assert suppressed > 0  # the history has small counts: the test is not vacuous

        # What is published is the statistics' own figures.
        by_key = {e["subject"]: e["data"] for e in events}
        for quarter in QUARTERS:
            data = by_key[f"{COMMUNE}:{quarter}"]
            figures = await client.get(
                "/api/v1/statistics", params={"unit_id": COMMUNE, "period": quarter},
                headers=officer,
            )  # fmt: skip
            incidents = figures.json()["figures"]["incidents"]
            if data["total"]["count"] is not None:
                assert data["total"]["count"] == incidents["total"]["current"]
            for cell in data["cells"]:
                if cell["count"] is not None:
                    assert cell["count"] == incidents["by_group"][cell["group"]]["current"]

        # A late report of a theft in 2026-Q3 changes nothing published: it is frozen.
        late = history.reported("pub-late", "h-001", datetime(2026, 9, 10, 3, tzinfo=UTC))
        await history.publish(settings, [late])
        await history.caught_up(settings)
        assert (await public.publish(rt.context, now=NOW)).published == 0
        again = await client.get(
            "/api/v1/public/statistics", params={"unit_id": "h-001", "period": "2026-Q3"},
            headers=agency,
        )  # fmt: skip
        assert without_time(again.json()) == without_time(by_key["h-001:2026-Q3"])


async def test_agencies_read_public_statistics_only_and_bad_periods_are_problems(
    reporting_settings: Settings, servers: Servers, issuer: TestIssuer, history: ModuleType
) -> None:
    agency = issuer.headers(("agency", "*"), kind="agency")
    agency_role = issuer.headers(("agency", COMMUNE))  # the role on a user token
    async with history.deployment(reporting_settings, servers, "pubaccess") as (client, s, rt):
        await history.publish(s, history.small_history()[:200])
        await history.caught_up(s)
        await public.publish(rt.context, now=NOW)
        params = {"unit_id": COMMUNE, "period": "2026-Q3"}
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
        for period in ("2026-13", "2026-03-01..2026-03-31", "EY2026", "2026-03", "2026"):
            bad = await client.get(
                "/api/v1/public/statistics",
                params={"unit_id": COMMUNE, "period": period},
                headers=agency,
            )
            assert bad.status_code == 422, (period, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in bad.json()["errors"]] == ["period"], bad.text
        unknown = await client.get(
            "/api/v1/public/statistics", params={"unit_id": "h-none", "period": "2026-Q3"},
            headers=agency,
        )  # fmt: skip
        assert unknown.status_code == 404
        not_yet = await client.get(
            "/api/v1/public/statistics", params={"unit_id": COMMUNE, "period": "2026-Q4"},
            headers=agency,
        )  # fmt: skip
        assert not_yet.status_code == 404 and "published" in not_yet.json()["detail"]
