"""What every incidents route shares: the context, error responses, headers, display."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from binhyen.incidents.service.common import Context
from binhyen.kit.http import IdempotencyKey as IdempotencyKey
from binhyen.kit.http import IfMatch as IfMatch
from binhyen.kit.http import expected_version as expected_version
from binhyen.kit.http import set_etag as set_etag
from binhyen.kit.problems import problem_responses
from binhyen.kit.runtime import context_of

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

PROBLEMS = problem_responses(
    s409="Conflicts with the current state; allowed_actions names what is possible"
)


async def _context(request: Request) -> Context:
    return context_of(request, Context)


ContextDep = Annotated[Context, Depends(_context)]


def local(value: datetime | None) -> str | None:
    """A time as Vietnamese users read it: HH:MM dd/mm/yyyy, Asia/Ho_Chi_Minh."""
    return None if value is None else value.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y")


def client_address(request: Request) -> str:
    """The caller's address, for rate limits.

    The kit's edge has already put there the rightmost X-Forwarded-For hop that is not one
    of ``trusted_proxies`` (kit.edge): the leftmost, which the client writes, never counts.
    """
    return request.client.host if request.client else "unknown"
