"""What every notifications route shares: the context, error responses, headers, display."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from binhyen.kit.http import IdempotencyKey as IdempotencyKey
from binhyen.kit.http import IfMatch as IfMatch
from binhyen.kit.http import expected_version as expected_version
from binhyen.kit.http import set_etag as set_etag
from binhyen.kit.problems import problem_responses
from binhyen.kit.runtime import context_of
from binhyen.notifications.service.common import Context

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PROBLEMS = problem_responses()


async def _context(request: Request) -> Context:
    return context_of(request, Context)


ContextDep = Annotated[Context, Depends(_context)]


def local(value: datetime | None) -> str | None:
    """A time as Vietnamese users read it: HH:MM dd/mm/yyyy, Asia/Ho_Chi_Minh."""
    return None if value is None else value.astimezone(LOCAL).strftime("%H:%M %d/%m/%Y")
