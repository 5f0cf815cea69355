"""The yearly evaluation of a hamlet against the rule set, and the commune's roll-up (no I/O).

``evaluate`` judges every check of every criterion: a computed check by its computation over
the hamlet's facts, an attested check by the attestation an officer gave (valid against the
check's ``evidence`` requirements, or pending). A criterion is met when all its checks are;
``not_met`` wins over ``pending`` (attesting cannot make it met), ``pending`` over ``met``.

The ``Evaluation`` aggregate is one hamlet's evaluation for one year, judged under one rule
set version whose id, version and fingerprint it records. It moves::

    draft ──propose──▶ proposed ──recognise──▶ recognised   (final: never changes again)
      ▲                   │    └───refuse────▶ refused
      └──────reopen───────┴──────────────────────┘

- ``reevaluate`` (draft only) judges it again with fresh facts, under the rule set given: a
  newer version replaces the recorded one. A proposed or refused evaluation must be reopened
  first; a recognised one is refused with a conflict, so its results and version stay.
- ``attest`` (draft or proposed: the commune may attest while it reviews a proposal) records
  the attestation of one attested check, under the rule set version already recorded.
- ``propose`` needs no computed check pending (the data must decide); attested checks may
  still be pending, because the commune attests some of them itself, and not-met checks do
  not stop a proposal (the hamlet may dispute the data; the commune refuses with a reason).
- ``recognise`` needs every check met, and the commune's decision (document number, date,
  signer's position); ``refuse`` needs the decision and a reason.

Every accepted change appends one ``HistoryEntry`` and increments ``version``; the service
turns each new entry into exactly one event. A refused request raises
``EvaluationRuleViolation`` (422, or 409 for the evaluation's state) naming the field at
fault, and returns nothing: nothing is to be written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from binhyen.kit.text import has_controls, nfc
from binhyen.reporting.domain.computations import (
    COMPUTATIONS,
    CheckResult,
    Outcome,
    Span,
    Words,
    day_words,
)
from binhyen.reporting.domain.facts import Hamlet, HamletFacts, local_day
from binhyen.reporting.domain.periods import MAX_YEAR, MIN_YEAR, Period, display_date
from binhyen.reporting.domain.rules import AttestedCheck, Check, Problem, RuleSet, fingerprint

Status = Literal["draft", "proposed", "recognised", "refused"]
Action = Literal["open", "reevaluate", "attest", "propose", "recognise", "refuse", "reopen"]
CheckKind = Literal["computed", "attested"]

# action → (statuses it may start from, status it leads to; None: the status stays)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    "reevaluate": (frozenset({"draft"}), None),
    "attest": (frozenset({"draft", "proposed"}), None),
    "propose": (frozenset({"draft"}), "proposed"),
    "recognise": (frozenset({"proposed"}), "recognised"),
    "refuse": (frozenset({"proposed"}), "refused"),
    "reopen": (frozenset({"proposed", "refused"}), "draft"),
}
MAX_DOCUMENT_NUMBER = 100
MAX_SIGNER = 200
MAX_FILE_REF = 200
MAX_REASON = 2000


class EvaluationRuleViolation(Exception):
    """A request breaks a rule of the evaluation (422), or conflicts with its state (409).

    ``field`` is the path of the (first) field at fault, ``problems`` every one of them.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        status: int = 422,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.status = status
        self.problems = tuple(problems) or (Problem(field, message),)


class TransitionNotAllowed(EvaluationRuleViolation):
    """The action cannot be taken from the evaluation's current status (409)."""

    def __init__(self, action: Action, current: Status) -> None:
        self.action = action
        self.current = current
        self.allowed = allowed_actions(current)
        if current == "recognised":
            message = f"the evaluation is recognised and final; it cannot be changed ({action})"
        else:
            allowed = ", ".join(self.allowed) or "none"
            hint = " (reopen it first)" if "reopen" in self.allowed else ""
            message = f"cannot {action} an evaluation that is {current}{hint}; allowed: {allowed}"
        super().__init__(message, field="status", status=409)


