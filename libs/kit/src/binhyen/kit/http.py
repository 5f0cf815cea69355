"""HTTP conventions every service shares: ETag and If-Match, Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from binhyen.kit.problems import Invalid

IfMatch = Annotated[str | None, Header(description="The ETag you read; a stale one answers 412.")]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retries with the same key return the first result."),
]


def expected_version(if_match: str | None) -> int | None:
    """The version named by an If-Match header, if any."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise Invalid('If-Match must be the ETag you read, e.g. "3"', field="If-Match") from exc


def set_etag(response: Response, version: int) -> None:
    """Tell the client which version it holds."""
    response.headers["ETag"] = f'"{version}"'
