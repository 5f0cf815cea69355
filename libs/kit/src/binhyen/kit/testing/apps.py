"""Run a service app in-process, with its lifespan, for integration tests."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from binhyen.kit.runtime import Runtime


@asynccontextmanager
async def serve(
    app: FastAPI, *, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """Start ``app`` (lifespan included) and yield an HTTP client (sending ``headers``)."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client, app.state.runtime


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
