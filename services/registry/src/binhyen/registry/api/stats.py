"""HTTP API for stats."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["stats"])
