"""The deadline scheduler: safe with any number of replicas.

Each replica runs the loop; a lease in MongoDB lets one of them sweep at a time.
Exactly-once does not rest on the lease alone (a paused holder may outlive it): each
miss is recorded on the incident by one guarded write that also queues its event, and
only one write finds the deadline not yet missed, so each miss is emitted once. The
event joins the incident's own outbox, so it reaches Kafka in order with the others.
"""

from __future__ import annotations

import logging

from binhyen.incidents.domain.deadlines import due_misses, miss, next_due
from binhyen.incidents.domain.incidents import CLOSED, WAITING_ACK, Incident
from binhyen.incidents.service.common import Context
from binhyen.incidents.service.events import miss_outbox
from binhyen.kit.lease import Lease, LeasedWorker

log = logging.getLogger(__name__)
LEASE = "deadline-scheduler"


def _still_pending(incident: Incident, kind: str) -> bool:
    if kind == "acknowledge":
        return incident.status in WAITING_ACK
    return incident.status not in CLOSED and incident.status != "escalated"


async def sweep(ctx: Context) -> int:
    """Record every deadline missed by now, once each; return how many were new."""
    now = ctx.now()
    new = 0
    for incident in await ctx.stores.incidents.due(now):
        deadlines = incident.deadlines
        for deadline in due_misses(incident.deadlines, now):
            deadlines = miss(deadlines, deadline.kind, now)
            if not _still_pending(incident, deadline.kind):
                continue
            outbox = miss_outbox(ctx, incident, deadline, now)
            if await ctx.stores.incidents.record_miss(
                incident.id, deadline.kind, now, next_due(deadlines), outbox=outbox
            ):
                new += 1
                ctx.publish_pending("incidents", incident.id)
                log.info(
                    "deadline missed",
                    extra={"incident_id": incident.id, "deadline": deadline.kind},
                )
        if next_due(deadlines) != next_due(incident.deadlines):
            await ctx.stores.incidents.set_next_due(incident.id, next_due(deadlines))
    return new


class DeadlineScheduler(LeasedWorker):
    """Runs :func:`sweep` every few seconds while this replica holds the lease."""

    def __init__(self, ctx: Context, *, interval: float, lease: float) -> None:
        db = ctx.stores.incidents.collection.database
        super().__init__(Lease(db, LEASE, ttl=lease), self._sweep, interval=interval, name=LEASE)
        self._ctx = ctx

    @property
    def sweeps(self) -> int:
        """Sweeps this replica finished."""
        return self.runs

    async def _sweep(self) -> None:
        await sweep(self._ctx)
        if self.runs % 100 == 0:
            await self._ctx.stores.rate_limits.purge()
