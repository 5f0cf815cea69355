"""Run a service app in-process, with its lifespan, for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

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
