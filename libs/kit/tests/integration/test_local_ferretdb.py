"""The MongoDB-wire server the tests run on answers `_id` look-ups from the `_id` index."""

from typing import Any

from pymongo import AsyncMongoClient

Document = dict[str, Any]


async def test_an_id_lookup_uses_the_id_index(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    # FerretDB v1.24.2 as released scans the whole collection for `{_id: ...}` (its index and
    # its queries spell the JSON path differently); deploy/local builds it with that fixed.
    # Every outbox removal and every read by id depends on it not growing with the data.
    db = mongo[database_name]
    try:
        await db["c"].insert_many([{"_id": f"k{i}", "n": i} for i in range(50)])
        info = await db.command("buildInfo")
        plan = await db.command(
            "explain", {"find": "c", "filter": {"_id": "k7"}}, verbosity="queryPlanner"
        )
        planner = plan["queryPlanner"]
        if "ferretdbVersion" in info:
            steps = " ".join(planner["Plan"])
            assert "USING INDEX" in steps and "__id_" in steps, steps
        else:
            assert "COLLSCAN" not in str(planner["winningPlan"]), planner
    finally:
        await mongo.drop_database(database_name)
