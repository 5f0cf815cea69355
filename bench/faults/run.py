"""Fault suite: registry and two incidents replicas under steady writes, one fault per run.

    uv run python bench/faults/run.py [--runs 5] [--faults kafka-kill,ferretdb-kill,...]

Each run starts its own Kafka and FerretDB (deploy/local, a throwaway instance on free
ports) and the services as real processes: the registry and two incidents replicas, each
with its outbox relay and consumers. A load of writes goes on throughout (hamlets created
and renamed in the registry, which incidents replicates through Kafka; incidents reported
and acknowledged through both replicas, clients retrying failed creates with the same
Idempotency-Key as a real client would) while one fault is injected:

- ``kafka-kill``: Kafka killed (SIGKILL) and restarted;
- ``ferretdb-kill``: FerretDB killed (SIGKILL) and restarted;
- ``replica-kill``: one incidents replica killed (SIGKILL) mid-load and restarted;
- ``kafka-pause``: Kafka frozen (SIGSTOP) for 30 s, then resumed.

Then it checks, from the stores and from the topics read by offset:

- **lost**: a write answered 2xx that is not stored, or a stored change whose event is not
  on its topic (every unit version on the units topic; every timeline entry on the
  incidents topic; the newest public state equal to the stored one);
- **duplicate effects**: an event the incidents consumer applied twice to its replica;
- **order violations**: per key on every topic, events (a repeated delivery counted once)
  whose sequence number does not grow;
- **recovery**: seconds from the end of the fault until every outbox is empty and the
  incidents consumer group has no lag (must be within 60 s).

It prints one line per run and a summary table. ``tests/faults`` runs one run of each
fault in ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from binhyen.contracts.topics import (
    DEPLOYED_TOPICS,
    INCIDENTS,
    INCIDENTS_PUBLIC,
    REGISTRY_ORGANISATIONS,
    REGISTRY_PUBLIC,
    REGISTRY_UNITS,
)
from binhyen.kit.testing.kafka import consumer_lag
from binhyen.kit.testing.servers import free_port, load_localservers
from binhyen.kit.testing.tokens import TestIssuer
from binhyen.kit.topics import create_topics, entries_of

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("kafka-kill", "ferretdb-kill", "replica-kill", "kafka-pause")
RECOVERY_LIMIT = 60.0
Document = dict[str, Any]


@dataclass
class Service:
    """One service process (``python -m binhyen.<module> api``)."""

    name: str
    module: str
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (its log appended to ``log``)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, "api"],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 120) -> None:
        """Until ``/readyz`` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{self.url}/readyz", timeout=3)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log}")


@dataclass
class Load:
    """The writes clients made, and which of them were accepted (answered 2xx)."""

    units: list[str] = field(default_factory=list)  # hamlets created
    renames: Counter[str] = field(default_factory=Counter)
    incidents: list[str] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    attempts: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # why writes were not accepted

    @property
    def accepted(self) -> int:
        """Writes answered 2xx."""
        return (
            len(self.units)
            + sum(self.renames.values())
            + len(self.incidents)
            + len(self.acknowledged)
        )


