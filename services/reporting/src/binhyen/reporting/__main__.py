"""python -m binhyen.reporting [api | demo | rebuild [--force] | outbox … | dlq …]."""

import argparse
import asyncio
from typing import Any

from binhyen.kit.operations import demo_password, service_main
from binhyen.kit.runtime import serve_forever
from binhyen.kit.settings import ServiceSettings
from binhyen.reporting import consumers
from binhyen.reporting.app import create_app, service_spec
from binhyen.reporting.service import rebuild
from binhyen.reporting.settings import Settings
from binhyen.reporting.store import Generations, Stores


def _demo(args: argparse.Namespace) -> None:
    from binhyen.reporting import demo

    result = asyncio.run(
        demo.load_history_at(
            args.url, args.registry_url, args.incidents_url, password=demo_password()
        )
    )
    print(demo.describe(result))


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8004", help="reporting URL (demo)")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8001", help="registry URL")
    parser.add_argument("--incidents-url", default="http://127.0.0.1:8002", help="incidents URL")


def _subscriptions(settings: ServiceSettings, db: Any) -> Any:
    # dlq replay applies to the generation current at the time of the command.
    assert isinstance(settings, Settings)
    stores = Stores.of(db, group_prefix=settings.consumer_group)
    model = _CurrentModel(stores.generations)
    return consumers.subscriptions(stores, model)  # type: ignore[arg-type]


class _CurrentModel:
    """A read model that looks up the current generation at each write."""

    def __init__(self, generations: Generations) -> None:
        self.generations = generations

    async def apply(self, changes: Any) -> None:
        number = await self.generations.current()
        await self.generations.model(number).apply(changes)


def _rebuild(settings: ServiceSettings, argv: list[str]) -> int:
    assert isinstance(settings, Settings)
    parser = argparse.ArgumentParser(
        prog="rebuild",
        description=(
            "Replay every consumed topic from offset 0 into a new generation of the read "
            "model while the current one serves; switch when it has caught up."
        ),
    )
    parser.add_argument("--force", action="store_true", help="take over a rebuild that died")
    args = parser.parse_args(argv)
    return asyncio.run(rebuild.run(settings, force=args.force))


def _serve(settings: ServiceSettings) -> None:
    assert isinstance(settings, Settings)
    serve_forever(create_app(settings), settings, name="reporting")


def main() -> None:
    """Run the service with settings from the environment, the demo history, or an operator tool."""
    service_main(
        "reporting",
        settings=Settings,
        serve=_serve,
        spec=service_spec,
        subscriptions=_subscriptions,
        commands={"rebuild": _rebuild},
        demo=_demo,
        demo_options=_demo_options,
    )


if __name__ == "__main__":
    main()
