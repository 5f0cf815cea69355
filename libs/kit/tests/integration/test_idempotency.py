"""apply_once and create_once against a real MongoDB-wire server."""

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from binhyen.kit.auth import Forbidden
from binhyen.kit.idempotency import (
    FINGERPRINT,
    apply_once,
    create_once,
    creation,
    request_fingerprint,
)
from binhyen.kit.problems import Invalid

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


async def _note(
    coll: AsyncCollection[Document],
    *,
    caller: str,
    key: str | None,
    text: str,
    allowed: bool = True,
) -> tuple[Document, bool]:
    """A toy creating endpoint: a note belongs to whoever may see its ``owner``."""
    request = creation(
        "notes", scope=caller, key=key, fingerprint=request_fingerprint({"text": text})
    )

    async def create() -> Document | None:
        doc = {"_id": request.result_id, "text": text, "owner": caller, **request.record}
        try:
            await coll.insert_one(doc)
        except DuplicateKeyError:
            return None
        return doc

    async def find() -> tuple[Document, str] | None:
        doc = await coll.find_one({"_id": request.result_id})
        return (doc, doc.get(FINGERPRINT, "")) if doc else None

    async def check(doc: Document) -> None:
        if not allowed:
            raise Forbidden(f"you may no longer see note {doc['_id']}")

    return await create_once(request, create=create, find=find, check=check)


async def test_a_retry_answers_the_first_result_and_writes_nothing(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        first = await _note(coll, caller="a", key="k", text="x")
        again = await _note(coll, caller="a", key="k", text="x")
        assert (first[1], again[1]) == (True, False)
        assert first[0]["_id"] == again[0]["_id"]
        assert await coll.count_documents({}) == 1
    finally:
        await mongo.drop_database(database_name)


async def test_two_callers_with_one_key_each_get_their_own_result(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        mine, created_mine = await _note(coll, caller="a", key="k", text="mine")
        theirs, created_theirs = await _note(coll, caller="b", key="k", text="theirs")
        assert (created_mine, created_theirs) == (True, True)
        assert mine["_id"] != theirs["_id"]
        assert theirs["text"] == "theirs"
        assert await coll.count_documents({}) == 2
    finally:
        await mongo.drop_database(database_name)


async def test_the_same_key_with_another_request_is_refused_and_writes_nothing(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        await _note(coll, caller="a", key="k", text="x")
        with pytest.raises(Invalid) as refused:
            await _note(coll, caller="a", key="k", text="y")
        assert refused.value.field == "Idempotency-Key"
        assert [d["text"] async for d in coll.find({})] == ["x"]
    finally:
        await mongo.drop_database(database_name)


async def test_a_replay_is_answered_only_if_the_check_lets_the_caller_have_it(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        await _note(coll, caller="a", key="k", text="x")
        with pytest.raises(Forbidden):
            await _note(coll, caller="a", key="k", text="x", allowed=False)
    finally:
        await mongo.drop_database(database_name)


async def test_twenty_concurrent_requests_with_one_key_create_one_result(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        results = await asyncio.gather(
            *(_note(coll, caller="a", key="k", text="x") for _ in range(20))
        )
        assert sorted(created for _, created in results) == [False] * 19 + [True]
        assert len({doc["_id"] for doc, _ in results}) == 1
        assert await coll.count_documents({}) == 1
    finally:
        await mongo.drop_database(database_name)


async def test_without_a_key_every_request_creates(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["notes"]
    try:
        await _note(coll, caller="a", key=None, text="x")
        await _note(coll, caller="a", key=None, text="x")
        assert await coll.count_documents({}) == 2
        assert await coll.count_documents({FINGERPRINT: {"$exists": True}}) == 0
    finally:
        await mongo.drop_database(database_name)
