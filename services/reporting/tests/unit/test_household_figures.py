"""A period counts the households registered and not yet dissolved on its last day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from binhyen.reporting.domain.periods import Period
from binhyen.reporting.service.statistics import household_figures


def household(
    hid: str,
    *,
    registered: str | None = None,
    dissolved: str | None = None,
    pledged: tuple[int, ...] = (),
) -> dict[str, Any]:
    """A household as the read model keeps it (local days as midnight UTC)."""

    def day(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    return {
        "_id": hid,
        "status": "dissolved" if dissolved else "active",
        "registered_on": day(registered),
        "dissolved_on": day(dissolved),
        "pledges": [{"year": y} for y in pledged],
    }


HOUSEHOLDS = [
    household("since-2020", registered="2020-01-01", pledged=(2025, 2026)),
    household("new-2026", registered="2026-03-02", pledged=(2026,)),
    household("new-2026-b", registered="2026-05-01"),
    household("gone-2025-12", registered="2019-06-01", dissolved="2025-12-01", pledged=(2025,)),
    household("gone-2025-10", registered="2019-06-01", dissolved="2025-10-31"),
    household("days-unknown"),  # announced before the registry sent the days: as it is now
    household("gone-days-unknown", dissolved=None) | {"status": "dissolved"},
]


def test_each_year_counts_the_households_of_its_last_day_and_their_pledges() -> None:
    ey2026 = household_figures(HOUSEHOLDS, Period.evaluation_year(2026))
    ey2025 = household_figures(HOUSEHOLDS, Period.evaluation_year(2025))

    # 31/10/2026: since-2020, both new-2026, days-unknown; 2 pledged for 2026.
    assert (ey2026["active"], ey2026["pledged"]) == (4, 2)
    # 31/10/2025: since-2020, gone-2025-12 (dissolved after), days-unknown; not the new ones,
    # not gone-2025-10 (dissolved that day); 2 pledged for 2025.
    assert (ey2025["active"], ey2025["pledged"]) == (3, 2)
    assert ey2025["programme_year"] == 2025 and ey2025["pledge_ratio"] == round(2 / 3, 4)
