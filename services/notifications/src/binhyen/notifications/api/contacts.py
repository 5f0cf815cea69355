"""Contacts and preferences: officers register theirs; officers record residents' wishes."""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.notifications.api.common import PROBLEMS, ContextDep
from binhyen.notifications.api.pages import Token
from binhyen.notifications.service import contacts as service
from binhyen.notifications.store.contacts import Preferences

router = APIRouter(tags=["contacts and preferences"])
ChannelName = Literal["push", "sms", "zns", "email", "webhook", "apprise"]


class ContactBody(BaseModel):
    """How to reach you (officers, police, team members)."""

    phones: list[SafeText] = Field(default_factory=list, max_length=3)
    emails: list[SafeText] = Field(default_factory=list, max_length=3)
    apprise_urls: list[SafeText] = Field(
        default_factory=list,
        max_length=3,
        description="Apprise URLs (e.g. tgram://…) of the schemes this deployment allows.",
    )
    language: Literal["vi", "en"] = "vi"


class ContactRead(ContactBody):
    """Your registered contacts and the roles they were registered with."""

    grants: list[dict[str, str]]


@router.put(
    "/api/v1/me/contact", response_model=ContactRead, responses=PROBLEMS, summary="Your contacts"
)
async def save_contact(
    body: ContactBody, ctx: ContextDep, principal: CurrentPrincipal
) -> ContactRead:
    """Save again after your roles change: audiences read the roles saved here."""
    c = await service.save_own(
        ctx,
        principal,
        phones=body.phones,
        emails=body.emails,
        language=body.language,
        apprise_urls=body.apprise_urls,
    )
    return _contact(c)


@router.get(
    "/api/v1/me/contact", response_model=ContactRead, responses=PROBLEMS, summary="Your contacts"
)
async def get_contact(ctx: ContextDep, principal: CurrentPrincipal) -> ContactRead:
    """What you registered."""
    return _contact(await service.own(ctx, principal))


def _contact(c: Any) -> ContactRead:
    return ContactRead(
        phones=list(c.phones),
        emails=list(c.emails),
        apprise_urls=list(c.apprise_urls),
        language=c.language,
        grants=[{"role": r, "unit_id": u} for r, u in c.grants],
    )


class PreferencesBody(BaseModel):
    """A recipient's wishes, within the consent the registry holds."""

    channels: list[ChannelName] = Field(default_factory=list, max_length=6)
    language: Literal["vi", "en"] | None = None
    quiet_from: time | None = Field(None, description="Local time; critical alerts still pass.")
    quiet_until: time | None = None
    opted_out: bool = False

    def prefs(self) -> Preferences:
        """The stored form."""
        return Preferences(
            channels=tuple(self.channels),
            language=self.language,
            quiet_from=self.quiet_from,
            quiet_until=self.quiet_until,
            opted_out=self.opted_out,
        )


@router.put(
    "/api/v1/residents/{person_id}/preferences",
    response_model=PreferencesBody,
    responses=PROBLEMS,
    summary="Record a resident's alert preferences",
)
async def resident_preferences(
    person_id: str, body: PreferencesBody, ctx: ContextDep, principal: CurrentPrincipal
) -> PreferencesBody:
    """Officers who may edit the resident in the registry."""
    await service.set_resident_preferences(ctx, person_id, body.prefs(), principal)
    return body


@router.put(
    "/api/v1/me/preferences",
    response_model=PreferencesBody,
    responses=PROBLEMS,
    summary="Your alert preferences",
)
async def own_preferences(
    body: PreferencesBody, ctx: ContextDep, principal: CurrentPrincipal
) -> PreferencesBody:
    """Channel order, language, quiet hours, opt-out."""
    await service.set_own_preferences(ctx, principal, body.prefs())
    return body


class PushKeys(BaseModel):
    """A PushSubscription's keys."""

    p256dh: SafeText = Field(max_length=200)
    auth: SafeText = Field(max_length=100)


class PushSubscription(BaseModel):
    """What the browser's PushManager.subscribe() gives."""

    endpoint: SafeText = Field(max_length=1000)
    keys: PushKeys
    expirationTime: int | None = None


class Subscribed(BaseModel):
    """The subscription is kept."""

    id: str


@router.post(
    "/a/{token}/push",
    response_model=Subscribed,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Receive later alerts by Web Push (from the alert page)",
)
async def subscribe(token: Token, body: PushSubscription, ctx: ContextDep) -> Subscribed:
    """The link's token says who is subscribing."""
    sub_id = await service.subscribe_push(ctx, token, body.model_dump(exclude_none=True))
    return Subscribed(id=sub_id)
