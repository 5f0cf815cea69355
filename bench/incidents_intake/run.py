"""Benchmark: incident intake (POST /api/v1/incidents) vs a bare FastAPI insert_one.

    uv run python bench/incidents_intake/run.py            # full run (~10 minutes)
    uv run python bench/incidents_intake/run.py --quick    # smoke run (~1.5 minutes)

Starts its own Kafka and FerretDB (deploy/local, instance "bench-intake", free ports,
wiped afterwards) unless BINHYEN_TEST_KAFKA and BINHYEN_TEST_MONGODB name running
servers. Seeds the test world (units and teams as the registry sends them) into the
service's database, then runs TWO real HTTP servers as separate processes on their own
TCP ports, with the same uvicorn set-up (``binhyen.kit.runtime.serve_forever``) and the
same MongoDB pool size:

* intake: ``python -m binhyen.incidents`` itself (settings from BINHYEN_INCIDENTS_*);
* bare:   a FastAPI endpoint that does one ``insert_one`` of a document like the ones the
  intake writes (the very document the service wrote for a warm-up report, outbox events
  included, with a fresh ``_id``), into a collection with the same indexes.

Load comes from this process with httpx (HTTP/1.1 keep-alive, one client per connection):
open loop at fixed rates (latency counted from each request's scheduled start, so queueing
shows) and closed loop at fixed concurrency (max throughput). Every request carries a
pre-minted bearer token of one of a few users; 9 in 10 carry a unique Idempotency-Key.
After each intake step it waits until the service has finished every request and relayed
every event, so the next step starts on an idle machine. At the end it checks that every
accepted report reached Kafka through the outbox. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bson import json_util
from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse
from pydantic_settings import SettingsConfigDict
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection

from binhyen.contracts.events.incidents import PUBLIC_TOPIC, TOPIC, IncidentReported
from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.incidents.app import create_app
from binhyen.incidents.sample_world import COMMUNE, HAMLET, report_body, seed_world
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import IncidentStore
from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.runtime import serve_forever
from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing import TestIssuer, outboxes_empty, read_topic, serve
from binhyen.kit.testing.commands import CommandStats
from binhyen.kit.testing.servers import free_port, load_localservers
from binhyen.kit.topics import create_topics, entries_of

ROOT = Path(__file__).resolve().parents[2]
ME = [sys.executable, str(Path(__file__).resolve())]
INSTANCE = "bench-intake"
PATH = "/api/v1/incidents"
Document = dict[str, Any]
# A few distinct callers allowed to report in the hamlet (role, unit, subject).
USERS = (
    ("hamlet_officer", HAMLET, "bench-officer-1"),
    ("hamlet_officer", HAMLET, "bench-officer-2"),
    ("team_member", HAMLET, "bench-member-1"),
    ("commune_officer", COMMUNE, "bench-commune-1"),
)


# --------------------------------------------------------------------------- child processes


def _with_db_stats(app: FastAPI) -> None:
    """Register the MongoDB listener (before any client opens) and a route that reads it."""
    stats = CommandStats()
    monitoring.register(stats)

    async def db_stats() -> Document:
        return stats.snapshot()

    app.get("/bench/db-stats", include_in_schema=False)(db_stats)


class BareSettings(ServiceSettings):
    """Settings of the bare endpoint (env prefix BINHYEN_BARE_)."""

    model_config = SettingsConfigDict(env_prefix="BINHYEN_BARE_", extra="ignore")

    mongodb_database: str = "bench_bare"
    consumer_group: str = "unused"
    template_file: str = ""


def bare_app(settings: BareSettings) -> FastAPI:
    """One route: insert a document like an intake's, answer 201."""
    template: Document = json_util.loads(Path(settings.template_file).read_text())
    state: dict[str, AsyncCollection[Document]] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        mongo = create_mongo_client(
            settings.mongodb_uri,
            timeout_ms=settings.mongodb_timeout_ms,
            max_pool_size=settings.mongodb_max_pool_size,
        )
        state["incidents"] = mongo[settings.mongodb_database]["incidents"]
        yield
        await mongo.close()

    app = FastAPI(title="bare insert_one", lifespan=lifespan)

    @app.post(PATH, status_code=201)
    async def report(body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        now = datetime.now(UTC)
        doc = {
            **template,
            "_id": str(uuid.uuid4()),
            "description": body.get("description"),
            "reported_at": now,
            "created_at": now,
        }
        await state["incidents"].insert_one(doc)
        return JSONResponse({"id": doc["_id"], **body}, status_code=201)

    return app


def child(kind: str, db_stats: bool) -> None:
    """Entry point of a server process (``--child intake|bare``)."""
    if kind == "bare":
        bare_settings = BareSettings()
        app = bare_app(bare_settings)
        if db_stats:
            _with_db_stats(app)
        serve_forever(app, bare_settings, name="bare")
        return
    settings = Settings()
    app = create_app(settings)
    if db_stats:
        _with_db_stats(app)
    serve_forever(app, settings, name="incidents")


# --------------------------------------------------------------------------- servers


@dataclass
class Backing:
    """Kafka bootstrap, MongoDB URI, the servers' pids when we started them, cleanup."""

    kafka: str
    mongodb: str
    pids: dict[str, int]
    cleanup: Callable[[], None]


def backing_servers(instance: str) -> Backing:
    """Servers from BINHYEN_TEST_KAFKA/MONGODB, or local ones started for this run."""
    kafka, mongodb = os.environ.get("BINHYEN_TEST_KAFKA"), os.environ.get("BINHYEN_TEST_MONGODB")
    if kafka and mongodb:
        return Backing(kafka, mongodb, {}, lambda: None)
    local = load_localservers(ROOT)
    k = local.start("kafka", instance, port=0)
    m = local.start("ferretdb", instance, port=0)

    def wipe() -> None:
        local.wipe("kafka", instance)
        local.wipe("ferretdb", instance)

    return Backing(k.address, m.address, {"ferretdb": m.pid, "kafka": k.pid}, wipe)


@contextlib.contextmanager
def jwks_server(jwks_json: str) -> Iterator[str]:
    """Serve the issuer's JWKS over HTTP (the service refetches it every 5 minutes)."""
    payload = jwks_json.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Proc:
    """A server process this benchmark started."""

    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.popen.pid


def start_process(name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> Proc:
    """Start a server process, wait until its /healthz (or /docs) answers."""
    out = log.open("wb")
    popen = subprocess.Popen(argv, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    probe = "/readyz" if name == "intake" else "/docs"
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise SystemExit(f"{name} exited with {popen.returncode}; see {log}")
        try:
            if httpx.get(url + probe, timeout=2).status_code == 200:
                return Proc(name, url, popen, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    popen.kill()
    raise SystemExit(f"{name} not ready after 120 s; see {log}")


def stop_process(proc: Proc) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12)) / ticks  # utime, stime


# --------------------------------------------------------------------------- load


class Requests:
    """Pre-encoded bodies and pre-minted tokens; 9 in 10 requests get a unique key."""

    def __init__(self, issuer: TestIssuer) -> None:
        self.tokens = [
            {
                "Authorization": f"Bearer {issuer.token((role, unit), subject=sub, ttl=6 * 3600)}",
                "Content-Type": "application/json",
            }
            for role, unit, sub in USERS
        ]
        self.body = json.dumps(report_body()).encode()
        self.count = 0

    def next(self) -> dict[str, str]:
        """Headers of the next request."""
        self.count += 1
        headers = self.tokens[self.count % len(self.tokens)]
        if self.count % 10:
            return headers | {"Idempotency-Key": uuid.uuid4().hex}
        return headers


@dataclass
class Step:
    """One load step against one target, and what it measured."""

    target: str
    mode: str  # open | closed
    level: int  # offered rps (open) or concurrency (closed)
    seconds: float
    latencies: list[float] = field(default_factory=list)
    created: int = 0
    replayed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    last_done: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # seconds per process over the step
    db: Document | None = None
    drain_seconds: float | None = None
    relay_delay_ms: float | None = None
    warmup: bool = False
    size: int | None = None  # incidents in the service's collection when the step began

    @property
    def ok(self) -> int:
        """Successful answers."""
        return self.created + self.replayed

    @property
    def achieved(self) -> float:
        """Successful answers per second of the step (until its last answer)."""
        span = max(self.seconds, self.last_done - self.started)
        return self.ok / span if span > 0 else 0.0

    def pct(self, q: float) -> float:
        """A latency percentile in ms."""
        if not self.latencies:
            return float("nan")
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    @property
    def error_count(self) -> int:
        """Failed requests."""
        return sum(self.errors.values())


class Lanes:
    """Keep-alive HTTP/1.1 connections to one server, each its own httpx client that never has
    more than one request: requests wait for a free lane in an asyncio queue, not in httpcore's
    pool, whose bookkeeping grows with the requests queued and the connections open until the
    load generator, not the server, is the bottleneck (encode/httpcore#1035)."""

    def __init__(self, base_url: str, count: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.clients = [
            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)
            for _ in range(count)
        ]
        self.free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self.clients:
            self.free.put_nowait(client)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST on the next free connection."""
        client = await self.free.get()
        try:
            return await client.post(path, content=body, headers=headers)
        finally:
            self.free.put_nowait(client)

    async def aclose(self) -> None:
        """Close every connection."""
        for client in self.clients:
            await client.aclose()


async def _one(lanes: Lanes, requests: Requests, step: Step, t0: float) -> None:
    """Send one report; latency from ``t0`` (the scheduled start in open loop)."""
    loop = asyncio.get_running_loop()
    try:
        answer = await lanes.post(PATH, requests.body, requests.next())
    except httpx.HTTPError as exc:
        step.errors[type(exc).__name__] += 1
        return
    now = loop.time()
    step.last_done = max(step.last_done, now)
    if answer.status_code == 201:
        step.created += 1
    elif answer.status_code == 200:
        step.replayed += 1
    else:
        step.errors[str(answer.status_code)] += 1
        return
    step.latencies.append(now - t0)


async def open_loop(lanes: Lanes, requests: Requests, step: Step) -> None:
    """Start requests at a fixed rate whatever the answers do (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    n = round(step.level * step.seconds)
    t0 = loop.time() + 0.05
    step.started = t0
    tasks: list[asyncio.Task[None]] = []
    for i in range(n):
        at = t0 + i / step.level
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(lanes, requests, step, at)))
    _done, pending = await asyncio.wait(tasks, timeout=60)
    for task in pending:
        task.cancel()
    if pending:
        step.errors["unfinished"] += len(pending)


async def closed_loop(lanes: Lanes, requests: Requests, step: Step) -> None:
    """``level`` workers each send the next request as soon as the last one answered."""
    loop = asyncio.get_running_loop()
    step.started = loop.time()
    end = step.started + step.seconds

    async def worker() -> None:
        while loop.time() < end:
            await _one(lanes, requests, step, loop.time())

    await asyncio.gather(*(worker() for _ in range(step.level)))


# --------------------------------------------------------------------------- one configuration


@dataclass
class Config:
    """One pool size: its databases, topics and results."""

    pool: int
    database: str
    bare_database: str
    prefix: str
    preload: int = 0
    steps: list[Step] = field(default_factory=list)
    verified: Document = field(default_factory=dict)


async def prepare(
    cfg: Config, backing: Backing, issuer: TestIssuer, jwks_url: str, preload: int
) -> Document:
    """Seed the world (and ``preload`` earlier incidents); return the document a report writes."""
    settings = Settings(
        mongodb_uri=backing.mongodb,
        mongodb_database=cfg.database,
        kafka_bootstrap=backing.kafka,
        topic_prefix=cfg.prefix,
        consumer_group=f"{cfg.prefix}incidents",
        environment="test",
        mongodb_max_pool_size=cfg.pool,
        mongodb_timeout_ms=10_000,
        auth_issuer=issuer.issuer,
        auth_jwks_json=issuer.jwks_json,
        auth_jwks_url=jwks_url,
    )
    await create_topics(backing.kafka, entries_of(DEPLOYED_TOPICS), prefix=cfg.prefix)
    async with serve(create_app(settings)) as (client, rt):
        if rt.relay is not None:
            await rt.relay.stop()  # keep the template's outbox as written
        await seed_world(rt)
        answer = await client.post(
            PATH, json=report_body(), headers=issuer.headers(("hamlet_officer", HAMLET))
        )
        assert answer.status_code == 201, answer.text
        incident_id = answer.json()["id"]
        doc = await rt.db["incidents"].find_one({"_id": incident_id})
        assert doc is not None and len(doc["_outbox"]) == 2, doc
        await rt.db["incidents"].delete_one({"_id": incident_id})
        await rt.mongo.drop_database(cfg.bare_database)
        await IncidentStore(rt.mongo[cfg.bare_database]).create_indexes()  # like for like
        for start in range(0, preload, 500):  # earlier incidents, already relayed
            for db in (rt.db, rt.mongo[cfg.bare_database]):
                batch = [
                    {**doc, "_id": str(uuid.uuid4()), "_outbox": []}
                    for _ in range(min(500, preload - start))
                ]
                await db["incidents"].insert_many(batch)
    return doc


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def run_step(
    step: Step,
    client: httpx.AsyncClient,
    lanes: Lanes,
    requests: Requests,
    pids: dict[str, int],
    db_stats: bool,
) -> None:
    """Run one step, with the processes' CPU and the server's MongoDB counters around it."""
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
    db0 = (await client.get("/bench/db-stats")).json() if db_stats else None
    metrics0 = (await client.get("/metrics")).text if step.target == "intake" else ""
    if step.mode == "open":
        await open_loop(lanes, requests, step)
    else:
        await closed_loop(lanes, requests, step)
    step.cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
    if db0 is not None:
        db1 = (await client.get("/bench/db-stats")).json()
        step.db = {
            "commands": Counter(db1["commands"]) - Counter(db0["commands"]),
            "micros": Counter(db1["micros"]) - Counter(db0["micros"]),
            "checkouts": db1["checkouts"] - db0["checkouts"],
            "checkout_seconds": db1["checkout_seconds"] - db0["checkout_seconds"],
        }
    if step.target == "intake":
        metrics1 = (await client.get("/metrics")).text
        name = "binhyen_outbox_delay_seconds"
        count = _metric(metrics1, f"{name}_count") - _metric(metrics0, f"{name}_count")
        total = _metric(metrics1, f"{name}_sum") - _metric(metrics0, f"{name}_sum")
        step.relay_delay_ms = total / count * 1000 if count else None


def _relayed(text: str) -> float:
    """Events the service's relay got acknowledged by Kafka, from its /metrics."""
    pattern = r"^binhyen_outbox_relayed_total\{[^}]*\} ([0-9.e+-]+)$"
    return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))


