"""Identity against real servers: tokens, JWKS, lockout, users and grants in scope."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from binhyen.kit.auth import TokenVerifier
from binhyen.kit.runtime import Runtime
from binhyen.kit.testing import serve
from binhyen.registry.app import create_app
from binhyen.registry.domain.identity import User
from binhyen.registry.service import identity as service
from binhyen.registry.settings import Settings
from binhyen.registry.store import Stores

ROOT = "root.admin"
ROOT_PASSWORD = "bootstrap passphrase 42"
TOKEN = "/api/v1/auth/token"


def with_bootstrap(settings: Settings) -> Settings:
    """The test settings plus a bootstrap admin."""
    return settings.model_copy(
        update={
            "bootstrap_admin_username": ROOT,
            "bootstrap_admin_password": SecretStr(ROOT_PASSWORD),
        }
    )


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """POST the password grant."""
    return await client.post(
        TOKEN, data={"grant_type": "password", "username": username, "password": password}
    )


async def token_of(client: httpx.AsyncClient, username: str, password: str) -> str:
    """A token for these credentials (asserting the login works)."""
    response = await login(client, username, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def tree(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """Hà Tĩnh → Kỳ Anh → Kỳ Nam (Tân Thành, Quý Huệ) and Kỳ Bắc (Thôn Bắc)."""
    ids: dict[str, str] = {}
    for slug, kind, name, parent in [
        ("ha-tinh", "province", "Hà Tĩnh", None),
        ("ky-anh", "town", "Kỳ Anh", "ha-tinh"),
        ("ky-nam", "commune", "Kỳ Nam", "ky-anh"),
        ("tan-thanh", "hamlet", "Tân Thành", "ky-nam"),
        ("quy-hue", "hamlet", "Quý Huệ", "ky-nam"),
        ("ky-bac", "commune", "Kỳ Bắc", "ky-anh"),
        ("thon-bac", "hamlet", "Thôn Bắc", "ky-bac"),
    ]:
        body: dict[str, Any] = {"kind": kind, "name": name, "valid_from": "2020-01-01"}
        if parent:
            body["parent_id"] = ids[parent]
        created = await client.post("/api/v1/units", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ids[slug] = created.json()["id"]
    return ids


async def create_user(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    username: str,
    grants: list[tuple[str, str]],
    *,
    kind: str = "user",
    password: str = "a long enough password",
) -> httpx.Response:
    """POST /api/v1/users."""
    return await client.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": username.title(),
            "kind": kind,
            "password": password,
            "grants": [{"role": r, "unit_id": u} for r, u in grants],
        },
        headers=headers,
    )


@asynccontextmanager
async def registry(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The registry app, without default headers."""
    async with serve(create_app(settings)) as (client, rt):
        yield client, rt


