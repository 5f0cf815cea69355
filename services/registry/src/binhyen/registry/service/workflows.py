"""The workflow worker: finishes writes that span several documents, at any time.

A unit move or merge updates its subtree and every copy of its units' paths; a household
move updates its residents; an import writes thousands of households. Each records what
is left in a durable marker (or its job) in the same atomic write that starts it, and does
the rest at once. What a crash, a shutdown or a run of lost races leaves behind is
finished here: one replica at a time (it holds the lease) looks for markers every few
seconds and when woken, and the events of the work it finishes leave through the outbox
right away (its doorbell is the relay's).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from binhyen.kit.lease import Lease, LeasedWorker
from binhyen.registry.service import households, imports, units
from binhyen.registry.service.common import Context

log = logging.getLogger(__name__)
LEASE = "registry-workflows"


async def finish_pending_work(ctx: Context) -> int:
    """Finish or restart every multi-document write left unfinished; return how many."""
    units_ctx = units.units_context(ctx)
    steps: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
        ("unit moves", lambda: units.resume_cascades(units_ctx)),
        ("household moves", lambda: households.resume_pending(ctx)),
        ("imports", lambda: imports.resume_imports(ctx)),
    )
    done = 0
    for what, step in steps:
        try:  # one kind failing must not hold up the others
            found = await step()
        except Exception as exc:
            log.warning(f"resuming {what} failed", extra={"error": type(exc).__name__})
            continue
        if found:
            log.info(f"resumed {what}", extra={"count": found})
        done += found
    return done


class WorkflowWorker(LeasedWorker):
    """Runs :func:`finish_pending_work` every few seconds and when woken, under a lease."""

    def __init__(self, ctx: Context, *, interval: float, lease_seconds: float) -> None:
        super().__init__(
            Lease(ctx.stores.db, LEASE, ttl=lease_seconds),
            lambda: finish_pending_work(ctx),
            interval=interval,
            name=LEASE,
        )
