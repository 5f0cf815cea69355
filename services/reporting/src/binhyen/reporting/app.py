"""The reporting FastAPI app."""

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts.topics import (
    REPORTING_DEAD_LETTERS,
    REPORTING_EVALUATIONS,
    REPORTING_HOTSPOTS,
    REPORTING_PUBLIC,
)
from binhyen.kit.runtime import Runtime, ServiceSpec, Worker, create_service_app
from binhyen.reporting import api
from binhyen.reporting.consumers import Follower
from binhyen.reporting.service import evaluations, rulesets
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.hotspots import HotspotWorker
from binhyen.reporting.service.public import PublicStatisticsPublisher
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import Document, Stores
from binhyen.reporting.store.hotspots import HOTSPOTS
from binhyen.reporting.store.public import PUBLIC_STATISTICS


async def _context(rt: Runtime) -> Context:
    settings = rt.settings
    assert isinstance(settings, Settings)
    stores = Stores.of(rt.db, group_prefix=settings.consumer_group)
    await stores.create_indexes()
    await rulesets.create_indexes(rt.db)
    ctx = Context(settings, rt.relay, stores)
    await evaluations.create_indexes(ctx)
    return ctx


def _workers(rt: Runtime) -> list[Worker]:
    ctx: Context = rt.context
    hotspots = HotspotWorker(ctx)
    dead_letters = ctx.topic(REPORTING_DEAD_LETTERS.name)
    return [
        Follower(ctx.settings, ctx.stores, dead_letters, on_hamlets=hotspots.look_at),
        hotspots,
        PublicStatisticsPublisher(ctx),
    ]


def _outbox(db: AsyncDatabase[Document]) -> list[AsyncCollection[Document]]:
    return [db[evaluations.COLLECTION], db[HOTSPOTS], db[PUBLIC_STATISTICS]]


def service_spec() -> ServiceSpec:
    """How reporting plugs into the shared runtime."""
    return ServiceSpec(
        name="reporting",
        title="Bình Yên reporting",
        description=(
            "Statistics of every unit and period beside a year earlier, the yearly evaluation "
            "of hamlets against Circular 124/2021/TT-BCA, exports and public statistics."
        ),
        routers=api.routers(),
        topics=[REPORTING_EVALUATIONS, REPORTING_HOTSPOTS, REPORTING_PUBLIC],
        dead_letters=REPORTING_DEAD_LETTERS,
        outbox_collections=_outbox,
        context=_context,
        workers=_workers,
        follow_accounts=True,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the reporting app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
