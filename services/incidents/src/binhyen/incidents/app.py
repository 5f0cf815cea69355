"""The incidents FastAPI app."""

from fastapi import FastAPI

from binhyen.incidents import api, consumers
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import UnitReplicaStore
from binhyen.kit.runtime import Runtime, ServiceSpec, Subscription, create_service_app


async def _startup(rt: Runtime) -> None:
    store = UnitReplicaStore(rt.db)
    await store.create_indexes()
    rt.extras["units"] = store


def _subscriptions(rt: Runtime) -> list[Subscription]:
    return consumers.subscriptions(units=rt.extras["units"])


def service_spec() -> ServiceSpec:
    """How incidents plugs into the shared runtime."""
    return ServiceSpec(
        name="incidents",
        title="Bình Yên incidents",
        description="Reporting and handling of incidents in each hamlet.",
        routers=[api.router],
        subscriptions=_subscriptions,
        on_startup=_startup,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the incidents app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
