"""``categories`` (the versioned catalogue) and ``policies`` (deadline targets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.incidents.domain.categories import Category, Question
from binhyen.incidents.domain.deadlines import DeadlinePolicy, Targets
from binhyen.kit.outbox import OUTBOX, SENT, push_outbox, with_outbox

Document = dict[str, Any]
POLICY_ID = "deadline_policy"
Announce = Callable[[Category], Sequence[Document]]  # the outbox entries of a category's state


def category_document(category: Category) -> Document:
    """The stored form of one category version."""
    doc = asdict(category)
    doc["_id"] = doc.pop("code")
    doc["questions"] = [asdict(q) | {"values": list(q.values)} for q in category.questions]
    doc["keywords"] = list(category.keywords)
    return doc


def to_category(doc: Document) -> Category:
    """A category from its stored form."""
    return Category(
        code=doc["_id"],
        name_vi=doc["name_vi"],
        name_en=doc["name_en"],
        group=doc["group"],
        ba_khong=bool(doc["ba_khong"]),
        default_severity=doc["default_severity"],
        questions=tuple(
            Question(
                code=q["code"],
                label_vi=q["label_vi"],
                label_en=q["label_en"],
                type=q["type"],
                required=bool(q.get("required")),
                values=tuple(q.get("values", ())),
                description=q.get("description"),
            )
            for q in doc.get("questions", [])
        ),
        active=bool(doc.get("active", True)),
        version=int(doc["version"]),
        description_vi=doc.get("description_vi"),
        description_en=doc.get("description_en"),
        keywords=tuple(doc.get("keywords", ())),
    )


class CategoryStore:
    """The catalogue: one document per category, earlier versions kept in ``history``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["categories"]
        self.policies: AsyncCollection[Document] = db["policies"]

    async def create_indexes(self) -> None:
        """Categories are read by code (_id) or all at once."""
        await self.collection.create_index([("group", ASCENDING)], name="group")

    async def seed(self, categories: tuple[Category, ...], announce: Announce) -> int:
        """Insert the categories that do not exist yet (each announced); return how many."""
        added = 0
        for category in categories:
            if await self.insert(category, announce(category)):
                added += 1
        return added

    async def announce_unannounced(self, announce: Announce) -> list[str]:
        """Announce the categories stored before the catalogue had a topic; return their codes.

        A category never relayed has neither sent nor pending entries. The write is a
        compare-and-set on its version, so a revision racing it announces itself instead.
        """
        never = {SENT: {"$exists": False}, f"{OUTBOX}.0": {"$exists": False}}
        announced: list[str] = []
        async for doc in self.collection.find(never):
            category = to_category(doc)
            result = await self.collection.update_one(
                {"_id": category.code, "version": category.version, **never},
                push_outbox({}, announce(category)),
            )
            if result.modified_count == 1:
                announced.append(category.code)
        return announced

    async def get(self, code: str, version: int | None = None) -> Category | None:
        """The current category (or one of its versions), or None."""
        doc = await self.collection.find_one({"_id": code})
        if doc is None:
            return None
        if version is None or version == doc["version"]:
            return to_category(doc)
        old = next((h for h in doc.get("history", []) if h["version"] == version), None)
        return to_category(old | {"_id": code}) if old else None

    async def all(self, *, include_retired: bool = False) -> list[Category]:
        """Every category, by group then code."""
        query: Document = {} if include_retired else {"active": True}
        docs = [d async for d in self.collection.find(query)]
        categories = [to_category(d) for d in docs]
        return sorted(categories, key=lambda c: (c.group, c.code))

    async def insert(self, category: Category, outbox: Sequence[Document] = ()) -> bool:
        """Add a new category with its outbox entries; False if the code exists."""
        doc = category_document(category) | {"created_at": datetime.now(UTC), "history": []}
        try:
            await self.collection.insert_one(with_outbox(doc, outbox))
        except DuplicateKeyError:
            return False
        return True

    async def replace(
        self, current: Category, revised: Category, outbox: Sequence[Document] = ()
    ) -> bool:
        """Store a new version (and its outbox entries) unless someone changed it meanwhile."""
        old = category_document(current)
        del old["_id"]
        new = category_document(revised)
        del new["_id"]
        result = await self.collection.update_one(
            {"_id": current.code, "version": current.version},
            push_outbox(
                {"$set": {**new, "updated_at": datetime.now(UTC)}, "$push": {"history": old}},
                outbox,
            ),
        )
        return result.modified_count == 1

    async def policy(self, default: DeadlinePolicy) -> DeadlinePolicy:
        """The deadline policy in force (the default until someone edits it)."""
        doc = await self.policies.find_one({"_id": POLICY_ID})
        if doc is None:
            return default
        return DeadlinePolicy(
            {
                severity: Targets(
                    timedelta(seconds=t["acknowledge_seconds"]),
                    timedelta(seconds=t["resolve_seconds"]),
                )
                for severity, t in doc["targets"].items()
            },
            version=int(doc["version"]),
        )

    async def save_policy(self, policy: DeadlinePolicy, *, expected_version: int) -> bool:
        """Store a new policy version unless someone changed it meanwhile."""
        targets = {
            severity: {
                "acknowledge_seconds": t.acknowledge.total_seconds(),
                "resolve_seconds": t.resolve.total_seconds(),
            }
            for severity, t in policy.targets.items()
        }
        doc = {"targets": targets, "version": policy.version, "updated_at": datetime.now(UTC)}
        if expected_version == 1:
            try:
                await self.policies.insert_one({"_id": POLICY_ID, **doc})
                return True
            except DuplicateKeyError:
                pass
        result = await self.policies.update_one(
            {"_id": POLICY_ID, "version": expected_version}, {"$set": doc}
        )
        return result.modified_count == 1
