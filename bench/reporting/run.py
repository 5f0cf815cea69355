"""Benchmark: the reporting service's rebuild from a million events (issue 13).

    uv run --frozen python bench/reporting/run.py                 # 1,000,000 events (~25 min)
    uv run --frozen python bench/reporting/run.py --quick         # about 100,000 events
    uv run --frozen python bench/reporting/run.py --quick --chunk-in 500 --chunk-updates 50 \
        --db-stats --py-spy                                        # and where the time goes

1. **History**: a commune history from ``sample_history`` sized to about ``--events`` by the
   number of hamlets, published to the topics reporting consumes (key = ``Published.key``,
   value = ``event.to_json()``) by one batching producer (acks=all, idempotent, linger, no
   await per record). By default in event-time order, as live services publish (the encoded
   records are sorted in memory); ``--order aggregate`` streams each aggregate's events
   together, as generated. Prints the mix by topic and the rate.
2. **Raw baseline**, same run: a plain aiokafka consumer (no group, every partition assigned,
   from the beginning, the rebuild's fetch settings) reads every consumed topic to its end
   offsets, once counting bytes and once ``json.loads``-ing each value. Two more in-process
   passes show what the rebuild's own CPU work costs without any write: ``parse_event``
   (pydantic) and ``parse_event`` + ``projections.fold``.
3. **Rebuild**: ``python -m binhyen.reporting rebuild`` as a subprocess (settings from
   ``BINHYEN_REPORTING_*``, the service's defaults otherwise), timed from its start and from
   its "rebuilding into" line to "generation N is current"; events from the generation
   record; peak memory (``VmHWM``, polled) and CPU of the rebuild, FerretDB and Kafka over
   it. A rebuild that fails is reported as such (and FerretDB restarted if this run owns it).
   Diagnostics: ``--db-stats`` times every MongoDB command by shape, ``--chunk-in N`` and
   ``--chunk-updates M`` add a rebuild whose ``_id $in`` look-ups and update bulks are split
   (a change to the service, measured here without making it), ``--py-spy`` profiles it.
4. **Reads**: the service itself (uvicorn, free port, an RS256 token from ``TestIssuer``):
   the commune's yearly PDF (``/api/v1/reports/period.pdf``, when this build has it) and
   ``/api/v1/statistics`` for the commune and EY2026: the first answer, then the median of
   ``--rounds`` (5).
5. A summary table. The servers are wiped at the end unless ``--keep``.

Starts its own Kafka and FerretDB (deploy/local, instance ``bench-reporting[-$BINHYEN_TEST_
INSTANCE]``) unless BINHYEN_TEST_KAFKA and BINHYEN_TEST_MONGODB name running servers.
See README.md beside this file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection

from binhyen.contracts import parse_event
from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.kit.kafka import client_kwargs
from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.commands import CommandStats
from binhyen.kit.testing.servers import free_port, load_localservers
from binhyen.kit.topics import create_topics, entries_of
from binhyen.reporting import projections
from binhyen.reporting.consumers import CONSUMED
from binhyen.reporting.sample_history import COMMUNE, History
from binhyen.reporting.service import rebuild as rebuild_service
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import Generations

ROOT = Path(__file__).resolve().parents[2]
ME = [sys.executable, str(Path(__file__).resolve())]
INSTANCE = "bench-reporting" + (
    f"-{os.environ['BINHYEN_TEST_INSTANCE']}" if os.environ.get("BINHYEN_TEST_INSTANCE") else ""
)
Document = dict[str, Any]
FETCH_BYTES = 4 * 1024 * 1024  # the rebuild's max_partition_fetch_bytes
DEFAULT_BATCH = 5000  # Settings.rebuild_batch's default
PERIOD = "EY2026"
PDF_PATH = "/api/v1/reports/period.pdf"
STATS_PATH = "/api/v1/statistics"


# ------------------------------------------------------------------------------- servers


@dataclass
class Backing:
    """Kafka bootstrap, MongoDB URI, the servers' pids when this run started them."""

    kafka: str
    mongodb: str
    pids: dict[str, int]
    cleanup: Callable[[], None]
    restart: Callable[[str], int] | None = None  # kind → new pid (servers this run started)


