"""python -m binhyen.registry [api | demo --url URL]: run the API, or load the demo units."""

import argparse

import uvicorn

from binhyen.kit.logging import configure_logging
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings


def main() -> None:
    """Run the service with settings from the environment, or load demo data."""
    parser = argparse.ArgumentParser(prog="binhyen-registry")
    parser.add_argument("command", nargs="?", default="api", choices=["api", "demo"])
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="registry URL (demo)")
    args = parser.parse_args()
    if args.command == "demo":
        from binhyen.registry import demo

        demo.wait_until_ready(args.url)
        for slug, unit_id in demo.load_demo(args.url).items():
            print(f"{slug}\t{unit_id}")
        return
    settings = Settings()
    configure_logging(settings.log_level, service="registry")
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
    )


if __name__ == "__main__":
    main()