def allowed_actions(status: Status) -> tuple[Action, ...]:
    """The actions an evaluation in ``status`` allows."""
    return tuple(a for a, (sources, _) in TRANSITIONS.items() if status in sources)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attestation:
    """An officer's attestation that an attested check is met, with its evidence.

    ``signer`` is the signer's position (chức vụ, e.g. "Bí thư chi bộ"), as the document
    shows it; ``attached_file`` is the id of the stored file (the service stores the file);
    ``statements`` the ids of the check's statements it covers (all of them). ``by`` and
    ``at`` are stamped by ``attest``.
    """

    check_id: str
    document_number: str | None = None
    date: dt.date | None = None
    signer: str | None = None
    attached_file: str | None = None
    statements: tuple[str, ...] = ()
    by: str | None = None  # user id of the officer
    at: dt.datetime | None = None


@dataclass(frozen=True)
class JudgedCheck:
    """One check of a criterion as judged: the computed or attested result."""

    check_id: str
    kind: CheckKind
    result: CheckResult
    attestation: Attestation | None = None  # the valid attestation of an attested check

    @property
    def outcome(self) -> Outcome:
        """met, not_met or pending."""
        return self.result.outcome


@dataclass(frozen=True)
class CriterionResult:
    """One criterion: met when all its checks are (``not_met`` first, then ``pending``)."""

    code: str
    outcome: Outcome
    checks: tuple[JudgedCheck, ...]


def evaluate(
    ruleset: RuleSet,
    facts: HamletFacts,
    attestations: Iterable[Attestation],
    now: dt.datetime,
) -> tuple[CriterionResult, ...]:
    """Judge every check of every criterion of ``ruleset`` for the hamlet's year, as of ``now``."""
    span = _span(ruleset, facts.year, now)
    given = {a.check_id: a for a in attestations}  # the last one given for a check counts
    return tuple(
        _criterion(
            criterion.code,
            [
                _judge(ruleset, check, facts, given.get(check.id), span, now)
                for check in criterion.checks
            ],
        )
        for criterion in ruleset.criteria
    )


def _judge(
    ruleset: RuleSet,
    check: Check,
    facts: HamletFacts,
    attestation: Attestation | None,
    span: Span,
    now: dt.datetime,
) -> JudgedCheck:
    if not isinstance(check, AttestedCheck):
        compute = COMPUTATIONS[check.computation].compute
        return JudgedCheck(check.id, "computed", compute(check.typed_parameters(), facts, span))
    return _judge_attested(ruleset, check, facts.year, attestation, now)


def _judge_attested(
    ruleset: RuleSet,
    check: AttestedCheck,
    year: int,
    attestation: Attestation | None,
    now: dt.datetime,
) -> JudgedCheck:
    threshold = _requirements(check)
    if attestation is None:
        measured = Words(vi="Chưa được xác nhận", en="Not attested yet")
        return JudgedCheck(check.id, "attested", CheckResult("pending", measured, threshold))
    try:
        valid = validate_attestation(ruleset, year, attestation, now=now)
    except EvaluationRuleViolation as refused:
        # A rule set version with stricter evidence: the attestation must be given again.
        fields = ", ".join(p.path for p in refused.problems)
        measured = Words(
            vi=f"Xác nhận không còn đủ theo bộ tiêu chí này ({fields}); xác nhận lại",
            en=f"The attestation no longer meets this rule set ({fields}); attest again",
        )
        return JudgedCheck(check.id, "attested", CheckResult("pending", measured, threshold))
    vi, en = ["Đã xác nhận"], ["Attested"]
    if valid.document_number:
        vi.append(f"văn bản số {valid.document_number}")
        en.append(f"document {valid.document_number}")
    if valid.date:
        day = day_words(valid.date)
        vi.append(f"ngày {day.vi}")
        en.append(f"of {day.en}")
    if valid.signer:
        vi.append(f"người ký: {valid.signer}")
        en.append(f"signed by: {valid.signer}")
    measured = Words(vi=", ".join(vi), en=", ".join(en))
    return JudgedCheck(check.id, "attested", CheckResult("met", measured, threshold), valid)


