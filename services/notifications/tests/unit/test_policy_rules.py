"""Escalation and template rules, without servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.notifications.domain import alerts as rules
from binhyen.notifications.domain import templates
from binhyen.notifications.domain.policies import (
    Policy,
    PolicyRuleViolation,
    Step,
    Target,
    Template,
    Trigger,
    most_specific,
)

T0 = datetime(2026, 3, 13, 16, 40, tzinfo=UTC)
TEMPLATE = Template(headline="{{ event }}", text="{{ event }}", body="{{ event }}")


def make(delays: list[int], *, repeat: int = 0, remind: int | None = 1800) -> Policy:
    return Policy(
        id="p",
        version=1,
        unit_id="h",
        unit_path=("c", "h"),
        name="p",
        triggers=(Trigger("incident_reported"),),
        steps=tuple(Step(d, (Target("team"),)) for d in delays),
        channels=("sms",),
        templates={"vi": TEMPLATE},
        repeat=repeat,
        repeat_after_seconds=600,
        remind_after_seconds=remind,
    )


def run_all(policy: Policy, until: datetime) -> list[tuple[str, datetime]]:
    """Every wave an unanswered alert runs until ``until`` (a sweep at every due time)."""
    esc, _ = rules.first_wave(policy, T0)
    ran: list[tuple[str, datetime]] = []
    now = T0
    while now <= until:
        due = rules.due_wave(policy, esc, "active", now)
        if due is None:
            if esc.next_at is None:
                break
            now = max(now + timedelta(seconds=1), esc.next_at)
            continue
        wave, esc = due
        ran.append((wave.name, now))
    return ran


def test_steps_run_at_their_delays_then_repeat_then_stop() -> None:
    ran = run_all(make([0, 300, 600], repeat=1), T0 + timedelta(hours=2))
    names = [name for name, _ in ran]
    assert names == ["r0s0", "r0s1", "r0s2", "r1s0", "r1s1", "r1s2"]
    at = dict(ran)
    assert at["r0s1"] - at["r0s0"] == timedelta(seconds=300)
    assert at["r0s2"] - at["r0s1"] == timedelta(seconds=600)
    assert at["r1s0"] - at["r0s2"] == timedelta(seconds=600)  # repeat_after_seconds


def test_an_acknowledged_alert_is_reminded_and_a_closed_one_never_runs() -> None:
    policy = make([0, 300])
    esc, _ = rules.first_wave(policy, T0)
    due = rules.due_wave(policy, esc, "active", T0)
    assert due is not None
    _wave, esc = due
    status, esc = rules.acknowledged(policy, esc, "active", T0, responder=True)
    assert status == "acknowledged"
    assert rules.due_wave(policy, esc, status, T0 + timedelta(seconds=301)) is None  # no step 1
    reminder = rules.due_wave(policy, esc, status, T0 + timedelta(seconds=1800))
    assert reminder is not None and reminder[0].name == "m1" and reminder[0].step is None
    closed = rules.closed(esc, status)
    assert rules.due_wave(policy, closed, "closed", T0 + timedelta(days=1)) is None
    with pytest.raises(rules.AlertRuleViolation):
        rules.closed(closed, "closed")


def test_a_households_answer_does_not_stop_the_escalation() -> None:
    policy = make([0, 300])
    esc, _ = rules.first_wave(policy, T0)
    status, after = rules.acknowledged(policy, esc, "active", T0, responder=False)
    assert status == "active" and after == esc


@given(st.lists(st.integers(min_value=0, max_value=3600), min_size=1, max_size=6))
def test_each_step_runs_once_per_round_in_order(delays: list[int]) -> None:
    policy = make(delays, repeat=0)
    ran = run_all(policy, T0 + timedelta(seconds=sum(delays) + 120))
    assert [name for name, _ in ran] == [f"r0s{i}" for i in range(len(delays))]
    times = [when for _, when in ran]
    assert times == sorted(times)


def test_a_policy_without_vietnamese_or_with_unknown_channels_is_refused() -> None:
    with pytest.raises(PolicyRuleViolation) as refused:
        Policy(**{**make([0]).__dict__, "templates": {"en": TEMPLATE}}).check()
    assert refused.value.field == "templates"
    with pytest.raises(PolicyRuleViolation) as refused:
        Policy(**{**make([0]).__dict__, "channels": ("pigeon",)}).check()
    assert refused.value.field == "channels"


def test_the_nearest_units_policies_win() -> None:
    commune = Policy(**{**make([0]).__dict__, "id": "commune", "unit_id": "c"})
    hamlet = Policy(**{**make([0]).__dict__, "id": "hamlet", "unit_id": "h"})
    default = Policy(**{**make([0]).__dict__, "id": "default", "unit_id": "*"})
    path = ("p", "c", "h")
    assert [p.id for p in most_specific([commune, hamlet, default], path)] == ["hamlet"]
    assert [p.id for p in most_specific([commune, default], path)] == ["commune"]
    assert [p.id for p in most_specific([default], path)] == ["default"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ name_of_resident }}", "unknown field"),
        ("{{ event ", "does not parse"),
        ("{% for x in event %}{{ x.__class__ }}{% endfor %}", "does not render"),
        ("{{ event }}" * 40, "characters with long values"),
    ],
)
def test_a_template_that_cannot_be_used_is_refused_when_saved(source: str, message: str) -> None:
    with pytest.raises(templates.TemplateError, match=message) as refused:
        templates.check(source, part="headline", field="templates.vi.headline")
    assert refused.value.field == "templates.vi.headline"


def test_templates_render_vietnamese_as_written() -> None:
    text = templates.render(
        "{{ event }} tại {{ hamlet }} lúc {{ time }}",
        {"event": "Cháy nhà", "hamlet": "Thôn Tân Thành", "time": "23:40 13/03/2026"},
        part="text",
        field="text",
    )
    assert text == "Cháy nhà tại Thôn Tân Thành lúc 23:40 13/03/2026"
