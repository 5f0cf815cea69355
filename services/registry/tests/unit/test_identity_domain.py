"""Grant rules and account rules of the identity domain (no servers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from binhyen.registry.domain import identity as d

ROLES = ("admin", "commune_officer", "hamlet_officer", "team_member", "police", "agency")
# Hà Tĩnh → Kỳ Anh → Kỳ Nam → Tân Thành; and a second commune under Kỳ Anh.
KY_NAM = ("ha-tinh", "ky-anh", "ky-nam")
TAN_THANH = (*KY_NAM, "tan-thanh")
KY_BAC_HAMLET = ("ha-tinh", "ky-anh", "ky-bac", "hamlet-b")
NOW = datetime(2025, 7, 1, tzinfo=UTC)


def grant(role: str, path: tuple[str, ...], gid: str = "g1") -> d.UserGrant:
    return d.UserGrant(gid, role, path[-1], path, "someone", NOW)


def user(*grants: d.UserGrant, uid: str = "u-target", kind: str = "user") -> d.User:
    return d.User(uid, "target", "Target", kind, grants=grants)


def check(
    role: str,
    path: tuple[str, ...],
    *,
    manage: d.Scope,
    admin: d.Scope = (),
    grantor: str = "u-officer",
    kind: str = "user",
    holds: bool = True,
) -> None:
    d.check_grant(
        grantor=grantor,
        grantee="u-target",
        grantee_kind=kind,
        role=role,
        unit_path=path,
        manage_scope=manage,
        admin_scope=admin,
        roles=ROLES,
        grantor_holds_role=holds,
    )


def test_commune_officer_may_grant_in_a_hamlet_of_its_commune() -> None:
    check("hamlet_officer", TAN_THANH, manage=["ky-nam"])
    check("team_member", KY_NAM, manage=["ky-nam"])


def test_grant_outside_the_managed_subtree_is_refused_as_outside_scope() -> None:
    with pytest.raises(d.GrantRefused) as refused:
        check("hamlet_officer", KY_BAC_HAMLET, manage=["ky-nam"])
    assert refused.value.outside_scope


def test_grant_above_the_managed_unit_is_outside_scope() -> None:
    with pytest.raises(d.GrantRefused) as refused:
        check("police", ("ha-tinh", "ky-anh"), manage=["ky-nam"])
    assert refused.value.outside_scope


def test_only_an_admin_over_the_unit_may_grant_admin() -> None:
    with pytest.raises(d.GrantRefused) as refused:
        check("admin", TAN_THANH, manage=["ky-nam"])
    assert not refused.value.outside_scope
    check("admin", TAN_THANH, manage=None, admin=None)
    check("admin", TAN_THANH, manage=["ha-tinh"], admin=["ha-tinh"])
    with pytest.raises(d.GrantRefused):
        check("admin", KY_BAC_HAMLET, manage=None, admin=["ky-nam"])


def test_only_an_admin_over_the_unit_may_grant_police() -> None:
    with pytest.raises(d.GrantRefused, match="administrator") as refused:
        check("police", TAN_THANH, manage=["ky-nam"])
    assert not refused.value.outside_scope
    check("police", TAN_THANH, manage=["ky-nam"], admin=["ky-nam"])
    with pytest.raises(d.GrantRefused, match="administrator"):
        d.check_revoke(
            grantor="u-officer",
            user=user(grant("police", TAN_THANH)),
            grant=grant("police", TAN_THANH),
            manage_scope=["ky-nam"],
            admin_scope=[],
        )


def test_a_role_with_rights_the_grantor_lacks_is_refused() -> None:
    with pytest.raises(d.GrantRefused, match="hold yourself") as refused:
        check("hamlet_officer", TAN_THANH, manage=["ky-nam"], holds=False)
    assert not refused.value.outside_scope


def test_a_grant_everywhere_needs_a_national_manager() -> None:
    with pytest.raises(d.GrantRefused) as refused:
        check("police", ("*",), manage=["ha-tinh"])
    assert refused.value.outside_scope
    check("police", ("*",), manage=None, admin=None)
    with pytest.raises(d.GrantRefused):
        check("admin", ("*",), manage=None, admin=["ha-tinh"])
    check("admin", ("*",), manage=None, admin=None)


def test_nobody_grants_themselves_anything() -> None:
    with pytest.raises(d.GrantRefused, match="yourself"):
        check("team_member", TAN_THANH, manage=None, admin=None, grantor="u-target")


def test_unknown_role_names_the_field() -> None:
    with pytest.raises(d.IdentityRuleViolation) as bad:
        check("king", TAN_THANH, manage=None)
    assert bad.value.field == "role"


def test_agency_account_holds_only_the_agency_role() -> None:
    check("agency", ("ha-tinh",), manage=None, kind="agency")
    with pytest.raises(d.IdentityRuleViolation):
        check("police", ("ha-tinh",), manage=None, admin=None, kind="agency")


def test_revoke_follows_the_same_scope_and_admin_rules() -> None:
    target = user(grant("hamlet_officer", TAN_THANH), grant("admin", KY_NAM, "g2"))
    d.check_revoke(
        grantor="u-officer",
        user=target,
        grant=target.grants[0],
        manage_scope=["ky-nam"],
        admin_scope=(),
    )
    with pytest.raises(d.GrantRefused):
        d.check_revoke(
            grantor="u-officer",
            user=target,
            grant=target.grants[1],
            manage_scope=["ky-nam"],
            admin_scope=(),
        )
    with pytest.raises(d.GrantRefused, match="own"):
        d.check_revoke(
            grantor="u-target",
            user=target,
            grant=target.grants[0],
            manage_scope=None,
            admin_scope=None,
        )


def test_managing_an_account_needs_every_one_of_its_grants() -> None:
    local = user(grant("hamlet_officer", TAN_THANH))
    d.check_manage_account(manager="u-officer", user=local, manage_scope=["ky-nam"], admin_scope=())
    wider = user(grant("hamlet_officer", TAN_THANH), grant("police", KY_BAC_HAMLET, "g2"))
    with pytest.raises(d.GrantRefused) as refused:
        d.check_manage_account(
            manager="u-officer", user=wider, manage_scope=["ky-nam"], admin_scope=()
        )
    assert not refused.value.outside_scope
    stranger = user(grant("police", KY_BAC_HAMLET))
    with pytest.raises(d.GrantRefused) as refused:
        d.check_manage_account(
            manager="u-officer", user=stranger, manage_scope=["ky-nam"], admin_scope=()
        )
    assert refused.value.outside_scope


def test_a_user_without_grants_is_seen_only_by_national_managers_and_itself() -> None:
    bare = user()
    assert not d.can_see(viewer="u-officer", user=bare, manage_scope=["ky-nam"])
    assert d.can_see(viewer="u-officer", user=bare, manage_scope=None)
    assert d.can_see(viewer="u-target", user=bare, manage_scope=[])


def test_viewers_see_only_the_grants_they_manage() -> None:
    target = user(grant("hamlet_officer", TAN_THANH), grant("police", KY_BAC_HAMLET, "g2"))
    seen = d.visible_grants(target, viewer="u-officer", manage_scope=["ky-nam"])
    assert [g.id for g in seen] == ["g1"]
    assert d.visible_grants(target, viewer="u-target", manage_scope=[]) == target.grants


def test_duplicate_grant_is_a_conflict_and_removal_bumps_the_version() -> None:
    target = user(grant("hamlet_officer", TAN_THANH))
    with pytest.raises(d.IdentityConflict):
        d.add_grant(target, grant("hamlet_officer", TAN_THANH, "g9"))
    changed, removed = d.remove_grant(target, "g1")
    assert (changed.grants, removed.id, changed.version) == ((), "g1", 2)
    with pytest.raises(KeyError):
        d.remove_grant(target, "nope")


def test_deactivating_twice_is_a_conflict() -> None:
    off = d.deactivate(user())
    assert not off.active
    with pytest.raises(d.IdentityConflict):
        d.deactivate(off)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("  Officer.KyNam ", "Officer.KyNam"), ("can.bo\u0301", "can.bó"), ("a@b.vn", "a@b.vn")],
)
def test_usernames_are_nfc_and_trimmed(raw: str, normal: str) -> None:
    assert d.normalise_username(raw) == normal


@pytest.mark.parametrize("raw", ["ab", "two words", "x" * 65, "semi;colon", ""])
def test_bad_usernames_are_refused(raw: str) -> None:
    with pytest.raises(d.IdentityRuleViolation) as bad:
        d.normalise_username(raw)
    assert bad.value.field == "username"


def test_username_key_ignores_case_and_normal_form() -> None:
    assert (
        d.username_key("Cán.Bộ")
        == d.username_key("cán.bộ")
        == d.username_key("ca\u0301n.bo\u0323\u0302")
    )


def test_password_rules_never_echo_the_password() -> None:
    for password in ("short", "x" * 2000, "Officer.A.1"):
        with pytest.raises(d.IdentityRuleViolation) as bad:
            d.check_password(password, username="officer.a.1")
        assert password not in str(bad.value)
        assert bad.value.field == "password"
    d.check_password("a long enough passphrase", username="officer")