def _requirements(check: AttestedCheck) -> Words:
    needs = check.evidence
    vi, en = [], []
    if needs.document_number:
        vi.append("số văn bản")
        en.append("document number")
    if needs.date:
        months = needs.dated_in_months
        vi.append(f"ngày (tháng {months.first}–{months.last})" if months else "ngày")
        en.append(f"date (months {months.first}–{months.last})" if months else "date")
    if needs.signer:
        vi.append("người ký")
        en.append("signer")
    if needs.attached_file:
        vi.append("tệp đính kèm")
        en.append("attached file")
    if check.statements:
        vi.append(f"xác nhận {len(check.statements)} nội dung")
        en.append(f"covering {len(check.statements)} statements")
    return Words(
        vi="Xác nhận có " + (", ".join(vi) or "không cần giấy tờ"),
        en="Attestation with " + (", ".join(en) or "no document needed"),
    )


def _criterion(code: str, checks: Sequence[JudgedCheck]) -> CriterionResult:
    return CriterionResult(code, _combine(c.outcome for c in checks), tuple(checks))


def _combine(outcomes: Iterable[Outcome]) -> Outcome:
    seen = set(outcomes)
    if "not_met" in seen:
        return "not_met"
    return "pending" if "pending" in seen else "met"


# -- attestations ------------------------------------------------------------------------------


def validate_attestation(
    ruleset: RuleSet, year: int, attestation: Attestation, *, now: dt.datetime
) -> Attestation:
    """The attestation, normalised, if it meets its check's evidence requirements; else raise.

    Refused (422, each problem with its field): an unknown check, a computed check, a required
    field missing, a date outside the evaluation year, outside the months the check allows or
    in the future, a file reference or text with control characters, statements unknown,
    repeated or not all covered.
    """
    check = next(
        (
            c
            for criterion in ruleset.criteria
            for c in criterion.checks
            if c.id == attestation.check_id
        ),
        None,
    )
    attested = [c.id for cr in ruleset.criteria for c in cr.checks if isinstance(c, AttestedCheck)]
    if check is None:
        raise EvaluationRuleViolation(
            f"rule set {ruleset.id} version {ruleset.version} has no check with this id; "
            f"the attested checks are: {', '.join(attested)}",
            field="check_id",
        )
    if not isinstance(check, AttestedCheck):
        raise EvaluationRuleViolation(
            "this check is computed from the data and cannot be attested; "
            f"the attested checks are: {', '.join(attested)}",
            field="check_id",
        )
    problems: list[Problem] = []
    needs = check.evidence
    document_number = _text(
        attestation.document_number, "document_number", MAX_DOCUMENT_NUMBER, problems
    )
    signer = _text(attestation.signer, "signer", MAX_SIGNER, problems)
    attached_file = _file_ref(attestation.attached_file, problems)
    for name, value, required in (
        ("document_number", document_number, needs.document_number),
        ("date", attestation.date, needs.date),
        ("signer", signer, needs.signer),
        ("attached_file", attached_file, needs.attached_file),
    ):
        if required and value is None and not any(p.path == name for p in problems):
            problems.append(Problem(name, f"required for check {check.id}; add it"))
    if attestation.date is not None:
        problems.extend(_date_problems(ruleset, year, check, attestation.date, now))
    problems.extend(_statement_problems(check, attestation.statements))
    if problems:
        fields = ", ".join(p.path for p in problems)
        raise EvaluationRuleViolation(
            f"the attestation of {check.id} is refused; fix these fields and send again: {fields}",
            field=problems[0].path,
            problems=problems,
        )
    return replace(
        attestation,
        document_number=document_number,
        signer=signer,
        attached_file=attached_file,
        statements=tuple(s.id for s in check.statements),  # all covered, in the rule set's order
    )


