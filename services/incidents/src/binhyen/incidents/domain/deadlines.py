"""Deadlines: each severity has a time to acknowledge and a time to resolve."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from binhyen.incidents.domain.categories import SEVERITIES, Severity

DeadlineKind = Literal["acknowledge", "resolve"]


@dataclass(frozen=True)
class Targets:
    """How long a severity may wait for acknowledgement and for resolution."""

    acknowledge: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class DeadlinePolicy:
    """Targets per severity (editable by commune staff; versioned)."""

    targets: dict[Severity, Targets]
    version: int = 1

    def for_severity(self, severity: Severity) -> Targets:
        """The targets of a severity."""
        return self.targets[severity]


DEFAULT_POLICY = DeadlinePolicy(
    {
        "critical": Targets(timedelta(minutes=15), timedelta(days=1)),
        "high": Targets(timedelta(hours=1), timedelta(days=3)),
        "medium": Targets(timedelta(hours=4), timedelta(days=7)),
        "low": Targets(timedelta(days=1), timedelta(days=30)),
    }
)


class PolicyRuleViolation(ValueError):
    """A deadline policy breaks a rule (422)."""

    status = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_policy(policy: DeadlinePolicy) -> DeadlinePolicy:
    """Return the policy if every severity has positive targets, resolve after acknowledge."""
    for severity in SEVERITIES:
        targets = policy.targets.get(severity)
        if targets is None:
            raise PolicyRuleViolation(f"targets for {severity} are missing", field=severity)
        if targets.acknowledge <= timedelta(0) or targets.resolve <= timedelta(0):
            raise PolicyRuleViolation("targets must be positive durations", field=severity)
        if targets.resolve < targets.acknowledge:
            raise PolicyRuleViolation(
                "the time to resolve cannot be shorter than the time to acknowledge",
                field=f"{severity}.resolve_minutes",
            )
    return policy


@dataclass(frozen=True)
class Deadline:
    """One deadline of an incident: due when, met or missed when."""

    kind: DeadlineKind
    due: datetime
    met_at: datetime | None = None
    missed_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Neither met nor missed yet."""
        return self.met_at is None and self.missed_at is None


def deadlines_for(
    policy: DeadlinePolicy, severity: Severity, start: datetime
) -> tuple[Deadline, ...]:
    """The deadlines of an incident reported at ``start``."""
    targets = policy.for_severity(severity)
    return (
        Deadline("acknowledge", start + targets.acknowledge),
        Deadline("resolve", start + targets.resolve),
    )


def meet(
    deadlines: tuple[Deadline, ...], kinds: set[DeadlineKind], at: datetime
) -> tuple[Deadline, ...]:
    """Mark the open deadlines of these kinds as met at ``at`` (missed ones stay missed)."""
    return tuple(replace(d, met_at=at) if d.kind in kinds and d.open else d for d in deadlines)


def miss(deadlines: tuple[Deadline, ...], kind: DeadlineKind, at: datetime) -> tuple[Deadline, ...]:
    """Mark an open deadline as missed at ``at``."""
    return tuple(replace(d, missed_at=at) if d.kind == kind and d.open else d for d in deadlines)


def due_misses(deadlines: tuple[Deadline, ...], now: datetime) -> list[Deadline]:
    """Open deadlines that are past due at ``now``."""
    return [d for d in deadlines if d.open and d.due <= now]


def next_due(deadlines: tuple[Deadline, ...]) -> datetime | None:
    """When the scheduler next has to look at this incident (None: never)."""
    pending = [d.due for d in deadlines if d.open]
    return min(pending) if pending else None
