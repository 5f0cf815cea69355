"""Who may do what on Kafka: SCRAM users and ACLs for services and agencies.

``python -m binhyen.kit.kafka_access agency create NAME`` creates an agency's user, lets it
read the public topics (and use consumer groups ``agency.NAME.*``) and prints its password
once. ``… service grant NAME --reads TOPIC … --group GROUP`` is the deploy step of a
service's user: it writes and reads the topics ``binhyen.NAME.*`` (its events, its dead
letters), reads what it consumes and commits in its own group. Nothing else is granted, and a
broker started with ``allow.everyone.if.no.acl.found=false`` refuses the rest.

The operator's own user (a super user of the cluster) is read from ``BINHYEN_KAFKA_*``:
``BOOTSTRAP``, ``SECURITY_PROTOCOL``, ``USERNAME``, ``PASSWORD`` or ``PASSWORD_FILE``.

aiokafka has no admin calls for users or ACLs, so the two requests (CreateAcls v1 and
AlterUserScramCredentials v0) are declared here with aiokafka's protocol types.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    String,
    TaggedFields,
)
from pydantic import SecretStr

from binhyen.kit.kafka import KafkaAccess, client_kwargs
from binhyen.kit.topics import TOPICS_FILE

# Wire codes (org.apache.kafka.common.acl / resource).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {"literal": 3, "prefixed": 4}
_OPERATION = {"read": 3, "write": 4, "describe": 8}
_ALLOW = 3
_SCRAM_SHA_512 = 2
_SCRAM_ITERATIONS = 8192
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class KafkaAccessError(Exception):
    """The broker refused a user or an ACL (the message says which and why)."""


@dataclass(frozen=True)
class Grant:
    """One ALLOW ACL: ``principal`` may ``operation`` the ``resource`` named (or prefixed)."""

    principal: str
    resource: Literal["topic", "group"]
    name: str
    operation: Literal["read", "write", "describe"]
    pattern: Literal["literal", "prefixed"] = "literal"


def service_grants(
    service: str,
    *,
    reads: Iterable[str],
    group: str | None,
    topic_prefix: str = "",
    group_prefixed: bool = False,
) -> list[Grant]:
    """A service writes its own topics (``binhyen.<service>.``), reads what it consumes.

    It may read its own topics too: the operator's ``dlq`` commands read its dead letters
    with the service's settings. ``group_prefixed`` grants every consumer group whose name
    starts with ``group`` (reporting feeds each generation of its read model with a group
    of its own: ``binhyen-reporting.g<N>``).
    """
    own = f"{topic_prefix}binhyen.{service}."
    grants = [
        Grant(service, "topic", own, "write", "prefixed"),
        Grant(service, "topic", own, "read", "prefixed"),
        Grant(service, "topic", own, "describe", "prefixed"),
    ]
    for topic in reads:
        grants += [
            Grant(service, "topic", topic_prefix + topic, "read"),
            Grant(service, "topic", topic_prefix + topic, "describe"),
        ]
    if group:
        pattern: Literal["literal", "prefixed"] = "prefixed" if group_prefixed else "literal"
        grants.append(Grant(service, "group", group, "read", pattern))
    return grants


def agency_user(name: str) -> str:
    """The Kafka user of an agency (``agency-<name>``)."""
    return f"agency-{name}"


def agency_group_prefix(name: str) -> str:
    """The consumer groups an agency may use start with this."""
    return f"agency.{name}."


def agency_grants(name: str, public_topics: Iterable[str]) -> list[Grant]:
    """An agency reads the public topics, in consumer groups of its own; nothing else."""
    user = agency_user(name)
    grants: list[Grant] = []
    for topic in public_topics:
        grants += [Grant(user, "topic", topic, "read"), Grant(user, "topic", topic, "describe")]
    grants.append(Grant(user, "group", agency_group_prefix(name), "read", "prefixed"))
    return grants


def public_topics(path: Path, *, topic_prefix: str = "") -> list[str]:
    """The deployed names of the topics the topics file marks ``public``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        topic_prefix + str(t["name"])
        for t in document.get("topics", [])
        if t.get("visibility") == "public"
    ]


async def upsert_scram_user(access: KafkaAccess | str, user: str, password: SecretStr) -> None:
    """Create the SCRAM-SHA-512 user, or change its password."""
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac(
        "sha512", password.get_secret_value().encode(), salt, _SCRAM_ITERATIONS
    )
    request = _AlterScram([], [(user, _SCRAM_SHA_512, _SCRAM_ITERATIONS, salt, salted, {})])
    response = await _send(access, request)
    failed = [f"{r[0]}: error {r[1]} {r[2] or ''}" for r in response.results if r[1] != 0]
    if failed:
        raise KafkaAccessError("could not set the user: " + "; ".join(failed))


async def create_grants(access: KafkaAccess | str, grants: Sequence[Grant]) -> None:
    """Create the ACLs (creating one that exists already is a no-op on the broker)."""
    creations = [
        (
            _RESOURCE[g.resource],
            g.name,
            _PATTERN[g.pattern],
            f"User:{g.principal}",
            "*",
            _OPERATION[g.operation],
            _ALLOW,
        )
        for g in grants
    ]
    response = await _send(access, _CreateAcls(creations))
    failed = [
        f"{grant}: error {code} {message or ''}"
        for grant, (code, message) in zip(grants, response.results, strict=True)
        if code != 0
    ]
    if failed:
        raise KafkaAccessError("could not create ACLs: " + "; ".join(failed))


