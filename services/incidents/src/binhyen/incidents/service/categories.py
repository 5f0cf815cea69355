"""The category catalogue and the deadline policy: read by all, edited by commune staff."""

from __future__ import annotations

from dataclasses import replace

from binhyen.incidents.domain.categories import (
    Category,
    CategoryRuleViolation,
    define_category,
    revise,
)
from binhyen.incidents.domain.deadlines import DeadlinePolicy, PolicyRuleViolation, check_policy
from binhyen.incidents.service.common import Context, check_version, domain_error, lost_race
from binhyen.incidents.service.events import category_outbox
from binhyen.kit.auth import EVERYWHERE, Forbidden, Principal
from binhyen.kit.problems import Conflict, NotFound, if_match_given, retry_unconditional

EDITORS = frozenset({"admin", "commune_officer"})


def require_editor(principal: Principal) -> None:
    """The catalogue and the policy serve the whole deployment: editors hold a role at *."""
    if not any(g.role in EDITORS and g.unit_id == EVERYWHERE for g in principal.grants):
        raise Forbidden(
            "the catalogue and the deadline policy apply to the whole deployment; editing them "
            "needs the commune_officer or admin role granted at * (everywhere)"
        )


async def list_categories(ctx: Context, *, include_retired: bool = False) -> list[Category]:
    """The catalogue."""
    return await ctx.stores.categories.all(include_retired=include_retired)


async def get_category(ctx: Context, code: str) -> Category:
    """One category, or 404."""
    category = await ctx.stores.categories.get(code)
    if category is None:
        raise NotFound(f"category {code} does not exist")
    return category


async def create_category(ctx: Context, category: Category, *, principal: Principal) -> Category:
    """Add a category (version 1)."""
    require_editor(principal)
    try:
        checked = define_category(replace(category, version=1))
    except CategoryRuleViolation as exc:
        raise domain_error(exc) from exc
    entries = category_outbox(ctx.settings, checked)
    if not await ctx.stores.categories.insert(checked, entries):
        raise Conflict(f"category {category.code} exists; edit it instead", field="code")
    ctx.publish_new("categories", checked.code, entries)
    ctx.cache.forget(("category", checked.code))
    return checked


@retry_unconditional(if_match_given)
async def revise_category(
    ctx: Context, category: Category, *, principal: Principal, expected_version: int | None
) -> Category:
    """Store a new version of a category; incidents keep the version they were filed under."""
    require_editor(principal)
    current = await get_category(ctx, category.code)
    check_version(current.version, expected_version, f"category {category.code}")
    try:
        revised = revise(current, category)
    except CategoryRuleViolation as exc:
        raise domain_error(exc) from exc
    entries = category_outbox(ctx.settings, revised)
    if not await ctx.stores.categories.replace(current, revised, entries):
        raise lost_race(f"category {category.code}")
    ctx.publish_pending("categories", revised.code)
    ctx.cache.forget(("category", revised.code))
    return revised


async def get_policy(ctx: Context) -> DeadlinePolicy:
    """The deadline policy in force."""
    return await ctx.stores.categories.policy(ctx.default_policy)


async def policy_for_intake(ctx: Context) -> DeadlinePolicy:
    """The deadline policy, as recently read (intake's hot path)."""
    return await ctx.cache.get("policy", lambda: get_policy(ctx))


async def category_for_intake(ctx: Context, code: str) -> Category | None:
    """A category, as recently read (intake's hot path)."""
    return await ctx.cache.get(("category", code), lambda: ctx.stores.categories.get(code))


@retry_unconditional(if_match_given)
async def set_policy(
    ctx: Context, policy: DeadlinePolicy, *, principal: Principal, expected_version: int | None
) -> DeadlinePolicy:
    """Store new deadline targets (for incidents reported from now on)."""
    require_editor(principal)
    current = await get_policy(ctx)
    check_version(current.version, expected_version, "the deadline policy")
    try:
        checked = check_policy(replace(policy, version=current.version + 1))
    except PolicyRuleViolation as exc:
        raise domain_error(exc) from exc
    if not await ctx.stores.categories.save_policy(checked, expected_version=current.version):
        raise lost_race("the deadline policy")
    ctx.cache.forget("policy")
    return checked
