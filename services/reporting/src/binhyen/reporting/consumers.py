"""The topics reporting reads, and the live consumer that keeps the current generation fresh.

Reporting does not use the runtime's fixed consumer group: each generation of the read model
has a group of its own (``<consumer_group>.g<N>``), whose committed offsets say exactly what
that generation has applied. The live follower consumes with the current generation's group
and, when a rebuild moves the pointer, stops and starts again with the new generation's
group, which continues from the offsets the rebuild committed: nothing is skipped and
nothing is applied twice (applying twice would change nothing anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from binhyen.contracts import CloudEvent, TopicSpec
from binhyen.contracts.topics import REGISTRY_ACCOUNTS, REPORTING_READS
from binhyen.kit.consumer import ConsumerRunner, EventDispatcher
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.runtime import Subscription
from binhyen.reporting import projections
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import ReadModel, Stores

log = logging.getLogger(__name__)
HamletsTouched = Callable[[set[str]], None]
"""Told the hamlets whose incidents the live consumer just changed: an incident applied, a
hamlet merged into another (the hotspot sweep listens)."""

# Everything the read model is made of (the order does not matter: each document is guarded
# by its aggregate's version, and facts are order-free). The accounts topic is read by the
# runtime's own consumer (follow_accounts).
CONSUMED: tuple[TopicSpec, ...] = tuple(t for t in REPORTING_READS if t != REGISTRY_ACCOUNTS)


def handler_for(model: ReadModel, on_hamlets: HamletsTouched | None = None) -> EventDispatcher:
    """Apply each consumed event to ``model`` (unknown types are counted and skipped)."""

    async def apply(event: CloudEvent) -> None:
        changes = projections.changes(event)
        await model.apply(changes)
        if on_hamlets is not None and (hamlets := touched(changes)):
            on_hamlets(hamlets)

    return EventDispatcher({t: apply for spec in CONSUMED for t in spec.event_types})


def touched(changes: list[projections.Change]) -> set[str]:
    """The hamlets whose incidents these changes move: theirs, or a merged one's and its
    successor's."""
    found: set[str] = set()
    for change in changes:
        if change.collection == projections.INCIDENTS and change.state.get("hamlet_id"):
            found.add(change.state["hamlet_id"])
        elif change.collection == projections.UNITS and change.state.get("successor_id"):
            found.update((change.doc_id, change.state["successor_id"]))
    return found


def subscriptions(stores: Stores, model: ReadModel) -> list[Subscription]:
    """The consumed topics with the handler for ``model`` (operator commands: dlq replay)."""
    return [Subscription(topics=list(CONSUMED), handler=handler_for(model))]


class Follower:
    """Runs the current generation's consumer; follows the pointer when a rebuild moves it."""

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        dead_letters: str,
        on_hamlets: HamletsTouched | None = None,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.dead_letters = dead_letters
        self.on_hamlets = on_hamlets
        self.generation: int | None = None
        self._runner: ConsumerRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Start the current generation's consumer and watch the pointer."""
        await self._follow(await self.stores.generations.current())
        self._task = asyncio.create_task(self._watch(), name="reporting-follower")

    async def stop(self) -> None:
        """Stop watching and stop the consumer (it commits what it applied)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._runner is not None:
            await self._runner.stop()

    async def _follow(self, generation: int) -> None:
        if self._runner is not None:
            await self._runner.stop()
        model = self.stores.generations.model(generation)
        await model.create_indexes()
        settings = self.settings
        self._runner = ConsumerRunner(
            bootstrap=KafkaAccess.of(settings),
            group_id=self.stores.generations.group(generation),
            topics=[settings.topic(t.name) for t in CONSUMED],
            handler=handler_for(model, self.on_hamlets),
            client_id=f"reporting-g{generation}",
            dead_letters=self.dead_letters,
            max_attempts=settings.consumer_max_attempts,
            backoff_seconds=settings.consumer_backoff_seconds,
            max_backoff_seconds=settings.consumer_max_backoff_seconds,
        )
        await self._runner.start()
        self.generation = generation
        log.info("following generation", extra={"generation": generation})

    async def _watch(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.settings.generation_check_seconds)
            try:
                current = await self.stores.generations.current()
                if current != self.generation:
                    await self._follow(current)
            except Exception:  # the database is away: keep the consumer, look again later
                log.exception("could not read the current generation")