@dataclass
class Result:
    """What one run found."""

    fault: str
    accepted: int
    lost: int
    duplicate_effects: int
    order_violations: int
    recovery_seconds: float | None
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing applied twice, order kept, recovered in time."""
        return (
            self.lost == 0
            and self.duplicate_effects == 0
            and self.order_violations == 0
            and self.recovery_seconds is not None
            and self.recovery_seconds <= RECOVERY_LIMIT
        )

    def line(self) -> str:
        """One line for the log."""
        recovery = "never" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f}s"
        return (
            f"{self.fault:14} accepted={self.accepted:5} lost={self.lost} "
            f"duplicate_effects={self.duplicate_effects} order_violations={self.order_violations} "
            f"recovery={recovery} {'OK' if self.ok else 'FAILED'}"
        )


class Stack:
    """Private Kafka and FerretDB and the three service processes of one run."""

    def __init__(self, workdir: Path) -> None:
        self.ls = load_localservers(ROOT)
        self.id = uuid.uuid4().hex[:8]
        self.instance = f"faults-{self.id}"
        self.workdir = workdir
        self.issuer = TestIssuer()
        self.prefix = f"f{self.id}."
        self.reg_db = f"faults_{self.id}_reg"
        self.inc_db = f"faults_{self.id}_inc"
        self.inc_group = f"faults-{self.id}-inc"
        self.kafka: Any = None
        self.ferretdb: Any = None
        self.services: dict[str, Service] = {}

    def start_servers(self) -> None:
        """Start (or restart, on the same ports) the private Kafka and FerretDB."""
        self.kafka = self.ls.start("kafka", self.instance, port=0)
        self.ferretdb = self.ls.start("ferretdb", self.instance, port=0)

    def restart(self, kind: str) -> None:
        """Start a killed server again on its ports, with its data."""
        server = self.ls.start(kind, self.instance, port=0)
        setattr(self, kind, server)

    def make_services(self) -> None:
        """The registry and two incidents replicas, wired to the private servers."""
        common = {
            "MONGODB_URI": self.ferretdb.address,
            "KAFKA_BOOTSTRAP": self.kafka.address,
            "TOPIC_PREFIX": self.prefix,
            "ENVIRONMENT": "test",
            "AUTH_ISSUER": self.issuer.issuer,
            "AUTH_JWKS_JSON": self.issuer.jwks_json,
            "OUTBOX_SWEEP_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
        }
        specs = [
            (
                "registry",
                "binhyen.registry",
                "BINHYEN_REGISTRY_",
                self.reg_db,
                f"faults-{self.id}-reg",
            ),
            ("incidents-a", "binhyen.incidents", "BINHYEN_INCIDENTS_", self.inc_db, self.inc_group),
            ("incidents-b", "binhyen.incidents", "BINHYEN_INCIDENTS_", self.inc_db, self.inc_group),
        ]
        for name, module, prefix, db, group in specs:
            port = free_port()
            env = {prefix + k: v for k, v in common.items()}
            env |= {
                prefix + "MONGODB_DATABASE": db,
                prefix + "CONSUMER_GROUP": group,
                prefix + "HTTP_PORT": str(port),
                prefix + "COUNTS_PUBLISH_SECONDS": "0",
            }
            self.services[name] = Service(name, module, env, port, self.workdir / f"{name}.log")

    def close(self) -> None:
        """Stop the services, wipe the servers."""
        for service in self.services.values():
            service.stop()
        for kind in ("kafka", "ferretdb"):
            server = getattr(self, kind)
            if server is not None:  # a frozen server would ignore the stop signal
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server.pid, signal.SIGCONT)
            with contextlib.suppress(Exception):
                self.ls.wipe(kind, self.instance)


# ----------------------------------------------------------------------------- load


async def _post(
    client: httpx.AsyncClient, url: str, body: Document, headers: dict[str, str]
) -> httpx.Response | None:
    try:
        return await client.post(url, json=body, headers=headers, timeout=10)
    except httpx.HTTPError:
        return None  # in doubt: no answer


async def _create(
    client: httpx.AsyncClient,
    urls: list[str],
    path: str,
    body: Document,
    headers: dict[str, str],
    until: Deadline,
    load: Load,
) -> Document | None:
    """POST with an Idempotency-Key, retrying on the next replica until answered or time's up."""
    key = uuid.uuid4().hex
    attempt = 0
    while True:
        load.attempts += 1
        url = urls[attempt % len(urls)] + path
        response = await _post(client, url, body, {**headers, "Idempotency-Key": key})
        if response is not None and response.status_code in (200, 201):
            answer: Document = response.json()
            return answer
        reason = "no answer" if response is None else str(response.status_code)
        load.refused[f"{path} {reason}"] += 1
        if response is not None and response.status_code < 500 and response.status_code != 429:
            return None  # refused for good (e.g. 422): not accepted
        if not until():
            return None
        attempt += 1
        await asyncio.sleep(min(0.2 * attempt, 2))


@dataclass
class Deadline:
    """When the load stops (moved on to run past the end of the fault)."""

    at: float

    def __call__(self) -> bool:
        return time.monotonic() < self.at


