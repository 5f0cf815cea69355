"""python -m binhyen.registry [api | demo --url URL | outbox list | outbox retry ID]."""

import argparse
import asyncio
import os

from binhyen.kit.operations import outbox_command
from binhyen.kit.runtime import serve_forever
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings

DEMO_PASSWORD = "kynam-demo-2026"  # noqa: S105 (demo accounts of make run only)


def main() -> None:
    """Run the service with settings from the environment, or load demo data."""
    parser = argparse.ArgumentParser(prog="binhyen-registry")
    parser.add_argument("command", nargs="?", default="api", choices=["api", "demo", "outbox"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="outbox: list | retry ENTRY_ID")
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="registry URL (demo)")
    args = parser.parse_args()
    if args.command == "demo":
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
                demo_password=os.environ.get("BINHYEN_DEMO_PASSWORD", DEMO_PASSWORD),
            )
        )
        for slug, unit_id in result.units.items():
            print(f"{slug}\t{unit_id}")
        return
    settings = Settings()
    if args.command == "outbox":
        raise SystemExit(outbox_command(settings, args.args))
    serve_forever(create_app(settings), settings, name="registry")


if __name__ == "__main__":
    main()
