"""What every incidents route shares: the context, error responses, headers, display."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Request, Response

from binhyen.incidents.service.common import Context
from binhyen.kit.problems import PROBLEM_JSON, Invalid
from binhyen.kit.runtime import runtime_of

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {}}}
    for code, text in (
        (401, "No valid bearer token"),
        (403, "Your roles do not allow this"),
        (404, "Not found, or outside your scope"),
        (409, "Conflicts with the current state; allowed_actions names what is possible"),
        (412, "Changed since you read it (If-Match)"),
        (422, "Invalid request; errors[].field names the fields at fault"),
        (503, "Database unavailable; nothing changed, retry later"),
    )
}


def _context(request: Request) -> Context:
    ctx: Context = runtime_of(request).extras["context"]
    return ctx


ContextDep = Annotated[Context, Depends(_context)]
IfMatch = Annotated[str | None, Header(description="The ETag you read; a stale one answers 412.")]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retries with the same key return the first result."),
]


def expected_version(if_match: str | None) -> int | None:
    """The version named by an If-Match header, if any."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise Invalid('If-Match must be the ETag you read, e.g. "3"', field="If-Match") from exc


def set_etag(response: Response, version: int) -> None:
    """Tell the client which version it holds."""
    response.headers["ETag"] = f'"{version}"'


def local(value: datetime | None) -> str | None:
    """A time as Vietnamese users read it: HH:MM dd/mm/yyyy, Asia/Ho_Chi_Minh."""
    return None if value is None else value.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y")


def client_address(request: Request) -> str:
    """The caller's address, for rate limits (X-Forwarded-For only when configured)."""
    if getattr(runtime_of(request).settings, "trust_forwarded_for", False):
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"
