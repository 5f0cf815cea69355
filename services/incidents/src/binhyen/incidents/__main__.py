"""python -m binhyen.incidents: run the incidents API with its consumers."""

from binhyen.incidents.app import create_app
from binhyen.incidents.settings import Settings
from binhyen.kit.runtime import serve_forever


def main() -> None:
    """Run the service with settings from the environment."""
    settings = Settings()
    serve_forever(create_app(settings), settings, name="incidents")


if __name__ == "__main__":
    main()
