"""How to reach people the registry does not give contacts for, and what people prefer.

- ``staff``: officers and police register their own contacts (phones, e-mail addresses) with
  the roles their token carries; audiences "hamlet officer", "commune officer" and "commune
  police" read them. Refreshed every time the person saves them.
- ``preferences``: a recipient's channel order, language, quiet hours and opt-out, within the
  consent the registry holds (a resident without consent is never alerted, whatever is here).
- ``push_subscriptions``: Web Push subscriptions made on the acknowledgement page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


@dataclass(frozen=True)
class StaffContact:
    """An officer's or police officer's contacts and the roles they hold where."""

    subject: str
    name: str
    grants: tuple[tuple[str, str], ...]  # (role, unit id)
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    language: str = "vi"
    apprise_urls: tuple[str, ...] = ()  # ntfy, Telegram, … (Apprise URLs; they hold tokens)

    def holds(self, role: str, unit_id: str) -> bool:
        """True if the person holds ``role`` at exactly ``unit_id``."""
        return (role, unit_id) in self.grants


@dataclass(frozen=True)
class Preferences:
    """What a recipient asked for (absent: the policy's channel order, no quiet hours)."""

    channels: tuple[str, ...] = ()  # preferred order; empty: the policy's
    language: str | None = None
    quiet_from: time | None = None  # local time (Asia/Ho_Chi_Minh)
    quiet_until: time | None = None
    opted_out: bool = False
    updated_at: datetime | None = None


class StaffStore:
    """Staff contacts, by account id."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["staff"]

    async def create_indexes(self) -> None:
        """Audiences read staff by the units of their grants."""
        await self.collection.create_index("units")

    async def save(self, contact: StaffContact) -> None:
        """Create or replace a person's contacts."""
        await self.collection.replace_one(
            {"_id": contact.subject},
            {
                "name": contact.name,
                "grants": [{"role": r, "unit_id": u} for r, u in contact.grants],
                "units": sorted({u for _, u in contact.grants}),
                "phones": list(contact.phones),
                "emails": list(contact.emails),
                "apprise_urls": list(contact.apprise_urls),
                "language": contact.language,
                "updated_at": datetime.now(UTC),
            },
            upsert=True,
        )

    async def get(self, subject: str) -> StaffContact | None:
        """A person's contacts, or None."""
        doc = await self.collection.find_one({"_id": subject})
        return None if doc is None else _staff(doc)

    async def at_units(self, unit_ids: list[str]) -> list[StaffContact]:
        """Staff holding any role at one of these units."""
        found = self.collection.find({"units": {"$in": unit_ids}})
        return [_staff(doc) async for doc in found]


def _staff(doc: Document) -> StaffContact:
    return StaffContact(
        subject=doc["_id"],
        name=doc.get("name", ""),
        grants=tuple((g["role"], g["unit_id"]) for g in doc.get("grants", [])),
        phones=tuple(doc.get("phones", ())),
        emails=tuple(doc.get("emails", ())),
        language=doc.get("language", "vi"),
        apprise_urls=tuple(doc.get("apprise_urls", ())),
    )


class PreferenceStore:
    """Preferences by recipient key (``resident:<id>`` or ``staff:<id>``)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["preferences"]

    async def save(self, key: str, prefs: Preferences) -> None:
        """Create or replace a recipient's preferences."""
        await self.collection.replace_one(
            {"_id": key},
            {
                "channels": list(prefs.channels),
                "language": prefs.language,
                "quiet_from": prefs.quiet_from.isoformat() if prefs.quiet_from else None,
                "quiet_until": prefs.quiet_until.isoformat() if prefs.quiet_until else None,
                "opted_out": prefs.opted_out,
                "updated_at": datetime.now(UTC),
            },
            upsert=True,
        )

    async def many(self, keys: list[str]) -> dict[str, Preferences]:
        """The preferences of these recipients that have any."""
        found = self.collection.find({"_id": {"$in": keys}})
        return {doc["_id"]: _prefs(doc) async for doc in found}

    async def get(self, key: str) -> Preferences:
        """A recipient's preferences (defaults when none were saved)."""
        doc = await self.collection.find_one({"_id": key})
        return Preferences() if doc is None else _prefs(doc)


def _prefs(doc: Document) -> Preferences:
    def _t(value: Any) -> time | None:
        return time.fromisoformat(value) if value else None

    return Preferences(
        channels=tuple(doc.get("channels", ())),
        language=doc.get("language"),
        quiet_from=_t(doc.get("quiet_from")),
        quiet_until=_t(doc.get("quiet_until")),
        opted_out=bool(doc.get("opted_out")),
        updated_at=doc.get("updated_at"),
    )


class PushStore:
    """Web Push subscriptions by recipient key."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["push_subscriptions"]

    async def create_indexes(self) -> None:
        """Audiences read a recipient's subscriptions."""
        await self.collection.create_index("recipient")

    async def add(self, recipient: str, subscription: Document) -> str:
        """Keep a subscription (one per push endpoint); its id."""
        sub_id = hashlib.sha256(str(subscription["endpoint"]).encode()).hexdigest()[:32]
        await self.collection.replace_one(
            {"_id": sub_id},
            {"recipient": recipient, "subscription": subscription, "at": datetime.now(UTC)},
            upsert=True,
        )
        return sub_id

    async def of(self, recipients: list[str]) -> dict[str, list[Document]]:
        """The subscriptions of these recipients."""
        found: dict[str, list[Document]] = {}
        async for doc in self.collection.find({"recipient": {"$in": recipients}}):
            found.setdefault(doc["recipient"], []).append(doc["subscription"])
        return found

    async def drop_endpoint(self, endpoint: str) -> None:
        """Forget a subscription the push service says is gone."""
        sub_id = hashlib.sha256(endpoint.encode()).hexdigest()[:32]
        await self.collection.delete_one({"_id": sub_id})
