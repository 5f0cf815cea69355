"""Roles scoped to subtrees, and token verification against a JWKS."""

import pytest

from binhyen.kit.auth import (
    Forbidden,
    Grant,
    Principal,
    TokenVerifier,
    Unauthorized,
    authorize,
)
from binhyen.kit.problems import NotFound
from binhyen.kit.testing import TestIssuer

# Hà Tĩnh (p) → Kỳ Anh (t) → Kỳ Nam (c) → Tân Thành (h1), Quý Huệ (h2)
H1 = ("p", "t", "c", "h1")
H2 = ("p", "t", "c", "h2")


def test_grant_covers_its_unit_and_subtree_only() -> None:
    officer = Principal("u", grants=(Grant("hamlet_officer", "h1"),))
    assert officer.allows("households:write", H1)
    assert not officer.allows("households:write", H2)
    assert not officer.allows("households:write", ("p", "t", "c"))
    commune = Principal("u", grants=(Grant("commune_officer", "c"),))
    assert commune.allows("households:write", H1) and commune.allows("households:write", H2)


def test_agency_reads_public_data_only() -> None:
    agency = Principal("a", kind="agency", grants=(Grant("agency", "*"),))
    assert agency.allows("units:read", H1)
    assert not agency.allows("people:read", H1)
    assert not agency.allows("households:read", H1)
    assert agency.scopes("units:read") is None
    assert agency.scopes("people:read") == []


def test_authorize_hides_objects_outside_scope_and_forbids_inside() -> None:
    member = Principal("m", grants=(Grant("team_member", "h1"),))
    with pytest.raises(NotFound):
        authorize(member, "people:read", H2, what="resident r1")
    with pytest.raises(Forbidden):
        authorize(member, "people:read", H1, what="resident r1")
    authorize(member, "organisations:read", H1, what="team t1")


async def test_verifier_accepts_issuer_tokens_and_rejects_bad_ones() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=issuer.jwks)
    principal = await verifier.verify(issuer.token(("hamlet_officer", "h1"), subject="u1"))
    assert principal.subject == "u1"
    assert principal.grants == (Grant("hamlet_officer", "h1"),)
    with pytest.raises(Unauthorized):
        await verifier.verify(issuer.token(("admin", "*"), ttl=-10))
    with pytest.raises(Unauthorized):
        await verifier.verify(issuer.token(("admin", "*"), aud="someone-else"))
    with pytest.raises(Unauthorized):
        await verifier.verify(TestIssuer().token(("admin", "*")))  # another key
    with pytest.raises(Unauthorized):
        await verifier.verify("not-a-jwt")


async def test_unknown_roles_in_a_token_grant_nothing() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, jwks=issuer.jwks)
    principal = await verifier.verify(issuer.token(("emperor", "*")))
    assert principal.grants == ()


async def test_a_static_jwks_is_not_refetched_from_the_default_url() -> None:
    from binhyen.kit.runtime import ServiceSpec, open_runtime
    from binhyen.kit.settings import ServiceSettings
    from binhyen.kit.testing import TestIssuer

    issuer = TestIssuer()
    settings = ServiceSettings(
        mongodb_database="unused",
        consumer_group="unused",
        auth_issuer=issuer.issuer,
        auth_jwks_json=issuer.jwks_json,
        mongodb_timeout_ms=100,
    )
    async with open_runtime(ServiceSpec(name="t", title="t", routers=[]), settings) as rt:
        assert rt.verifier is not None
        rt.verifier._refresh = 0.0  # keys count as stale at once
        principal = await rt.verifier.verify(issuer.token(("admin", "*"), subject="s"))
        assert principal.subject == "s"
