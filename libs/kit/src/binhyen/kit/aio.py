"""Waiting on an event with a time limit, without losing a cancellation.

On Python 3.11, ``asyncio.wait_for(event.wait(), t)`` swallows a cancellation that arrives
as the event is set: ``wait_for`` sees the inner wait done and returns its result instead of
raising (CPython gh-86296, fixed in 3.12 by rewriting ``wait_for`` on ``asyncio.timeout``).
A loop that waits so — a sweep, a committer — then never ends, and whoever cancelled it to
stop the service waits for ever (a shutdown that hung for 60 s in CI was a dispatcher sweep
woken at the moment it was stopped). ``asyncio.timeout`` counts cancellations and does not.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set.

    A cancellation of the waiting task always propagates.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


async def wait_any(timeout: float, *events: asyncio.Event) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` seconds pass; True if one was set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return any(e.is_set() for e in events)
