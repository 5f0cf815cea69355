"""HTTP API for tasks."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["tasks"])
