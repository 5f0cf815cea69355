"""Hotspot rules: the rule set's for drugs and gambling, the default for every other category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from binhyen.reporting.domain.hotspots import Occurrence
from binhyen.reporting.rulesets import shipped_ruleset
from binhyen.reporting.service.categories import CategoryName
from binhyen.reporting.service.hotspots import Rule, find, rules_of, suggestion

START = datetime(2026, 3, 1, 2, tzinfo=UTC)


def spaced(category: str, days: int, count: int = 3, hamlet: str = "h-1") -> list[Occurrence]:
    """``count`` incidents of a category, ``days`` apart."""
    return [
        Occurrence(f"{category}-{n}", hamlet, category, START + timedelta(days=days * n))
        for n in range(count)
    ]


def test_the_shipped_rule_set_names_drugs_and_gambling_and_the_default_takes_the_rest() -> None:
    rules = rules_of(shipped_ruleset(), window_days=30, min_incidents=3)

    assert set(rules) == {
        Rule(frozenset({"drugs"}), 90, 3, "c4_no_drug_hotspot"),
        Rule(frozenset({"gambling"}), 90, 3, "c4_no_gambling_hotspot"),
        Rule(None, 30, 3, "default"),
    }


def test_each_category_is_judged_by_its_own_window() -> None:
    rules = rules_of(shipped_ruleset(), window_days=30, min_incidents=3)
    # 3 incidents 40 days apart span 80 days: within drugs' 90, not theft's 30.
    occurrences = spaced("drugs", 40) + spaced("theft", 40) + spaced("assault", 10)

    found = {h.hotspot_id: (rule.source, h.incident_ids) for h, rule in find(occurrences, rules)}

    assert found == {
        "h-1:drugs:drugs-2": ("c4_no_drug_hotspot", ("drugs-0", "drugs-1", "drugs-2")),
        "h-1:assault:assault-2": ("default", ("assault-0", "assault-1", "assault-2")),
    }


def test_the_default_rule_follows_its_settings() -> None:
    rules = rules_of(shipped_ruleset(), window_days=60, min_incidents=4)

    assert [h.hotspot_id for h, _ in find(spaced("theft", 15, count=4), rules)] == [
        "h-1:theft:theft-3"
    ]
    assert find(spaced("theft", 15, count=3), rules) == []
    # The rule set's categories keep the rule set's count (3), whatever the default.
    assert len(find(spaced("gambling", 20), rules)) == 1


def test_a_suggestion_says_how_many_of_what_where_and_within_which_window() -> None:
    said = suggestion(
        count=3,
        name=CategoryName("crime", "Trộm cắp tài sản", "Theft"),
        hamlet_name="Tân Thành",
        hamlet_kind="hamlet",
        window_days=30,
        first_at=START,
        last_at=START + timedelta(days=12),
    )

    assert said.vi == (
        "Lập kế hoạch phòng ngừa: 3 vụ trộm cắp tài sản tại thôn Tân Thành trong 30 ngày"
    )
    assert said.en == (
        "Plan preventive action: 3 incidents of theft in Tân Thành hamlet within 30 days"
    )


def test_an_episode_longer_than_its_window_gives_its_days() -> None:
    said = suggestion(
        count=5,
        name=CategoryName("dispute", "Mâu thuẫn hàng xóm, gia đình", "Neighbour or family dispute"),
        hamlet_name="Xóm Bắc",
        hamlet_kind="residential_group",
        window_days=30,
        first_at=datetime(2026, 1, 31, 18, tzinfo=UTC),  # 1 February, local
        last_at=datetime(2026, 3, 20, 3, tzinfo=UTC),
    )

    assert said.vi == (
        "Lập kế hoạch phòng ngừa: 5 vụ mâu thuẫn hàng xóm, gia đình tại tổ dân phố Xóm Bắc "
        "từ 01/02/2026 đến 20/03/2026"
    )
    assert said.en.endswith("in Xóm Bắc residential group from 2026-02-01 to 2026-03-20")
