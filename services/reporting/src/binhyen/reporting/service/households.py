"""Which households a day counts: registered by then, not yet dissolved.

The registry announces the day each household was registered (or the earlier day an officer
gave for one that lived in the hamlet before) and the day it was dissolved. A household whose
days were never announced (events published before December 2026) counts as it stands now.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def _day(value: Any) -> date | None:
    # The read model keeps a local day as midnight UTC of that day (projections._day).
    return value.date() if isinstance(value, datetime) else None


def active_on(household: dict[str, Any], day: date) -> bool:
    """Whether the household was registered and not yet dissolved at the end of ``day``."""
    since = _day(household.get("registered_on"))
    if since is not None and since > day:
        return False
    if household.get("status") == "active":
        return True
    until = _day(household.get("dissolved_on"))
    return until is not None and until > day
