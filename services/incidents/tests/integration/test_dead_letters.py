"""The incidents consumer group's dead letters: listed, shown and replayed by an operator."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.accounts import AccountDeactivated
from binhyen.contracts.events.units import UnitRegistered
from binhyen.contracts.topics import INCIDENTS_DEAD_LETTERS, REGISTRY_ACCOUNTS, REGISTRY_UNITS
from binhyen.contracts.units import UnitKind
from binhyen.incidents.app import create_app
from binhyen.incidents.settings import Settings
from binhyen.kit.consumer import H_OFFSET, H_PARTITION, H_TOPIC
from binhyen.kit.kafka import start_producer
from binhyen.kit.testing import Servers, TestIssuer, eventually, read_topic, serve
from binhyen.kit.testing.settings import environment_of


def _hamlet(unit_id: str) -> CloudEvent:
    return CloudEvent.wrap(
        UnitRegistered(
            unit_id=unit_id,
            kind=UnitKind.HAMLET,
            level=UnitKind.HAMLET.level,
            name="Tân Thành",
            parent_id="c1",
            ancestor_ids=["p1", "c1"],
            valid_from=date(2020, 9, 9),
            version=1,
        )
    )


def _dlq(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | environment_of(settings)
    return subprocess.run(
        [sys.executable, "-m", "binhyen.incidents", "dlq", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_an_operator_lists_replays_and_is_told_clearly_about_unknown_entries(
    incidents_settings: Settings, servers: Servers, issuer: TestIssuer
) -> None:
    units = incidents_settings.topic(REGISTRY_UNITS.name)
    dead_letters = incidents_settings.topic(INCIDENTS_DEAD_LETTERS.name)
    fixed_later = _hamlet("h-fixed")
    producer = await start_producer(servers.kafka, client_id="test")
    try:
        async with serve(
            create_app(incidents_settings), headers=issuer.headers(("admin", "*"))
        ) as (
            client,
            rt,
        ):
            # 1. A record the consumer cannot parse: dead-lettered by the consumer itself.
            await producer.send_and_wait(units, b'{"not": "an event"}', key=b"x")
            await read_topic(servers.kafka, dead_letters, until=lambda rs: len(rs) == 1)
            # 2. A good event dead-lettered earlier by a bug since fixed (as the consumer
            #    would have written it: the record plus its origin in headers).
            await producer.send_and_wait(
                dead_letters,
                fixed_later.to_json(),
                key=b"h-fixed",
                headers=[(H_TOPIC, units.encode()), (H_PARTITION, b"3"), (H_OFFSET, b"41")],
            )
            listed = await asyncio.to_thread(_dlq, incidents_settings, "list")
            assert listed.returncode == 0, listed.stderr
            lines = listed.stdout.strip().splitlines()
            assert lines[-1] == f"2 dead letter(s) on {dead_letters}"
            poison, good = lines[0].split("\t"), lines[1].split("\t")
            assert poison[2].startswith(f"{units}[") and "not replayed" in poison
            assert good[3:5] == [UnitRegistered.event_type, fixed_later.id]
            assert '"not"' not in listed.stdout  # never the data

            replayed = await asyncio.to_thread(_dlq, incidents_settings, "replay", "--all")
            assert replayed.returncode == 1  # the poison fails again; the good one is applied
            assert f"{good[0]}\tok" in replayed.stdout
            assert f"{poison[0]}\tfailed: ValidationError" in replayed.stdout
            assert (await client.get("/api/v1/hamlets/h-fixed")).status_code == 200

            again = await asyncio.to_thread(_dlq, incidents_settings, "list")
            assert "\tok" in again.stdout.splitlines()[1]

            unknown = await asyncio.to_thread(_dlq, incidents_settings, "replay", "9:999")
            assert unknown.returncode == 2
            assert "no dead letter '9:999'" in unknown.stderr
            assert await rt.db["units"].count_documents({}) >= 1
    finally:
        await producer.stop()


async def test_a_dead_lettered_deactivation_replayed_by_an_operator_refuses_the_token(
    incidents_settings: Settings, servers: Servers, issuer: TestIssuer
) -> None:
    accounts = incidents_settings.topic(REGISTRY_ACCOUNTS.name)
    dead_letters = incidents_settings.topic(INCIDENTS_DEAD_LETTERS.name)
    deactivated = CloudEvent.wrap(
        AccountDeactivated(account_id="u-left", active=False, changed_at=datetime.now(UTC))
    )
    token = issuer.headers(("admin", "*"), subject="u-left")
    producer = await start_producer(servers.kafka, client_id="test")
    try:
        async with serve(create_app(incidents_settings)) as (client, _):
            assert (await client.get("/api/v1/incidents", headers=token)).status_code == 200
            await producer.send_and_wait(
                dead_letters,
                deactivated.to_json(),
                key=b"u-left",
                headers=[(H_TOPIC, accounts.encode()), (H_PARTITION, b"0"), (H_OFFSET, b"7")],
            )
            replayed = await asyncio.to_thread(_dlq, incidents_settings, "replay", "--all")
            assert replayed.returncode == 0, replayed.stdout + replayed.stderr
            assert "\tok" in replayed.stdout

            async def refused() -> bool:
                answer = await client.get("/api/v1/incidents", headers=token)
                return answer.status_code == 401

            await eventually(refused, timeout=10, what="the replayed deactivation applies")
    finally:
        await producer.stop()


async def test_an_unknown_dead_letter_topic_is_a_clear_error(
    incidents_settings: Settings,
) -> None:
    missing = incidents_settings.model_copy(update={"topic_prefix": "nowhere."})
    result = await asyncio.to_thread(_dlq, missing, "list")
    assert result.returncode == 2
    assert "no dead-letter topic nowhere.binhyen.incidents.dlq.v1" in result.stderr
