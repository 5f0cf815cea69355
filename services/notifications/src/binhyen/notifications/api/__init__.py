"""HTTP routes of the notifications service."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the service."""
    return []
