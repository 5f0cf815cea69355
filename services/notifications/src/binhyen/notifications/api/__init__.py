"""HTTP routes of the notifications service."""

from fastapi import APIRouter

from binhyen.notifications.api import alerts, callbacks, contacts, endpoints, pages, policies


def routers() -> list[APIRouter]:
    """Every router of the service."""
    return [
        alerts.router,
        policies.router,
        pages.router,
        contacts.router,
        endpoints.router,
        callbacks.router,
    ]
