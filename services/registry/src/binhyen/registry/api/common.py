"""What every registry route shares: the stores, error responses, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from binhyen.kit.http import IdempotencyKey as IdempotencyKey
from binhyen.kit.http import IfMatch as IfMatch
from binhyen.kit.http import expected_version as expected_version
from binhyen.kit.http import set_etag as set_etag
from binhyen.kit.problems import problem_responses
from binhyen.kit.runtime import Runtime, context_of, runtime_of
from binhyen.registry.service.common import Context
from binhyen.registry.store import Stores

PROBLEMS = problem_responses()
# Deeper than this, page with filters: MongoDB refuses a skip beyond 64 bits (a 500), and a
# huge skip walks the whole collection for nothing.
MAX_OFFSET = 100_000
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip (at most {MAX_OFFSET}).")
]


async def _context(request: Request) -> Context:
    return context_of(request, Context)


ContextDep = Annotated[Context, Depends(_context)]


async def _stores(ctx: ContextDep) -> Stores:
    return ctx.stores


async def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


StoresDep = Annotated[Stores, Depends(_stores)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
