"""Incidents HTTP API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from binhyen.incidents import service
from binhyen.incidents.domain.units import UnitReplica
from binhyen.incidents.store import UnitReplicaStore
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.problems import PROBLEM_JSON
from binhyen.kit.runtime import runtime_of

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


def _units(request: Request) -> UnitReplicaStore:
    store: UnitReplicaStore = runtime_of(request).extras["units"]
    return store


@router.get(
    "/hamlets/{hamlet_id}",
    response_model=HamletRead,
    responses={404: {"description": "Unknown hamlet", "content": {PROBLEM_JSON: {}}}},
    summary="Get a hamlet",
)
async def read_hamlet(
    hamlet_id: str,
    units: Annotated[UnitReplicaStore, Depends(_units)],
    principal: CurrentPrincipal,
) -> HamletRead:
    """One hamlet from the local replica of the registry."""
    return HamletRead.of(await service.get_hamlet(hamlet_id, principal=principal, store=units))
