"""Idempotency: consumers apply an effect once; creating requests honour Idempotency-Key."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

APPLIED = "_applied"
SEQUENCE = "_sequence"
KEEP_APPLIED = 100


def event_sequence(event: Any) -> int | None:
    """The CloudEvents ``sequence`` of an event as a number (None when it carries none)."""
    raw = getattr(event, "sequence", None)
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


async def apply_once(
    collection: AsyncCollection[dict[str, Any]],
    *,
    doc_id: Any,
    event_id: str,
    update: dict[str, Any],
    guard: dict[str, Any] | None = None,
    upsert: bool = True,
    sequence: int | None = None,
) -> bool:
    """Apply ``update`` to one document unless the event was applied; True if applied now.

    The guard lives in the document itself, so the check and the effect are one atomic
    single-document write: no transaction needed.

    - With ``sequence`` (the CloudEvents ``sequence`` of the aggregate whose id is
      ``doc_id``, see ``event_sequence``), the document keeps the highest sequence it
      applied and takes only higher ones: a duplicate is recognised however many events
      came in between, and a stale event never overwrites newer state.
    - Without one (events from before sequence numbers), the document keeps the last
      ``KEEP_APPLIED`` event ids (the id list is not written for sequenced events).

    ``guard`` adds conditions, e.g. ``{"version": {"$lt": 7}}``.
    """
    guarded = {op: dict(spec) for op, spec in update.items()}
    condition: dict[str, Any] = {"_id": doc_id}
    if sequence is not None:
        # Missing counts as lower: documents written before sequences take the event.
        condition[SEQUENCE] = {"$not": {"$gte": sequence}}
        guarded.setdefault("$set", {})[SEQUENCE] = sequence
    else:
        # (FerretDB 1.x ignores $slice: there the list is not trimmed, one more reason
        # to send sequence numbers.)
        condition[APPLIED] = {"$ne": event_id}
        guarded.setdefault("$push", {})[APPLIED] = {"$each": [event_id], "$slice": -KEEP_APPLIED}
    try:
        result = await collection.update_one({**condition, **(guard or {})}, guarded, upsert=upsert)
    except DuplicateKeyError:
        return False  # the document exists and the event was applied (or is stale)
    return result.modified_count > 0 or result.upserted_id is not None


def request_fingerprint(fields: Mapping[str, Any]) -> str:
    """A stable hash of a request's content, to refuse an Idempotency-Key reused for another."""
    canonical = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