def backing_servers(keep: bool) -> Backing:
    """Servers from BINHYEN_TEST_KAFKA/MONGODB, or local ones started (and wiped) by this run."""
    kafka, mongodb = os.environ.get("BINHYEN_TEST_KAFKA"), os.environ.get("BINHYEN_TEST_MONGODB")
    if kafka and mongodb:
        return Backing(kafka, mongodb, {}, lambda: None)
    local = load_localservers(ROOT)
    k = local.start("kafka", INSTANCE, port=0)
    m = local.start("ferretdb", INSTANCE, port=0)

    def wipe() -> None:
        if keep:
            print(f"servers kept: kafka {k.address}, mongodb {m.address} (instance {INSTANCE})")
            return
        local.wipe("kafka", INSTANCE)
        local.wipe("ferretdb", INSTANCE)

    def restart(kind: str) -> int:
        port = int((k if kind == "kafka" else m).address.rstrip("/").rsplit(":", 1)[1])
        local.stop(kind, INSTANCE)
        pid: int = local.start(kind, INSTANCE, port=port).pid
        return pid

    return Backing(k.address, m.address, {"kafka": k.pid, "ferretdb": m.pid}, wipe, restart)


def restart_ferretdb(backing: Backing) -> None:
    """After a rebuild that left FerretDB wedged (its connections held): start it again."""
    if backing.restart is None:
        raise SystemExit("FerretDB may be wedged by the failed rebuild; the servers are not ours")
    print("  restarting FerretDB (a wedged update holds its connections)", flush=True)
    backing.pids["ferretdb"] = backing.restart("ferretdb")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MiB, None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def partitions_of(kafka: str, prefix: str, timeout: float = 60) -> list[TopicPartition]:
    """Every partition of the consumed topics, once each has a leader (new topics take a
    moment)."""
    topics = [prefix + t.name for t in CONSUMED]
    wanted = sum(t.partitions for t in CONSUMED)
    admin = AIOKafkaAdminClient(client_id="bench-reporting-admin", **client_kwargs(kafka))
    await admin.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            described = await admin.describe_topics(topics)
            found = [
                TopicPartition(t["topic"], p["partition"])
                for t in described
                if t["error_code"] == 0
                for p in t["partitions"]
                if p["error_code"] == 0 and p["leader"] >= 0
            ]
            if len(found) == wanted:
                return sorted(found)
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{wanted - len(found)} partitions have no leader after {timeout} s"
                )
            await asyncio.sleep(0.2)  # polling a condition with a deadline
    finally:
        await admin.close()


# ------------------------------------------------------------------------------- 1. history


def history_for(target: int) -> History:
    """A history of about ``target`` events: hamlets of 1,000 households and 600 incidents a
    year each, over the sample's two evaluation years (the number of hamlets is the knob)."""
    shape: Document = {"households_per_hamlet": 1000, "incidents_per_hamlet_year": 600}
    one = sum(1 for _ in History(hamlets=1, **shape).iter_events())
    two = sum(1 for _ in History(hamlets=2, **shape).iter_events())
    per_hamlet, fixed = two - one, 2 * one - two
    hamlets = max(1, round((target - fixed) / per_hamlet))
    return History(hamlets=hamlets, **shape)


@dataclass
class Published:
    """What went to Kafka: records and bytes per topic, and how long it took."""

    records: Counter[str] = field(default_factory=Counter)
    size: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    failed: int = 0

    @property
    def total(self) -> int:
        """Every record published."""
        return sum(self.records.values())


Record = tuple[str, str, bytes]  # topic (catalogue name), key, value


def streamed(history: History) -> Iterator[Record]:
    """The history as records, as generated: each aggregate's events together."""
    for item in history.iter_events():
        yield item.topic, item.key, item.event.to_json()


def by_time(history: History) -> list[Record]:
    """The history as records sorted by event time, as live services would have published
    them (held in memory: about 1.2 GB a million)."""
    timed = [
        (item.event.time, n, item.topic, item.key, item.event.to_json())
        for n, item in enumerate(history.iter_events())
    ]
    timed.sort()
    return [(topic, key, value) for _, _, topic, key, value in timed]


