"""Rules of organisations, teams, members, contact and duty rosters, without servers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.registry.domain.organisations import (
    KIND_RANK,
    KINDS,
    Member,
    Organisation,
    OrganisationRuleViolation,
    Shift,
    add_member,
    add_shift,
    contact_roster,
    disband,
    on_duty,
    overlapping_pairs,
    register_organisation,
    remove_member,
    update_member,
)

DAY = date(2025, 9, 9)
T0 = datetime(2025, 9, 9, 11, 0, tzinfo=UTC)  # 18:00 in Vietnam
HAMLET_PATH = ("p", "c", "h")


def team(kind: str = "people_security", *members: Member) -> Organisation:
    org = register_organisation(
        organisation_id=f"t-{kind}",
        unit_id="h",
        unit_path=HAMLET_PATH,
        unit_level="hamlet",
        unit_valid_from=date(2020, 1, 1),
        kind=kind,
        name=f"Tổ {kind}",
        valid_from=date(2024, 1, 1),
    )
    for m in members:
        org = add_member(org, m, person_unit_path=HAMLET_PATH, person_active=True)
    return org


def member(person: str, role: str = "member", order: int | None = None, **kw: object) -> Member:
    return Member(
        id=f"m-{person}",
        person_id=person,
        role=role,
        valid_from=kw.pop("valid_from", date(2024, 1, 1)),  # type: ignore[arg-type]
        valid_to=kw.pop("valid_to", None),  # type: ignore[arg-type]
        contact_order=order,
    )


def shift(sid: str, start: int, end: int, *people: str) -> Shift:
    return Shift(sid, T0 + timedelta(hours=start), T0 + timedelta(hours=end), people)


def test_every_kind_has_a_contact_rank_and_a_category() -> None:
    assert set(KIND_RANK) == set(KINDS)
    assert team("gong_point").category == "team"
    assert team("youth_union").category == "organisation"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "castle"}, "kind"),
        ({"unit_level": "province"}, "unit_id"),
        ({"valid_from": date(2019, 1, 1)}, "valid_from"),
        ({"unit_status": "merged", "unit_successor_id": "h2"}, "unit_id"),
    ],
)
def test_invalid_registration_names_the_field(changes: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "organisation_id": "o",
        "unit_id": "h",
        "unit_path": HAMLET_PATH,
        "unit_level": "hamlet",
        "unit_valid_from": date(2020, 1, 1),
        "kind": "mediation",
        "name": "Tổ hòa giải",
        "valid_from": date(2024, 1, 1),
    } | changes
    with pytest.raises(OrganisationRuleViolation) as raised:
        register_organisation(**args)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_member_from_outside_the_unit_subtree_is_refused() -> None:
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_member(team(), member("x"), person_unit_path=("p", "c", "other"), person_active=True)
    assert raised.value.field == "person_id"


def test_member_who_lives_in_a_unit_below_the_team_unit_is_accepted() -> None:
    commune_team = register_organisation(
        organisation_id="o",
        unit_id="c",
        unit_path=("p", "c"),
        unit_level="commune",
        unit_valid_from=date(2020, 1, 1),
        kind="youth_shock_troop",
        name="Đội xung kích xã",
        valid_from=date(2024, 1, 1),
    )
    joined = add_member(commune_team, member("a"), person_unit_path=HAMLET_PATH, person_active=True)
    assert [m.person_id for m in joined.members] == ["a"]
    assert joined.version == 2


def test_same_person_twice_in_overlapping_periods_is_a_conflict() -> None:
    org = team("mediation", member("a"))
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_member(org, member("a"), person_unit_path=HAMLET_PATH, person_active=True)
    assert raised.value.conflict


def test_membership_dates_are_checked_and_shown_as_dd_mm_yyyy() -> None:
    with pytest.raises(OrganisationRuleViolation) as raised:
        team("mediation", member("a", valid_from=date(2025, 2, 1), valid_to=date(2025, 1, 1)))
    assert raised.value.field == "valid_to"
    assert "01/01/2025" in str(raised.value) and "01/02/2025" in str(raised.value)


def test_contact_roster_puts_explicit_order_then_security_leaders_first() -> None:
    security = team(
        "people_security", member("s-member"), member("s-lead", "leader"), member("s-dep", "deputy")
    )
    mediation = team("mediation", member("m-lead", "leader"), member("m-first", "member", order=1))
    roster = contact_roster([mediation, security], DAY)
    assert [e.person_id for e in roster] == ["m-first", "s-lead", "m-lead", "s-dep", "s-member"]


def test_contact_roster_lists_each_person_once_at_their_best_membership() -> None:
    security = team("people_security", member("a", "member"))
    youth = team("youth_union", member("a", "leader"))
    roster = contact_roster([security, youth], DAY)
    assert len(roster) == 1
    assert (roster[0].role, roster[0].organisation_kind) == ("leader", "youth_union")


def test_contact_roster_skips_ended_memberships_disbanded_bodies_and_ineligible_people() -> None:
    ended = member("old", "leader", valid_to=date(2025, 1, 1))
    org = team("people_security", ended, member("b"), member("gone"))
    assert [e.person_id for e in contact_roster([org], DAY, eligible=["b", "old"])] == ["b"]
    assert contact_roster([disband(org, DAY)], DAY) == []


def test_contact_roster_breaks_ties_by_folded_name() -> None:
    org = team("people_security", member("x"), member("y"))
    roster = contact_roster([org], DAY, name_keys={"x": "tran van b", "y": "le thi a"})
    assert [e.person_id for e in roster] == ["y", "x"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["leader", "deputy", "secretary", "member"]),
            st.sampled_from(KINDS),
            st.one_of(st.none(), st.integers(1, 5)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_contact_roster_is_ordered_by_the_stated_rule(
    rows: list[tuple[str, str, int | None]],
) -> None:
    orgs = [
        Organisation(
            id=f"o{i}",
            unit_id="h",
            unit_path=HAMLET_PATH,
            kind=kind,
            name="x",
            valid_from=date(2024, 1, 1),
            members=(member(f"p{i}", role, order),),
        )
        for i, (role, kind, order) in enumerate(rows)
    ]
    roster = contact_roster(orgs, DAY)
    assert len(roster) == len(rows)
    ordered = [e for e in roster if e.contact_order is not None]
    assert roster[: len(ordered)] == ordered  # explicit orders first
    assert [e.contact_order for e in ordered] == sorted(e.contact_order or 0 for e in ordered)
    rest = roster[len(ordered) :]
    ranks = [("leader", "deputy", "secretary", "member").index(e.role) for e in rest]
    assert ranks == sorted(ranks)


def test_shift_of_a_non_member_is_refused() -> None:
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_shift(team("people_security", member("a")), shift("s", 0, 4, "a", "b"))
    assert raised.value.field == "person_ids"


def test_shift_ending_before_it_starts_is_refused_in_vietnam_time() -> None:
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_shift(team("people_security", member("a")), shift("s", 4, 2, "a"))
    assert raised.value.field == "ends_at"
    assert "22:00 09/09/2025" in str(raised.value)  # 15:00 UTC


def test_overlapping_shift_of_the_same_member_is_a_conflict_back_to_back_is_not() -> None:
    org = add_shift(team("people_security", member("a"), member("b")), shift("s1", 0, 4, "a"))
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_shift(org, shift("s2", 3, 6, "b", "a"))
    assert raised.value.conflict and "s1" in str(raised.value)
    org = add_shift(org, shift("s3", 4, 8, "a"))
    org = add_shift(org, shift("s4", 2, 6, "b"))
    assert [s.id for s in org.shifts] == ["s1", "s3", "s4"]


def test_duty_rosters_are_for_teams_only() -> None:
    with pytest.raises(OrganisationRuleViolation) as raised:
        add_shift(team("party_cell", member("a")), shift("s", 0, 4, "a"))
    assert raised.value.conflict


@given(
    st.lists(
        st.tuples(
            st.integers(0, 48), st.integers(1, 12), st.sets(st.sampled_from("abc"), min_size=1)
        ),
        max_size=10,
    )
)
def test_accepted_shifts_never_overlap_for_a_member(
    requests: list[tuple[int, int, set[str]]],
) -> None:
    org = team("people_security", member("a"), member("b"), member("c"))
    for i, (start, length, people) in enumerate(requests):
        try:
            org = add_shift(org, shift(f"s{i}", start, start + length, *sorted(people)))
        except OrganisationRuleViolation as exc:
            refused_as_conflict = exc.conflict  # only overlaps are refused in this generator
            assert refused_as_conflict
    assert overlapping_pairs(org.shifts) == []


def test_on_duty_names_the_covering_shift_else_falls_back_to_contact_order() -> None:
    org = team("people_security", member("a", "leader"), member("b"))
    org = add_shift(org, shift("s1", 0, 4, "b"))
    roster = contact_roster([org], DAY)
    covered = on_duty(org, T0 + timedelta(hours=1), roster=roster)
    assert (covered.source, covered.person_ids, covered.shift_ids) == ("shifts", ("b",), ("s1",))
    after = on_duty(org, T0 + timedelta(hours=4), roster=roster)  # end is excluded
    assert (after.source, after.person_ids) == ("contact_order", ("a", "b"))


def test_member_on_a_future_shift_cannot_be_removed_until_the_shift_is() -> None:
    org = add_shift(team("people_security", member("a"), member("b")), shift("s1", 2, 4, "a"))
    with pytest.raises(OrganisationRuleViolation):
        remove_member(org, "m-a", now=T0)
    assert [m.id for m in remove_member(org, "m-b", now=T0).members] == ["m-a"]
    assert remove_member(org, "m-a", now=T0 + timedelta(hours=5)).members[0].id == "m-b"


def test_disbanding_ends_open_memberships_and_freezes_the_body() -> None:
    org = disband(team("mediation", member("a")), DAY)
    assert (org.status, org.valid_to, org.members[0].valid_to) == ("disbanded", DAY, DAY)
    with pytest.raises(OrganisationRuleViolation) as raised:
        update_member(org, "m-a", role="leader")
    assert raised.value.conflict and "09/09/2025" in str(raised.value)


def test_member_update_changes_only_what_is_sent_and_a_no_op_keeps_the_version() -> None:
    org = team("mediation", member("a", order=2))
    assert update_member(org, "m-a") is org
    changed = update_member(org, "m-a", role="leader", clear_contact_order=True)
    assert (changed.members[0].role, changed.members[0].contact_order) == ("leader", None)
    assert changed.version == org.version + 1
