"""``policies`` (the current version of each) and ``policy_versions`` (every version, kept).

Saving a version writes the immutable version first and then moves the current pointer with a
compare-and-set on the version number, so two officers editing at once cannot both win, and an
alert can always read the exact version it started with.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.notifications.domain.policies import Policy, Step, Target, Template, Trigger

Document = dict[str, Any]


def policy_doc(policy: Policy) -> Document:
    """A policy as stored (and embedded in the alerts that follow it)."""
    doc = asdict(policy)
    doc["unit_path"] = list(policy.unit_path)
    return doc


def policy_of(doc: Document) -> Policy:
    """The policy a stored document holds."""
    return Policy(
        id=doc["id"],
        version=int(doc["version"]),
        unit_id=doc["unit_id"],
        unit_path=tuple(doc.get("unit_path", ())),
        name=doc.get("name", ""),
        triggers=tuple(
            Trigger(
                kind=t["kind"],
                categories=tuple(t.get("categories", ())),
                groups=tuple(t.get("groups", ())),
                min_severity=t.get("min_severity", "low"),
            )
            for t in doc.get("triggers", [])
        ),
        steps=tuple(
            Step(
                delay_seconds=int(s["delay_seconds"]),
                targets=tuple(
                    Target(
                        kind=t["kind"],
                        team_kinds=tuple(t.get("team_kinds", ("people_security",))),
                        positions=tuple(t.get("positions", ())),
                    )
                    for t in s.get("targets", [])
                ),
            )
            for s in doc.get("steps", [])
        ),
        channels=tuple(doc.get("channels", ())),
        templates={
            lang: Template(
                headline=t["headline"],
                text=t["text"],
                body=t["body"],
                instruction=t.get("instruction", ""),
            )
            for lang, t in doc.get("templates", {}).items()
        },
        repeat=int(doc.get("repeat", 0)),
        repeat_after_seconds=int(doc.get("repeat_after_seconds", 300)),
        remind_after_seconds=doc.get("remind_after_seconds"),
        critical_from=doc.get("critical_from", "high"),
        expires_after_seconds=int(doc.get("expires_after_seconds", 86400)),
        active=bool(doc.get("active", True)),
        throttle_per_hour=int(doc.get("throttle_per_hour", 0)),
        updated_by=doc.get("updated_by", ""),
    )


class PolicyStore:
    """Alert policies and their versions."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.current: AsyncCollection[Document] = db["policies"]
        self.versions: AsyncCollection[Document] = db["policy_versions"]

    async def create_indexes(self) -> None:
        """Policies are looked up by the units on an incident's path."""
        await self.current.create_index("unit_id")

    async def save(self, policy: Policy, *, expected_version: int | None) -> bool:
        """Store a new version; False if someone saved another one meanwhile.

        ``expected_version`` None creates the policy (version 1).
        """
        doc = policy_doc(policy)
        try:
            await self.versions.insert_one({"_id": f"{policy.id}:{policy.version}", **doc})
        except DuplicateKeyError:
            return False  # another writer took this version number
        current = {**doc, "saved_at": datetime.now(UTC)}
        if expected_version is None:
            try:
                await self.current.insert_one({"_id": policy.id, **current})
            except DuplicateKeyError:
                return False
            return True
        result = await self.current.update_one(
            {"_id": policy.id, "version": expected_version}, {"$set": current}
        )
        return result.modified_count == 1

    async def get(self, policy_id: str) -> Policy | None:
        """The current version, or None."""
        doc = await self.current.find_one({"_id": policy_id})
        return None if doc is None else policy_of(doc)

    async def version(self, policy_id: str, version: int) -> Policy | None:
        """One version, or None."""
        doc = await self.versions.find_one({"_id": f"{policy_id}:{version}"})
        return None if doc is None else policy_of(doc)

    async def history(self, policy_id: str) -> list[Policy]:
        """Every version, oldest first."""
        found = self.versions.find({"id": policy_id})
        return sorted([policy_of(doc) async for doc in found], key=lambda p: p.version)

    async def for_units(self, unit_ids: list[str]) -> list[Policy]:
        """The current policies of these units (active or not)."""
        found = self.current.find({"unit_id": {"$in": unit_ids}})
        return [policy_of(doc) async for doc in found]
