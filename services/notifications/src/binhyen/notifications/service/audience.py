"""Who a wave reaches, and over which channels in which order (the fallback chain).

Rules:
- A resident without alert consent in the registry is never alerted (the law requires no
  channel today), and neither is anyone who opted out here.
- Team targets read the replicated teams of the alert's hamlets: ``team_on_duty`` the members
  on a shift covering now (nobody if no shift covers now: the step is skipped),
  ``contact_roster`` the roster in order (``positions`` picks places), ``team`` every member.
- Staff targets read the contacts staff registered here, by the role they hold at the hamlet
  (hamlet officer) or at its commune (commune officer, police). A deactivated account is left
  out (kit.accounts).
- ``households`` is every consenting resident of the alert's hamlets; ``endpoints`` every
  enabled webhook endpoint of the hamlet or a unit above it.
- Each person is reached once per wave, whatever number of targets name them; a responder
  target makes them a responder.
- The chain: the recipient's preferred order (their preferences here, else the registry's
  alert channels), kept to the policy's channels and to the addresses known; the policy's
  order for the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from binhyen.kit.accounts import AccountStates
from binhyen.notifications.domain.policies import RESPONDER_KINDS, Target
from binhyen.notifications.service.common import Context
from binhyen.notifications.store.contacts import Preferences
from binhyen.notifications.store.replicas import Resident

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# The registry's channel names → ours (the registry says "zalo" for Zalo ZNS).
REGISTRY_CHANNELS = {"sms": "sms", "zalo": "zns", "push": "push", "email": "email"}


@dataclass(frozen=True)
class Recipient:
    """One person or endpoint a wave reaches."""

    key: str  # resident:<id> | staff:<id> | endpoint:<id>
    kind: str  # resident | staff | endpoint
    id: str
    hamlet_id: str | None
    household_id: str | None
    language: str
    responder: bool
    chain: tuple[tuple[str, dict[str, str]], ...]  # (channel, target) in fallback order
    quiet: tuple[str, str] | None = None  # "HH:MM" local, from–until
    name: str = field(default="", compare=False)  # for the drill report (officers only)


async def resolve(
    ctx: Context,
    *,
    hamlet_ids: list[str],
    paths: dict[str, list[str]],
    targets: tuple[Target, ...],
    channels: tuple[str, ...],
    now: datetime,
) -> list[Recipient]:
    """The recipients of a wave's targets, each once."""
    stores = ctx.stores
    wanted_people: dict[str, bool] = {}  # person id → responder
    staff_roles: dict[str, bool] = {}  # account id → responder
    endpoints: dict[str, tuple[str, str]] = {}  # endpoint id → (hamlet, name)
    households = False
    today = now.astimezone(LOCAL).date()
    for hamlet in hamlet_ids:
        path = paths.get(hamlet, [hamlet])
        commune = path[-2] if len(path) >= 2 else hamlet
        teams = await stores.teams.in_units([hamlet], today=today)
        for target in targets:
            responder = target.kind in RESPONDER_KINDS
            kinds = set(target.team_kinds)
            chosen = [t for t in teams if not kinds or t.kind in kinds]
            if target.kind == "team_on_duty":
                for team in chosen:
                    for p in team.on_duty(now):
                        wanted_people[p] = wanted_people.get(p, False) or responder
            elif target.kind == "contact_roster":
                for team in chosen:
                    places = target.positions or tuple(range(1, len(team.roster) + 1))
                    for place in places:
                        if 1 <= place <= len(team.roster):
                            p = team.roster[place - 1]
                            wanted_people[p] = wanted_people.get(p, False) or responder
            elif target.kind == "team":
                for team in chosen:
                    for p in team.member_ids:
                        wanted_people[p] = wanted_people.get(p, False) or responder
            elif target.kind in ("hamlet_officer", "commune_officer", "commune_police"):
                role, unit = {
                    "hamlet_officer": ("hamlet_officer", hamlet),
                    "commune_officer": ("commune_officer", commune),
                    "commune_police": ("police", commune),
                }[target.kind]
                for contact in await stores.staff.at_units([unit]):
                    if contact.holds(role, unit):
                        staff_roles[contact.subject] = True
            elif target.kind == "households":
                households = True
            elif target.kind == "endpoints":
                for endpoint in await stores.endpoints.at_units(list(path)):
                    endpoints[endpoint.id] = (hamlet, endpoint.name)

    residents: dict[str, Resident] = {}
    if wanted_people:
        residents.update(await stores.residents.many(list(wanted_people)))
    if households:
        for resident in await stores.residents.in_units(hamlet_ids, consenting=True):
            residents.setdefault(resident.id, resident)
    keys = [f"resident:{r}" for r in residents] + [f"staff:{s}" for s in staff_roles]
    prefs = await stores.preferences.many(keys)
    pushes = await stores.push.of(keys)

    found: list[Recipient] = []
    for resident in residents.values():
        key = f"resident:{resident.id}"
        pref = prefs.get(key, Preferences())
        if not resident.consent or pref.opted_out:
            continue
        own = pref.channels or tuple(REGISTRY_CHANNELS.get(c, c) for c in resident.channels)
        addresses = _addresses(phones=resident.phones, emails=(), pushes=pushes.get(key, []))
        chain = _chain(own, channels, addresses)
        if not chain:
            continue
        found.append(
            Recipient(
                key=key,
                kind="resident",
                id=resident.id,
                hamlet_id=resident.unit_id,
                household_id=resident.household_id or None,
                language=pref.language or resident.language,
                responder=wanted_people.get(resident.id, False),
                chain=chain,
                quiet=_quiet(pref),
                name=resident.name,
            )
        )
    accounts = AccountStates(stores.db)
    for subject in staff_roles:
        staff = await stores.staff.get(subject)
        if staff is None or not await accounts.is_active(subject):
            continue
        contact = staff
        key = f"staff:{subject}"
        pref = prefs.get(key, Preferences())
        if pref.opted_out:
            continue
        addresses = _addresses(
            phones=contact.phones, emails=contact.emails, pushes=pushes.get(key, [])
        )
        if contact.apprise_urls:
            addresses["apprise"] = [{"url": u} for u in contact.apprise_urls]
        chain = _chain(pref.channels, channels, addresses)
        if chain:
            found.append(
                Recipient(
                    key=key,
                    kind="staff",
                    id=subject,
                    hamlet_id=None,
                    household_id=None,
                    language=pref.language or contact.language,
                    responder=True,
                    chain=chain,
                    quiet=_quiet(pref),
                    name=contact.name,
                )
            )
    if "webhook" in channels:
        for endpoint_id, (hamlet, name) in endpoints.items():
            found.append(
                Recipient(
                    key=f"endpoint:{endpoint_id}",
                    kind="endpoint",
                    id=endpoint_id,
                    hamlet_id=hamlet,
                    household_id=None,
                    language="vi",
                    responder=False,
                    chain=(("webhook", {"endpoint_id": endpoint_id}),),
                    name=name,
                )
            )
    return found


def _addresses(
    *, phones: tuple[str, ...], emails: tuple[str, ...], pushes: list[dict[str, object]]
) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    if phones:
        found["sms"] = [{"phone": phones[0]}]
        found["zns"] = [{"phone": phones[0]}]
    if emails:
        found["email"] = [{"email": emails[0]}]
    if pushes:
        found["push"] = [{"subscription": json.dumps(s, sort_keys=True)} for s in pushes]
    return found


def _chain(
    preferred: tuple[str, ...],
    allowed: tuple[str, ...],
    addresses: dict[str, list[dict[str, str]]],
) -> tuple[tuple[str, dict[str, str]], ...]:
    order = [c for c in preferred if c in allowed] + [c for c in allowed if c not in preferred]
    chain: list[tuple[str, dict[str, str]]] = []
    for channel in dict.fromkeys(order):
        for target in addresses.get(channel, []):
            chain.append((channel, target))
    return tuple(chain)


def _quiet(pref: Preferences) -> tuple[str, str] | None:
    if pref.quiet_from is None or pref.quiet_until is None:
        return None
    return pref.quiet_from.strftime("%H:%M"), pref.quiet_until.strftime("%H:%M")
