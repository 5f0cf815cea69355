"""Webhook endpoints: a unit's systems that receive its alerts (signed per Standard Webhooks)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from binhyen.kit.auth import Principal
from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.egress import check_url_resolves
from binhyen.notifications.channels.webhook import new_secret
from binhyen.notifications.service.common import Context, not_found, scoped_unit
from binhyen.notifications.store.endpoints import Endpoint


async def create(
    ctx: Context, *, unit_id: str, name: str, url: str, principal: Principal
) -> Endpoint:
    """A new endpoint; its secret is returned now and never shown again."""
    path = await scoped_unit(ctx, unit_id, principal, "endpoints:write", read="policies:read")
    await check_url_resolves(url, allow_private=ctx.settings.allow_private_targets, field="url")
    endpoint = Endpoint(
        id=str(uuid.uuid4()),
        unit_id=unit_id,
        unit_path=path,
        name=name,
        url=url,
        secret=new_secret(),
        secret_previous=None,
        enabled=True,
        disabled_reason=None,
        created_by=principal.subject,
        version=1,
    )
    await ctx.stores.endpoints.insert(endpoint)
    return endpoint


async def of_unit(ctx: Context, unit_id: str, principal: Principal) -> list[Endpoint]:
    """The endpoints of a unit."""
    await scoped_unit(ctx, unit_id, principal, "endpoints:write", read="policies:read")
    return await ctx.stores.endpoints.in_subtree([unit_id])


async def _own(ctx: Context, endpoint_id: str, principal: Principal) -> Endpoint:
    endpoint = await ctx.stores.endpoints.get(endpoint_id)
    if endpoint is None or not principal.allows("endpoints:write", endpoint.unit_path):
        raise not_found(f"endpoint {endpoint_id}")
    return endpoint


async def rotate(ctx: Context, endpoint_id: str, principal: Principal) -> Endpoint:
    """A new secret; the old one still signs (a second signature) until the next rotation."""
    endpoint = await _own(ctx, endpoint_id, principal)
    rotated = replace(
        endpoint, secret=new_secret(), secret_previous=endpoint.secret, version=endpoint.version + 1
    )
    result = await ctx.stores.endpoints.collection.update_one(
        {"_id": endpoint.id, "version": endpoint.version},
        {"$set": {"secret": rotated.secret, "secret_previous": rotated.secret_previous,
                  "version": rotated.version}},
    )  # fmt: skip
    if result.modified_count != 1:
        raise Invalid("the endpoint changed meanwhile; try again", field="endpoint_id")
    return rotated


async def enable(ctx: Context, endpoint_id: str, principal: Principal) -> Endpoint:
    """Send to an endpoint again (after a 410 or an officer disabled it)."""
    endpoint = await _own(ctx, endpoint_id, principal)
    await ctx.stores.endpoints.collection.update_one(
        {"_id": endpoint.id}, {"$set": {"enabled": True, "disabled_reason": None}}
    )
    return replace(endpoint, enabled=True, disabled_reason=None)


async def delete(ctx: Context, endpoint_id: str, principal: Principal) -> None:
    """Forget an endpoint."""
    endpoint = await _own(ctx, endpoint_id, principal)
    await ctx.stores.endpoints.delete(endpoint.id)
