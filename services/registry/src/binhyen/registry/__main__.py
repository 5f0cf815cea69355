"""python -m binhyen.registry: run the registry API (with its outbox relay)."""

import uvicorn

from binhyen.kit.logging import configure_logging
from binhyen.registry.app import create_app
from binhyen.registry.settings import Settings


def main() -> None:
    """Run the service with settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, service="registry")
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
    )


if __name__ == "__main__":
    main()