async def publish(records: Iterable[Record], kafka: str, prefix: str) -> Published:
    """Send records to their topics with one batching producer, no await per record."""
    producer = AIOKafkaProducer(
        **client_kwargs(kafka),
        client_id="bench-reporting-history",
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=60_000,
    )
    await producer.start()
    done = Published()
    errors: list[BaseException] = []

    def on_sent(future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            done.failed += 1
            if len(errors) < 3:
                errors.append(future.exception() or asyncio.CancelledError())

    started = time.perf_counter()
    shown = started
    try:
        for n, (topic, key, value) in enumerate(records, 1):
            future = await producer.send(prefix + topic, value=value, key=key.encode())
            future.add_done_callback(on_sent)
            done.records[topic] += 1
            done.size[topic] += len(value)
            if n % 2000 == 0:
                await asyncio.sleep(0)  # let the sender run between batches
                if time.perf_counter() - shown > 10:
                    shown = time.perf_counter()
                    rate = n / (shown - started)
                    print(f"  published {n:,} ({rate:,.0f}/s)", flush=True)
        await producer.flush()
    finally:
        await producer.stop()
    done.seconds = time.perf_counter() - started
    if done.failed:
        raise SystemExit(f"{done.failed} records were not published: {errors}")
    return done


def print_mix(published: Published) -> None:
    """Records, share and mean size per topic."""
    total = published.total
    print(f"  {'topic':38} {'records':>10} {'share':>6} {'mean bytes':>10}")
    for topic, count in published.records.most_common():
        mean = published.size[topic] / count
        print(f"  {topic:38} {count:>10,} {100 * count / total:5.1f}% {mean:>10,.0f}")
    size = sum(published.size.values())
    print(f"  {'all':38} {total:>10,} {'':6} {size / total:>10,.0f}  ({size / 2**20:,.0f} MiB)")


# ------------------------------------------------------------------------------- 2. raw baseline


@dataclass
class Pass:
    """One read of every consumed topic to its end offsets."""

    mode: str
    records: int = 0
    size: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # this process's CPU over the pass

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds else 0.0


PASSES = {
    "bytes": "plain consumer, bytes only",
    "json": "plain consumer + json.loads",
    "parse": "plain consumer + parse_event (pydantic)",
    "fold": "plain consumer + parse_event + projections.fold (no write)",
}


async def read_all(kafka: str, prefix: str, mode: str, max_records: int) -> Pass:
    """Read the consumed topics from offset 0 to their end offsets, decoding as ``mode`` says."""
    result = Pass(mode)
    cpu0, started = time.process_time(), time.perf_counter()
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"bench-raw-{mode}",
        max_partition_fetch_bytes=FETCH_BYTES,
        **client_kwargs(kafka),
    )
    await consumer.start()
    try:
        partitions = await partitions_of(kafka, prefix)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batches = await consumer.getmany(timeout_ms=500, max_records=max_records)
            events = []
            for tp, records in batches.items():
                for record in records:
                    value = record.value or b""
                    result.records += 1
                    result.size += len(value)
                    if mode == "json":
                        json.loads(value)
                    elif mode in ("parse", "fold"):
                        events.append(parse_event(value))
                if records and records[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
            if mode == "fold":
                projections.fold(events)
    finally:
        await consumer.stop()
    result.seconds = time.perf_counter() - started
    result.cpu = time.process_time() - cpu0
    return result


# ------------------------------------------------------------------------------- the wrapper

# ``--db-stats``, ``--chunk-in`` and ``--chunk-updates`` run the rebuild through this script
# (``--child``): the same ``rebuild.run``, with a command listener that times each MongoDB
# command by shape, and/or with the read model's ``_id $in`` look-ups and update bulks split
# into chunks (what a change to the service would do; measured here without making it).


class _Chained:
    """Several cursors read one after the other, as one."""

    def __init__(self, cursors: list[Any]) -> None:
        self.cursors = cursors

    def __aiter__(self) -> Any:
        return self._documents()

    async def _documents(self) -> Any:
        for cursor in self.cursors:
            async for document in cursor:
                yield document


def chunk_id_lookups(size: int) -> None:
    """Make ``find({_id: {$in: ids}})`` with more than ``size`` ids read in chunks of ``size``."""
    original = AsyncCollection.find

    def find(self: AsyncCollection[Document], *args: Any, **kwargs: Any) -> Any:
        query = args[0] if args else kwargs.get("filter")
        wanted = query.get("_id") if isinstance(query, dict) and len(query) == 1 else None
        ids = wanted.get("$in") if isinstance(wanted, dict) and len(wanted) == 1 else None
        if not isinstance(ids, list) or len(ids) <= size:
            return original(self, *args, **kwargs)
        rest = args[1:]
        kwargs.pop("filter", None)
        return _Chained(
            [
                original(self, {"_id": {"$in": ids[i : i + size]}}, *rest, **kwargs)
                for i in range(0, len(ids), size)
            ]
        )

    setattr(AsyncCollection, "find", find)  # noqa: B010 (a diagnostic patch of the driver)


def chunk_bulk_writes(size: int) -> None:
    """Make ``bulk_write`` send at most ``size`` operations per command."""
    original = AsyncCollection.bulk_write

    async def bulk_write(
        self: AsyncCollection[Document], requests: list[Any], *args: Any, **kwargs: Any
    ) -> Any:
        result = None
        for i in range(0, len(requests), size):
            result = await original(self, requests[i : i + size], *args, **kwargs)
        return result

    setattr(AsyncCollection, "bulk_write", bulk_write)  # noqa: B010 (a diagnostic patch)


def child_rebuild(args: argparse.Namespace) -> None:
    """``--child rebuild``: the service's rebuild, timed by command and/or chunked."""
    times = CommandStats()
    if args.db_stats:
        monitoring.register(times)
    if args.chunk_in:
        chunk_id_lookups(args.chunk_in)
    if args.chunk_updates:
        chunk_bulk_writes(args.chunk_updates)
    status = asyncio.run(rebuild_service.run(Settings(), force=args.force, out=sys.stdout))
    if args.db_stats:
        stats = {"count": times.count, "micros": times.micros, "items": times.items}
        print("DBSTATS " + json.dumps(stats), flush=True)
    raise SystemExit(status)


def print_db_stats(stats: Document, seconds: float, top: int = 12) -> None:
    """The rebuild's MongoDB commands by total time."""
    micros: dict[str, int] = stats["micros"]
    total = sum(micros.values()) / 1e6
    print(f"  MongoDB commands: {total:,.1f} s in all, {100 * total / seconds:.0f}% of the rebuild")
    print(f"    {'command':52} {'calls':>7} {'docs':>8} {'seconds':>8} {'ms/call':>8}")
    for shape, us in sorted(micros.items(), key=lambda kv: -kv[1])[:top]:
        calls = stats["count"][shape]
        items = stats["items"].get(shape, 0)
        print(
            f"    {shape[:52]:52} {calls:>7,} {items or '':>8} {us / 1e6:>8.1f} "
            f"{us / 1e3 / calls:>8.1f}"
        )


# ------------------------------------------------------------------------------- 3. rebuild


@dataclass
class Rebuild:
    """One rebuild subprocess and what it cost."""

    batch: int
    label: str = ""
    status: int = -1
    seconds: float = 0.0  # process start → switched
    replay_seconds: float = 0.0  # "rebuilding into" → switched
    events: int = 0
    generation: int = 0
    peak_rss_mib: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    db_stats: Document | None = None
    error: str = ""

    @property
    def rate(self) -> float:
        """Events per second, process start → switched."""
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def replay_rate(self) -> float:
        """Events per second of the replay alone (interpreter start and imports left out)."""
        return self.events / self.replay_seconds if self.replay_seconds else 0.0


def service_env(backing: Backing, prefix: str, database: str, **more: str) -> dict[str, str]:
    """The reporting service's settings for this run, as BINHYEN_REPORTING_* variables (its
    defaults otherwise: a socket timeout of 10 s, as an operator's rebuild would have)."""
    p = "BINHYEN_REPORTING_"
    env = {
        p + "ENVIRONMENT": "test",
        p + "MONGODB_URI": backing.mongodb,
        p + "MONGODB_DATABASE": database,
        p + "KAFKA_BOOTSTRAP": backing.kafka,
        p + "TOPIC_PREFIX": prefix,
        p + "CONSUMER_GROUP": f"{prefix}reporting",
        p + "LOG_LEVEL": "WARNING",
    }
    return env | {p + k.upper(): v for k, v in more.items()}


def py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Record a process's stacks (collapsed, ``-f raw``) until it exits."""
    uvx = shutil.which("uvx")
    if uvx is None:
        print("  (py-spy: uvx not found, not profiling)")
        return None
    argv = [uvx, "py-spy", "record", "-p", str(pid), "-r", "100", "--nonblocking"]
    argv += ["-f", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_rebuild(
    backing: Backing,
    env: dict[str, str],
    batch: int,
    logs: Path,
    args: argparse.Namespace,
    chunks: tuple[int, int] = (0, 0),
    force: bool = False,
) -> Rebuild:
    """Run the rebuild command; time it, watch its memory, CPU of it and of the servers."""
    chunk_in, chunk_updates = chunks
    label = f"{batch}" + (f"-in{chunk_in}" if chunk_in else "")
    label += f"-up{chunk_updates}" if chunk_updates else ""
    result = Rebuild(batch, label)
    log = logs / f"rebuild-{label}.log"
    argv = [sys.executable, "-m", "binhyen.reporting", "rebuild"]
    if args.db_stats or chunk_in or chunk_updates:
        argv = [*ME, "--child", "rebuild", "--chunk-in", str(chunk_in)]
        argv += ["--chunk-updates", str(chunk_updates)]
        argv += ["--db-stats"] if args.db_stats else []
    argv += ["--force"] if force else []
    servers_cpu0 = {name: cpu_seconds(pid) for name, pid in backing.pids.items()}
    started = time.perf_counter()
    popen = subprocess.Popen(
        argv,
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    profile = logs / f"py-spy-rebuild-{label}.txt"
    profiler = py_spy(popen.pid, profile) if args.py_spy else None
    marks: dict[str, float] = {}
    peak = [0.0]
    exited = threading.Event()

    def watch_memory() -> None:  # VmHWM is the exec'd program's own (the fork's is not)
        while not exited.wait(0.2):
            rss = peak_rss_mib(popen.pid)  # a zombie has no memory left: read it while alive
            if rss is not None:
                peak[0] = max(peak[0], rss)

    watcher = threading.Thread(target=watch_memory, daemon=True)
    watcher.start()
    assert popen.stdout is not None
    with log.open("w") as out:
        for raw in popen.stdout:
            line = raw.decode(errors="replace").rstrip()
            out.write(line + "\n")
            now = time.perf_counter()
            if line.startswith("DBSTATS "):
                result.db_stats = json.loads(line.removeprefix("DBSTATS "))
                continue
            if line.startswith("rebuilding into generation"):
                marks["replay"] = now
                result.generation = int(line.rsplit(" ", 1)[1])
            elif line.endswith("is current") and line.startswith("generation"):
                marks["switched"] = now
            if line.startswith("[") or "generation" in line or "skipped" in line:
                print(f"  rebuild: {line}", flush=True)
    # wait4: the CPU of this child alone (not py-spy's), reaped here rather than by Popen.
    _, status, usage = os.wait4(popen.pid, 0)
    popen.returncode = result.status = os.waitstatus_to_exitcode(status)
    exited.set()
    watcher.join()
    if profiler is not None:
        profiler.wait(timeout=60)
    result.peak_rss_mib = peak[0]
    result.cpu["rebuild"] = usage.ru_utime + usage.ru_stime
    for name, pid in backing.pids.items():
        result.cpu[name] = cpu_seconds(pid) - servers_cpu0[name]
    if result.status != 0 or "switched" not in marks:
        errors = [ln for ln in log.read_text().splitlines() if ln and not ln.startswith(" ")]
        result.error = f"exit {result.status}: {errors[-1] if errors else '?'} (see {log})"
        result.seconds = time.perf_counter() - started
        return result
    result.seconds = marks["switched"] - started
    result.replay_seconds = marks["switched"] - marks.get("replay", started)
    return result


async def rebuild_outcome(result: Rebuild, mongodb: str, database: str) -> None:
    """Events from the generation record; documents per collection of the generation."""
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongodb, timeout_ms=30_000)
    try:
        db = mongo[database]
        record = await db["generations"].find_one({"_id": f"g{result.generation}"})
        result.events = int((record or {}).get("events") or 0)
        for name in projections.COLLECTIONS:
            collection = db[f"g{result.generation}_{name}"]
            result.documents[name] = await collection.count_documents({})
    finally:
        await mongo.close()


async def first_generation(mongodb: str, database: str, group_prefix: str) -> None:
    """Make generation 1 current, as the service's first start does."""
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongodb, timeout_ms=30_000)
    try:
        await Generations(mongo[database], group_prefix).current()
    finally:
        await mongo.close()


def print_profile(path: Path, top: int = 14) -> None:
    """The frames a py-spy raw (collapsed) profile spent most time in: inclusive and own."""
    if not path.exists():
        print(f"  (no profile at {path})")
        return
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return
    print(f"  py-spy: {total:,} samples ({path})")
    print("  inclusive (frames of binhyen, pymongo, aiokafka, pydantic, bson, json):")
    wanted = ("reporting/", "contracts/", "kit/", "pymongo", "aiokafka", "pydantic", "bson", "json")
    shown = [(f, c) for f, c in inclusive.most_common() if any(w in f for w in wanted)]
    for frame, count in shown[:top]:
        print(f"    {100 * count / total:5.1f}%  {frame}")
    print("  own time:")
    for frame, count in own.most_common(top):
        print(f"    {100 * count / total:5.1f}%  {frame}")


def _frame(text: str) -> str:
    """``fn (path/to/module.py:123)`` → ``fn (module/path tail)`` without the line number."""
    name, _, where = text.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    for anchor in ("site-packages", "src", "lib"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor) :]
            break
    return f"{name} ({'/'.join(parts[-3:])})"


