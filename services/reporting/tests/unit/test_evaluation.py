"""The yearly evaluation: judging the shipped rule set, attestations, the lifecycle, pinning a
rule set version, and the commune's roll-up."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from binhyen.reporting.domain.evaluation import (
    Attestation,
    Decision,
    Evaluation,
    EvaluationRuleViolation,
    TransitionNotAllowed,
    allowed_actions,
    attest,
    evaluate,
    open_evaluation,
    propose,
    recognise,
    reevaluate,
    refuse,
    reopen,
    rollup,
    validate_attestation,
)
from binhyen.reporting.domain.facts import (
    Activity,
    DaySpan,
    Enrolment,
    Hamlet,
    HamletFacts,
    Incident,
    Membership,
    OpenSpell,
    Team,
)
from binhyen.reporting.domain.rules import RuleSet, fingerprint, validate_ruleset
from binhyen.reporting.rulesets import SHIPPED, shipped_ruleset

YEAR = 2026
V1 = shipped_ruleset()
NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # after the evaluation year 2026 ended
LATER = NOW + timedelta(days=1)
STATEMENTS = (
    "anti_party_activity",
    "sabotage",
    "illegal_religion",
    "exploiting_beliefs_or_disputes",
    "separatism",
    "prolonged_disputes",
    "incitement",
)


def ruleset(version: int, change: Any) -> RuleSet:
    """The shipped rule set with ``change(data)`` applied, as ``version``."""
    text = files("binhyen.reporting.rulesets").joinpath(SHIPPED).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["version"] = version
    change(data)
    return validate_ruleset(data)


def check_data(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        k for c in data["criteria"] for k in c["checks"] if k["id"] == check_id
    )
    return found


def stricter(data: dict[str, Any]) -> None:
    """Version 2: disputes are prolonged after 30 days; the C3 attestation needs its number."""
    check_data(data, "c3_no_prolonged_disputes")["parameters"]["max_open_days"] = 30
    check_data(data, "c3_no_listed_events")["evidence"]["document_number"] = True


V2 = ruleset(2, stricter)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def incident(incident_id: str, when: datetime, **kwargs: Any) -> Incident:
    fields: dict[str, Any] = {
        "category": "theft",
        "group": "crime",
        "severity": "low",
        "status": "resolved",
        "occurred_at": when,
        "reported_at": when,
    }
    return Incident(id=incident_id, **(fields | kwargs))


def team(team_id: str, kind: str, activity: str) -> Team:
    return Team(
        id=team_id,
        kind=kind,  # type: ignore[arg-type]
        active=(DaySpan(date(2021, 3, 1)),),
        members=tuple(Membership(f"{team_id}-p{n}", DaySpan(date(2023, 1, 1))) for n in range(3)),
        activities=(Activity(activity, f"{team_id}-a1", at(date(2026, 5, 1))),),  # type: ignore[arg-type]
    )


def good_facts(hamlet_id: str = "h1", **changes: Any) -> HamletFacts:
    """A hamlet meeting every computed check of the shipped rule set in 2026."""
    households = frozenset(f"{hamlet_id}-hh{n}" for n in range(4))
    facts = HamletFacts(
        hamlet=Hamlet(hamlet_id, ("vn", "p1", "c1", hamlet_id)),
        year=YEAR,
        enrolments=(
            Enrolment(
                f"{hamlet_id}:{YEAR}", YEAR, date(2026, 2, 10), date(2026, 1, 20), "registered"
            ),
        ),
        active_households=households,
        pledged_households=households,
        incidents=(
            incident("last1", at(date(2025, 2, 1))),
            incident("last2", at(date(2025, 6, 1))),
            incident("now1", at(date(2026, 3, 1))),
            # A dispute open 60 days: not prolonged under version 1 (90), prolonged under 2 (30).
            incident(
                "dispute1",
                at(date(2026, 4, 1)),
                group="dispute",
                category="land",
                open_spells=(OpenSpell(at(date(2026, 4, 1)), at(date(2026, 5, 31))),),
            ),
        ),
        teams=(
            team("security", "people_security", "shift"),
            team("mediation", "mediation", "mediation_session"),
        ),
    )
    return replace(facts, **changes)


ATTESTATIONS = (
    Attestation(
        "c1_party_cell_resolution",
        document_number="01-NQ/CB",
        date=date(2026, 1, 20),
        signer="Bí thư chi bộ",
        attached_file="file-0001",
    ),
    Attestation(
        "c2_law_implemented",
        document_number="12/BC-BCĐ",
        date=date(2026, 10, 20),
        signer="Trưởng ban công tác Mặt trận",
        attached_file="file-0002",
    ),
    Attestation(
        "c3_no_listed_events", date=date(2026, 10, 25), signer="Trưởng thôn", statements=STATEMENTS
    ),
    Attestation(
        "c5_self_management_models",
        date=date(2026, 10, 25),
        signer="Trưởng thôn",
        attached_file="file-0003",
    ),
)
DECISION = Decision("45/QĐ-UBND", date(2026, 11, 9), "Chủ tịch UBND xã")


def outcomes(evaluation: Evaluation) -> dict[str, str]:
    return {c.check_id: c.outcome for c in evaluation.checks}


def attested(evaluation: Evaluation, ruleset: RuleSet = V1) -> Evaluation:
    for attestation in ATTESTATIONS:
        evaluation = attest(evaluation, ruleset, attestation, by="officer-1", now=NOW)
    return evaluation


def recognised() -> Evaluation:
    draft = attested(open_evaluation(V1, good_facts(), by="officer-1", now=NOW))
    proposed = propose(draft, by="officer-1", now=NOW)
    return recognise(proposed, DECISION, by="commune-1", now=LATER)


def refused_with(call: Any, status: int) -> EvaluationRuleViolation:
    with pytest.raises(EvaluationRuleViolation) as refused:
        call()
    assert refused.value.status == status
    return refused.value


# -- judging -----------------------------------------------------------------------------------


def test_a_good_hamlet_meets_every_computed_check_and_waits_for_the_attested_ones() -> None:
    results = evaluate(V1, good_facts(), (), NOW)

    assert [r.code for r in results] == ["C1", "C2", "C3", "C4", "C5"]
    judged = {c.check_id: (c.kind, c.outcome) for r in results for c in r.checks}
    assert judged == {
        "c1_party_cell_resolution": ("attested", "pending"),
        "c1_enrolment_registered": ("computed", "met"),
        "c1_households_registered": ("computed", "met"),
        "c2_law_implemented": ("attested", "pending"),
        "c3_no_listed_events": ("attested", "pending"),
        "c3_no_prolonged_disputes": ("computed", "met"),
        "c4_fewer_incidents": ("computed", "met"),
        "c4_no_serious_crime": ("computed", "met"),
        "c4_no_drug_hotspot": ("computed", "met"),
        "c4_no_gambling_hotspot": ("computed", "met"),
        "c5_security_team_active": ("computed", "met"),
        "c5_mediation_team_active": ("computed", "met"),
        "c5_self_management_models": ("attested", "pending"),
    }
    assert [r.outcome for r in results] == ["pending", "pending", "pending", "met", "pending"]


def test_with_valid_attestations_every_criterion_is_met() -> None:
    results = evaluate(V1, good_facts(), ATTESTATIONS, NOW)
    assert [r.outcome for r in results] == ["met"] * 5
    c1 = results[0].checks[0]
    assert c1.attestation is not None and c1.attestation.document_number == "01-NQ/CB"
    assert c1.result.measured.vi == (
        "Đã xác nhận, văn bản số 01-NQ/CB, ngày 20/01/2026, người ký: Bí thư chi bộ"
    )


def test_a_check_not_met_outweighs_a_pending_one_in_its_criterion() -> None:
    facts = good_facts(pledged_households=frozenset({"h1-hh0"}))
    c1 = evaluate(V1, facts, (), NOW)[0]
    assert [c.outcome for c in c1.checks] == ["pending", "met", "not_met"]
    assert c1.outcome == "not_met"
    evidence = c1.checks[2].result.evidence[0]
    assert (evidence.kind, evidence.count, evidence.ids) == (
        "households_without_pledge",
        3,
        ("h1-hh1", "h1-hh2", "h1-hh3"),
    )


def test_a_serious_crime_is_named_in_the_evidence() -> None:
    facts = good_facts()
    facts = replace(
        facts,
        incidents=(
            *facts.incidents,
            incident("robbery", at(date(2026, 7, 1)), severity="critical"),
        ),
    )
    c4 = evaluate(V1, facts, ATTESTATIONS, NOW)[3]
    judged = {c.check_id: c for c in c4.checks}
    assert judged["c4_no_serious_crime"].outcome == "not_met"
    assert judged["c4_no_serious_crime"].result.evidence[0].ids == ("robbery",)
    assert judged["c4_fewer_incidents"].outcome == "not_met"  # 2 against 2: not lower
    assert c4.outcome == "not_met"


def test_a_year_that_has_not_started_cannot_be_judged() -> None:
    refused = refused_with(lambda: evaluate(V1, good_facts(year=2028), (), NOW), 422)
    assert refused.field == "year"
    assert "01/11/2027" in str(refused)


@pytest.mark.parametrize(
    "effective",
    [
        {"effective_until": "2025-10-31"},  # ended the day before the year began
        {"effective_from": "2026-11-01"},  # begins the day after the year ended
    ],
)
def test_a_rule_set_not_in_effect_in_the_year_is_refused(effective: dict[str, str]) -> None:
    other = ruleset(3, lambda d: d.update(effective))
    refused = refused_with(lambda: evaluate(other, good_facts(), (), NOW), 409)
    assert refused.field == "ruleset"
    edge = {
        k: str(date.fromisoformat(v) + timedelta(days=1 if "until" in k else -1))
        for k, v in effective.items()
    }
    assert evaluate(ruleset(3, lambda d: d.update(edge)), good_facts(), (), NOW)


# -- attestations ------------------------------------------------------------------------------


def refused_attestation(attestation: Attestation, now: datetime = NOW) -> list[tuple[str, str]]:
    refused = refused_with(lambda: validate_attestation(V1, YEAR, attestation, now=now), 422)
    return [(p.path, p.message) for p in refused.problems]


def fields(attestation: Attestation, now: datetime = NOW) -> list[str]:
    return [path for path, _ in refused_attestation(attestation, now)]


PARTY = ATTESTATIONS[0]


@pytest.mark.parametrize(
    ("attestation", "expected"),
    [
        (replace(PARTY, document_number=None), ["document_number"]),
        (replace(PARTY, document_number="   "), ["document_number"]),
        (replace(PARTY, signer=None, attached_file=None), ["signer", "attached_file"]),
        (replace(PARTY, date=None), ["date"]),
        (replace(PARTY, date=date(2026, 4, 1)), ["date"]),  # after the first quarter
        (replace(PARTY, date=date(2025, 12, 31)), ["date"]),  # in the year, not in Q1 of 2026
        (replace(PARTY, date=date(2025, 10, 31)), ["date"]),  # before the evaluation year
        (replace(PARTY, document_number="01\x1b[2J"), ["document_number"]),
        (replace(PARTY, attached_file="my file.pdf"), ["attached_file"]),
        (replace(PARTY, document_number="x" * 101), ["document_number"]),
        (replace(PARTY, statements=("sabotage",)), ["statements[0]"]),
        (replace(ATTESTATIONS[2], statements=STATEMENTS[1:]), ["statements"]),
        (
            replace(ATTESTATIONS[2], statements=(*STATEMENTS, "sabotage", "made_up")),
            ["statements[7]", "statements[8]"],
        ),
    ],
)
def test_an_attestation_short_of_its_evidence_is_refused_naming_the_field(
    attestation: Attestation, expected: list[str]
) -> None:
    assert fields(attestation) == expected


def test_an_attestation_dated_in_the_future_is_refused() -> None:
    today = datetime(2026, 2, 1, 3, tzinfo=UTC)
    assert refused_attestation(replace(PARTY, date=date(2026, 2, 2)), today) == [
        ("date", "is in the future")
    ]


def test_the_refusal_says_which_months_the_date_must_lie_in() -> None:
    assert refused_attestation(replace(PARTY, date=date(2026, 4, 1))) == [
        ("date", "check c1_party_cell_resolution must be dated from 01/01/2026 to 31/03/2026")
    ]


@pytest.mark.parametrize(
    ("check_id", "message"),
    [
        ("c9_unknown", "has no check with this id"),
        ("c1_enrolment_registered", "computed from the data and cannot be attested"),
    ],
)
def test_only_the_attested_checks_of_the_rule_set_take_an_attestation(
    check_id: str, message: str
) -> None:
    refused = refused_with(
        lambda: validate_attestation(V1, YEAR, replace(PARTY, check_id=check_id), now=NOW), 422
    )
    assert refused.field == "check_id"
    assert message in str(refused)
    assert "c1_party_cell_resolution, c2_law_implemented" in str(refused)


def test_an_attestation_is_stored_normalised() -> None:
    decomposed = "Bi\u0301 thư  chi bộ"  # a combining accent and a double space
    valid = validate_attestation(V1, YEAR, replace(PARTY, signer=decomposed), now=NOW)
    assert valid.signer == "Bí thư chi bộ"


def test_a_refused_attestation_leaves_the_evaluation_as_it_was() -> None:
    draft = open_evaluation(V1, good_facts(), by="officer-1", now=NOW)
    refused_with(
        lambda: attest(draft, V1, replace(PARTY, document_number=None), by="o", now=NOW), 422
    )
    assert (draft.version, draft.attestations, len(draft.history)) == (1, (), 1)


def test_attesting_replaces_the_earlier_attestation_of_the_same_check() -> None:
    draft = open_evaluation(V1, good_facts(), by="officer-1", now=NOW)
    once = attest(draft, V1, PARTY, by="officer-1", now=NOW)
    twice = attest(once, V1, replace(PARTY, document_number="02-NQ/CB"), by="officer-2", now=LATER)

    assert [(a.check_id, a.document_number, a.by) for a in twice.attestations] == [
        ("c1_party_cell_resolution", "02-NQ/CB", "officer-2")
    ]
    assert outcomes(twice)["c1_party_cell_resolution"] == "met"
    assert [(e.action, e.check_id) for e in twice.history[1:]] == [
        ("attest", "c1_party_cell_resolution"),
        ("attest", "c1_party_cell_resolution"),
    ]


# -- the lifecycle -----------------------------------------------------------------------------


def test_a_hamlet_is_opened_proposed_and_recognised_with_one_history_entry_per_change() -> None:
    evaluation = recognised()

    assert evaluation.status == "recognised"
    assert evaluation.outcome == "met"
    assert evaluation.decision == DECISION
    assert evaluation.version == len(evaluation.history) == 7
    assert [(e.seq, e.action, e.from_status, e.to_status) for e in evaluation.history] == [
        (1, "open", None, "draft"),
        (2, "attest", "draft", "draft"),
        (3, "attest", "draft", "draft"),
        (4, "attest", "draft", "draft"),
        (5, "attest", "draft", "draft"),
        (6, "propose", "draft", "proposed"),
        (7, "recognise", "proposed", "recognised"),
    ]
    assert evaluation.history[-1].decision == DECISION
    assert evaluation.history[-1].by == "commune-1"
    assert evaluation.id == "h1:2026"
    assert (evaluation.first_day, evaluation.last_day) == (date(2025, 11, 1), date(2026, 10, 31))


def test_a_recognised_evaluation_is_final() -> None:
    evaluation = recognised()
    assert allowed_actions("recognised") == ()
    for call in (
        lambda: reevaluate(evaluation, V1, good_facts(), by="o", now=LATER),
        lambda: attest(evaluation, V1, PARTY, by="o", now=LATER),
        lambda: reopen(evaluation, reason="typo", by="o", now=LATER),
        lambda: refuse(evaluation, replace(DECISION, reason="no"), by="o", now=LATER),
        lambda: propose(evaluation, by="o", now=LATER),
    ):
        refused = refused_with(call, 409)
        assert isinstance(refused, TransitionNotAllowed)
        assert refused.field == "status"
        assert "recognised and final" in str(refused)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "recognise"),
        ("draft", "refuse"),
        ("draft", "reopen"),
        ("proposed", "propose"),
        ("proposed", "reevaluate"),
        ("refused", "propose"),
        ("refused", "attest"),
        ("refused", "reevaluate"),
    ],
)
def test_an_action_from_the_wrong_status_is_a_conflict(status: str, action: str) -> None:
    draft = attested(open_evaluation(V1, good_facts(), by="o", now=NOW))
    start = {
        "draft": draft,
        "proposed": propose(draft, by="o", now=NOW),
        "refused": refuse(
            propose(draft, by="o", now=NOW), replace(DECISION, reason="no"), by="c", now=NOW
        ),
    }[status]
    calls = {
        "recognise": lambda: recognise(start, DECISION, by="c", now=NOW),
        "refuse": lambda: refuse(start, replace(DECISION, reason="no"), by="c", now=NOW),
        "reopen": lambda: reopen(start, reason="fix", by="c", now=NOW),
        "propose": lambda: propose(start, by="o", now=NOW),
        "reevaluate": lambda: reevaluate(start, V1, good_facts(), by="o", now=NOW),
        "attest": lambda: attest(start, V1, PARTY, by="o", now=NOW),
    }
    refused = refused_with(calls[action], 409)
    assert isinstance(refused, TransitionNotAllowed)
    assert (refused.current, refused.action) == (status, action)
    if status != "draft":
        assert "reopen it first" in str(refused)


def test_a_proposal_needs_every_computed_check_decided_but_not_every_attestation() -> None:
    no_households = open_evaluation(V1, good_facts(active_households=frozenset()), by="o", now=NOW)
    refused = refused_with(lambda: propose(no_households, by="o", now=NOW), 409)
    assert refused.field == "results.c1_households_registered"

    unattested = open_evaluation(V1, good_facts(), by="o", now=NOW)
    assert propose(unattested, by="o", now=NOW).status == "proposed"


def test_the_commune_attests_while_reviewing_and_recognises_only_when_every_check_is_met() -> None:
    proposed = propose(open_evaluation(V1, good_facts(), by="o", now=NOW), by="o", now=NOW)
    refused = refused_with(lambda: recognise(proposed, DECISION, by="c", now=LATER), 409)
    assert [p.path for p in refused.problems] == [
        "results.c1_party_cell_resolution",
        "results.c2_law_implemented",
        "results.c3_no_listed_events",
        "results.c5_self_management_models",
    ]

    reviewed = attested(proposed)
    assert reviewed.status == "proposed"
    assert recognise(reviewed, DECISION, by="c", now=LATER).status == "recognised"


def test_a_hamlet_not_meeting_a_check_can_be_proposed_and_is_refused_with_a_reason() -> None:
    facts = good_facts(pledged_households=frozenset())
    proposed = propose(attested(open_evaluation(V1, facts, by="o", now=NOW)), by="o", now=NOW)
    assert proposed.outcome == "not_met"
    refused_with(lambda: recognise(proposed, DECISION, by="c", now=LATER), 409)

    missing = refused_with(lambda: refuse(proposed, DECISION, by="c", now=LATER), 422)
    assert missing.field == "reason"

    decision = replace(DECISION, reason="Chưa đủ 100% hộ đăng ký")
    done = refuse(proposed, decision, by="c", now=LATER)
    assert (done.status, done.decision, done.history[-1].reason) == (
        "refused",
        decision,
        "Chưa đủ 100% hộ đăng ký",
    )

    back = reopen(done, reason="Bổ sung bản cam kết", by="o", now=LATER)
    assert (back.status, back.decision) == ("draft", None)
    assert back.history[-1].action == "reopen"


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (replace(DECISION, document_number=""), "document_number"),
        (replace(DECISION, signer_position="\x00"), "signer_position"),
        (replace(DECISION, date=date(2026, 11, 11)), "date"),  # after today (10/11/2026)
        (replace(DECISION, date=date(2025, 10, 31)), "date"),  # before the evaluation year
    ],
)
def test_a_decision_without_its_document_is_refused(decision: Decision, field: str) -> None:
    proposed = propose(
        attested(open_evaluation(V1, good_facts(), by="o", now=NOW)), by="o", now=NOW
    )
    refused = refused_with(lambda: recognise(proposed, decision, by="c", now=NOW), 422)
    assert refused.field == field


def test_reopening_needs_a_reason() -> None:
    proposed = propose(open_evaluation(V1, good_facts(), by="o", now=NOW), by="o", now=NOW)
    assert (
        refused_with(lambda: reopen(proposed, reason=" ", by="o", now=NOW), 422).field == "reason"
    )


# -- rule set versions -------------------------------------------------------------------------


def test_a_changed_threshold_is_a_new_version_with_another_fingerprint() -> None:
    assert (V2.id, V2.version) == (V1.id, 2)
    assert fingerprint(V2) != fingerprint(V1)


def test_a_recognised_evaluation_keeps_its_version_and_results_when_version_2_is_loaded() -> None:
    evaluation = recognised()
    before = copy.deepcopy(evaluation)

    refused = refused_with(lambda: reevaluate(evaluation, V2, good_facts(), by="o", now=LATER), 409)

    assert refused.field == "status"
    assert evaluation == before
    assert (evaluation.ruleset_version, evaluation.ruleset_fingerprint) == (1, fingerprint(V1))
    assert outcomes(evaluation)["c3_no_prolonged_disputes"] == "met"  # 60 days, under 90


def test_a_draft_reevaluated_under_version_2_takes_its_thresholds_and_evidence_rules() -> None:
    draft = attested(open_evaluation(V1, good_facts(), by="o", now=NOW))
    assert outcomes(draft)["c3_no_prolonged_disputes"] == "met"

    again = reevaluate(draft, V2, good_facts(), by="o", now=LATER)

    assert (again.ruleset_version, again.ruleset_fingerprint) == (2, fingerprint(V2))
    assert again.evaluated_at == LATER
    judged = {c.check_id: c for c in again.checks}
    assert judged["c3_no_prolonged_disputes"].outcome == "not_met"  # 60 days, over 30
    assert judged["c3_no_prolonged_disputes"].result.evidence[0].ids == ("dispute1",)
    # The C3 attestation has no document number, which version 2 requires: attest it again.
    assert judged["c3_no_listed_events"].outcome == "pending"
    assert "document_number" in judged["c3_no_listed_events"].result.measured.en
    assert again.history[-1].ruleset_version == 2


def test_an_attestation_under_another_version_than_the_evaluation_is_a_conflict() -> None:
    draft = open_evaluation(V1, good_facts(), by="o", now=NOW)
    refused = refused_with(lambda: attest(draft, V2, PARTY, by="o", now=NOW), 409)
    assert refused.field == "ruleset"
    assert "re-evaluate it under the new version first" in str(refused)


# -- the commune's roll-up ---------------------------------------------------------------------


def test_the_rollup_shows_each_hamlets_state_in_order_with_counts() -> None:
    def draft(hamlet_id: str, **changes: Any) -> Evaluation:
        return open_evaluation(V1, good_facts(hamlet_id, **changes), by="o", now=NOW)

    proposed = propose(draft("h3", pledged_households=frozenset()), by="o", now=NOW)
    done = recognised()  # h1
    refused_one = refuse(
        propose(draft("h4"), by="o", now=NOW), replace(DECISION, reason="no"), by="c", now=NOW
    )
    other_year = replace(draft("h5"), year=2025)

    result = rollup(
        [proposed, done, refused_one, draft("h2"), other_year, draft("elsewhere")],
        ["h1", "h2", "h3", "h4", "h5", "h1"],
        year=YEAR,
    )

    assert [(h.hamlet_id, h.state, h.outcome) for h in result.hamlets] == [
        ("h1", "recognised", "met"),
        ("h2", "draft", "pending"),
        ("h3", "proposed", "not_met"),
        ("h4", "refused", "pending"),
        ("h5", "not_started", None),
    ]
    assert result.by_state == {
        "not_started": 1,
        "draft": 1,
        "proposed": 1,
        "recognised": 1,
        "refused": 1,
    }
    assert result.by_outcome == {"met": 1, "not_met": 1, "pending": 2}
    assert result.hamlets[0].criteria == (
        ("C1", "met"),
        ("C2", "met"),
        ("C3", "met"),
        ("C4", "met"),
        ("C5", "met"),
    )
    assert (result.hamlets[0].evaluation_id, result.hamlets[0].ruleset_version) == ("h1:2026", 1)


def test_an_evaluation_survives_a_round_trip_through_json_as_the_store_will_keep_it() -> None:
    adapter = TypeAdapter(Evaluation)
    evaluation = reopen(
        refuse(
            propose(attested(open_evaluation(V1, good_facts(), by="o", now=NOW)), by="o", now=NOW),
            replace(DECISION, reason="no"),
            by="c",
            now=LATER,
        ),
        reason="fix",
        by="o",
        now=LATER,
    )
    data = json.loads(json.dumps(adapter.dump_python(evaluation, mode="json")))
    assert adapter.validate_python(data) == evaluation
