"""Test support: real Kafka and MongoDB-wire servers, per-test names, waiting helpers."""

from binhyen.kit.testing.apps import api_routes, serve, threadpool_calls
from binhyen.kit.testing.kafka import read_topic
from binhyen.kit.testing.servers import Servers
from binhyen.kit.testing.settings import settings_for
from binhyen.kit.testing.tokens import TestIssuer
from binhyen.kit.testing.waiting import eventually, outbox_drained, outboxes_empty

__all__ = [
    "Servers",
    "TestIssuer",
    "api_routes",
    "eventually",
    "outbox_drained",
    "outboxes_empty",
    "read_topic",
    "serve",
    "settings_for",
    "threadpool_calls",
]
