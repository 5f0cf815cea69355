"""Idempotency: consumers apply an effect once; creating requests honour Idempotency-Key."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

APPLIED = "_applied"
KEEP_APPLIED = 100


async def apply_once(
    collection: AsyncCollection[dict[str, Any]],
    *,
    doc_id: Any,
    event_id: str,
    update: dict[str, Any],
    guard: dict[str, Any] | None = None,
    upsert: bool = True,
) -> bool:
    """Apply ``update`` to one document unless ``event_id`` was applied; True if it was applied now.

    The guard lives in the document itself (the last ids applied), so the check and
    the effect are one atomic single-document write: no transaction needed. ``guard``
    adds conditions, e.g. ``{"version": {"$lt": 7}}`` so an old event never overwrites
    newer state.
    """
    guarded = {op: dict(spec) for op, spec in update.items()}
    guarded.setdefault("$push", {})[APPLIED] = {"$each": [event_id], "$slice": -KEEP_APPLIED}
    try:
        result = await collection.update_one(
            {"_id": doc_id, APPLIED: {"$ne": event_id}, **(guard or {})}, guarded, upsert=upsert
        )
    except DuplicateKeyError:
        return False  # the document exists and the event was applied (or is stale)
    return result.modified_count > 0 or result.upserted_id is not None


def request_fingerprint(fields: Mapping[str, Any]) -> str:
    """A stable hash of a request's content, to refuse an Idempotency-Key reused for another."""
    canonical = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
