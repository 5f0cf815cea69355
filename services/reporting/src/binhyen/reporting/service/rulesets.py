"""The evaluation rule set in force: the shipped file until an administrator replaces it.

Every version ever used is kept (``rulesets``, one document per id and version, with its
YAML text and fingerprint), so an evaluation judged under an older version can always be
shown with that version's texts. The current one is the highest version stored, or the
shipped file when none is stored (or when the shipped file is newer: an upgrade of the
service can bring a new version of the circular's rule set).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from binhyen.kit.problems import Conflict, Invalid, NotFound
from binhyen.reporting.domain.rules import (
    RuleSet,
    RuleSetConflict,
    RuleSetError,
    dump_ruleset,
    fingerprint,
    is_new_version,
    load_ruleset,
)
from binhyen.reporting.rulesets import shipped_ruleset

Document = dict[str, Any]


def _key(ruleset: RuleSet) -> str:
    return f"{ruleset.id}:{ruleset.version}"


async def current(db: AsyncDatabase[Document]) -> RuleSet:
    """The rule set evaluations are judged under now."""
    shipped = shipped_ruleset()
    stored = (
        await db["rulesets"]
        .find({"ruleset_id": shipped.id}, {"text": 1, "version": 1})
        .sort("version", -1)
        .limit(1)
        .to_list()
    )
    if stored and int(stored[0]["version"]) >= shipped.version:
        return load_ruleset(stored[0]["text"])
    return shipped


async def version(db: AsyncDatabase[Document], ruleset_id: str, number: int) -> RuleSet:
    """One version of a rule set (the shipped one need not be stored)."""
    shipped = shipped_ruleset()
    if (shipped.id, shipped.version) == (ruleset_id, number):
        return shipped
    doc = await db["rulesets"].find_one({"_id": f"{ruleset_id}:{number}"})
    if doc is None:
        raise NotFound(f"rule set {ruleset_id} version {number} does not exist")
    return load_ruleset(doc["text"])


async def replace(db: AsyncDatabase[Document], text: str, *, by: str) -> tuple[RuleSet, bool]:
    """Make ``text`` the current rule set; (it, True) when it is a new version.

    A file that does not parse or names an unknown check is a 422 naming every field at
    fault; the same version with other content, an older version or another rule set's id is
    a 409. The same content again changes nothing.
    """
    try:
        candidate = load_ruleset(text)
    except RuleSetError as exc:
        first = exc.problems[0] if exc.problems else None
        raise Invalid(
            f"rule set: {exc}",
            field=first.path if first is not None else "ruleset",
            extra={"problems": [{"path": p.path, "message": p.message} for p in exc.problems]},
        ) from exc
    now_in_force = await current(db)
    try:
        new = is_new_version(now_in_force, candidate)
    except RuleSetConflict as exc:
        raise Conflict(
            f"rule set: {exc}", field=exc.problems[0].path if exc.problems else "version"
        ) from exc
    if not new:
        return now_in_force, False
    try:
        await db["rulesets"].insert_one(
            {
                "_id": _key(candidate),
                "ruleset_id": candidate.id,
                "version": candidate.version,
                "fingerprint": fingerprint(candidate),
                "text": dump_ruleset(candidate),
                "stored_at": datetime.now(UTC),
                "stored_by": by,
            }
        )
    except DuplicateKeyError as exc:  # another administrator stored it meanwhile
        raise Conflict(
            f"rule set {candidate.id} version {candidate.version} was stored meanwhile",
            field="version",
        ) from exc
    return candidate, True


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """The look-up of a rule set's versions."""
    await db["rulesets"].create_index("ruleset_id")