def _handled(text: str) -> float:
    """Intake requests the service has finished (answered or not), from its /metrics."""
    pattern = (
        r'^binhyen_http_requests_total\{method="POST",route="/api/v1/incidents"[^}]*\} '
        r"([0-9.e+-]+)$"
    )
    return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))


async def drain(client: httpx.AsyncClient, events: int, timeout: float, requests: int = 0) -> float:
    """Wait until the service has finished ``requests`` requests (those the bench gave up on
    included) and its relay has sent ``events`` events; read from /metrics, no scans."""
    t0 = time.perf_counter()
    while True:
        text = (await client.get("/metrics")).text
        if _relayed(text) >= events and _handled(text) >= requests:
            break
        if time.perf_counter() - t0 > timeout:
            print(f"  (service not idle, outbox not drained after {timeout:.0f} s)", flush=True)
            break
        await asyncio.sleep(0.2)
    return time.perf_counter() - t0


async def drain_scan(collection: AsyncCollection[Document], timeout: float) -> float:
    """Wait until no incident has an event waiting (a collection scan on FerretDB)."""
    t0 = time.perf_counter()
    while not await outboxes_empty(collection):
        if time.perf_counter() - t0 > timeout:
            break
        await asyncio.sleep(1.0)
    return time.perf_counter() - t0


