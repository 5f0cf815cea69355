"""Yearly evaluations of hamlets: open, judge, attest, propose, recognise or refuse, reopen.

Each evaluation is one document (``evaluations``, id ``<hamlet>:<year>``) holding the domain's
``Evaluation`` (results with their evidence, attestations, decision, history) and, in the
same write, the event of the change in its outbox: a change and its event are stored
together or not at all. Writes are guarded by the version the caller read (``If-Match``) and
by the version stored, so two officers acting at once cannot both win.

Who may do what (permissions of ``binhyen.kit.auth``, held at the hamlet or above):
``evaluations:read`` to read; ``evaluations:propose`` (the hamlet's officer, the commune's) to
open, re-judge, attest and propose; ``evaluations:decide`` (the commune) to recognise, refuse
and reopen.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from pymongo.errors import DuplicateKeyError

from binhyen.contracts import CloudEvent
from binhyen.contracts.events.reporting import (
    CriterionCheck,
    EvaluationCriterion,
    EvaluationDecision,
    EvaluationOpened,
    EvaluationProposed,
    EvaluationRecognised,
    EvaluationRefused,
    EvaluationReopened,
    EvaluationRuleset,
    EvaluationState,
)
from binhyen.contracts.topics import REPORTING_EVALUATIONS
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.outbox import OUTBOX, outbox_entry, push_outbox, with_outbox
from binhyen.kit.problems import Conflict, DomainError, Invalid, NotFound, PreconditionFailed
from binhyen.reporting.domain import evaluation as domain
from binhyen.reporting.domain.evaluation import (
    Attestation,
    Decision,
    Evaluation,
    EvaluationRuleViolation,
)
from binhyen.reporting.domain.facts import HamletFacts
from binhyen.reporting.service import rulesets
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.facts import hamlet_facts
from binhyen.reporting.service.units import UnitTree
from binhyen.reporting.store import ReadModel

Document = dict[str, Any]
COLLECTION = "evaluations"
ADAPTER: TypeAdapter[Evaluation] = TypeAdapter(Evaluation)
EVENTS: dict[str, type[EvaluationState]] = {
    "open": EvaluationOpened,
    "propose": EvaluationProposed,
    "recognise": EvaluationRecognised,
    "refuse": EvaluationRefused,
    "reopen": EvaluationReopened,
}  # attest and reevaluate change a draft: its next event carries their effect


def problem(exc: EvaluationRuleViolation) -> DomainError:
    """The problem+json a refused evaluation request answers (409 or 422, the field named)."""
    extra = {"problems": [{"path": p.path, "message": p.message} for p in exc.problems]}
    if exc.status == 409:
        return Conflict(str(exc), field=exc.field, extra=extra)
    return Invalid(str(exc), field=exc.field, extra=extra)


def to_document(evaluation: Evaluation) -> Document:
    """The stored form: the whole aggregate, and the fields queries filter on."""
    return {
        "_id": evaluation.id,
        "hamlet_id": evaluation.hamlet.id,
        "unit_path": list(evaluation.hamlet.unit_path),
        "year": evaluation.year,
        "status": evaluation.status,
        "version": evaluation.version,
        "state": ADAPTER.dump_python(evaluation, mode="json"),
    }


def from_document(doc: Document) -> Evaluation:
    """The aggregate of a stored evaluation."""
    return ADAPTER.validate_python(doc["state"])


def met_of(evaluation: Evaluation) -> bool | None:
    """False if a criterion is not met, None while one is undecided, True when all are met."""
    outcomes = {c.outcome for c in evaluation.results}
    if "not_met" in outcomes:
        return False
    return None if "pending" in outcomes else True


def state_event(evaluation: Evaluation, kind: type[EvaluationState]) -> EvaluationState:
    """The event of the evaluation's current state (no names: positions only)."""
    decision = evaluation.decision
    return kind(
        evaluation_id=evaluation.id,
        hamlet_id=evaluation.hamlet.id,
        unit_path=list(evaluation.hamlet.unit_path),
        evaluation_year=evaluation.year,
        ruleset=EvaluationRuleset(
            id=evaluation.ruleset_id,
            version=evaluation.ruleset_version,
            fingerprint=evaluation.ruleset_fingerprint,
        ),
        status=evaluation.status,
        criteria=[
            EvaluationCriterion(
                code=c.code,
                met=None if c.outcome == "pending" else c.outcome == "met",
                checks=[
                    CriterionCheck(check_id=j.check_id, kind=j.kind, outcome=j.result.outcome)
                    for j in c.checks
                ],
            )
            for c in evaluation.results
        ],
        met=met_of(evaluation),
        decision=(
            EvaluationDecision(
                document_number=decision.document_number,
                decided_on=decision.date,
                signer_position=decision.signer_position,
            )
            if decision is not None
            else None
        ),
        reason=decision.reason if decision is not None and evaluation.status == "refused" else None,
        version=evaluation.version,
    )


