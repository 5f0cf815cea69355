"""MongoDB client factory (PyMongo's async API; Motor is end-of-life)."""

from typing import Any

from pymongo import AsyncMongoClient


def create_mongo_client(
    uri: str, *, timeout_ms: int = 2000, max_pool_size: int = 100
) -> AsyncMongoClient[dict[str, Any]]:
    """Return a client that fails fast when the server is unreachable."""
    return AsyncMongoClient(
        uri,
        maxPoolSize=max_pool_size,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 5, 10_000),
        tz_aware=True,
        uuidRepresentation="standard",
        appname="binhyen",
    )


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> None:
    """Raise unless the server answers a ping."""
    await client.admin.command("ping")


async def describe_server(client: AsyncMongoClient[dict[str, Any]]) -> str:
    """Which server answers: ``MongoDB 8.0.4`` or ``FerretDB v1.24.2 (MongoDB 7.0.77)``."""
    info = await client.admin.command("buildInfo")
    version = str(info.get("version", "?"))
    if "ferretdbVersion" in info:
        return f"FerretDB {info['ferretdbVersion']} (MongoDB {version})"
    return f"MongoDB {version}"


# Statements per bulk write: FerretDB v1 never answers an update command of 100 or more.
MAX_BULK = 50
