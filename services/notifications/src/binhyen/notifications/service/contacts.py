"""Staff contacts, recipients' preferences, and Web Push subscriptions from the page."""

from __future__ import annotations

import json

from binhyen.kit.auth import Principal
from binhyen.kit.problems import Invalid
from binhyen.notifications.channels.email import check_target as check_email
from binhyen.notifications.channels.phones import InvalidPhone, parse_phone
from binhyen.notifications.service import acks
from binhyen.notifications.service.common import Context, not_found
from binhyen.notifications.store.contacts import Preferences, StaffContact

STAFF_ROLES = ("hamlet_officer", "commune_officer", "police", "team_leader", "team_member")


async def save_own(
    ctx: Context,
    principal: Principal,
    *,
    phones: list[str],
    emails: list[str],
    language: str,
    apprise_urls: list[str] | None = None,
) -> StaffContact:
    """An officer registers how to reach them, with the roles their token carries now."""
    grants = tuple((g.role, g.unit_id) for g in principal.grants if g.role in STAFF_ROLES)
    if not grants:
        raise Invalid(
            "only officers, police and team members register contacts here", field="grants"
        )
    parsed: list[str] = []
    for i, raw in enumerate(phones):
        try:
            parsed.append(parse_phone(raw))
        except InvalidPhone as exc:
            raise Invalid(str(exc), field=f"phones.{i}") from exc
    for i, email in enumerate(emails):
        try:
            check_email({"email": email})
        except ValueError as exc:
            raise Invalid("not an e-mail address", field=f"emails.{i}") from exc
    apprise = ctx.channels.get("apprise")
    check_apprise = getattr(apprise, "check_target", None)
    for i, url in enumerate(apprise_urls or []):
        if check_apprise is None:
            raise Invalid("Apprise is not available here", field=f"apprise_urls.{i}")
        try:
            check_apprise({"url": url})
        except ValueError as exc:
            # The message names the part at fault, never the URL (it may hold a token).
            raise Invalid(str(exc), field=f"apprise_urls.{i}") from exc
    contact = StaffContact(
        subject=principal.subject,
        name=principal.name or "",
        grants=grants,
        phones=tuple(dict.fromkeys(parsed)),
        emails=tuple(dict.fromkeys(emails)),
        language=language,
        apprise_urls=tuple(dict.fromkeys(apprise_urls or [])),
    )
    await ctx.stores.staff.save(contact)
    return contact


async def own(ctx: Context, principal: Principal) -> StaffContact:
    """The contacts an officer registered."""
    found = await ctx.stores.staff.get(principal.subject)
    if found is None:
        raise not_found("your contacts")
    return found


async def set_resident_preferences(
    ctx: Context, person_id: str, prefs: Preferences, principal: Principal
) -> Preferences:
    """An officer records a resident's wishes (channel order, language, quiet hours, opt-out)."""
    found = await ctx.stores.residents.many([person_id])
    resident = found.get(person_id)
    unit = await ctx.stores.units.get(resident.unit_id) if resident else None
    if resident is None or unit is None or not principal.allows("people:write", unit.path):
        raise not_found(f"resident {person_id}")
    await ctx.stores.preferences.save(f"resident:{person_id}", prefs)
    return prefs


async def set_own_preferences(
    ctx: Context, principal: Principal, prefs: Preferences
) -> Preferences:
    """An officer's own wishes (residents' are recorded by their officers)."""
    if not any(g.role in STAFF_ROLES for g in principal.grants):
        raise Invalid(
            "only officers, police and team members keep preferences here", field="grants"
        )
    await ctx.stores.preferences.save(f"staff:{principal.subject}", prefs)
    return prefs


async def subscribe_push(ctx: Context, token: str, subscription: dict[str, object]) -> str:
    """Keep the Web Push subscription a recipient made on their alert page."""
    view = await acks.view(ctx, token)
    channel = ctx.channels.get("push")
    check = getattr(channel, "check_target", None)
    if check is not None:
        try:
            check({"subscription": json.dumps(subscription)})
        except ValueError as exc:
            raise Invalid(str(exc).split(":")[0] + " is not a usable push subscription",
                          field="subscription") from exc  # fmt: skip
    return await ctx.stores.push.add(view.recipient["rkey"], dict(subscription))
