"""Notifications benchmark: fan-out, webhook throughput, end-to-end latency (issue 12).

    uv run --frozen python bench/notifications/run.py [--part all|fanout|webhook|latency]
        [--recipients 10000] [--deliveries 4000] [--endpoints 50] [--reports 200]

1. **Fan-out**: one manual gong to ``--recipients`` consenting residents of one hamlet; time
   from the POST until ``deliveries`` holds one document per recipient (goal ≤ 3 s), with a
   breakdown of where ``_fan_out`` spends it. The dispatcher is stopped (sends would compete
   for the same core; this measures queueing). Residents: one is replicated through
   ``replicas.replicate_resident``, the rest are bulk copies of the document it wrote
   (``--seed events`` replicates every one through the use case instead: slower to build).
2. **Webhook throughput** to a receiver process that answers after 50 ms (goal ≥ 500/s):
   many endpoints of a commune, and one endpoint at ``dispatch_per_target`` 4 (by
   construction ≤ 4 / 50 ms = 80/s) and raised. Deliveries are queued with the dispatcher
   stopped, then it starts: the rate is deliveries ÷ (start → last request received).
3. **End-to-end latency**: incidents and notifications in this process on real Kafka and
   FerretDB, a webhook endpoint and a policy alerting on every report; from the answer to
   ``POST /api/v1/incidents`` to the webhook's arrival, p50/p99 at a quarter of the peak
   report rate (peak measured first with a burst), beside a bare aiokafka produce→consume
   round trip measured in the same run (goal p50 ≤ 20 ms, p99 ≤ 100 ms).

Starts its own Kafka and FerretDB (deploy/local, instance ``bench-ntf``) unless
BINHYEN_TEST_KAFKA and BINHYEN_TEST_MONGODB name running servers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import inspect
import io
import logging
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.incidents import sample_world as incidents_world
from binhyen.incidents.app import create_app as create_incidents_app
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.kafka import client_kwargs
from binhyen.kit.testing import TestIssuer, serve
from binhyen.kit.testing.servers import free_port, load_localservers
from binhyen.kit.topics import TopicEntry, create_topics, entries_of
from binhyen.notifications import sample_world as world
from binhyen.notifications.app import create_app
from binhyen.notifications.service import alerts, audience, gong, replicas
from binhyen.notifications.service.common import Context
from binhyen.notifications.service.dispatch import Dispatcher
from binhyen.notifications.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = Path(__file__).resolve().parent / "receiver.py"
INSTANCE = "bench-ntf" + (
    f"-{os.environ['BINHYEN_TEST_INSTANCE']}" if os.environ.get("BINHYEN_TEST_INSTANCE") else ""
)
Document = dict[str, Any]
T = TypeVar("T")


# ------------------------------------------------------------------------------- servers


@dataclass
class Backing:
    """Kafka, MongoDB and the token issuer every app of the run trusts."""

    kafka: str
    mongodb: str
    issuer: TestIssuer = field(default_factory=TestIssuer)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])


@contextmanager
def backing_servers() -> Iterator[Backing]:
    """The run's servers: given ones, or private local ones wiped at the end."""
    kafka, mongodb = os.environ.get("BINHYEN_TEST_KAFKA"), os.environ.get("BINHYEN_TEST_MONGODB")
    if kafka and mongodb:
        yield Backing(kafka, mongodb)
        return
    local = load_localservers(ROOT)
    try:
        kafka = local.start("kafka", INSTANCE, port=0).address
        mongodb = local.start("ferretdb", INSTANCE, port=0).address
        yield Backing(kafka, mongodb)
    finally:
        local.wipe("kafka", INSTANCE)
        local.wipe("ferretdb", INSTANCE)


