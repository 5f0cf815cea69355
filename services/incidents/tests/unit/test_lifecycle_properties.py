"""Stateful property tests of the incident lifecycle (pure domain, no I/O).

A hypothesis state machine drives one incident through random sequences of
actions, taken by callers holding random roles with random inputs, plus the
dispute-only steps (mediation sessions, concluding mediation) and the police's
receipt of a hand-off. It keeps an oracle of what each step must do and checks
the invariants after every step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from binhyen.incidents.domain.categories import DEFAULT_CATALOGUE, SEVERITIES, Category, Severity
from binhyen.incidents.domain.deadlines import (
    DEFAULT_POLICY,
    Deadline,
    deadlines_for,
    due_misses,
    miss,
)
from binhyen.incidents.domain.incidents import (
    ACTIONS,
    CLOSED,
    FUTURE_SLACK,
    MAX_REASON,
    MEDIATION_ROLES,
    MEDIATION_STATES,
    NEEDS_REASON,
    STATUSES,
    TRANSITIONS,
    WAITING_ACK,
    Action,
    Assignee,
    Change,
    Handoff,
    Incident,
    IncidentRuleViolation,
    MediationSession,
    Reporter,
    RoleNotAllowed,
    Status,
    TransitionNotAllowed,
    allowed_actions,
    conclude_mediation,
    receive_handoff,
    record_session,
    report,
    roles_for,
    transition,
)

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ROLES = (
    "admin",
    "commune_officer",
    "hamlet_officer",
    "police",
    "team_member",
    "resident",
    "viewer",
)
REFUSALS = (TransitionNotAllowed, RoleNotAllowed, IncidentRuleViolation)


def _category(code: str) -> Category:
    return next(c for c in DEFAULT_CATALOGUE if c.code == code)


DISPUTE = _category("land_dispute")
CRIME = _category("theft")
ANSWERS: dict[str, dict[str, Any]] = {
    DISPUTE.code: {"parties": 2},
    CRIME.code: {"stolen_items": "a motorbike"},
}


def new_incident(category: Category, severity: Severity, at: datetime = START) -> Incident:
    """A freshly reported incident, built by the domain like the service does."""
    return report(
        incident_id="inc-1",
        hamlet_id="h1",
        unit_path=("p1", "c1", "h1"),
        category=category,
        description="  something happened  ",
        occurred_at=at - timedelta(hours=1),
        now=at,
        reporter=Reporter("user", "u-reporter"),
        reporter_ref="reporter-1",
        severity=severity,
        location=None,
        address=None,
        answers=ANSWERS[category.code],
        deadlines=deadlines_for(DEFAULT_POLICY, severity, at),
    )


def handoff_at(at: datetime) -> Handoff:
    return Handoff(
        handed_at=at,
        handed_by="u-officer",
        to_unit_id="police-1",
        to_name="Công an xã",
        summary="handed over",
    )


# Mostly roles that can act (so the machine gets deep), sometimes any mix at all.
role_sets = st.one_of(
    st.sampled_from(
        [
            frozenset({"admin"}),
            frozenset({"police"}),
            frozenset({"commune_officer"}),
            frozenset({"hamlet_officer"}),
            frozenset({"team_member"}),
            frozenset({"hamlet_officer", "team_member"}),
        ]
    ),
    st.frozensets(st.sampled_from(ROLES), max_size=3),
)
reasons = st.one_of(
    st.just("because"),
    st.sampled_from([None, "", "   ", "  trimmed  ", "x" * MAX_REASON, "x" * (MAX_REASON + 1)]),
)
assignees = st.sampled_from(
    [Assignee("team", "team-1"), Assignee("person", "person-1", team_id="team-1"), None]
)
duplicates = st.sampled_from(["inc-0", None, "", "inc-1"])
with_handoff = st.sampled_from([True, True, False])


def expected_rule_field(
    incident: Incident,
    action: Action,
    change: Change,
) -> str | None:
    """The field a valid-state, valid-role action is refused on (None: accepted)."""
    reason = change.reason.strip() if change.reason else None
    if action in NEEDS_REASON and not reason:
        return "reason"
    if reason and len(reason) > MAX_REASON:
        return "reason"
    if action == "assign" and change.assignee is None:
        return "assignee"
    if action == "mark_duplicate" and (
        not change.duplicate_of or change.duplicate_of == incident.id
    ):
        return "duplicate_of"
    if action == "escalate" and change.handoff is None:
        return "handoff"
    return None


class Lifecycle(RuleBasedStateMachine):
    """One incident, and the steps the service could apply to it."""

    def __init__(self) -> None:
        super().__init__()
        self.incident: Incident = new_incident(CRIME, "medium")
        self.now = START
        self.accepted = 0
        self.refused = 0
        # The model's own view of mediation rounds: a round is concluded; a reopening after
        # that lets the next session start a new round.
        self.round_concluded = False
        self.reopened_since_concluded = False
        self.rounds_concluded = 0

    @initialize(
        dispute=st.booleans(),
        severity=st.sampled_from(SEVERITIES),
    )
    def reported(self, dispute: bool, severity: Severity) -> None:
        self.incident = new_incident(DISPUTE if dispute else CRIME, severity)
        assert self.incident.status == "reported"
        assert self.incident.version == 1
        assert [e.kind for e in self.incident.timeline] == ["reported"]

    # ---- helpers -----------------------------------------------------------------

    def _apply(
        self,
        step: Callable[[Incident], Incident],
        *,
        refusal: type[Exception] | None,
        refusal_field: str | None = None,
    ) -> Incident | None:
        """Apply a step; check a refusal changes nothing and an acceptance adds one entry."""
        before = self.incident
        snapshot = copy.deepcopy(before)
        refused: Exception | None = None
        try:
            after = step(before)
        except REFUSALS as exc:
            refused = exc
        if refused is not None:
            assert refusal is not None, f"refused unexpectedly: {refused!r}"
            assert type(refused) is refusal, f"expected {refusal.__name__}, got {refused!r}"
            if refusal_field is not None:
                assert isinstance(refused, IncidentRuleViolation)
                assert refused.field == refusal_field
            # Refused: the incident is unchanged (same object, equal to before).
            assert self.incident is before
            assert before == snapshot
            self.refused += 1
            return None
        assert refusal is None, f"accepted, expected {refusal.__name__} ({refusal_field})"
        assert before == snapshot, "the step mutated its input"
        assert after is not before
        # Exactly one timeline entry (one event), version + 1, history kept.
        assert after.version == before.version + 1
        assert len(after.timeline) == len(before.timeline) + 1
        assert after.timeline[: len(before.timeline)] == before.timeline
        new = after.timeline[-1]
        assert new.seq == len(after.timeline)
        assert new.at == self.now
        assert new.from_status == before.status
        assert new.to_status == after.status
        # Met deadlines stay met, at the same time; missed ones stay missed.
        _check_deadlines_kept(before.deadlines, after.deadlines)
        # Nothing else about the report changes.
        for name in ("id", "hamlet_id", "unit_path", "category", "description", "reporter"):
            assert getattr(after, name) == getattr(before, name)
        self.incident = after
        self.accepted += 1
        return after

    # ---- rules -------------------------------------------------------------------

    @rule(minutes=st.integers(0, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        """Time passes; the deadline sweep records what was missed (no event here)."""
        self.now += timedelta(minutes=minutes)
        deadlines = self.incident.deadlines
        for d in due_misses(deadlines, self.now):
            deadlines = miss(deadlines, d.kind, self.now)
        _check_deadlines_kept(self.incident.deadlines, deadlines)
        self.incident = replace(self.incident, deadlines=deadlines)

    @rule(
        action=st.sampled_from(ACTIONS),
        roles=role_sets,
        reason=reasons,
        assignee=assignees,
        duplicate_of=duplicates,
        give_handoff=with_handoff,
    )
    def act(
        self,
        action: Action,
        roles: frozenset[str],
        reason: str | None,
        assignee: Assignee | None,
        duplicate_of: str | None,
        give_handoff: bool,
    ) -> None:
        change = Change(
            reason=reason,
            assignee=assignee,
            duplicate_of=duplicate_of,
            handoff=handoff_at(self.now) if give_handoff else None,
        )
        current = self.incident.status
        sources, target = TRANSITIONS[action]
        refusal: type[Exception] | None = None
        field: str | None = None
        if current not in sources:
            refusal = TransitionNotAllowed
        elif not roles & roles_for(action, current):
            refusal = RoleNotAllowed
        elif (field := expected_rule_field(self.incident, action, change)) is not None:
            refusal = IncidentRuleViolation
        if current in CLOSED and action != "reopen":
            assert refusal is TransitionNotAllowed, "a closed incident accepts only reopen"

        def step(incident: Incident) -> Incident:
            return transition(
                incident, action, actor="u-actor", roles=roles, at=self.now, change=change
            )

        after = self._apply(step, refusal=refusal, refusal_field=field)
        if after is None:
            return
        assert current in sources
        assert roles & roles_for(action, current)
        assert after.status == target
        entry = after.timeline[-1]
        assert entry.kind == action
        assert entry.actor == "u-actor"
        # A blank reason is recorded as "" by the domain (the service never passes one).
        assert (entry.reason or None) == (reason.strip() if reason and reason.strip() else None)
        if action == "assign":
            assert after.assignee == assignee
        if action == "mark_duplicate":
            assert after.duplicate_of == duplicate_of
        if action == "escalate":
            assert after.handoff == change.handoff
        if action == "resolve":
            assert after.resolution == entry.reason
        if action == "reopen":
            self.reopened_since_concluded = self.round_concluded
            assert after.resolution is None
            assert after.duplicate_of is None
            # The service gives a reopened incident fresh deadlines.
            self.incident = replace(
                after, deadlines=deadlines_for(DEFAULT_POLICY, after.severity, self.now)
            )

    @rule(index=st.integers(0, 11), roles=role_sets)
    def progress(self, index: int, roles: frozenset[str]) -> None:
        """A step allowed from the current state, with complete inputs."""
        incident = self.incident
        steps: list[str] = list(allowed_actions(incident.status))
        if incident.group == "dispute" and incident.status in MEDIATION_STATES:
            steps += ["session", "session", "conclude"]
        if incident.status == "escalated":
            steps += ["receive"]
        chosen = steps[index % len(steps)]
        if chosen == "session":
            self.mediation_session(roles, ("m1",), 30, "adjourned")
        elif chosen == "conclude":
            self.conclude(roles, index % 2 == 0, "they agreed on the boundary")
        elif chosen == "receive":
            self.police_receive(roles, "VV-2025/17")
        else:
            action = next(a for a in ACTIONS if a == chosen)
            self.act(action, roles, "because", Assignee("team", "t1"), "inc-0", True)

    @rule(roles=role_sets, reference=st.sampled_from(["VV-2025/17", "", "  "]))
    def police_receive(self, roles: frozenset[str], reference: str) -> None:
        incident = self.incident
        refusal: type[Exception] | None = None
        field: str | None = None
        if incident.status != "escalated" or incident.handoff is None:
            refusal, field = IncidentRuleViolation, "status"
        elif not roles & {"police", "admin"}:
            refusal = RoleNotAllowed
        elif incident.handoff.received_at is not None or not reference.strip():
            refusal, field = IncidentRuleViolation, "case_reference"

        def step(i: Incident) -> Incident:
            return receive_handoff(
                i, actor="u-police", roles=roles, at=self.now, case_reference=reference
            )

        after = self._apply(step, refusal=refusal, refusal_field=field)
        if after is not None:
            assert after.status == "escalated"
            assert after.handoff is not None
            assert after.handoff.case_reference == reference.strip()
            assert after.handoff.received_at == self.now
            assert after.timeline[-1].kind == "escalation_received"

    def _mediation_refusal(
        self, roles: Collection[str], *, new_round: bool = False
    ) -> tuple[type[Exception] | None, str | None]:
        incident = self.incident
        if incident.group != "dispute":
            return IncidentRuleViolation, "category"
        if incident.status not in MEDIATION_STATES:
            return TransitionNotAllowed, None
        if not set(roles) & MEDIATION_ROLES:
            return RoleNotAllowed, None
        if self.round_concluded and not (new_round and self.reopened_since_concluded):
            return IncidentRuleViolation, "mediation"
        return None, None

    @rule(
        roles=role_sets,
        mediators=st.sampled_from([("m1",), ("m1", "m2"), ()]),
        held_minutes_ago=st.sampled_from([30, 0, -4, -60, 3 * 24 * 60, 400 * 24 * 60]),
        outcome=st.sampled_from(["agreement", "no_agreement", "adjourned"]),
    )
    def mediation_session(
        self,
        roles: frozenset[str],
        mediators: tuple[str, ...],
        held_minutes_ago: int,
        outcome: Literal["agreement", "no_agreement", "adjourned"],
    ) -> None:
        held_at = self.now - timedelta(minutes=held_minutes_ago)
        session = MediationSession(
            id=f"s{len(self.incident.timeline)}",
            held_at=held_at,
            place=None,
            mediators=mediators,
            outcome=outcome,
            notes=None,
            recorded_by="u-mediator",
        )
        refusal, field = self._mediation_refusal(roles, new_round=True)
        starts_round = self.round_concluded
        if refusal is None:
            if not mediators:
                refusal, field = IncidentRuleViolation, "mediators"
            elif held_at > self.now + FUTURE_SLACK or held_at < (
                self.incident.reported_at - timedelta(days=1)
            ):
                refusal, field = IncidentRuleViolation, "held_at"
        before = self.incident

        def step(i: Incident) -> Incident:
            return record_session(i, session, roles=roles, now=self.now)

        after = self._apply(step, refusal=refusal, refusal_field=field)
        if after is not None:
            assert after.status == before.status
            assert after.mediation is not None
            assert after.mediation.sessions[-1] == session
            if starts_round:  # the concluded round is kept, the new one has this session
                assert before.mediation is not None
                assert after.earlier_mediations == (*before.earlier_mediations, before.mediation)
                assert after.mediation.sessions == (session,)
                assert after.mediation.mediators == mediators
                assert after.mediation.outcome is None
                self.round_concluded = self.reopened_since_concluded = False
            else:
                assert after.earlier_mediations == before.earlier_mediations
                old = before.mediation.sessions if before.mediation else ()
                assert after.mediation.sessions[:-1] == old
                assert set(mediators) <= set(after.mediation.mediators)
            # Every concluded round is kept among the earlier ones; this one is open.
            assert len(after.earlier_mediations) == self.rounds_concluded
            assert after.timeline[-1].kind == "mediation_session"
            assert after.timeline[-1].details["round"] == len(after.earlier_mediations) + 1

    @rule(
        roles=role_sets,
        agreement=st.booleans(),
        summary=st.sampled_from(["they agreed on the boundary", "", "  "]),
    )
    def conclude(self, roles: frozenset[str], agreement: bool, summary: str) -> None:
        refusal, field = self._mediation_refusal(roles)
        if refusal is None:
            mediation = self.incident.mediation
            if mediation is None or not mediation.sessions:
                refusal, field = IncidentRuleViolation, "mediation"
            elif not summary.strip():
                refusal, field = IncidentRuleViolation, "summary"
        before = self.incident

        def step(i: Incident) -> Incident:
            return conclude_mediation(
                i, agreement=agreement, summary=summary, actor="u-m", roles=roles, at=self.now
            )

        after = self._apply(step, refusal=refusal, refusal_field=field)
        if after is not None:
            self.round_concluded = True
            self.rounds_concluded += 1
            assert after.earlier_mediations == before.earlier_mediations
            assert len(after.earlier_mediations) == self.rounds_concluded - 1
            assert after.mediation is not None
            assert after.mediation.outcome == ("agreement" if agreement else "no_agreement")
            assert after.mediation.concluded_at == self.now
            assert after.status == ("resolved" if agreement else before.status)
            assert after.timeline[-1].kind == "mediation_concluded"

    # ---- invariants --------------------------------------------------------------

    @invariant()
    def status_is_known(self) -> None:
        assert self.incident.status in STATUSES
        assert self.incident.closed == (self.incident.status in CLOSED)

    @invariant()
    def timeline_is_numbered_and_versioned(self) -> None:
        timeline = self.incident.timeline
        assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1))
        assert timeline[0].kind == "reported"
        # One entry per accepted step, and one version per entry.
        assert self.incident.version == len(timeline) == self.accepted + 1
        assert [e.at for e in timeline] == sorted(e.at for e in timeline)
        # The entries chain: each starts from where the last one left the incident.
        for prev, nxt in pairwise(timeline):
            assert nxt.from_status == prev.to_status
        assert timeline[-1].to_status == self.incident.status

    @invariant()
    def deadlines_follow_status(self) -> None:
        incident = self.incident
        by_kind = {d.kind: d for d in incident.deadlines}
        assert set(by_kind) == {"acknowledge", "resolve"}
        for d in incident.deadlines:
            assert d.met_at is None or d.missed_at is None, "a deadline is met or missed"
        if incident.status not in WAITING_ACK:
            assert not by_kind["acknowledge"].open, "acknowledged, yet its deadline is open"
        if incident.status in CLOSED or incident.status == "escalated":
            assert not by_kind["resolve"].open, "closed, yet the resolve deadline is open"

    @invariant()
    def handoff_when_escalated(self) -> None:
        if self.incident.status == "escalated":
            assert self.incident.handoff is not None

    @invariant()
    def only_disputes_are_mediated(self) -> None:
        if self.incident.group != "dispute":
            assert self.incident.mediation is None


def _check_deadlines_kept(before: tuple[Deadline, ...], after: tuple[Deadline, ...]) -> None:
    assert [d.kind for d in after] == [d.kind for d in before]
    for old, new in zip(before, after, strict=True):
        assert new.due == old.due
        if old.met_at is not None:
            assert new.met_at == old.met_at, "a met deadline changed"
        if old.missed_at is not None:
            assert new.missed_at == old.missed_at, "a missed deadline changed"
            assert new.met_at is None, "a missed deadline became met"


def test_lifecycle_state_machine() -> None:
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(max_examples=150, stateful_step_count=40, deadline=None),
    )


# ---- the 409 names what is allowed ------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from(STATUSES), action=st.sampled_from(ACTIONS))
def test_transition_not_allowed_names_the_allowed_actions(status: Status, action: Action) -> None:
    incident = replace(new_incident(CRIME, "low"), status=status)
    if status in TRANSITIONS[action][0]:
        assert action in allowed_actions(status)
        return
    roles = {"admin", "police", "commune_officer", "hamlet_officer", "team_member"}
    with pytest.raises(TransitionNotAllowed) as raised:
        transition(incident, action, actor="u", roles=roles, at=START)
    exc = raised.value
    assert exc.status == 409
    assert exc.action == action
    assert exc.current == status
    assert exc.allowed == allowed_actions(status)
    assert action not in exc.allowed
    assert exc.allowed, f"no way out of {status}"
    message = str(exc)
    assert status in message
    for allowed in exc.allowed:
        assert allowed in message
    if status in CLOSED:
        assert exc.allowed == ["reopen"]
        assert "reopen it first" in message


@given(status=st.sampled_from(STATUSES))
def test_allowed_actions_match_the_transition_table(status: Status) -> None:
    assert allowed_actions(status) == [a for a in ACTIONS if status in TRANSITIONS[a][0]]
    if status in CLOSED:
        assert allowed_actions(status) == ["reopen"]


def test_every_status_is_reachable_and_left() -> None:
    targets = {target for _, target in TRANSITIONS.values()}
    sources = set().union(*(s for s, _ in TRANSITIONS.values()))
    assert targets | {"reported"} == set(STATUSES)
    assert sources == set(STATUSES)


# ---- mediation rounds ------------------------------------------------------------------


def _session(session_id: str, at: datetime, mediators: tuple[str, ...]) -> MediationSession:
    return MediationSession(
        id=session_id,
        held_at=at,
        place="nhà văn hoá thôn",
        mediators=mediators,
        outcome="adjourned",
        notes=None,
        recorded_by="u-mediator",
    )


def test_a_dispute_reopened_after_agreement_is_mediated_again_in_a_new_round() -> None:
    officer = {"commune_officer"}
    at = START + timedelta(hours=1)
    incident = transition(
        new_incident(DISPUTE, "medium"), "acknowledge", actor="u", roles=officer, at=at
    )
    incident = record_session(incident, _session("s1", at, ("m1",)), roles=officer, now=at)
    incident = conclude_mediation(
        incident, agreement=True, summary="agreed", actor="u", roles=officer, at=at
    )
    assert incident.status == "resolved"
    with pytest.raises(TransitionNotAllowed):  # resolved: reopen first
        record_session(incident, _session("s2", at, ("m2",)), roles=officer, now=at)
    reopen = Change(reason="the agreement was broken")
    incident = transition(incident, "reopen", actor="u", roles=officer, at=at, change=reopen)

    again = record_session(incident, _session("s2", at, ("m2",)), roles=officer, now=at)

    assert [m.outcome for m in again.earlier_mediations] == ["agreement"]
    assert incident.mediation is not None
    assert again.earlier_mediations[0] == incident.mediation
    assert again.mediation is not None
    assert [s.id for s in again.mediation.sessions] == ["s2"]
    assert again.mediation.mediators == ("m2",)
    assert again.mediation.outcome is None
    assert again.timeline[-1].details["round"] == 2
    closed = conclude_mediation(
        again, agreement=False, summary="no deal", actor="u", roles=officer, at=at
    )
    assert closed.timeline[-1].details == {"outcome": "no_agreement", "round": 2}
    # Failed and still open (not reopened since): no third round, escalate instead.
    with pytest.raises(IncidentRuleViolation) as refused:
        record_session(closed, _session("s3", at, ("m1",)), roles=officer, now=at)
    assert refused.value.field == "mediation"
    assert "reopened" in str(refused.value)
