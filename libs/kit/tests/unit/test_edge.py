"""The edge every service app has (kit.edge, wired by create_service_app): client address
behind proxies, body limits, authentication before the body, security headers, /metrics."""

from __future__ import annotations

import random
import string
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from binhyen.kit.auth import CurrentPrincipal, TokenVerifier, load_jwks
from binhyen.kit.edge import BODY_LIMIT, client_from_forwarded, parse_networks
from binhyen.kit.metrics import HTTP_REQUESTS
from binhyen.kit.runtime import ServiceSpec, create_service_app
from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing import TestIssuer

ISSUER = TestIssuer()
BEARER = {"Authorization": f"Bearer {ISSUER.token(subject='u1')}"}


class Note(BaseModel):
    text: str


def _router(handled: list[str]) -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {
            "client": request.client.host if request.client else "",
            "scheme": request.url.scheme,
        }

    @router.post("/notes")
    async def add_note(note: Note, principal: CurrentPrincipal) -> dict[str, str]:
        handled.append(note.text)
        return {"by": principal.subject}

    @router.post("/open-notes")
    async def add_open_note(note: Note) -> dict[str, int]:
        handled.append(note.text)
        return {"length": len(note.text)}

    @router.post("/uploads", openapi_extra={BODY_LIMIT: 8192})
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @router.put("/whoami")
    async def rename() -> dict[str, str]:
        return {}

    @router.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<p>hello</p>"

    return router


def _settings(**overrides: Any) -> ServiceSettings:
    values = {"mongodb_database": "unused", "consumer_group": "unused"} | overrides
    return ServiceSettings.model_validate(values)


@pytest.fixture
def handled() -> list[str]:
    return []


