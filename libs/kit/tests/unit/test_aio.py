"""A loop that waits on an event with a time limit stops when it is cancelled, even when the
event is set at the same moment (``asyncio.wait_for`` on Python 3.11 loses that cancel)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest

from binhyen.kit.aio import wait_any, wait_event

Wait = Callable[[asyncio.Event], Awaitable[object]]


async def _loop(event: asyncio.Event, wait: Wait) -> None:
    """A sweep's shape: work, then wait for the bell or the interval; forever."""
    while True:
        event.clear()
        await wait(event)


@pytest.mark.parametrize(
    "wait",
    [
        lambda e: wait_event(e, 30),
        lambda e: wait_any(30, e, asyncio.Event()),
    ],
    ids=["wait_event", "wait_any"],
)
async def test_a_cancel_that_comes_with_the_bell_stops_the_loop(wait: Wait) -> None:
    bell = asyncio.Event()
    task = asyncio.create_task(_loop(bell, wait))
    await asyncio.sleep(0)  # the loop is waiting now
    bell.set()
    task.cancel()  # in the same step: what a service's stop does while a write wakes it
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done == {task}, "the loop swallowed the cancel and went on waiting"
    assert task.cancelled()


async def test_the_answer_says_whether_an_event_came_or_the_time_ran_out() -> None:
    quiet, bell = asyncio.Event(), asyncio.Event()
    assert await wait_event(quiet, 0.01) is False
    bell.set()
    assert await wait_event(bell, 30) is True
    assert await wait_any(30, quiet, bell) is True
    assert await wait_any(0.01, quiet) is False


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for is rewritten in 3.12")
async def test_asyncio_wait_for_on_this_python_is_what_the_helpers_avoid() -> None:
    """The bug the helpers exist for, on the Python the project runs (3.11)."""

    async def with_wait_for(event: asyncio.Event) -> None:
        while True:
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), 30)

    bell = asyncio.Event()
    task = asyncio.create_task(with_wait_for(bell))
    await asyncio.sleep(0)
    bell.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert not done  # the cancel was swallowed: the loop waits on
    task.cancel()
    await asyncio.wait({task}, timeout=5)