async def registry_load(
    stack: Stack, client: httpx.AsyncClient, commune: str, until: Deadline, load: Load
) -> None:
    """Create hamlets and rename them, about five writes a second."""
    registry = stack.services["registry"].url
    admin = stack.issuer.headers(("admin", "*"))
    n = 0
    while until():
        n += 1
        if n % 3 == 0 and load.units:
            unit_id = random.choice(load.units)
            load.attempts += 1
            response = await _post(
                client,
                f"{registry}/api/v1/units/{unit_id}/rename",
                {"name": f"Thôn Đổi Tên {n}"},
                admin,
            )
            if response is not None and response.status_code == 200:
                load.renames[unit_id] += 1
            else:
                load.refused[
                    "rename " + ("no answer" if response is None else str(response.status_code))
                ] += 1
        else:
            created = await _create(
                client,
                [registry],
                "/api/v1/units",
                {"kind": "hamlet", "name": f"Thôn Thử {n}", "parent_id": commune},
                admin,
                until,
                load,
            )
            if created is not None:
                load.units.append(created["id"])
        await asyncio.sleep(0.2)


async def incidents_load(
    stack: Stack,
    client: httpx.AsyncClient,
    hamlets: list[str],
    commune: str,
    until: Deadline,
    load: Load,
    worker: int,
) -> None:
    """Report incidents through both replicas and acknowledge them through the other one."""
    urls = [stack.services["incidents-a"].url, stack.services["incidents-b"].url]
    officer = stack.issuer.headers(("commune_officer", commune))
    n = 0
    while until():
        n += 1
        body = {
            "hamlet_id": random.choice(hamlets),
            "category": "theft",
            "description": f"Mất trộm xe đạp, báo cáo số {worker}-{n}",
            "occurred_at": "2026-11-30T08:00:00+07:00",
            "answers": {"stolen_items": "xe đạp"},
        }
        side = (n + worker) % 2
        created = await _create(
            client, urls[side:] + urls[:side], "/api/v1/incidents", body, officer, until, load
        )
        if created is not None:
            load.incidents.append(created["id"])
            load.attempts += 1
            response = await _post(
                client,
                f"{urls[1 - side]}/api/v1/incidents/{created['id']}/transitions",
                {"action": "acknowledge"},
                officer,
            )
            if response is not None and response.status_code == 200:
                load.acknowledged.add(created["id"])
            else:
                load.refused[
                    "ack " + ("no answer" if response is None else str(response.status_code))
                ] += 1
        await asyncio.sleep(0.1)


# ----------------------------------------------------------------------------- checks


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of a topic, up to its end, in (partition, offset) order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        for _ in range(50):
            if partitions:
                break
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or [])]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


def first_seen(records: list[Any]) -> dict[str, list[Document]]:
    """Per key, its events in offset order, a repeated delivery (same id) counted once."""
    seen: set[str] = set()
    by_key: dict[str, list[Document]] = {}
    for record in records:
        if record.value is None:
            continue
        event = json.loads(record.value)
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        by_key.setdefault(record.key.decode(), []).append(event)
    return by_key


def order_violations(by_key: dict[str, list[Document]]) -> list[str]:
    """Keys whose events' sequence numbers do not grow in offset order."""
    bad = []
    for key, events in by_key.items():
        numbers = [int(e.get("sequence") or 0) for e in events]
        if any(b <= a for a, b in itertools.pairwise(numbers)) or 0 in numbers:
            bad.append(f"{key}: {numbers}")
    return bad


async def outboxes_pending(mongo: AsyncMongoClient[Document], *dbs: str) -> int:
    """Documents with an event not yet relayed, in every collection of these databases."""
    pending = 0
    for name in dbs:
        db = mongo[name]
        for collection in await db.list_collection_names():
            pending += await db[collection].count_documents({"_outbox.0": {"$exists": True}})
    return pending


async def wait_recovered(
    stack: Stack, mongo: AsyncMongoClient[Document], since: float
) -> float | None:
    """Seconds from ``since`` until outboxes are empty and the consumer has no lag."""
    topics = [stack.prefix + REGISTRY_UNITS.name, stack.prefix + REGISTRY_ORGANISATIONS.name]
    last: object = None
    while time.monotonic() - since < RECOVERY_LIMIT + 30:
        try:
            pending = await outboxes_pending(mongo, stack.reg_db, stack.inc_db)
            lag = await consumer_lag(stack.kafka.address, stack.inc_group, topics)
            if not pending and not lag:
                return time.monotonic() - since
            last = f"{pending} documents with pending events, consumer lag {lag}"
        except Exception as exc:
            last = repr(exc)
        await asyncio.sleep(0.5)
    print(f"not recovered: {last}", file=sys.stderr)
    return None


