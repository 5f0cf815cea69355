"""Registry HTTP API, one router per aggregate."""

from fastapi import APIRouter

from binhyen.registry.api import (
    enrolments,
    households,
    identity,
    imports,
    organisations,
    people,
    stats,
    tasks,
    units,
)

ROUTERS: list[APIRouter] = [
    identity.router,
    units.router,
    households.router,
    people.router,
    organisations.router,
    tasks.router,
    enrolments.router,
    imports.router,
    stats.router,
]
