"""The notifications FastAPI app."""

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts.topics import (
    NOTIFICATIONS_ALERTS,
    NOTIFICATIONS_DEAD_LETTERS,
    NOTIFICATIONS_DELIVERIES,
    NOTIFICATIONS_PUBLIC,
)
from binhyen.kit.runtime import Runtime, ServiceSpec, Subscription, Worker, create_service_app
from binhyen.notifications import api, consumers
from binhyen.notifications.service import policies
from binhyen.notifications.service.channels import build_channels
from binhyen.notifications.service.common import Context
from binhyen.notifications.service.dispatch import Dispatcher
from binhyen.notifications.service.escalation import EscalationWorker
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Document, Stores


async def _context(rt: Runtime) -> Context:
    settings = rt.settings
    assert isinstance(settings, Settings)
    stores = Stores.of(rt.db)
    await stores.create_indexes()
    ctx = Context(settings, rt.relay, stores, channels=build_channels(settings))
    await policies.seed_defaults(ctx)
    return ctx


class _Channels:
    """Closes the channels' connections when the service stops."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def start(self) -> None:
        """Nothing to start: channels connect on first use."""

    async def stop(self) -> None:
        """Close every channel."""
        for channel in self._ctx.channels.values():
            await channel.aclose()


def _workers(rt: Runtime) -> list[Worker]:
    ctx: Context = rt.context
    return [
        _Channels(ctx),
        Dispatcher(ctx),
        EscalationWorker(
            ctx,
            interval=ctx.settings.escalation_sweep_seconds,
            lease=ctx.settings.escalation_lease_seconds,
        ),
    ]


def _subscriptions(rt: Runtime) -> list[Subscription]:
    ctx: Context = rt.context
    return consumers.subscriptions(ctx=ctx)


def _outbox(db: AsyncDatabase[Document]) -> list[AsyncCollection[Document]]:
    return [db["alerts"], db["deliveries"]]


def service_spec() -> ServiceSpec:
    """How notifications plugs into the shared runtime."""
    return ServiceSpec(
        name="notifications",
        title="Bình Yên notifications",
        description=(
            "The digital security gong (tiếng kẻng an ninh): alert policies, escalation, "
            "channels, acknowledgement, CAP 1.2 alerts and drills."
        ),
        routers=api.routers(),
        topics=[NOTIFICATIONS_ALERTS, NOTIFICATIONS_DELIVERIES, NOTIFICATIONS_PUBLIC],
        dead_letters=NOTIFICATIONS_DEAD_LETTERS,
        outbox_collections=_outbox,
        subscriptions=_subscriptions,
        context=_context,
        workers=_workers,
        follow_accounts=True,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the notifications app; clients open in its lifespan."""
    return create_service_app(service_spec(), settings or Settings())
