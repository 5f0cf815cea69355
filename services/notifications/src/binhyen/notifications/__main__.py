"""python -m binhyen.notifications [api | demo | outbox list|retry ID | dlq list|show ID|replay]."""

import argparse
import asyncio
from typing import Any

from binhyen.kit.operations import demo_password, service_main
from binhyen.kit.runtime import serve_forever
from binhyen.kit.settings import ServiceSettings
from binhyen.notifications import consumers
from binhyen.notifications.app import create_app, service_spec
from binhyen.notifications.service.common import Context
from binhyen.notifications.settings import Settings
from binhyen.notifications.store import Stores


def _demo(args: argparse.Namespace) -> None:
    from binhyen.notifications import demo

    result = asyncio.run(demo.run_drill_at(args.url, args.registry_url, password=demo_password()))
    print(demo.describe(result))


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8003", help="notifications URL (demo)")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8001", help="registry URL")


def _subscriptions(settings: ServiceSettings, db: Any) -> Any:
    assert isinstance(settings, Settings)
    return consumers.subscriptions(ctx=Context(settings, None, Stores.of(db)))


def _serve(settings: ServiceSettings) -> None:
    assert isinstance(settings, Settings)
    serve_forever(create_app(settings), settings, name="notifications")


def main() -> None:
    """Run the service with settings from the environment, the demo drill, or an operator tool."""
    service_main(
        "notifications",
        settings=Settings,
        serve=_serve,
        spec=service_spec,
        subscriptions=_subscriptions,
        demo=_demo,
        demo_options=_options,
    )


if __name__ == "__main__":
    main()
