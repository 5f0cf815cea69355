"""Registry HTTP API: thin routes and their request/response schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from binhyen.contracts.units import UnitKind, UnitLevel
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.runtime import runtime_of
from binhyen.kit.text import nfc
from binhyen.registry.api.common import PROBLEMS
from binhyen.registry.domain.units import Unit
from binhyen.registry.service import units as service
from binhyen.registry.store.units import UnitStore

VN = ZoneInfo("Asia/Ho_Chi_Minh")
router = APIRouter(prefix="/api/v1", tags=["units"])


def _today_vn() -> date:
    return datetime.now(VN).date()


class UnitCreate(BaseModel):
    """A new admin unit."""

    model_config = ConfigDict(extra="forbid")

    kind: UnitKind = Field(description="Kind of unit, e.g. province, commune, hamlet.")
    name: str = Field(min_length=1, max_length=200, description="Official name, e.g. 'Tân Thành'.")
    parent_id: str | None = Field(
        None, max_length=64, description="Parent unit; none for a province."
    )
    official_code: str | None = Field(
        None, pattern=r"^[0-9]{2,6}$", description="Code in the national list of admin units."
    )
    valid_from: date = Field(
        default_factory=_today_vn, description="Date the unit exists from (default: today)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = nfc(value)
        if not value:
            raise ValueError("name must not be blank")
        return value


class UnitRead(BaseModel):
    """An admin unit as stored."""

    id: str
    kind: UnitKind
    level: UnitLevel
    name: str
    parent_id: str | None
    ancestor_ids: list[str]
    official_code: str | None
    valid_from: date
    version: int

    @classmethod
    def of(cls, unit: Unit) -> UnitRead:
        """Build the response from a domain unit."""
        return cls(
            id=unit.id,
            kind=UnitKind(unit.kind),
            level=UnitLevel(unit.level),
            name=unit.name,
            parent_id=unit.parent_id,
            ancestor_ids=list(unit.ancestor_ids),
            official_code=unit.official_code,
            valid_from=unit.valid_from,
            version=unit.version,
        )


def _store(request: Request) -> UnitStore:
    store: UnitStore = runtime_of(request).extras["stores"].units
    return store


StoreDep = Annotated[UnitStore, Depends(_store)]


@router.post(
    "/units",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitRead,
    responses=PROBLEMS,
    summary="Register an admin unit",
)
async def create_unit(
    body: UnitCreate,
    request: Request,
    response: Response,
    store: StoreDep,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retries with the same key return the first result."),
    ] = None,
) -> UnitRead:
    """Register a unit; its event goes out through the outbox."""
    rt = runtime_of(request)
    unit, created = await service.register_unit(
        service.RegisterUnit(
            kind=body.kind.value,
            name=body.name,
            valid_from=body.valid_from,
            parent_id=body.parent_id,
            official_code=body.official_code,
            idempotency_key=idempotency_key,
        ),
        principal=principal,
        store=store,
        topic=rt.settings.topic,
        wake_relay=rt.relay.wake if rt.relay else lambda: None,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/units/{unit.id}"
    return UnitRead.of(unit)


@router.get("/units/{unit_id}", response_model=UnitRead, responses=PROBLEMS, summary="Get a unit")
async def read_unit(unit_id: str, store: StoreDep, principal: CurrentPrincipal) -> UnitRead:
    """One admin unit."""
    return UnitRead.of(await service.get_unit(unit_id, principal=principal, store=store))
