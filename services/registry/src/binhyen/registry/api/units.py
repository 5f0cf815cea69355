"""Admin units: register, rename, move, merge, dissolve; the tree as it is or was on a date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from binhyen.contracts.units import UnitKind, UnitLevel
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText, nfc
from binhyen.registry.api.common import (
    PROBLEMS,
    ContextDep,
    IdempotencyKey,
    IfMatch,
    StoresDep,
    expected_version,
    set_etag,
)
from binhyen.registry.domain.units import Unit, UnitVersion
from binhyen.registry.service import units as service

VN = ZoneInfo("Asia/Ho_Chi_Minh")
router = APIRouter(prefix="/api/v1", tags=["units"])


def today_vn() -> date:
    """Today's date in Vietnam."""
    return datetime.now(VN).date()


def _name(value: str) -> str:
    value = nfc(value)
    if not value:
        raise ValueError("name must not be blank")
    return value


class UnitCreate(BaseModel):
    """A new admin unit."""

    model_config = ConfigDict(extra="forbid")

    kind: UnitKind = Field(description="Kind of unit, e.g. province, commune, hamlet.")
    name: SafeText = Field(
        min_length=1, max_length=200, description="Official name, e.g. 'Tân Thành'."
    )
    parent_id: SafeText | None = Field(
        None, max_length=64, description="Parent unit; none for a province."
    )
    official_code: SafeText | None = Field(
        None, pattern=r"^[0-9]{2,6}$", description="Code in the national list of admin units."
    )
    valid_from: date = Field(
        default_factory=today_vn, description="Date the unit exists from (default: today)."
    )

    _check_name = field_validator("name")(_name)


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_date: date = Field(
        default_factory=today_vn, description="Date the change takes effect (default: today)."
    )


class UnitRename(_Change):
    """Rename a unit."""

    name: SafeText = Field(min_length=1, max_length=200, description="The new name.")

    _check_name = field_validator("name")(_name)


class UnitMove(_Change):
    """Place a unit under another parent."""

    parent_id: SafeText = Field(max_length=64, description="The new parent unit.")


class UnitMerge(_Change):
    """Merge a unit into a successor of the same tier."""

    successor_id: SafeText = Field(max_length=64, description="The unit it becomes part of.")


class UnitDissolve(_Change):
    """Dissolve a unit that has nothing active under it."""


class UnitRead(BaseModel):
    """An admin unit: its current state, or its state on the ``as_of`` date asked for."""

    id: str
    kind: UnitKind
    level: UnitLevel
    name: str
    parent_id: str | None
    ancestor_ids: list[str]
    official_code: str | None
    status: Literal["active", "merged", "dissolved"]
    successor_id: str | None
    valid_from: date
    valid_to: date | None
    version: int
    as_of: date | None = Field(None, description="The date this state is shown for, if asked.")

    @classmethod
    def of(
        cls, unit: Unit, state: UnitVersion | None = None, as_of: date | None = None
    ) -> UnitRead:
        """Build the response from a domain unit and one of its versions."""
        state = state or unit.current
        return cls(
            id=unit.id,
            kind=UnitKind(unit.kind),
            level=UnitLevel(unit.level),
            name=state.name,
            parent_id=state.parent_id,
            ancestor_ids=list(state.ancestor_ids),
            official_code=unit.official_code,
            status=state.status if as_of is not None else unit.status,
            successor_id=state.successor_id if as_of is not None else unit.successor_id,
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            version=unit.version,
            as_of=as_of,
        )


class UnitVersionRead(BaseModel):
    """One dated version of a unit."""

    effective_from: date
    change: str
    name: str
    parent_id: str | None
    ancestor_ids: list[str]
    status: str
    successor_id: str | None


class UnitPage(BaseModel):
    """A page of units; pass ``next_after`` as ``after`` for the next page."""

    items: list[UnitRead]
    next_after: str | None


AsOf = Annotated[
    date | None, Query(description="Show the state on this date (YYYY-MM-DD) instead of now.")
]


