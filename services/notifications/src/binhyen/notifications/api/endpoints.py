"""Webhook endpoints of a unit (signed per Standard Webhooks; secrets shown once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.notifications.api.common import PROBLEMS, ContextDep
from binhyen.notifications.service import endpoints as service
from binhyen.notifications.store.endpoints import Endpoint

router = APIRouter(prefix="/api/v1/endpoints", tags=["webhook endpoints"])


class EndpointBody(BaseModel):
    """Where a unit's alerts are posted (http or https; no private address in production)."""

    unit_id: SafeText = Field(max_length=64)
    name: SafeText = Field(min_length=1, max_length=200)
    url: SafeText = Field(min_length=8, max_length=2000)


class EndpointRead(BaseModel):
    """An endpoint (its secret is shown only when made or rotated)."""

    id: str
    unit_id: str
    name: str
    url: str
    enabled: bool
    disabled_reason: str | None
    secret: str | None = Field(None, description="whsec_…: keep it; shown only now.")

    @classmethod
    def of(cls, e: Endpoint, *, with_secret: bool = False) -> EndpointRead:
        """The read model."""
        return cls(
            id=e.id,
            unit_id=e.unit_id,
            name=e.name,
            url=e.url,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            secret=e.secret if with_secret else None,
        )


@router.post(
    "",
    response_model=EndpointRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Add a webhook endpoint",
)
async def create_endpoint(
    body: EndpointBody, ctx: ContextDep, principal: CurrentPrincipal, response: Response
) -> EndpointRead:
    """Commune officers and administrators; the URL is checked (no private addresses)."""
    endpoint = await service.create(
        ctx, unit_id=body.unit_id, name=body.name, url=body.url, principal=principal
    )
    response.headers["Cache-Control"] = "no-store"
    return EndpointRead.of(endpoint, with_secret=True)


@router.get("", response_model=list[EndpointRead], responses=PROBLEMS, summary="A unit's endpoints")
async def list_endpoints(
    ctx: ContextDep, principal: CurrentPrincipal, unit_id: Annotated[SafeText, Query(max_length=64)]
) -> list[EndpointRead]:
    """Secrets are not shown."""
    return [EndpointRead.of(e) for e in await service.of_unit(ctx, unit_id, principal)]


@router.post(
    "/{endpoint_id}/rotate",
    response_model=EndpointRead,
    responses=PROBLEMS,
    summary="Rotate an endpoint's secret",
)
async def rotate_secret(
    endpoint_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> EndpointRead:
    """The new secret signs from now on; the previous one too, until the next rotation."""
    return EndpointRead.of(await service.rotate(ctx, endpoint_id, principal), with_secret=True)


@router.post(
    "/{endpoint_id}/enable",
    response_model=EndpointRead,
    responses=PROBLEMS,
    summary="Send to an endpoint again",
)
async def enable_endpoint(
    endpoint_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> EndpointRead:
    """After a 410 Gone disabled it."""
    return EndpointRead.of(await service.enable(ctx, endpoint_id, principal))


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PROBLEMS,
    summary="Remove an endpoint",
)
async def delete_endpoint(endpoint_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> None:
    """Nothing more is sent to it."""
    await service.delete(ctx, endpoint_id, principal)
