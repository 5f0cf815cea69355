"""The read model's generations: which one serves, and a rebuild's progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from binhyen.kit.auth import CurrentPrincipal, require_permission
from binhyen.reporting.api.common import PROBLEMS, ContextDep
from binhyen.reporting.service import rebuild

router = APIRouter(tags=["operations"])


@router.get(
    "/api/v1/rebuild",
    responses=PROBLEMS,
    summary="The current generation of the read model and a rebuild's progress",
)
async def rebuild_progress(ctx: ContextDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Which generation serves, and, while a rebuild runs, how far it got (events, %)."""
    require_permission(principal, "reports:read")
    return await rebuild.progress(ctx.stores.generations)