async def ntf_settings(backing: Backing, name: str, **overrides: Any) -> Settings:
    """Notifications on the bench servers: its own database, topics and group."""
    prefix = overrides.pop("topic_prefix", f"bn{backing.run}{name}.")
    await create_topics(backing.kafka, entries_of(DEPLOYED_TOPICS), prefix=prefix)
    values: dict[str, Any] = {
        "mongodb_uri": backing.mongodb,
        "mongodb_database": f"bench_ntf_{backing.run}_{name}",
        "kafka_bootstrap": backing.kafka,
        "topic_prefix": prefix,
        "consumer_group": f"bench-ntf-{backing.run}-{name}",
        "environment": "test",
        "auth_issuer": backing.issuer.issuer,
        "auth_jwks_json": backing.issuer.jwks_json,
        "link_secret": secrets.token_urlsafe(32),  # made per run, never stored
        "allow_private_targets": True,  # the receiver listens on 127.0.0.1
        "mongodb_timeout_ms": 30_000,
    }
    return Settings.model_validate(values | overrides)


@contextmanager
def receiver_process(delay_ms: float) -> Iterator[str]:
    """The webhook receiver in its own process; its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port), "--delay-ms", str(delay_ms)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.05)  # waiting on a condition with a deadline
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def receiver_stats(client: httpx.AsyncClient, url: str) -> Document:
    """What the receiver counted."""
    answer = await client.get(f"{url}/stats")
    answer.raise_for_status()
    stats: Document = answer.json()
    return stats


async def wait_for(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float, every: float = 0.01
) -> None:
    """Poll ``check`` until true; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
        await asyncio.sleep(every)


async def seed_units(ctx: Context) -> None:
    """The sample world's units only (no residents, no team)."""
    for event in world.world_events(ctx.clock.now()):
        if event.type.startswith("vn.binhyen.registry.unit"):
            await replicas.replicate_unit(event, stores=ctx.stores)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def verdict(ok: bool) -> str:
    """A word beside a goal."""
    return "met" if ok else "MISSED"


# ------------------------------------------------------------------------------- 1. fan-out