async def create_agency(
    access: KafkaAccess | str, name: str, topics: Iterable[str]
) -> tuple[str, SecretStr]:
    """Create (or reset) an agency's user and its grants; return its user and password."""
    if not _NAME.match(name):
        raise KafkaAccessError(f"agency name {name!r}: lower-case letters, digits and '-'")
    user, password = agency_user(name), SecretStr(secrets.token_urlsafe(32))
    await upsert_scram_user(access, user, password)
    await create_grants(access, agency_grants(name, topics))
    return user, password


async def grant_service(
    access: KafkaAccess | str,
    service: str,
    *,
    reads: Iterable[str],
    group: str | None,
    password: SecretStr | None = None,
    topic_prefix: str = "",
    group_prefixed: bool = False,
) -> None:
    """Set a service's user (when a password is given) and its grants."""
    if not _NAME.match(service):
        raise KafkaAccessError(f"service name {service!r}: lower-case letters, digits and '-'")
    if password is not None:
        await upsert_scram_user(access, service, password)
    await create_grants(
        access,
        service_grants(
            service,
            reads=reads,
            group=group,
            topic_prefix=topic_prefix,
            group_prefixed=group_prefixed,
        ),
    )


# -- wire ------------------------------------------------------------------------------------


class _CreateAclsResponse_v1(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 1
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", Array(("error_code", Int16), ("error_message", String("utf-8")))),
    )


class _CreateAclsRequest_v1(RequestStruct):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 1
    RESPONSE_TYPE = _CreateAclsResponse_v1
    SCHEMA = Schema(
        (
            "creations",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                ("resource_pattern_type", Int8),
                ("principal", String("utf-8")),
                ("host", String("utf-8")),
                ("operation", Int8),
                ("permission_type", Int8),
            ),
        ),
    )


class _CreateAcls(Request[_CreateAclsRequest_v1]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, creations: list[tuple[Any, ...]]) -> None:
        self._creations = creations

    def build(self, request_struct_class: type[_CreateAclsRequest_v1]) -> _CreateAclsRequest_v1:
        return request_struct_class(self._creations)


class _AlterScramResponse_v0(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramRequest_v0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[_AlterScramRequest_v0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, deletions: list[tuple[Any, ...]], upsertions: list[tuple[Any, ...]]):
        self._deletions = deletions
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_AlterScramRequest_v0]) -> _AlterScramRequest_v0:
        return request_struct_class(self._deletions, self._upsertions, {})


async def _send(access: KafkaAccess | str, request: Request[Any]) -> Any:
    client = AIOKafkaClient(**client_kwargs(access), request_timeout_ms=15_000)
    try:
        await client.bootstrap()
        return await client.send(client.get_random_node(), request)
    finally:
        await client.close()


# -- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m binhyen.kit.kafka_access agency create NAME`` / ``service grant NAME``."""
    parser = argparse.ArgumentParser(
        prog="python -m binhyen.kit.kafka_access",
        description="Kafka users and ACLs of Bình Yên's services and agencies.",
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("BINHYEN_KAFKA_BOOTSTRAP") or "127.0.0.1:19092",
        help="Kafka bootstrap servers (default $BINHYEN_KAFKA_BOOTSTRAP); the operator's user "
        "is $BINHYEN_KAFKA_USERNAME with $BINHYEN_KAFKA_PASSWORD(_FILE)",
    )
    parser.add_argument("--prefix", default=os.environ.get("BINHYEN_TOPICS_PREFIX", ""))
    kinds = parser.add_subparsers(dest="kind", required=True)
    agency = kinds.add_parser("agency", help="agencies: read the public topics only")
    agency_cmd = agency.add_subparsers(dest="command", required=True)
    create = agency_cmd.add_parser("create", help="create a user; prints its password once")
    create.add_argument("name", help="lower-case letters, digits and '-'")
    create.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("BINHYEN_TOPICS_FILE") or TOPICS_FILE),
        help="topics file whose public topics the agency reads",
    )
    service = kinds.add_parser("service", help="services: their own topics and what they read")
    service_cmd = service.add_subparsers(dest="command", required=True)
    grant = service_cmd.add_parser("grant", help="set a service's user and ACLs (deploy step)")
    grant.add_argument("name", help="the service (writes binhyen.NAME.*)")
    grant.add_argument("--reads", nargs="*", default=[], help="topics it consumes")
    grant.add_argument("--group", default=None, help="its consumer group")
    grant.add_argument(
        "--group-prefixed",
        action="store_true",
        help="grant every consumer group whose name starts with --group",
    )
    grant.add_argument(
        "--password-file", type=Path, default=None, help="set the user's password from this file"
    )
    args = parser.parse_args(argv)
    try:
        access = KafkaAccess.from_env("BINHYEN_KAFKA_", bootstrap=args.bootstrap)
        if args.kind == "agency":
            topics = public_topics(args.file, topic_prefix=args.prefix)
            user, password = asyncio.run(create_agency(access, args.name, topics))
            # Printed once, to the operator's terminal: it is stored nowhere but the broker.
            print(f"username={user}")
            print(f"password={password.get_secret_value()}")
            print(f"sasl_mechanism=SCRAM-SHA-512 consumer_groups={agency_group_prefix(args.name)}*")
            print("topics=" + ",".join(topics))
        else:
            password = None
            if args.password_file is not None:
                password = SecretStr(args.password_file.read_text(encoding="utf-8").strip())
            asyncio.run(
                grant_service(
                    access,
                    args.name,
                    reads=args.reads,
                    group=args.group,
                    group_prefixed=args.group_prefixed,
                    password=password,
                    topic_prefix=args.prefix,
                )
            )
            print(f"service {args.name}: user and ACLs set")
    except (KafkaAccessError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
