"""Who may read what reporting computes: staff their units' figures, agencies public ones only.

Agencies hold ``stats:read`` (the registry's unit counts are theirs to read), but the figures
here name small counts and incident ids: an agency reads ``/api/v1/public/statistics``, where
small counts are suppressed, and nothing else of reporting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from binhyen.kit.auth import Forbidden, Principal, authorize

AGENCY = "agency"  # the role, and the kind of token, of other agencies


def authorize_staff(
    principal: Principal, permission: str, unit_path: Collection[str], *, what: str
) -> None:
    """Like ``kit.auth.authorize``, not counting agency grants or agency tokens (403 for them)."""
    if principal.kind != AGENCY:
        staff = replace(principal, grants=tuple(g for g in principal.grants if g.role != AGENCY))
        if staff.allows(permission, unit_path):
            return
    if principal.allows(permission, unit_path):
        raise Forbidden(
            f"agencies read public statistics only (/api/v1/public/statistics), not {what}"
        )
    authorize(principal, permission, unit_path, what=what)
