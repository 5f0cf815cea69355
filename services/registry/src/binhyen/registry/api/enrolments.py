"""HTTP API for enrolments."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["enrolments"])
