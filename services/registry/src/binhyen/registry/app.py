"""The registry FastAPI app."""

from fastapi import FastAPI

from binhyen.contracts.topics import CATALOGUE
from binhyen.kit.runtime import Runtime, ServiceSpec, Worker, create_service_app
from binhyen.registry.api import ROUTERS
from binhyen.registry.service import identity, imports, stats, workflows
from binhyen.registry.service.common import Context
from binhyen.registry.service.import_files import FilePool
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores


async def _context(rt: Runtime) -> Context:
    settings = rt.settings
    assert isinstance(settings, Settings)
    stores = Stores.open(rt.db)
    await stores.create_indexes()
    key = await identity.on_startup(rt, stores, settings)
    return Context(
        settings,
        rt.relay,
        stores,
        signing_key=key,
        import_files=FilePool(settings.import_workers),
    )


def _workers(rt: Runtime) -> list[Worker]:
    ctx: Context = rt.context
    settings = ctx.settings
    found: list[Worker] = [
        # Finishes multi-document writes a crash or a lost race left (at once, then every
        # few seconds) on the replica holding its lease; stopping releases it.
        workflows.WorkflowWorker(
            ctx,
            interval=settings.workflow_sweep_seconds,
            lease_seconds=settings.workflow_lease_seconds,
        ),
        # At stop: jobs release their leases (another replica resumes), file workers end.
        imports.RunningJobs(ctx),
    ]
    if settings.counts_publish_seconds > 0:
        found.append(stats.CountsPublisher(ctx, interval=settings.counts_publish_seconds))
    return found


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
        context=_context,
        workers=_workers,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the registry app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
