"""What a service says at start about the database it talks to."""

from __future__ import annotations

import logging

import pytest

from binhyen.kit.runtime import ServiceSpec, open_runtime
from binhyen.kit.settings import ServiceSettings
from binhyen.kit.testing import Servers


async def test_a_service_logs_which_database_server_and_version_it_talks_to(
    servers: Servers, database_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServiceSettings(
        mongodb_uri=servers.mongodb,
        mongodb_database=database_name,
        kafka_bootstrap=servers.kafka,
        consumer_group=f"g-{database_name}",
        auth_jwks_url=None,
    )
    caplog.set_level(logging.INFO, logger="binhyen.kit.runtime")
    async with open_runtime(ServiceSpec(name="probe", title="probe", routers=[]), settings) as rt:
        info = await rt.mongo.admin.command("buildInfo")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database server")]
    expected = f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else "MongoDB "
    assert len(lines) == 1 and expected in lines[0], lines
    assert f"(MongoDB {info['version']})" in lines[0] or lines[0].endswith(info["version"])


async def test_the_context_is_built_with_the_relay_in_place_and_workers_run_while_up(
    servers: Servers, database_name: str
) -> None:
    from dataclasses import dataclass

    from binhyen.kit.runtime import Runtime, ServiceContext

    @dataclass(frozen=True)
    class Ctx(ServiceContext):
        label: str

    events: list[str] = []

    class Sweeper:
        async def start(self) -> None:
            events.append("started")

        async def stop(self) -> None:
            events.append("stopped")

    async def build(rt: Runtime) -> Ctx:
        assert rt.relay is not None  # the doorbell works from the first line of start-up
        return Ctx(rt.settings, rt.relay, "probe")

    spec = ServiceSpec(
        name="probe",
        title="probe",
        routers=[],
        outbox_collections=lambda db: [db["things"]],
        context=build,
        workers=lambda rt: [Sweeper()],
    )
    settings = ServiceSettings(
        mongodb_uri=servers.mongodb,
        mongodb_database=database_name,
        kafka_bootstrap=servers.kafka,
        consumer_group=f"g-{database_name}",
        auth_jwks_url=None,
    )
    async with open_runtime(spec, settings) as rt:
        assert isinstance(rt.context, Ctx) and rt.context.relay is rt.relay
        assert rt.context.topic("x") == "x"
        assert events == ["started"]
    assert events == ["started", "stopped"]
