"""What every registry route shares: the stores, error responses, the caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from binhyen.kit.problems import PROBLEM_JSON, Invalid
from binhyen.kit.runtime import Runtime, runtime_of
from binhyen.registry.service.common import Context
from binhyen.registry.store import Stores

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {}}}
    for code, text in (
        (401, "No valid bearer token"),
        (403, "Your roles do not allow this"),
        (404, "Not found, or outside your scope"),
        (409, "Conflicts with the current state"),
        (412, "Changed since you read it (If-Match)"),
        (422, "Invalid request; errors[].field names the fields at fault"),
        (503, "Database unavailable; nothing changed, retry later"),
    )
}


def _stores(request: Request) -> Stores:
    stores: Stores = runtime_of(request).extras["stores"]
    return stores


def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


StoresDep = Annotated[Stores, Depends(_stores)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def wake(rt: Runtime, collection: str | None = None, *doc_ids: Any) -> None:
    """Wake the outbox relay after a write (naming the documents written, if known)."""
    if rt.relay is not None:
        rt.relay.wake(collection, *doc_ids)


def _context(stores: StoresDep, rt: RuntimeDep) -> Context:
    return Context(stores=stores, topic=rt.settings.topic, wake=lambda *hint: wake(rt, *hint))


ContextDep = Annotated[Context, Depends(_context)]
IfMatch = Annotated[str | None, Header(description="The ETag you read; a stale one answers 412.")]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retries with the same key return the first result."),
]


def expected_version(if_match: str | None) -> int | None:
    """The version named by an If-Match header, if any."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise Invalid('If-Match must be the ETag you read, e.g. "3"', field="If-Match") from exc


def set_etag(response: Response, version: int) -> None:
    """Tell the client which version it holds."""
    response.headers["ETag"] = f'"{version}"'
