"""Many callers' small writes of one kind, made together as one database command.

The dispatcher runs each delivery in its own task; each one claims its delivery and notes
the recipient reached. Made one by one, those writes queue behind each other on the
database (the embedded server serialises the read-modify-writes of a collection). A
:class:`Batcher` collects the keys asked for while its previous command runs and makes the
next command for all of them, so a busy dispatcher makes a few large writes instead of
many small ones, and a quiet one still makes each write at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """``await batcher.get(key)``: the value ``run`` gave for ``key`` in a batch (or None)."""

    def __init__(
        self, run: Callable[[list[K]], Awaitable[dict[K, V]]], *, max_batch: int = 200
    ) -> None:
        self._run = run
        self._max = max_batch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def aclose(self) -> None:
        """Stop: callers still waiting are cancelled."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for fs in self._waiting.values():
            for f in fs:
                f.cancel()
        self._waiting.clear()

    async def _drain(self) -> None:
        while self._waiting:
            keys = list(self._waiting)[: self._max]
            futures = {key: self._waiting.pop(key) for key in keys}
            live = [key for key, fs in futures.items() if any(not f.done() for f in fs)]
            if not live:
                continue  # every caller gave up (cancelled): nothing to write for them
            try:
                results = await self._run(live)
            except asyncio.CancelledError:
                for fs in futures.values():
                    for f in fs:
                        f.cancel()
                raise
            except Exception as exc:  # each caller sees the failure, as with its own write
                for fs in futures.values():
                    for f in fs:
                        if not f.done():
                            f.set_exception(exc)
                continue
            for key, fs in futures.items():
                for f in fs:
                    if not f.done():
                        f.set_result(results.get(key))