def _entries(ctx: Context, before: Evaluation | None, after: Evaluation) -> list[Document]:
    """Outbox entries for the history entries ``after`` added (those that are events)."""
    seen = len(before.history) if before is not None else 0
    entries = []
    for entry in after.history[seen:]:
        kind = EVENTS.get(entry.action)
        if kind is None:
            continue
        event = CloudEvent.wrap(state_event(after, kind), time=entry.at)
        entries.append(outbox_entry(event, ctx.topic(REPORTING_EVALUATIONS.name)))
    return entries


async def get(ctx: Context, principal: Principal, evaluation_id: str) -> Evaluation:
    """An evaluation the caller may read (404 outside the caller's scope)."""
    doc = await ctx.stores.db[COLLECTION].find_one({"_id": evaluation_id}, {OUTBOX: 0})
    if doc is None:
        raise NotFound(f"evaluation {evaluation_id} does not exist")
    authorize(principal, "evaluations:read", doc["unit_path"], what=f"evaluation {evaluation_id}")
    return from_document(doc)


async def _facts_for(
    ctx: Context, hamlet_id: str, year: int, *, model: ReadModel | None = None,
    tree: UnitTree | None = None,
) -> HamletFacts:  # fmt: skip
    """The hamlet's facts (422 unless it is an active hamlet); the caller's model and tree
    are reused when it already read them."""
    model = model or await ctx.stores.read_model()
    tree = tree or await UnitTree.load(model)
    unit = tree.get(hamlet_id)
    if unit.level != "hamlet":
        raise Invalid(f"hamlet_id: {hamlet_id} is a {unit.level}, not a hamlet", field="hamlet_id")
    if unit.status != "active":
        raise Invalid(f"hamlet_id: {hamlet_id} is {unit.status}", field="hamlet_id")
    return await hamlet_facts(model, tree, hamlet_id, year)


async def open_or_get(
    ctx: Context, principal: Principal, hamlet_id: str, year: int, *, now: datetime | None = None
) -> tuple[Evaluation, bool]:
    """The hamlet's evaluation for the year, opened as a draft if there is none; (it, created)."""
    now = now or datetime.now(UTC)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(hamlet_id)
    authorize(principal, "evaluations:propose", unit.path, what=f"unit {hamlet_id}")
    existing = await ctx.stores.db[COLLECTION].find_one(
        {"_id": domain.evaluation_id(hamlet_id, year)}, {OUTBOX: 0}
    )
    if existing is not None:
        return from_document(existing), False
    facts = await _facts_for(ctx, hamlet_id, year, model=model, tree=tree)
    ruleset = await rulesets.current(ctx.stores.db)
    try:
        opened = domain.open_evaluation(ruleset, facts, by=principal.subject, now=now)
    except EvaluationRuleViolation as exc:
        raise problem(exc) from exc
    entries = _entries(ctx, None, opened)
    try:
        await ctx.stores.db[COLLECTION].insert_one(with_outbox(to_document(opened), entries))
    except DuplicateKeyError:
        doc = await ctx.stores.db[COLLECTION].find_one({"_id": opened.id}, {OUTBOX: 0})
        assert doc is not None
        return from_document(doc), False  # another officer opened it meanwhile
    ctx.publish_new(COLLECTION, opened.id, entries)
    return opened, True


async def change(
    ctx: Context,
    principal: Principal,
    evaluation_id: str,
    *,
    permission: str,
    expected_version: int | None,
    apply: Callable[[Evaluation], Any],
) -> Evaluation:
    """Apply one domain transition to a stored evaluation and store it with its events.

    ``apply`` gets the evaluation (it may be async) and returns the changed one. The write
    is guarded by the version read, so a concurrent change makes this one a 412 (with
    ``If-Match``) or a 409 to retry.
    """
    collection = ctx.stores.db[COLLECTION]
    doc = await collection.find_one({"_id": evaluation_id}, {OUTBOX: 0})
    if doc is None:
        raise NotFound(f"evaluation {evaluation_id} does not exist")
    authorize(principal, permission, doc["unit_path"], what=f"evaluation {evaluation_id}")
    before = from_document(doc)
    if expected_version is not None and expected_version != before.version:
        raise PreconditionFailed(
            f"evaluation {evaluation_id} is at version {before.version}, not {expected_version}",
            field="If-Match",
        )
    try:
        outcome = apply(before)
        after: Evaluation = await outcome if inspect.isawaitable(outcome) else outcome
    except EvaluationRuleViolation as exc:
        raise problem(exc) from exc
    if after.version == before.version:
        return before
    entries = _entries(ctx, before, after)
    update = push_outbox({"$set": {k: v for k, v in to_document(after).items() if k != "_id"}},
                         entries)  # fmt: skip
    written = await collection.update_one({"_id": evaluation_id, "version": before.version}, update)
    if not written.modified_count:
        raise Conflict(
            f"evaluation {evaluation_id} changed meanwhile; read it again", field="version"
        )
    if entries:
        ctx.publish_pending(COLLECTION, evaluation_id)
    return after


