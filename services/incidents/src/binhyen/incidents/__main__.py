"""python -m binhyen.incidents: run the incidents API (with its outbox relay)."""

import uvicorn

from binhyen.incidents.app import create_app
from binhyen.incidents.settings import Settings
from binhyen.kit.logging import configure_logging


def main() -> None:
    """Run the service with settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, service="incidents")
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
    )


if __name__ == "__main__":
    main()
