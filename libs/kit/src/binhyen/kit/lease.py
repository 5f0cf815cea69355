"""Named leases in the service's database, and a worker that runs a job only while holding one.

A lease is one document of the ``leases`` collection: ``{_id: name, holder, until}``. Each
operation is a single atomic compare-and-set write, so any number of replicas can race:

- :meth:`Lease.acquire` takes the lease if nobody holds it, or its holder let it expire,
  or extends it if this holder already has it. The write filters on holder/expiry and
  upserts; when the lease is live in someone else's hands the filter matches nothing and
  the upsert's insert of the same ``_id`` fails with DuplicateKeyError: not ours.
- :meth:`Lease.renew` extends it only if this holder still has it, and says so when it
  does not (another replica took it over after it expired).
- :meth:`Lease.release` deletes it if this holder has it, so another replica can take it
  at once instead of waiting for the expiry.

**Clock.** Expiry is written and compared in UTC by the clock of the process that writes
or reads it, not the database server's: FerretDB v1 has neither ``$$NOW`` in updates nor
``$expr`` in filters, so the server's time cannot take part in the compare-and-set. Replicas'
clocks differ a little, so a holder renews every ``ttl / 3``: the expiry it leaves is always
at least ``2/3 ttl`` ahead of its own clock, and another replica takes over early only if its
clock runs ahead by more than that. Work done under a lease must still be safe if two
replicas ever overlap (a holder paused past its expiry); the lease keeps them from doing the
same work at once in the normal case, guarded writes keep it correct in the rare one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.aio import wait_event

log = logging.getLogger(__name__)

LEASES = "leases"
Document = dict[str, Any]


def new_holder_id() -> str:
    """An id no other lease holder has: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _now() -> datetime:
    return datetime.now(UTC)


class Lease:
    """A named lease held by one holder at a time, for ``ttl`` seconds after each renewal."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        name: str,
        *,
        ttl: float,
        holder: str | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")
        self.collection: AsyncCollection[Document] = db[LEASES]
        self.name = name
        self.holder = holder or new_holder_id()
        self.ttl = timedelta(seconds=ttl)
        self._clock = clock

    @property
    def renew_every(self) -> float:
        """How often a holder renews: a third of the ttl, to tolerate clock skew and delays."""
        return self.ttl.total_seconds() / 3

    async def acquire(self) -> bool:
        """Take the lease if it is free or expired, or extend it if held here; True if held."""
        now = self._clock()
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"holder": self.holder}, {"until": {"$lte": now}}]},
                {"$set": {"holder": self.holder, "until": now + self.ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # it exists and is live in another holder's hands
        return doc is not None and doc.get("holder") == self.holder

    async def renew(self) -> bool:
        """Extend the lease held here; False if another holder has taken it (or nobody has it)."""
        now = self._clock()
        doc = await self.collection.find_one_and_update(
            {"_id": self.name, "holder": self.holder},
            {"$set": {"until": now + self.ttl}},
            return_document=ReturnDocument.AFTER,
        )
        return doc is not None

    async def release(self) -> bool:
        """Give the lease up if held here, so another holder can take it now; True if it was."""
        result = await self.collection.delete_one({"_id": self.name, "holder": self.holder})
        return result.deleted_count == 1

    async def current_holder(self) -> str | None:
        """Who holds the lease now by this clock (None: nobody, or it expired)."""
        doc = await self.collection.find_one({"_id": self.name})
        if doc is None or _aware(doc["until"]) <= self._clock():
            return None
        holder: str = doc["holder"]
        return holder


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class LeasedWorker:
    """Runs ``job`` every ``interval`` seconds, and when woken, only while holding ``lease``.

    Every replica runs one; the one holding the lease runs the job, renewing the lease
    while it runs and while it waits, and keeps it until it stops. Replicas without it try
    to take it every ``ttl / 3``. A job whose lease is lost mid-run (the renewal says another
    holder has it) is cancelled. :meth:`stop` releases the lease so another replica takes
    over at once.
    """

    def __init__(
        self,
        lease: Lease,
        job: Callable[[], Awaitable[object]],
        *,
        interval: float,
        name: str | None = None,
        grace_seconds: float = 10.0,
    ) -> None:
        if interval <= 0:
            raise ValueError("a leased worker needs a positive interval")
        self.lease = lease
        self.name = name or lease.name
        self.runs = 0  # jobs that finished without error
        self.holding = False
        self._job = job
        self._interval = interval
        self._grace = grace_seconds
        self._bell = asyncio.Event()
        self._woken = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run the job now if this replica holds the lease (else its holder runs it in time)."""
        self._woken = True
        self._bell.set()

    async def start(self) -> None:
        """Run in the background; the job runs at once if the lease is free."""
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop (cancelling a job still running after the grace period) and release the lease.

        Cancelling is safe: a job under a lease must tolerate being interrupted anyway, as
        its process may die at any point.
        """
        self._stopping = True
        self._bell.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self._grace)
            if not done:
                log.warning("leased job cancelled at shutdown", extra={"lease": self.name})
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # unreachable database: the lease expires
            await self.lease.release()
        self.holding = False

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self._stopping:
            self._bell.clear()
            try:
                self.holding = await self.lease.acquire()
            except Exception as exc:  # the database is away: try again at the next tick
                self.holding = False
                self._log("taking a lease failed", exc)
            if not self.holding:
                self._woken = False  # the holder runs the job; this wake cannot reach it
            elif self._woken or loop.time() >= due:
                self._woken = False
                await self._run()
                due = loop.time() + self._interval
            if self._stopping or self._woken:
                continue
            wait = self.lease.renew_every
            if self.holding:
                wait = min(wait, max(0.0, due - loop.time()))
            await wait_event(self._bell, wait)

    async def _run(self) -> None:
        """Run the job once, renewing the lease meanwhile; cancel it if the lease is lost."""
        job = asyncio.ensure_future(self._job())
        keeper = asyncio.create_task(self._keep(job), name=f"{self.name}-renewal")
        try:
            await asyncio.wait({job})
        except asyncio.CancelledError:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
            raise
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        if job.cancelled():
            return
        error = job.exception()
        if error is not None:  # the next round tries again
            self._log("leased job failed", error)
            return
        self.runs += 1

    async def _keep(self, job: asyncio.Future[object]) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_every)
            try:
                held = await self.lease.renew()
            except Exception as exc:  # keep trying; if it expires meanwhile, renew says so
                self._log("renewing a lease failed", exc)
                continue
            if not held:
                self.holding = False
                log.warning("lease lost to another holder; job stopped", extra={"lease": self.name})
                job.cancel()
                return

    def _log(self, what: str, error: BaseException) -> None:
        log.warning(what, extra={"lease": self.name, "error": type(error).__name__})
