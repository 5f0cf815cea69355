"""An alert's life: raised, escalated step by step, acknowledged, reminded, closed.

Pure state transitions; the service resolves targets to recipients, writes deliveries and
emits the events. Each notification round is a *wave* with a stable name ("r0s0" for round 0,
step 0; "m1" for the first reminder): a delivery's id includes its wave, so repeating a wave
after a crash never sends twice, while a later round or a reminder reaches people again on
purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from binhyen.notifications.domain.policies import Policy, Step

AlertStatus = Literal["active", "acknowledged", "closed"]
CapStatus = Literal["Actual", "Exercise", "System", "Test", "Draft"]


class AlertRuleViolation(ValueError):
    """A change the alert's state does not allow."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 409) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Wave:
    """One round of notifications: which step (or reminder) and its stable name."""

    name: str
    step: Step | None  # None: a reminder (to the responders who acknowledged)
    index: int
    round: int


@dataclass(frozen=True)
class Escalation:
    """Where an alert's escalation stands."""

    step: int = -1  # the last step run (-1: none yet)
    round: int = 0
    next_at: datetime | None = None  # when the next step or reminder is due
    reminders: int = 0


def first_wave(policy: Policy, raised_at: datetime) -> tuple[Escalation, datetime]:
    """The escalation of a new alert, and when its first step is due."""
    due = raised_at + timedelta(seconds=policy.steps[0].delay_seconds)
    return Escalation(step=-1, round=0, next_at=due), due


def due_wave(
    policy: Policy, esc: Escalation, status: AlertStatus, now: datetime
) -> tuple[Wave, Escalation] | None:
    """The wave due at ``now`` and the escalation after running it, or None.

    Active alerts run their next step (after the last, the steps repeat ``policy.repeat``
    times); acknowledged ones are reminded; closed ones do nothing.
    """
    if status == "closed" or esc.next_at is None or esc.next_at > now:
        return None
    if status == "acknowledged":
        if policy.remind_after_seconds is None:
            return None
        n = esc.reminders + 1
        after = replace(
            esc, reminders=n, next_at=now + timedelta(seconds=policy.remind_after_seconds)
        )
        return Wave(f"m{n}", None, -1, esc.round), after
    index, round_ = esc.step + 1, esc.round
    if index >= len(policy.steps):
        index, round_ = 0, round_ + 1
        if round_ > policy.repeat:
            return None
    wave = Wave(f"r{round_}s{index}", policy.steps[index], index, round_)
    return wave, replace(
        esc, step=index, round=round_, next_at=_next_due(policy, index, round_, now)
    )


def _next_due(policy: Policy, index: int, round_: int, now: datetime) -> datetime | None:
    if index + 1 < len(policy.steps):
        return now + timedelta(seconds=policy.steps[index + 1].delay_seconds)
    if round_ < policy.repeat:
        return now + timedelta(seconds=policy.repeat_after_seconds)
    return None


def skip_empty(policy: Policy, esc: Escalation, now: datetime) -> Escalation:
    """The step just run reached nobody: the next one is due at once (not after its delay)."""
    if esc.next_at is None:
        return esc
    return replace(esc, next_at=now)


def acknowledged(
    policy: Policy, esc: Escalation, status: AlertStatus, now: datetime, *, responder: bool
) -> tuple[AlertStatus, Escalation]:
    """The state after an acknowledgement.

    A responder's first acknowledgement stops the escalation; reminders follow while the
    alert is not resolved. A household's acknowledgement counts for reach only.
    """
    if status == "closed":
        raise AlertRuleViolation("the alert is closed")
    if not responder or status == "acknowledged":
        return status, esc
    remind = policy.remind_after_seconds
    next_at = now + timedelta(seconds=remind) if remind is not None else None
    return "acknowledged", replace(esc, next_at=next_at)


def closed(esc: Escalation, status: AlertStatus) -> Escalation:
    """The escalation of a closed alert: nothing more is due."""
    if status == "closed":
        raise AlertRuleViolation("the alert is already closed")
    return replace(esc, next_at=None)
