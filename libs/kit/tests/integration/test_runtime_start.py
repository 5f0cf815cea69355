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
