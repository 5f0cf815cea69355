"""Operator commands every service offers: ``python -m binhyen.<service> outbox …``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from binhyen.kit.mongo import create_mongo_client
from binhyen.kit.outbox import UnknownParkedEntry, list_parked, retry_parked
from binhyen.kit.settings import ServiceSettings


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