def print_step(step: Step) -> None:
    """One line per step, as soon as it is done."""
    per = max(step.ok, 1)
    server_cpu = step.cpu.get(step.target, 0.0)
    db_cpu = step.cpu.get("ferretdb", 0.0)
    span = max(step.seconds, step.last_done - step.started)
    line = (
        f"  {step.target:6} {step.mode:6} {step.level:4} | "
        f"{step.achieved:7.1f} rps  p50 {step.pct(0.5):7.1f}  p95 {step.pct(0.95):7.1f}  "
        f"p99 {step.pct(0.99):7.1f} ms  err {step.error_count:4} | "
        f"cpu/req server {server_cpu / per * 1000:5.2f} ms ({server_cpu / span:4.0%}), "
        f"db {db_cpu / per * 1000:5.2f} ms ({db_cpu / span:4.0%}), "
        f"loadgen {step.cpu.get('loadgen', 0.0) / per * 1000:5.2f} ms"
    )
    if step.relay_delay_ms is not None:
        line += f" | write→Kafka ack mean {step.relay_delay_ms:6.1f} ms"
    if step.drain_seconds is not None:
        line += f", idle and outbox drained {step.drain_seconds:4.1f} s after"
    if step.size is not None:
        line += f" | {step.size} incidents stored before"
    print(line, flush=True)
    if step.errors:
        print(f"         errors: {dict(step.errors)}", flush=True)
    if step.db:
        created = max(step.created, 1)
        micros = step.db["micros"]
        total_ms = sum(micros.values()) / 1000 / created
        wait_ms = step.db["checkout_seconds"] * 1000 / created
        print(
            f"         MongoDB per created report: round trips {total_ms:.2f} ms, "
            f"waits for the pooled connection {wait_ms:.2f} ms; by command "
            "(per report × mean ms = ms per report):",
            flush=True,
        )
        for shape, n in sorted(step.db["commands"].items(), key=lambda kv: -micros[kv[0]])[:10]:
            mean = micros[shape] / n / 1000
            print(
                f"           {n / created:6.2f} × {mean:8.2f} = {n / created * mean:8.2f}  {shape}",
                flush=True,
            )


