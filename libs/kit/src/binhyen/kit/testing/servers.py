"""Find real Kafka and MongoDB-wire servers for tests.

Order: ``BINHYEN_TEST_KAFKA`` / ``BINHYEN_TEST_MONGODB`` if set → testcontainers
(official images) when a Docker engine answers → the local servers of
``deploy/local/localservers.py`` (Kafka on Java, FerretDB), started for the session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

KAFKA_IMAGE = "apache/kafka:4.4.0"
MONGODB_IMAGE = "mongo:8.0"


class Controllable(Protocol):
    """A server a fault test may stop and start again."""

    address: str

    def stop(self) -> None:
        """Stop the server (its data is kept)."""

    def start(self) -> None:
        """Start it again on the same address."""


@dataclass
class LocalServer:
    """A throwaway instance of a local server, owned by one test."""

    module: ModuleType
    kind: str
    instance: str
    address: str = ""
    pid: int = 0

    def start(self) -> None:
        """Start (or restart) the instance and wait until it is ready."""
        port = None
        if self.address:
            port = int(self.address.rstrip("/").rsplit(":", 1)[1])
        server = self.module.start(self.kind, self.instance, port=port or 0)
        self.address = server.address
        self.pid = server.pid

    def pause(self) -> None:
        """Freeze the server process (SIGSTOP): connections stay open, nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the instance, keeping its data."""
        self.module.stop(self.kind, self.instance)

    def wipe(self) -> None:
        """Stop the instance and delete its data."""
        self.module.wipe(self.kind, self.instance)


@dataclass
class Servers:
    """The session's Kafka bootstrap address and MongoDB URI, and who started them."""

    kafka: str
    mongodb: str
    how: str
    root: Path
    _cleanups: list[Any] = field(default_factory=list)

    @contextlib.contextmanager
    def disposable(self, kind: str) -> Iterator[LocalServer]:
        """A private local server (``kafka`` or ``ferretdb``) a test may stop and restart."""
        module = load_localservers(self.root)
        server = LocalServer(module, kind, f"t{uuid.uuid4().hex[:8]}")
        server.start()
        try:
            yield server
        finally:
            server.wipe()

    def close(self) -> None:
        """Stop whatever this session started."""
        while self._cleanups:
            with contextlib.suppress(Exception):
                self._cleanups.pop()()


def free_port() -> int:
    """A TCP port nobody listens on now, on the loopback interface (for a process to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load_module(path: Path | str, name: str | None = None) -> ModuleType:
    """Import a Python file that is not in a package (a script, a test helper), once.

    It is registered in ``sys.modules`` (under ``name``, default one derived from the path)
    before it runs, so its dataclasses resolve their annotations, and a second call returns
    the same module.
    """
    path = Path(path)
    name = name or "binhyen_file_" + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_localservers(root: Path) -> ModuleType:
    """Import deploy/local/localservers.py of the repository at ``root``."""
    path = Path(os.environ.get("BINHYEN_LOCALSERVERS", root / "deploy/local/localservers.py"))
    if not path.exists():
        raise RuntimeError(f"cannot find the local servers script at {path}")
    return load_module(path, "binhyen_localservers")


def docker_answers() -> bool:
    """True when a Docker engine answers a ping."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


def start_servers(root: Path) -> Servers:
    """Find or start the servers in the documented order."""
    kafka = os.environ.get("BINHYEN_TEST_KAFKA")
    mongodb = os.environ.get("BINHYEN_TEST_MONGODB")
    servers = Servers(kafka or "", mongodb or "", "environment", root)
    if kafka and mongodb:
        return servers
    if docker_answers():
        servers.how = "testcontainers"
        if not kafka:
            from testcontainers.kafka import KafkaContainer

            kc = KafkaContainer(KAFKA_IMAGE).with_kraft()
            kc.start()
            servers._cleanups.append(kc.stop)
            servers.kafka = kc.get_bootstrap_server()
        if not mongodb:
            from testcontainers.mongodb import MongoDbContainer

            mc = MongoDbContainer(MONGODB_IMAGE)
            mc.start()
            servers._cleanups.append(mc.stop)
            servers.mongodb = mc.get_connection_url()
        return servers
    servers.how = "local servers (deploy/local)"
    module = load_localservers(root)
    instance = os.environ.get("BINHYEN_TEST_INSTANCE", "test")
    if not kafka:
        started = module.status("kafka", instance) is None
        servers.kafka = module.start("kafka", instance, port=0).address
        if started:
            servers._cleanups.append(lambda: module.wipe("kafka", instance))
    if not mongodb:
        started = module.status("ferretdb", instance) is None
        servers.mongodb = module.start("ferretdb", instance, port=0).address
        if started:
            servers._cleanups.append(lambda: module.wipe("ferretdb", instance))
    return servers
