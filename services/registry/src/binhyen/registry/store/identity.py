"""MongoDB access for identity: users, signing keys, failed logins (indexes declared here)."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from binhyen.kit.idempotency import FINGERPRINT
from binhyen.kit.outbox import OUTBOX
from binhyen.registry.domain.identity import User, UserGrant

Document = dict[str, Any]
ACTIVE_CACHE_SIZE = 10_000


class DuplicateUsername(Exception):
    """Another account already has this username (case-insensitive)."""


class IdentityStore:
    """The ``users`` collection, ``login_failures`` and ``grant_audit`` (``signing_keys`` only to
    empty it)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["users"]
        self.grant_audit: AsyncCollection[Document] = db["grant_audit"]
        # user id → (active, monotonic time read); dropped when this replica saves the user.
        self._active: dict[str, tuple[bool, float]] = {}
        self.signing_keys: AsyncCollection[Document] = db["signing_keys"]
        self.login_failures: AsyncCollection[Document] = db["login_failures"]

    async def create_indexes(self) -> None:
        """Declare the indexes this store relies on."""
        await self.collection.create_index(
            [("username_key", ASCENDING)], unique=True, name="username_unique"
        )
        await self.collection.create_index([("grants.unit_path", ASCENDING)], name="grant_units")
        await self.grant_audit.create_index(
            [("user_id", ASCENDING), ("at", ASCENDING)], name="user"
        )
        # Housekeeping only: the lockout logic reads the dates and never relies on expiry,
        # so a server without TTL indexes merely keeps a few stale documents.
        with contextlib.suppress(OperationFailure):
            await self.login_failures.create_index(
                [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"
            )

    # users

    async def insert(
        self, user: User, *, password_hash: str, record: Document | None = None
    ) -> None:
        """Insert a new user (and ``record``); DuplicateUsername if the username or id is taken."""
        doc = _user_doc(user) | {"password_hash": password_hash} | (record or {})
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateUsername() from exc

    async def get(self, user_id: str) -> tuple[User, str] | None:
        """The user with this id and its password hash, or None."""
        doc = await self.collection.find_one({"_id": user_id})
        return (_to_user(doc), doc["password_hash"]) if doc else None

    async def with_fingerprint(self, user_id: str) -> tuple[User, str] | None:
        """The user and the fingerprint of the request that created it (Idempotency-Key)."""
        doc = await self.collection.find_one({"_id": user_id}, {"password_hash": 0})
        return (_to_user(doc), doc.get(FINGERPRINT, "")) if doc else None

    async def by_username(self, key: str) -> tuple[User, str] | None:
        """The user with this username key and its password hash, or None."""
        doc = await self.collection.find_one({"username_key": key})
        return (_to_user(doc), doc["password_hash"]) if doc else None

    async def is_active(self, user_id: str, *, max_age: float) -> bool:
        """False if the account exists and is deactivated; read at most ``max_age`` s ago.

        Unknown subjects (another issuer's, a service's) count as active: only accounts this
        registry keeps can be deactivated here.
        """
        now = time.monotonic()
        cached = self._active.get(user_id)
        if cached is not None and now - cached[1] <= max_age:
            return cached[0]
        doc = await self.collection.find_one({"_id": user_id}, {"active": 1})
        active = doc is None or bool(doc.get("active", True))
        if len(self._active) >= ACTIVE_CACHE_SIZE:
            self._active.clear()  # bounded: a cold cache costs one read per subject
        self._active[user_id] = (active, now)
        return active

    async def save(
        self,
        user: User,
        *,
        expected_version: int,
        password_hash: str | None,
        outbox: list[Document] | None = None,
    ) -> bool:
        """Write the user's mutable state (and its events) unless changed since
        ``expected_version``."""
        self._active.pop(user.id, None)
        changes: Document = {
            "display_name": user.display_name,
            "active": user.active,
            "grants": [_grant_doc(g) for g in user.grants],
            "version": user.version,
            "updated_at": datetime.now(UTC),
        }
        if password_hash is not None:
            changes["password_hash"] = password_hash
        update: Document = {"$set": changes}
        if outbox:
            update["$push"] = {OUTBOX: {"$each": outbox}}
        result = await self.collection.update_one(
            {"_id": user.id, "version": expected_version}, update
        )
        return result.matched_count == 1

    async def set_password_hash(self, user_id: str, *, old: str, new: str) -> None:
        """Replace a hash by a stronger one (rehash on login) unless it changed meanwhile."""
        await self.collection.update_one(
            {"_id": user_id, "password_hash": old}, {"$set": {"password_hash": new}}
        )

    async def in_subtree(self, unit_id: str, *, limit: int, after: str | None) -> list[User]:
        """Users holding a grant at ``unit_id`` or below it, ordered by id."""
        query: Document = {"grants.unit_path": unit_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [_to_user(doc) async for doc in cursor]

    async def audit_grant(self, record: Document) -> None:
        """Append a record to the grant audit trail (never updated or deleted)."""
        await self.grant_audit.insert_one(record)

    # signing keys

    async def forget_stored_signing_keys(self) -> int:
        """Delete the signing keys earlier versions stored here; how many there were."""
        result = await self.signing_keys.delete_many({})
        return result.deleted_count

    # failed logins

    async def locked_until(self, key: str, *, now: datetime) -> datetime | None:
        """When the lockout of this login key ends, if it is locked now."""
        doc = await self.login_failures.find_one({"_id": key})
        until = doc.get("locked_until") if doc else None
        return until if isinstance(until, datetime) and until > now else None

    async def record_failure(
        self,
        key: str,
        *,
        now: datetime,
        window: timedelta,
        max_failures: int,
        lockout: timedelta,
        max_lockout: timedelta,
        memory: timedelta,
    ) -> datetime | None:
        """Count a failed login; lock the key when it reaches ``max_failures`` in ``window``.

        Locks grow: ``lockout`` the first time, doubled for each lockout of the key before
        it (up to ``max_lockout``) until ``memory`` passes without one. Returns the end of
        the lockout if this failure started one.
        """
        update = {
            "$push": {"failures": now},
            "$set": {"expires_at": now + max(window, max_lockout) + memory},
        }
        try:
            doc = await self.login_failures.find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # two first failures raced to create the document
            doc = await self.login_failures.find_one_and_update(
                {"_id": key}, update, return_document=ReturnDocument.AFTER
            )
        doc = doc or {}
        failures = [t for t in doc.get("failures", []) if isinstance(t, datetime)]
        stale = [t for t in failures if t <= now - window]
        if len(failures) - len(stale) >= max_failures:
            last = doc.get("last_locked_at")
            recent = isinstance(last, datetime) and last > now - memory
            level = int(doc.get("level", 0)) if recent else 0
            until: datetime = now + min(lockout * (1 << min(level, 32)), max_lockout)
            await self.login_failures.update_one(
                {"_id": key},
                {
                    "$set": {
                        "locked_until": until,
                        "failures": [],
                        "level": level + 1,
                        "last_locked_at": now,
                        "expires_at": until + memory,
                    }
                },
            )
            return until
        if stale:
            # $pull with a condition is a no-op on FerretDB; $pullAll of exact values works.
            await self.login_failures.update_one({"_id": key}, {"$pullAll": {"failures": stale}})
        return None

    async def clear_failures(self, key: str) -> None:
        """Forget the failed logins of this key (after a success or a password reset)."""
        await self.login_failures.delete_one({"_id": key})


def _grant_doc(grant: UserGrant) -> Document:
    return {
        "id": grant.id,
        "role": grant.role,
        "unit_id": grant.unit_id,
        "unit_path": list(grant.unit_path),
        "granted_by": grant.granted_by,
        "granted_at": grant.granted_at,
    }


def _user_doc(user: User) -> Document:
    return {
        "_id": user.id,
        "username": user.username,
        "username_key": user.username_key,
        "display_name": user.display_name,
        "kind": user.kind,
        "active": user.active,
        "grants": [_grant_doc(g) for g in user.grants],
        "version": user.version,
        "created_at": user.created_at or datetime.now(UTC),
    }


def _to_user(doc: Document) -> User:
    return User(
        id=doc["_id"],
        username=doc["username"],
        display_name=doc["display_name"],
        kind=doc["kind"],
        active=bool(doc.get("active", True)),
        grants=tuple(
            UserGrant(
                id=g["id"],
                role=g["role"],
                unit_id=g["unit_id"],
                unit_path=tuple(g.get("unit_path", (g["unit_id"],))),
                granted_by=g.get("granted_by", ""),
                granted_at=g["granted_at"],
            )
            for g in doc.get("grants", [])
        ),
        version=int(doc.get("version", 1)),
        created_at=doc.get("created_at"),
    )