def _date_problems(
    ruleset: RuleSet, year: int, check: AttestedCheck, day: dt.date, now: dt.datetime
) -> list[Problem]:
    first, last = ruleset.evaluation_year.period(year)
    if not first <= day <= last:
        return [
            Problem(
                "date",
                f"must lie in evaluation year {year} "
                f"({display_date(first)} – {display_date(last)})",
            )
        ]
    months = check.evidence.dated_in_months
    if months is not None and not (day.year == year and months.first <= day.month <= months.last):
        start = dt.date(year, months.first, 1)
        end = Period.month(year, months.last).last_day
        return [
            Problem(
                "date",
                f"check {check.id} must be dated from {display_date(start)} to {display_date(end)}",
            )
        ]
    if day > local_day(now):
        return [Problem("date", "is in the future")]
    return []


def _statement_problems(check: AttestedCheck, given: Sequence[str]) -> list[Problem]:
    known = [s.id for s in check.statements]
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, statement in enumerate(given):
        if statement not in known:
            expected = ", ".join(known) if known else "none"
            problems.append(
                Problem(
                    f"statements[{i}]", f"not a statement of {check.id}; its statements: {expected}"
                )
            )
        elif statement in seen:
            problems.append(Problem(f"statements[{i}]", "listed twice"))
        seen.add(statement)
    missing = [s for s in known if s not in seen]
    if missing:
        problems.append(
            Problem(
                "statements",
                f"the attestation must cover every statement of {check.id}; missing: "
                + ", ".join(missing),
            )
        )
    return problems


