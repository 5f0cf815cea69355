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
