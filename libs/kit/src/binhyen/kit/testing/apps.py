"""Run a service app in-process, with its lifespan, for integration tests."""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from binhyen.kit.runtime import Runtime

log = logging.getLogger(__name__)

LIFESPAN_LIMIT = 60.0  # seconds for start-up, and again for shutdown


@asynccontextmanager
async def serve(
    app: FastAPI, *, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """Start ``app`` (lifespan included) and yield an HTTP client (sending ``headers``).

    Start-up and shutdown are timed in the log; if either comes near its limit, the stack
    of every task still running is logged, so a hang says where it hangs.
    """
    manager = LifespanManager(app, startup_timeout=LIFESPAN_LIMIT, shutdown_timeout=LIFESPAN_LIMIT)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    watchdog = loop.call_later(LIFESPAN_LIMIT - 5, _log_tasks, f"{app.title}: still starting")
    try:
        await manager.__aenter__()
    finally:
        watchdog.cancel()
    log.info(f"{app.title}: started in {time.monotonic() - started:.1f} s")
    try:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client, app.state.runtime
    except BaseException as exc:
        await manager.__aexit__(type(exc), exc, exc.__traceback__)  # no graceful shutdown
        raise
    stopping = time.monotonic()
    watchdog = loop.call_later(LIFESPAN_LIMIT - 5, _log_tasks, f"{app.title}: still stopping")
    try:
        await manager.__aexit__(None, None, None)
    finally:
        watchdog.cancel()
    log.info(f"{app.title}: stopped in {time.monotonic() - stopping:.1f} s")


def _log_tasks(what: str) -> None:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if not task.done():
            out.write(f"--- {task.get_name()}\n")
            task.print_stack(limit=12, file=out)
    log.error(f"{what}; tasks still running:\n{out.getvalue()}")


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (METHOD, path template) the app documents, however its routers are nested."""
    # FastAPI 0.165 wraps included routers, so app.routes no longer lists each route;
    # the OpenAPI document does, with full paths.
    paths: dict[str, dict[str, object]] = app.openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in HTTP_METHODS
    }


def threadpool_calls(routers: Iterable[APIRouter]) -> list[str]:
    """Endpoints and dependencies FastAPI would run in its thread pool (plain ``def``).

    Every request through one of them hops to a worker thread and back: measurable CPU on a
    busy endpoint (bench/incidents_intake), and a trap for blocking calls hidden in them.
    """
    found: set[str] = set()

    def visit(dependant: Dependant) -> None:
        call = dependant.call
        if call is not None and not (
            inspect.iscoroutinefunction(call)
            or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
            or inspect.isasyncgenfunction(call)
        ):
            found.add(getattr(call, "__qualname__", repr(call)))
        for sub in dependant.dependencies:
            visit(sub)

    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                visit(route.dependant)
    return sorted(found)