@router.post(
    "/units",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitRead,
    responses=PROBLEMS,
    summary="Register an admin unit",
)
async def create_unit(
    body: UnitCreate,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> UnitRead:
    """Register a unit; its event goes out through the outbox."""
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
        ctx=service.units_context(ctx),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/units/{unit.id}"
    set_etag(response, unit.version)
    return UnitRead.of(unit)


@router.get("/units", response_model=UnitPage, responses=PROBLEMS, summary="List and search units")
async def list_units(
    stores: StoresDep,
    principal: CurrentPrincipal,
    q: Annotated[
        SafeText | None, Query(max_length=100, description="Name contains; accents optional.")
    ] = None,
    kind: UnitKind | None = None,
    parent_id: Annotated[SafeText | None, Query(max_length=64)] = None,
    status_: Annotated[
        Literal["active", "merged", "dissolved"] | None, Query(alias="status")
    ] = None,
    after: Annotated[SafeText | None, Query(description="Continue after this unit id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> UnitPage:
    """Units within the caller's scope; "Quy Hue" finds "Quý Huệ"."""
    found = await service.list_units(
        principal=principal,
        store=stores.units,
        text=q,
        kind=kind.value if kind else None,
        parent_id=parent_id,
        status=status_,
        after=after,
        limit=limit,
    )
    return UnitPage(
        items=[UnitRead.of(u) for u in found],
        next_after=found[-1].id if len(found) == limit else None,
    )


@router.get("/units/{unit_id}", response_model=UnitRead, responses=PROBLEMS, summary="Get a unit")
async def read_unit(
    unit_id: str,
    response: Response,
    stores: StoresDep,
    principal: CurrentPrincipal,
    as_of: AsOf = None,
) -> UnitRead:
    """One admin unit, now or as it was on a date."""
    unit, version = await service.get_unit(
        unit_id, principal=principal, store=stores.units, as_of=as_of
    )
    set_etag(response, unit.version)
    return UnitRead.of(unit, version, as_of)


@router.get(
    "/units/{unit_id}/ancestors",
    response_model=list[UnitRead],
    responses=PROBLEMS,
    summary="Ancestors of a unit, root first",
)
async def read_ancestors(
    unit_id: str, stores: StoresDep, principal: CurrentPrincipal, as_of: AsOf = None
) -> list[UnitRead]:
    """The chain from the root to the unit's parent, now or on a date."""
    found = await service.ancestors(unit_id, principal=principal, store=stores.units, as_of=as_of)
    return [UnitRead.of(u, v, as_of) for u, v in found]


@router.get(
    "/units/{unit_id}/subtree",
    response_model=list[UnitRead],
    responses=PROBLEMS,
    summary="A unit and everything under it",
)
async def read_subtree(
    unit_id: str, stores: StoresDep, principal: CurrentPrincipal, as_of: AsOf = None
) -> list[UnitRead]:
    """The unit and all units under it, tier by tier, now or on a date."""
    found = await service.subtree(unit_id, principal=principal, store=stores.units, as_of=as_of)
    return [UnitRead.of(u, v, as_of) for u, v in found]


@router.get(
    "/units/{unit_id}/history",
    response_model=list[UnitVersionRead],
    responses=PROBLEMS,
    summary="Every dated version of a unit",
)
async def read_history(
    unit_id: str, stores: StoresDep, principal: CurrentPrincipal
) -> list[UnitVersionRead]:
    """Renames, moves, the merge or dissolution: each with the date it took effect."""
    unit, _ = await service.get_unit(unit_id, principal=principal, store=stores.units)
    return [
        UnitVersionRead(
            effective_from=v.effective_from,
            change=v.change,
            name=v.name,
            parent_id=v.parent_id,
            ancestor_ids=list(v.ancestor_ids),
            status=v.status,
            successor_id=v.successor_id,
        )
        for v in unit.versions
    ]


@router.post(
    "/units/{unit_id}/rename", response_model=UnitRead, responses=PROBLEMS, summary="Rename"
)
async def rename_unit(
    unit_id: str,
    body: UnitRename,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> UnitRead:
    """Rename a unit from a date on; the old name stays in its history."""
    unit = await service.rename_unit(
        unit_id,
        name=body.name,
        effective_date=body.effective_date,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=service.units_context(ctx),
    )
    set_etag(response, unit.version)
    return UnitRead.of(unit)


@router.post("/units/{unit_id}/move", response_model=UnitRead, responses=PROBLEMS, summary="Move")
async def move_unit(
    unit_id: str,
    body: UnitMove,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> UnitRead:
    """Place a unit (and its subtree) under another parent from a date on."""
    unit = await service.move_unit(
        unit_id,
        parent_id=body.parent_id,
        effective_date=body.effective_date,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=service.units_context(ctx),
    )
    set_etag(response, unit.version)
    return UnitRead.of(unit)


@router.post("/units/{unit_id}/merge", response_model=UnitRead, responses=PROBLEMS, summary="Merge")
async def merge_unit(
    unit_id: str,
    body: UnitMerge,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> UnitRead:
    """Merge a unit into a successor: the unit ends, its units move to the successor."""
    unit = await service.merge_unit(
        unit_id,
        successor_id=body.successor_id,
        effective_date=body.effective_date,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=service.units_context(ctx),
    )
    set_etag(response, unit.version)
    return UnitRead.of(unit)


@router.post(
    "/units/{unit_id}/dissolve", response_model=UnitRead, responses=PROBLEMS, summary="Dissolve"
)
async def dissolve_unit(
    unit_id: str,
    body: UnitDissolve,
    response: Response,
    stores: StoresDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> UnitRead:
    """Dissolve a unit with nothing active under it."""
    unit = await service.dissolve_unit(
        unit_id,
        effective_date=body.effective_date,
        expected_version=expected_version(if_match),
        principal=principal,
        ctx=service.units_context(ctx),
    )
    set_etag(response, unit.version)
    return UnitRead.of(unit)
