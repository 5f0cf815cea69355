"""The rule sets shipped with the service, as package data (so they travel in the wheel)."""

from importlib.resources import files

from binhyen.reporting.domain.rules import RuleSet, load_ruleset

SHIPPED = "circular-124-2021.yaml"


def shipped_ruleset() -> RuleSet:
    """The rule set the service uses until an administrator replaces it (Circular 124/2021)."""
    return load_ruleset(files(__name__).joinpath(SHIPPED).read_text(encoding="utf-8"))
