"""HTTP API for households."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["households"])