async def check(
    stack: Stack, mongo: AsyncMongoClient[Document], load: Load, result: Result
) -> None:
    """Count what was lost, applied twice or out of order."""
    bootstrap = stack.kafka.address
    reg, inc = mongo[stack.reg_db], mongo[stack.inc_db]
    topics = {
        t.name: first_seen(await read_topic(bootstrap, stack.prefix + t.name))
        for t in (REGISTRY_UNITS, REGISTRY_PUBLIC, INCIDENTS, INCIDENTS_PUBLIC)
    }
    for name, by_key in topics.items():
        for bad in order_violations(by_key):
            result.order_violations += 1
            result.details.append(f"order {name} {bad}")

    def lost(what: str) -> None:
        result.lost += 1
        result.details.append(f"lost {what}")

    # Registry: every accepted hamlet stored with its renames; every version on the topic.
    for unit_id in load.units:
        unit = await reg["units"].find_one({"_id": unit_id})
        if unit is None:
            lost(f"unit {unit_id} (answered 201, not stored)")
            continue
        version = int(unit["version"])
        if version < 1 + load.renames[unit_id]:
            lost(f"rename of unit {unit_id} (version {version})")
        versions = {e["data"]["version"] for e in topics[REGISTRY_UNITS.name].get(unit_id, [])}
        for missing in set(range(1, version + 1)) - versions:
            lost(f"event of unit {unit_id} version {missing}")
        public = topics[REGISTRY_PUBLIC.name].get(f"unit:{unit_id}", [])
        if not public or public[-1]["data"]["version"] != version:
            lost(f"public state of unit {unit_id}")
        # The incidents consumer: applied up to the stored version, each event once.
        replica = await inc["units"].find_one({"_id": unit_id})
        if replica is None or int(replica["version"]) != version:
            lost(f"replica of unit {unit_id} in incidents")
        if replica is not None:
            applied = Counter(h["event_id"] for h in replica.get("history", []))
            result.duplicate_effects += sum(n - 1 for n in applied.values())
    # Incidents: every accepted report and acknowledgement stored; every entry on the topic.
    for incident_id in load.incidents:
        incident = await inc["incidents"].find_one({"_id": incident_id})
        if incident is None:
            lost(f"incident {incident_id} (answered 201, not stored)")
            continue
        kinds = [e["kind"] for e in incident["timeline"]]
        if incident_id in load.acknowledged and "acknowledge" not in kinds:
            lost(f"acknowledgement of {incident_id}")
    async for incident in inc["incidents"].find({}):
        seqs = {e["seq"] for e in incident["timeline"]}
        on_topic = {e["data"]["seq"] for e in topics[INCIDENTS.name].get(incident["_id"], [])}
        for missing in seqs - on_topic:
            lost(f"event {missing} of incident {incident['_id']}")
        public = topics[INCIDENTS_PUBLIC.name].get(incident["_id"], [])
        if not public or public[-1]["data"]["status"] != incident["status"]:
            lost(f"public status of incident {incident['_id']}")


# ----------------------------------------------------------------------------- one run