# ------------------------------------------------------------------------------- 4. reads


@dataclass
class Timed:
    """An endpoint's first answer and the median of the next ones."""

    status: int = 0
    first: float = 0.0
    median: float = 0.0
    size: int = 0
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # over every round


@contextmanager
def service(backing: Backing, env: dict[str, str], logs: Path) -> Iterator[tuple[str, int]]:
    """``python -m binhyen.reporting api`` on a free port until ``/readyz`` answers."""
    port = free_port()
    env = env | {"BINHYEN_REPORTING_HTTP_PORT": str(port)}
    log = (logs / "service.log").open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "binhyen.reporting", "api"],
        env=os.environ | env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if popen.poll() is not None:
                raise SystemExit(f"the service exited with {popen.returncode}; see {logs}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the service was not ready within 120 s; see {logs}")
            time.sleep(0.3)  # polling a condition with a deadline
        yield url, popen.pid
    finally:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def time_get(
    client: httpx.Client, path: str, params: dict[str, str], rounds: int, pids: dict[str, int]
) -> Timed:
    """The first answer's time, then the median of ``rounds`` more; CPU spent over them."""
    timed = Timed()
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    times = []
    for n in range(rounds + 1):
        t = time.perf_counter()
        answer = client.get(path, params=params)
        elapsed = time.perf_counter() - t
        timed.status, timed.size = answer.status_code, len(answer.content)
        if answer.status_code != 200:
            timed.note = answer.text[:200]
            return timed
        if n == 0:
            timed.first = elapsed
        else:
            times.append(elapsed)
    timed.median = statistics.median(times)
    timed.cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    return timed


