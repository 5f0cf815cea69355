"""pytest plugin: session servers, per-test database and topic names."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from binhyen.contracts.topics import DEPLOYED_TOPICS
from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.testing.kafka import delete_topics
from binhyen.kit.testing.servers import Servers, start_servers
from binhyen.kit.testing.settings import MakeSettings, S, settings_for
from binhyen.kit.testing.tokens import TestIssuer
from binhyen.kit.topics import create_topics, entries_of


@pytest.fixture(scope="session")
def servers(pytestconfig: pytest.Config) -> Iterator[Servers]:
    """Real Kafka and MongoDB-wire servers for the whole session."""
    found = start_servers(pytestconfig.rootpath)
    try:
        yield found
    finally:
        found.close()


def pytest_report_header(config: pytest.Config) -> str:
    """Say how servers are chosen."""
    return (
        "binhyen servers: BINHYEN_TEST_KAFKA/BINHYEN_TEST_MONGODB, else testcontainers, "
        "else deploy/local"
    )


@pytest.fixture
def test_id() -> str:
    """A short id unique to this test, for names of databases, topics and groups."""
    return uuid.uuid4().hex[:10]


@pytest_asyncio.fixture
async def topic_prefix(test_id: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A topic-name prefix only this test uses; its topics are deleted afterwards."""
    prefix = f"t{test_id}."
    yield prefix
    if "servers" in request.fixturenames:
        # Every test's topics (12 partitions each) would otherwise pile up on the session
        # broker until it runs out of open files.
        servers: Servers = request.getfixturevalue("servers")
        await delete_topics(servers.kafka, prefix)


@pytest_asyncio.fixture
async def deployed_topics(servers: Servers, topic_prefix: str) -> str:
    """Every topic of the deployment, under this test's prefix, created as the deploy step
    does (services never create topics); returns the prefix."""
    await create_topics(servers.kafka, entries_of(DEPLOYED_TOPICS), prefix=topic_prefix)
    return topic_prefix


@pytest.fixture
def make_settings(
    servers: Servers, issuer: TestIssuer, database_name: str, deployed_topics: str
) -> MakeSettings:
    """Settings of any service for this test: the session servers, a private database (plus
    ``database_suffix``), every topic of the deployment under this test's prefix, its own
    consumer group, the test token issuer; ``overrides`` on top."""

    def make(kind: type[S], *, database_suffix: str = "", **overrides: Any) -> S:
        database = f"{database_name}{database_suffix}"
        overrides.setdefault("consumer_group", f"{kind.__module__.split('.')[1]}-{database}")
        return settings_for(
            kind, servers, issuer, database=database, topic_prefix=deployed_topics, **overrides
        )

    return make


@pytest.fixture
def database_name(test_id: str) -> str:
    """A database name only this test uses."""
    return f"t_{test_id}"


@pytest_asyncio.fixture
async def mongo(servers: Servers) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client of the session's MongoDB-wire server."""
    client = create_mongo_client(servers.mongodb)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    """A token issuer whose keys the test apps trust (settings ``auth_jwks_json``)."""
    return TestIssuer()
