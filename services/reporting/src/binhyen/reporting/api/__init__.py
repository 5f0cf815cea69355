"""HTTP routes of the reporting service."""

from fastapi import APIRouter

from binhyen.reporting.api import (
    evaluations,
    exports,
    generations,
    hotspots,
    public,
    rulesets,
    statistics,
)


def routers() -> list[APIRouter]:
    """Every router of the service."""
    return [
        statistics.router,
        exports.router,
        evaluations.router,
        rulesets.router,
        hotspots.router,
        public.router,
        generations.router,
    ]
