"""The incidents FastAPI app."""

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts.topics import (
    INCIDENTS,
    INCIDENTS_DEAD_LETTERS,
    INCIDENTS_ESCALATIONS,
    INCIDENTS_PUBLIC,
)
from binhyen.incidents import api, consumers
from binhyen.incidents.domain.categories import DEFAULT_CATALOGUE
from binhyen.incidents.service.common import Context, ReadCache
from binhyen.incidents.service.deadlines import DeadlineScheduler
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import Document, Stores
from binhyen.kit.runtime import Runtime, ServiceSpec, Subscription, create_service_app


def context(rt: Runtime) -> Context:
    """The use cases' context over a running service."""

    def wake(*hint: object) -> None:
        if rt.relay is not None:
            rt.relay.wake(*hint)  # type: ignore[arg-type]

    def hand(collection: str, doc_id: object, entries: list[dict[str, object]]) -> None:
        if rt.relay is not None:
            rt.relay.hand_over(collection, doc_id, entries)

    settings = rt.settings
    assert isinstance(settings, Settings)
    return Context(
        stores=rt.extras["stores"],
        topic=settings.topic,
        wake=wake,
        hand=hand,
        settings=settings,
        cache=ReadCache(settings.reference_cache_seconds),
    )


async def _startup(rt: Runtime) -> None:
    stores = Stores.of(rt.db)
    await stores.create_indexes()
    settings = rt.settings
    assert isinstance(settings, Settings)
    if settings.seed_categories:
        await stores.categories.seed(DEFAULT_CATALOGUE)
    rt.extras["stores"] = stores
    rt.extras["context"] = context(rt)
    # The scheduler's doorbell reaches the relay once it runs (wake looks it up per call).
    scheduler = DeadlineScheduler(
        rt.extras["context"],
        interval=settings.deadline_sweep_seconds,
        lease=settings.deadline_lease_seconds,
    )
    await scheduler.start()
    rt.extras["scheduler"] = scheduler


async def _shutdown(rt: Runtime) -> None:
    scheduler: DeadlineScheduler | None = rt.extras.get("scheduler")
    if scheduler is not None:
        await scheduler.stop()


def _subscriptions(rt: Runtime) -> list[Subscription]:
    return consumers.subscriptions(stores=rt.extras["stores"])


def _outbox(db: AsyncDatabase[Document]) -> list[AsyncCollection[Document]]:
    return [db["incidents"]]


def service_spec() -> ServiceSpec:
    """How incidents plugs into the shared runtime."""
    return ServiceSpec(
        name="incidents",
        title="Bình Yên incidents",
        description=(
            "Reporting and handling of incidents in each hamlet: intake, anonymous tips, "
            "lifecycle, mediation, hand-off to the police, deadlines, maps and Open311."
        ),
        routers=api.routers(),
        topics=[INCIDENTS, INCIDENTS_ESCALATIONS, INCIDENTS_PUBLIC],
        dead_letters=INCIDENTS_DEAD_LETTERS,
        outbox_collections=_outbox,
        subscriptions=_subscriptions,
        on_startup=_startup,
        on_shutdown=_shutdown,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the incidents app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
