"""Leases and leased workers against the real MongoDB-wire server, with the default pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.kit.lease import LEASES, Lease, LeasedWorker
from binhyen.kit.testing import eventually

Document = dict[str, Any]


@pytest_asyncio.fixture
async def db(
    mongo: AsyncMongoClient[Document], database_name: str
) -> AsyncIterator[AsyncDatabase[Document]]:
    try:
        yield mongo[database_name]
    finally:
        await mongo.drop_database(database_name)


async def test_of_many_holders_racing_for_a_free_lease_exactly_one_wins(
    db: AsyncDatabase[Document],
) -> None:
    for round_ in range(5):
        leases = [Lease(db, f"race-{round_}", ttl=30) for _ in range(10)]
        won = await asyncio.gather(*(lease.acquire() for lease in leases))
        assert sum(won) == 1, won
        winner = leases[won.index(True)]
        assert await winner.current_holder() == winner.holder
        # Racing again changes nothing: the winner extends it, the others are refused.
        again = await asyncio.gather(*(lease.acquire() for lease in leases))
        assert again == won


async def test_two_holders_racing_to_take_an_expired_lease_one_wins(
    db: AsyncDatabase[Document],
) -> None:
    first = Lease(db, "expiring", ttl=0.2)
    assert await first.acquire()
    others = [Lease(db, "expiring", ttl=30) for _ in range(2)]
    assert await asyncio.gather(*(o.acquire() for o in others)) == [False, False]

    async def expired() -> bool:
        return await first.current_holder() is None

    await eventually(expired, what="the lease expired")
    won = await asyncio.gather(*(o.acquire() for o in others))
    assert sorted(won) == [False, True]
    winner = others[won.index(True)]
    assert await winner.current_holder() == winner.holder


async def test_a_holder_that_lost_its_lease_is_told_so_on_renew(
    db: AsyncDatabase[Document],
) -> None:
    paused = Lease(db, "scheduler", ttl=0.2)
    other = Lease(db, "scheduler", ttl=30)
    assert await paused.acquire()
    assert await paused.renew()
    assert not await other.acquire()  # live: respected

    async def taken_over() -> bool:
        return await other.acquire()

    await eventually(taken_over, what="the other holder took the expired lease")
    assert not await paused.renew()
    assert not await paused.acquire()
    assert not await paused.release()  # giving up a lease it lost leaves the new holder alone
    assert await other.current_holder() == other.holder
    assert await other.renew()


async def test_a_released_lease_is_taken_at_once(db: AsyncDatabase[Document]) -> None:
    first = Lease(db, "publisher", ttl=3600)
    second = Lease(db, "publisher", ttl=3600)
    assert await first.acquire()
    assert not await second.acquire()
    assert await first.release()
    assert await first.current_holder() is None
    assert await second.acquire()
    assert not await first.renew()
    assert await db[LEASES].count_documents({}) == 1


async def test_only_the_worker_holding_the_lease_runs_the_job_and_stopping_hands_it_over(
    db: AsyncDatabase[Document],
) -> None:
    running = 0
    overlaps = 0
    ran_by: list[str] = []

    def job_of(name: str) -> Any:
        async def job() -> None:
            nonlocal running, overlaps
            running += 1
            overlaps += running > 1
            await asyncio.sleep(0.01)  # a job that yields to the loop, as real ones do
            ran_by.append(name)
            running -= 1

        return job

    workers = {
        name: LeasedWorker(Lease(db, "sweeper", ttl=1.5), job_of(name), interval=0.05, name=name)
        for name in ("a", "b")
    }
    for worker in workers.values():
        await worker.start()
    try:
        await eventually(lambda: len(ran_by) >= 10, what="ten runs")
        assert overlaps == 0
        assert len(set(ran_by)) == 1, "the holder keeps the lease while it runs"
        holder = ran_by[0]
        other = "b" if holder == "a" else "a"
        assert workers[holder].holding and not workers[other].holding
        await workers[holder].stop()
        # Released, not left to expire: the other worker takes over within its next try.
        assert await workers[other].lease.current_holder() in (None, workers[other].lease.holder)
        await eventually(lambda: ran_by[-1] == other, timeout=5, what="the other worker took over")
        assert overlaps == 0
    finally:
        for worker in workers.values():
            await worker.stop()
    assert await db[LEASES].count_documents({}) == 0


async def test_a_worker_whose_lease_is_taken_stops_its_job(db: AsyncDatabase[Document]) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    outcome: list[str] = []

    async def long_job() -> None:
        started.set()
        try:
            await release.wait()
            outcome.append("finished")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    worker = LeasedWorker(Lease(db, "long", ttl=0.6), long_job, interval=3600)
    await worker.start()
    try:
        await asyncio.wait_for(started.wait(), timeout=10)
        # Another replica took the lease over (this one was paused past its expiry).
        await db[LEASES].update_one({"_id": "long"}, {"$set": {"holder": "another-replica"}})
        await eventually(lambda: outcome == ["cancelled"], timeout=5, what="the job cancelled")
        assert not worker.holding
        assert worker.runs == 0
        assert await Lease(db, "long", ttl=1).current_holder() == "another-replica"
    finally:
        release.set()
        await worker.stop()
    # Stopping leaves the other replica's lease alone.
    doc = await db[LEASES].find_one({"_id": "long"})
    assert doc is not None and doc["holder"] == "another-replica"


async def test_wake_runs_the_job_now(db: AsyncDatabase[Document]) -> None:
    worker = LeasedWorker(Lease(db, "woken", ttl=30), _noop, interval=3600)
    await worker.start()
    try:
        await eventually(lambda: worker.runs == 1, what="the first run at start")
        worker.wake()
        await eventually(lambda: worker.runs == 2, timeout=5, what="a run when woken")
        worker.wake()
        worker.wake()  # wakes while it runs or waits coalesce into one more run at least
        await eventually(lambda: worker.runs >= 3, timeout=5, what="another run when woken")
    finally:
        await worker.stop()


async def test_a_failing_job_keeps_the_worker_going(db: AsyncDatabase[Document]) -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first run fails")

    worker = LeasedWorker(Lease(db, "flaky", ttl=30), flaky, interval=0.05)
    await worker.start()
    try:
        await eventually(lambda: worker.runs >= 2, what="runs after a failure")
        assert calls >= 3
    finally:
        await worker.stop()


def test_a_lease_needs_a_positive_ttl() -> None:
    with pytest.raises(ValueError, match="ttl"):
        Lease(None, "x", ttl=0)  # type: ignore[arg-type]


async def _noop() -> None:
    return None
