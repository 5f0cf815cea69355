"""A consumer's stop is bounded, whatever the broker does.

The broker here is a TCP listener that accepts connections and never answers — what a
Kafka stopped with SIGSTOP, or a half-dead network path, leaves a client facing. No Kafka
protocol is imitated: the client's own timeouts are what a graceful stop would wait on.
"""

from __future__ import annotations

import asyncio

from binhyen.kit.consumer import ConsumerRunner


async def test_stop_returns_within_its_grace_when_the_broker_never_answers() -> None:
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def never_called(record: object) -> None:
        raise AssertionError("no record can arrive from a silent broker")

    runner = ConsumerRunner(
        bootstrap=f"127.0.0.1:{port}",
        group_id="g-silent",
        topics=["t-silent"],
        handler=never_called,
        client_id="test",
        dead_letters="t-silent-dlq",
    )
    try:
        await runner.start()
        async with asyncio.timeout(10):
            await connected.wait()  # the client is now waiting on a request (40 s timeout)
        # Without the grace the stop waits out the client's request timeout and retries.
        async with asyncio.timeout(10):
            await runner.stop(grace_seconds=1)
        assert runner.assignment() == set()
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