async def _client(
    handled: list[str], peer: str = "203.0.113.9", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(
        ServiceSpec(name="edge", title="Edge", routers=[_router(handled)]), _settings(**overrides)
    )
    # No lifespan (no database here): only the token verifier of the runtime is used.
    verifier = TokenVerifier(
        issuer=ISSUER.issuer, audience=ISSUER.audience, jwks=load_jwks(ISSUER.jwks_json)
    )
    app.state.runtime = SimpleNamespace(verifier=verifier)
    transport = httpx.ASGITransport(app=app, client=(peer, 4321), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.fixture
async def client(handled: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(handled):
        yield c


def test_rightmost_untrusted_hop_is_the_client() -> None:
    proxies = parse_networks(["10.0.0.0/8", "fd00::/8"])
    # The client wrote the leftmost entries; our proxies appended the rest.
    assert client_from_forwarded("10.0.0.5", "1.1.1.1, 198.51.100.7, 10.0.0.9", proxies) == (
        "198.51.100.7"
    )
    assert client_from_forwarded("203.0.113.9", "1.1.1.1", proxies) == "203.0.113.9"
    assert client_from_forwarded("10.0.0.5", "", proxies) == "10.0.0.5"
    assert client_from_forwarded("10.0.0.5", "garbage, 10.0.0.9", proxies) == "10.0.0.9"
    assert client_from_forwarded("10.0.0.5", "10.1.1.1, 10.0.0.9", proxies) == "10.1.1.1"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(handled: list[str]) -> None:
    async for client in _client(handled, trusted_proxies="10.0.0.0/8"):
        answer = await client.get("/whoami", headers={"X-Forwarded-For": "1.2.3.4"})
        assert answer.json()["client"] == "203.0.113.9"
    async for client in _client(handled):  # no proxies configured: never believed
        answer = await client.get("/whoami", headers={"X-Forwarded-For": "1.2.3.4"})
        assert answer.json()["client"] == "203.0.113.9"


async def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_used(
    handled: list[str],
) -> None:
    async for client in _client(handled, peer="10.0.0.5", trusted_proxies="10.0.0.0/8, ::1"):
        answer = await client.get(
            "/whoami",
            headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"},
        )
        assert answer.json() == {"client": "198.51.100.7", "scheme": "https"}


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        _settings(trusted_proxies="10.0.0.0/8, proxy.example")


async def test_security_headers_on_json_problem_and_html_answers(
    client: httpx.AsyncClient,
) -> None:
    json_answer = await client.get("/whoami")
    problem_answer = await client.get("/nowhere")
    html_answer = await client.get("/page")
    docs = await client.get("/docs")
    assert problem_answer.headers["content-type"] == "application/problem+json"
    for answer in (json_answer, problem_answer, html_answer, docs):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    for page in (html_answer, docs):
        assert "script-src 'self';" in page.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"].split("style-src")[0]
    # Every answer is personal unless its route says otherwise.
    assert json_answer.headers["Cache-Control"] == "no-store"


async def test_api_docs_are_served_from_local_files(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "cdn" not in html.lower() and "https://" not in html
        assert "<script>" not in html  # no inline script: the CSP forbids it
        for src in [part.split('"')[1] for part in html.split("src=")[1:]]:
            asset = await client.get(src)
            assert asset.status_code == 200, src
            assert len(asset.content) > 0
    assert (await client.get("/docs/assets/../../etc/passwd")).status_code == 404


async def test_body_over_the_limit_answers_413_before_the_handler(
    handled: list[str],
) -> None:
    async for client in _client(handled, max_body_bytes=2048):
        big = {"text": "x" * 4000}
        declared = await client.post("/open-notes", json=big)

        async def stream() -> AsyncIterator[bytes]:
            yield b'{"text": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        streamed = await client.post(
            "/open-notes", content=stream(), headers={"Content-Type": "application/json"}
        )
        small = await client.post("/open-notes", json={"text": "ok"})
        upload = await client.post("/uploads", content=b"z" * 6000)  # the route takes 8 KB
        too_big = await client.post("/uploads", content=b"z" * 9000)
        unknown = await client.post("/nowhere", content=b"z" * 6000)
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["type"].endswith("/payload-too-large")
    assert streamed.json()["type"].endswith("/payload-too-large")
    assert small.status_code == 200
    assert handled == ["ok"]
    assert upload.status_code == 200 and upload.json() == {"size": 6000}
    assert too_big.status_code == 413
    assert unknown.status_code == 404


async def test_unauthenticated_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, handled: list[str]
) -> None:
    reads = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal reads
        for _ in range(100):
            reads += 1
            yield b"x" * 1000

    anonymous = await client.post(
        "/notes", content=stream(), headers={"Content-Type": "application/json"}
    )
    forged = await client.post(
        "/notes", json={"text": "hi"}, headers={"Authorization": "Bearer not-a-token"}
    )
    garbage = await client.post("/notes", content=b"{not json", headers=BEARER)
    signed = await client.post("/notes", json={"text": "hi"}, headers=BEARER)
    assert anonymous.status_code == 401 and anonymous.json()["type"].endswith("/unauthorized")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert reads <= 1  # the transport may pull one chunk; the app read none of it
    assert forged.status_code == 401
    assert garbage.status_code == 422  # authenticated, then the body is parsed
    assert signed.status_code == 200 and signed.json() == {"by": "u1"}
    assert handled == ["hi"]


def _series(route: str | None = None) -> int:
    return sum(
        1
        for metric in HTTP_REQUESTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and (route is None or sample.labels["route"] == route)
    )


async def test_metrics_labels_stay_bounded_after_random_paths_and_methods(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/nowhere")
    before = _series()
    rng = random.Random(7)
    for _ in range(1000):
        path = "/" + "".join(rng.choices(string.ascii_letters + "/%.-", k=rng.randint(1, 30)))
        method = rng.choice(["GET", "POST", "DELETE", "BREW", "PROPFIND"])
        await client.request(method, path)
    # At most: unmatched × (GET, POST, DELETE, other) × (404, 405), and a few route hits.
    assert _series() - before <= 12


async def test_metrics_need_the_token_when_one_is_set(handled: list[str]) -> None:
    token = "m" * 24
    async for client in _client(handled, metrics_token=token):
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "n" * 24})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and "binhyen_http_requests_total" in right.text


def test_prod_refuses_to_start_without_a_metrics_token() -> None:
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        _settings(environment="prod")
    assert _settings(environment="prod", metrics_token="t" * 16).metrics_token is not None


async def test_a_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    # Two routes share /whoami; the router alone would name the first one's method only.
    refused = await client.request("OPTIONS", "/whoami")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, PUT"
    assert refused.headers["content-type"] == "application/problem+json"