class Timings:
    """Time spent in wrapped calls: name → (calls, seconds)."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self.first_end: dict[str, float] = {}  # name → perf_counter when a call first returned

    def add(self, name: str, seconds: float) -> None:
        """Count one call."""
        self.first_end.setdefault(name, time.perf_counter())
        entry = self.spent.setdefault(name, [0.0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def wrap_async(self, name: str, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        """``fn`` timed."""

        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> T:
            t = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t)

        return timed

    def wrap_sync(self, name: str, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` timed."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> T:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - t)

        return timed


Patch = tuple[object, str, str]  # owner, attribute, label
DELIVERIES_ADD = "stores.deliveries.add (insert_many)"


def fanout_parts(ctx: Context) -> list[Patch]:
    """The parts of ``alerts._fan_out`` worth timing."""
    stores = ctx.stores
    targets: list[Patch] = [
        (gong, "strike", "gong.strike (total)"),
        (stores.recipients, "reach", "stores.recipients.reach (the POST's answer)"),
        (alerts, "_insert", "alerts._insert (the alert, its events)"),
        (alerts, "advance", "alerts.advance (total)"),
        (alerts, "_fan_out", "alerts._fan_out (total)"),
        (audience, "resolve", "audience.resolve (total)"),
        (alerts, "delivery_doc", "alerts.delivery_doc"),
        (alerts, "link_token", "alerts.link_token"),
        (alerts, "reply_code", "alerts.reply_code"),
        (stores.residents, "in_units", "stores.residents.in_units"),
        (stores.preferences, "many", "stores.preferences.many"),
        (stores.push, "of", "stores.push.of"),
        (stores.recipients, "add", "stores.recipients.add (insert_many)"),
        (stores.deliveries, "add", DELIVERIES_ADD),
    ]
    if ctx.relay is not None:
        targets.append((ctx.relay, "hand_over", "relay.hand_over (outbox entries)"))
    return targets


def dispatch_parts(ctx: Context) -> list[Patch]:
    """The parts of a delivery's attempt worth timing (and the relay's passes beside them)."""
    stores = ctx.stores
    targets: list[Patch] = [
        (stores.deliveries, "claim", "stores.deliveries.claim"),
        (stores.alerts, "get", "stores.alerts.get"),
        (stores.endpoints, "get", "stores.endpoints.get"),
        (stores.recipients, "get", "stores.recipients.get"),
        (ctx.channels["webhook"], "send", "webhook channel send (HTTP)"),
        (stores.deliveries, "finish", "stores.deliveries.finish"),
        (stores.recipients, "delivered", "stores.recipients.delivered"),
    ]
    if ctx.relay is not None:
        for attr in ("_relay_handed", "_relay_hinted", "relay_once"):
            targets.append((ctx.relay, attr, f"relay.{attr} (its own task)"))
    return targets


@contextmanager
def instrumented(targets: list[Patch], timings: Timings) -> Iterator[None]:
    """Time calls to ``targets`` (module functions, or methods of one object).

    Patching is fine here: this is a measurement, not a test, and nothing is faked.
    """
    saved: list[tuple[object, str, Any, bool]] = []
    for owner, attr, label in targets:
        original = getattr(owner, attr)
        own = attr in vars(owner)  # a module's function, or a method found on the class
        saved.append((owner, attr, original, own))
        wrap = timings.wrap_async if inspect.iscoroutinefunction(original) else timings.wrap_sync
        setattr(owner, attr, wrap(label, original))
    try:
        yield
    finally:
        for owner, attr, original, own in reversed(saved):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)  # the instance attribute hid the class's method


async def add_residents(ctx: Context, count: int, *, via_events: bool) -> float:
    """``count`` consenting residents in Tân Thành; seconds it took."""
    t = time.perf_counter()

    def event(i: int) -> Any:
        return world.person_event(
            f"bench-r{i}", f"bench-hh{i // 4}", f"Cư dân {i}", f"+8491{i:07d}", True
        )

    if via_events:
        for start in range(0, count, 50):
            await asyncio.gather(
                *(
                    replicas.replicate_resident(event(i), stores=ctx.stores)
                    for i in range(start, min(count, start + 50))
                )
            )
        return time.perf_counter() - t
    await replicas.replicate_resident(event(0), stores=ctx.stores)
    template = await ctx.stores.residents.collection.find_one({"_id": "bench-r0"})
    assert template is not None
    batch: list[Document] = []
    for i in range(1, count):
        batch.append(
            {
                **template,
                "_id": f"bench-r{i}",
                "person_id": f"bench-r{i}",
                "household_id": f"bench-hh{i // 4}",
                "full_name": f"Cư dân {i}",
                "phones": [f"+8491{i:07d}"],
            }
        )
        if len(batch) == 1000 or i == count - 1:
            await ctx.stores.residents.collection.insert_many(batch, ordered=False)
            batch = []
    return time.perf_counter() - t


async def fan_out(
    backing: Backing, recipients: int, *, via_events: bool, profile: bool, sweep: float | None
) -> None:
    """Part 1: one gong to ``recipients`` residents; time until every delivery is queued."""
    tuned = {} if sweep is None else {"escalation_sweep_seconds": sweep}
    settings = await ntf_settings(backing, "fanout", **tuned)
    print(f"escalation sweep every {settings.escalation_sweep_seconds:g} s")
    issuer = backing.issuer
    async with serve(create_app(settings)) as (client, rt):
        ctx: Context = rt.context
        await rt.worker(Dispatcher).stop()  # queueing only: no sends competing for the core
        await world.seed_world(ctx)
        there = sum(1 for r in await ctx.stores.residents.in_units([world.HAMLET]) if r.consent)
        built = await add_residents(ctx, recipients - there, via_events=via_events)
        how = "replicate_resident per event" if via_events else "1 replicated + bulk copies"
        print(f"world: {recipients} consenting residents in one hamlet ({how}, {built:.1f} s)")
        # Warm up: the first request builds the OpenAPI document (about 1 s) and the caches.
        warm = await client.post(
            "/api/v1/alerts",
            json=world.strike_body(hamlet_ids=[world.HAMLET2]),
            headers=issuer.headers(("hamlet_officer", world.HAMLET2)),
        )
        assert warm.status_code == 201, warm.text
        timings = Timings()
        profiler = cProfile.Profile() if profile else None
        with instrumented(fanout_parts(ctx), timings):
            if profiler is not None:
                profiler.enable()
            t0 = time.perf_counter()
            answer = await client.post(
                "/api/v1/alerts",
                json=world.strike_body(),
                headers=issuer.headers(("hamlet_officer", world.HAMLET)),
                timeout=120,
            )
            answered = time.perf_counter() - t0
            assert answer.status_code == 201, answer.text
            alert_id = answer.json()["id"]
            deliveries = ctx.stores.deliveries.collection

            async def all_queued() -> bool:
                return await deliveries.count_documents({"alert_id": alert_id}) >= recipients

            await wait_for(all_queued, "every delivery", timeout=300)
            queued = time.perf_counter() - t0
            if profiler is not None:
                profiler.disable()
        t1 = time.perf_counter()  # (FerretDB counts by scanning: slow, hence the timing above)
        count = await deliveries.count_documents({"alert_id": alert_id})
        counting = time.perf_counter() - t1
        # The floor: the same delivery documents, plain insert_many into a fresh collection.
        docs = [d async for d in deliveries.find({"alert_id": alert_id})]
        bare = rt.db["bench_bare_deliveries"]
        await bare.insert_one({"_id": "warm"})
        t2 = time.perf_counter()
        for start in range(0, len(docs), 1000):
            await bare.insert_many(docs[start : start + 1000], ordered=False)
        bare_seconds = time.perf_counter() - t2
        await rt.mongo.drop_database(settings.mongodb_database)
    written = timings.first_end[DELIVERIES_ADD] - t0
    print(
        f"every delivery written (deliveries.add returned) {written:7.2f} s   goal ≤ 3 s: "
        f"{verdict(written <= 3)}   ({count / written:,.0f} deliveries/s)"
    )
    print(f"POST /api/v1/alerts answered (201)               {answered:7.2f} s")
    print(f"a poll saw {count:>6} deliveries of the alert     {queued:7.2f} s")
    print(
        f"bare insert_many of the same {count} documents     {bare_seconds:7.2f} s   "
        "(the database's floor, no indexes but _id)"
    )
    print(f"(one count_documents by alert_id takes {counting * 1000:.0f} ms afterwards)")
    print("where the time goes (wall time inside each call, summed; nested calls overlap):")
    for name, (calls, seconds) in sorted(timings.spent.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:<44} {int(calls):>6} calls  {seconds:7.3f} s")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


# ------------------------------------------------------------------------------- 2. webhooks


async def webhook_rate(
    backing: Backing,
    receiver: str,
    *,
    endpoints: int,
    deliveries: int,
    per_target: int,
    slow: bool = False,
) -> tuple[float, float, int, int, Timings]:
    """Deliveries/s to ``endpoints`` endpoints; (rate, seconds, received, distinct ids).

    With ``slow``, one more endpoint (a path under /slow/, answering after 5 s) gets every
    alert too; the figures count the others only.
    """
    name = f"wh{endpoints}x{per_target}{'s' if slow else ''}"
    settings = await ntf_settings(backing, name, dispatch_per_target=per_target)
    admin = backing.issuer.headers(("admin", "*"))
    alerts_needed = max(1, deliveries // endpoints)
    total = alerts_needed * endpoints
    async with (
        serve(create_app(settings)) as (client, rt),
        httpx.AsyncClient(timeout=30) as plain,
    ):
        ctx: Context = rt.context
        await seed_units(ctx)
        for i in range(endpoints):
            made = await client.post(
                "/api/v1/endpoints",
                json={"unit_id": world.COMMUNE, "name": f"Bench {i}", "url": f"{receiver}/h/{i}"},
                headers=admin,
            )
            assert made.status_code == 201, made.text
        if slow:
            made = await client.post(
                "/api/v1/endpoints",
                json={"unit_id": world.COMMUNE, "name": "Slow", "url": f"{receiver}/slow/0"},
                headers=admin,
            )
            assert made.status_code == 201, made.text
        dispatcher = rt.worker(Dispatcher)
        await dispatcher.stop()  # queue everything first, then measure the sends alone
        officer = backing.issuer.headers(("hamlet_officer", world.HAMLET))
        for _ in range(alerts_needed):
            struck = await client.post("/api/v1/alerts", json=world.strike_body(), headers=officer)
            assert struck.status_code == 201, struck.text
        queued = await ctx.stores.deliveries.collection.count_documents({"status": "queued"})
        assert queued == total + (alerts_needed if slow else 0), (queued, total)
        (await plain.delete(f"{receiver}/stats")).raise_for_status()
        timings = Timings()
        with instrumented(dispatch_parts(ctx), timings):
            started = time.time()
            await dispatcher.start()

            async def all_received() -> bool:
                return int((await receiver_stats(plain, receiver))["count"]) >= total

            await wait_for(all_received, f"{total} webhooks", timeout=600, every=0.05)
            stats = await receiver_stats(plain, receiver)
            await dispatcher.stop()
        await rt.mongo.drop_database(settings.mongodb_database)
    seconds = float(stats["last"]) - started
    return total / seconds, seconds, int(stats["count"]), int(stats["distinct"]), timings


async def webhooks(
    backing: Backing, deliveries: int, endpoints: int, per_target_high: int, delay_ms: float
) -> None:
    """Part 2: deliveries per second to a receiver that answers after ``delay_ms``."""
    single = max(100, deliveries // 10)  # one endpoint: one gong per delivery (slow to set up)
    configs = [
        (endpoints, deliveries, 4),
        (1, single, 4),
        (1, single, per_target_high),
    ]
    print(f"receiver: its own process, 200 after {delay_ms:.0f} ms; dispatch_concurrency 200")
    print(
        f"{'endpoints':>9} {'per target':>10} {'deliveries':>10} {'seconds':>8} "
        f"{'deliveries/s':>12} {'bound by':>22}  goal ≥ 500/s"
    )
    breakdowns: list[tuple[str, Timings]] = []
    with receiver_process(delay_ms) as receiver:
        for count, total, per_target in configs:
            bound = min(count * per_target, 200) / (delay_ms / 1000)
            rate, seconds, received, distinct, timings = await webhook_rate(
                backing, receiver, endpoints=count, deliveries=total, per_target=per_target
            )
            note = f"{bound:,.0f}/s (in flight)"
            print(
                f"{count:>9} {per_target:>10} {received:>10} {seconds:>8.2f} {rate:>12.1f} "
                f"{note:>22}  {verdict(rate >= 500)}"
                + (f"  ({received - distinct} repeats)" if received != distinct else ""),
                flush=True,
            )
            breakdowns.append((f"{count} endpoint(s), {per_target} per target", timings))
    print("mean time inside each call, per call (calls run side by side, so they overlap):")
    for label, timings in breakdowns:
        parts = "  ".join(
            f"{name.split(' ')[0].removeprefix('stores.')} {seconds / calls * 1000:.0f} ms"
            for name, (calls, seconds) in timings.spent.items()
            if calls
        )
        print(f"  {label}: {parts}")


async def isolation(backing: Backing, deliveries: int, endpoints: int, delay_ms: float) -> None:
    """Part 2b: how much one dead-slow endpoint (5 s answers) delays the deliveries to others."""
    print(
        f"{endpoints} endpoints answering after {delay_ms:.0f} ms, {deliveries} deliveries to "
        "them; then the same with one more endpoint taking every alert and answering after 5 s"
    )
    with receiver_process(delay_ms) as receiver:
        alone, alone_s, *_ = await webhook_rate(
            backing, receiver, endpoints=endpoints, deliveries=deliveries, per_target=4
        )
        beside, beside_s, *_ = await webhook_rate(
            backing, receiver, endpoints=endpoints, deliveries=deliveries, per_target=4, slow=True
        )
    delay = (beside_s - alone_s) / alone_s * 100
    print(f"  without the slow endpoint   {alone_s:7.2f} s  {alone:7.1f}/s")
    print(f"  with it                     {beside_s:7.2f} s  {beside:7.1f}/s")
    print(f"  the others delayed by {delay:+.1f} %   goal ≤ 10 %: {verdict(delay <= 10)}")


# ------------------------------------------------------------------------------- 3. latency


async def kafka_round_trips(bootstrap: str, count: int, linger_ms: int) -> list[float]:
    """Seconds from ``send`` to the consumer holding the record, one record at a time."""
    topic = f"bench.ntf.rtt.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [TopicEntry(topic, 1)])
    # The relay's producer settings (kit.kafka.new_producer), the linger aside.
    producer = AIOKafkaProducer(
        **client_kwargs(bootstrap),
        client_id="bench-rtt",
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
    )
    consumer = AIOKafkaConsumer(**client_kwargs(bootstrap), client_id="bench-rtt")
    await producer.start()
    await consumer.start()
    part = TopicPartition(topic, 0)
    consumer.assign([part])
    await consumer.seek_to_end(part)
    times: list[float] = []
    try:
        for i in range(count + 10):  # the first ten warm up
            t = time.perf_counter()
            await producer.send(topic, str(i).encode())
            while True:
                record = await consumer.getone()
                if record.value == str(i).encode():
                    break
            if i >= 10:
                times.append(time.perf_counter() - t)
    finally:
        await consumer.stop()
        await producer.stop()
    return times


async def policy_for_every_report(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A commune policy: every reported incident (low and up) goes to its webhooks at once."""
    template = {
        "headline": "{{ event }} tại {{ hamlet }}",
        "text": "{{ event }} tại {{ hamlet }} lúc {{ time }}.",
        "body": "{{ event }} tại {{ hamlet }}, {{ commune }}, lúc {{ time }}.",
    }
    body = {
        "unit_id": world.COMMUNE,
        "name": "Bench: mọi vụ việc",
        "triggers": [{"kind": "incident_reported", "min_severity": "low"}],
        "steps": [{"delay_seconds": 0, "targets": [{"kind": "endpoints"}]}],
        "channels": ["webhook"],
        "templates": {"vi": template},
        "remind_after_seconds": None,
    }
    made = await client.post("/api/v1/policies", json=body, headers=headers)
    assert made.status_code == 201, made.text