async def reevaluate(
    ctx: Context, principal: Principal, evaluation_id: str, expected: int | None
) -> Evaluation:
    """Judge a draft again from the current read model and the rule set in force."""
    now = datetime.now(UTC)
    ruleset = await rulesets.current(ctx.stores.db)

    async def judge(evaluation: Evaluation) -> Evaluation:
        facts = await _facts_for(ctx, evaluation.hamlet.id, evaluation.year)
        return domain.reevaluate(evaluation, ruleset, facts, by=principal.subject, now=now)

    return await change(
        ctx, principal, evaluation_id, permission="evaluations:propose",
        expected_version=expected, apply=judge,
    )  # fmt: skip


async def attest(
    ctx: Context,
    principal: Principal,
    evaluation_id: str,
    attestation: Attestation,
    expected: int | None,
) -> Evaluation:
    """Record an officer's attestation of an attested check (its file must exist)."""
    now = datetime.now(UTC)
    if attestation.attached_file is not None:
        found = await ctx.stores.db["evaluation_files"].find_one(
            {"_id": attestation.attached_file, "evaluation_id": evaluation_id}, {"_id": 1}
        )
        if found is None:
            raise Invalid(
                "attached_file: no such file was uploaded to this evaluation",
                field="attached_file",
            )

    async def record(evaluation: Evaluation) -> Evaluation:
        ruleset = await rulesets.version(
            ctx.stores.db, evaluation.ruleset_id, evaluation.ruleset_version
        )
        return domain.attest(evaluation, ruleset, attestation, by=principal.subject, now=now)

    return await change(
        ctx, principal, evaluation_id, permission="evaluations:propose",
        expected_version=expected, apply=record,
    )  # fmt: skip


async def propose(
    ctx: Context, principal: Principal, evaluation_id: str, expected: int | None
) -> Evaluation:
    """The hamlet proposes itself for recognition."""
    now = datetime.now(UTC)
    return await change(
        ctx, principal, evaluation_id, permission="evaluations:propose", expected_version=expected,
        apply=lambda e: domain.propose(e, by=principal.subject, now=now),
    )  # fmt: skip


async def decide(
    ctx: Context,
    principal: Principal,
    evaluation_id: str,
    decision: Decision,
    *,
    recognise: bool,
    expected: int | None,
) -> Evaluation:
    """The commune recognises the hamlet, or refuses with a reason."""
    now = datetime.now(UTC)
    act = domain.recognise if recognise else domain.refuse
    return await change(
        ctx, principal, evaluation_id, permission="evaluations:decide", expected_version=expected,
        apply=lambda e: act(e, decision, by=principal.subject, now=now),
    )  # fmt: skip


async def reopen(
    ctx: Context, principal: Principal, evaluation_id: str, reason: str, expected: int | None
) -> Evaluation:
    """A proposed or refused evaluation goes back to draft."""
    now = datetime.now(UTC)
    return await change(
        ctx, principal, evaluation_id, permission="evaluations:decide", expected_version=expected,
        apply=lambda e: domain.reopen(e, reason=reason, by=principal.subject, now=now),
    )  # fmt: skip


async def rollup(
    ctx: Context, principal: Principal, unit_id: str, year: int
) -> tuple[domain.Rollup, UnitTree]:
    """Each active hamlet under the unit with its evaluation's state for the year."""
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize(principal, "evaluations:read", unit.path, what=f"unit {unit_id}")
    hamlets = [unit] if unit.level == "hamlet" else tree.hamlets(unit_id)
    ids = [domain.evaluation_id(h.id, year) for h in hamlets]
    found = ctx.stores.db[COLLECTION].find({"_id": {"$in": ids}}, {OUTBOX: 0})
    evaluations = [from_document(d) async for d in found]
    return domain.rollup(evaluations, [h.id for h in hamlets], year=year), tree


async def create_indexes(ctx: Context) -> None:
    """Roll-ups read evaluations by id; files by evaluation."""
    await ctx.stores.db["evaluation_files"].create_index("evaluation_id")
