"""Account states from the registry: kept per account, in sequence order, briefly cached."""

from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.accounts import AccountDeactivated
from binhyen.kit.accounts import AccountStates
from binhyen.kit.outbox import format_sequence

Document = dict[str, Any]


def _event(account_id: str, *, active: bool, sequence: int) -> CloudEvent:
    data = AccountDeactivated(account_id=account_id, active=active, changed_at=datetime.now(UTC))
    return CloudEvent.wrap(data).model_copy(update={"sequence": format_sequence(sequence)})


async def test_a_deactivated_account_is_inactive_and_others_stay_active(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    states = AccountStates(mongo[database_name], cache_seconds=0)
    try:
        assert await states.is_active("a-1")  # never heard of: active
        await states.on_account_changed(_event("a-1", active=False, sequence=1))
        assert not await states.is_active("a-1")
        assert await states.is_active("a-2")
    finally:
        await mongo.drop_database(database_name)


async def test_an_older_or_repeated_state_never_overwrites_a_newer_one(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    states = AccountStates(mongo[database_name], cache_seconds=0)
    try:
        newer = _event("a-1", active=False, sequence=3)
        await states.on_account_changed(newer)
        await states.on_account_changed(_event("a-1", active=True, sequence=2))
        await states.on_account_changed(newer)
        assert not await states.is_active("a-1")
        doc = await states.collection.find_one({"_id": "a-1"})
        assert doc is not None and doc["_sequence"] == 3
    finally:
        await mongo.drop_database(database_name)


async def test_an_applied_change_is_seen_at_once_by_the_replica_that_applied_it(
    mongo: AsyncMongoClient[Document], database_name: str
) -> None:
    states = AccountStates(mongo[database_name], cache_seconds=3600)
    try:
        assert await states.is_active("a-1")  # cached as active for an hour
        await states.on_account_changed(_event("a-1", active=False, sequence=1))
        assert not await states.is_active("a-1")
    finally:
        await mongo.drop_database(database_name)
