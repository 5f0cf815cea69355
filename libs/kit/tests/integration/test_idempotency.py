"""apply_once against a real MongoDB-wire server."""

from typing import Any

from pymongo import AsyncMongoClient

from binhyen.kit.idempotency import apply_once

Document = dict[str, Any]


async def test_same_event_applied_twice_changes_the_document_once(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["c"]
    try:
        first = await apply_once(coll, doc_id="d", event_id="e1", update={"$inc": {"n": 1}})
        again = await apply_once(coll, doc_id="d", event_id="e1", update={"$inc": {"n": 1}})
        other = await apply_once(coll, doc_id="d", event_id="e2", update={"$inc": {"n": 1}})
        doc = await coll.find_one({"_id": "d"})
        assert (first, again, other) == (True, False, True)
        assert doc is not None and doc["n"] == 2
    finally:
        await mongo.drop_database(database_name)


async def test_stale_event_never_overwrites_newer_state(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["c"]
    try:
        await apply_once(
            coll,
            doc_id="u",
            event_id="v2",
            update={"$set": {"version": 2, "name": "new"}},
            guard={"version": {"$lt": 2}},
        )
        stale = await apply_once(
            coll,
            doc_id="u",
            event_id="v1",
            update={"$set": {"version": 1, "name": "old"}},
            guard={"version": {"$lt": 1}},
        )
        doc = await coll.find_one({"_id": "u"})
        assert stale is False
        assert doc is not None and (doc["version"], doc["name"]) == (2, "new")
    finally:
        await mongo.drop_database(database_name)
