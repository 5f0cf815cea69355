"""Wait on a condition with a deadline (never a bare sleep)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from last_error
        await asyncio.sleep(interval)


async def outbox_drained(collection: Any, doc_id: Any) -> bool:
    """True once the document exists and its outbox is empty (every event acked by Kafka)."""
    doc = await collection.find_one({"_id": doc_id})
    return doc is not None and doc.get("_outbox") == []


async def outboxes_empty(*collections: Any) -> bool:
    """True once no document of these collections has an event waiting to be relayed."""
    for collection in collections:
        if await collection.count_documents({"_outbox.0": {"$exists": True}}):
            return False
    return True
