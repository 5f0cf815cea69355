"""Incidents HTTP API."""

from fastapi import APIRouter

from binhyen.incidents.api import categories, hamlets, incidents, open311, tips


def routers() -> list[APIRouter]:
    """Every router of the service, in the order the docs show them."""
    return [incidents.router, tips.router, categories.router, hamlets.router, open311.router]
