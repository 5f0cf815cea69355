"""Deactivated accounts, for services that verify tokens but do not keep the accounts.

The registry publishes every change of an account's state on binhyen.registry.accounts.v1
(compacted, keyed by account id). A service that sets ``follow_accounts=True`` in its
``ServiceSpec`` consumes it into its own ``account_states`` collection and its token
verifier asks :meth:`AccountStates.is_active` about every caller, so a deactivated
account's tokens stop working there too, not just at the registry, well before they expire:
within the time the event takes to arrive plus :data:`ACCOUNT_STATE_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.accounts import AccountState
from binhyen.contracts.topics import REGISTRY_ACCOUNTS
from binhyen.kit.consumer import EventDispatcher, PoisonMessage
from binhyen.kit.idempotency import apply_once, event_sequence

log = logging.getLogger(__name__)

Document = dict[str, Any]
COLLECTION = "account_states"
# How long a replica trusts what it read of an account's state.
ACCOUNT_STATE_SECONDS = 2.0
CACHE_SIZE = 10_000


class AccountStates:
    """The account states this service learnt from the registry, in its own database."""

    topic = REGISTRY_ACCOUNTS

    def __init__(
        self, db: AsyncDatabase[Document], *, cache_seconds: float = ACCOUNT_STATE_SECONDS
    ) -> None:
        self.collection: AsyncCollection[Document] = db[COLLECTION]
        self._cache_seconds = cache_seconds
        # account id → (active, monotonic time read); dropped when an event for it is applied.
        self._cache: dict[str, tuple[bool, float]] = {}

    async def on_account_changed(self, event: CloudEvent) -> None:
        """Keep an account's latest state; a repeated or older event changes nothing."""
        data = event.payload()
        if not isinstance(data, AccountState):
            raise PoisonMessage(f"{event.type} carries no account state")
        applied = await apply_once(
            self.collection,
            doc_id=data.account_id,
            event_id=event.id,
            update={"$set": {"active": data.active, "changed_at": data.changed_at}},
            sequence=event_sequence(event),
        )
        self._cache.pop(data.account_id, None)
        log.info(
            "account state applied",
            extra={"active": data.active, "changed": applied},  # no account id: a person
        )

    def handler(self) -> EventDispatcher:
        """The record handler for the accounts topic (every event type it carries)."""
        return EventDispatcher(
            dict.fromkeys(REGISTRY_ACCOUNTS.event_types, self.on_account_changed)
        )

    async def is_active(self, subject: str) -> bool:
        """False if the registry deactivated this account; read at most a few seconds ago.

        Subjects never heard of count as active: only deactivations are published.
        """
        now = time.monotonic()
        cached = self._cache.get(subject)
        if cached is not None and now - cached[1] <= self._cache_seconds:
            return cached[0]
        doc = await self.collection.find_one({"_id": subject}, {"active": 1})
        active = doc is None or bool(doc.get("active", True))
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()  # bounded: a cold cache costs one read per subject
        self._cache[subject] = (active, now)
        return active