async def _read_all(kafka: str, topic: str, expected: int) -> list[Any]:
    """Every record of a topic, waiting up to 3 minutes for ``expected`` of them."""
    try:
        return await read_topic(kafka, topic, until=lambda rs: len(rs) >= expected, timeout=180)
    except AssertionError:  # fewer: read what is there
        return await read_topic(kafka, topic, until=lambda rs: True, timeout=60)


async def verify(cfg: Config, kafka: str, mongo: AsyncMongoClient[Document]) -> Document:
    """Every accepted report is in the database, its events on Kafka, no outbox pending."""
    collection = mongo[cfg.database]["incidents"]
    drained = await drain_scan(collection, timeout=300)
    pending = await collection.count_documents({"_outbox.0": {"$exists": True}})
    stored = await collection.count_documents({}) - cfg.preload
    accepted = sum(s.created for s in cfg.steps if s.target == "intake")
    lost = sum(s.error_count for s in cfg.steps if s.target == "intake")  # may have been stored
    records = await _read_all(kafka, cfg.prefix + TOPIC.name, stored)
    types = Counter(json.loads(r.value)["type"] for r in records if r.value is not None)
    public = await _read_all(kafka, cfg.prefix + PUBLIC_TOPIC.name, stored)
    reported = types[IncidentReported.event_type]
    return {
        "accepted": accepted,
        "failed": lost,
        "stored": stored,
        "pending_outboxes": pending,
        "drain_seconds": drained,
        "reported_events": reported,
        "public_events": len(public),
        "other_events": sum(types.values()) - reported,
        "ok": pending == 0
        and reported == stored
        and len(public) == stored
        and accepted <= stored <= accepted + lost,
    }


