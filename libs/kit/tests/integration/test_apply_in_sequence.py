"""apply_once with aggregate sequence numbers: duplicates recognised however late they come."""

from typing import Any

from pymongo import AsyncMongoClient

from binhyen.kit.idempotency import APPLIED, apply_once

Document = dict[str, Any]


async def test_a_duplicate_delivered_after_1000_other_events_is_still_recognised(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["c"]
    try:
        for seq in range(1, 1002):
            applied = await apply_once(
                coll, doc_id="agg", event_id=f"e{seq}", update={"$inc": {"n": 1}}, sequence=seq
            )
            assert applied
        doc = await coll.find_one({"_id": "agg"})
        assert doc is not None and doc["n"] == 1001
        assert APPLIED not in doc  # no list of ids that would have to forget
        again = await apply_once(
            coll, doc_id="agg", event_id="e1", update={"$inc": {"n": 1}}, sequence=1
        )
        late = await apply_once(
            coll, doc_id="agg", event_id="e500", update={"$inc": {"n": 1}}, sequence=500
        )
        doc = await coll.find_one({"_id": "agg"})
        assert (again, late) == (False, False)
        assert doc is not None and doc["n"] == 1001
    finally:
        await mongo.drop_database(database_name)


async def test_a_document_written_before_sequences_takes_the_next_sequenced_event(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    coll = mongo[database_name]["c"]
    try:
        await apply_once(coll, doc_id="old", event_id="legacy", update={"$inc": {"n": 1}})
        first = await apply_once(
            coll, doc_id="old", event_id="s7", update={"$inc": {"n": 1}}, sequence=7
        )
        gap = await apply_once(
            coll, doc_id="old", event_id="s9", update={"$inc": {"n": 1}}, sequence=9
        )
        doc = await coll.find_one({"_id": "old"})
        assert (first, gap) == (True, True)  # gaps are allowed
        assert doc is not None and doc["n"] == 3
    finally:
        await mongo.drop_database(database_name)
