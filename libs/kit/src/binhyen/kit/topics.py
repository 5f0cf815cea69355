"""Create the deployment's Kafka topics: a deploy step, never something a service does.

The list is ``deploy/kafka/topics.json`` (generated from the contracts' catalogue by
``make generate``). Local servers, compose (the ``topics`` one-shot) and Kubernetes (the
``topics`` Job) all run the same command::

    python -m binhyen.kit.topics create --file deploy/kafka/topics.json \\
        --bootstrap kafka:9092 --replication-factor 3

Creating is idempotent: existing topics are left alone (a partition count that differs
from the file is reported, never changed — shrinking is impossible and growing would
move keys between partitions, breaking order per key). The command waits for the
cluster to answer first, so a deploy can start it beside the broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from binhyen.contracts import TopicSpec
from binhyen.kit.kafka import KafkaAccess, client_kwargs

log = logging.getLogger(__name__)

TOPICS_FILE = Path("deploy/kafka/topics.json")
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicEntry:
    """One topic to create: name, partitions and its Kafka configs."""

    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


class TopicsError(Exception):
    """The topics could not be created (the message says which and why)."""


def load_topics(path: Path) -> list[TopicEntry]:
    """Read a topics file; a clear TopicsError if it is missing or malformed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TopicsError(f"no topics file at {path}") from exc
    except json.JSONDecodeError as exc:
        raise TopicsError(f"{path} is not JSON: {exc}") from exc
    entries: list[TopicEntry] = []
    for index, item in enumerate(document.get("topics", [])):
        try:
            entries.append(
                TopicEntry(
                    name=str(item["name"]),
                    partitions=int(item["partitions"]),
                    configs={str(k): str(v) for k, v in item.get("configs", {}).items()},
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TopicsError(f"{path}: topic #{index} lacks a name or partitions") from exc
    if not entries:
        raise TopicsError(f"{path} lists no topics")
    return entries


def entries_of(specs: Iterable[TopicSpec]) -> list[TopicEntry]:
    """Topic entries straight from catalogue specs (tests; the file is generated from them)."""
    return [TopicEntry(s.name, s.partitions, s.configs()) for s in specs]


async def create_topics(
    bootstrap: KafkaAccess | str,
    entries: Sequence[TopicEntry],
    *,
    replication_factor: int = 1,
    prefix: str = "",
    wait_seconds: float = 120.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created now."""
    admin = await _admin(bootstrap, wait_seconds)
    try:
        existing = await _describe(admin)
        wanted: list[NewTopic] = []
        for entry in entries:
            name = prefix + entry.name
            if name in existing:
                if existing[name] != entry.partitions:
                    log.warning(
                        f"topic {name} has {existing[name]} partitions, the file says "
                        f"{entry.partitions}; left as it is"
                    )
                continue
            wanted.append(
                NewTopic(name, entry.partitions, replication_factor, topic_configs=entry.configs)
            )
        if not wanted:
            return []
        response = await admin.create_topics(wanted)
        failed = [
            f"{name}: error {code} {message or ''}".strip()
            for name, code, *rest in response.topic_errors
            for message in [rest[0] if rest else None]
            if code not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failed:
            raise TopicsError("could not create " + "; ".join(failed))
        names = [t.name for t in wanted]
        async with asyncio.timeout(30):
            while not set(names) <= set(await admin.list_topics()):
                await asyncio.sleep(0.1)
        return names
    finally:
        await admin.close()


async def _admin(access: KafkaAccess | str, wait_seconds: float) -> AIOKafkaAdminClient:
    """An admin client, retrying until the cluster answers or ``wait_seconds`` pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.5
    bootstrap = access if isinstance(access, str) else access.bootstrap
    while True:
        admin = AIOKafkaAdminClient(**client_kwargs(access), request_timeout_ms=15_000)
        try:
            await admin.start()
            return admin
        except KafkaError as exc:
            await admin.close()
            if loop.time() + delay > deadline:
                raise TopicsError(
                    f"Kafka at {bootstrap} did not answer within {wait_seconds:.0f}s "
                    f"({type(exc).__name__})"
                ) from exc
            log.info(f"waiting for Kafka at {bootstrap} ({type(exc).__name__})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _describe(admin: AIOKafkaAdminClient) -> dict[str, int]:
    """Existing topic names and their partition counts."""
    names = [n for n in await admin.list_topics() if not n.startswith("__")]
    if not names:
        return {}
    described = await admin.describe_topics(names)
    return {str(t["topic"]): len(t.get("partitions") or ()) for t in described}


def main(argv: list[str] | None = None) -> int:
    """``python -m binhyen.kit.topics create``: create the topics of a topics file."""
    parser = argparse.ArgumentParser(
        prog="python -m binhyen.kit.topics", description="Create Bình Yên's Kafka topics."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create every topic of the file that is missing")
    create.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("BINHYEN_TOPICS_FILE") or TOPICS_FILE),
        help="topics file (default $BINHYEN_TOPICS_FILE or deploy/kafka/topics.json)",
    )
    create.add_argument(
        "--bootstrap",
        default=os.environ.get("BINHYEN_TOPICS_BOOTSTRAP") or "127.0.0.1:19092",
        help="Kafka bootstrap servers (default $BINHYEN_TOPICS_BOOTSTRAP); the user is "
        "$BINHYEN_TOPICS_USERNAME with $BINHYEN_TOPICS_PASSWORD(_FILE) and "
        "$BINHYEN_TOPICS_SECURITY_PROTOCOL (default PLAINTEXT, no user)",
    )
    create.add_argument(
        "--replication-factor",
        type=int,
        default=int(os.environ.get("BINHYEN_TOPICS_REPLICATION_FACTOR") or 1),
        help="replicas per partition (default $BINHYEN_TOPICS_REPLICATION_FACTOR or 1; "
        "3 in production)",
    )
    create.add_argument("--prefix", default=os.environ.get("BINHYEN_TOPICS_PREFIX", ""))
    create.add_argument("--wait", type=float, default=120.0, help="seconds to wait for Kafka")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.replication_factor < 1:
        parser.error("--replication-factor must be at least 1")
    try:
        entries = load_topics(args.file)
        created = asyncio.run(
            create_topics(
                KafkaAccess.from_env("BINHYEN_TOPICS_", bootstrap=args.bootstrap),
                entries,
                replication_factor=args.replication_factor,
                prefix=args.prefix,
                wait_seconds=args.wait,
            )
        )
    except TopicsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{len(created)} topic(s) created, {len(entries) - len(created)} already there "
        f"(replication factor {args.replication_factor})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
