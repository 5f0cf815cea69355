"""The registry FastAPI app."""

from fastapi import FastAPI

from binhyen.contracts.topics import CATALOGUE
from binhyen.kit.runtime import Runtime, ServiceSpec, create_service_app
from binhyen.registry.api import ROUTERS
from binhyen.registry.api.common import wake
from binhyen.registry.service import identity, imports, stats, workflows
from binhyen.registry.service.common import Context
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores


async def _startup(rt: Runtime) -> None:
    stores = Stores.open(rt.db)
    await stores.create_indexes()
    rt.extras["stores"] = stores
    await identity.on_startup(rt, stores)
    settings = rt.settings
    assert isinstance(settings, Settings)
    # The relay starts after this hook: the doorbell looks it up at each ring.
    ctx = Context(stores, settings.topic, lambda *hint: wake(rt, *hint))
    worker = workflows.WorkflowWorker(
        ctx,
        interval=settings.workflow_sweep_seconds,
        lease_seconds=settings.workflow_lease_seconds,
    )
    await worker.start()
    worker.wake()  # finish what a crash interrupted now, not at the first sweep
    rt.extras["workflows"] = worker
    if settings.counts_publish_seconds > 0:
        publisher = stats.CountsPublisher(ctx, interval=settings.counts_publish_seconds)
        await publisher.start()
        rt.extras["counts_publisher"] = publisher


async def _shutdown(rt: Runtime) -> None:
    worker = rt.extras.get("workflows")
    if worker is not None:
        await worker.stop()  # releases its lease: another replica takes over at once
    await imports.stop_jobs()  # they release their leases and another replica resumes them
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
