"""What every registry route shares: the stores, error responses, the caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from binhyen.kit.http import IdempotencyKey as IdempotencyKey
from binhyen.kit.http import IfMatch as IfMatch
from binhyen.kit.http import expected_version as expected_version
from binhyen.kit.http import set_etag as set_etag
from binhyen.kit.problems import problem_responses
from binhyen.kit.runtime import Runtime, runtime_of
from binhyen.registry.service.common import Context
from binhyen.registry.store import Stores

PROBLEMS = problem_responses()


async def _stores(request: Request) -> Stores:
    stores: Stores = runtime_of(request).extras["stores"]
    return stores


async def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


StoresDep = Annotated[Stores, Depends(_stores)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def wake(rt: Runtime, collection: str | None = None, *doc_ids: Any) -> None:
    """Wake the outbox relay after a write (naming the documents written, if known)."""
    if rt.relay is not None:
        rt.relay.wake(collection, *doc_ids)


async def _context(stores: StoresDep, rt: RuntimeDep) -> Context:
    return Context(stores=stores, topic=rt.settings.topic, wake=lambda *hint: wake(rt, *hint))


ContextDep = Annotated[Context, Depends(_context)]
