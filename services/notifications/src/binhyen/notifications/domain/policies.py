"""Alert policies: what raises an alert, whom it reaches, over which channels, and how it escalates.

A policy belongs to a unit (a hamlet, a commune, a district…) and applies to incidents in that
unit's subtree. Policies are versioned: every edit makes a new version, and an alert keeps the
version it started with, so editing a policy never changes an alert already under way.

Escalation: ordered steps, each with a delay (after the previous step; the first step's delay
counts from the moment the alert is raised) and targets. After the last step the steps repeat
from the first, ``repeat`` more times, ``repeat_after_seconds`` apart. The first acknowledgement
by a responder stops the escalation; then, while the alert is not resolved, the responders who
acknowledged are reminded every ``remind_after_seconds``. A step whose targets resolve to nobody
(everyone off duty, an empty roster) is skipped at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}

TriggerKind = Literal["incident_reported", "deadline_missed", "handed_to_police", "manual"]
TRIGGER_KINDS: tuple[str, ...] = (
    "incident_reported",
    "deadline_missed",
    "handed_to_police",
    "manual",
)

TargetKind = Literal[
    "team_on_duty",  # members on a current duty shift of the hamlet's teams
    "contact_roster",  # the team's contact roster, in order (``positions`` picks some)
    "team",  # every current member of the hamlet's teams
    "hamlet_officer",  # staff holding hamlet_officer at the hamlet
    "commune_officer",  # staff holding commune_officer at the hamlet's commune
    "commune_police",  # staff holding police at the hamlet's commune
    "households",  # every consenting resident of the alert's hamlets
    "endpoints",  # webhook endpoints subscribed to the hamlet (or above)
]
TARGET_KINDS: tuple[str, ...] = (
    "team_on_duty",
    "contact_roster",
    "team",
    "hamlet_officer",
    "commune_officer",
    "commune_police",
    "households",
    "endpoints",
)
# The targets that answer for the alert: their acknowledgement stops the escalation.
# (A household acknowledging "received" does not mean someone is on the way.)
RESPONDER_KINDS = frozenset(TARGET_KINDS) - {"households", "endpoints"}

CHANNELS: tuple[str, ...] = ("push", "sms", "zns", "email", "webhook", "apprise")
LANGUAGES: tuple[str, ...] = ("vi", "en")

MAX_STEPS = 10
MAX_REPEAT = 10


class PolicyRuleViolation(ValueError):
    """A policy breaks a rule; ``field`` names the part at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Trigger:
    """Which events raise an alert under this policy."""

    kind: TriggerKind
    categories: tuple[str, ...] = ()  # incident category codes; empty: any
    groups: tuple[str, ...] = ()  # crime, social_evil, traffic, dispute, fire, other; empty: any
    min_severity: Severity = "low"

    def matches(self, kind: str, *, category: str | None, group: str | None, severity: str) -> bool:
        """True if an event of this kind, category, group and severity raises an alert."""
        if kind != self.kind:
            return False
        if self.categories and category not in self.categories:
            return False
        if self.groups and group not in self.groups:
            return False
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[self.min_severity]


@dataclass(frozen=True)
class Target:
    """Who a step reaches."""

    kind: TargetKind
    team_kinds: tuple[str, ...] = ("people_security",)  # for team targets
    positions: tuple[int, ...] = ()  # contact_roster: 1-based places; empty: everyone


@dataclass(frozen=True)
class Step:
    """One escalation step."""

    delay_seconds: int
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Template:
    """The texts of an alert in one language (placeholders: see domain.templates)."""

    headline: str
    text: str  # short: SMS, push
    body: str  # long: e-mail, the acknowledgement page
    instruction: str = ""


@dataclass(frozen=True)
class Policy:
    """One version of an alert policy."""

    id: str
    version: int
    unit_id: str  # applies to incidents in this unit's subtree
    unit_path: tuple[str, ...]
    name: str
    triggers: tuple[Trigger, ...]
    steps: tuple[Step, ...]
    channels: tuple[str, ...]  # the fallback chain, in order (a recipient's preference first)
    templates: dict[str, Template]  # by language
    repeat: int = 0
    repeat_after_seconds: int = 300
    remind_after_seconds: int | None = 1800
    critical_from: Severity = "high"  # this severity and above pass quiet hours
    expires_after_seconds: int = 24 * 3600
    active: bool = True
    throttle_per_hour: int = 0  # low-severity alerts per recipient per hour before digesting
    updated_by: str = ""

    def check(self) -> None:
        """Raise PolicyRuleViolation unless the policy is usable."""
        if not self.triggers:
            raise PolicyRuleViolation("a policy needs at least one trigger", field="triggers")
        if not self.steps:
            raise PolicyRuleViolation("a policy needs at least one step", field="steps")
        if len(self.steps) > MAX_STEPS:
            raise PolicyRuleViolation(f"at most {MAX_STEPS} steps", field="steps")
        for i, step in enumerate(self.steps):
            if not step.targets:
                raise PolicyRuleViolation("a step needs targets", field=f"steps.{i}.targets")
            if step.delay_seconds < 0:
                raise PolicyRuleViolation(
                    "a delay cannot be negative", field=f"steps.{i}.delay_seconds"
                )
        if not 0 <= self.repeat <= MAX_REPEAT:
            raise PolicyRuleViolation(f"repeat is 0 to {MAX_REPEAT}", field="repeat")
        if not self.channels:
            raise PolicyRuleViolation("a policy needs at least one channel", field="channels")
        for name in self.channels:
            if name not in CHANNELS:
                raise PolicyRuleViolation(f"unknown channel {name}", field="channels")
        if "vi" not in self.templates:
            raise PolicyRuleViolation("a Vietnamese template is required", field="templates")

    def matching(
        self, kind: str, *, category: str | None, group: str | None, severity: str
    ) -> bool:
        """True if the policy raises an alert for this event."""
        return self.active and any(
            t.matches(kind, category=category, group=group, severity=severity)
            for t in self.triggers
        )

    def is_critical(self, severity: str) -> bool:
        """True if alerts of this severity pass quiet hours and travel as urgent."""
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[self.critical_from]


def most_specific(policies: list[Policy], unit_path: tuple[str, ...] | list[str]) -> list[Policy]:
    """Of the policies matching an event, those of the unit nearest the hamlet.

    A hamlet's own policy overrides its commune's, which overrides the district's: the
    hamlet officer tunes the gong without the commune's policy sounding as well.
    """
    if not policies:
        return []
    depth = {unit: i for i, unit in enumerate(unit_path)}
    nearest = max(depth.get(p.unit_id, -1) for p in policies)
    return [p for p in policies if depth.get(p.unit_id, -1) == nearest]
