"""MongoDB access for commune plans and their tasks (indexes declared here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import push_outbox, with_outbox
from binhyen.registry.domain.tasks import OPEN, Plan, Task

Document = dict[str, Any]


class TaskStore:
    """The ``tasks`` collection (one document per task, with its outbox) and ``task_plans``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["tasks"]
        self.plans: AsyncCollection[Document] = db["task_plans"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        for collection in (self.collection, self.plans):
            await collection.create_index([("unit_path", ASCENDING)], name="unit_path")
        await self.plans.create_index(
            [("commune_id", ASCENDING), ("year", ASCENDING)], name="commune_year"
        )
        await self.collection.create_index([("plan_id", ASCENDING)], name="plan")
        await self.collection.create_index([("organisation_id", ASCENDING)], name="organisation")
        await self.collection.create_index(
            [("status", ASCENDING), ("due_date", ASCENDING)], name="status_due"
        )

    # Plans

    async def get_plan(self, plan_id: str) -> Plan | None:
        """The plan with this id, or None."""
        doc = await self.plans.find_one({"_id": plan_id})
        return _to_plan(doc) if doc else None

    async def plan_with_fingerprint(self, plan_id: str) -> tuple[Plan, str] | None:
        """The plan and the fingerprint of the request that created it (Idempotency-Key)."""
        doc = await self.plans.find_one({"_id": plan_id})
        return (_to_plan(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def insert_plan(self, plan: Plan, *, record: Document | None = None) -> bool:
        """Insert a new plan (and ``record``); False if the id is taken."""
        doc: Document = {
            "_id": plan.id,
            "commune_id": plan.commune_id,
            "unit_path": list(plan.unit_path),
            "year": plan.year,
            "title": plan.title,
            **(record or {}),
            "created_at": datetime.now(UTC),
        }
        try:
            await self.plans.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def find_plans(
        self, *, scopes: list[str] | None, commune_id: str | None, year: int | None
    ) -> list[Plan]:
        """Plans inside the caller's scopes, newest year first."""
        query: Document = {}
        if scopes is not None:
            query["unit_path"] = {"$in": scopes}
        if commune_id is not None:
            query["commune_id"] = commune_id
        if year is not None:
            query["year"] = year
        cursor = self.plans.find(query, sort=[("year", -1), ("title", 1), ("_id", 1)])
        return [_to_plan(d) async for d in cursor]

    async def plans_under(self, unit_id: str) -> list[tuple[str, list[str]]]:
        """(id, unit path) of the plans whose unit path passes through ``unit_id``."""
        cursor = self.plans.find({"unit_path": unit_id}, {"unit_path": 1})
        return [(d["_id"], list(d["unit_path"])) async for d in cursor]

    async def set_plan_path(self, plan_id: str, old: list[str], new: list[str]) -> bool:
        """Give a plan a new unit path if it still has ``old``; False if it changed meanwhile."""
        result = await self.plans.update_one(
            {"_id": plan_id, "unit_path": old}, {"$set": {"unit_path": new}}
        )
        return result.matched_count == 1

    # Tasks

    async def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        doc = await self.collection.find_one({"_id": task_id}, {"_outbox": 0})
        return _to_task(doc) if doc else None

    async def with_fingerprint(self, task_id: str) -> tuple[Task, str] | None:
        """The task and the fingerprint of the request that created it (Idempotency-Key)."""
        doc = await self.collection.find_one({"_id": task_id}, {"_outbox": 0})
        return (_to_task(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def insert(
        self, task: Task, *, outbox: list[Document], record: Document | None = None
    ) -> bool:
        """Insert a new task, its pending events and ``record``; False if the id is taken."""
        now = datetime.now(UTC)
        doc: Document = {
            "_id": task.id,
            **_state(task),
            **(record or {}),
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.collection.insert_one(with_outbox(doc, outbox))
        except DuplicateKeyError:
            return False
        return True

    async def replace(self, task: Task, *, expected_version: int, outbox: list[Document]) -> bool:
        """Write the new state and its events if the stored version is still the expected one."""
        update = push_outbox({"$set": {**_state(task), "updated_at": datetime.now(UTC)}}, outbox)
        result = await self.collection.update_one(
            {"_id": task.id, "version": expected_version}, update
        )
        return result.modified_count == 1

    async def ids_under(self, unit_id: str) -> list[str]:
        """Ids of the tasks whose organisation's unit path passes through ``unit_id``."""
        return [d["_id"] async for d in self.collection.find({"unit_path": unit_id}, {"_id": 1})]

    async def find(
        self,
        *,
        scopes: list[str] | None,
        plan_id: str | None = None,
        organisation_id: str | None = None,
        status: str | None = None,
        overdue_on: date | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Task], int]:
        """Tasks matching the filters inside the caller's scopes (soonest due first), and total."""
        query: Document = {}
        if scopes is not None:
            query["unit_path"] = {"$in": scopes}
        if plan_id is not None:
            query["plan_id"] = plan_id
        if organisation_id is not None:
            query["organisation_id"] = organisation_id
        if status is not None:
            query["status"] = status
        if overdue_on is not None:
            # ISO dates sort as strings, so "before today" is a string comparison.
            query["due_date"] = {"$lt": overdue_on.isoformat()}
            if status is None:
                query["status"] = {"$in": list(OPEN)}
        total = await self.collection.count_documents(query)
        cursor = self.collection.find(query, {"_outbox": 0}, sort=[("due_date", 1), ("_id", 1)])
        docs = await cursor.skip(offset).limit(limit).to_list()
        return [_to_task(d) for d in docs], total


def _state(task: Task) -> Document:
    return {
        "plan_id": task.plan_id,
        "commune_id": task.commune_id,
        "title": task.title,
        "description": task.description,
        "organisation_id": task.organisation_id,
        "unit_path": list(task.organisation_unit_path),
        "due_date": task.due_date.isoformat(),
        "status": task.status,
        "completed_at": task.completed_at,
        "version": task.version,
    }


def _to_plan(doc: Document) -> Plan:
    return Plan(
        id=doc["_id"],
        commune_id=doc["commune_id"],
        unit_path=tuple(doc.get("unit_path", ())),
        year=doc["year"],
        title=doc["title"],
    )


def _to_task(doc: Document) -> Task:
    completed = doc.get("completed_at")
    return Task(
        id=doc["_id"],
        plan_id=doc["plan_id"],
        commune_id=doc["commune_id"],
        title=doc["title"],
        description=doc.get("description"),
        organisation_id=doc["organisation_id"],
        organisation_unit_path=tuple(doc.get("unit_path", ())),
        due_date=date.fromisoformat(doc["due_date"]),
        status=doc["status"],
        completed_at=(completed if completed.tzinfo else completed.replace(tzinfo=UTC))
        if completed
        else None,
        version=doc.get("version", 1),
    )