def _text(value: str | None, name: str, limit: int, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if has_controls(value):
        problems.append(Problem(name, "control characters are not allowed"))
        return None
    text = nfc(value)
    if len(text) > limit:
        problems.append(Problem(name, f"at most {limit} characters"))
    return text or None


def _file_ref(value: str | None, problems: list[Problem]) -> str | None:
    if value is None or not value.strip():
        return None
    if not value.isascii() or not value.isprintable() or " " in value or len(value) > MAX_FILE_REF:
        problems.append(
            Problem(
                "attached_file",
                f"a stored file's id: printable ASCII, no spaces, at most {MAX_FILE_REF}",
            )
        )
        return None
    return value


# -- the aggregate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The commune's decision on a proposal: the document that records it."""

    document_number: str
    date: dt.date
    signer_position: str  # the signer's position, e.g. "Chủ tịch UBND xã"
    reason: str | None = None  # required for a refusal


@dataclass(frozen=True)
class HistoryEntry:
    """One accepted change of an evaluation; the service emits one event per entry."""

    seq: int
    action: Action
    from_status: Status | None  # None when the evaluation is opened
    to_status: Status
    at: dt.datetime
    by: str  # user id
    ruleset_version: int
    check_id: str | None = None  # attest
    reason: str | None = None  # reopen, refuse
    decision: Decision | None = None  # recognise, refuse


@dataclass(frozen=True)
class Evaluation:
    """A hamlet's evaluation for one year, judged under one version of a rule set."""

    id: str  # '<hamlet id>:<year>'
    hamlet: Hamlet
    year: int
    ruleset_id: str
    ruleset_version: int
    ruleset_fingerprint: str
    first_day: dt.date  # the evaluation year's first and last local day under that rule set
    last_day: dt.date
    status: Status
    results: tuple[CriterionResult, ...]
    evaluated_at: dt.datetime  # the "now" the results were judged at
    attestations: tuple[Attestation, ...] = ()  # at most one per check
    decision: Decision | None = None  # of a recognised or refused evaluation
    history: tuple[HistoryEntry, ...] = ()
    version: int = 1

    @property
    def outcome(self) -> Outcome:
        """met when every criterion is, else not_met or pending (as for a criterion)."""
        return _combine(c.outcome for c in self.results)

    @property
    def checks(self) -> tuple[JudgedCheck, ...]:
        """Every judged check, criterion by criterion."""
        return tuple(check for criterion in self.results for check in criterion.checks)


def evaluation_id(hamlet_id: str, year: int) -> str:
    """One evaluation per hamlet and year."""
    return f"{hamlet_id}:{year}"


def open_evaluation(
    ruleset: RuleSet,
    facts: HamletFacts,
    *,
    by: str,
    now: dt.datetime,
) -> Evaluation:
    """Start the hamlet's evaluation for the facts' year, judged now, as a draft."""
    results = evaluate(ruleset, facts, (), now)
    first_day, last_day = ruleset.evaluation_year.period(facts.year)
    evaluation = Evaluation(
        id=evaluation_id(facts.hamlet.id, facts.year),
        hamlet=facts.hamlet,
        year=facts.year,
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
        ruleset_fingerprint=fingerprint(ruleset),
        first_day=first_day,
        last_day=last_day,
        status="draft",
        results=results,
        evaluated_at=now,
        version=0,
    )
    return _record(evaluation, "open", "draft", by=by, now=now)


def reevaluate(
    evaluation: Evaluation, ruleset: RuleSet, facts: HamletFacts, *, by: str, now: dt.datetime
) -> Evaluation:
    """Judge a draft again with fresh facts, under ``ruleset`` (which may be a newer version)."""
    _allow(evaluation, "reevaluate")
    if (facts.hamlet.id, facts.year) != (evaluation.hamlet.id, evaluation.year):
        raise ValueError("the facts are of another hamlet or year than the evaluation")
    results = evaluate(ruleset, facts, evaluation.attestations, now)
    first_day, last_day = ruleset.evaluation_year.period(facts.year)
    changed = replace(
        evaluation,
        hamlet=facts.hamlet,
        first_day=first_day,
        last_day=last_day,
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
        ruleset_fingerprint=fingerprint(ruleset),
        results=results,
        evaluated_at=now,
    )
    return _record(changed, "reevaluate", "draft", by=by, now=now)


def attest(
    evaluation: Evaluation,
    ruleset: RuleSet,
    attestation: Attestation,
    *,
    by: str,
    now: dt.datetime,
) -> Evaluation:
    """Record the attestation of one attested check (the rule set must be the one recorded)."""
    _allow(evaluation, "attest")
    if fingerprint(ruleset) != evaluation.ruleset_fingerprint:
        hint = (
            "re-evaluate it under the new version first"
            if evaluation.status == "draft"
            else "reopen it and re-evaluate it under the new version first"
        )
        raise EvaluationRuleViolation(
            f"the evaluation is judged under {evaluation.ruleset_id} version "
            f"{evaluation.ruleset_version}, not this rule set; attest under that version, "
            f"or {hint}",
            field="ruleset",
            status=409,
        )
    valid = validate_attestation(ruleset, evaluation.year, attestation, now=now)
    valid = replace(valid, by=by, at=now)
    check = next(c for cr in ruleset.criteria for c in cr.checks if c.id == valid.check_id)
    assert isinstance(check, AttestedCheck)  # validate_attestation refuses any other
    judged = _judge_attested(ruleset, check, evaluation.year, valid, now)
    results = tuple(
        _criterion(
            criterion.code,
            [judged if c.check_id == judged.check_id else c for c in criterion.checks],
        )
        for criterion in evaluation.results
    )
    attestations = tuple(a for a in evaluation.attestations if a.check_id != valid.check_id)
    changed = replace(evaluation, results=results, attestations=(*attestations, valid))
    return _record(changed, "attest", evaluation.status, by=by, now=now, check_id=valid.check_id)


def propose(evaluation: Evaluation, *, by: str, now: dt.datetime) -> Evaluation:
    """The hamlet proposes its draft for recognition; no computed check may be pending."""
    _allow(evaluation, "propose")
    pending = [c for c in evaluation.checks if c.kind == "computed" and c.outcome == "pending"]
    if pending:
        problems = [
            Problem(f"results.{c.check_id}", f"pending: {c.result.measured.en}") for c in pending
        ]
        raise EvaluationRuleViolation(
            "the data cannot decide these checks yet: "
            + ", ".join(c.check_id for c in pending)
            + "; complete the data and re-evaluate before proposing",
            field=problems[0].path,
            status=409,
            problems=problems,
        )
    return _record(evaluation, "propose", "proposed", by=by, now=now)


def recognise(
    evaluation: Evaluation, decision: Decision, *, by: str, now: dt.datetime
) -> Evaluation:
    """The commune recognises a proposed evaluation in which every check is met."""
    _allow(evaluation, "recognise")
    unmet = [c for c in evaluation.checks if c.outcome != "met"]
    if unmet:
        problems = [Problem(f"results.{c.check_id}", c.outcome) for c in unmet]
        raise EvaluationRuleViolation(
            "only a hamlet meeting every check can be recognised; not met or pending: "
            + ", ".join(c.check_id for c in unmet)
            + " (refuse it with a reason, or attest the pending checks first)",
            field=problems[0].path,
            status=409,
            problems=problems,
        )
    valid = _valid_decision(evaluation, decision, now, needs_reason=False)
    changed = replace(evaluation, decision=valid)
    return _record(changed, "recognise", "recognised", by=by, now=now, decision=valid)


def refuse(evaluation: Evaluation, decision: Decision, *, by: str, now: dt.datetime) -> Evaluation:
    """The commune refuses a proposed evaluation, with its decision and the reason."""
    _allow(evaluation, "refuse")
    valid = _valid_decision(evaluation, decision, now, needs_reason=True)
    changed = replace(evaluation, decision=valid)
    return _record(
        changed, "refuse", "refused", by=by, now=now, decision=valid, reason=valid.reason
    )


def reopen(evaluation: Evaluation, *, reason: str, by: str, now: dt.datetime) -> Evaluation:
    """Take a proposed or refused evaluation back to draft (to correct it), saying why."""
    _allow(evaluation, "reopen")
    problems: list[Problem] = []
    why = _text(reason, "reason", MAX_REASON, problems)
    if why is None and not problems:
        problems.append(Problem("reason", "say why the evaluation is reopened"))
    if problems:
        raise EvaluationRuleViolation(problems[0].message, field="reason", problems=problems)
    changed = replace(evaluation, decision=None)
    return _record(changed, "reopen", "draft", by=by, now=now, reason=why)


def _allow(evaluation: Evaluation, action: Action) -> None:
    sources, _ = TRANSITIONS[action]
    if evaluation.status not in sources:
        raise TransitionNotAllowed(action, evaluation.status)


def _record(
    evaluation: Evaluation,
    action: Action,
    to_status: Status,
    *,
    by: str,
    now: dt.datetime,
    check_id: str | None = None,
    reason: str | None = None,
    decision: Decision | None = None,
) -> Evaluation:
    entry = HistoryEntry(
        seq=len(evaluation.history) + 1,
        action=action,
        from_status=None if action == "open" else evaluation.status,
        to_status=to_status,
        at=now,
        by=by,
        ruleset_version=evaluation.ruleset_version,
        check_id=check_id,
        reason=reason,
        decision=decision,
    )
    return replace(
        evaluation,
        status=to_status,
        history=(*evaluation.history, entry),
        version=evaluation.version + 1,
    )


def _valid_decision(
    evaluation: Evaluation, decision: Decision, now: dt.datetime, *, needs_reason: bool
) -> Decision:
    problems: list[Problem] = []
    number = _text(decision.document_number, "document_number", MAX_DOCUMENT_NUMBER, problems)
    position = _text(decision.signer_position, "signer_position", MAX_SIGNER, problems)
    reason = _text(decision.reason, "reason", MAX_REASON, problems)
    if number is None and not any(p.path == "document_number" for p in problems):
        problems.append(Problem("document_number", "give the number of the decision"))
    if position is None and not any(p.path == "signer_position" for p in problems):
        problems.append(Problem("signer_position", "give the signer's position"))
    if needs_reason and reason is None and not any(p.path == "reason" for p in problems):
        problems.append(Problem("reason", "say why the hamlet is not recognised"))
    first = evaluation.first_day
    if decision.date < first:
        problems.append(
            Problem(
                "date", f"a decision on year {evaluation.year} is dated from {display_date(first)}"
            )
        )
    elif decision.date > local_day(now):
        problems.append(Problem("date", "is in the future"))
    if problems:
        fields = ", ".join(p.path for p in problems)
        raise EvaluationRuleViolation(
            f"the decision is refused; fix these fields and send again: {fields}",
            field=problems[0].path,
            problems=problems,
        )
    assert number is not None and position is not None
    return Decision(number, decision.date, position, reason)


def _span(ruleset: RuleSet, year: int, now: dt.datetime) -> Span:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise EvaluationRuleViolation(f"the year must lie in {MIN_YEAR}–{MAX_YEAR}", field="year")
    first, last = ruleset.evaluation_year.period(year)
    period = Period.custom(first, last)
    if now < period.start:
        raise EvaluationRuleViolation(
            f"evaluation year {year} starts on {display_date(first)}; it cannot be judged before",
            field="year",
        )
    until = ruleset.effective_until
    if ruleset.effective_from > last or (until is not None and until < first):
        raise EvaluationRuleViolation(
            f"rule set {ruleset.id} version {ruleset.version} is not in effect in evaluation "
            f"year {year}; use the rule set in effect then",
            field="ruleset",
            status=409,
        )
    return Span.of(period, now)


# -- the commune's roll-up ---------------------------------------------------------------------

RollupState = Literal["not_started", "draft", "proposed", "recognised", "refused"]
ROLLUP_STATES: tuple[RollupState, ...] = (
    "not_started",
    "draft",
    "proposed",
    "recognised",
    "refused",
)
OUTCOMES: tuple[Outcome, ...] = ("met", "not_met", "pending")


@dataclass(frozen=True)
class HamletState:
    """One hamlet's line in the commune's roll-up."""

    hamlet_id: str
    state: RollupState
    outcome: Outcome | None  # None when not started
    evaluation_id: str | None = None
    ruleset_version: int | None = None
    criteria: tuple[tuple[str, Outcome], ...] = ()  # (criterion code, outcome)


@dataclass(frozen=True)
class Rollup:
    """Every hamlet's state for one evaluation year, with counts."""

    year: int
    hamlets: tuple[HamletState, ...]
    by_state: dict[RollupState, int]  # every state, zeros included
    by_outcome: dict[Outcome, int]  # evaluations started, by outcome, zeros included


def rollup(evaluations: Iterable[Evaluation], hamlet_ids: Iterable[str], *, year: int) -> Rollup:
    """Each hamlet's evaluation state for ``year``, in the order given (others are ignored)."""
    found = {e.hamlet.id: e for e in evaluations if e.year == year}
    rows: list[HamletState] = []
    for hamlet_id in dict.fromkeys(hamlet_ids):
        evaluation = found.get(hamlet_id)
        if evaluation is None:
            rows.append(HamletState(hamlet_id, "not_started", None))
            continue
        rows.append(
            HamletState(
                hamlet_id,
                evaluation.status,
                evaluation.outcome,
                evaluation.id,
                evaluation.ruleset_version,
                tuple((c.code, c.outcome) for c in evaluation.results),
            )
        )
    by_state: dict[RollupState, int] = dict.fromkeys(ROLLUP_STATES, 0)
    by_outcome: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        by_state[row.state] += 1
        if row.outcome is not None:
            by_outcome[row.outcome] += 1
    return Rollup(year, tuple(rows), by_state, by_outcome)
