"""Callbacks of the SMS and ZNS providers: delivery reports and replies (signed)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from binhyen.kit.problems import PROBLEM_JSON
from binhyen.notifications.api.common import ContextDep
from binhyen.notifications.service import callbacks as service

router = APIRouter(prefix="/callbacks", tags=["provider callbacks"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "The signature does not verify", "content": {PROBLEM_JSON: {}}},
    422: {
        "description": "Not a report this profile reads, or the channel takes no callbacks here",
        "content": {PROBLEM_JSON: {}},
    },
    503: {
        "description": "Database unavailable; the provider retries",
        "content": {PROBLEM_JSON: {}},
    },
}
# The body is read raw (its signature covers the bytes), so FastAPI cannot see it: declared
# here so the document says what providers send (and the kit documents the 400 and 413).
RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "description": "The provider's report or reply, as its profile describes it.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
}


class Handled(BaseModel):
    """What the callback was."""

    handled: str


@router.post(
    "/{channel}",
    response_model=Handled,
    responses=RESPONSES,
    openapi_extra=RAW_BODY,
    summary="A provider report",
)
async def post_callback(
    channel: Literal["sms", "zns"], request: Request, ctx: ContextDep
) -> Handled:
    """The raw body is verified against the profile's signature before it is read."""
    body = await request.body()
    return Handled(handled=await service.report(ctx, channel, request.headers, body))


@router.get("/{channel}", response_model=Handled, responses=RESPONSES, summary="A report by GET")
async def get_callback(channel: Literal["sms"], request: Request, ctx: ContextDep) -> Handled:
    """eSMS reports with GET; its query string carries the report and our token."""
    body = request.url.query.encode()
    return Handled(handled=await service.report(ctx, channel, request.headers, body))
