"""Kafka plumbing: idempotent producer and a health probe (topics: ``binhyen.kit.topics``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr

if TYPE_CHECKING:
    from binhyen.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
# PLAIN only for an operator's super user defined in the broker's own configuration
# (docker-compose.yml); services and agencies are SCRAM users.
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and who this client is to them (PLAINTEXT without a user)."""

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)

    @classmethod
    def of(cls, settings: ServiceSettings) -> KafkaAccess:
        """The access a service's settings describe."""
        return cls(
            bootstrap=settings.kafka_bootstrap,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_username,
            password=settings.kafka_password,
        )

    @classmethod
    def from_env(cls, prefix: str, *, bootstrap: str) -> KafkaAccess:
        """Access for a command-line tool: ``{prefix}SECURITY_PROTOCOL``, ``…USERNAME``, …

        The password is ``{prefix}PASSWORD`` or the content of the file ``{prefix}PASSWORD_FILE``
        (a mounted secret).
        """
        env = os.environ
        password = env.get(f"{prefix}PASSWORD")
        if password is None and env.get(f"{prefix}PASSWORD_FILE"):
            password = Path(env[f"{prefix}PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
        protocol = env.get(f"{prefix}SECURITY_PROTOCOL") or "PLAINTEXT"
        mechanism = env.get(f"{prefix}SASL_MECHANISM") or "SCRAM-SHA-512"
        if protocol not in get_args(SecurityProtocol):
            raise ValueError(f"{prefix}SECURITY_PROTOCOL: unknown protocol {protocol!r}")
        if mechanism not in get_args(SaslMechanism):
            raise ValueError(f"{prefix}SASL_MECHANISM: unknown mechanism {mechanism!r}")
        return cls(
            bootstrap=bootstrap,
            security_protocol=cast(SecurityProtocol, protocol),
            sasl_mechanism=cast(SaslMechanism, mechanism),
            username=env.get(f"{prefix}USERNAME") or None,
            password=SecretStr(password) if password is not None else None,
        )


def client_kwargs(access: KafkaAccess | str) -> dict[str, Any]:
    """The keyword arguments every Kafka client of the kit is built with (address, security).

    A bare ``host:port`` string is PLAINTEXT without credentials (local servers, tests).
    """
    if isinstance(access, str):
        access = KafkaAccess(access)
    kwargs: dict[str, Any] = {
        "bootstrap_servers": access.bootstrap,
        "security_protocol": access.security_protocol,
    }
    if access.security_protocol == "PLAINTEXT":
        return kwargs
    if not access.username or access.password is None:
        raise ValueError(f"Kafka {access.security_protocol} needs a username and a password")
    kwargs |= {
        "sasl_mechanism": access.sasl_mechanism,
        "sasl_plain_username": access.username,
        "sasl_plain_password": access.password.get_secret_value(),
    }
    if access.security_protocol == "SASL_SSL":
        kwargs["ssl_context"] = create_ssl_context()
    return kwargs


def new_producer(access: KafkaAccess | str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (acks=all)."""
    return AIOKafkaProducer(
        **client_kwargs(access),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        retry_backoff_ms=200,
    )


async def start_producer(access: KafkaAccess | str, *, client_id: str) -> AIOKafkaProducer:
    """Create and start a producer; raise if Kafka cannot be reached."""
    producer = new_producer(access, client_id=client_id)
    try:
        await producer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    return producer


class KafkaProbe:
    """Health report: a real metadata request to the brokers (reported, never gating)."""

    def __init__(self, access: KafkaAccess | str) -> None:
        self._access = access
        self._client: AIOKafkaClient | None = None

    async def check(self, timeout: float = 3.0) -> None:
        """Raise unless the cluster answers a metadata request within ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            if self._client is None:
                client = AIOKafkaClient(**client_kwargs(self._access), request_timeout_ms=3000)
                try:
                    await client.bootstrap()
                except BaseException:
                    await client.close()
                    raise
                self._client = client
            metadata = await self._client.fetch_all_metadata()
            if not metadata.brokers():
                raise ConnectionError("Kafka answered with no brokers")

    async def close(self) -> None:
        """Close the probe's connection."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class KafkaHealth:
    """Kafka's health as last seen by a background probe (for ``/readyz``, never gating).

    Probing in the background keeps ``/readyz`` fast whatever state Kafka is in: a probe
    against a broker that does not answer would otherwise hold every readiness check for
    its whole timeout.
    """

    def __init__(self, access: KafkaAccess | str, *, interval: float = 5.0) -> None:
        self._probe = KafkaProbe(access)
        self._interval = interval
        self._state = "unknown (not probed yet)"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Probe now in the background and every ``interval`` seconds."""
        self._task = asyncio.create_task(self._loop(), name="kafka-health")

    def status(self) -> str:
        """``ok``, or ``unavailable (<error>)``, or ``unknown`` before the first probe."""
        return self._state

    async def _loop(self) -> None:
        while True:
            try:
                await self._probe.check()
                self._state = "ok"
            except Exception as exc:
                self._state = f"unavailable ({type(exc).__name__})"
                await self._probe.close()  # reconnect from scratch next time
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop probing and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._probe.close()
