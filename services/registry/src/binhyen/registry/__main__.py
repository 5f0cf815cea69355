"""python -m binhyen.registry [api | demo --url URL | outbox list | outbox retry ID]."""

import argparse
import asyncio

from binhyen.kit.operations import demo_password, service_main
from binhyen.kit.runtime import serve_forever
from binhyen.kit.settings import ServiceSettings
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings


def _demo(args: argparse.Namespace) -> None:
    from binhyen.registry import demo

    # The administrator as the registry knows it (variables or their _FILE).
    admin = Settings()
    if not admin.bootstrap_admin_username or not admin.bootstrap_admin_password:
        raise SystemExit("demo: set BINHYEN_REGISTRY_BOOTSTRAP_ADMIN_USERNAME and _PASSWORD")
    demo.wait_until_ready(args.url)
    result = asyncio.run(
        demo.load_demo_at(
            args.url,
            admin_username=admin.bootstrap_admin_username,
            admin_password=admin.bootstrap_admin_password.get_secret_value(),
            demo_password=demo_password(),
        )
    )
    for slug, unit_id in result.units.items():
        print(f"{slug}\t{unit_id}")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="registry URL (demo)")


def _serve(settings: ServiceSettings) -> None:
    assert isinstance(settings, Settings)
    serve_forever(create_app(settings), settings, name="registry")


def main() -> None:
    """Run the service with settings from the environment, or load demo data."""
    service_main("registry", settings=Settings, serve=_serve, demo=_demo, demo_options=_options)


if __name__ == "__main__":
    main()
