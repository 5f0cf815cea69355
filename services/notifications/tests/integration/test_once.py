"""Never two sends: a worker killed after the provider took the message, and Kafka redelivering
the event that raised the alert — the receiver sees each (alert, recipient, channel) once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from binhyen.contracts.topics import INCIDENTS
from binhyen.kit.kafka import KafkaAccess, start_producer
from binhyen.kit.testing import TestIssuer
from binhyen.kit.testing.settings import environment_of
from binhyen.kit.testing.waiting import eventually
from binhyen.notifications.sample_world import COMMUNE, HAMLET, incident_reported, seed_world
from binhyen.notifications.service.common import Context
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def service(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The notifications service as a process of its own (killable)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "binhyen.notifications", "api"],
            env=os.environ | environment_of(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{settings.http_port}/readyz"
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the service did not get ready"
            time.sleep(0.2)  # polling a condition with a deadline
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


POLICY: dict[str, Any] = {
    "unit_id": HAMLET,
    "name": "Tân Thành: báo công an xã qua webhook",
    "triggers": [{"kind": "incident_reported", "min_severity": "low"}],
    "steps": [{"delay_seconds": 0, "targets": [{"kind": "endpoints"}]}],
    "channels": ["webhook"],
    "templates": {"vi": {"headline": "{{ event }}", "text": "{{ event }}", "body": "{{ event }}"}},
}


async def test_a_killed_worker_and_a_redelivered_event_still_deliver_once(
    notifications_settings: Settings, issuer: TestIssuer, tmp_path: Path, receivers: Any
) -> None:
    settings = notifications_settings.model_copy(
        update={"http_port": _free_port(), "dispatch_claim_seconds": 2.0}
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    ctx = Context(settings, None, Stores.of(mongo[settings.mongodb_database]))
    await seed_world(ctx)
    officer = issuer.headers(("commune_officer", COMMUNE))
    base = f"http://127.0.0.1:{settings.http_port}"
    log = tmp_path / "notifications.log"
    with receivers.webhook_receiver() as receiver:
        # The receiver takes the message, then answers slowly: the window to kill the sender.
        receiver.respond("/police", 200, delay=5.0, times=1)
        with service(settings, log) as first:
            async with httpx.AsyncClient(base_url=base, headers=officer) as client:
                made = await client.post("/api/v1/policies", json=POLICY)
                assert made.status_code == 201, made.text
                endpoint = await client.post(
                    "/api/v1/endpoints",
                    json={
                        "unit_id": COMMUNE,
                        "name": "Công an xã",
                        "url": f"{receiver.url}/police",
                    },
                )
                assert endpoint.status_code == 201, endpoint.text
            receiver.secrets.append(endpoint.json()["secret"])
            event = incident_reported(
                "inc-once", severity="high", category="fire_residential", group="fire"
            )
            producer = await start_producer(KafkaAccess.of(settings), client_id="test")
            try:
                topic = settings.topic(INCIDENTS.name)
                await producer.send_and_wait(topic, event.to_json(), key=b"inc-once")
                await eventually(lambda: receiver.receipts >= 1, what="the first attempt")
                first.send_signal(signal.SIGKILL)  # after the receiver took it, before the record
                first.wait()
                # Kafka hands the same event over again (same id), as after a lost commit.
                await producer.send_and_wait(topic, event.to_json(), key=b"inc-once")
            finally:
                await producer.stop()
        with service(settings, log):
            await eventually(lambda: receiver.receipts >= 2, timeout=60, what="the resend")
            delivery = await eventually(
                lambda: ctx.stores.deliveries.collection.find_one({"status": "delivered"}),
                what="the delivery recorded",
            )
        assert receiver.receipts == 2  # sent twice: the first answer was never recorded
        assert len(receiver.deliveries) == 1  # the same webhook-id: the subscriber sees it once
        [(webhook_id, received)] = receiver.deliveries.items()
        assert delivery is not None and webhook_id == delivery["_id"]
        assert received.verified == "ok"
        assert received.json()["incident_id"] == "inc-once"
        assert await ctx.stores.alerts.collection.count_documents({}) == 1
        assert await ctx.stores.deliveries.collection.count_documents({}) == 1
    await mongo.close()
