"""python -m binhyen.incidents [api | demo | outbox list|retry ID | dlq list|show ID|replay]."""

import argparse
import asyncio
from typing import Any

from binhyen.incidents import consumers
from binhyen.incidents.app import create_app, service_spec
from binhyen.incidents.settings import Settings
from binhyen.incidents.store import Stores
from binhyen.kit.operations import demo_password, service_main
from binhyen.kit.runtime import serve_forever
from binhyen.kit.settings import ServiceSettings


def _demo(args: argparse.Namespace) -> None:
    from binhyen.incidents import demo

    counts = asyncio.run(demo.load_demo_at(args.url, args.registry_url, password=demo_password()))
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8002", help="incidents URL (demo)")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8001", help="registry URL")


def _subscriptions(_settings: ServiceSettings, db: Any) -> Any:
    return consumers.subscriptions(stores=Stores.of(db))


def _serve(settings: ServiceSettings) -> None:
    assert isinstance(settings, Settings)
    serve_forever(create_app(settings), settings, name="incidents")


def main() -> None:
    """Run the service with settings from the environment, load demo incidents, or an operator
    tool."""
    service_main(
        "incidents",
        settings=Settings,
        serve=_serve,
        spec=service_spec,
        subscriptions=_subscriptions,
        demo=_demo,
        demo_options=_options,
    )


if __name__ == "__main__":
    main()