def reads(url: str, issuer: TestIssuer, rounds: int, pids: dict[str, int]) -> dict[str, Timed]:
    """The commune's yearly PDF (when the build has it) and statistics."""
    headers = issuer.headers(("commune_officer", COMMUNE), ttl=3600)
    params = {"unit_id": COMMUNE, "period": PERIOD}
    found: dict[str, Timed] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        paths = client.get("/openapi.json").json().get("paths", {})
        if PDF_PATH in paths:
            found["pdf"] = time_get(client, PDF_PATH, params, rounds, pids)
        else:
            found["pdf"] = Timed(404, note="PDF endpoint not available in this build")
        found["statistics"] = time_get(client, STATS_PATH, params, rounds, pids)
    return found


# ------------------------------------------------------------------------------- run


async def machine_facts(mongodb: str, commit: str) -> None:
    """CPUs, memory, load, versions, commit."""
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongodb, timeout_ms=10_000)
    info = await mongo.admin.command("buildInfo")
    await mongo.close()
    server = f"MongoDB wire {info.get('version')}"
    ferret = info.get("ferretdbVersion") or (info.get("ferretdb") or {}).get("version")
    if ferret:
        server += f" = FerretDB {ferret}"
    load = os.getloadavg()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"machine: {os.cpu_count()} CPUs, {memory:.0f} GiB, load average {load[0]:.2f} "
        f"{load[1]:.2f} {load[2]:.2f} at start; Python {sys.version.split()[0]}; {server}; "
        f"commit {commit or '?'}",
        flush=True,
    )


