"""The registry FastAPI app."""

from fastapi import FastAPI

from binhyen.contracts.topics import CATALOGUE
from binhyen.kit.runtime import Runtime, ServiceSpec, create_service_app
from binhyen.registry.api import ROUTERS
from binhyen.registry.service import households, identity, imports, stats, units
from binhyen.registry.service.common import Context
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores


async def _startup(rt: Runtime) -> None:
    stores = Stores.open(rt.db)
    await stores.create_indexes()
    rt.extras["stores"] = stores
    await identity.on_startup(rt, stores)
    # Finish multi-document writes a crash interrupted (their markers are durable).
    wake = rt.relay.wake if rt.relay else (lambda *hint: None)
    await units.resume_cascades(units.units_context(stores, topic=rt.settings.topic, wake=wake))
    ctx = Context(stores, rt.settings.topic, wake)
    await households.resume_pending(ctx)
    await imports.resume_imports(ctx)
    settings = rt.settings
    assert isinstance(settings, Settings)
    if settings.counts_publish_seconds > 0:
        publisher = stats.CountsPublisher(ctx, interval=settings.counts_publish_seconds)
        await publisher.start()
        rt.extras["counts_publisher"] = publisher


async def _shutdown(rt: Runtime) -> None:
    await imports.stop_jobs()  # their leases expire and another replica resumes them
    publisher = rt.extras.get("counts_publisher")
    if publisher is not None:
        await publisher.stop()


def service_spec() -> ServiceSpec:
    """How the registry plugs into the shared runtime."""
    return ServiceSpec(
        name="registry",
        title="Bình Yên registry",
        description=(
            "Who and where: admin units, households, residents, organisations and teams, "
            "users and their roles."
        ),
        routers=ROUTERS,
        topics=[t for t in CATALOGUE if t.name.startswith("binhyen.registry.")],
        outbox_collections=lambda db: Stores.open(db).outbox_collections(),
        on_startup=_startup,
        on_shutdown=_shutdown,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the registry app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