async def run_config(
    cfg: Config,
    args: argparse.Namespace,
    backing: Backing,
    issuer: TestIssuer,
    jwks_url: str,
    logs: Path,
) -> None:
    """Both servers at one pool size, every step, then the Kafka check."""
    print(f"\n== MongoDB pool size {cfg.pool} (service and bare) ==", flush=True)
    template = await prepare(cfg, backing, issuer, jwks_url, cfg.preload)
    template_file = logs / f"template-{cfg.pool}.json"
    template_file.write_text(json_util.dumps(template))
    intake_port, bare_port = free_port(), free_port()
    p = "BINHYEN_INCIDENTS_"
    intake_env = {
        p + "MONGODB_URI": backing.mongodb,
        p + "MONGODB_DATABASE": cfg.database,
        p + "MONGODB_MAX_POOL_SIZE": str(cfg.pool),
        p + "KAFKA_BOOTSTRAP": backing.kafka,
        p + "TOPIC_PREFIX": cfg.prefix,
        p + "CONSUMER_GROUP": f"{cfg.prefix}incidents",
        p + "ENVIRONMENT": "test",
        p + "AUTH_ISSUER": issuer.issuer,
        p + "AUTH_JWKS_JSON": issuer.jwks_json,
        p + "AUTH_JWKS_URL": jwks_url,
        p + "HTTP_PORT": str(intake_port),
        p + "LOG_LEVEL": "INFO",
    }
    b = "BINHYEN_BARE_"
    bare_env = {
        b + "MONGODB_URI": backing.mongodb,
        b + "MONGODB_DATABASE": cfg.bare_database,
        b + "MONGODB_MAX_POOL_SIZE": str(cfg.pool),
        b + "TEMPLATE_FILE": str(template_file),
        b + "HTTP_PORT": str(bare_port),
        b + "LOG_LEVEL": "INFO",
    }
    intake_argv = (
        [*ME, "--child", "intake"] if args.db_stats else [sys.executable, "-m", "binhyen.incidents"]
    )
    if args.intake_cmd:  # e.g. a patched build of the service, to compare
        intake_argv = shlex.split(args.intake_cmd)
    if args.db_stats:
        intake_argv.append("--db-stats")
    bare_argv = [*ME, "--child", "bare", *(["--db-stats"] if args.db_stats else [])]
    intake = start_process(
        "intake", intake_argv, intake_env, intake_port, logs / f"intake-{cfg.pool}.log"
    )
    procs = [intake]
    try:
        bare = start_process("bare", bare_argv, bare_env, bare_port, logs / f"bare-{cfg.pool}.log")
        procs.append(bare)
        requests = Requests(issuer)
        mongo: AsyncMongoClient[Document] = create_mongo_client(backing.mongodb, timeout_ms=10_000)
        count = max(args.connections, *args.concurrency)
        lanes = {
            "intake": Lanes(intake.url, count, timeout=30.0),
            "bare": Lanes(bare.url, count, timeout=30.0),
        }
        async with (  # for /metrics and /bench/db-stats
            httpx.AsyncClient(base_url=intake.url, timeout=30.0) as ci,
            httpx.AsyncClient(base_url=bare.url, timeout=30.0) as cb,
        ):
            clients = {"intake": ci, "bare": cb}
            base_pids = {"loadgen": os.getpid(), **backing.pids}
            pids = {
                "intake": base_pids | {"intake": intake.pid},
                "bare": base_pids | {"bare": bare.pid},
            }
            for target in ("intake", "bare"):  # warm up: connections, caches
                warm = Step(target, "closed", 4, args.warmup, warmup=True)
                await closed_loop(lanes[target], requests, warm)
                if warm.error_count:
                    raise SystemExit(f"{target} warm-up failed: {dict(warm.errors)}")
                cfg.steps.append(warm)  # its reports count in the Kafka check
            events_per_report = 2  # incident.reported + the public status

            def created(target: str = "intake") -> int:
                return sum(s.created for s in cfg.steps if s.target == target)

            def sent() -> int:  # requests the service has seen (or will)
                # A ReadError is a keep-alive connection the server closed as the request
                # went out: the service may never have seen it (waiting for it cost 120 s).
                return sum(
                    s.ok + s.error_count - s.errors["unfinished"] - s.errors["ReadError"]
                    for s in cfg.steps
                    if s.target == "intake"
                )

            await drain(ci, events_per_report * created(), args.drain_timeout, sent())
            plan = [("open", r, args.seconds) for r in args.rates] + [
                ("closed", c, args.closed_seconds) for c in args.concurrency
            ]
            print(
                "  target mode   level |  achieved     latency (ms)                        "
                "errors | CPU per successful request (and share of one core)",
                flush=True,
            )
            saturated: set[str] = set()
            for mode, level, seconds in plan:
                for target in ("intake", "bare"):
                    if mode == "open" and target in saturated:
                        print(f"  {target:6} {mode:6} {level:4} | not run: saturated below")
                        continue
                    step = Step(target, mode, level, seconds)
                    step.size = cfg.preload + created(target)
                    profiler = None
                    if target == "intake" and args.py_spy == f"{mode}:{level}":
                        out = logs / f"py-spy-{cfg.pool}-{mode}-{level}.txt"
                        profiler = py_spy(intake.pid, seconds, out)
                    await run_step(
                        step, clients[target], lanes[target], requests, pids[target], args.db_stats
                    )
                    if profiler is not None:
                        profiler.wait()
                    cfg.steps.append(step)
                    if target == "intake":
                        step.drain_seconds = await drain(
                            ci, events_per_report * created(), args.drain_timeout, sent()
                        )
                    print_step(step)
                    if mode == "open" and (
                        step.error_count > 0.01 * step.level * step.seconds
                        or step.achieved < 0.9 * step.level
                    ):
                        saturated.add(target)
            try:
                cfg.verified = await verify(cfg, backing.kafka, mongo)
            except Exception as exc:  # e.g. FerretDB wedged under a big pool
                cfg.verified = {"error": f"{type(exc).__name__}: {exc}"}
            print_verified(cfg.verified)
            for lane in lanes.values():
                await lane.aclose()
        await mongo.close()
    finally:
        for proc in procs:
            stop_process(proc)


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Record the service's stacks (collapsed) during a step, if py-spy is installed."""
    exe = shutil.which("py-spy") or str(Path.home() / ".local/bin/py-spy")
    argv = [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
    argv += ["-f", "raw", "-o", str(out), "--nonblocking"]
    print(f"  (py-spy recording the service into {out})", flush=True)
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------- report


def print_verified(v: Document) -> None:
    """The Kafka check of one configuration."""
    if "error" in v:
        print(f"Kafka check: could not be made ({v['error']})", flush=True)
        return
    print(
        f"Kafka check: {v['accepted']} reports accepted (201), {v['failed']} failed "
        f"(timed out: may be stored), {v['stored']} stored, "
        f"{v['pending_outboxes']} outboxes pending after {v['drain_seconds']:.1f} s, "
        f"{v['reported_events']} incident.reported events on {TOPIC.name}, "
        f"{v['public_events']} on {PUBLIC_TOPIC.name}, other events "
        f"{v['other_events']}: {'OK' if v['ok'] else 'MISMATCH'}",
        flush=True,
    )


def summary(configs: list[Config], args: argparse.Namespace) -> None:
    """The tables: open loop, closed loop, ratio, 300 rps goal, Kafka check."""
    print("\n================ summary ================")
    for cfg in configs:
        label = f"{cfg.pool}" + (" (the services' default)" if cfg.pool == 100 else "")
        print(f"\n-- MongoDB pool size {label}")
        measured = [s for s in cfg.steps if not s.warmup]
        by = {(s.target, s.mode, s.level): s for s in measured}
        print(
            "mode    level | intake: rps    p50    p95    p99  err | "
            "bare: rps    p50    p95    p99  err"
        )
        for mode, levels in (("open", args.rates), ("closed", args.concurrency)):
            for level in levels:
                cells = []
                for target in ("intake", "bare"):
                    s = by.get((target, mode, level))
                    if s is None:
                        cells.append(f"{'not run (saturated)':>36}")
                        continue
                    cells.append(
                        f"{s.achieved:7.1f} {s.pct(0.5):6.1f} {s.pct(0.95):6.1f} "
                        f"{s.pct(0.99):6.1f} {s.error_count:4}"
                    )
                print(f"{mode:6} {level:6} | {cells[0]}   | {cells[1]}")
        intake, bare = (
            max(
                (
                    s.achieved
                    for s in measured
                    if s.target == target and s.mode == "closed" and not s.error_count
                ),
                default=0.0,
            )
            for target in ("intake", "bare")
        )
        ratio = intake / bare if bare else float("nan")
        print(
            f"sustained (best closed-loop, no errors): intake {intake:.1f} rps, "
            f"bare {bare:.1f} rps, ratio {ratio:.2f} (goal ≥ 0.60: "
            f"{'met' if ratio >= 0.6 else 'NOT met'})"
        )
        at300 = by.get(("intake", "open", 300))
        if at300 is not None:
            met = at300.pct(0.99) < 100 and not at300.error_count and (at300.achieved >= 0.95 * 300)
            print(
                f"intake at 300 rps: achieved {at300.achieved:.1f} rps, p99 "
                f"{at300.pct(0.99):.1f} ms, errors {at300.error_count} (goal p99 < 100 ms: "
                f"{'met' if met else 'NOT met'})"
            )
        else:
            ran = 300 in args.rates
            print(
                "intake at 300 rps: "
                + ("not run: saturated at a lower rate (goal NOT met)" if ran else "not in --rates")
            )
        print_verified(cfg.verified)


async def machine_facts(mongodb: str) -> None:
    """CPU count, load, server versions."""
    mongo: AsyncMongoClient[Document] = create_mongo_client(mongodb, timeout_ms=10_000)
    info = await mongo.admin.command("buildInfo")
    await mongo.close()
    server = f"MongoDB wire {info.get('version')}"
    ferret = info.get("ferretdbVersion") or (info.get("ferretdb") or {}).get("version")
    if ferret:
        server += f" = FerretDB {ferret}"
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"at start; Python {sys.version.split()[0]}; {server}",
        flush=True,
    )