async def test_bootstrap_admin_logs_in_and_its_token_works_on_units(
    registry_settings: Settings,
) -> None:
    settings = with_bootstrap(registry_settings)
    async with registry(settings) as (client, rt):
        response = await login(client, "ROOT.Admin", ROOT_PASSWORD)  # case-insensitive
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == settings.access_token_ttl_seconds
        assert response.headers["cache-control"] == "no-store"
        headers = bearer(body["access_token"])
        created = await client.post(
            "/api/v1/units",
            json={"kind": "province", "name": "Hà Tĩnh", "valid_from": "2020-01-01"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        read = await client.get(f"/api/v1/units/{created.json()['id']}", headers=headers)
        assert read.status_code == 200
        assert read.json()["name"] == "Hà Tĩnh"
        me = (await client.get("/api/v1/auth/me", headers=headers)).json()
        assert me["kind"] == "user"
        assert me["grants"] == [{"role": "admin", "unit_id": "*"}]
        stored = await rt.db["users"].find_one({"username_key": "root.admin"})
        assert stored is not None and stored["_id"] == me["subject"]
        assert stored["password_hash"].startswith("$argon2id$")
        assert ROOT_PASSWORD not in str(stored)
    async with registry(settings) as (client, rt):  # a restart neither duplicates nor resets
        assert await rt.db["users"].count_documents({}) == 1
        assert (await login(client, ROOT, ROOT_PASSWORD)).status_code == 200


async def test_jwks_endpoint_verifies_the_issued_token(registry_settings: Settings) -> None:
    settings = with_bootstrap(registry_settings)
    async with registry(settings) as (client, _):
        token = await token_of(client, ROOT, ROOT_PASSWORD)
        jwks = (await client.get("/.well-known/jwks.json")).json()
        discovery = (await client.get("/.well-known/openid-configuration")).json()
    kids = [k["kid"] for k in jwks["keys"]]
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": kids[0], "typ": "JWT"}
    assert all("d" not in k for k in jwks["keys"])
    verifier = TokenVerifier(issuer=settings.auth_issuer, audience="binhyen", jwks=jwks)
    principal = await verifier.verify(token)
    assert principal.allows("units:write", ["anything"])
    claims = principal.claims
    assert (claims["iss"], claims["aud"], claims["kind"]) == (
        settings.auth_issuer,
        "binhyen",
        "user",
    )
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert discovery["issuer"] == settings.auth_issuer
    assert discovery["jwks_uri"].endswith("/.well-known/jwks.json")
    assert discovery["token_endpoint"].endswith(TOKEN)
    assert set(discovery["grant_types_supported"]) == {"password", "client_credentials"}


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> SecretStr:
    return SecretStr(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


def _private_numbers(key: rsa.RSAPrivateKey) -> list[str]:
    """The private parts of ``key`` as a JWK (base64url), in decimal and in hex."""
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    numbers = key.private_numbers()
    ints = (numbers.d, numbers.p, numbers.q)
    return [jwk[k] for k in ("d", "p", "q")] + [str(i) for i in ints] + [f"{i:x}" for i in ints]


async def test_replicas_share_the_configured_key_and_no_private_key_is_in_mongodb(
    registry_settings: Settings,
) -> None:
    key = _new_key()
    settings = with_bootstrap(registry_settings).model_copy(update={"signing_key_pem": _pem(key)})
    async with AsyncMongoClient[dict[str, Any]](settings.mongodb_uri) as mongo:
        db = mongo[settings.mongodb_database]
        # An earlier version kept a generated dev key in clear here; startup removes it.
        legacy = _new_key()
        await db["signing_keys"].insert_one(
            {"_id": "generated-rs256", "pem": _pem(legacy).get_secret_value()}
        )
        async with registry(settings) as (one, _), registry(settings) as (two, _):
            first, second = await asyncio.gather(
                one.get("/.well-known/jwks.json"), two.get("/.well-known/jwks.json")
            )
            assert first.json() == second.json()
            assert [k["kid"] for k in first.json()["keys"]] == [service.thumbprint(key)]
            token = await token_of(one, ROOT, ROOT_PASSWORD)
            assert (await two.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        secrets = _private_numbers(key) + _private_numbers(legacy)
        for name in await db.list_collection_names():
            async for doc in db[name].find({}):
                text = str(doc)
                assert "PRIVATE KEY" not in text, name
                assert not any(secret in text for secret in secrets), name


async def test_without_a_configured_key_each_process_signs_with_its_own(
    registry_settings: Settings,
) -> None:
    settings = with_bootstrap(registry_settings)
    async with registry(settings) as (one, _), registry(settings) as (two, _):
        token = await token_of(one, ROOT, ROOT_PASSWORD)
        assert (await one.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
        assert (await two.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
        async with AsyncMongoClient[dict[str, Any]](settings.mongodb_uri) as mongo:
            db = mongo[settings.mongodb_database]
            assert await db["signing_keys"].count_documents({}) == 0


async def test_after_a_rotation_tokens_of_the_previous_key_still_work(
    registry_settings: Settings,
) -> None:
    old, new, unknown = _new_key(), _new_key(), _new_key()
    settings = with_bootstrap(registry_settings).model_copy(
        update={"signing_key_pem": _pem(new), "signing_key_previous_pem": _pem(old)}
    )
    async with registry(settings) as (client, _):
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in jwks["keys"]] == [
            service.thumbprint(new),
            service.thumbprint(old),
        ]
        assert all("d" not in k for k in jwks["keys"])
        fresh = await token_of(client, ROOT, ROOT_PASSWORD)
        assert jwt.get_unverified_header(fresh)["kid"] == service.thumbprint(new)
        me = (await client.get("/api/v1/auth/me", headers=bearer(fresh))).json()
        user = User(me["subject"], ROOT, "Administrator", "user")
        for signer, status in ((old, 200), (unknown, 401)):
            signing = service.SigningKey(service.thumbprint(signer), signer)
            token = service.mint_token(user, key=signing, settings=settings).access_token
            answer = await client.get("/api/v1/auth/me", headers=bearer(token))
            assert answer.status_code == status, answer.text


async def test_wrong_password_and_unknown_user_get_the_identical_answer(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, _):
        wrong = await login(client, ROOT, "not the password at all")
        unknown = await login(client, "nobody.here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_grant"
    assert "not the password" not in wrong.text


async def test_five_failures_lock_the_username_on_every_replica(
    registry_settings: Settings,
) -> None:
    settings = with_bootstrap(registry_settings)
    async with registry(settings) as (one, rt), registry(settings) as (two, _):
        answers = [await login(one, ROOT, f"wrong password {i}") for i in range(4)]
        assert [a.status_code for a in answers] == [400] * 4
        fifth = await login(two, ROOT, "wrong password 5")
        assert fifth.status_code == 429
        assert fifth.json()["error"] == "invalid_grant"
        assert "try again in 1 minute" in fifth.json()["error_description"]
        for client in (one, two):  # even the right password is refused now, on both replicas
            refused = await login(client, ROOT, ROOT_PASSWORD)
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 60
        # Unknown usernames lock the same way, so a lockout tells nothing about existence.
        for i in range(5):
            last = await login(one, "nobody.here", f"guess {i}")
        assert last.status_code == 429
        # the two names and the client address, all hashed
        assert await rt.db["login_failures"].count_documents({}) == 3
        assert await rt.db["login_failures"].count_documents({"_id": {"$regex": "root"}}) == 0


async def test_commune_officer_manages_users_only_inside_its_commune(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, rt):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        made = await create_user(
            client, root, "officer.kynam", [("commune_officer", units["ky-nam"])]
        )
        assert made.status_code == 201, made.text
        assert made.headers["location"] == f"/api/v1/users/{made.json()['id']}"
        assert "password" not in made.text and "hash" not in made.text
        officer_id = made.json()["id"]
        officer = bearer(await token_of(client, "officer.kynam", "a long enough password"))

        hamlet = await create_user(
            client, officer, "truong.tanthanh", [("hamlet_officer", units["tan-thanh"])]
        )
        assert hamlet.status_code == 201, hamlet.text
        assert hamlet.json()["grants"][0]["granted_by"] == officer_id
        elsewhere = await create_user(
            client, officer, "truong.thonbac", [("hamlet_officer", units["thon-bac"])]
        )
        assert elsewhere.status_code == 404, elsewhere.text
        admin = await create_user(client, officer, "would.be.admin", [("admin", units["quy-hue"])])
        assert admin.status_code == 403, admin.text
        assert "administrator" in admin.json()["detail"]
        everywhere = await create_user(client, officer, "national.one", [("police", "*")])
        assert everywhere.status_code == 404
        assert await rt.db["users"].count_documents({}) == 3  # root, officer, hamlet officer

        hamlet_id = hamlet.json()["id"]
        more = await client.post(
            f"/api/v1/users/{hamlet_id}/grants",
            json={"role": "team_member", "unit_id": units["quy-hue"]},
            headers=officer,
        )
        assert more.status_code == 201, more.text
        self_grant = await client.post(
            f"/api/v1/users/{officer_id}/grants",
            json={"role": "commune_officer", "unit_id": units["ky-bac"]},
            headers=officer,
        )
        assert self_grant.status_code in (403, 404)
        self_inside = await client.post(
            f"/api/v1/users/{officer_id}/grants",
            json={"role": "police", "unit_id": units["ky-nam"]},
            headers=officer,
        )
        assert self_inside.status_code == 403
        assert "yourself" in self_inside.json()["detail"]

        listed = await client.get(
            "/api/v1/users", params={"unit_id": units["ky-nam"]}, headers=officer
        )
        assert listed.status_code == 200
        assert {u["username"] for u in listed.json()} == {"officer.kynam", "truong.tanthanh"}
        outside = await client.get(
            "/api/v1/users", params={"unit_id": units["ky-bac"]}, headers=officer
        )
        assert outside.status_code == 404
        root_user = await rt.db["users"].find_one({"username_key": "root.admin"})
        assert root_user is not None
        hidden = await client.get(f"/api/v1/users/{root_user['_id']}", headers=officer)
        assert hidden.status_code == 404

        hamlet_token = bearer(await token_of(client, "truong.tanthanh", "a long enough password"))
        refused = await create_user(
            client, hamlet_token, "member.one", [("team_member", units["tan-thanh"])]
        )
        assert refused.status_code == 403
        me = (await client.get(f"/api/v1/users/{hamlet_id}", headers=hamlet_token)).json()
        assert {g["role"] for g in me["grants"]} == {"hamlet_officer", "team_member"}

        grant_id = more.json()["grants"][-1]["id"]
        revoked = await client.delete(
            f"/api/v1/users/{hamlet_id}/grants/{grant_id}", headers=officer
        )
        assert revoked.status_code == 200, revoked.text
        assert [g["role"] for g in revoked.json()["grants"]] == ["hamlet_officer"]
        stored = await rt.db["users"].find_one({"_id": hamlet_id})
        assert stored is not None and len(stored["grants"]) == 1
        again = await client.delete(f"/api/v1/users/{hamlet_id}/grants/{grant_id}", headers=officer)
        assert again.status_code == 404


async def test_a_manager_cannot_take_over_an_account_with_wider_roles(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, _):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        await create_user(client, root, "officer.kynam", [("commune_officer", units["ky-nam"])])
        wide = await create_user(
            client,
            root,
            "police.both",
            [("police", units["ky-nam"]), ("police", units["ky-bac"])],
        )
        officer = bearer(await token_of(client, "officer.kynam", "a long enough password"))
        reset = await client.post(
            f"/api/v1/users/{wide.json()['id']}/password",
            json={"password": "taken over password"},
            headers=officer,
        )
        assert reset.status_code == 403
        off = await client.post(f"/api/v1/users/{wide.json()['id']}/deactivate", headers=officer)
        assert off.status_code == 403
        assert (await login(client, "police.both", "a long enough password")).status_code == 200


async def test_password_change_by_self_needs_the_current_password(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, _):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        made = await create_user(client, root, "member.one", [("team_member", units["quy-hue"])])
        user_id = made.json()["id"]
        mine = bearer(await token_of(client, "member.one", "a long enough password"))
        path = f"/api/v1/users/{user_id}/password"
        missing = await client.post(path, json={"password": "brand new password"}, headers=mine)
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "current_password"
        wrong = await client.post(
            path,
            json={"password": "brand new password", "current_password": "not it at all"},
            headers=mine,
        )
        assert wrong.status_code == 422
        ok = await client.post(
            path,
            json={"password": "brand new password", "current_password": "a long enough password"},
            headers=mine,
        )
        assert ok.status_code == 204, ok.text
        assert (await login(client, "member.one", "a long enough password")).status_code == 400
        assert (await login(client, "member.one", "brand new password")).status_code == 200
        by_root = await client.post(path, json={"password": "reset by the admin"}, headers=root)
        assert by_root.status_code == 204
        assert (await login(client, "member.one", "reset by the admin")).status_code == 200


async def test_deactivated_user_cannot_log_in(registry_settings: Settings) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, rt):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        made = await create_user(client, root, "leaving.soon", [("team_member", units["quy-hue"])])
        user_id = made.json()["id"]
        off = await client.post(f"/api/v1/users/{user_id}/deactivate", headers=root)
        assert off.status_code == 200, off.text
        assert off.json()["active"] is False
        refused = await login(client, "leaving.soon", "a long enough password")
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
        assert "deactivated" in refused.json()["error_description"]
        twice = await client.post(f"/api/v1/users/{user_id}/deactivate", headers=root)
        assert twice.status_code == 409
        root_user = await rt.db["users"].find_one({"username_key": "root.admin"})
        assert root_user is not None
        self_off = await client.post(f"/api/v1/users/{root_user['_id']}/deactivate", headers=root)
        assert self_off.status_code == 403


async def test_deactivation_tells_other_services_by_an_event_without_personal_data(
    registry_settings: Settings,
) -> None:
    from binhyen.contracts import parse_event
    from binhyen.contracts.topics import REGISTRY_ACCOUNTS
    from binhyen.kit.testing import eventually, outbox_drained, read_topic

    async with registry(with_bootstrap(registry_settings)) as (client, rt):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        made = await create_user(client, root, "leaving.soon", [("team_member", units["quy-hue"])])
        user_id = made.json()["id"]
        off = await client.post(f"/api/v1/users/{user_id}/deactivate", headers=root)
        assert off.status_code == 200, off.text
        topic = registry_settings.topic(REGISTRY_ACCOUNTS.name)
        records = await read_topic(registry_settings.kafka_bootstrap, topic)
        assert [r.key for r in records] == [user_id.encode()]
        event = parse_event(records[0].value)
        assert event.type == "vn.binhyen.registry.account.deactivated.v1"
        assert event.sequence is not None and int(event.sequence) == 1
        assert event.data["account_id"] == user_id and event.data["active"] is False
        assert set(event.data) == {"account_id", "active", "changed_at"}
        assert b"leaving" not in records[0].value and b"Leaving" not in records[0].value
        drained = await eventually(
            lambda: outbox_drained(rt.db["users"], user_id), what="the event acked and removed"
        )
        assert drained


async def test_agency_client_credentials_yield_an_agency_token(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, _):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        secret = "agency client secret 1"
        made = await create_user(
            client,
            root,
            "so.tu.phap",
            [("agency", units["ha-tinh"])],
            kind="agency",
            password=secret,
        )
        assert made.status_code == 201, made.text
        posted = await client.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "client_id": "so.tu.phap",
                "client_secret": secret,
            },
        )
        assert posted.status_code == 200, posted.text
        basic = base64.b64encode(f"so.tu.phap:{secret}".encode()).decode()
        with_basic = await client.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert with_basic.status_code == 200, with_basic.text
        me = await client.get("/api/v1/auth/me", headers=bearer(posted.json()["access_token"]))
        assert me.json()["kind"] == "agency"
        assert me.json()["grants"] == [{"role": "agency", "unit_id": units["ha-tinh"]}]
        wrong = await client.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "client_id": "so.tu.phap",
                "client_secret": "x",
            },
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        as_person = await login(client, "so.tu.phap", secret)
        assert as_person.json()["error"] == "unauthorized_client"
        writes = await create_user(
            client, root, "agency.writer", [("police", units["ha-tinh"])], kind="agency"
        )
        assert writes.status_code == 422


async def test_token_endpoint_errors_follow_rfc_6749(registry_settings: Settings) -> None:
    async with registry(registry_settings) as (client, _):
        cases = [
            ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
            ({}, 400, "invalid_request"),
            ({"grant_type": "password", "username": "someone"}, 400, "invalid_request"),
            ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        ]
        for data, status, error in cases:
            response = await client.post(TOKEN, data=data)
            assert (response.status_code, response.json()["error"]) == (status, error), data
        as_json = await client.post(TOKEN, json={"grant_type": "password"})
        assert as_json.status_code == 400


async def test_bad_user_input_is_a_clear_problem_and_writes_nothing(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, rt):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        hamlet = units["tan-thanh"]
        cases: list[tuple[dict[str, Any], str, int]] = [
            ({"password": "too short"}, "password", 422),
            ({"username": "two words"}, "username", 422),
            ({"grants": [{"role": "king", "unit_id": hamlet}]}, "grants.0.role", 422),
            ({"grants": [{"role": "police", "unit_id": "missing"}]}, "grants.0.unit_id", 422),
            ({"kind": "robot"}, "kind", 422),
            ({"password": "Officer.One"}, "password", 422),
        ]
        for change, field, status in cases:
            body = {
                "username": "officer.one",
                "display_name": "Cán bộ",
                "password": "a long enough password",
                "grants": [{"role": "hamlet_officer", "unit_id": hamlet}],
            } | change
            response = await client.post("/api/v1/users", json=body, headers=root)
            assert response.status_code == status, (change, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert field in [e["field"] for e in response.json()["errors"]], change
            assert "a long enough password" not in response.text
        assert await rt.db["users"].count_documents({}) == 1
        first = await create_user(client, root, "Officer.One", [("police", hamlet)])
        assert first.status_code == 201
        dup = await create_user(client, root, "officer.ONE", [("police", hamlet)])
        assert dup.status_code == 409
        assert dup.json()["errors"][0]["field"] == "username"
        assert await rt.db["users"].count_documents({}) == 2


async def test_ensure_user_is_idempotent_under_concurrency(
    registry_settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    stores = Stores.open(mongo[registry_settings.mongodb_database])
    await stores.create_indexes()
    ids = await asyncio.gather(
        *(
            service.ensure_user(
                stores,
                username="demo.officer",
                password="demo password 123",
                display_name="Demo",
                kind="user",
                grants=[("admin", "*")],
            )
            for _ in range(5)
        )
    )
    assert len(set(ids)) == 1
    assert await stores.identity.collection.count_documents({}) == 1
    again = await service.ensure_user(
        stores,
        username="Demo.Officer",
        password="another password 1",
        display_name="Demo",
        kind="user",
        grants=[("admin", "*"), ("police", "*")],
    )
    assert again == ids[0]
    found = await stores.identity.get(again)
    assert found is not None
    assert [g.role for g in found[0].grants] == ["admin", "police"]
    assert service.verify_password_sync(found[1], "demo password 123")  # password kept


async def test_a_commune_officer_cannot_create_police_and_every_grant_is_audited(
    registry_settings: Settings,
) -> None:
    async with registry(with_bootstrap(registry_settings)) as (client, rt):
        root = bearer(await token_of(client, ROOT, ROOT_PASSWORD))
        units = await tree(client, root)
        made = await create_user(
            client, root, "officer.kynam", [("commune_officer", units["ky-nam"])]
        )
        assert made.status_code == 201, made.text
        officer_id = made.json()["id"]
        officer = bearer(await token_of(client, "officer.kynam", "a long enough password"))

        police = await create_user(client, officer, "cong.an", [("police", units["ky-nam"])])
        assert police.status_code == 403, police.text
        assert "administrator" in police.json()["detail"]
        assert await rt.db["users"].count_documents({"username_key": "cong.an"}) == 0
        hamlet = await create_user(
            client, officer, "truong.thon", [("hamlet_officer", units["tan-thanh"])]
        )
        assert hamlet.status_code == 201, hamlet.text
        hamlet_id = hamlet.json()["id"]
        added = await client.post(
            f"/api/v1/users/{hamlet_id}/grants",
            json={"role": "police", "unit_id": units["tan-thanh"]},
            headers=officer,
        )
        assert added.status_code == 403, added.text
        stored = await rt.db["users"].find_one({"_id": hamlet_id})
        assert stored is not None and [g["role"] for g in stored["grants"]] == ["hamlet_officer"]

        by_admin = await client.post(
            f"/api/v1/users/{hamlet_id}/grants",
            json={"role": "police", "unit_id": units["tan-thanh"]},
            headers=root,
        )
        assert by_admin.status_code == 201, by_admin.text

        trail = [
            (r["actor"], r["action"], r["outcome"], r["role"], r["unit_id"])
            async for r in rt.db["grant_audit"].find({"actor": {"$ne": "system"}}).sort("at", 1)
        ]
        root_id = by_admin.json()["grants"][-1]["granted_by"]
        assert trail == [
            (root_id, "grant", "granted", "commune_officer", units["ky-nam"]),
            (officer_id, "grant", "refused", "police", units["ky-nam"]),
            (officer_id, "grant", "granted", "hamlet_officer", units["tan-thanh"]),
            (officer_id, "grant", "refused", "police", units["tan-thanh"]),
            (root_id, "grant", "granted", "police", units["tan-thanh"]),
        ]
        bootstrap = await rt.db["grant_audit"].find_one({"actor": "system"})
        assert bootstrap is not None and bootstrap["role"] == "admin"


async def test_a_deactivated_users_token_is_refused_at_once_and_soon_on_every_replica(
    registry_settings: Settings,
) -> None:
    from binhyen.kit.testing import eventually

    # Two replicas trust each other's tokens when they share the configured key.
    settings = with_bootstrap(registry_settings).model_copy(
        update={"signing_key_pem": _pem(_new_key())}
    )
    async with registry(settings) as (one, _rt), registry(settings) as (two, _):
        root = bearer(await token_of(one, ROOT, ROOT_PASSWORD))
        units = await tree(one, root)
        made = await create_user(one, root, "leaving.now", [("team_member", units["quy-hue"])])
        assert made.status_code == 201, made.text
        token = bearer(await token_of(one, "leaving.now", "a long enough password"))
        for client in (one, two):  # both replicas have read the account as active
            assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200
        off = await one.post(f"/api/v1/users/{made.json()['id']}/deactivate", headers=root)
        assert off.status_code == 200, off.text
        refused = await one.get("/api/v1/auth/me", headers=token)
        assert refused.status_code == 401
        assert "deactivated" in refused.json()["detail"]

        async def refused_on_two() -> bool:
            return (await two.get("/api/v1/auth/me", headers=token)).status_code == 401

        await eventually(refused_on_two, timeout=5, what="the other replica refuses the token")
        assert (await two.get("/api/v1/auth/me", headers=root)).status_code == 200


async def test_lockouts_double_each_time(registry_settings: Settings) -> None:
    settings = with_bootstrap(registry_settings).model_copy(
        update={"login_max_failures": 2, "login_lockout_seconds": 1}
    )
    from binhyen.kit.testing import eventually

    async with registry(settings) as (client, rt):
        retry_after = []
        for _ in range(3):
            answers = [await login(client, ROOT, f"wrong {i}") for i in range(2)]
            assert [a.status_code for a in answers] == [400, 429]
            retry_after.append(int(answers[1].headers["retry-after"]))

            async def unlocked() -> bool:
                doc = await rt.db["login_failures"].find_one({"level": {"$exists": True}})
                assert doc is not None
                return bool(doc["locked_until"].replace(tzinfo=UTC) < datetime.now(UTC))

            await eventually(unlocked, timeout=10, what="the lockout ends")
        assert retry_after == [1, 2, 4]
        assert (await login(client, ROOT, ROOT_PASSWORD)).status_code == 200


async def test_failures_across_usernames_lock_the_client_address(
    registry_settings: Settings,
) -> None:
    settings = with_bootstrap(registry_settings).model_copy(
        update={"login_address_max_failures": 3}
    )
    async with registry(settings) as (client, rt):
        sprayed = [await login(client, f"user.{i}", "Spring2026!!") for i in range(3)]
        assert [a.status_code for a in sprayed] == [400, 400, 429]
        assert "from your address" in sprayed[2].json()["error_description"]
        refused = await login(client, ROOT, ROOT_PASSWORD)
        assert refused.status_code == 429
        # No account was locked: each name failed once.
        locked = rt.db["login_failures"].find({"locked_until": {"$exists": True}})
        assert [d["_id"][:2] async for d in locked] == ["a:"]
