"""The dispatcher's write batcher: callers in flight together share one command."""

from __future__ import annotations

import asyncio

import pytest

from binhyen.notifications.service.batching import Batcher


async def test_callers_waiting_together_share_one_command_and_each_gets_its_value() -> None:
    calls: list[list[int]] = []
    gate = asyncio.Event()

    async def run(keys: list[int]) -> dict[int, str]:
        calls.append(keys)
        await gate.wait()
        return {k: f"v{k}" for k in keys if k % 2 == 0}

    batcher: Batcher[int, str] = Batcher(run, max_batch=50)
    first = asyncio.create_task(batcher.get(0))
    await asyncio.sleep(0)  # the first command starts with key 0 alone
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.get(k)) for k in range(1, 121)]
    await asyncio.sleep(0)
    gate.set()
    values = await asyncio.gather(first, *rest)
    assert values == [f"v{k}" if k % 2 == 0 else None for k in range(121)]
    # One command for 0, then the 120 that waited meanwhile in batches of at most 50.
    assert [len(c) for c in calls] == [1, 50, 50, 20]
    assert sorted(k for c in calls for k in c) == list(range(121))


async def test_a_failed_command_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    async def run(keys: list[str]) -> dict[str, int]:
        if "bad" in keys:
            raise ConnectionError("database away")
        return dict.fromkeys(keys, 1)

    batcher: Batcher[str, int] = Batcher(run)
    results = await asyncio.gather(batcher.get("bad"), batcher.get("x"), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert await batcher.get("y") == 1


async def test_a_caller_that_gave_up_is_left_out_of_the_command() -> None:
    calls: list[list[str]] = []
    gate = asyncio.Event()

    async def run(keys: list[str]) -> dict[str, int]:
        calls.append(keys)
        await gate.wait()
        return dict.fromkeys(keys, 1)

    batcher: Batcher[str, int] = Batcher(run)
    first = asyncio.create_task(batcher.get("a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.get("b"))
    kept = asyncio.create_task(batcher.get("c"))
    await asyncio.sleep(0)
    gone.cancel()
    gate.set()
    assert await first == 1 and await kept == 1
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert calls == [["a"], ["c"]]
    await batcher.aclose()