async def run(args: argparse.Namespace) -> None:
    """Everything, in order."""
    logs = Path(args.logs)
    backing = backing_servers(args.keep)
    stamp = f"{int(time.time())}"
    prefix, database = f"benchrep{stamp}.", f"bench_reporting_{stamp}"
    try:
        await machine_facts(backing.mongodb, args.commit)
        print(f"kafka {backing.kafka}, mongodb {backing.mongodb}; logs in {logs}", flush=True)
        await create_topics(backing.kafka, entries_of(DEPLOYED_TOPICS), prefix=prefix)
        await partitions_of(backing.kafka, prefix)  # leaders elected before publishing

        history = history_for(args.events)
        print(
            f"\n1. history: {history.hamlets} hamlets (+1 merged) × "
            f"{history.households_per_hamlet} households, "
            f"{history.incidents_per_hamlet_year} incidents a hamlet-year, "
            f"{history.first_year}–{history.last_year}; publishing in {args.order} order …",
            flush=True,
        )
        records: Iterable[Record] = streamed(history)
        if args.order == "time":
            began = time.perf_counter()
            records = by_time(history)
            print(
                f"  generated and sorted {len(records):,} records in "
                f"{time.perf_counter() - began:.1f} s",
                flush=True,
            )
        published = await publish(records, backing.kafka, prefix)
        del records
        print_mix(published)
        print(
            f"  published {published.total:,} in {published.seconds:.1f} s "
            f"({published.total / published.seconds:,.0f}/s"
            + (", generation included)" if args.order == "aggregate" else ")"),
            flush=True,
        )

        batches = args.batch or [DEFAULT_BATCH]
        print(f"\n2. raw baseline (max_records {batches[0]}, fetch {FETCH_BYTES // 2**20} MiB)")
        passes: list[Pass] = []
        for mode in args.passes:
            done = await read_all(backing.kafka, prefix, mode, batches[0])
            passes.append(done)
            print(
                f"  {PASSES[mode]:58} {done.records:>10,} in {done.seconds:6.1f} s = "
                f"{done.rate:>9,.0f}/s (CPU {done.cpu:.1f} s)",
                flush=True,
            )
            if done.records != published.total:
                print(f"  !! read {done.records:,}, published {published.total:,}")

        await first_generation(backing.mongodb, database, f"{prefix}reporting")
        rebuilds: list[Rebuild] = []
        chunks = (args.chunk_in, args.chunk_updates)
        plan = [] if args.no_plain else [(batch, (0, 0)) for batch in batches]
        if any(chunks):
            plan += [(batch, chunks) for batch in batches]
        failed = False
        for batch, chunked in plan:
            how = ""
            if chunked[0]:
                how += f", _id $in look-ups in chunks of {chunked[0]}"
            if chunked[1]:
                how += f", update bulks of at most {chunked[1]}"
            print(f"\n3. rebuild (rebuild_batch {batch}{how})", flush=True)
            more = {"rebuild_batch": str(batch)}
            if args.mongodb_timeout_ms:
                more["mongodb_timeout_ms"] = str(args.mongodb_timeout_ms)
            env = service_env(backing, prefix, database, **more)
            result = await asyncio.to_thread(
                run_rebuild, backing, env, batch, logs, args, chunked, failed
            )
            rebuilds.append(result)
            if result.error:
                print(f"  FAILED after {result.seconds:.0f} s: {result.error}", flush=True)
                failed = True
                restart_ferretdb(backing)
                continue
            await rebuild_outcome(result, backing.mongodb, database)
            print_rebuild(result, passes)
            if result.db_stats:
                print_db_stats(result.db_stats, result.seconds)
            if args.py_spy:
                print_profile(logs / f"py-spy-rebuild-{result.label}.txt")

        print("\n4. reads (the service on the rebuilt generation)", flush=True)
        issuer = TestIssuer()
        env = service_env(
            backing,
            prefix,
            database,
            auth_issuer=issuer.issuer,
            auth_jwks_json=issuer.jwks_json,
        )
        with service(backing, env, logs) as (url, pid):
            pids = {"service": pid} | {k: v for k, v in backing.pids.items() if k == "ferretdb"}
            timed = await asyncio.to_thread(reads, url, issuer, args.rounds, pids)
        for name, t in timed.items():
            if t.status != 200:
                print(f"  {name}: {t.note or t.status}")
            else:
                print(
                    f"  {name}: first {1000 * t.first:,.0f} ms, median of {args.rounds} "
                    f"{1000 * t.median:,.0f} ms ({t.size:,} bytes); CPU over the "
                    f"{args.rounds + 1} requests: "
                    + ", ".join(f"{name} {sec:.1f} s" for name, sec in t.cpu.items())
                )
        summary(published, passes, rebuilds, timed, args.rounds)
        if not args.keep:
            await drop(backing, database, prefix)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this script's own peak RSS: {own:,.0f} MiB)")
    finally:
        backing.cleanup()


