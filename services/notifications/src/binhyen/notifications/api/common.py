"""What every notifications route shares: the context and error responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from binhyen.kit.problems import problem_responses
from binhyen.kit.runtime import context_of
from binhyen.notifications.service.common import Context

PROBLEMS = problem_responses()


async def _context(request: Request) -> Context:
    return context_of(request, Context)


ContextDep = Annotated[Context, Depends(_context)]
