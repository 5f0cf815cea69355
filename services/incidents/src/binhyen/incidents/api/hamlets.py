"""Hamlets as the incidents service knows them (replicated from the registry)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from binhyen.incidents.api.common import PROBLEMS, ContextDep
from binhyen.incidents.domain.units import UnitReplica
from binhyen.incidents.service import replicas
from binhyen.kit.auth import CurrentPrincipal

router = APIRouter(prefix="/api/v1", tags=["hamlets"])


class HamletRead(BaseModel):
    """A hamlet as known to the incidents service (replicated from the registry)."""

    id: str
    kind: str
    name: str
    parent_id: str | None
    ancestor_ids: list[str]
    valid_from: date
    valid_to: date | None
    status: str
    successor_id: str | None
    version: int

    @classmethod
    def of(cls, unit: UnitReplica) -> HamletRead:
        """Build the response from the replica."""
        return cls(
            id=unit.id,
            kind=unit.kind,
            name=unit.name,
            parent_id=unit.parent_id,
            ancestor_ids=list(unit.ancestor_ids),
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            status=unit.status,
            successor_id=unit.successor_id,
            version=unit.version,
        )


@router.get(
    "/hamlets/{hamlet_id}",
    response_model=HamletRead,
    responses={k: PROBLEMS[k] for k in (401, 404)},
    summary="Get a hamlet",
)
async def read_hamlet(hamlet_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> HamletRead:
    """One hamlet from the local replica of the registry."""
    unit = await replicas.get_hamlet(hamlet_id, principal=principal, stores=ctx.stores)
    return HamletRead.of(unit)
