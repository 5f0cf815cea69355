"""Service bootstrap: clients, outbox relay, consumers, health, metrics, errors, logging."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from binhyen.contracts import TopicSpec
from binhyen.kit.accounts import AccountStates
from binhyen.kit.auth import TokenVerifier, load_jwks
from binhyen.kit.consumer import ConsumerRunner, RecordHandler
from binhyen.kit.docs import install_docs
from binhyen.kit.edge import GuardEdge
from binhyen.kit.kafka import KafkaAccess, KafkaHealth, start_producer
from binhyen.kit.logging import configure_logging, correlation_id
from binhyen.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS, UNMATCHED, method_label, status_label
from binhyen.kit.mongo import create_mongo_client, describe_server, ping
from binhyen.kit.outbox import OutboxRelay
from binhyen.kit.problems import document_problems, install_problem_handlers, problem
from binhyen.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

Document = dict[str, Any]
C = TypeVar("C", bound="ServiceContext")
W = TypeVar("W")


@dataclass
class Subscription:
    """A consumer a service runs: which catalogue topics, and the handler for their records."""

    topics: Sequence[TopicSpec]
    handler: RecordHandler


class Worker(Protocol):
    """Background work a service runs while it is up (a sweep, a scheduler, a publisher)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceContext:
    """What a service's use cases get: its settings and the outbox relay's two doors.

    Each service subclasses it with its stores (and whatever else its use cases share),
    built once at start-up by ``ServiceSpec.context`` — so the relay, the stores and the
    settings are there from the first line of start-up on, typed.
    """

    settings: ServiceSettings
    relay: OutboxRelay | None

    def topic(self, name: str) -> str:
        """The deployed name of a catalogue topic (the deployment's prefix applied)."""
        return self.settings.topic(name)

    def publish_pending(self, collection: str | None = None, *doc_ids: Any) -> None:
        """Publish now the pending outbox events of documents just *updated*.

        Call it right after a write that added outbox entries; naming the collection and
        the documents lets the relay go straight to them (without, it scans everything,
        as its periodic sweep does). Nothing is lost if it is not called: the sweep finds
        the entries later.
        """
        if self.relay is not None:
            self.relay.wake(collection, *doc_ids)

    def publish_new(self, collection: str, doc_id: Any, entries: Sequence[Document]) -> None:
        """Publish the events of a document just *inserted* (its whole outbox).

        Nothing older can be pending for a new document, so the relay sends them from
        memory without reading the document back. After an update, use
        :meth:`publish_pending`: older entries may be waiting.
        """
        if self.relay is not None:
            self.relay.hand_over(collection, doc_id, entries)


@dataclass
class Runtime:
    """Everything a running service holds; created in the lifespan, closed at shutdown."""

    name: str
    settings: ServiceSettings
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    kafka: KafkaHealth | None = None
    verifier: TokenVerifier | None = None
    context: Any = None  # the service's context (a ServiceContext), from ServiceSpec.context
    workers: list[Worker] = field(default_factory=list)
    accounts: AccountStates | None = None  # with ServiceSpec.follow_accounts

    def worker(self, kind: type[W]) -> W:
        """The running worker of this type (tests and operators look one up by its class)."""
        for worker in self.workers:
            if isinstance(worker, kind):
                return worker
        raise LookupError(f"{self.name} runs no {kind.__name__}")


@dataclass
class ServiceSpec:
    """How a service plugs into the runtime."""

    name: str
    title: str
    routers: Sequence[APIRouter]
    topics: Sequence[TopicSpec] = ()  # the topics it publishes (the deploy step creates them)
    dead_letters: TopicSpec | None = None  # its consumer group's DLQ, when it consumes
    outbox_collections: Callable[[AsyncDatabase[Document]], Sequence[AsyncCollection[Document]]] = (
        lambda db: ()
    )
    subscriptions: Callable[[Runtime], Sequence[Subscription]] = lambda rt: ()
    # Builds the service's typed context (stores, indexes, seeds: no background work).
    context: Callable[[Runtime], Awaitable[Any]] | None = None
    # Background workers, started once the context, relay and consumers run.
    workers: Callable[[Runtime], Sequence[Worker]] = lambda rt: ()
    # Refuse the tokens of accounts the registry deactivated (kit.accounts): consumes
    # binhyen.registry.accounts.v1 into the service's database. Needs ``dead_letters``.
    follow_accounts: bool = False
    description: str = ""
    version: str = "0.1.0"


