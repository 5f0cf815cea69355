"""Kafka users and ACLs, against a local broker started secure (SASL/SCRAM, ACLs enforced).

An agency reads the public topics and nothing else; a service writes its own topics only.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from binhyen.contracts.topics import (
    INCIDENTS_DEAD_LETTERS,
    REPORTING_DEAD_LETTERS,
    REPORTING_EVALUATIONS,
    REPORTING_READS,
)
from binhyen.kit.consumer import ConsumerRunner, Record
from binhyen.kit.kafka import KafkaAccess, KafkaProbe, client_kwargs, start_producer
from binhyen.kit.kafka_access import (
    agency_group_prefix,
    create_agency,
    grant_service,
)
from binhyen.kit.testing import eventually
from binhyen.kit.testing.servers import load_localservers
from binhyen.kit.topics import TopicEntry, create_topics

PUBLIC = "binhyen.registry.public.v1"
INTERNAL = "binhyen.registry.people.v1"
INCIDENTS = "binhyen.incidents.incidents.v1"


@pytest.fixture(scope="module")
def secure_kafka(pytestconfig: pytest.Config) -> Iterator[KafkaAccess]:
    """A private local Kafka that takes only SCRAM users and enforces ACLs (admin access)."""
    module = load_localservers(pytestconfig.rootpath)
    base = os.environ.get("BINHYEN_TEST_INSTANCE", "default")
    instance = f"{base}-acl-{uuid.uuid4().hex[:6]}"
    server = module.start("kafka", instance, port=0, secure=True)
    try:
        yield KafkaAccess(
            server.address,
            "SASL_PLAINTEXT",
            username="admin",
            password=SecretStr(server.admin_password),
        )
    finally:
        module.wipe("kafka", instance)


@pytest.fixture(scope="module")
async def topics(secure_kafka: KafkaAccess) -> list[str]:
    """The three topics, each with one record written by the super user."""
    names = [PUBLIC, INTERNAL, INCIDENTS]
    await create_topics(secure_kafka, [TopicEntry(n, 1) for n in names], wait_seconds=30)
    producer = await start_producer(secure_kafka, client_id="admin")
    try:
        for name in names:
            await producer.send_and_wait(name, b"{}", key=b"k")
    finally:
        await producer.stop()
    return names


def _as(access: KafkaAccess, user: str, password: SecretStr) -> KafkaAccess:
    return KafkaAccess(access.bootstrap, "SASL_PLAINTEXT", username=user, password=password)


async def _read_one(access: KafkaAccess, topic: str, group: str) -> bytes | None:
    consumer = AIOKafkaConsumer(
        topic, **client_kwargs(access), group_id=group, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()  # a refused group fails here: stop the consumer all the same
        async with asyncio.timeout(30):
            record = await consumer.getone()
        value: bytes | None = record.value
        return value
    finally:
        await consumer.stop()


async def test_an_agency_reads_a_public_topic(secure_kafka: KafkaAccess, topics: list[str]) -> None:
    user, password = await create_agency(secure_kafka, "press", [PUBLIC])
    agency = _as(secure_kafka, user, password)
    value = await _read_one(agency, PUBLIC, agency_group_prefix("press") + "feed")
    assert value == b"{}"


async def test_an_agency_consuming_an_internal_topic_is_refused(
    secure_kafka: KafkaAccess, topics: list[str]
) -> None:
    user, password = await create_agency(secure_kafka, "newsroom", [PUBLIC])
    agency = _as(secure_kafka, user, password)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(agency, INTERNAL, agency_group_prefix("newsroom") + "feed")


async def test_an_agency_cannot_use_another_agencys_group(
    secure_kafka: KafkaAccess, topics: list[str]
) -> None:
    user, password = await create_agency(secure_kafka, "radio", [PUBLIC])
    agency = _as(secure_kafka, user, password)
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_one(agency, PUBLIC, agency_group_prefix("press") + "feed")


async def test_a_wrong_password_is_refused(
    secure_kafka: KafkaAccess, topics: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    await create_agency(secure_kafka, "tv", [PUBLIC])
    wrong = _as(secure_kafka, "agency-tv", SecretStr("not-the-password"))
    with pytest.raises(KafkaError):  # aiokafka reports it as "unable to bootstrap"
        await start_producer(wrong, client_id="tv")
    assert "SaslAuthenticationFailed" in caplog.text


async def test_a_service_writes_its_own_topics_and_not_another_services(
    secure_kafka: KafkaAccess, topics: list[str]
) -> None:
    password = SecretStr(uuid.uuid4().hex)
    await grant_service(
        secure_kafka, "incidents", reads=[INTERNAL], group="incidents", password=password
    )
    incidents = _as(secure_kafka, "incidents", password)
    producer: AIOKafkaProducer = await start_producer(incidents, client_id="incidents")
    try:
        await producer.send_and_wait(INCIDENTS, b"{}", key=b"k")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(PUBLIC, b"{}", key=b"k")
    finally:
        await producer.stop()
    assert await _read_one(incidents, INTERNAL, "incidents") == b"{}"
    # Its own topics too: the operator's dlq commands read its dead letters as the service.
    assert await _read_one(incidents, INCIDENTS, "incidents") == b"{}"


async def test_the_kit_consumer_and_probe_log_in_as_the_service(
    secure_kafka: KafkaAccess, topics: list[str]
) -> None:
    password = SecretStr(uuid.uuid4().hex)
    await grant_service(
        secure_kafka, "incidents", reads=[INTERNAL], group="incidents-kit", password=password
    )
    incidents = _as(secure_kafka, "incidents", password)
    probe = KafkaProbe(incidents)
    try:
        await probe.check(timeout=15)
    finally:
        await probe.close()
    seen: list[Record] = []

    async def handler(record: Record) -> None:
        seen.append(record)

    runner = ConsumerRunner(
        bootstrap=incidents,
        group_id="incidents-kit",
        topics=[INTERNAL],
        handler=handler,
        client_id="incidents-0",
        dead_letters="binhyen.incidents.dlq.v1",
    )
    await runner.start()
    try:
        await eventually(lambda: len(seen) == 1, what="the record, read as incidents")
    finally:
        await runner.stop()


async def test_reporting_reads_what_it_consumes_but_not_another_groups_dead_letters(
    secure_kafka: KafkaAccess, topics: list[str]
) -> None:
    own = [REPORTING_EVALUATIONS.name, REPORTING_DEAD_LETTERS.name]
    theirs = INCIDENTS_DEAD_LETTERS.name
    await create_topics(secure_kafka, [TopicEntry(n, 1) for n in [*own, theirs]], wait_seconds=30)
    admin = await start_producer(secure_kafka, client_id="admin")
    try:
        await admin.send_and_wait(theirs, b"{}", key=b"k")
    finally:
        await admin.stop()
    password = SecretStr(uuid.uuid4().hex)
    await grant_service(
        secure_kafka,
        "reporting",
        reads=[spec.name for spec in REPORTING_READS],
        group="binhyen-reporting",
        group_prefixed=True,  # one group per generation of its read model
        password=password,
    )
    reporting = _as(secure_kafka, "reporting", password)
    producer: AIOKafkaProducer = await start_producer(reporting, client_id="reporting")
    try:
        for name in own:  # its events and its dead letters
            await producer.send_and_wait(name, b"{}", key=b"k")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(INCIDENTS, b"{}", key=b"k")
    finally:
        await producer.stop()
    assert await _read_one(reporting, INCIDENTS, "binhyen-reporting") == b"{}"
    assert await _read_one(reporting, INCIDENTS, "binhyen-reporting.g2") == b"{}"
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(reporting, theirs, "binhyen-reporting")
    with pytest.raises(TopicAuthorizationFailedError):  # personal data it does not need
        await _read_one(reporting, INTERNAL, "binhyen-reporting")
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_one(reporting, INCIDENTS, "binhyen-incidents")