def print_rebuild(r: Rebuild, passes: list[Pass]) -> None:
    """One rebuild's figures."""
    docs = sum(r.documents.values())
    print(
        f"  generation {r.generation}: {r.events:,} events in {r.seconds:.1f} s = {r.rate:,.0f}/s "
        f"(replay alone {r.replay_seconds:.1f} s = {r.replay_rate:,.0f}/s)"
    )
    for p in passes:
        if p.mode in ("bytes", "json"):
            print(f"  ratio to the raw consumer ({p.mode}): {r.rate / p.rate:.2f}")
    print(f"  peak RSS {r.peak_rss_mib:,.0f} MiB (VmHWM of the process, polled)")
    cpu = ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in r.cpu.items())
    print(f"  CPU over the rebuild: {cpu}")
    print(
        f"  documents: {docs:,} ("
        + ", ".join(f"{n} {c:,}" for n, c in r.documents.items())
        + f"); {r.events / max(docs, 1):.1f} events per document"
    )


def summary(
    published: Published,
    passes: list[Pass],
    rebuilds: list[Rebuild],
    timed: dict[str, Timed],
    rounds: int,
) -> None:
    """One table of the figures the issue asks for."""
    by = {p.mode: p for p in passes}

    def rate(mode: str) -> str:
        return f"{by[mode].rate:,.0f}/s" if mode in by else "not run"

    def ms(t: Timed) -> str:
        if t.status != 200:
            return t.note or f"HTTP {t.status}"
        return f"{1000 * t.median:,.0f} ms (first {1000 * t.first:,.0f} ms)"

    rows = [
        ("events published", f"{published.total:,}"),
        ("raw consumer, bytes only", rate("bytes")),
        ("raw consumer + json.loads", rate("json")),
    ]
    for r in rebuilds:
        if r.error:
            rows.append((f"rebuild (batch {r.label})", f"FAILED after {r.seconds:.0f} s"))
            continue
        ratios = " / ".join(
            f"{r.rate / by[m].rate:.2f}" for m in ("bytes", "json") if m in by and by[m].rate
        )
        ferret = r.cpu.get("ferretdb")
        rows += [
            (
                f"rebuild (batch {r.label}), start → switched",
                f"{r.rate:,.0f}/s ({r.seconds:.0f} s)",
            ),
            ("ratio to raw bytes / JSON (goal ≥ 0.5)", ratios),
            ("rebuild peak RSS (VmHWM)", f"{r.peak_rss_mib:,.0f} MiB"),
            ("rebuild CPU", f"{r.cpu.get('rebuild', 0):,.1f} s"),
            ("FerretDB CPU during the rebuild", f"{ferret:,.1f} s" if ferret else "n/a"),
        ]
    rows += [
        (f"commune's yearly PDF ({PERIOD}), median of {rounds}", ms(timed["pdf"])),
        (f"statistics of the commune ({PERIOD}), median of {rounds}", ms(timed["statistics"])),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n================ summary ================")
    for key, value in rows:
        print(f"{key:{width}}  {value}")


async def drop(backing: Backing, database: str, prefix: str) -> None:
    """Remove this run's database and topics (when the servers are someone else's)."""
    if backing.pids:
        return  # ours: wiped whole
    mongo: AsyncMongoClient[Document] = create_mongo_client(backing.mongodb)
    await mongo.drop_database(database)
    await mongo.close()
    admin = AIOKafkaAdminClient(**client_kwargs(backing.kafka))
    await admin.start()
    try:
        await admin.delete_topics([prefix + t.name for t in DEPLOYED_TOPICS])
    finally:
        await admin.close()


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about how many events")
    parser.add_argument("--quick", action="store_true", help="about 100,000 events")
    parser.add_argument(
        "--batch", type=_ints, default=None, help="rebuild_batch, or several: 5000,20000"
    )
    parser.add_argument(
        "--passes",
        type=lambda s: [p for p in s.split(",") if p],
        default=list(PASSES),
        help="raw passes to run: bytes,json,parse,fold",
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed reads after the first")
    parser.add_argument("--py-spy", action="store_true", help="profile the rebuild (uvx py-spy)")
    parser.add_argument(
        "--db-stats",
        action="store_true",
        help="run the rebuild through a wrapper that times its MongoDB commands by shape",
    )
    parser.add_argument(
        "--chunk-in",
        type=int,
        default=0,
        metavar="N",
        help="one more rebuild, its _id $in look-ups split into chunks of N ids (diagnostic)",
    )
    parser.add_argument(
        "--chunk-updates",
        type=int,
        default=0,
        metavar="M",
        help="the same extra rebuild with update bulks of at most M operations (diagnostic)",
    )
    parser.add_argument(
        "--no-plain", action="store_true", help="only the chunked rebuild (diagnostic)"
    )
    parser.add_argument(
        "--mongodb-timeout-ms",
        type=int,
        default=0,
        help="BINHYEN_REPORTING_MONGODB_TIMEOUT_MS for the rebuild (socket timeout is 5×; "
        "default: the service's, 2000 → 10 s)",
    )
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--order",
        choices=("time", "aggregate"),
        default="time",
        help="publish every event by event time, as live services would (default; the "
        "encoded records are held in memory to sort them: about 1.2 GB a million), or each "
        "aggregate's events together as generated (streamed)",
    )
    parser.add_argument("--child", choices=("rebuild",), help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the servers and data")
    parser.add_argument("--logs", default=f"/tmp/{INSTANCE}", help="where logs go")
    args = parser.parse_args()
    if args.child:
        child_rebuild(args)
        return
    if args.quick and args.events == 1_000_000:
        args.events = 100_000
    unknown = set(args.passes) - set(PASSES)
    if unknown:
        parser.error(f"unknown passes: {', '.join(sorted(unknown))}")
    if args.no_plain and not (args.chunk_in or args.chunk_updates):
        parser.error("--no-plain needs --chunk-in or --chunk-updates")
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    args.commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    # Topics just created: the first produce requests may meet a partition whose leader is
    # not ready yet; the producer retries them (warnings that say nothing about the figures).
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    # Stop cleanly (servers wiped) on Ctrl-C and SIGTERM.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