def accounts_subscription(states: AccountStates) -> Subscription:
    """The consumer ``follow_accounts`` adds (a service's ``dlq replay`` needs it too)."""
    return Subscription([states.topic], states.handler())


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving ``request``."""
    rt: Runtime = request.app.state.runtime
    return rt


def context_of(request: Request, kind: type[C]) -> C:
    """The service context of the app serving ``request``, checked to be a ``kind``."""
    ctx = runtime_of(request).context
    if not isinstance(ctx, kind):
        raise TypeError(f"the service context is a {type(ctx).__name__}, not a {kind.__name__}")
    return ctx


@asynccontextmanager
async def open_runtime(spec: ServiceSpec, settings: ServiceSettings) -> AsyncIterator[Runtime]:
    """Open clients, start the relay and consumers; close all on exit.

    Nothing here waits for Kafka: the relay and the consumers connect (and reconnect) in
    the background, so a service starts, accepts writes and serves reads while Kafka is
    away, and its outbox catches up when it returns. Topics are not created here either:
    that is a deploy step (``python -m binhyen.kit.topics create``).
    """
    mongo = create_mongo_client(
        settings.mongodb_uri,
        timeout_ms=settings.mongodb_timeout_ms,
        max_pool_size=settings.mongodb_max_pool_size,
    )
    rt = Runtime(spec.name, settings, mongo, mongo[settings.mongodb_database])
    rt.kafka = KafkaHealth(KafkaAccess.of(settings))
    if settings.auth_jwks_json or settings.auth_jwks_url:
        rt.verifier = TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            # A static JWKS replaces the URL: refreshing from a URL nobody serves would
            # turn every token away once the keys are five minutes old.
            jwks_url=None if settings.auth_jwks_json else settings.auth_jwks_url,
            jwks=load_jwks(settings.auth_jwks_json) if settings.auth_jwks_json else None,
        )
    try:
        await _log_server(rt)
        collections = spec.outbox_collections(rt.db)
        if collections:
            # Created before the context, started after it: the context's doors to the relay
            # work from the first line of start-up (work resumed at start goes out at once).
            rt.relay = OutboxRelay(
                collections=collections,
                producer_factory=lambda: _producer(settings, spec.name),
                sweep_seconds=settings.outbox_sweep_seconds,
            )
        if spec.context is not None:
            rt.context = await spec.context(rt)
        if rt.relay is not None:
            await rt.relay.start()
        await rt.kafka.start()
        subscriptions = list(spec.subscriptions(rt))
        if spec.follow_accounts:
            rt.accounts = AccountStates(rt.db)
            if rt.verifier is not None:
                rt.verifier.account_active = rt.accounts.is_active
            # A runner of its own: a backlog on other topics never delays a deactivation.
            subscriptions.append(accounts_subscription(rt.accounts))
        if subscriptions and spec.dead_letters is None:
            raise ValueError(f"{spec.name} consumes topics but declares no dead_letters topic")
        for index, sub in enumerate(subscriptions):
            runner = ConsumerRunner(
                bootstrap=KafkaAccess.of(settings),
                group_id=settings.consumer_group,
                topics=[settings.topic(t.name) for t in sub.topics],
                handler=sub.handler,
                client_id=f"{spec.name}-{index}",
                dead_letters=settings.topic(spec.dead_letters.name) if spec.dead_letters else "",
                max_attempts=settings.consumer_max_attempts,
                backoff_seconds=settings.consumer_backoff_seconds,
                max_backoff_seconds=settings.consumer_max_backoff_seconds,
            )
            await runner.start()
            rt.consumers.append(runner)
        for worker in spec.workers(rt):
            await worker.start()
            rt.workers.append(worker)
        yield rt
    finally:
        for worker in reversed(rt.workers):
            await worker.stop()
        # Side by side: stopped one after another, each leaving member sends the others of
        # its group through a rebalance just before they leave too.
        await asyncio.gather(*(runner.stop() for runner in rt.consumers))
        if rt.relay is not None:
            await rt.relay.stop()
        await rt.kafka.close()
        await mongo.close()


async def _log_server(rt: Runtime) -> None:
    """Say at start which database server (and version) the service talks to."""
    try:
        server = await describe_server(rt.mongo)
    except Exception as exc:
        log.warning("database server not reachable at start", extra={"error": type(exc).__name__})
        return
    log.info(
        f"database server: {server}",
        extra={"database_server": server, "database": rt.settings.mongodb_database},
    )


async def _producer(settings: ServiceSettings, name: str) -> AIOKafkaProducer:
    return await start_producer(KafkaAccess.of(settings), client_id=f"{name}-outbox")


def serve_forever(app: FastAPI, settings: ServiceSettings, *, name: str) -> None:
    """Run ``app`` under uvicorn with JSON logs, until SIGINT or SIGTERM."""
    import uvicorn

    configure_logging(settings.log_level, service=name)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        # The kit resolves X-Forwarded-For itself, against settings.trusted_proxies
        # (kit.edge): uvicorn's default would believe any header sent from 127.0.0.1.
        proxy_headers=False,
        server_header=False,
    )


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """A FastAPI app with the service's routers, health, metrics and problem+json errors."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(spec, settings) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from the package's files, not a CDN
        redoc_url=None,
    )
    install_problem_handlers(app)
    for router in spec.routers:
        app.include_router(router)
    app.include_router(_ops_router(settings))
    install_docs(app)
    document_problems(app)
    app.add_middleware(
        GuardEdge,
        trusted_proxies=settings.trusted_proxies,
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(ObserveRequests)  # outermost: counts and ids what the guard refuses
    return app


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ObserveRequests:
    """Request id (echoed as ``X-Request-ID``, logged as the correlation id) and metrics.

    Plain ASGI, not ``BaseHTTPMiddleware``: that one runs every request in an extra task with
    memory streams, a measurable share of a small endpoint's CPU (bench/incidents_intake).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        # A caller's id is kept only if it is a plain token: it goes into every log line.
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        scope.setdefault("state", {})["request_id"] = request_id
        token = correlation_id.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
            # Route templates, not paths: a path a caller invents adds no series.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = method_label(scope["method"])
            HTTP_REQUESTS.labels(method, route, status_label(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _ops_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database answers (Kafka is reported, not required)",
        response_model=None,
    )
    async def readyz(request: Request) -> JSONResponse:
        # Only the database gates readiness: with Kafka away the service still accepts
        # writes (the outbox keeps them) and serves reads, so taking it out of the load
        # balancer would turn a Kafka outage into a full one.
        rt = runtime_of(request)
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(2):
                await ping(rt.mongo)
            checks["mongodb"] = "ok"
        except Exception as exc:
            checks["mongodb"] = f"unavailable ({type(exc).__name__})"
        checks["kafka"] = rt.kafka.status() if rt.kafka is not None else "not used"
        if checks["mongodb"] == "ok":
            return JSONResponse({"status": "ready", "checks": checks})
        return problem(
            503,
            "not-ready",
            "Not ready",
            "The database is unavailable.",
            headers={"Retry-After": "5"},
            checks=checks,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        token = settings.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
                return problem(
                    401,
                    "unauthorized",
                    "Authentication required",
                    "send the metrics token: Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