@asynccontextmanager
async def two_services(
    backing: Backing, receiver: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Context]]:
    """Incidents and notifications over one Kafka, a policy and a webhook endpoint."""
    prefix = f"bn{backing.run}e2e."
    ntf = await ntf_settings(backing, "e2e", topic_prefix=prefix)
    inc = IncidentsSettings(
        mongodb_uri=backing.mongodb,
        mongodb_database=f"bench_inc_{backing.run}",
        kafka_bootstrap=backing.kafka,
        topic_prefix=prefix,
        consumer_group=f"bench-inc-{backing.run}",
        environment="test",
        auth_issuer=backing.issuer.issuer,
        auth_jwks_json=backing.issuer.jwks_json,
        mongodb_timeout_ms=30_000,
    )
    admin = backing.issuer.headers(("admin", "*"))
    async with (
        serve(create_app(ntf)) as (nclient, nrt),
        serve(create_incidents_app(inc)) as (iclient, irt),
    ):
        await seed_units(nrt.context)
        await incidents_world.seed_world(irt)
        await policy_for_every_report(nclient, admin)
        made = await nclient.post(
            "/api/v1/endpoints",
            json={"unit_id": world.COMMUNE, "name": "Bench", "url": f"{receiver}/e2e"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        try:
            yield iclient, nrt.context
        finally:
            await nrt.mongo.drop_database(ntf.mongodb_database)
            await irt.mongo.drop_database(inc.mongodb_database)


class Stages:
    """When each incident reached each stage inside notifications: stage → incident → time."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {}

    def note(self, stage: str, incident_id: object) -> None:
        """Record the first time ``incident_id`` reached ``stage``."""
        if isinstance(incident_id, str):
            self.at.setdefault(stage, {}).setdefault(incident_id, time.time())

    def hook(
        self, owner: object, attr: str, key: Callable[..., object], start: str, end: str | None
    ) -> tuple[object, str, Any, bool]:
        """Replace ``owner.attr`` (async) by a version that stamps ``start`` and ``end``."""
        original = getattr(owner, attr)
        own = attr in vars(owner)  # a module's function, or a method found on the class

        @functools.wraps(original)
        async def stamped(*args: Any, **kwargs: Any) -> Any:
            incident = key(*args, **kwargs)
            self.note(start, incident)
            result = await original(*args, **kwargs)
            if end is not None:
                self.note(end, incident)
            return result

        setattr(owner, attr, stamped)
        return owner, attr, original, own


@contextmanager
def staged(ctx: Context, stages: Stages) -> Iterator[None]:
    """Stamp the stages an incident goes through in notifications."""
    webhook = ctx.channels["webhook"]
    hooks = [
        stages.hook(
            alerts, "raise_for", lambda _ctx, occ: occ.incident_id, "consumer handler", None
        ),
        stages.hook(
            alerts,
            "_fan_out",
            lambda _ctx, alert, _wave: alert.get("incident_id"),
            "fan-out starts",
            "deliveries queued",
        ),
        stages.hook(
            webhook,
            "send",
            lambda message: message.payload.get("incident_id"),
            "webhook send starts",
            None,
        ),
    ]
    try:
        yield
    finally:
        for owner, attr, original, own in reversed(hooks):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)


@dataclass
class Reports:
    """Reports sent: incident id → time.time() the POST was answered."""

    answered: dict[str, float] = field(default_factory=dict)
    post_seconds: list[float] = field(default_factory=list)


async def report_one(client: httpx.AsyncClient, headers: dict[str, str], reports: Reports) -> None:
    """POST one incident and note when it was answered."""
    t = time.perf_counter()
    answer = await client.post(
        "/api/v1/incidents", json=incidents_world.report_body(), headers=headers
    )
    reports.answered[answer.json()["id"]] = time.time()
    assert answer.status_code == 201, answer.text
    reports.post_seconds.append(time.perf_counter() - t)


async def all_arrived(plain: httpx.AsyncClient, receiver: str, reports: Reports) -> Document:
    """Wait until every report's webhook arrived; the receiver's stats."""
    stats: Document = {}

    async def done() -> bool:
        nonlocal stats
        stats = await receiver_stats(plain, receiver)
        return set(reports.answered) <= set(stats["incidents"])

    await wait_for(done, "every report's webhook", timeout=300, every=0.05)
    return stats


async def latency(backing: Backing, reports_count: int, burst: int, rate: float | None) -> None:
    """Part 3: report → webhook latency at a quarter of the peak rate, beside Kafka's."""
    bare5 = await kafka_round_trips(backing.kafka, 200, linger_ms=5)
    bare0 = await kafka_round_trips(backing.kafka, 200, linger_ms=0)
    officer = backing.issuer.headers(("hamlet_officer", incidents_world.HAMLET))
    with receiver_process(0) as receiver:
        async with (
            two_services(backing, receiver) as (client, ctx),
            httpx.AsyncClient(timeout=30) as plain,
        ):
            warm = Reports()
            await report_one(client, officer, warm)  # joins the group, warms the caches
            await all_arrived(plain, receiver, warm)
            if rate is None:  # peak: a burst, 16 at a time, until every webhook arrived
                peak_reports = Reports()
                t0 = time.time()
                lanes = asyncio.Semaphore(16)

                async def one() -> None:
                    async with lanes:
                        await report_one(client, officer, peak_reports)

                await asyncio.gather(*(one() for _ in range(burst)))
                stats = await all_arrived(plain, receiver, peak_reports)
                last = max(stats["incidents"][i] for i in peak_reports.answered)
                peak = burst / (last - t0)
                rate = peak / 4
                print(f"peak: {burst} reports, 16 at a time → {peak:.1f} reports/s end to end")
            reports = Reports()
            stages = Stages()
            interval = 1 / rate
            with staged(ctx, stages):
                start = time.perf_counter()
                tasks = []
                for i in range(reports_count):  # open loop: one report every interval
                    delay = start + i * interval - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(report_one(client, officer, reports)))
                await asyncio.gather(*tasks)
                stats = await all_arrived(plain, receiver, reports)
    lat = [(stats["incidents"][i] - t) * 1000 for i, t in reports.answered.items()]
    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
    print(f"load: {reports_count} reports at {rate:.1f}/s (a quarter of the peak), open loop")
    print(
        f"POST /api/v1/incidents itself            p50 {pct(reports.post_seconds, 0.5) * 1000:6.1f}"
        f" ms  p99 {pct(reports.post_seconds, 0.99) * 1000:6.1f} ms"
    )
    print(
        f"answered → webhook received              p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {max(lat):6.1f} ms   goal p50 ≤ 20 ms: {verdict(p50 <= 20)}, "
        f"p99 ≤ 100 ms: {verdict(p99 <= 100)}"
    )
    print("where it goes (median and p99 of each step, ms):")
    stages.at["webhook received"] = {i: stats["incidents"][i] for i in reports.answered}
    previous, before = "POST answered", reports.answered
    for stage in (
        "consumer handler",
        "fan-out starts",
        "deliveries queued",
        "webhook send starts",
        "webhook received",
    ):
        now = stages.at.get(stage, {})
        steps = [(now[i] - before[i]) * 1000 for i in reports.answered if i in now and i in before]
        if steps:
            print(
                f"  {previous + ' → ' + stage:<45} p50 {pct(steps, 0.5):6.1f}  "
                f"p99 {pct(steps, 0.99):6.1f}"
            )
        previous, before = stage, now
    for label, trips in (("linger 5 ms, as the relay", bare5), ("linger 0 ms", bare0)):
        ms = [t * 1000 for t in trips]
        print(
            f"bare aiokafka produce→consume, {label:<26} p50 {pct(ms, 0.5):6.1f} ms  "
            f"p99 {pct(ms, 0.99):6.1f} ms  (mean {statistics.fmean(ms):.1f})"
        )


# ------------------------------------------------------------------------------- main


async def main_async(args: argparse.Namespace) -> None:
    """Run the parts asked for."""
    parts = ["fanout", "webhook", "isolation", "latency"] if args.part == "all" else [args.part]
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # fresh topics: leader noise
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, shared (load average {load}); local Kafka, FerretDB")
    with backing_servers() as backing:
        if "fanout" in parts:
            print("\n== 1. fan-out of one alert")
            await fan_out(
                backing,
                args.recipients,
                via_events=args.seed == "events",
                profile=args.profile,
                sweep=args.escalation_sweep,
            )
        if "webhook" in parts:
            print("\n== 2. webhook deliveries per second")
            await webhooks(backing, args.deliveries, args.endpoints, args.per_target, args.delay_ms)
        if "isolation" in parts:
            print("\n== 2b. one slow endpoint beside the others")
            await isolation(backing, args.deliveries // 4, 10, args.delay_ms)
        if "latency" in parts:
            print("\n== 3. end-to-end latency, report → webhook")
            await latency(backing, args.reports, args.burst, args.rate)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=["all", "fanout", "webhook", "isolation", "latency"], default="all"
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--seed", choices=["bulk", "events"], default="bulk")
    parser.add_argument("--profile", action="store_true", help="cProfile the fan-out")
    parser.add_argument(
        "--escalation-sweep",
        type=float,
        default=None,
        help="seconds between escalation sweeps in part 1 (default: the service's)",
    )
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--per-target", type=int, default=64, help="the raised per-target limit")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--burst", type=int, default=100, help="reports of the peak burst")
    parser.add_argument("--rate", type=float, default=None, help="skip the peak; reports/s")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
