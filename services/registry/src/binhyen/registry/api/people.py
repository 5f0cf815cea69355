"""HTTP API for people."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["people"])
