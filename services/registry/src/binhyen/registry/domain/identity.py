"""Users and their grants: who may grant what, where. Pure rules, no I/O.

A grant is a role held at an admin unit and its subtree. Its *unit path* is the
unit's ancestors plus the unit itself (``("*",)`` for a grant that covers the
whole country). A caller's *scope* for an ability is the list of units where the
caller holds it, or None when the caller holds it everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

EVERYWHERE = "*"
KINDS = ("user", "agency")
ADMIN_ROLE = "admin"
AGENCY_ROLE = "agency"
# Roles only an administrator over the unit may give or take away: admin rules everything,
# and police may unmask the reporters of tips, which no commune officer may do.
ADMIN_ONLY_ROLES = (ADMIN_ROLE, "police")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024  # argon2 hashes anything, but unbounded input is a cheap DoS
USERNAME_PATTERN = re.compile(r"^[\w.@+-]{3,64}$")

Scope = Sequence[str] | None  # units where an ability holds; None = everywhere


class IdentityRuleViolation(Exception):
    """A value breaks a rule of users or grants (maps to 422 on ``field``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class IdentityConflict(Exception):
    """The change conflicts with the user's current state (maps to 409)."""


class GrantRefused(Exception):
    """The caller may not make this change; ``outside_scope`` when it is beyond their units."""

    def __init__(self, message: str, *, outside_scope: bool = False) -> None:
        super().__init__(message)
        self.outside_scope = outside_scope


@dataclass(frozen=True)
class UserGrant:
    """A role a user holds at a unit (and its subtree)."""

    id: str
    role: str
    unit_id: str
    unit_path: tuple[str, ...]
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class User:
    """An account: a person (``user``) or an agency's machine client (``agency``)."""

    id: str
    username: str
    display_name: str
    kind: str
    active: bool = True
    grants: tuple[UserGrant, ...] = field(default_factory=tuple)
    version: int = 1
    created_at: datetime | None = None

    @property
    def username_key(self) -> str:
        """The key usernames are unique by (case-insensitive)."""
        return username_key(self.username)


def normalise_username(raw: str) -> str:
    """NFC and trimmed; raise unless it is 3–64 letters, digits or ``. _ - @ +``."""
    value = unicodedata.normalize("NFC", raw).strip()
    if not USERNAME_PATTERN.fullmatch(value):
        raise IdentityRuleViolation(
            "a username is 3 to 64 letters, digits or . _ - @ +, without spaces",
            field="username",
        )
    return value


def username_key(username: str) -> str:
    """The case-insensitive key of a username (NFC, case-folded)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", username).strip().casefold())


def check_password(password: str, *, username: str | None = None, field: str = "password") -> None:
    """Raise unless the password is acceptable (never echoes it)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise IdentityRuleViolation(
            f"a password needs at least {PASSWORD_MIN_LENGTH} characters", field=field
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise IdentityRuleViolation(
            f"a password has at most {PASSWORD_MAX_LENGTH} characters", field=field
        )
    if username is not None and username_key(password) == username_key(username):
        raise IdentityRuleViolation("the password must not be the username", field=field)


def check_kind(kind: str) -> None:
    """Raise unless ``kind`` is a known kind of account."""
    if kind not in KINDS:
        raise IdentityRuleViolation(f"kind must be one of {', '.join(KINDS)}", field="kind")


def covers(scope: Scope, unit_path: Collection[str]) -> bool:
    """True if a unit of ``scope`` lies on ``unit_path`` (None covers everything)."""
    if scope is None:
        return True
    return any(unit in unit_path for unit in scope if unit != EVERYWHERE)


def check_grant(
    *,
    grantor: str,
    grantee: str,
    grantee_kind: str,
    role: str,
    unit_path: Collection[str],
    manage_scope: Scope,
    admin_scope: Scope,
    roles: Collection[str],
    grantor_holds_role: bool,
) -> None:
    """Raise unless ``grantor`` may give ``grantee`` ``role`` at the unit of ``unit_path``.

    Rules: the role exists; nobody grants themselves anything; the unit lies inside
    the grantor's ``users:manage`` scope; only an administrator (over that unit) may
    grant ``admin`` or ``police``; the grantor holds every right of the role at that
    unit (``grantor_holds_role``), so nobody hands out more than they have; an agency
    account holds only the read-only ``agency`` role.
    """
    if role not in roles:
        raise IdentityRuleViolation(f"role must be one of {', '.join(roles)}", field="role")
    if grantor == grantee:
        raise GrantRefused("you cannot grant roles to yourself; ask another manager")
    if not covers(manage_scope, unit_path):
        raise GrantRefused("this unit is outside the units you manage", outside_scope=True)
    if role in ADMIN_ONLY_ROLES and not covers(admin_scope, unit_path):
        raise GrantRefused(f"only an administrator may grant the {role} role")
    if not grantor_holds_role:
        raise GrantRefused(
            f"you may only grant roles whose rights you hold yourself at that unit; "
            f"{role} has rights you do not hold there"
        )
    if grantee_kind == AGENCY_ROLE and role != AGENCY_ROLE:
        raise IdentityRuleViolation(
            "an agency account can only hold the read-only agency role", field="role"
        )


def check_revoke(
    *, grantor: str, user: User, grant: UserGrant, manage_scope: Scope, admin_scope: Scope
) -> None:
    """Raise unless ``grantor`` may take ``grant`` away from ``user``."""
    if grantor == user.id:
        raise GrantRefused("you cannot change your own roles; ask another manager")
    if not covers(manage_scope, grant.unit_path):
        raise GrantRefused("this grant is outside the units you manage", outside_scope=True)
    if grant.role in ADMIN_ONLY_ROLES and not covers(admin_scope, grant.unit_path):
        raise GrantRefused(f"only an administrator may take away the {grant.role} role")


def can_see(*, viewer: str, user: User, manage_scope: Scope) -> bool:
    """True if ``viewer`` may read ``user``: themselves, or a manager of one of its units."""
    if viewer == user.id or manage_scope is None:
        return True
    return any(covers(manage_scope, g.unit_path) for g in user.grants)


def check_manage_account(
    *, manager: str, user: User, manage_scope: Scope, admin_scope: Scope
) -> None:
    """Raise unless ``manager`` may reset ``user``'s password or deactivate it.

    Both hand over or end every role of the account, so the manager must be able
    to revoke each of its grants; otherwise a commune officer could take over a
    national account that also holds a role in the commune.
    """
    if manager == user.id:
        raise GrantRefused("you cannot do this to your own account; ask another manager")
    if not can_see(viewer=manager, user=user, manage_scope=manage_scope):
        raise GrantRefused("this user is outside the units you manage", outside_scope=True)
    for grant in user.grants:
        try:
            check_revoke(
                grantor=manager,
                user=user,
                grant=grant,
                manage_scope=manage_scope,
                admin_scope=admin_scope,
            )
        except GrantRefused as exc:
            raise GrantRefused(
                "this user also holds roles beyond the units you manage; "
                "ask a manager of all of them"
            ) from exc


def add_grant(user: User, grant: UserGrant) -> User:
    """The user with ``grant`` added; a duplicate role at the same unit is a conflict."""
    if any(g.role == grant.role and g.unit_id == grant.unit_id for g in user.grants):
        raise IdentityConflict(f"the user already holds {grant.role} at unit {grant.unit_id}")
    return replace(user, grants=(*user.grants, grant), version=user.version + 1)


def remove_grant(user: User, grant_id: str) -> tuple[User, UserGrant]:
    """The user without grant ``grant_id``, and that grant; KeyError if it has none such."""
    for grant in user.grants:
        if grant.id == grant_id:
            kept = tuple(g for g in user.grants if g.id != grant_id)
            return replace(user, grants=kept, version=user.version + 1), grant
    raise KeyError(grant_id)


def deactivate(user: User) -> User:
    """The user, deactivated; deactivating twice is a conflict."""
    if not user.active:
        raise IdentityConflict("the user is already deactivated")
    return replace(user, active=False, version=user.version + 1)


def visible_grants(user: User, *, viewer: str, manage_scope: Scope) -> tuple[UserGrant, ...]:
    """The grants of ``user`` a viewer may see: all of their own, else those they manage."""
    if viewer == user.id:
        return user.grants
    return tuple(g for g in user.grants if covers(manage_scope, g.unit_path))
