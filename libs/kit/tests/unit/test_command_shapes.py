"""Benchmarks group MongoDB commands by shape: values left out, how each field is matched kept."""

from binhyen.kit.testing.commands import command_shape


def test_shapes_keep_fields_and_operators_and_drop_values() -> None:
    ids = [f"i-{n}" for n in range(501)]
    assert command_shape("find", {"find": "g2_incidents", "filter": {"_id": {"$in": ids}}}) == (
        "find g2_incidents {_id:$in>500}"
    )
    assert command_shape(
        "find", {"find": "g2_incidents", "filter": {"hamlet_id": {"$in": ids[:500]}}}
    ) == ("find g2_incidents {hamlet_id:$in≤500}")
    update = {
        "update": "incidents",
        "updates": [
            {"q": {"_id": "a", "version": 3}, "u": {"$set": {"x": 1}, "$push": {"y": 2}}},
            {"q": {"_id": "b", "version": 1}, "u": {"$set": {"x": 2}}},
        ],
    }
    assert command_shape("update", update) == "update×2 incidents {_id:eq,version:eq} $set,$push"
    assert command_shape("insert", {"insert": "people", "documents": [{}, {}, {}]}) == (
        "insert×3 people"
    )
    deleted = {"delete": "outbox", "deletes": [{"q": {"_outbox_until": {"$not": {"$gt": 1}}}}]}
    assert command_shape("delete", deleted) == "delete outbox {_outbox_until:$not}"
