"""python -m binhyen.notifications [api | demo | outbox list|retry ID | dlq list|show ID|replay]."""

import argparse
import asyncio
import os

from binhyen.kit.operations import dlq_command, outbox_command
from binhyen.kit.runtime import serve_forever
from binhyen.notifications import consumers
from binhyen.notifications.app import create_app, service_spec
from binhyen.notifications.service.common import Context
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores

DEMO_PASSWORD = "kynam-demo-2026"  # noqa: S105 (the registry's demo accounts, make run only)


def main() -> None:
    """Run the service with settings from the environment, the demo drill, or an operator tool."""
    parser = argparse.ArgumentParser(prog="binhyen-notifications")
    parser.add_argument(
        "command", nargs="?", default="api", choices=["api", "demo", "outbox", "dlq"]
    )
    parser.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="outbox: list | retry ID; dlq: list | show ID | replay ID…|--all",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8003", help="notifications URL (demo)")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8001", help="registry URL")
    args = parser.parse_args()
    if args.command == "demo":
        from binhyen.notifications import demo

        result = asyncio.run(
            demo.run_drill_at(
                args.url,
                args.registry_url,
                password=os.environ.get("BINHYEN_DEMO_PASSWORD", DEMO_PASSWORD),
            )
        )
        print(demo.describe(result))
        return
    settings = Settings()
    if args.command == "outbox":
        raise SystemExit(outbox_command(settings, args.args))
    if args.command == "dlq":
        raise SystemExit(
            dlq_command(
                settings,
                service_spec(),
                lambda db: consumers.subscriptions(ctx=Context(settings, None, Stores.of(db))),
                args.args,
            )
        )
    serve_forever(create_app(settings), settings, name="notifications")


if __name__ == "__main__":
    main()