async def run_once(fault: str, *, workdir: Path, load_seconds: float = 40) -> Result:
    """Start everything, load, inject ``fault``, check."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    stack = Stack(workdir)
    load = Load()
    try:
        await asyncio.to_thread(stack.start_servers)
        # The deploy step: services never create topics.
        await create_topics(stack.kafka.address, entries_of(DEPLOYED_TOPICS), prefix=stack.prefix)
        stack.make_services()
        for service in stack.services.values():
            service.start()
        async with httpx.AsyncClient() as client:
            for service in stack.services.values():
                await service.wait_ready(client)
            commune, hamlets = await setup(stack, client)
            fault_at = load_seconds / 3
            until = Deadline(time.monotonic() + load_seconds)
            loads = [
                asyncio.create_task(registry_load(stack, client, commune, until, load)),
                *(
                    asyncio.create_task(
                        incidents_load(stack, client, hamlets, commune, until, load, w)
                    )
                    for w in range(3)
                ),
            ]
            await asyncio.sleep(fault_at)
            fault_end = await inject(stack, fault, client)
            until.at = max(until.at, fault_end + load_seconds / 3)  # writes go on after it
            await asyncio.gather(*loads)
            mongo: AsyncMongoClient[Document] = AsyncMongoClient(
                stack.ferretdb.address, tz_aware=True
            )
            try:
                recovery = await wait_recovered(stack, mongo, fault_end)
                result = Result(fault, load.accepted, 0, 0, 0, recovery)
                await check(stack, mongo, load, result)
            finally:
                await mongo.close()
            result.details.append(f"attempts={load.attempts} refused={dict(load.refused)}")
            return result
    finally:
        await asyncio.to_thread(stack.close)


async def setup(stack: Stack, client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Province → town → commune → four hamlets, known to both incidents replicas."""
    registry = stack.services["registry"].url
    admin = stack.issuer.headers(("admin", "*"))

    async def unit(kind: str, name: str, parent: str | None) -> str:
        body: Document = {"kind": kind, "name": name}
        if parent:
            body["parent_id"] = parent
        response = await client.post(f"{registry}/api/v1/units", json=body, headers=admin)
        response.raise_for_status()
        unit_id: str = response.json()["id"]
        return unit_id

    province = await unit("province", "Hà Tĩnh", None)
    town = await unit("town", "Kỳ Anh", province)
    commune = await unit("commune", "Kỳ Nam", town)
    hamlets = [
        await unit("hamlet", f"Thôn {n}", commune) for n in ("Tân Thành", "Quý Huệ", "Đông", "Tây")
    ]
    for name in ("incidents-a", "incidents-b"):
        url = stack.services[name].url
        for hamlet in hamlets:
            await _until(functools.partial(_known, client, url, hamlet, admin), f"{name} knows it")
    return commune, hamlets


async def _known(client: httpx.AsyncClient, url: str, hamlet: str, headers: dict[str, str]) -> bool:
    response = await client.get(f"{url}/api/v1/hamlets/{hamlet}", headers=headers)
    return response.status_code == 200


async def _until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"timed out waiting until {what}")


async def inject(stack: Stack, fault: str, client: httpx.AsyncClient) -> float:
    """Inject the fault; return when it ended (the monotonic clock)."""
    if fault in ("kafka-kill", "ferretdb-kill"):
        kind = fault.split("-")[0]
        os.kill(getattr(stack, kind).pid, signal.SIGKILL)
        # Down longer than a producer's request timeout (15 s): sends fail, not just wait.
        await asyncio.sleep(20 if kind == "kafka" else 5)
        await asyncio.to_thread(stack.restart, kind)
    elif fault == "replica-kill":
        replica = stack.services["incidents-b"]
        replica.kill()
        await asyncio.sleep(3)
        replica.start()
        await replica.wait_ready(client)
    elif fault == "kafka-pause":
        os.kill(stack.kafka.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(30)
        finally:
            os.kill(stack.kafka.pid, signal.SIGCONT)
    return time.monotonic()


# ----------------------------------------------------------------------------- main


def summary(results: list[Result]) -> str:
    """The summary table: per fault and in all."""
    lines = [
        "| fault | runs | accepted writes | lost | duplicate effects | order violations "
        "| worst recovery | all OK |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    groups = {f: [r for r in results if r.fault == f] for f in FAULTS}
    groups["all"] = results
    for fault, rs in groups.items():
        if not rs:
            continue
        recoveries = [r.recovery_seconds for r in rs]
        worst = (
            "never"
            if None in recoveries
            else f"{max(r for r in recoveries if r is not None):.1f} s"
        )
        lines.append(
            f"| {fault} | {len(rs)} | {sum(r.accepted for r in rs)} | {sum(r.lost for r in rs)} "
            f"| {sum(r.duplicate_effects for r in rs)} | {sum(r.order_violations for r in rs)} "
            f"| {worst} | {'yes' if all(r.ok for r in rs) else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Run the faults ``--runs`` times each (interleaved), print lines and the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each fault")
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--seconds", type=float, default=40, help="load per run")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".run" / "faults")
    parser.add_argument("--verbose", action="store_true", help="print what each run found")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    results = []
    for n in range(args.runs):
        for fault in faults:
            result = asyncio.run(
                run_once(fault, workdir=args.workdir / f"{n}-{fault}", load_seconds=args.seconds)
            )
            results.append(result)
            print(f"run {len(results):3} {result.line()}", flush=True)
            if args.verbose or not result.ok:
                for detail in result.details[:20]:
                    print(f"    {detail}", flush=True)
    print()
    print(summary(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
