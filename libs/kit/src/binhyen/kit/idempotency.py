"""Idempotency: consumers apply an effect once; creating requests honour Idempotency-Key.

Creating requests: ``creation`` and ``create_once``
---------------------------------------------------
Every creating endpoint goes through :func:`create_once`, with these rules:

- A key belongs to the caller: to its principal's subject, or for anonymous channels
  (tips, Open311) to the scope the service derives (a keyed hash of the client).
  Two callers sending the same key each get their own result.
- A retry (same caller, same key, same request fingerprint) answers the first result,
  but only after ``check`` re-ran, on the stored result, the authorization the create
  needs; a caller who lost the right gets the endpoint's 403 or 404, not the result.
- The same key with another request is a 422 naming the field ``Idempotency-Key``.
- Concurrent requests with the same caller and key create one result.

Where the records live, and why there. The result's id is derived from the kind of
result, the caller's scope and the key (UUIDv5), and the request's fingerprint is
stored in the created document (``FINGERPRINT``), in the same single-document insert
that creates it. The unique ``_id`` index is therefore the unique (scope, key) index:
of two concurrent requests one inserts and the other meets a duplicate id and answers
the first result. We chose this over a separate ``idempotency`` collection with a TTL
index because such a record is a second document written apart from the result, and
without multi-document transactions (FerretDB v1, a standalone MongoDB) a crash between
the two writes leaves either a claim with no result (retries blocked until it expires,
or a take-over protocol) or a result with no claim (the retry creates a duplicate).
Here nothing is written but the result, nothing ever expires under a live result, and
the caller's scope is stored nowhere: it only enters the id through a one-way hash.
The cost: a key is remembered as long as its result exists (no 24 h window), so a key
reused days later for another request is refused with a 422 that asks for a new one.

A result created inside another document (an organisation's members and shifts) works
the same way: its id is derived with the parent's id in the kind, the parent's
version-guarded write refuses the id when it is already there, and the fingerprint is
kept in the parent beside it (the parent keeps the latest few hundred; a replay of an
older one is refused with the 422 rather than guessed).

The create runs first and the earlier result is read only when the id is taken (or the
create is refused, e.g. the hamlet was merged since the first attempt): a new report,
the common case, costs no extra read.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from binhyen.kit.auth import Principal
from binhyen.kit.problems import Conflict, DomainError, Invalid

APPLIED = "_applied"
SEQUENCE = "_sequence"
KEEP_APPLIED = 100
FINGERPRINT = "idempotency_fingerprint"  # the field a created document keeps it in
IDEMPOTENCY_FIELD = "Idempotency-Key"
_KINDS = uuid.UUID("5f0b7f4e-2d7c-4b8e-9a51-3c6de1f0a2b7")  # namespace of result kinds

T = TypeVar("T")


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


def caller_scope(principal: Principal) -> str:
    """Whose keys a signed-in caller's are: its subject."""
    return principal.subject


@dataclass(frozen=True)
class Creation:
    """A creating request as Idempotency-Key sees it: its key, its fingerprint, its result id."""

    key: str | None
    fingerprint: str
    result_id: str  # derived from (kind, caller scope, key) with a key; random without

    @property
    def record(self) -> dict[str, str]:
        """What the created document keeps, in the write that creates it."""
        return {FINGERPRINT: self.fingerprint} if self.key else {}


def creation(kind: str | uuid.UUID, *, scope: str, key: str | None, fingerprint: str) -> Creation:
    """The retry identity of a creating request by the caller ``scope``.

    ``kind`` names what is created (``"units"``; ``"organisations/<id>/members"`` for a
    result inside another document), or is the namespace UUID a service used before.
    """
    if not key:
        return Creation(None, fingerprint, str(uuid.uuid4()))
    namespace = kind if isinstance(kind, uuid.UUID) else uuid.uuid5(_KINDS, kind)
    return Creation(key, fingerprint, str(uuid.uuid5(namespace, f"{scope}\x00{key}")))


def key_reused() -> Invalid:
    """The answer to a key sent again with a different request."""
    return Invalid(
        "this Idempotency-Key was already used for a different request; "
        "send this request with a new key",
        field=IDEMPOTENCY_FIELD,
    )


async def create_once(
    request: Creation,
    *,
    create: Callable[[], Awaitable[T | None]],
    find: Callable[[], Awaitable[tuple[T, str] | None]],
    check: Callable[[T], Awaitable[None]],
) -> tuple[T, bool]:
    """Create a result once per caller and key; return it and whether it was created now.

    ``create`` makes the result under ``request.result_id`` (storing ``request.record``
    with it) and returns None when that id is taken; ``find`` returns the stored result
    with the fingerprint stored beside it, or None; ``check`` raises unless the caller may
    have that result now (the authorization the create needs, run on the stored result).
    """
    try:
        created = await create()
    except DomainError:
        # Refused now (the hamlet merged since, the caller lost a right, …): a retry whose
        # first attempt went through still gets that result, if ``check`` lets it.
        earlier = await _earlier(request, find, check)
        if earlier is None:
            raise
        return earlier, False
    if created is not None:
        return created, True
    earlier = await _earlier(request, find, check)
    if earlier is None:  # the id was taken, and the record is gone again
        raise Conflict("what this request creates was changed meanwhile; send it again")
    return earlier, False


async def _earlier(
    request: Creation,
    find: Callable[[], Awaitable[tuple[T, str] | None]],
    check: Callable[[T], Awaitable[None]],
) -> T | None:
    if not request.key:
        return None
    found = await find()
    if found is None:
        return None
    result, fingerprint = found
    if fingerprint != request.fingerprint:
        raise key_reused()
    await check(result)
    return result