async def run(args: argparse.Namespace) -> None:
    """Everything."""
    backing = backing_servers(args.instance)
    logs = Path(args.logs)
    configs: list[Config] = []
    try:
        await machine_facts(backing.mongodb)
        print(f"kafka {backing.kafka}, mongodb {backing.mongodb}; server logs in {logs}")
        issuer = TestIssuer()
        stamp = f"{int(time.time())}"
        with jwks_server(issuer.jwks_json) as jwks_url:
            for pool in args.pools:
                cfg = Config(
                    pool=pool,
                    database=f"bench_intake_{stamp}_p{pool}",
                    bare_database=f"bench_bare_{stamp}_p{pool}",
                    prefix=f"benchintake{stamp}p{pool}.",
                    preload=args.preload,
                )
                configs.append(cfg)
                await run_config(cfg, args, backing, issuer, jwks_url, logs)
        summary(configs, args)
        mongo: AsyncMongoClient[Document] = create_mongo_client(backing.mongodb)
        for cfg in configs:
            await mongo.drop_database(cfg.database)
            await mongo.drop_database(cfg.bare_database)
        await mongo.close()
    finally:
        backing.cleanup()


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    """Parse arguments and run (or be one of the server processes)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~1.5 minute smoke run")
    parser.add_argument("--rates", type=_ints, default=None, help="open-loop rps, e.g. 50,100")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per open-loop step")
    parser.add_argument("--concurrency", type=_ints, default=None, help="closed-loop levels")
    parser.add_argument("--closed-seconds", type=float, default=None)
    parser.add_argument(
        "--pools",
        type=_ints,
        default=[100],
        help="MongoDB pool sizes to run, e.g. 1,100 (100 is the services' default)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="keep-alive connections per target in open loop (requests beyond wait for one)",
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=0,
        help="incidents already stored (both targets) before the run, e.g. 5000",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=None,
        help="seconds to wait for the outbox after an intake step (default 120, quick 60)",
    )
    parser.add_argument(
        "--db-stats",
        action="store_true",
        help="run the service through a wrapper that counts and times its MongoDB commands",
    )
    parser.add_argument(
        "--py-spy",
        metavar="MODE:LEVEL",
        help="record the service with py-spy (if installed) during one step, e.g. open:300",
    )
    parser.add_argument(
        "--intake-cmd",
        help="command that runs the service instead of `python -m binhyen.incidents` "
        "(a patched build to compare; gets --db-stats appended with --db-stats)",
    )
    parser.add_argument("--instance", default=INSTANCE, help="local server instance name")
    parser.add_argument("--logs", default=f"/tmp/{INSTANCE}", help="where server logs go")
    parser.add_argument("--child", choices=("intake", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db_stats)
        return
    quick = args.quick
    args.rates = args.rates or ([25, 100, 300] if quick else [25, 50, 100, 200, 300, 400])
    args.seconds = args.seconds or (5.0 if quick else 20.0)
    args.concurrency = args.concurrency or ([1, 8, 32] if quick else [1, 8, 32, 64])
    args.closed_seconds = args.closed_seconds or (4.0 if quick else 15.0)
    args.drain_timeout = args.drain_timeout or (60.0 if quick else 120.0)
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    # Stop cleanly (servers stopped and wiped) on Ctrl-C, SIGTERM, and SIGINT when started
    # in the background (where the shell makes SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
