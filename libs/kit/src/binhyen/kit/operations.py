"""Operator commands every service offers: ``python -m binhyen.<service> outbox …`` and,
for a service that consumes, ``… dlq …``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from pymongo.asynchronous.database import AsyncDatabase

from binhyen.contracts import TopicSpec
from binhyen.kit.accounts import AccountStates
from binhyen.kit.deadletters import (
    DeadLetterError,
    read_dead_letters,
    replay,
    replay_outcomes,
    select,
)
from binhyen.kit.kafka import KafkaAccess
from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.outbox import UnknownParkedEntry, list_parked, retry_parked
from binhyen.kit.runtime import ServiceSpec, Subscription, accounts_subscription
from binhyen.kit.settings import ServiceSettings

Document = dict[str, Any]


def outbox_command(settings: ServiceSettings, argv: list[str], *, out: TextIO = sys.stdout) -> int:
    """Run ``outbox list`` or ``outbox retry ENTRY_ID`` against the service's database."""
    parser = argparse.ArgumentParser(
        prog="outbox", description="Outbox entries Kafka refused for good (parked)."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list parked entries (no event content)")
    retry = sub.add_parser("retry", help="release a parked entry; the relay sends it again")
    retry.add_argument("entry_id", help="the entry's event id, as `list` shows it")
    args = parser.parse_args(argv)
    return asyncio.run(_run(settings, args, out))


async def _run(settings: ServiceSettings, args: argparse.Namespace, out: TextIO) -> int:
    client = create_mongo_client(settings.mongodb_uri, timeout_ms=settings.mongodb_timeout_ms)
    db = client[settings.mongodb_database]
    try:
        if args.action == "list":
            parked = await list_parked(db)
            for p in parked:
                at = p["parked_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
                print(
                    f"{p['_id']}\t{at}\t{p['collection']}/{p['doc_id']}\t{p['topic']}\t"
                    f"{p['type']}\t{p['size']} bytes\t{p['error']}",
                    file=out,
                )
            print(f"{len(parked)} parked", file=out)
            return 0
        try:
            record = await retry_parked(db, args.entry_id)
        except UnknownParkedEntry as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"released {record['_id']} of {record['collection']}/{record['doc_id']}: "
            "the relay sends it (and what waited behind it) at its next sweep",
            file=out,
        )
        return 0
    finally:
        await client.close()


SubscriptionsOf = Callable[[AsyncDatabase[Document]], Sequence[Subscription]]


def dlq_command(
    settings: ServiceSettings,
    spec: ServiceSpec,
    subscriptions: SubscriptionsOf,
    argv: list[str],
    *,
    out: TextIO = sys.stdout,
) -> int:
    """``dlq list`` / ``dlq show ID`` / ``dlq replay ID…|--all`` on the group's dead letters.

    ``subscriptions`` builds the service's own consumers on a database; the accounts consumer
    that ``spec.follow_accounts`` adds is added here too, so replay reaches every handler.
    """
    dead_letters = spec.dead_letters

    def every(db: AsyncDatabase[Document]) -> Sequence[Subscription]:
        own = list(subscriptions(db))
        return [*own, accounts_subscription(AccountStates(db))] if spec.follow_accounts else own

    parser = argparse.ArgumentParser(
        prog="dlq", description="Records this service's consumers could not handle."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list dead letters: origin, error, event type and id (no data)")
    show = sub.add_parser("show", help="one dead letter with its headers (no data)")
    show.add_argument("id", help="partition:offset, as `list` shows it")
    again = sub.add_parser("replay", help="run dead letters through this group's handlers")
    again.add_argument("ids", nargs="*", help="partition:offset of each entry")
    again.add_argument("--all", action="store_true", help="every entry not yet replayed ok")
    args = parser.parse_args(argv)
    if args.action == "replay" and not args.ids and not args.all:
        parser.error("name the entries to replay, or --all")
    if dead_letters is None:
        print("error: this service consumes no topics, so it has no dead letters", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_dlq(settings, dead_letters, every, args, out))
    except DeadLetterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _dlq(
    settings: ServiceSettings,
    dead_letters: TopicSpec,
    subscriptions: SubscriptionsOf,
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    topic = settings.topic(dead_letters.name)
    letters = await read_dead_letters(KafkaAccess.of(settings), topic)
    client = create_mongo_client(settings.mongodb_uri, timeout_ms=settings.mongodb_timeout_ms)
    db = client[settings.mongodb_database]
    try:
        replayed = await replay_outcomes(db)
        if args.action == "list":
            for letter in letters:
                s = letter.summary()
                print(
                    f"{s['id']}\t{s['failed_at']}\t{s['origin']}\t{s['event_type']}\t"
                    f"{s['event_id']}\t{s['error']}\t{replayed.get(s['id'], 'not replayed')}",
                    file=out,
                )
            print(f"{len(letters)} dead letter(s) on {topic}", file=out)
            return 0
        if args.action == "show":
            (letter,) = select(letters, [args.id])
            for name, value in letter.summary().items():
                print(f"{name}: {value}", file=out)
            print(f"replay: {replayed.get(letter.id, 'not replayed')}", file=out)
            return 0
        chosen = (
            select(letters, args.ids)
            if args.ids
            else [d for d in letters if replayed.get(d.id) != "ok"]
        )
        handlers = {settings.topic(t.name): s.handler for s in subscriptions(db) for t in s.topics}
        failed = 0
        for letter in chosen:
            outcome = await replay(letter, handlers, db)
            failed += outcome != "ok"
            print(f"{letter.id}\t{outcome}", file=out)
        print(f"{len(chosen) - failed} replayed, {failed} failed again", file=out)
        return 1 if failed else 0
    finally:
        await client.close()


DEMO_PASSWORD = "kynam-demo-2026"  # noqa: S105 (the demo accounts of `make run` only)


def demo_password() -> str:
    """The demo accounts' password (``BINHYEN_DEMO_PASSWORD``, else the documented demo one)."""
    import os

    return os.environ.get("BINHYEN_DEMO_PASSWORD", DEMO_PASSWORD)


def service_main(
    name: str,
    *,
    settings: Callable[[], ServiceSettings],
    serve: Callable[[ServiceSettings], None],
    spec: Callable[[], ServiceSpec] | None = None,
    subscriptions: Callable[[ServiceSettings, AsyncDatabase[Document]], Sequence[Subscription]]
    | None = None,
    demo: Callable[[argparse.Namespace], None] | None = None,
    demo_options: Callable[[argparse.ArgumentParser], None] | None = None,
    commands: dict[str, Callable[[ServiceSettings, list[str]], int]] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """``python -m binhyen.<name> [api | demo | outbox … | dlq …]``, the same for every service.

    ``api`` (the default) serves; ``outbox`` and, for a service that consumes (``spec`` and
    ``subscriptions`` given), ``dlq`` are the operator commands; ``demo``, when the service
    has one, loads demo data through its API. ``commands`` adds a service's own operator
    commands (``rebuild``): each gets the settings and its arguments, and returns the exit
    status.
    """
    own = dict(commands or {})
    names = ["api"] + (["demo"] if demo else []) + ["outbox", *own]
    consumes = spec is not None and subscriptions is not None
    if consumes:
        names.append("dlq")
    parser = argparse.ArgumentParser(prog=f"binhyen-{name}")
    parser.add_argument("command", nargs="?", default="api", choices=names)
    parser.add_argument(
        "args",
        nargs="*",
        help="outbox: list | retry ID"
        + ("; dlq: list | show ID | replay ID…|--all" if consumes else ""),
    )
    if demo_options is not None:
        demo_options(parser)
    # The demo's options (--url …) are read wherever they stand; what the parser does not
    # know (dlq replay --all) goes on to the operator command.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("outbox", "dlq", *own):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.args = [*args.args, *rest]
    if args.command == "demo" and demo is not None:
        demo(args)
        return
    loaded = settings()
    if args.command == "outbox":
        raise SystemExit(outbox_command(loaded, args.args))
    if args.command in own:
        raise SystemExit(own[args.command](loaded, args.args))
    if args.command == "dlq" and spec is not None and subscriptions is not None:
        of = subscriptions
        raise SystemExit(dlq_command(loaded, spec(), lambda db: of(loaded, db), args.args))
    serve(loaded)
