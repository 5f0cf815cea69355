"""Each service answers as its OpenAPI document says (schemathesis, every check).

A few generated requests per operation against each service running under uvicorn on
the test servers, as a national admin: no 5xx, no status code or content type the
document does not declare, no input the document forbids accepted.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.generation.modes import GenerationMode

from binhyen.incidents.app import create_app as create_incidents
from binhyen.incidents.settings import Settings as IncidentsSettings
from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.settings import settings_for
from binhyen.notifications.app import create_app as create_notifications
from binhyen.notifications.settings import Settings as NotificationsSettings
from binhyen.registry.app import create_app as create_registry
from binhyen.registry.settings import Settings as RegistrySettings

EXAMPLES = 3  # per operation: the whole module stays near a minute on two cores
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure is reproducible
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# A well-formed request may still be refused for what it names: a hamlet that does not
# exist (422), a version that moved on (412). The schema cannot know which ids exist.
# The OAuth token endpoint answers 400 invalid_request to a form the schema allows (a
# password grant without a username): RFC 6749 §5.2 says so, and a form schema cannot
# make a field required for one grant type only.
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 412, 422, 429]
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [
            {
                "include-path": "/api/v1/auth/token",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}},
            }
        ],
    }
)
# What uvicorn answers (400, text/plain) to a request line its parser refuses, before any
# application code runs; the API's document cannot describe it.
UVICORN_REFUSED = "Invalid HTTP request received."


@dataclass
class Running:
    """A service app served over real HTTP, and the headers of a national admin."""

    app: FastAPI
    url: str
    headers: dict[str, str]


def _serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` (lifespan included) under uvicorn in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _running(
    servers: Servers,
    issuer: TestIssuer,
    kind: type[ServiceSettings],
    create: Callable[[Any], FastAPI],
    **overrides: Any,
) -> Iterator[Running]:
    name = f"fuzz_{uuid.uuid4().hex[:8]}"
    service_settings = settings_for(
        kind, servers, issuer, database=name, topic_prefix=f"{name}-", **overrides
    )
    app = create(service_settings)
    for url in _serve(app):
        yield Running(app, url, issuer.headers(("admin", "*"), subject="fuzz-admin"))


@pytest.fixture(scope="module")
def incidents(servers: Servers, issuer: TestIssuer) -> Iterator[Running]:
    yield from _running(servers, issuer, IncidentsSettings, create_incidents)


@pytest.fixture(scope="module")
def registry(servers: Servers, issuer: TestIssuer) -> Iterator[Running]:
    yield from _running(servers, issuer, RegistrySettings, create_registry)


@pytest.fixture(scope="module")
def notifications(servers: Servers, issuer: TestIssuer) -> Iterator[Running]:
    # SMS and ZNS on, so the providers' callbacks check signatures instead of answering that
    # the channel takes none. Nothing is sent: every generated hamlet is unknown.
    yield from _running(
        servers,
        issuer,
        NotificationsSettings,
        create_notifications,
        sms_profile="esms",
        sms_url="http://127.0.0.1:9/sms",
        sms_secrets={"api_key": secrets.token_urlsafe(16), "secret_key": secrets.token_urlsafe(16)},
        sms_callback_secret=secrets.token_urlsafe(32),
        zns_profile="zalo_zns",
        zns_url="http://127.0.0.1:9/zns",
        zns_secrets={"access_token": secrets.token_urlsafe(16)},
        zns_template_id="1",
        zns_template_data={"tieu_de": "{subject}"},
        zns_callback_secret=secrets.token_urlsafe(32),
        allow_private_targets=True,
    )


def _all_checks() -> list[Any]:
    load_all_checks()
    return list(CHECKS.get_all())


def _fuzz(running: Running) -> list[str]:
    """Every operation's failures, one line (first lines of the report) each."""
    schema = schemathesis.openapi.from_dict(running.app.openapi(), config=CONFIG)
    checks = _all_checks()
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # a part of the document schemathesis cannot read
            failures.append(f"invalid document: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                case.call_and_validate(base_url=running.url, headers=running.headers, checks=checks)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing to break: no parameter can be made invalid
            except (Exception, BaseExceptionGroup) as exc:
                if UVICORN_REFUSED in str(exc):
                    continue  # uvicorn's HTTP parser refused the bytes: the API never saw them
                failures.append(f"{operation.label} ({mode}): {str(exc)[:1500]}")
    return failures


def test_incidents_answers_as_documented(incidents: Running) -> None:
    failures = _fuzz(incidents)
    assert not failures, "\n\n".join(failures)


def test_registry_answers_as_documented(registry: Running) -> None:
    failures = _fuzz(registry)
    assert not failures, "\n\n".join(failures)


def test_notifications_answers_as_documented(notifications: Running) -> None:
    failures = _fuzz(notifications)
    assert not failures, "\n\n".join(failures)
