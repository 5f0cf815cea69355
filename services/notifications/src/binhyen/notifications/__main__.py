"""python -m binhyen.notifications [api | outbox list|retry ID | dlq list|show ID|replay]."""

import argparse

from binhyen.kit.operations import dlq_command, outbox_command
from binhyen.kit.runtime import serve_forever
from binhyen.notifications import consumers
from binhyen.notifications.app import create_app, service_spec
from binhyen.notifications.service.common import Context
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores


def main() -> None:
    """Run the service with settings from the environment, or an operator command."""
    parser = argparse.ArgumentParser(prog="binhyen-notifications")
    parser.add_argument("command", nargs="?", default="api", choices=["api", "outbox", "dlq"])
    parser.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="outbox: list | retry ID; dlq: list | show ID | replay ID…|--all",
    )
    args = parser.parse_args()
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
