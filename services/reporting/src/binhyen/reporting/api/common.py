"""What every reporting route shares: the context, error responses, query parameters."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import Depends, Query, Request

from binhyen.kit.auth import Forbidden, Principal, authorize
from binhyen.kit.problems import Invalid, problem_responses
from binhyen.kit.runtime import context_of
from binhyen.kit.text import SafeText
from binhyen.reporting.domain import periods
from binhyen.reporting.domain.periods import Period
from binhyen.reporting.service.common import Context

PROBLEMS = problem_responses()


def authorize_reports(principal: Principal, unit_path: Collection[str], *, what: str) -> None:
    """``reports:read`` on the unit (404 outside the caller's grants); those who may read only
    public figures (agencies) are told where those are."""
    try:
        authorize(principal, "reports:read", unit_path, what=what)
    except Forbidden as exc:
        if principal.allows("public:read", unit_path):
            raise Forbidden(
                f"{exc.detail}: agencies read the public statistics, small counts suppressed "
                "(/api/v1/public/statistics)"
            ) from exc
        raise


async def _context(request: Request) -> Context:
    return context_of(request, Context)


ContextDep = Annotated[Context, Depends(_context)]


def period_of(spec: str) -> Period:
    """A period from its query spelling, or a 422 naming ``period``."""
    try:
        return periods.parse(spec)
    except periods.PeriodError as exc:
        raise Invalid(f"period: {exc.detail}", field="period") from exc


PeriodQuery = Annotated[
    SafeText,
    Query(
        max_length=40,
        description=(
            "2026-03 (month), 2026-Q1 (quarter), 2026 (year), EY2026 (evaluation year "
            "01/11/2025–31/10/2026) or 2026-03-01..2026-04-15 (days, both included)."
        ),
    ),
]
