"""HTTP routes of the reporting service."""

from fastapi import APIRouter

from binhyen.reporting.api import exports, generations, hotspots, public, statistics


def routers() -> list[APIRouter]:
    """Every router of the service."""
    return [statistics.router, exports.router, generations.router, hotspots.router, public.router]
