"""The registry FastAPI app."""

from fastapi import FastAPI

from binhyen.contracts.topics import REGISTRY_UNITS
from binhyen.kit.runtime import Runtime, ServiceSpec, create_service_app
from binhyen.registry import api
from binhyen.registry.settings import Settings
from binhyen.registry.store import UnitStore


async def _startup(rt: Runtime) -> None:
    store = UnitStore(rt.db)
    await store.create_indexes()
    rt.extras["units"] = store


def service_spec() -> ServiceSpec:
    """How the registry plugs into the shared runtime."""
    return ServiceSpec(
        name="registry",
        title="Bình Yên registry",
        description="Admin units, households, residents, organisations and teams.",
        routers=[api.router],
        topics=[REGISTRY_UNITS],
        outbox_collections=lambda db: [db["units"]],
        on_startup=_startup,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the registry app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
