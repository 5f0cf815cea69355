"""MongoDB access for bulk imports: jobs, their uploaded files and their error reports.

``import_jobs`` holds one document per job (status, progress). The uploaded
file and the full error list live in ``import_chunks`` (binary and list chunks well
under the 16 MB document limit), so a job can be resumed, and its report rebuilt,
by any replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

Document = dict[str, Any]
FILE_CHUNK = 4 * 1024 * 1024
ERROR_CHUNK = 5_000
UNFINISHED = ("validating", "writing")


class ImportStore:
    """Import jobs (``import_jobs``) and their files and error lists (``import_chunks``)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["import_jobs"]
        self.chunks: AsyncCollection[Document] = db["import_chunks"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index(
            [("unit_id", ASCENDING), ("created_at", DESCENDING)], name="unit"
        )
        await self.collection.create_index([("status", ASCENDING)], name="status")
        await self.chunks.create_index(
            [("job_id", ASCENDING), ("kind", ASCENDING), ("seq", ASCENDING)], name="job"
        )

    async def insert(self, job: Document, data: bytes) -> None:
        """Store a new job and its uploaded file."""
        await self.chunks.insert_many(
            [
                {
                    "_id": f"{job['_id']}:file:{seq}",
                    "job_id": job["_id"],
                    "kind": "file",
                    "seq": seq,
                    "data": data[start : start + FILE_CHUNK],
                }
                for seq, start in enumerate(range(0, max(len(data), 1), FILE_CHUNK))
            ]
        )
        await self.collection.insert_one(job)

    async def get(self, job_id: str) -> Document | None:
        """The job document, or None."""
        return await self.collection.find_one({"_id": job_id})

    async def file(self, job_id: str) -> bytes:
        """The uploaded file of a job."""
        cursor = self.chunks.find({"job_id": job_id, "kind": "file"}).sort("seq", ASCENDING)
        return b"".join([bytes(d["data"]) async for d in cursor])

    async def save_errors(self, job_id: str, errors: Sequence[Document]) -> None:
        """Keep the full list of row errors of a job."""
        docs = [
            {
                "_id": f"{job_id}:errors:{seq}",
                "job_id": job_id,
                "kind": "errors",
                "seq": seq,
                "errors": list(errors[start : start + ERROR_CHUNK]),
            }
            for seq, start in enumerate(range(0, len(errors), ERROR_CHUNK))
        ]
        await self.chunks.delete_many({"job_id": job_id, "kind": "errors"})
        if docs:
            await self.chunks.insert_many(docs)

    async def errors(self, job_id: str) -> list[Document]:
        """Every row error of a job, in file order."""
        cursor = self.chunks.find({"job_id": job_id, "kind": "errors"}).sort("seq", ASCENDING)
        return [e async for d in cursor for e in d["errors"]]

    async def unfinished(self) -> list[str]:
        """Jobs not yet done, rejected or failed (running, or waiting for a replica)."""
        cursor = self.collection.find({"status": {"$in": list(UNFINISHED)}}, {"_id": 1})
        return [d["_id"] async for d in cursor]

    async def update(self, job_id: str, changes: Document, *, status: str | None = None) -> bool:
        """Record progress of a job still ``status`` (default: unfinished); False if it is not.

        The caller renews the job's lease first; the status guard keeps a replica that
        lost it from turning a finished job back.
        """
        guard: Document | str = {"$in": list(UNFINISHED)} if status is None else status
        result = await self.collection.update_one(
            {"_id": job_id, "status": guard},
            {"$set": {**changes, "updated_at": datetime.now(UTC)}},
        )
        return result.matched_count == 1

    async def of_unit(self, unit_id: str, limit: int) -> list[Document]:
        """The latest jobs of a hamlet."""
        cursor = (
            self.collection.find({"unit_id": unit_id}).sort("created_at", DESCENDING).limit(limit)
        )
        return [d async for d in cursor]


async def insert_new(collection: AsyncCollection[Document], docs: Sequence[Document]) -> int:
    """Insert documents in bulk; ones already there (a resumed batch) are left as they are."""
    if not docs:
        return 0
    try:
        result = await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return int(exc.details.get("nInserted", len(docs) - len(errors)))
    return len(result.inserted_ids)


async def codes_in_use(
    households: AsyncCollection[Document], codes: Sequence[str]
) -> dict[str, str]:
    """Active households holding these registration codes: code → unit id."""
    found: dict[str, str] = {}
    for start in range(0, len(codes), 1000):
        cursor = households.find(
            {"registration_code": {"$in": list(codes[start : start + 1000])}, "status": "active"},
            {"registration_code": 1, "unit_id": 1},
        )
        async for doc in cursor:
            found.setdefault(doc["registration_code"], doc["unit_id"])
    return found
