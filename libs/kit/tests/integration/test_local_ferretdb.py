"""The MongoDB-wire server the tests run on keeps MongoDB's promises that the services rely on.

FerretDB v1.24.2 as released breaks three of them; ``deploy/local`` builds it with a patch
for each (``deploy/local/ferretdb-patches/``), and these tests run against that binary (or
against MongoDB, which keeps them anyway). Each one fails on the unpatched build.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pymongo import AsyncMongoClient

from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.testing.servers import Servers

Document = dict[str, Any]


async def _plan(db: Any, filter_: Document) -> str:
    """The query plan of a find, as text (FerretDB: SQLite's plan; MongoDB: the winning plan)."""
    info = await db.command("buildInfo")
    plan = await db.command("explain", {"find": "c", "filter": filter_}, verbosity="queryPlanner")
    planner = plan["queryPlanner"]
    if "ferretdbVersion" in info:
        return " ".join(planner["Plan"])
    return json.dumps(planner["winningPlan"], default=str)


def _uses_index(plan: str, index: str) -> bool:
    return ("USING INDEX" in plan and index in plan) or "IXSCAN" in plan


async def test_an_id_lookup_uses_the_id_index(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    # As released, the `_id` index and the queries spell the JSON path differently, so every
    # `{_id: ...}` find and every write-back scanned the collection (patch 0001).
    db = mongo[database_name]
    try:
        await db["c"].insert_many([{"_id": f"k{i}", "n": i} for i in range(50)])
        plan = await _plan(db, {"_id": "k7"})
        assert _uses_index(plan, "__id_") and "SCAN c" not in plan, plan
        # With more conditions than _id (a compare-and-set), the _id index still narrows it.
        plan = await _plan(db, {"_id": "k7", "version": 3})
        assert _uses_index(plan, "__id_"), plan
    finally:
        await mongo.drop_database(database_name)


async def test_concurrent_updates_of_one_document_from_20_connections_keep_every_change(
    servers: Servers, database_name: str
) -> None:
    # As released, 200 concurrent {$push, $inc} from a pool of 20 kept about 13 (patch 0002).
    client = create_mongo_client(servers.mongodb, max_pool_size=20)
    db = client[database_name]
    try:
        await db["c"].insert_one({"_id": "doc", "n": 0, "items": []})
        await asyncio.gather(
            *(
                db["c"].update_one({"_id": "doc"}, {"$push": {"items": i}, "$inc": {"n": 1}})
                for i in range(200)
            )
        )
        doc = await db["c"].find_one({"_id": "doc"})
        assert doc is not None
        assert doc["n"] == 200
        assert sorted(doc["items"]) == list(range(200))
        # And find_one_and_update, the outbox relay's claim: every caller got its own number.
        seen = await asyncio.gather(
            *(db["c"].find_one_and_update({"_id": "doc"}, {"$inc": {"n": 1}}) for _ in range(100))
        )
        assert sorted(d["n"] for d in seen if d) == list(range(200, 300))
    finally:
        await client.drop_database(database_name)
        await client.close()


_RACER = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from pymongo import MongoClient
uri, db_name, me, docs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = MongoClient(uri, maxPoolSize=20)
c = client[db_name]["c"]
print("ready", flush=True)
sys.stdin.readline()  # both racers start together
def race(i):
    r = c.update_one({"_id": f"d{i}", "version": 0}, {"$set": {"version": 1, "winner": me}})
    return i if r.modified_count else None
with ThreadPoolExecutor(20) as pool:
    won = [i for i in pool.map(race, range(docs)) if i is not None]
print(json.dumps(won), flush=True)
"""


async def test_two_processes_racing_a_compare_and_set_have_exactly_one_winner(
    mongo: AsyncMongoClient[Document], servers: Servers, database_name: str
) -> None:
    # As released, 20 writers racing `{_id, version: 0} -> version 1` had 6 winners: If-Match
    # and every version guard were unsafe across connections and processes (patch 0002).
    docs = 200
    db = mongo[database_name]
    try:
        await db["c"].insert_many([{"_id": f"d{i}", "version": 0} for i in range(docs)])
        racers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                *("-c", _RACER, servers.mongodb, database_name, name, str(docs)),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for name in ("a", "b")
        ]
        for racer in racers:
            assert racer.stdout is not None
            assert (await racer.stdout.readline()).strip() == b"ready"
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write(b"go\n")
            await racer.stdin.drain()
        won = []
        for racer in racers:
            out, _ = await asyncio.wait_for(racer.communicate(), timeout=120)
            assert racer.returncode == 0
            won.append(json.loads(out.decode().strip().splitlines()[-1]))
        # Every document was won exactly once: by one process, never by both.
        assert sorted(won[0] + won[1]) == list(range(docs))
        stored = {d["_id"]: d["winner"] async for d in db["c"].find({})}
        assert all(stored[f"d{i}"] == ("a" if i in won[0] else "b") for i in range(docs))
    finally:
        await mongo.drop_database(database_name)


async def test_equality_and_in_on_an_indexed_field_use_the_index(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    # As released, any filter but `{_id: ...}` scanned the whole collection (patch 0003).
    db = mongo[database_name]
    try:
        await db["c"].create_index("status")
        await db["c"].create_index([("hamlet_id", 1), ("at", -1)])
        await db["c"].insert_many(
            [{"_id": f"k{i}", "status": f"s{i % 7}", "hamlet_id": f"h{i % 5}"} for i in range(70)]
        )
        for filter_, index in (
            ({"status": "s3"}, "status"),
            ({"status": {"$eq": "s3"}}, "status"),
            ({"status": {"$in": ["s1", "s2"]}}, "status"),
            ({"hamlet_id": "h2", "n": {"$gt": 3}}, "hamlet_id"),
            ({"_id": {"$in": ["k1", "k2"]}}, "__id_"),
        ):
            plan = await _plan(db, filter_)
            assert _uses_index(plan, index), (filter_, plan)
    finally:
        await mongo.drop_database(database_name)


async def test_indexed_lookups_find_what_a_scan_finds(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    # The look-up only narrows the rows read: arrays whose element matches, values that are
    # not pushed (numbers, escaped strings, nested fields) and misses must answer as before.
    db = mongo[database_name]
    values: list[Any] = [
        "a",
        "b",
        ["a", "z"],
        ["z"],
        1,
        1.0,
        None,
        'quote"d',
        "Nguyễn Văn Hảo",
        "đ<&>",
        {"a": 1},
        True,
    ]
    docs = [{"_id": f"k{i}", "tag": v, "kind": "x" if i % 2 else "y"} for i, v in enumerate(values)]
    try:
        await db["c"].create_index("tag")
        await db["c"].insert_many(docs)
        await db["d"].insert_many(docs)  # the same documents without an index: a scan
        probes: list[Document] = [
            {"tag": "a"},
            {"tag": "z"},
            {"tag": ["a", "z"]},
            {"tag": 1},
            {"tag": None},
            {"tag": 'quote"d'},
            {"tag": "Nguyễn Văn Hảo"},
            {"tag": "đ<&>"},
            {"tag": {"$in": ["b", "z", "missing"]}},
            {"tag": {"$eq": "b"}},
            {"tag": "a", "kind": "y"},
            {"tag": "nothing"},
        ]
        for probe in probes:
            with_index = sorted([d["_id"] async for d in db["c"].find(probe)])
            scanned = sorted([d["_id"] async for d in db["d"].find(probe)])
            assert with_index == scanned, probe
        assert sorted([d["_id"] async for d in db["c"].find({"tag": "a"})]) == ["k0", "k2"]
    finally:
        await mongo.drop_database(database_name)
