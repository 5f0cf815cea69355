"""The incidents FastAPI app."""

import functools

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts.topics import (
    INCIDENTS,
    INCIDENTS_CATEGORIES,
    INCIDENTS_DEAD_LETTERS,
    INCIDENTS_ESCALATIONS,
    INCIDENTS_PUBLIC,
)
from binhyen.incidents import api, consumers
from binhyen.incidents.domain.categories import DEFAULT_CATALOGUE
from binhyen.incidents.service.common import Context, ReadCache
from binhyen.incidents.service.deadlines import DeadlineScheduler
from binhyen.incidents.service.events import category_outbox
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import Document, Stores
from binhyen.kit.runtime import Runtime, ServiceSpec, Subscription, Worker, create_service_app


async def _context(rt: Runtime) -> Context:
    settings = rt.settings
    assert isinstance(settings, Settings)
    stores = Stores.of(rt.db)
    await stores.create_indexes()
    announce = functools.partial(category_outbox, settings)
    if settings.seed_categories:
        await stores.categories.seed(DEFAULT_CATALOGUE, announce)
    # Categories stored before the catalogue had a topic are announced once.
    await stores.categories.announce_unannounced(announce)
    if rt.relay is not None:
        rt.relay.wake("categories")
    return Context(settings, rt.relay, stores, cache=ReadCache(settings.reference_cache_seconds))


def _workers(rt: Runtime) -> list[Worker]:
    ctx: Context = rt.context
    return [
        DeadlineScheduler(
            ctx,
            interval=ctx.settings.deadline_sweep_seconds,
            lease=ctx.settings.deadline_lease_seconds,
        )
    ]


def _subscriptions(rt: Runtime) -> list[Subscription]:
    ctx: Context = rt.context
    return consumers.subscriptions(stores=ctx.stores)


def _outbox(db: AsyncDatabase[Document]) -> list[AsyncCollection[Document]]:
    return [db["incidents"], db["categories"]]


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
        topics=[INCIDENTS, INCIDENTS_ESCALATIONS, INCIDENTS_PUBLIC, INCIDENTS_CATEGORIES],
        dead_letters=INCIDENTS_DEAD_LETTERS,
        outbox_collections=_outbox,
        subscriptions=_subscriptions,
        context=_context,
        workers=_workers,
        follow_accounts=True,  # a deactivated account's tokens stop working here too
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the incidents app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
